/*
 * mpsc_testing.h - helpers the mpsc tests share (visible and hidden).
 *
 * Messages in the concurrent tests are small integers carried in the
 * pointer itself: producer p sends tag(p, 0), tag(p, 1), ... so the
 * receiver can check that each producer's messages arrive once and in order.
 */
#ifndef MPSC_TESTING_H
#define MPSC_TESTING_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kt_latch.h"
#include "kt_loop.h"
#include "kt_test.h"
#include "kt_waker.h"
#include "mpsc.h"
#include "mpsc_recv_future.h"

/* Message number `seq` of producer `producer`, as a non-NULL pointer. */
static inline void *tag(unsigned producer, unsigned seq) {
    return (void *)(uintptr_t)(((uintptr_t)producer << 24) + seq + 1);
}

static inline unsigned tag_producer(void *msg) {
    return (unsigned)(((uintptr_t)msg - 1) >> 24);
}

static inline unsigned tag_seq(void *msg) {
    return (unsigned)(((uintptr_t)msg - 1) & 0xffffff);
}

/* One poll by hand with `waker` lent for it. */
static inline rt_poll poll_with(mpsc_receiver *receiver, rt_waker *waker, void **msg,
                                mpsc_recv_result *result) {
    rt_context cx = rt_context_from_waker(waker);
    kt_poll_enter("mpsc_receiver_poll_recv");
    return kt_poll_exit(mpsc_receiver_poll_recv(receiver, &cx, msg, result));
}

/*
 * What a receiver saw of `producers` producers sending `per_producer`
 * messages each: next[p] is the sequence number expected next from p.
 * Tallies may be kept on worker threads, where Criterion's assertions must
 * not be used: the first problem is written down and asserted on later.
 */
typedef struct tally {
    unsigned producers, per_producer;
    unsigned next[16];
    unsigned long received;
    int closed;
    char error[200]; /* the first problem seen, or "" */
} tally;

static inline void tally_init(tally *t, unsigned producers, unsigned per_producer) {
    *t = (tally){.producers = producers, .per_producer = per_producer};
}

static inline void tally_add(tally *t, void *msg) {
    if (t->error[0] != '\0')
        return;
    unsigned p = msg == NULL ? 0 : tag_producer(msg), seq = msg == NULL ? 0 : tag_seq(msg);
    if (msg == NULL)
        snprintf(t->error, sizeof t->error, "received a NULL message that nobody sent");
    else if (t->closed)
        snprintf(t->error, sizeof t->error, "received a message after MPSC_RECV_CLOSED");
    else if (p >= t->producers)
        snprintf(t->error, sizeof t->error,
                 "received a message from producer %u, who does not "
                 "exist",
                 p);
    else if (seq != t->next[p])
        snprintf(t->error, sizeof t->error,
                 "producer %u: expected its message %u next, received %u (lost, repeated or out "
                 "of order)",
                 p, t->next[p], seq);
    else {
        t->next[p]++;
        t->received++;
    }
}

/* Asserts (on the test's thread) that every message arrived once, in order, then the end. */
static inline void tally_check_complete(const tally *t) {
    cr_assert(t->error[0] == '\0', "%s", t->error);
    for (unsigned p = 0; p < t->producers; p++)
        cr_assert_eq(t->next[p], t->per_producer, "producer %u: received %u of its %u messages", p,
                     t->next[p], t->per_producer);
    cr_assert(t->closed,
              "the stream did not end with MPSC_RECV_CLOSED after every sender was dropped");
}

/*
 * A receiver as a future: receives until the stream is closed (or, with a
 * limit, until it has taken that many messages), awaiting mpsc_recv futures.
 * Spawn it as a task, or run it on a thread with rt_block_on.
 *
 * It opens two latches, so that tests can force the schedules that reveal
 * the usual bugs instead of waiting for luck:
 *  - `pending_empty` when it first answers PENDING having received nothing:
 *    from then on its waker must be in the channel, so producers that wait
 *    for this latch find a receiver that a send has to wake;
 *  - `pending_all` when it answers PENDING having received every message it
 *    expects: the stream can now only end by the last sender's drop, so a
 *    test that drops its last sender after this latch checks that the drop
 *    wakes the receiver.
 */
typedef struct consumer_task {
    rt_future base;
    rt_async co;
    mpsc_receiver *receiver;
    mpsc_recv_future recv;
    tally *seen;
    unsigned long limit; /* stop after this many messages; 0: at MPSC_RECV_CLOSED */
    kt_latch pending_empty, pending_all;
} consumer_task;

static inline rt_poll consumer_receive(consumer_task *t, rt_context *cx) {
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        if (t->limit != 0 && t->seen->received >= t->limit)
            break;
        mpsc_recv_future_init(&t->recv, t->receiver);
        RT_AWAIT(&t->co, cx, &t->recv.base);
        if (t->recv.result == MPSC_RECV_CLOSED) {
            t->seen->closed = 1;
            break;
        }
        tally_add(t->seen, t->recv.message);
    }
    RT_ASYNC_END(&t->co);
}

