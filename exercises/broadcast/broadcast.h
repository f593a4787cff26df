/*
 * broadcast.h - a broadcast channel: every receiver gets every message.
 *
 * Any number of senders and receivers share one channel. A message sent by
 * any sender is delivered to every receiver that existed when it was sent,
 * each receiver getting its own copy made with the channel's clone function
 * (Rust's `T: Clone`).
 *
 *     #include <stdlib.h>
 *     #include <string.h>
 *
 *     void *copy_line(const void *line) {
 *         return strcpy(malloc(strlen(line) + 1), line);
 *     }
 *
 *     void example(void) {
 *         broadcast_sender *sender;
 *         broadcast_receiver *a;
 *         broadcast_channel(free, copy_line, 0, &sender, &a);
 *         broadcast_receiver *b = broadcast_sender_subscribe(sender);
 *
 *         void *returned;
 *         size_t reached;
 *         if (broadcast_send(sender, copy_line("hello"), &returned, &reached) ==
 *             BROADCAST_SEND_NO_RECEIVERS)
 *             free(returned); // nobody to send to: still ours
 *         // reached == 2: a and b each receive their own copy
 *         broadcast_sender_drop(sender);
 *         broadcast_receiver_drop(a);
 *         broadcast_receiver_drop(b);
 *     }
 *
 * Ownership, exactly:
 * - broadcast_send gives the message to the channel (or, when it fails,
 *   hands it straight back through *returned).
 * - The channel keeps the message it was given (the "original") while any
 *   receiver that existed at the send has not taken it. Each receiver that
 *   takes it gets a fresh copy from the clone function: clone is called
 *   exactly once per receiver per message, never for a receiver that was
 *   dropped before taking it. The receiver owns its copy.
 * - The original is freed with the free function exactly once, as soon as
 *   the last of those receivers took its copy or was dropped, and never
 *   before.
 * - Lagged messages (part B, below) are freed when they fall out of the
 *   channel, and nobody clones them any more.
 * With a NULL free function the channel never frees a message itself.
 *
 * Receiving is a poll function, like mpsc's: READY with a message, READY
 * with CLOSED once every sender is gone and this receiver has taken all that
 * was sent to it, or PENDING after storing a clone of the context's waker.
 * A send wakes every receiver that is pending. The kit's
 * kit/broadcast_recv_future.h wraps the poll function as a future and as a
 * blocking receive.
 *
 * Part B (bonus): a channel with a capacity keeps at most that many messages.
 * Sending to a full channel drops the oldest message, even for receivers that
 * have not taken it yet; such a receiver then gets LAGGED once, with how many
 * messages it missed, and goes on with the oldest message still kept (as
 * tokio's broadcast channel does). Capacity 0 means unbounded: nobody lags.
 *
 * Handles are opaque and each is dropped exactly once.
 *
 * Thread safety: every function may be called from any thread; each handle
 * is used by one thread at a time (clone a sender, or subscribe, to share
 * one).
 *
 * Callbacks and wakers: the channel may call the functions it was given
 * (free_message, and clone_message where there is one) while it holds its
 * lock, so they must be short and must never call into a channel. Wakers
 * are the opposite: the channel never wakes or drops one while it holds its
 * lock (it takes the waker out under the lock, unlocks, then wakes or drops
 * it), because a wake can run code that takes the same lock.
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

/* Frees a message the channel owns. */
typedef void (*broadcast_free_fn)(void *message);

/* Makes the copy of `message` a receiver gets; must not return NULL. */
typedef void *(*broadcast_clone_fn)(const void *message);

/* What broadcast_send did with the message. */
typedef enum broadcast_send_result {
    BROADCAST_SEND_OK,           /* queued for every receiver alive now (*reached of them) */
    BROADCAST_SEND_NO_RECEIVERS, /* there was no receiver: the message is in *returned */
} broadcast_send_result;

/* What a READY receive produced. */
typedef enum broadcast_recv_result {
    BROADCAST_RECV_MESSAGE, /* *message holds this receiver's own copy; free it when done */
    BROADCAST_RECV_CLOSED,  /* every sender is gone and nothing is left for this receiver */
    BROADCAST_RECV_LAGGED,  /* part B: *missed messages were dropped before this receiver took them
                             */
} broadcast_recv_result;

/*
 * Makes a channel and its first two handles: one sender in *sender and one
 * receiver in *receiver. `free_message` frees messages the channel owns
 * (NULL: never freed by the channel); `clone_message` makes each receiver's
 * copy (required). `capacity` is the most messages kept (part B); 0 means
 * unbounded. Aborts when out of memory.
 */
void broadcast_channel(broadcast_free_fn free_message, broadcast_clone_fn clone_message,
                       size_t capacity, broadcast_sender **sender, broadcast_receiver **receiver);

/*
 * Sends `message` to every receiver alive now and wakes each pending one.
 * On BROADCAST_SEND_OK the channel owns the message, *reached is the number of
 * receivers it will be delivered to and *returned is NULL. On
 * BROADCAST_SEND_NO_RECEIVERS nothing was queued, *reached is 0 and the message
 * is handed back in *returned: the caller owns it again. Never blocks (in
 * part B a full channel drops its oldest message instead).
 */
broadcast_send_result broadcast_send(broadcast_sender *sender, void *message, void **returned,
                                     size_t *reached);

/* A new sender for the same channel (Rust's Sender::clone). */
broadcast_sender *broadcast_sender_clone(const broadcast_sender *sender);

/*
 * Drops a sender. When it was the last one, every receiver ends: once it
 * has taken what is left for it, its receive is READY with BROADCAST_RECV_CLOSED.
 * Pending receivers are woken so that they see it.
 */
void broadcast_sender_drop(broadcast_sender *sender);

/*
 * A new receiver that gets every message sent from now on, and none sent
 * before (Rust's Sender::subscribe).
 */
broadcast_receiver *broadcast_sender_subscribe(const broadcast_sender *sender);

/*
 * A new receiver made from an existing one: it too gets only the messages
 * sent from now on, not `receiver`'s backlog (tokio's resubscribe). Made
 * after the last sender was dropped, it is closed at once.
 */
broadcast_receiver *broadcast_receiver_subscribe(const broadcast_receiver *receiver);

/*
 * Polls for the next message for this receiver, in the order they were sent.
 *
 * RT_READY, *result == BROADCAST_RECV_MESSAGE: *message is this receiver's own
 *     copy (from the clone function); the caller frees it.
 * RT_READY, *result == BROADCAST_RECV_LAGGED (part B): the channel dropped
 *     *missed messages this receiver had not taken; poll again for the
 *     oldest message still kept.
 * RT_READY, *result == BROADCAST_RECV_CLOSED: every sender was dropped and this
 *     receiver has taken everything sent to it. Stays CLOSED.
 * RT_PENDING: nothing new yet. A clone of cx->waker is stored (replacing the
 *     one stored by an earlier poll) and woken by the next send or by the
 *     drop of the last sender.
 *
 * `missed` may be NULL; then a lag is still reported, without its count.
 * *message is set only for BROADCAST_RECV_MESSAGE and *missed only for LAGGED.
 */
rt_poll broadcast_receiver_poll_recv(broadcast_receiver *receiver, rt_context *cx, void **message,
                                     broadcast_recv_result *result, uint64_t *missed);

/*
 * Drops a receiver: releases its claim on every message it had not taken
 * (freeing those it was the last to hold) and drops its stored waker.
 */
void broadcast_receiver_drop(broadcast_receiver *receiver);

#endif
