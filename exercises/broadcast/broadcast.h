/*
 * broadcast.h - a broadcast channel: every receiver gets every message.
 *
 * Any number of senders and receivers share one channel. A message sent by
 * any sender is delivered to every receiver that existed when it was sent,
 * each receiver getting its own copy made with the channel's clone function
 * (Rust's `T: Clone`). The chat server uses it to pass each line a client
 * types to every connected client.
 *
 *     broadcast_sender *tx;
 *     broadcast_receiver *a;
 *     broadcast_channel(copy_line, free_line, 0, &tx, &a);
 *     broadcast_receiver *b = broadcast_sender_subscribe(tx);
 *     size_t reached;
 *     void *back;
 *     broadcast_send(tx, line, &reached, &back);  // reached == 2
 *
 * Ownership, exactly:
 * - broadcast_send gives the message to the channel (or, when it fails,
 *   hands it straight back through *returned).
 * - The channel keeps the message it was given (the "original") while any
 *   receiver that existed at the send has not taken it. Each receiver that
 *   takes it gets a fresh copy from the clone function: clone is called
 *   exactly once per receiver per message, never for a receiver that was
 *   dropped before taking it. The receiver owns its copy.
 * - The original is freed with the destructor exactly once, as soon as the
 *   last of those receivers took its copy or was dropped, and never before.
 * - Lagged messages (part B, below) are freed when they fall out of the
 *   channel, and nobody clones them any more.
 * With a NULL destructor the channel never frees a message itself.
 *
 * The clone function and the destructor run while the channel's lock is
 * held: they must not use the channel.
 *
 * Receiving is a poll function, like mpsc's: READY with a message, READY
 * with CLOSED once every sender is gone and this receiver has taken all that
 * was sent to it, or PENDING after storing a clone of the context's waker.
 * A send wakes every receiver that is pending. The kit's broadcast_future.h
 * wraps the poll function as a future and as a blocking receive.
 *
 * Part B (bonus): a channel with a capacity keeps at most that many messages.
 * Sending to a full channel drops the oldest message, even for receivers that
 * have not taken it yet; such a receiver then gets LAGGED once, with how many
 * messages it missed, and goes on with the oldest message still kept (as
 * tokio's broadcast channel does). Capacity 0 means unbounded: nobody lags.
 *
 * All functions are safe to call from any thread. Each handle is used by
 * one thread (or task) at a time and dropped exactly once.
 */
#ifndef BROADCAST_H
#define BROADCAST_H

#include <stddef.h>
#include <stdint.h>

#include "rt_context.h"
#include "rt_poll.h"

/* A handle that sends to the channel. Clone it for every sending task. */
typedef struct broadcast_sender broadcast_sender;

/* A handle that receives every message sent after it was made. */
typedef struct broadcast_receiver broadcast_receiver;

/* Makes the copy of `message` a receiver gets; must not return NULL. */
typedef void *(*broadcast_clone_fn)(const void *message);

/* Frees a message the channel owns. */
typedef void (*broadcast_free_fn)(void *message);

/* What broadcast_send did with the message. */
typedef enum broadcast_send_status {
    BROADCAST_SENT,         /* queued for every receiver alive now (*reached of them) */
    BROADCAST_NO_RECEIVERS, /* there was no receiver: the message is in *returned */
} broadcast_send_status;

/* What a READY receive produced. */
typedef enum broadcast_recv_status {
    BROADCAST_MESSAGE, /* *message holds this receiver's own copy; free it when done */
    BROADCAST_CLOSED,  /* every sender is gone and nothing is left for this receiver */
    BROADCAST_LAGGED,  /* part B: *missed messages were dropped before this receiver took them */
} broadcast_recv_status;

/*
 * Makes a channel and its first two handles: one sender in *sender and one
 * receiver in *receiver. `clone` makes each receiver's copy (required);
 * `destroy` frees messages the channel owns (NULL: never freed by the
 * channel). `capacity` is the most messages kept (part B); 0 means
 * unbounded. Aborts when out of memory.
 */
void broadcast_channel(broadcast_clone_fn clone, broadcast_free_fn destroy, size_t capacity,
                       broadcast_sender **sender, broadcast_receiver **receiver);

/*
 * Sends `message` to every receiver alive now and wakes each pending one.
 * On BROADCAST_SENT the channel owns the message, *reached is the number of
 * receivers it will be delivered to and *returned is NULL. On
 * BROADCAST_NO_RECEIVERS nothing was queued, *reached is 0 and the message
 * is handed back in *returned: the caller owns it again. Never blocks (in
 * part B a full channel drops its oldest message instead).
 */
broadcast_send_status broadcast_send(broadcast_sender *sender, void *message, size_t *reached,
                                     void **returned);

/* A new sender for the same channel (Rust's Sender::clone). */
broadcast_sender *broadcast_sender_clone(broadcast_sender *sender);

/*
 * Drops a sender. When it was the last one, every receiver ends: once it
 * has taken what is left for it, its receive is READY with BROADCAST_CLOSED.
 * Pending receivers are woken so that they see it.
 */
void broadcast_sender_drop(broadcast_sender *sender);

/*
 * A new receiver that gets every message sent from now on, and none sent
 * before (Rust's Sender::subscribe).
 */
broadcast_receiver *broadcast_sender_subscribe(broadcast_sender *sender);

/*
 * A new receiver made from an existing one: it too gets only the messages
 * sent from now on, not `receiver`'s backlog (tokio's resubscribe). Made
 * after the last sender was dropped, it is closed at once.
 */
broadcast_receiver *broadcast_receiver_subscribe(broadcast_receiver *receiver);

/*
 * Polls for the next message for this receiver, in the order they were sent.
 *
 * RT_READY, *status == BROADCAST_MESSAGE: *message is this receiver's own
 *     copy (from the clone function); the caller frees it.
 * RT_READY, *status == BROADCAST_LAGGED (part B): the channel dropped
 *     *missed messages this receiver had not taken; poll again for the
 *     oldest message still kept.
 * RT_READY, *status == BROADCAST_CLOSED: every sender was dropped and this
 *     receiver has taken everything sent to it. Stays CLOSED.
 * RT_PENDING: nothing new yet. A clone of cx->waker is stored (replacing the
 *     one stored by an earlier poll) and woken by the next send or by the
 *     drop of the last sender.
 *
 * `missed` may be NULL; then a lag is still reported, without its count.
 * *message is set only for BROADCAST_MESSAGE and *missed only for LAGGED.
 */
rt_poll broadcast_receiver_poll_recv(broadcast_receiver *receiver, rt_context *cx, void **message,
                                     broadcast_recv_status *status, uint64_t *missed);

/*
 * Drops a receiver: releases its claim on every message it had not taken
 * (freeing those it was the last to hold) and drops its stored waker.
 */
void broadcast_receiver_drop(broadcast_receiver *receiver);

#endif
