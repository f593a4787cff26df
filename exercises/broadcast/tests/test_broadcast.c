/*
 * test_broadcast.c - the visible tests of the broadcast exercise.
 *
 * Most tests poll receivers by hand with a counting waker, so that what a
 * receive does with its waker is seen exactly. Messages come from a
 * kt_pool: they count their clones and frees, so a message freed twice,
 * freed too early or never freed is a plain failure.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "broadcast.h"
#include "broadcast_recv_future.h"
#include "kt_loop.h"
#include "kt_pool.h"
#include "kt_test.h"
#include "kt_waker.h"

/* Polls receiver once with the counting waker of *counts. */
static rt_poll poll_with(broadcast_receiver *receiver, kt_waker_counts *counts, void **message,
                         broadcast_recv_result *result, uint64_t *missed) {
    rt_waker waker = kt_waker(counts);
    rt_context cx = rt_context_from_waker(&waker);
    kt_poll_enter("broadcast_receiver_poll_recv");
    return kt_poll_exit(broadcast_receiver_poll_recv(receiver, &cx, message, result, missed));
}

/* Asserts that the next receive is READY with a message carrying `value`; frees that copy. */
static void expect_value(broadcast_receiver *receiver, int value, const char *who) {
    kt_waker_counts counts = {0};
    void *message = NULL;
    broadcast_recv_result result = BROADCAST_RECV_CLOSED;
    rt_poll poll = poll_with(receiver, &counts, &message, &result, NULL);
    cr_assert_eq(poll, RT_READY, "%s: expected message %d, but the receive was PENDING", who,
                 value);
    cr_assert_eq(result, BROADCAST_RECV_MESSAGE, "%s: expected message %d, got result %d", who,
                 value, (int)result);
    cr_assert_not_null(message, "%s: READY with a message, but the message is NULL", who);
    cr_assert_eq(kt_msg_value(message), value, "%s: expected message %d, got %d (wrong order?)",
                 who, value, kt_msg_value(message));
    kt_msg_free(message);
}

/* Asserts that the next receive is PENDING and stored one waker. */
static void expect_pending(broadcast_receiver *receiver, kt_waker_counts *counts, const char *who) {
    void *message = NULL;
    broadcast_recv_result result = BROADCAST_RECV_MESSAGE;
    rt_poll poll = poll_with(receiver, counts, &message, &result, NULL);
    cr_assert_eq(poll, RT_PENDING, "%s: expected PENDING (nothing new was sent), got READY (%d)",
                 who, (int)result);
    cr_assert_eq(kt_waker_live(counts), 1,
                 "%s: a PENDING receive must store exactly one clone of the waker (%d live)", who,
                 kt_waker_live(counts));
}

static void expect_closed(broadcast_receiver *receiver, const char *who) {
    kt_waker_counts counts = {0};
    void *message = NULL;
    broadcast_recv_result result = BROADCAST_RECV_MESSAGE;
    rt_poll poll = poll_with(receiver, &counts, &message, &result, NULL);
    cr_assert_eq(poll, RT_READY,
                 "%s: every sender is gone: expected READY with CLOSED, got PENDING", who);
    cr_assert_eq(result, BROADCAST_RECV_CLOSED, "%s: expected CLOSED, got result %d", who,
                 (int)result);
}

static void send_value(broadcast_sender *sender, kt_pool *pool, int value, size_t receivers) {
    size_t reached = 99;
    void *back = (void *)1;
    broadcast_send_result st = broadcast_send(sender, kt_pool_msg(pool, value), &back, &reached);
    cr_assert_eq(st, BROADCAST_SEND_OK, "send of %d failed although %zu receivers exist", value,
                 receivers);
    cr_assert_eq(reached, receivers, "send of %d reported %zu receivers reached, expected %zu",
                 value, reached, receivers);
    cr_assert_null(back, "a successful send must set *returned to NULL");
}

static void expect_all_freed_once(kt_pool *pool) {
    char report[512];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report),
              "every message and every copy must be freed exactly once: %s", report);
}

