/*
 * mpsc.h - an unbounded multi-producer, single-consumer async channel.
 *
 * Any number of senders put messages in; one receiver takes them out, in the
 * order the channel received them. The queue has no limit, so sending never
 * waits. Receiving does: it is a poll function (the C form of Rust's
 * Stream::poll_next) that answers PENDING while the queue is empty and
 * arranges for the receiver to be woken when a message arrives or the last
 * sender goes away.
 *
 *     #include <stdlib.h>
 *
 *     // One poll of the receiver, as a task's poll function makes it with
 *     // its own context (kit/mpsc_recv_future.h awaits or blocks instead).
 *     void example(rt_context *cx) {
 *         mpsc_sender *sender;
 *         mpsc_receiver *receiver;
 *         mpsc_channel(free, &sender, &receiver); // leftovers are free()d
 *
 *         void *returned;
 *         if (mpsc_send(sender, malloc(16), &returned) == MPSC_SEND_RECEIVER_DROPPED)
 *             free(returned); // nobody will read it: still ours
 *         mpsc_sender_drop(sender);
 *
 *         void *message;
 *         mpsc_recv_result result;
 *         if (mpsc_receiver_poll_recv(receiver, cx, &message, &result) == RT_READY &&
 *             result == MPSC_RECV_MESSAGE)
 *             free(message); // it was ours to use, and is ours to free
 *         mpsc_receiver_drop(receiver);
 *     }
 *
 * Handles are opaque, and C has no destructors: every handle is given back
 * with its drop function exactly once, and is not used after that. The
 * channel itself is freed when its last handle is dropped.
 *
 * Ownership of messages: a message belongs to the channel from a successful
 * mpsc_send until mpsc_receiver_poll_recv hands it out. A failed send hands
 * it straight back. Messages still queued when the receiver is dropped are
 * freed with the channel's free function.
 *
 * Thread safety: every function may be called from any thread; each handle
 * is used by one thread at a time (clone a sender to share it).
 *
 * Callbacks and wakers: the channel may call the functions it was given
 * (free_message, and clone_message where there is one) while it holds its
 * lock, so they must be short and must never call into a channel. Wakers
 * are the opposite: the channel never wakes or drops one while it holds its
 * lock (it takes the waker out under the lock, unlocks, then wakes or drops
 * it), because a wake can run code that takes the same lock.
 */
#ifndef MPSC_H
#define MPSC_H

#include "rt.h"

typedef struct mpsc_sender mpsc_sender;
typedef struct mpsc_receiver mpsc_receiver;

/* Frees one message the channel still owns when the receiver is dropped. */
typedef void (*mpsc_free_fn)(void *message);

/* What became of a send. */
typedef enum mpsc_send_result {
    MPSC_SEND_OK,               /* queued: the channel owns the message now */
    MPSC_SEND_RECEIVER_DROPPED, /* nobody will ever receive it: handed back, still yours */
} mpsc_send_result;

/* What a READY receive brought. */
typedef enum mpsc_recv_result {
    MPSC_RECV_MESSAGE, /* *message holds the next message, now yours */
    MPSC_RECV_CLOSED,  /* the queue is empty and every sender is gone: no message will come */
} mpsc_recv_result;

/*
 * Makes a channel with one sender (*sender) and its receiver (*receiver).
 * `free_message` frees the messages still queued when the receiver is
 * dropped; NULL means the channel just forgets them (for messages it does
 * not own, such as small integers cast to pointers). Aborts when out of
 * memory.
 */
void mpsc_channel(mpsc_free_fn free_message, mpsc_sender **sender, mpsc_receiver **receiver);

/*
 * Sends `message` (any pointer, NULL included). Never waits.
 *
 * MPSC_SEND_OK: the message is queued, and the receiver is woken if it was
 * waiting; *returned is set to NULL.
 * MPSC_SEND_RECEIVER_DROPPED: the receiver is gone; nothing was queued and
 * *returned is set to `message`, which the caller owns again (Rust's
 * Err(ReceiverDropped(message))). `returned` must not be NULL.
 */
mpsc_send_result mpsc_send(mpsc_sender *sender, void *message, void **returned);

/* Another sender for the same channel (Rust's Sender::clone); drop it on its own. */
mpsc_sender *mpsc_sender_clone(const mpsc_sender *sender);

/*
 * Gives up a sender. When it was the last one, the receiver is woken so it
 * can see the end of the stream (after the messages still queued).
 */
void mpsc_sender_drop(mpsc_sender *sender);

/*
 * Polls for the next message; call it from a poll function, with that
 * poll's context.
 *
 * RT_READY with *result == MPSC_RECV_MESSAGE: *message is the oldest queued
 *   message, now owned by the caller.
 * RT_READY with *result == MPSC_RECV_CLOSED: the queue is empty and every
 *   sender was dropped; *message is NULL. Every later poll says the same.
 * RT_PENDING: nothing yet; a clone of cx->waker is stored in the channel
 *   (replacing the one stored before) and is woken by the next send or by
 *   the drop of the last sender. *message and *result are not touched.
 *
 * Messages queued before the last sender was dropped are all delivered
 * before MPSC_RECV_CLOSED. Only one poll may run at a time (single consumer).
 */
rt_poll mpsc_receiver_poll_recv(mpsc_receiver *receiver, rt_context *cx, void **message,
                                mpsc_recv_result *result);

/*
 * Gives up the receiver. Every message still queued is freed at once with the
 * channel's free function, even while senders live; later sends fail with
 * MPSC_SEND_RECEIVER_DROPPED. The stored waker, if any, is dropped.
 */
void mpsc_receiver_drop(mpsc_receiver *receiver);

#endif
