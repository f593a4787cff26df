/*
 * broadcast_recv_future.h - receiving from a broadcast channel without
 * writing a poll function.
 *
 * Kit code built on broadcast_receiver_poll_recv (broadcast.h): it works
 * once that does. Inside a task (an async poll function, see rt_async.h),
 * await a receive future kept in the task's fields, as everything that
 * lives across an await must be; on a plain thread, block:
 *
 *     #include <stdlib.h>
 *
 *     typedef struct listener_task {
 *         rt_future base;
 *         rt_async co;
 *         broadcast_receiver *receiver;
 *         broadcast_recv_future recv;
 *     } listener_task;
 *
 *     rt_poll listener_poll(rt_future *self, rt_context *cx) {
 *         listener_task *t = (listener_task *)self;
 *         RT_ASYNC_BEGIN(&t->co);
 *         for (;;) {
 *             broadcast_recv_future_init(&t->recv, t->receiver);
 *             RT_AWAIT(&t->co, cx, &t->recv.base);
 *             if (t->recv.result == BROADCAST_RECV_CLOSED)
 *                 break;
 *             if (t->recv.result == BROADCAST_RECV_MESSAGE)
 *                 free(t->recv.message); // this receiver's own copy
 *         }
 *         broadcast_receiver_drop(t->receiver);
 *         RT_ASYNC_END(&t->co);
 *     }
 *
 *     void on_a_thread(broadcast_receiver *receiver) {
 *         void *message;
 *         uint64_t missed;
 *         broadcast_recv_result result;
 *         while ((result = broadcast_recv_blocking(receiver, &message, &missed)) !=
 *                BROADCAST_RECV_CLOSED)
 *             if (result == BROADCAST_RECV_MESSAGE)
 *                 free(message);
 *         broadcast_receiver_drop(receiver);
 *     }
 *
 * The future is named "broadcast_recv", so a receive that can never be
 * woken is reported under that name (see rt_diagnose.h).
 */
#ifndef BROADCAST_RECV_FUTURE_H
#define BROADCAST_RECV_FUTURE_H

#include <stdint.h>

#include "broadcast.h"
#include "rt.h"

/* One receive, as a future. Its results are valid once it is READY. */
typedef struct broadcast_recv_future {
    rt_future base;               /* first, so &f->base is the future to await */
    broadcast_receiver *receiver; /* borrowed: the future does not drop it */
    broadcast_recv_result result; /* what arrived */
    void *message;                /* BROADCAST_RECV_MESSAGE: the receiver's own copy, to free */
    uint64_t missed;              /* BROADCAST_RECV_LAGGED: how many messages were missed */
} broadcast_recv_future;

/* Prepares `future` (in place) to receive the next message for `receiver`. */
void broadcast_recv_future_init(broadcast_recv_future *future, broadcast_receiver *receiver);

/*
 * Waits on this thread (rt_block_on) for the next message for `receiver`.
 * Returns what arrived; *message is set for BROADCAST_RECV_MESSAGE, and
 * *missed (which may be NULL) for BROADCAST_RECV_LAGGED. Not for use inside
 * a task: it would block a worker thread; await a broadcast_recv_future
 * there.
 */
broadcast_recv_result broadcast_recv_blocking(broadcast_receiver *receiver, void **message,
                                              uint64_t *missed);

#endif