KT_TEST(broadcast, all_receivers_get_all_in_order, .timeout = 2,
        .description = "one sender, three receivers: each gets all 50 messages, in order") {
    kt_pool *pool = kt_pool_new(400);
    broadcast_sender *sender;
    broadcast_receiver *receiver[3];
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver[0]);
    receiver[1] = broadcast_sender_subscribe(sender);
    receiver[2] = broadcast_receiver_subscribe(receiver[0]);
    for (int i = 0; i < 50; i++)
        send_value(sender, pool, i, 3);
    const char *names[3] = {"receiver 0", "receiver 1", "receiver 2"};
    for (int r = 2; r >= 0; r--)
        for (int i = 0; i < 50; i++)
            expect_value(receiver[r], i, names[r]);
    for (int r = 0; r < 3; r++) {
        kt_waker_counts counts = {0};
        expect_pending(receiver[r], &counts, names[r]);
        broadcast_receiver_drop(receiver[r]);
        cr_assert_eq(kt_waker_live(&counts), 0, "dropping a receiver must drop its stored waker");
    }
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, late_subscriber_sees_only_later_messages, .timeout = 2,
        .description = "a receiver subscribed after 5 sends gets only the messages sent after it") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *early;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &early);
    for (int i = 0; i < 5; i++)
        send_value(sender, pool, i, 1);
    broadcast_receiver *late = broadcast_sender_subscribe(sender);
    broadcast_receiver *later = broadcast_receiver_subscribe(early); /* early has a backlog */
    kt_waker_counts counts = {0};
    expect_pending(late, &counts, "late subscriber (before any new send)");
    kt_waker_counts counts2 = {0};
    expect_pending(later, &counts2, "subscriber made from a receiver with a backlog");
    for (int i = 5; i < 10; i++)
        send_value(sender, pool, i, 3);
    for (int i = 5; i < 10; i++) {
        expect_value(late, i, "late subscriber");
        expect_value(later, i, "subscriber made from a receiver");
    }
    for (int i = 0; i < 10; i++)
        expect_value(early, i, "early receiver");
    broadcast_sender_drop(sender);
    expect_closed(late, "late subscriber");
    broadcast_receiver_drop(late);
    broadcast_receiver_drop(later);
    broadcast_receiver_drop(early);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, dropped_receiver_releases_its_messages, .timeout = 2,
        .description = "messages are freed once the last receiver took them or was dropped, not "
                       "before") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *fast;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &fast);
    broadcast_receiver *slow = broadcast_sender_subscribe(sender);
    void *originals[10];
    for (int i = 0; i < 10; i++) {
        originals[i] = kt_pool_msg(pool, i);
        size_t reached;
        void *back;
        cr_assert_eq(broadcast_send(sender, originals[i], &back, &reached), BROADCAST_SEND_OK);
    }
    for (int i = 0; i < 10; i++)
        expect_value(fast, i, "fast receiver");
    for (int i = 0; i < 3; i++)
        expect_value(slow, i, "slow receiver");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(kt_msg_frees(originals[i]), 1,
                     "message %d was taken by every receiver: the channel must free it once "
                     "(freed %d times)",
                     i, kt_msg_frees(originals[i]));
    for (int i = 3; i < 10; i++)
        cr_assert_eq(kt_msg_frees(originals[i]), 0,
                     "message %d was freed although the slow receiver has not taken it yet", i);
    broadcast_receiver_drop(slow);
    for (int i = 3; i < 10; i++)
        cr_assert_eq(kt_msg_frees(originals[i]), 1,
                     "message %d: once the only receiver still owing it is dropped it must be "
                     "freed once (freed %d times)",
                     i, kt_msg_frees(originals[i]));
    broadcast_receiver_drop(fast);
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, last_sender_drop_ends_receivers_after_backlog, .timeout = 2,
        .description = "when the last sender is dropped, each receiver gets its backlog, then "
                       "CLOSED") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *a;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &a);
    broadcast_receiver *b = broadcast_sender_subscribe(sender);
    broadcast_sender *tx2 = broadcast_sender_clone(sender);
    send_value(sender, pool, 1, 2);
    send_value(tx2, pool, 2, 2);
    expect_value(b, 1, "receiver b");
    expect_value(b, 2, "receiver b");
    kt_waker_counts waiting = {0};
    expect_pending(b, &waiting, "receiver b");
    broadcast_sender_drop(sender);
    cr_assert_eq(kt_waker_wakes(&waiting), 0, "one sender is still alive: nothing to wake for");
    expect_pending(b, &waiting, "receiver b (a sender is still alive)");
    send_value(tx2, pool, 3, 2);
    broadcast_sender_drop(tx2);
    expect_value(a, 1, "receiver a (backlog after the last sender was dropped)");
    expect_value(a, 2, "receiver a (backlog after the last sender was dropped)");
    expect_value(a, 3, "receiver a (backlog after the last sender was dropped)");
    expect_closed(a, "receiver a");
    expect_closed(a, "receiver a, polled again");
    expect_value(b, 3, "receiver b");
    expect_closed(b, "receiver b");
    broadcast_receiver_drop(a);
    broadcast_receiver_drop(b);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, last_sender_drop_wakes_pending_receivers, .timeout = 2,
        .description = "dropping the last sender wakes every pending receiver") {
    broadcast_sender *sender;
    broadcast_receiver *receiver[3];
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver[0]);
    receiver[1] = broadcast_sender_subscribe(sender);
    receiver[2] = broadcast_sender_subscribe(sender);
    kt_waker_counts counts[3] = {0};
    for (int r = 0; r < 3; r++)
        expect_pending(receiver[r], &counts[r], "receiver");
    broadcast_sender_drop(sender);
    for (int r = 0; r < 3; r++) {
        cr_assert_eq(kt_waker_wakes(&counts[r]), 1,
                     "receiver %d was pending when the last sender was dropped: it must be woken "
                     "once (woken %d times)",
                     r, kt_waker_wakes(&counts[r]));
        cr_assert_eq(kt_waker_live(&counts[r]), 0, "the woken waker must be consumed");
        expect_closed(receiver[r], "receiver");
        broadcast_receiver_drop(receiver[r]);
    }
}

