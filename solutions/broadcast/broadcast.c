/*
 * broadcast.c - a broadcast channel: every receiver gets every message.
 *
 * The rules are in broadcast.h; read it first. This file is yours: choose
 * the types, then write each function. The README's hints suggest one way.
 */
#include "broadcast.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_todo.h"
#include "rt_waker.h"

//# BEGIN SOLUTION
/*
 * One mutex guards everything. Messages sit in a ring of slots indexed by
 * a sequence number: message number `seq` lives in ring[seq & mask]. Every
 * receiver remembers the number of the next message it will take. A slot
 * counts the receivers that still have to take its message; since every
 * receiver takes messages in order, those counts never decrease from the
 * oldest slot to the newest, so messages are always released from the
 * front, and the ring is a plain queue.
 */
typedef struct bc_slot {
    void *message;    /* the original, owned by the channel */
    size_t remaining; /* receivers that still have to take it */
} bc_slot;

typedef struct bc_channel {
    pthread_mutex_t lock;
    broadcast_free_fn free_message;
    broadcast_clone_fn clone_message;
    size_t capacity; /* part B: most messages kept; 0 = unbounded */
    bc_slot *ring;
    size_t ring_size; /* a power of two */
    uint64_t head;    /* number of the oldest message kept */
    uint64_t tail;    /* number the next message sent will get */
    size_t senders;
    size_t receivers;
    /* Handles not yet done with the channel: the last one frees it. Not
     * senders + receivers: the last sender still needs the channel after it
     * stopped counting as a sender, to wake everybody. */
    size_t handles;
    /* Receivers with a stored waker, so that a send finds them without
     * looking at every receiver. A receiver is in this list exactly when
     * its waker slot is not empty. */
    broadcast_receiver *waiting;
} bc_channel;

struct broadcast_sender {
    bc_channel *channel;
};

struct broadcast_receiver {
    bc_channel *channel;
    uint64_t next; /* number of the next message for this receiver */
    rt_waker waker;
    broadcast_receiver *wait_prev, *wait_next;
};

/* Wakers taken out per round while the lock is held; more go in more rounds. */
#define BC_WAKE_BATCH 32

static void *bc_alloc(size_t size) {
    void *p = calloc(1, size);
    if (p == NULL) {
        fprintf(stderr, "broadcast: out of memory\n");
        abort();
    }
    return p;
}

static bc_slot *bc_slot_of(bc_channel *ch, uint64_t seq) {
    return &ch->ring[seq & (ch->ring_size - 1)];
}

/* Doubles the ring, keeping the messages in order (lock held; unbounded channels only). */
static void bc_grow_locked(bc_channel *ch) {
    size_t size = ch->ring_size * 2;
    bc_slot *ring = bc_alloc(size * sizeof *ring);
    for (uint64_t seq = ch->head; seq != ch->tail; seq++)
        ring[seq & (size - 1)] = *bc_slot_of(ch, seq);
    free(ch->ring);
    ch->ring = ring;
    ch->ring_size = size;
}

/* Frees the oldest message (lock held). */
static void bc_pop_front_locked(bc_channel *ch) {
    bc_slot *slot = bc_slot_of(ch, ch->head);
    if (ch->free_message != NULL)
        ch->free_message(slot->message);
    slot->message = NULL;
    ch->head++;
}

/* Frees every message at the front that no receiver still has to take (lock held). */
static void bc_release_front_locked(bc_channel *ch) {
    while (ch->head != ch->tail && bc_slot_of(ch, ch->head)->remaining == 0)
        bc_pop_front_locked(ch);
}

static void bc_unlink_waiting_locked(bc_channel *ch, broadcast_receiver *receiver) {
    if (receiver->wait_prev != NULL)
        receiver->wait_prev->wait_next = receiver->wait_next;
    else
        ch->waiting = receiver->wait_next;
    if (receiver->wait_next != NULL)
        receiver->wait_next->wait_prev = receiver->wait_prev;
    receiver->wait_prev = receiver->wait_next = NULL;
}

/* Takes receiver's stored waker out (lock held); the caller drops or wakes it after unlocking. */
static rt_waker bc_take_waker_locked(bc_channel *ch, broadcast_receiver *receiver) {
    if (rt_waker_is_none(&receiver->waker))
        return RT_WAKER_NONE;
    bc_unlink_waiting_locked(ch, receiver);
    return rt_waker_take(&receiver->waker);
}

/*
 * Wakes every waiting receiver. Called with the lock held; returns with it
 * released. Wakers are taken out under the lock in batches and woken after
 * unlocking, so a wake that re-enters the channel cannot deadlock, and a
 * receiver dropped meanwhile is never touched.
 */
