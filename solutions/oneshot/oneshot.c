/*
 * oneshot.c - a oneshot channel: one value, one sender, one receiver future.
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
    SENDER_SENT,    /* used up by a successful send: the value is in the channel */
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
    pthread_mutex_t lock;       /* guards every field below but the handles */
    sender_state sender;        /* SENDER_ALIVE until send or drop */
    bool receiver_dropped;      /* oneshot_receiver_drop was called */
    void *value;                /* the channel's while sender == SENDER_SENT and not received */
    rt_waker waker;             /* from the receiver's latest PENDING poll, or empty */
    oneshot_destructor destroy; /* for a value nobody received; may be NULL */
    oneshot_sender tx;          /* the two handles live here too: one allocation */
    oneshot_receiver rx;
};
//@end

//# BEGIN SOLUTION
/* Called by the side given up last, with the lock released: nobody else refers to inner. */
static void inner_free(oneshot_inner *inner) {
    pthread_mutex_destroy(&inner->lock);
    free(inner);
}

//# END SOLUTION
void oneshot_channel(oneshot_destructor destroy, oneshot_sender **tx, oneshot_receiver **rx) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = malloc(sizeof *inner);
    if (inner == NULL) {
        fprintf(stderr, "oneshot_channel: out of memory\n");
        abort();
    }
    pthread_mutex_init(&inner->lock, NULL);
    inner->sender = SENDER_ALIVE;
    inner->receiver_dropped = false;
    inner->value = NULL;
    inner->waker = RT_WAKER_NONE;
    inner->destroy = destroy;
    inner->tx.inner = inner;
    inner->rx.inner = inner;
    inner->rx.finished = false;
    *tx = &inner->tx;
    *rx = &inner->rx;
    //# STUB
    //> (void)destroy;
    //> (void)tx;
    //> (void)rx;
    //> TODO("oneshot_channel: allocate the shared state, set up both handles");
    //# END SOLUTION
}

oneshot_send_result oneshot_send(oneshot_sender *tx, void *value, void **returned) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = tx->inner;
    pthread_mutex_lock(&inner->lock);
    if (inner->receiver_dropped) {
        /* Nobody will receive: the value goes back, untouched. The receiver
         * is gone, so this side is the last one and frees the channel. */
        inner->sender = SENDER_DROPPED;
        pthread_mutex_unlock(&inner->lock);
        inner_free(inner);
        *returned = value;
        return ONESHOT_RECEIVER_DROPPED;
    }
    //@slide oneshot-send-store
    /* Store first, wake second: a receiver woken before the value is in
     * place would poll, find nothing, and wait for a wake that never comes.
     * SENDER_SENT, not SENDER_DROPPED: the receiver must get the value. */
    inner->value = value;
    inner->sender = SENDER_SENT;
    rt_waker waker = rt_waker_take(&inner->waker);
    pthread_mutex_unlock(&inner->lock);
    /* From here on the receiver may free the channel: touch only locals. */
    rt_waker_wake(&waker);
    //@end
    *returned = NULL;
    return ONESHOT_SENT;
    //# STUB
    //> (void)tx;
    //> (void)value;
    //> (void)returned;
    //> TODO("oneshot_send: store the value and wake the receiver, or hand the value back");
    //# END SOLUTION
}

void oneshot_sender_drop(oneshot_sender *tx) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = tx->inner;
    pthread_mutex_lock(&inner->lock);
    inner->sender = SENDER_DROPPED;
    bool last = inner->receiver_dropped;
    rt_waker waker = rt_waker_take(&inner->waker);
    pthread_mutex_unlock(&inner->lock);
    /* The receiver may be waiting for a value that will never come: wake
     * it so that its next poll answers ONESHOT_SENDER_DROPPED. */
    rt_waker_wake(&waker);
    if (last)
        inner_free(inner);
    //# STUB
    //> (void)tx;
    //> TODO("oneshot_sender_drop: mark the sender dropped and wake the receiver");
    //# END SOLUTION
}

rt_poll oneshot_receiver_poll(oneshot_receiver *rx, rt_context *cx, void **value,
                              oneshot_recv_status *status) {
    //# BEGIN SOLUTION
    if (rx->finished) {
        *value = NULL;
        *status = ONESHOT_ALREADY_RECEIVED;
        return RT_READY;
    }
    oneshot_inner *inner = rx->inner;
    pthread_mutex_lock(&inner->lock);
    if (inner->sender == SENDER_ALIVE) {
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
    if (inner->sender == SENDER_SENT) {
        *value = inner->value; /* ownership moves to the caller */
        inner->value = NULL;
        *status = ONESHOT_RECEIVED;
    } else {
        *value = NULL;
        *status = ONESHOT_SENDER_DROPPED;
    }
    rx->finished = true;
    pthread_mutex_unlock(&inner->lock);
    rt_waker_drop(&stale);
    return RT_READY;
    //# STUB
    //> (void)rx;
    //> (void)cx;
    //> (void)value;
    //> (void)status;
    //> TODO("oneshot_receiver_poll: READY with the value or SENDER_DROPPED, else store the waker");
    //# END SOLUTION
}

void oneshot_receiver_drop(oneshot_receiver *rx) {
    //# BEGIN SOLUTION
    oneshot_inner *inner = rx->inner;
    if (rx->finished) {
        /* The READY poll saw, under the lock, a sender that had sent or was
         * dropped: that side will never touch the channel again, and the
         * poll took the value and the waker. Nothing is left to share, so
         * no lock: this side is the last, and frees. */
        inner_free(inner);
        return;
    }
    pthread_mutex_lock(&inner->lock);
    inner->receiver_dropped = true;
    /* A value sent but never received is still the channel's: free it. */
    bool leftover = inner->sender == SENDER_SENT && !rx->finished;
    void *value = inner->value;
    inner->value = NULL;
    oneshot_destructor destroy = inner->destroy;
    bool last = inner->sender != SENDER_ALIVE;
    rt_waker waker = rt_waker_take(&inner->waker);
    pthread_mutex_unlock(&inner->lock);
    rt_waker_drop(&waker);
    if (leftover && destroy != NULL)
        destroy(value);
    if (last)
        inner_free(inner);
    //# STUB
    //> (void)rx;
    //> TODO("oneshot_receiver_drop: mark the receiver dropped, free what nobody will receive");
    //# END SOLUTION
}

static rt_poll recv_future_poll(rt_future *self, rt_context *cx) {
    //# BEGIN SOLUTION
    oneshot_recv_future *future = (oneshot_recv_future *)self;
    return oneshot_receiver_poll(future->rx, cx, &future->value, &future->status);
    //# STUB
    //> (void)self;
    //> (void)cx;
    //> TODO("recv_future_poll: poll the receiver, keeping its answer in the future's fields");
    //# END SOLUTION
}

void oneshot_recv_future_init(oneshot_recv_future *future, oneshot_receiver *rx) {
    *future = (oneshot_recv_future){
        .base = {.poll = recv_future_poll, .drop = NULL, .name = "oneshot_recv"},
        .rx = rx,
    };
}
