/*
 * oneshot_recv_future.h - receiving from a oneshot channel without writing a
 * poll function.
 *
 * Kit code built on oneshot_receiver_poll_recv (oneshot.h): it works once
 * that does. Inside a task (an async poll function, see rt_async.h), await
 * a receive future kept in the task's fields, as everything that lives
 * across an await must be; on a plain thread, block:
 *
 *     #include <stdlib.h>
 *
 *     typedef struct ask_task {
 *         rt_future base;
 *         rt_async co;
 *         oneshot_receiver *receiver;
 *         oneshot_recv_future reply;
 *     } ask_task;
 *
 *     rt_poll ask_poll(rt_future *self, rt_context *cx) {
 *         ask_task *t = (ask_task *)self;
 *         RT_ASYNC_BEGIN(&t->co);
 *         oneshot_recv_future_init(&t->reply, t->receiver);
 *         RT_AWAIT(&t->co, cx, &t->reply.base);
 *         if (t->reply.result == ONESHOT_RECV_MESSAGE)
 *             free(t->reply.message); // the message is ours now
 *         oneshot_receiver_drop(t->receiver);
 *         RT_ASYNC_END(&t->co);
 *     }
 *
 *     void on_a_thread(oneshot_receiver *receiver) {
 *         void *message;
 *         if (oneshot_recv_blocking(receiver, &message) == ONESHOT_RECV_MESSAGE)
 *             free(message);
 *         oneshot_receiver_drop(receiver);
 *     }
 *
 * The future is named "oneshot_recv", so a receive that can never be woken
 * is reported under that name (see rt_diagnose.h).
 */
#ifndef ONESHOT_RECV_FUTURE_H
#define ONESHOT_RECV_FUTURE_H

#include "oneshot.h"

/*
 * One receive, as a future. It borrows the receiver: drop the receiver
 * yourself once the future is READY (or will not be polled again). Its
 * results are valid once it is READY.
 */
typedef struct oneshot_recv_future {
    rt_future base; /* first, so &f->base is the future to await */
    oneshot_receiver *receiver;
    void *message;              /* the message (ONESHOT_RECV_MESSAGE) or NULL */
    oneshot_recv_result result; /* what the receive brought */
} oneshot_recv_future;

/* Prepares `future` to receive from `receiver`; poll it through future->base. */
void oneshot_recv_future_init(oneshot_recv_future *future, oneshot_receiver *receiver);

/*
 * Waits on this thread (with rt_block_on) for the answer: returns
 * ONESHOT_RECV_MESSAGE with the message in *message, or ONESHOT_RECV_CLOSED
 * (with *message NULL) when the sender was dropped without sending. Not for
 * use inside a task: it would block a worker thread; await a
 * oneshot_recv_future there.
 */
oneshot_recv_result oneshot_recv_blocking(oneshot_receiver *receiver, void **message);

#endif
