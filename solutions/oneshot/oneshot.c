/*
 * oneshot.c - a oneshot channel: one message, one sender, one receiver.
 *
 * The rules are in oneshot.h; read it first. The two handles and the state
 * they share live in one allocation, so a channel costs one malloc. Both
 * sides work on the shared state under its lock, and whichever side is
 * given up last frees it.
 *
 * The kit's rule for wakers applies throughout: never wake or drop one with
 * the lock held. Take a stored waker out of its slot with rt_waker_take
 * while holding the lock, unlock, then wake or drop it.
 */
#include "oneshot.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct oneshot_inner oneshot_inner;

/* Where the sending side stands. There is no "sent and dropped": a sender
 * used up by a send is done, and that is all the receiver needs to know. */
typedef enum sender_state {
    SENDER_ALIVE,   /* may still send, or be dropped */
    SENDER_SENT,    /* used up by a successful send: the message is in the channel */
    SENDER_DROPPED, /* given up without sending (or its send was refused) */
} sender_state;

struct oneshot_sender {
    oneshot_inner *inner;
};

struct oneshot_receiver {
    oneshot_inner *inner;
    bool finished; /* a poll answered READY; only the receiver's side touches this */
};

//@slide oneshot-state
struct oneshot_inner {
    pthread_mutex_t lock;         /* guards every field below but the handles */
    sender_state state;           /* SENDER_ALIVE until send or drop */
    bool receiver_dropped;        /* oneshot_receiver_drop was called */
    void *message;                /* the channel's while sender == SENDER_SENT and not received */
    rt_waker waker;               /* from the receiver's latest PENDING poll, or empty */
    oneshot_free_fn free_message; /* for a message nobody received; may be NULL */
    oneshot_sender sender;        /* the two handles live here too: one allocation */
    oneshot_receiver receiver;
};
//@end

//# BEGIN SOLUTION
/* Called by the side given up last, with the lock released: nobody else refers to inner. */
static void inner_free(oneshot_inner *inner) {
    pthread_mutex_destroy(&inner->lock);
    free(inner);
}

//# END SOLUTION
void oneshot_channel(oneshot_free_fn free_message, oneshot_sender **sender,
                     oneshot_receiver **receiver) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = malloc(sizeof *inner);
    if (inner == NULL) {
        fprintf(stderr, "oneshot_channel: out of memory\n");
        abort();
    }
    pthread_mutex_init(&inner->lock, NULL);
    inner->state = SENDER_ALIVE;
    inner->receiver_dropped = false;
    inner->message = NULL;
    inner->waker = RT_WAKER_NONE;
    inner->free_message = free_message;
    inner->sender.inner = inner;
    inner->receiver.inner = inner;
    inner->receiver.finished = false;
    *sender = &inner->sender;
    *receiver = &inner->receiver;
    //# STUB
    //> (void)free_message;
    //> (void)sender;
    //> (void)receiver;
    //> TODO("allocate the shared state and set up both handles");
    //# END SOLUTION
}

oneshot_send_result oneshot_send(oneshot_sender *sender, void *message, void **returned) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = sender->inner;
    pthread_mutex_lock(&inner->lock);
    if (inner->receiver_dropped) {
        /* Nobody will receive: the message goes back, untouched. The receiver
         * is gone, so this side is the last one and frees the channel. */
        inner->state = SENDER_DROPPED;
        pthread_mutex_unlock(&inner->lock);
        inner_free(inner);
        *returned = message;
        return ONESHOT_SEND_RECEIVER_DROPPED;
    }
    //@slide oneshot-send-store
    /* Store first, wake second: a receiver woken before the message is in
     * place would poll, find nothing, and wait for a wake that never comes.
     * SENDER_SENT, not SENDER_DROPPED: the receiver must get the message. */
    inner->message = message;
    inner->state = SENDER_SENT;
    rt_waker waker = rt_waker_take(&inner->waker);
    pthread_mutex_unlock(&inner->lock);
    /* From here on the receiver may free the channel: touch only locals. */
    rt_waker_wake(&waker);
    //@end
    *returned = NULL;
    return ONESHOT_SEND_OK;
    //# STUB
    //> (void)sender;
    //> (void)message;
    //> (void)returned;
    //> TODO("store the message and wake the receiver, or hand the message back");
    //# END SOLUTION
}