KT_TEST(broadcast, send_without_receivers_hands_message_back, .timeout = 2,
        .description = "a send with no receiver fails and hands the message back unfreed") {
    kt_pool *pool = kt_pool_new(10);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    broadcast_receiver_drop(receiver);
    void *message = kt_pool_msg(pool, 7);
    size_t reached = 99;
    void *back = NULL;
    cr_assert_eq(broadcast_send(sender, message, &back, &reached), BROADCAST_SEND_NO_RECEIVERS,
                 "with every receiver dropped, send must report BROADCAST_SEND_NO_RECEIVERS");
    cr_assert_eq(back, message, "the failed send must hand the message back in *returned");
    cr_assert_eq(reached, 0, "no receiver was reached, but *reached is %zu", reached);
    cr_assert_eq(kt_msg_frees(message), 0, "a message handed back must not be freed");
    cr_assert_eq(kt_pool_clones(pool), 0, "a message handed back must not be cloned");
    /* A new subscriber makes sending possible again. */
    broadcast_receiver *again = broadcast_sender_subscribe(sender);
    send_value(sender, pool, 7, 1);
    expect_value(again, 7, "new subscriber");
    kt_msg_free(message);
    broadcast_receiver_drop(again);
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, send_wakes_every_pending_receiver, .timeout = 2,
        .description = "one send wakes each of forty pending receivers exactly once") {
    /* Forty: more than a small fixed array of wakers holds, so a send that
     * wakes only as many as fit in one is seen. */
    enum { N = 40 };
    kt_pool *pool = kt_pool_new(2 + 2 * N); /* two messages and a copy for each receiver */
    broadcast_sender *sender;
    broadcast_receiver *receiver[N];
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver[0]);
    for (int r = 1; r < N; r++)
        receiver[r] = broadcast_sender_subscribe(sender);
    kt_waker_counts counts[N] = {0};
    for (int r = 0; r < N; r++)
        expect_pending(receiver[r], &counts[r], "receiver");
    send_value(sender, pool, 5, N);
    for (int r = 0; r < N; r++) {
        cr_assert_eq(kt_waker_wakes(&counts[r]), 1,
                     "receiver %d of %d was pending: the send must wake it once (woken %d times)",
                     r, N, kt_waker_wakes(&counts[r]));
        cr_assert_eq(kt_waker_live(&counts[r]), 0, "receiver %d: its waker was not consumed", r);
    }
    /* Their wakers were used up: a second send has nobody left to wake. */
    send_value(sender, pool, 6, N);
    for (int r = 0; r < N; r++)
        cr_assert_eq(kt_waker_wakes(&counts[r]), 1,
                     "receiver %d was woken again by a send although it was not polled since", r);
    for (int r = 0; r < N; r++) {
        expect_value(receiver[r], 5, "receiver");
        expect_value(receiver[r], 6, "receiver");
        broadcast_receiver_drop(receiver[r]);
    }
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, poll_replaces_stored_waker, .timeout = 2,
        .description = "each PENDING poll replaces the stored waker; the send wakes only the "
                       "newest") {
    kt_pool *pool = kt_pool_new(10);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    kt_waker_counts first = {0}, second = {0};
    expect_pending(receiver, &first, "first poll");
    expect_pending(receiver, &second, "second poll, from another task");
    cr_assert_eq(kt_waker_live(&first), 0,
                 "the second poll came with another waker: the first one must be dropped");
    expect_pending(receiver, &second, "third poll, same task");
    send_value(sender, pool, 1, 1);
    cr_assert_eq(kt_waker_wakes(&first), 0, "the replaced (stale) waker must not be woken");
    cr_assert_eq(kt_waker_wakes(&second), 1, "the newest waker must be woken once");
    cr_assert_eq(kt_waker_live(&second), 0);
    expect_value(receiver, 1, "receiver");
    broadcast_receiver_drop(receiver);
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, clone_once_per_receiver_per_message, .timeout = 2,
        .description = "each receiver gets its own copy: clone runs once per receiver per "
                       "message") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *receiver[3];
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver[0]);
    receiver[1] = broadcast_sender_subscribe(sender);
    receiver[2] = broadcast_sender_subscribe(sender);
    void *originals[10];
    for (int i = 0; i < 10; i++) {
        originals[i] = kt_pool_msg(pool, i);
        size_t reached;
        void *back;
        cr_assert_eq(broadcast_send(sender, originals[i], &back, &reached), BROADCAST_SEND_OK);
    }
    for (int i = 0; i < 5; i++) {
        void *got[3];
        for (int r = 0; r < 3; r++) {
            kt_waker_counts counts = {0};
            broadcast_recv_result result;
            cr_assert_eq(poll_with(receiver[r], &counts, &got[r], &result, NULL), RT_READY);
            cr_assert_eq(result, BROADCAST_RECV_MESSAGE);
            cr_assert_eq(kt_msg_value(got[r]), i);
            cr_assert_neq(got[r], originals[i],
                          "receiver %d got the sent message itself: each receiver must get a copy "
                          "made with the clone function",
                          r);
            for (int q = 0; q < r; q++)
                cr_assert_neq(got[r], got[q],
                              "receivers %d and %d got the same pointer for message %d: each "
                              "must get its own clone",
                              q, r, i);
        }
        for (int r = 0; r < 3; r++)
            kt_msg_free(got[r]);
    }
    cr_assert_eq(kt_pool_clones(pool), 15,
                 "3 receivers took 5 messages: expected 15 clones, the clone function ran %zu "
                 "times",
                 kt_pool_clones(pool));
    /* Receiver 2 leaves with 5 messages untaken: nothing is cloned for it. */
    broadcast_receiver_drop(receiver[2]);
    for (int i = 5; i < 10; i++) {
        expect_value(receiver[0], i, "receiver 0");
        expect_value(receiver[1], i, "receiver 1");
    }
    cr_assert_eq(kt_pool_clones(pool), 3 * 5 + 2 * 5,
                 "expected 25 clones (3 receivers x 5 messages, then 2 x 5), the clone function "
                 "ran %zu times",
                 kt_pool_clones(pool));
    broadcast_receiver_drop(receiver[0]);
    broadcast_receiver_drop(receiver[1]);
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* A waker that uses the channel when woken: it deadlocks if woken under the channel's lock. */
typedef struct {
    broadcast_sender *sender;
    atomic_int wakes;
} reentering_waker;

