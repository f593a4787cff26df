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

void oneshot_channel(oneshot_destructor destroy, oneshot_sender **tx, oneshot_receiver **rx) {
    (void)destroy;
    (void)tx;
    (void)rx;
    TODO("oneshot_channel: allocate the shared state, set up both handles");
}

oneshot_send_result oneshot_send(oneshot_sender *tx, void *value, void **returned) {
    (void)tx;
    (void)value;
    (void)returned;
    TODO("oneshot_send: store the value and wake the receiver, or hand the value back");
}

void oneshot_sender_drop(oneshot_sender *tx) {
    (void)tx;
    TODO("oneshot_sender_drop: mark the sender dropped and wake the receiver");
}

rt_poll oneshot_receiver_poll(oneshot_receiver *rx, rt_context *cx, void **value,
                              oneshot_recv_status *status) {
    (void)rx;
    (void)cx;
    (void)value;
    (void)status;
    TODO("oneshot_receiver_poll: READY with the value or SENDER_DROPPED, else store the waker");
}

void oneshot_receiver_drop(oneshot_receiver *rx) {
    (void)rx;
    TODO("oneshot_receiver_drop: mark the receiver dropped, free what nobody will receive");
}

static rt_poll recv_future_poll(rt_future *self, rt_context *cx) {
    (void)self;
    (void)cx;
    TODO("recv_future_poll: poll the receiver, keeping its answer in the future's fields");
}

void oneshot_recv_future_init(oneshot_recv_future *future, oneshot_receiver *rx) {
    *future = (oneshot_recv_future){
        .base = {.poll = recv_future_poll, .drop = NULL, .name = "oneshot_recv"},
        .rx = rx,
    };
}