//@slide mpsc-consumer-latches
static inline rt_poll consumer_poll(rt_future *self, rt_context *cx) {
    consumer_task *t = (consumer_task *)self;
    rt_poll result = consumer_receive(t, cx);
    if (result == RT_PENDING) {
        if (t->seen->received == 0)
            kt_latch_count(&t->pending_empty);
        if (t->seen->received == (unsigned long)t->seen->producers * t->seen->per_producer)
            kt_latch_count(&t->pending_all);
    }
    return result;
}
//@end

static inline void consumer_init(consumer_task *t, mpsc_receiver *receiver, tally *seen) {
    *t = (consumer_task){.base = {.poll = consumer_poll, .name = "consumer"},
                         .receiver = receiver,
                         .seen = seen,
                         .pending_empty = KT_LATCH_INIT,
                         .pending_all = KT_LATCH_INIT};
}

/* A producer thread: waits for its start latch (if any), sends its messages on its own sender,
 * then drops it. */
typedef struct producer_thread {
    pthread_t thread;
    mpsc_sender *sender;
    kt_latch *start;
    unsigned id, count;
} producer_thread;

static inline void *producer_main(void *arg) {
    producer_thread *p = arg;
    if (p->start != NULL)
        kt_latch_wait(p->start, 1);
    for (unsigned i = 0; i < p->count; i++) {
        void *back;
        mpsc_send_result r = mpsc_send(p->sender, tag(p->id, i), &back);
        if (r != MPSC_SEND_OK) {
            fprintf(stderr, "producer %u: send %u failed though the receiver lives\n", p->id, i);
            abort();
        }
    }
    mpsc_sender_drop(p->sender);
    return NULL;
}

/* Starts `n` producer threads, each on a clone of `sender`, sending `count` messages once `start`
 * opens (at once when it is NULL). */
static inline void producers_start(producer_thread *ps, unsigned n, mpsc_sender *sender,
                                   unsigned count, kt_latch *start) {
    for (unsigned i = 0; i < n; i++) {
        ps[i] = (producer_thread){
            .sender = mpsc_sender_clone(sender), .start = start, .id = i, .count = count};
        if (pthread_create(&ps[i].thread, NULL, producer_main, &ps[i]) != 0)
            cr_assert_fail("could not start producer thread %u", i);
    }
}

static inline void producers_join(producer_thread *ps, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        pthread_join(ps[i].thread, NULL);
}

/* A thread that drops a sender once a latch opens: the last drop, made while the receiver
 * is known to be waiting (for tests whose receiver blocks the test's own thread). */
typedef struct closer_thread {
    pthread_t thread;
    mpsc_sender *sender;
    kt_latch *when;
} closer_thread;

static inline void *closer_main(void *arg) {
    closer_thread *c = arg;
    kt_latch_wait(c->when, 1);
    mpsc_sender_drop(c->sender);
    return NULL;
}

static inline void closer_start(closer_thread *c, mpsc_sender *sender, kt_latch *when) {
    *c = (closer_thread){.sender = sender, .when = when};
    if (pthread_create(&c->thread, NULL, closer_main, c) != 0)
        cr_assert_fail("could not start the closing thread");
}

/*
 * The stress run the visible and hidden tests share, with their own
 * constants: `threads` producer threads send `each` messages apiece to a
 * consumer task on a shaken executor of `workers` workers (schedule seeded
 * by `seed`, or RT_SHAKE). The sends start once the consumer waits on the
 * empty channel, and the last drop comes once it has everything and waits
 * again: both must wake it. Every message must arrive once, in order, then
 * MPSC_RECV_CLOSED.
 */
static inline void stress_threads_to_task(unsigned threads, unsigned each, unsigned workers,
                                          uint64_t seed) {
    enum { MAX_THREADS = sizeof((tally *)0)->next / sizeof((tally *)0)->next[0] };
    cr_assert(threads <= MAX_THREADS, "a tally follows at most %d producers", (int)MAX_THREADS);
    rt_executor *ex = rt_executor_new_config(&(rt_executor_config){
        .workers = workers, .shake = true, .shake_seed = kt_shake_seed(seed)});
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    tally seen;
    tally_init(&seen, threads, each);
    consumer_task consumer;
    consumer_init(&consumer, receiver, &seen);
    rt_join_handle *handle = rt_spawn(ex, &consumer.base, "consumer");
    producer_thread producers[MAX_THREADS];
    producers_start(producers, threads, sender, each, &consumer.pending_empty);
    producers_join(producers, threads);
    kt_latch_wait(&consumer.pending_all, 1);
    rt_executor_wait_idle(ex); /* asleep for sure: a shaken executor re-polls at will */
    mpsc_sender_drop(sender);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    tally_check_complete(&seen);
    mpsc_receiver_drop(receiver);
}

#endif