//@slide broadcast-wake-all
static void bc_wake_all_and_unlock(bc_channel *ch) {
    rt_waker batch[BC_WAKE_BATCH];
    for (;;) {
        size_t n = 0;
        while (ch->waiting != NULL && n < BC_WAKE_BATCH)
            batch[n++] = bc_take_waker_locked(ch, ch->waiting);
        bool more = ch->waiting != NULL;
        pthread_mutex_unlock(&ch->lock);
        for (size_t i = 0; i < n; i++)
            rt_waker_wake(&batch[i]);
        if (!more)
            return;
        pthread_mutex_lock(&ch->lock);
    }
}
//@end

/* Frees the channel once its last handle is gone (no lock: nobody else can reach it). */
static void bc_channel_free(bc_channel *ch) {
    /* With no receiver left every message was released; this is a safety net. */
    while (ch->head != ch->tail)
        bc_pop_front_locked(ch);
    free(ch->ring);
    pthread_mutex_destroy(&ch->lock);
    free(ch);
}

/* A new receiver positioned after every message sent so far (lock held). */
static broadcast_receiver *bc_new_receiver_locked(bc_channel *ch) {
    broadcast_receiver *receiver = bc_alloc(sizeof *receiver);
    receiver->channel = ch;
    receiver->next = ch->tail;
    receiver->waker = RT_WAKER_NONE;
    ch->receivers++;
    ch->handles++;
    return receiver;
}
//# STUB
//> /*
//>  * TODO: define struct broadcast_sender and struct broadcast_receiver here,
//>  * and the shared channel state they both point to. Every function below
//>  * needs them; the README's hints describe one design.
//>  */
//# END SOLUTION

void broadcast_channel(broadcast_free_fn free_message, broadcast_clone_fn clone_message,
                       size_t capacity, broadcast_sender **sender, broadcast_receiver **receiver) {
    //# BEGIN SOLUTION
    if (clone_message == NULL) {
        fprintf(stderr, "broadcast_channel: a clone function is required\n");
        abort();
    }
    bc_channel *ch = bc_alloc(sizeof *ch);
    pthread_mutex_init(&ch->lock, NULL);
    ch->free_message = free_message;
    ch->clone_message = clone_message;
    ch->capacity = capacity;
    ch->ring_size = 16;
    while (ch->ring_size < capacity)
        ch->ring_size *= 2;
    ch->ring = bc_alloc(ch->ring_size * sizeof *ch->ring);
    ch->senders = 1;
    ch->handles = 1;
    *sender = bc_alloc(sizeof **sender);
    (*sender)->channel = ch;
    *receiver = bc_new_receiver_locked(ch); /* nobody else can see ch yet */
    //# STUB
    //> (void)free_message;
    //> (void)clone_message;
    //> (void)capacity;
    //> (void)sender;
    //> (void)receiver;
    //> TODO("make the channel state with one sender and one receiver");
    //# END SOLUTION
}

broadcast_send_result broadcast_send(broadcast_sender *sender, void *message, void **returned,
                                     size_t *reached) {
    //# BEGIN SOLUTION
    bc_channel *ch = sender->channel;
    pthread_mutex_lock(&ch->lock);
    if (ch->receivers == 0) {
        pthread_mutex_unlock(&ch->lock);
        *reached = 0;
        *returned = message;
        return BROADCAST_SEND_NO_RECEIVERS;
    }
    size_t kept = (size_t)(ch->tail - ch->head);
    if (ch->capacity != 0 && kept == ch->capacity)
        bc_pop_front_locked(ch); /* part B: receivers behind it will see LAGGED */
    else if (kept == ch->ring_size)
        bc_grow_locked(ch);
    bc_slot *slot = bc_slot_of(ch, ch->tail);
    slot->message = message;
    slot->remaining = ch->receivers;
    ch->tail++;
    *reached = ch->receivers;
    *returned = NULL;
    bc_wake_all_and_unlock(ch);
    return BROADCAST_SEND_OK;
    //# STUB
    //> (void)sender;
    //> (void)message;
    //> (void)reached;
    //> (void)returned;
    //> TODO("queue the message for every receiver, then wake the pending ones after unlocking");
    //# END SOLUTION
}

broadcast_sender *broadcast_sender_clone(const broadcast_sender *sender) {
    //# BEGIN SOLUTION
    bc_channel *ch = sender->channel;
    broadcast_sender *copy = bc_alloc(sizeof *copy);
    copy->channel = ch;
    pthread_mutex_lock(&ch->lock);
    ch->senders++;
    ch->handles++;
    pthread_mutex_unlock(&ch->lock);
    return copy;
    //# STUB
    //> (void)sender;
    //> TODO("make another sender for the same channel");
    //# END SOLUTION
}

