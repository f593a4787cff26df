/*
 * broadcast_future.h - receiving from a broadcast channel as a future, or
 * blocking a thread until something arrives.
 *
 * Kit code built on broadcast_receiver_poll_recv (broadcast.h): it works
 * with any correct implementation of the exercise. The chat exercise awaits
 * broadcast_recv_future from its tasks.
 *
 *     broadcast_recv_future recv;
 *     broadcast_recv_future_init(&recv, rx);
 *     RT_AWAIT(&t->co, cx, &recv.base);          // inside an async poll function
 *     if (recv.status == BROADCAST_MESSAGE) ... recv.message ...
 */
#ifndef BROADCAST_FUTURE_H
#define BROADCAST_FUTURE_H

#include <stdint.h>

#include "broadcast.h"
#include "rt_future.h"

/* One receive, as a future named "broadcast_recv". Its results are valid once it is READY. */
typedef struct broadcast_recv_future {
    rt_future base;
    broadcast_receiver *receiver; /* borrowed: the future does not drop it */
    broadcast_recv_status status; /* what arrived */
    void *message;                /* BROADCAST_MESSAGE: the receiver's own copy, to free */
    uint64_t missed;              /* BROADCAST_LAGGED: how many messages were missed */
} broadcast_recv_future;

/* Prepares `future` (in place) to receive the next message for `receiver`. */
void broadcast_recv_future_init(broadcast_recv_future *future, broadcast_receiver *receiver);

/*
 * Waits on this thread (rt_block_on) for the next message for `receiver`.
 * Returns what arrived; *message is set for BROADCAST_MESSAGE, and *missed
 * (which may be NULL) for BROADCAST_LAGGED.
 */
broadcast_recv_status broadcast_recv_blocking(broadcast_receiver *receiver, void **message,
                                              uint64_t *missed);

#endif
