/*
 * mpsc_recv.h - receiving from an mpsc channel without writing a poll loop.
 *
 * Built on mpsc_receiver_poll_recv (mpsc.h), so it works once that does.
 * Two ways in:
 *
 * Inside a task (an async poll function, see rt_async.h), await a receive
 * future; keep it in the task's fields, as everything that lives across an
 * await must be:
 *
 *     mpsc_recv_future_init(&t->recv, t->rx);
 *     RT_AWAIT(&t->co, cx, &t->recv.base);
 *     if (t->recv.status == MPSC_MESSAGE)
 *         ...use t->recv.message...
 *
 * On a plain thread, block until a message or the end of the stream:
 *
 *     void *m;
 *     while (mpsc_recv_blocking(rx, &m) == MPSC_MESSAGE)
 *         ...use m...
 *
 * The future is named "mpsc_recv", so a receive that can never be woken is
 * reported under that name (see rt_diagnose.h).
 */
#ifndef MPSC_RECV_H
#define MPSC_RECV_H

#include "mpsc.h"

/* One receive, as a future. Its results are valid once it is READY. */
typedef struct mpsc_recv_future {
    rt_future base; /* first, so &f->base is the future to await */
    mpsc_receiver *rx;
    void *message;           /* the message (MPSC_MESSAGE) or NULL (MPSC_CLOSED) */
    mpsc_recv_status status; /* what the receive brought */
} mpsc_recv_future;

/* Prepares `future` to receive one message from `rx`. Re-initialise it for the next one. */
void mpsc_recv_future_init(mpsc_recv_future *future, mpsc_receiver *rx);

/*
 * Waits on this thread (with rt_block_on) for the next message: returns
 * MPSC_MESSAGE with the message in *message, or MPSC_CLOSED (with *message
 * NULL) once the queue is empty and every sender is gone. Not for use inside
 * a task: it would block a worker thread; await an mpsc_recv_future there.
 */
mpsc_recv_status mpsc_recv_blocking(mpsc_receiver *rx, void **message);

#endif