void broadcast_sender_drop(broadcast_sender *sender) {
    //# BEGIN SOLUTION
    bc_channel *ch = sender->channel;
    free(sender);
    pthread_mutex_lock(&ch->lock);
    if (--ch->senders == 0) {
        /* Each receiver must see that it is closed. Waking may unlock and
         * lock again, so this sender keeps its handle until it is done. */
        bc_wake_all_and_unlock(ch);
        pthread_mutex_lock(&ch->lock);
    }
    bool last_handle = --ch->handles == 0;
    pthread_mutex_unlock(&ch->lock);
    if (last_handle)
        bc_channel_free(ch);
    //# STUB
    //> (void)sender;
    //> TODO("drop the sender; the last one wakes every pending receiver");
    //# END SOLUTION
}

broadcast_receiver *broadcast_sender_subscribe(const broadcast_sender *sender) {
    //# BEGIN SOLUTION
    bc_channel *ch = sender->channel;
    pthread_mutex_lock(&ch->lock);
    broadcast_receiver *subscriber = bc_new_receiver_locked(ch);
    pthread_mutex_unlock(&ch->lock);
    return subscriber;
    //# STUB
    //> (void)sender;
    //> TODO("make a receiver that gets only the messages sent from now on");
    //# END SOLUTION
}

broadcast_receiver *broadcast_receiver_subscribe(const broadcast_receiver *receiver) {
    //# BEGIN SOLUTION
    bc_channel *ch = receiver->channel;
    pthread_mutex_lock(&ch->lock);
    broadcast_receiver *subscriber = bc_new_receiver_locked(ch);
    pthread_mutex_unlock(&ch->lock);
    return subscriber;
    //# STUB
    //> (void)receiver;
    //> TODO("make a receiver that gets only the messages sent from now on");
    //# END SOLUTION
}

rt_poll broadcast_receiver_poll_recv(broadcast_receiver *receiver, rt_context *cx, void **message,
                                     broadcast_recv_result *result, uint64_t *missed) {
    //# BEGIN SOLUTION
    bc_channel *ch = receiver->channel;
    pthread_mutex_lock(&ch->lock);
    if (receiver->next < ch->head) {
        /* Part B: the messages it had not taken were dropped for room. */
        if (missed != NULL)
            *missed = ch->head - receiver->next;
        receiver->next = ch->head;
        *result = BROADCAST_RECV_LAGGED;
    } else if (receiver->next != ch->tail) {
        bc_slot *slot = bc_slot_of(ch, receiver->next);
        *message = ch->clone_message(slot->message);
        receiver->next++;
        if (--slot->remaining == 0)
            bc_release_front_locked(ch);
        *result = BROADCAST_RECV_MESSAGE;
    } else if (ch->senders == 0) {
        *result = BROADCAST_RECV_CLOSED;
    } else {
        /* Nothing yet: store this poll's waker, replacing an older one. */
        if (!rt_waker_is_none(&receiver->waker) &&
            rt_waker_will_wake(&receiver->waker, cx->waker)) {
            pthread_mutex_unlock(&ch->lock);
            return RT_PENDING;
        }
        rt_waker old = bc_take_waker_locked(ch, receiver);
        receiver->waker = rt_waker_clone(cx->waker);
        receiver->wait_prev = NULL;
        receiver->wait_next = ch->waiting;
        if (ch->waiting != NULL)
            ch->waiting->wait_prev = receiver;
        ch->waiting = receiver;
        pthread_mutex_unlock(&ch->lock);
        rt_waker_drop(&old);
        return RT_PENDING;
    }
    /* READY: a waker left from an earlier poll is stale now; let it go. */
    rt_waker stale = bc_take_waker_locked(ch, receiver);
    pthread_mutex_unlock(&ch->lock);
    rt_waker_drop(&stale);
    return RT_READY;
    //# STUB
    //> (void)receiver;
    //> (void)cx;
    //> (void)message;
    //> (void)result;
    //> (void)missed;
    //> TODO("hand out a copy of the next message, LAGGED or CLOSED; else store the waker");
    //# END SOLUTION
}

void broadcast_receiver_drop(broadcast_receiver *receiver) {
    //# BEGIN SOLUTION
    bc_channel *ch = receiver->channel;
    pthread_mutex_lock(&ch->lock);
    rt_waker waker = bc_take_waker_locked(ch, receiver);
    uint64_t from = receiver->next > ch->head ? receiver->next : ch->head;
    for (uint64_t seq = from; seq != ch->tail; seq++)
        bc_slot_of(ch, seq)->remaining--;
    bc_release_front_locked(ch);
    ch->receivers--;
    bool last_handle = --ch->handles == 0;
    pthread_mutex_unlock(&ch->lock);
    free(receiver);
    rt_waker_drop(&waker);
    if (last_handle)
        bc_channel_free(ch);
    //# STUB
    //> (void)receiver;
    //> TODO("release this receiver's claim on every message it did not take, then free it");
    //# END SOLUTION
}
