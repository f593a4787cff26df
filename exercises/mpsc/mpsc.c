/*
 * mpsc.c - the channel: one shared state behind every handle, one lock.
 *
 * What is given: the state (struct channel), the handles, making a
 * channel and freeing it. What you write: the five functions marked TODO.
 * A good order is the tests' order: mpsc_send and mpsc_receiver_poll_recv
 * first, then the drops and the clone.
 *
 * Two rules hold everywhere:
 *  - Every field of struct channel is read and written with `lock` held
 *    (except `free_message`, which never changes).
 *  - Never wake or drop a waker with `lock` held: the waker may run code that
 *    uses this channel again and would deadlock. Take it out of its slot with
 *    rt_waker_take under the lock, unlock, then rt_waker_wake/rt_waker_drop.
 */
#include "mpsc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpsc_queue.h"

/* The state every handle of one channel shares. */
typedef struct channel {
    pthread_mutex_t lock;
    mpsc_queue queue;          /* sent, not yet taken by the receiver, oldest first */
    rt_waker rx_waker;         /* the receiver's stored waker; empty when none is stored */
    bool receiver_dropped;     /* mpsc_receiver_drop was called */
    size_t senders;            /* sender handles alive */
    mpsc_free_fn free_message; /* for leftover messages; set once, may be NULL */
} channel;

/* A sender handle: each clone is its own allocation, dropped on its own. */
struct mpsc_sender {
    channel *chan;
};

struct mpsc_receiver {
    channel *chan;
};

static void *checked_malloc(size_t size) {
    void *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "mpsc: out of memory\n");
        abort();
    }
    return p;
}

/* A new sender handle for `chan`; the caller has already counted it in chan->senders. */
static mpsc_sender *sender_new(channel *chan) {
    mpsc_sender *sender = checked_malloc(sizeof *sender);
    sender->chan = chan;
    return sender;
}

/*
 * Frees the shared state. Call it exactly once, after unlocking, from the
 * drop that leaves the channel with no handle at all (no sender alive and the
 * receiver dropped): nobody else can reach the channel then. Its queue must
 * be empty by then (the messages freed or handed out).
 */
static inline void channel_free(channel *chan) {
    mpsc_queue_free(&chan->queue);
    pthread_mutex_destroy(&chan->lock);
    free(chan);
}

void mpsc_channel(mpsc_free_fn free_message, mpsc_sender **sender, mpsc_receiver **receiver) {
    channel *chan = checked_malloc(sizeof *chan);
    pthread_mutex_init(&chan->lock, NULL);
    chan->queue = MPSC_QUEUE_EMPTY;
    chan->rx_waker = RT_WAKER_NONE;
    chan->receiver_dropped = false;
    chan->senders = 1;
    chan->free_message = free_message;
    *sender = sender_new(chan);
    *receiver = checked_malloc(sizeof **receiver);
    (*receiver)->chan = chan;
}

mpsc_send_result mpsc_send(mpsc_sender *sender, void *message, void **returned) {
    (void)sender;
    (void)message;
    (void)returned;
    TODO("hand the message back if the receiver is gone; else queue it and wake the waker");
}

mpsc_sender *mpsc_sender_clone(const mpsc_sender *sender) {
    (void)sender;
    TODO("count one more sender and return a new handle to the same channel");
}

void mpsc_sender_drop(mpsc_sender *sender) {
    (void)sender;
    TODO("count one sender less; the last wakes the receiver; free chan if no handle is left");
}

rt_poll mpsc_receiver_poll_recv(mpsc_receiver *receiver, rt_context *cx, void **message,
                                mpsc_recv_result *result) {
    (void)receiver;
    (void)cx;
    (void)message;
    (void)result;
    TODO("hand out the next message or CLOSED; else store a clone of cx->waker");
}

void mpsc_receiver_drop(mpsc_receiver *receiver) {
    (void)receiver;
    TODO("mark the receiver dropped, free what is queued, drop the waker, free chan if last");
}
