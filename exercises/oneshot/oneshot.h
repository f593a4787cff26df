/*
 * oneshot.h - a oneshot channel: one value, one sender, one receiver future.
 *
 * A oneshot carries exactly one value from one sender to one receiver. It
 * is how a task asks another for an answer: make a channel, hand the sender
 * to whoever will answer, and await the receiver.
 *
 *     oneshot_sender *tx;
 *     oneshot_receiver *rx;
 *     oneshot_channel(free, &tx, &rx);       // free() leftovers when dropped
 *
 *     // the answering side, in another task or thread:
 *     void *back;
 *     if (oneshot_send(tx, answer, &back) == ONESHOT_RECEIVER_DROPPED)
 *         free(back);                        // nobody wanted it: ours again
 *
 *     // the asking side, in an async poll function (rt_async.h):
 *     oneshot_recv_future_init(&t->reply, rx);
 *     RT_AWAIT(&t->co, cx, &t->reply.base);
 *     if (t->reply.status == ONESHOT_RECEIVED)
 *         use(t->reply.value);               // the value is ours now
 *     oneshot_receiver_drop(rx);
 *
 * The rules (the C form of the course's Rust oneshot):
 *
 * - Both handles are opaque and made together by oneshot_channel. C has no
 *   destructors, so each handle is given up by one explicit call: the
 *   sender by oneshot_send or oneshot_sender_drop (exactly one of them),
 *   the receiver by oneshot_receiver_drop. The channel frees itself when
 *   both sides have been given up, whatever the order.
 * - The receiver is polled like a future. It answers PENDING while no value
 *   was sent and the sender is alive; READY with the value once one was
 *   sent; READY with ONESHOT_SENDER_DROPPED when the sender was dropped
 *   without sending. A PENDING answer has stored a clone of the poll's
 *   waker, replacing (and dropping) the one an earlier poll stored: only
 *   the latest poll's waker is ever woken.
 * - Sending stores the value, then wakes the stored waker. Dropping the
 *   sender marks it dropped, then wakes the stored waker. A sender used up
 *   by a successful send is not "dropped": the receiver gets the value.
 * - A value is owned by exactly one party at every moment. While it waits
 *   in the channel the channel owns it; a READY poll hands it to the
 *   caller; a send to a dropped receiver hands it back to the sender; a
 *   receiver dropped while a value waits frees it with the channel's
 *   destructor. Never two of these, never none.
 * - The receiver answers READY once. Polling it again afterwards is a
 *   defined error: READY with ONESHOT_ALREADY_RECEIVED, no value, no waker.
 * - Wakers are never woken or dropped while the channel's lock is held, so
 *   a woken task may use the channel from inside the wake.
 *
 * All functions are thread-safe: the sender and the receiver may be used
 * from different threads and tasks at the same time.
 */
#ifndef ONESHOT_H
#define ONESHOT_H

#include "rt.h"

/* The sending half: used once, by oneshot_send or oneshot_sender_drop. */
typedef struct oneshot_sender oneshot_sender;

/* The receiving half: polled until READY, then dropped. */
typedef struct oneshot_receiver oneshot_receiver;

/* Frees a value the channel owns when nobody will receive it (may be NULL). */
typedef void (*oneshot_destructor)(void *value);

/* What oneshot_send did with the value. */
typedef enum oneshot_send_result {
    ONESHOT_SENT,             /* the channel owns the value; the receiver will get it */
    ONESHOT_RECEIVER_DROPPED, /* nobody will receive it: it is back in *returned */
} oneshot_send_result;

/* What a READY poll of the receiver means. */
typedef enum oneshot_recv_status {
    ONESHOT_RECEIVED,         /* the value is in *value and now belongs to the caller */
    ONESHOT_SENDER_DROPPED,   /* the sender was dropped without sending: no value ever */
    ONESHOT_ALREADY_RECEIVED, /* an earlier poll answered READY: misuse, nothing more comes */
} oneshot_recv_status;

/*
 * Makes a channel: one sender in *tx and one receiver in *rx. `destroy`
 * frees a value that was sent but never received when the receiver is
 * dropped; NULL leaves such a value alone (for values the caller does not
 * own, such as small integers cast to pointers). Aborts when out of memory,
 * as mpsc_channel does.
 */
void oneshot_channel(oneshot_destructor destroy, oneshot_sender **tx, oneshot_receiver **rx);

/*
 * Sends `value` (any pointer, NULL included) and gives up the sender: `tx`
 * is invalid after this call, whatever it returns.
 *
 * ONESHOT_SENT: the channel owns the value, and the receiver's stored waker
 * (if any) was woken after the value was in place. *returned is set to NULL.
 * ONESHOT_RECEIVER_DROPPED: the receiver was dropped first; the value was
 * not taken and is handed back in *returned, still the caller's to free.
 * `returned` must not be NULL.
 */
oneshot_send_result oneshot_send(oneshot_sender *tx, void *value, void **returned);

/*
 * Gives up the sender without sending: the receiver will answer READY with
 * ONESHOT_SENDER_DROPPED, and its stored waker is woken so that it finds
 * out. `tx` is invalid afterwards. Do not call it after oneshot_send.
 */
void oneshot_sender_drop(oneshot_sender *tx);

/*
 * Polls the receiver once (the poll function of its future).
 *
 * RT_PENDING: no value yet and the sender is alive. A clone of cx->waker is
 * stored, replacing the one an earlier poll stored, which is dropped.
 * RT_READY: see *status. With ONESHOT_RECEIVED the value is in *value and is
 * the caller's; otherwise *value is NULL. The first READY is the answer;
 * every later poll answers READY with ONESHOT_ALREADY_RECEIVED.
 * *value and *status are written only when READY.
 */
rt_poll oneshot_receiver_poll(oneshot_receiver *rx, rt_context *cx, void **value,
                              oneshot_recv_status *status);

/*
 * Gives up the receiver: a later send fails with ONESHOT_RECEIVER_DROPPED.
 * A value that was sent but never received is freed with the channel's
 * destructor; a stored waker is dropped. `rx` is invalid afterwards.
 * Dropping before, after or instead of receiving is allowed.
 */
void oneshot_receiver_drop(oneshot_receiver *rx);

/*
 * The receiver as an rt_future, to await it (RT_AWAIT) or run it with
 * rt_block_on. It borrows the receiver: drop the receiver yourself once the
 * future is READY (or will not be polled again). When READY, the answer is
 * in `status` and, with ONESHOT_RECEIVED, the value in `value`.
 */
typedef struct oneshot_recv_future {
    rt_future base; /* first: a pointer to this is a pointer to an rt_future */
    oneshot_receiver *rx;
    void *value;                /* valid once READY with ONESHOT_RECEIVED */
    oneshot_recv_status status; /* valid once READY */
} oneshot_recv_future;

/* Prepares `future` to receive from `rx`; poll it through future->base. */
void oneshot_recv_future_init(oneshot_recv_future *future, oneshot_receiver *rx);

#endif
