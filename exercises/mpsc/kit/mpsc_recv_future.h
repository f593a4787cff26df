/*
 * mpsc_recv_future.h - receiving from an mpsc channel without writing a
 * poll function.
 *
 * Kit code built on mpsc_receiver_poll_recv (mpsc.h): it works once that
 * does. Inside a task (an async poll function, see rt_async.h), await a
 * receive future kept in the task's fields, as everything that lives
 * across an await must be; on a plain thread, block until a message or the
 * end of the stream:
 *
 *     #include <stdlib.h>
 *
 *     typedef struct consumer_task {
 *         rt_future base;
 *         rt_async co;
 *         mpsc_receiver *receiver;
 *         mpsc_recv_future recv;
 *     } consumer_task;
 *
 *     rt_poll consumer_poll(rt_future *self, rt_context *cx) {
 *         consumer_task *t = (consumer_task *)self;
 *         RT_ASYNC_BEGIN(&t->co);
 *         for (;;) {
 *             mpsc_recv_future_init(&t->recv, t->receiver);
 *             RT_AWAIT(&t->co, cx, &t->recv.base);
 *             if (t->recv.result == MPSC_RECV_CLOSED)
 *                 break;
 *             free(t->recv.message); // the message is ours now
 *         }
 *         mpsc_receiver_drop(t->receiver);
 *         RT_ASYNC_END(&t->co);
 *     }
 *
 *     void on_a_thread(mpsc_receiver *receiver) {
 *         void *message;
 *         while (mpsc_recv_blocking(receiver, &message) == MPSC_RECV_MESSAGE)
 *             free(message);
 *         mpsc_receiver_drop(receiver);
 *     }
 *
 * The future is named "mpsc_recv", so a receive that can never be woken is
 * reported under that name (see rt_diagnose.h).
 */
#ifndef MPSC_RECV_FUTURE_H
#define MPSC_RECV_FUTURE_H

#include "mpsc.h"

/* One receive, as a future. Its results are valid once it is READY. */
typedef struct mpsc_recv_future {
    rt_future base;          /* first, so &f->base is the future to await */
    mpsc_receiver *receiver; /* borrowed: the future does not drop it */
    void *message;           /* the message (MPSC_RECV_MESSAGE) or NULL (MPSC_RECV_CLOSED) */
    mpsc_recv_result result; /* what the receive brought */
} mpsc_recv_future;

/* Prepares `future` to receive one message from `receiver`. Re-initialise it for the next one. */
void mpsc_recv_future_init(mpsc_recv_future *future, mpsc_receiver *receiver);

/*
 * Waits on this thread (with rt_block_on) for the next message: returns
 * MPSC_RECV_MESSAGE with the message in *message, or MPSC_RECV_CLOSED (with
 * *message NULL) once the queue is empty and every sender is gone. Not for
 * use inside a task: it would block a worker thread; await an
 * mpsc_recv_future there.
 */
mpsc_recv_result mpsc_recv_blocking(mpsc_receiver *receiver, void **message);

#endif