void oneshot_sender_drop(oneshot_sender *sender) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = sender->inner;
    pthread_mutex_lock(&inner->lock);
    inner->state = SENDER_DROPPED;
    bool last = inner->receiver_dropped;
    rt_waker waker = rt_waker_take(&inner->waker);
    pthread_mutex_unlock(&inner->lock);
    /* The receiver may be waiting for a message that will never come: wake
     * it so that its next poll answers ONESHOT_RECV_CLOSED. */
    rt_waker_wake(&waker);
    if (last)
        inner_free(inner);
    //# STUB
    //> (void)sender;
    //> TODO("mark the sender dropped and wake the receiver");
    //# END SOLUTION
}

rt_poll oneshot_receiver_poll_recv(oneshot_receiver *receiver, rt_context *cx, void **message,
                                   oneshot_recv_result *result) {
    //# BEGIN SOLUTION
    if (receiver->finished) {
        *message = NULL;
        *result = ONESHOT_RECV_ALREADY_RECEIVED;
        return RT_READY;
    }
    oneshot_inner *inner = receiver->inner;
    pthread_mutex_lock(&inner->lock);
    if (inner->state == SENDER_ALIVE) {
        /* Replace the stored waker: the task may have moved, and only the
         * latest poll's waker is sure to reach whoever polls next. One that
         * already wakes the same task is as good, and keeping it saves a
         * clone and a drop. Cloning under the lock is safe (a clone only
         * counts; it runs no task code); dropping is not, so the old waker
         * is dropped after unlocking. */
        //@slide oneshot-poll-replace
        rt_waker old = RT_WAKER_NONE;
        if (!rt_waker_will_wake(&inner->waker, cx->waker)) {
            old = inner->waker;
            inner->waker = rt_waker_clone(cx->waker);
        }
        pthread_mutex_unlock(&inner->lock);
        rt_waker_drop(&old);
        return RT_PENDING;
        //@end
    }
    /* The sender is done: nobody will wake the stored waker any more. */
    rt_waker stale = rt_waker_take(&inner->waker);
    if (inner->state == SENDER_SENT) {
        *message = inner->message; /* ownership moves to the caller */
        inner->message = NULL;
        *result = ONESHOT_RECV_MESSAGE;
    } else {
        *message = NULL;
        *result = ONESHOT_RECV_CLOSED;
    }
    receiver->finished = true;
    pthread_mutex_unlock(&inner->lock);
    rt_waker_drop(&stale);
    return RT_READY;
    //# STUB
    //> (void)receiver;
    //> (void)cx;
    //> (void)message;
    //> (void)result;
    //> TODO("hand out the message or CLOSED; else store a clone of cx->waker");
    //# END SOLUTION
}

void oneshot_receiver_drop(oneshot_receiver *receiver) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = receiver->inner;
    if (receiver->finished) {
        /* The READY poll saw, under the lock, a sender that had sent or was
         * dropped: that side will never touch the channel again, and the
         * poll took the message and the waker. Nothing is left to share, so
         * no lock: this side is the last, and frees. */
        inner_free(inner);
        return;
    }
    pthread_mutex_lock(&inner->lock);
    inner->receiver_dropped = true;
    /* A message sent but never received is still the channel's: free it. */
    bool leftover = inner->state == SENDER_SENT && !receiver->finished;
    void *message = inner->message;
    inner->message = NULL;
    oneshot_free_fn free_message = inner->free_message;
    bool last = inner->state != SENDER_ALIVE;
    rt_waker waker = rt_waker_take(&inner->waker);
    pthread_mutex_unlock(&inner->lock);
    rt_waker_drop(&waker);
    if (leftover && free_message != NULL)
        free_message(message);
    if (last)
        inner_free(inner);
    //# STUB
    //> (void)receiver;
    //> TODO("mark the receiver dropped and free what nobody will receive");
    //# END SOLUTION
}