static void reentering_wake_by_ref(void *data) {
    reentering_waker *w = data;
    atomic_fetch_add(&w->wakes, 1);
    broadcast_receiver_drop(broadcast_sender_subscribe(w->sender));
}
static void reentering_noop(void *data) {
    (void)data;
}
static const rt_waker_vtable reentering_vtable;
static rt_waker reentering_clone(void *data) {
    return (rt_waker){data, &reentering_vtable};
}
static const rt_waker_vtable reentering_vtable = {reentering_clone, reentering_wake_by_ref,
                                                  reentering_wake_by_ref, reentering_noop};

KT_TEST(broadcast, send_wakes_after_unlocking, .timeout = 2,
        .description = "a send wakes receivers after releasing the lock (a waker that uses the "
                       "channel must not deadlock)") {
    kt_pool *pool = kt_pool_new(10);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    reentering_waker w = {.sender = sender};
    rt_waker waker = {&w, &reentering_vtable};
    rt_context cx = rt_context_from_waker(&waker);
    void *message;
    broadcast_recv_result result;
    cr_assert_eq(broadcast_receiver_poll_recv(receiver, &cx, &message, &result, NULL), RT_PENDING);
    send_value(sender, pool, 1, 1); /* hangs here if the wake runs under the lock */
    cr_assert_eq(atomic_load(&w.wakes), 1, "the pending receiver must be woken once");
    expect_value(receiver, 1, "receiver");
    broadcast_receiver_drop(receiver);
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- across threads: each thread blocks in broadcast_recv_blocking ---- */

enum { THREADS = 4, ROUNDS = 20 };

typedef struct {
    broadcast_receiver *receiver;
    atomic_int *pending; /* threads whose last receive returned PENDING */
    int got[ROUNDS];
    int count;
    bool closed;
} recv_thread;

/* A receive future that counts, for the test, when it is parked. */
typedef struct {
    rt_future base;
    recv_thread *owner;
    broadcast_recv_result result;
    void *message;
} counted_recv;

static rt_poll counted_recv_poll(rt_future *self, rt_context *cx) {
    counted_recv *f = (counted_recv *)self;
    rt_poll poll =
        broadcast_receiver_poll_recv(f->owner->receiver, cx, &f->message, &f->result, NULL);
    if (poll == RT_PENDING)
        atomic_fetch_add(f->owner->pending, 1);
    return poll;
}

static void *recv_thread_main(void *arg) {
    recv_thread *t = arg;
    for (;;) {
        counted_recv f = {.base = {.poll = counted_recv_poll, .name = "broadcast_recv"},
                          .owner = t};
        rt_block_on(&f.base);
        if (f.result != BROADCAST_RECV_MESSAGE) {
            t->closed = f.result == BROADCAST_RECV_CLOSED;
            return NULL;
        }
        if (t->count < ROUNDS)
            t->got[t->count] = kt_msg_value(f.message);
        t->count++;
        kt_msg_free(f.message);
    }
}

KT_TEST(broadcast, send_wakes_pending_receivers_across_threads, .timeout = 5,
        .description = "four threads blocked in a receive are all woken by each send, then "
                       "closed") {
    kt_pool *pool = kt_pool_new(200);
    broadcast_sender *sender;
    broadcast_receiver *first;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &first);
    atomic_int pending = 0;
    recv_thread threads[THREADS] = {0};
    pthread_t ids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        threads[i].receiver = i == 0 ? first : broadcast_sender_subscribe(sender);
        threads[i].pending = &pending;
    }
    for (int i = 0; i < THREADS; i++)
        pthread_create(&ids[i], NULL, recv_thread_main, &threads[i]);
    for (int round = 0; round < ROUNDS; round++) {
        /* Send only once every thread is parked, so that each must be woken. */
        while (atomic_load(&pending) < THREADS * (round + 1))
            sched_yield();
        send_value(sender, pool, round, THREADS);
    }
    while (atomic_load(&pending) < THREADS * (ROUNDS + 1))
        sched_yield();
    broadcast_sender_drop(sender);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ids[i], NULL);
        cr_assert_eq(threads[i].count, ROUNDS, "thread %d received %d messages, expected %d", i,
                     threads[i].count, ROUNDS);
        for (int round = 0; round < ROUNDS; round++)
            cr_assert_eq(threads[i].got[round], round, "thread %d: message %d out of order", i,
                         round);
        cr_assert(threads[i].closed, "thread %d did not end with CLOSED", i);
        broadcast_receiver_drop(threads[i].receiver);
    }
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, cloned_sender_keeps_channel_open, .timeout = 2,
        .description = "a cloned sender is a handle of its own: with the original and every "
                       "receiver dropped, the channel lives on until the clone is dropped too") {
    kt_pool *pool = kt_pool_new(10);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    broadcast_sender *clone = broadcast_sender_clone(sender);
    broadcast_sender_drop(sender);
    send_value(clone, pool, 1, 1);
    expect_value(receiver, 1, "receiver of the clone");
    kt_waker_counts counts = {0};
    expect_pending(receiver, &counts, "receiver while the clone is alive");
    /* The receiver goes first: the clone is then the channel's last handle. */
    broadcast_receiver_drop(receiver);
    void *message = kt_pool_msg(pool, 2), *back = NULL;
    size_t reached = 99;
    cr_assert_eq(broadcast_send(clone, message, &back, &reached), BROADCAST_SEND_NO_RECEIVERS,
                 "the clone outlived every receiver: its send must answer NO_RECEIVERS");
    cr_assert_eq(back, message, "a send without receivers must hand its message back");
    kt_msg_free(back);
    /* The clone still reaches the channel: a receiver subscribed through it works. */
    broadcast_receiver *late = broadcast_sender_subscribe(clone);
    send_value(clone, pool, 3, 1);
    expect_value(late, 3, "receiver subscribed through the clone");
    broadcast_receiver_drop(late);
    broadcast_sender_drop(clone); /* the last handle: frees the channel, once */
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, backlog_grows_past_wrap_in_order, .timeout = 2,
        .description = "an unbounded channel whose backlog grows after earlier messages were "
                       "taken keeps every message, in order") {
    kt_pool *pool = kt_pool_new(160);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    /* Taken at once: the oldest message kept is then not the first ever sent,
     * so a store of messages that wraps around must grow with it wrapped. */
    for (int i = 0; i < 10; i++) {
        send_value(sender, pool, i, 1);
        expect_value(receiver, i, "receiver keeping up");
    }
    for (int i = 10; i < 80; i++)
        send_value(sender, pool, i, 1);
    for (int i = 10; i < 80; i++)
        expect_value(receiver, i, "receiver of a backlog of 70");
    broadcast_sender_drop(sender);
    expect_closed(receiver, "receiver");
    broadcast_receiver_drop(receiver);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* A clone function for messages that need no copy: the test keeps them. */
static void *same_message(const void *message) {
    return (void *)message;
}

KT_TEST(broadcast, no_free_function_forgets_messages, .timeout = 2,
        .description = "with free_message NULL the channel just forgets the messages it "
                       "releases, taken or left behind (broadcast.h), without calling NULL") {
    static int values[6];
    broadcast_sender *sender;
    broadcast_receiver *first;
    broadcast_channel(NULL, same_message, 0, &sender, &first);
    broadcast_receiver *second = broadcast_sender_subscribe(sender);
    for (int i = 0; i < 6; i++) {
        void *back = NULL;
        size_t reached = 0;
        cr_assert_eq(broadcast_send(sender, &values[i], &back, &reached), BROADCAST_SEND_OK);
    }
    /* first takes all six, second four: those four are released as taken,
     * the last two when second is dropped with them still ahead of it. */
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < (r == 0 ? 6 : 4); i++) {
            void *message = NULL;
            broadcast_recv_result result = BROADCAST_RECV_CLOSED;
            kt_waker_counts counts = {0};
            cr_assert_eq(poll_with(r == 0 ? first : second, &counts, &message, &result, NULL),
                         RT_READY, "receiver %d: message %d was sent but the receive was PENDING",
                         r, i);
            cr_assert_eq(result, BROADCAST_RECV_MESSAGE);
            cr_assert_eq(message, &values[i], "receiver %d: message %d arrived out of order", r, i);
        }
    broadcast_receiver_drop(second);
    broadcast_sender_drop(sender);
    expect_closed(first, "receiver of a channel without free_message");
    broadcast_receiver_drop(first);
}

