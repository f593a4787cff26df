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
 *     mpsc_sender *tx;
 *     mpsc_receiver *rx;
 *     mpsc_channel(free, &tx, &rx);         // leftovers are free()d
 *
 *     void *back;
 *     if (mpsc_send(tx, msg, &back) == MPSC_RECEIVER_DROPPED)
 *         free(back);                       // nobody will read it: still ours
 *     mpsc_sender_drop(tx);
 *
 *     // in a poll function (or use mpsc_recv.h to await or block):
 *     void *m;
 *     mpsc_recv_status status;
 *     if (mpsc_receiver_poll_recv(rx, cx, &m, &status) == RT_READY && status == MPSC_MESSAGE)
 *         ...use m, which is now yours...
 *     mpsc_receiver_drop(rx);
 *
 * Handles are opaque, and C has no destructors: every handle is given back
 * with its drop function exactly once, and is not used after that. The
 * channel itself is freed when its last handle is dropped.
 *
 * Ownership of messages: a message belongs to the channel from a successful
 * mpsc_send until mpsc_receiver_poll_recv hands it out. A failed send hands
 * it straight back. Messages still queued when the receiver is dropped are
 * freed with the channel's destructor.
 *
 * Every function here may be called from any thread, and from inside wakers.
 */
#ifndef MPSC_H
#define MPSC_H

#include "rt.h"

typedef struct mpsc_sender mpsc_sender;
typedef struct mpsc_receiver mpsc_receiver;

/* Frees one message the channel still owns when the receiver is dropped. */
typedef void (*mpsc_destructor)(void *message);

/* What became of a send. */
typedef enum mpsc_send_result {
    MPSC_SENT,             /* queued: the channel owns the message now */
    MPSC_RECEIVER_DROPPED, /* nobody will ever receive it: handed back, still yours */
} mpsc_send_result;

/* What a READY receive brought. */
typedef enum mpsc_recv_status {
    MPSC_MESSAGE, /* *message holds the next message, now yours */
    MPSC_CLOSED,  /* the queue is empty and every sender is gone: no message will come */
} mpsc_recv_status;

/*
 * Makes a channel with one sender (*tx) and its receiver (*rx).
 * `destroy` frees the messages still queued when the receiver is dropped;
 * NULL means the channel just forgets them (for messages it does not own,
 * such as small integers cast to pointers). Aborts when out of memory.
 */
void mpsc_channel(mpsc_destructor destroy, mpsc_sender **tx, mpsc_receiver **rx);

/*
 * Sends `message` (any pointer, NULL included). Never waits.
 *
 * MPSC_SENT: the message is queued, and the receiver is woken if it was
 * waiting; *returned is set to NULL.
 * MPSC_RECEIVER_DROPPED: the receiver is gone; nothing was queued and
 * *returned is set to `message`, which the caller owns again (Rust's
 * Err(ReceiverDropped(message))). `returned` must not be NULL.
 */
mpsc_send_result mpsc_send(mpsc_sender *tx, void *message, void **returned);

/* Another sender for the same channel (Rust's Sender::clone); drop it on its own. */
mpsc_sender *mpsc_sender_clone(const mpsc_sender *tx);

/*
 * Gives up a sender. When it was the last one, the receiver is woken so it
 * can see the end of the stream (after the messages still queued).
 */
void mpsc_sender_drop(mpsc_sender *tx);

/*
 * Polls for the next message; call it from a poll function, with that
 * poll's context.
 *
 * RT_READY with *status == MPSC_MESSAGE: *message is the oldest queued
 *   message, now owned by the caller.
 * RT_READY with *status == MPSC_CLOSED: the queue is empty and every sender
 *   was dropped; *message is NULL. Every later poll says the same.
 * RT_PENDING: nothing yet; a clone of cx->waker is stored in the channel
 *   (replacing the one stored before) and is woken by the next send or by
 *   the drop of the last sender. *message and *status are not touched.
 *
 * Messages queued before the last sender was dropped are all delivered
 * before MPSC_CLOSED. Only one poll may run at a time (single consumer).
 */
rt_poll mpsc_receiver_poll_recv(mpsc_receiver *rx, rt_context *cx, void **message,
                                mpsc_recv_status *status);

/*
 * Gives up the receiver. Every message still queued is freed at once with the
 * channel's destructor, even while senders live; later sends fail with
 * MPSC_RECEIVER_DROPPED. The stored waker, if any, is dropped.
 */
void mpsc_receiver_drop(mpsc_receiver *rx);

#endif
