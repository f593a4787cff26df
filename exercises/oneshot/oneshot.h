/*
 * oneshot.h - a oneshot channel: one message, one sender, one receiver.
 *
 * A oneshot carries exactly one message from one sender to one receiver. It
 * is how a task asks another for an answer: make a channel, hand the sender
 * to whoever will answer, and await the receiver (kit/oneshot_recv_future.h
 * makes the receiver a future to await, or receives on a plain thread).
 *
 *     #include <stdlib.h>
 *
 *     // Both sides in one function, for the example; in a program the
 *     // sender goes to another task or thread.
 *     void example(rt_context *cx) {
 *         oneshot_sender *sender;
 *         oneshot_receiver *receiver;
 *         oneshot_channel(free, &sender, &receiver); // free() leftovers when dropped
 *
 *         void *returned;
 *         if (oneshot_send(sender, malloc(16), &returned) == ONESHOT_SEND_RECEIVER_DROPPED)
 *             free(returned); // nobody wanted it: ours again
 *
 *         void *message;
 *         oneshot_recv_result result;
 *         if (oneshot_receiver_poll_recv(receiver, cx, &message, &result) == RT_READY &&
 *             result == ONESHOT_RECV_MESSAGE)
 *             free(message); // the message is ours now
 *         oneshot_receiver_drop(receiver);
 *     }
 *
 * The rules (the C form of the course's Rust oneshot):
 *
 * - Both handles are opaque and made together by oneshot_channel. C has no
 *   destructors, so each handle is given up by one explicit call: the
 *   sender by oneshot_send or oneshot_sender_drop (exactly one of them),
 *   the receiver by oneshot_receiver_drop. The channel frees itself when
 *   both sides have been given up, whatever the order.
 * - The receiver is polled like a future. It answers PENDING while no
 *   message was sent and the sender is alive; READY with the message once
 *   one was sent; READY with ONESHOT_RECV_CLOSED when the sender was
 *   dropped without sending. A PENDING answer has stored a clone of the
 *   poll's waker, replacing (and dropping) the one an earlier poll stored:
 *   only the latest poll's waker is ever woken.
 * - Sending stores the message, then wakes the stored waker. Dropping the
 *   sender marks it dropped, then wakes the stored waker. A sender used up
 *   by a successful send is not "dropped": the receiver gets the message.
 * - A message is owned by exactly one party at every moment. While it waits
 *   in the channel the channel owns it; a READY poll hands it to the
 *   caller; a send to a dropped receiver hands it back to the sender; a
 *   receiver dropped while a message waits frees it with the channel's
 *   free function. Never two of these, never none.
 * - The receiver answers READY once. Polling it again afterwards is a
 *   defined error: READY with ONESHOT_RECV_ALREADY_RECEIVED, no message,
 *   no waker.
 *
 * Thread safety: every function may be called from any thread; each handle
 * is used by one thread at a time (the sender and the receiver may be on
 * different threads).
 *
 * Callbacks and wakers: the channel may call the functions it was given
 * (free_message, and clone_message where there is one) while it holds its
 * lock, so they must be short and must never call into a channel. Wakers
 * are the opposite: the channel never wakes or drops one while it holds its
 * lock (it takes the waker out under the lock, unlocks, then wakes or drops
 * it), because a wake can run code that takes the same lock.
 */
#ifndef ONESHOT_H
#define ONESHOT_H

#include "rt.h"

/* The sending half: used once, by oneshot_send or oneshot_sender_drop. */
typedef struct oneshot_sender oneshot_sender;

/* The receiving half: polled until READY, then dropped. */
typedef struct oneshot_receiver oneshot_receiver;

/* Frees a message the channel owns when nobody will receive it. */
typedef void (*oneshot_free_fn)(void *message);

/* What oneshot_send did with the message. */
typedef enum oneshot_send_result {
    ONESHOT_SEND_OK,               /* the channel owns the message; the receiver will get it */
    ONESHOT_SEND_RECEIVER_DROPPED, /* nobody will receive it: it is back in *returned */
} oneshot_send_result;

/* What a READY poll of the receiver means. */
typedef enum oneshot_recv_result {
    ONESHOT_RECV_MESSAGE,          /* the message is in *message and now belongs to the caller */
    ONESHOT_RECV_CLOSED,           /* the sender was dropped without sending: no message ever */
    ONESHOT_RECV_ALREADY_RECEIVED, /* an earlier poll answered READY: misuse, nothing more */
} oneshot_recv_result;

/*
 * Makes a channel: one sender in *sender and one receiver in *receiver.
 * `free_message` frees a message that was sent but never received when the
 * receiver is dropped; NULL leaves such a message alone (for messages the
 * caller does not own, such as small integers cast to pointers). Aborts
 * when out of memory, as mpsc_channel does.
 */
void oneshot_channel(oneshot_free_fn free_message, oneshot_sender **sender,
                     oneshot_receiver **receiver);

/*
 * Sends `message` (any pointer, NULL included) and gives up the sender:
 * `sender` is invalid after this call, whatever it returns.
 *
 * ONESHOT_SEND_OK: the channel owns the message, and the receiver's stored
 * waker (if any) was woken after the message was in place. *returned is set
 * to NULL.
 * ONESHOT_SEND_RECEIVER_DROPPED: the receiver was dropped first; the message
 * was not taken and is handed back in *returned, still the caller's to free.
 * `returned` must not be NULL.
 */
oneshot_send_result oneshot_send(oneshot_sender *sender, void *message, void **returned);

/*
 * Gives up the sender without sending: the receiver will answer READY with
 * ONESHOT_RECV_CLOSED, and its stored waker is woken so that it finds out.
 * `sender` is invalid afterwards. Do not call it after oneshot_send.
 */
void oneshot_sender_drop(oneshot_sender *sender);

/*
 * Polls the receiver once (the poll function of its future).
 *
 * RT_PENDING: no message yet and the sender is alive. A clone of cx->waker
 * is stored, replacing the one an earlier poll stored, which is dropped.
 * RT_READY: see *result. With ONESHOT_RECV_MESSAGE the message is in
 * *message and is the caller's; otherwise *message is NULL. The first READY
 * is the answer; every later poll answers READY with
 * ONESHOT_RECV_ALREADY_RECEIVED. *message and *result are written only
 * when READY.
 */
rt_poll oneshot_receiver_poll_recv(oneshot_receiver *receiver, rt_context *cx, void **message,
                                   oneshot_recv_result *result);

/*
 * Gives up the receiver: a later send fails with
 * ONESHOT_SEND_RECEIVER_DROPPED. A message that was sent but never received
 * is freed with the channel's free function; a stored waker is dropped.
 * `receiver` is invalid afterwards. Dropping before, after or instead of
 * receiving is allowed.
 */
void oneshot_receiver_drop(oneshot_receiver *receiver);

#endif
