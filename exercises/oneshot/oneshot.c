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

void oneshot_channel(oneshot_free_fn free_message, oneshot_sender **sender,
                     oneshot_receiver **receiver) {
    (void)free_message;
    (void)sender;
    (void)receiver;
    TODO("allocate the shared state and set up both handles");
}

oneshot_send_result oneshot_send(oneshot_sender *sender, void *message, void **returned) {
    (void)sender;
    (void)message;
    (void)returned;
    TODO("store the message and wake the receiver, or hand the message back");
}

void oneshot_sender_drop(oneshot_sender *sender) {
    (void)sender;
    TODO("mark the sender dropped and wake the receiver");
}

rt_poll oneshot_receiver_poll_recv(oneshot_receiver *receiver, rt_context *cx, void **message,
                                   oneshot_recv_result *result) {
    (void)receiver;
    (void)cx;
    (void)message;
    (void)result;
    TODO("hand out the message or CLOSED; else store a clone of cx->waker");
}

void oneshot_receiver_drop(oneshot_receiver *receiver) {
    (void)receiver;
    TODO("mark the receiver dropped and free what nobody will receive");
}