KT_TEST(broadcast, lagged_receiver_dropped_before_polling, .timeout = 2,
        .description = "bonus: a receiver that fell behind and is dropped without polling "
                       "releases only the messages still kept, not slots reused since") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *a;
    broadcast_channel(kt_msg_free, kt_msg_clone, 3, &sender, &a);
    broadcast_receiver *b = broadcast_sender_subscribe(sender);
    broadcast_receiver *slow = broadcast_sender_subscribe(sender);
    /* a and b keep up with the first 17, slow takes nothing: it lags far
     * behind, and the messages kept sit in slots used before. */
    for (int i = 0; i < 20; i++) {
        send_value(sender, pool, i, 3);
        if (i < 17) {
            expect_value(a, i, "receiver a");
            expect_value(b, i, "receiver b");
        }
    }
    broadcast_receiver_drop(slow);
    for (int i = 17; i < 20; i++)
        expect_value(a, i, "receiver a after the lagged receiver was dropped");
    for (int i = 17; i < 20; i++)
        expect_value(b, i, "receiver b after the lagged receiver was dropped");
    broadcast_sender_drop(sender);
    broadcast_receiver_drop(a);
    broadcast_receiver_drop(b);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, recv_future_and_blocking_receive, .timeout = 2,
        .description = "the kit's blocking receive gets a message, then CLOSED") {
    kt_pool *pool = kt_pool_new(10);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    send_value(sender, pool, 42, 1);
    void *message = NULL;
    cr_assert_eq(broadcast_recv_blocking(receiver, &message, NULL), BROADCAST_RECV_MESSAGE);
    cr_assert_eq(kt_msg_value(message), 42);
    kt_msg_free(message);
    broadcast_sender_drop(sender);
    cr_assert_eq(broadcast_recv_blocking(receiver, &message, NULL), BROADCAST_RECV_CLOSED);
    broadcast_receiver_drop(receiver);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- part B (bonus): a capacity, and LAGGED for receivers that fall behind ---- */

static void expect_lagged(broadcast_receiver *receiver, uint64_t missed, const char *who) {
    kt_waker_counts counts = {0};
    void *message = NULL;
    broadcast_recv_result result = BROADCAST_RECV_MESSAGE;
    uint64_t got = 0;
    rt_poll poll = poll_with(receiver, &counts, &message, &result, &got);
    cr_assert_eq(poll, RT_READY, "%s: fell behind: expected READY with LAGGED, got PENDING", who);
    cr_assert_eq(result, BROADCAST_RECV_LAGGED, "%s: fell behind: expected LAGGED, got result %d",
                 who, (int)result);
    cr_assert_eq(got, missed, "%s: LAGGED must say %llu messages were missed, said %llu", who,
                 (unsigned long long)missed, (unsigned long long)got);
}

KT_TEST(broadcast, lag_reports_missed_count, .timeout = 2,
        .description = "bonus: capacity 4, 10 sends: a slow receiver gets LAGGED 6, then the "
                       "last 4") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *slow;
    broadcast_channel(kt_msg_free, kt_msg_clone, 4, &sender, &slow);
    void *originals[10];
    for (int i = 0; i < 10; i++) {
        originals[i] = kt_pool_msg(pool, i);
        size_t reached;
        void *back;
        cr_assert_eq(broadcast_send(sender, originals[i], &back, &reached), BROADCAST_SEND_OK,
                     "a full channel drops its oldest message; the send itself succeeds");
    }
    for (int i = 0; i < 6; i++)
        cr_assert_eq(kt_msg_frees(originals[i]), 1,
                     "message %d fell out of a channel of capacity 4: it must be freed once", i);
    for (int i = 6; i < 10; i++)
        cr_assert_eq(kt_msg_frees(originals[i]), 0, "message %d is still kept", i);
    expect_lagged(slow, 6, "slow receiver");
    for (int i = 6; i < 10; i++)
        expect_value(slow, i, "slow receiver after LAGGED");
    kt_waker_counts counts = {0};
    expect_pending(slow, &counts, "slow receiver, caught up");
    broadcast_receiver_drop(slow);
    broadcast_sender_drop(sender);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, lag_only_for_receivers_that_fall_behind, .timeout = 2,
        .description = "bonus: a receiver that keeps up never sees LAGGED; a slow one does, "
                       "once") {
    kt_pool *pool = kt_pool_new(200);
    broadcast_sender *sender;
    broadcast_receiver *fast;
    broadcast_channel(kt_msg_free, kt_msg_clone, 3, &sender, &fast);
    broadcast_receiver *slow = broadcast_sender_subscribe(sender);
    for (int i = 0; i < 20; i++) {
        send_value(sender, pool, i, 2);
        expect_value(fast, i, "receiver that keeps up");
    }
    expect_lagged(slow, 17, "slow receiver");
    for (int i = 17; i < 20; i++)
        expect_value(slow, i, "slow receiver after LAGGED");
    broadcast_sender_drop(sender);
    expect_closed(slow, "slow receiver");
    expect_closed(fast, "receiver that keeps up");
    broadcast_receiver_drop(fast);
    broadcast_receiver_drop(slow);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}
