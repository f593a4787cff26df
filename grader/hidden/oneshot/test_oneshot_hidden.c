/*
 * test_oneshot_hidden.c - the grader's oneshot tests: misuse and races.
 *
 * The stress tests run two threads over an array of channels, one side of
 * every channel in each thread, so the two sides meet at every offset. What
 * they assert holds in every interleaving: a correct channel passes every
 * run, a broken one fails (or hangs, and the watchdog names the stuck wait).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kt_pool.h"
#include "kt_test.h"
#include "kt_waker.h"
#include "oneshot.h"
#include "oneshot_recv_future.h"

typedef struct {
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    void *msg;
    void *back;
    oneshot_send_result result;
} pair;

static pair *make_pairs(size_t n, kt_pool *pool, oneshot_free_fn destroy) {
    pair *pairs = calloc(n, sizeof *pairs);
    cr_assert_not_null(pairs);
    for (size_t i = 0; i < n; i++) {
        oneshot_channel(destroy, &pairs[i].sender, &pairs[i].receiver);
        if (pool != NULL)
            pairs[i].msg = kt_pool_msg(pool, (int)i);
    }
    return pairs;
}

static void assert_all_freed_once(kt_pool *pool) {
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report),
              "every message should be freed exactly once: %s", report);
}

static void run_two(void *(*a)(void *), void *(*b)(void *), void *arg) {
    pthread_t ta, tb;
    cr_assert_eq(pthread_create(&ta, NULL, a, arg), 0);
    cr_assert_eq(pthread_create(&tb, NULL, b, arg), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
}

typedef struct {
    pair *pairs;
    size_t n;
    bool reverse;           /* send from the last channel down, to meet the other thread midway */
    kt_waker_counts counts; /* shared by every poll of the receiving thread */
    atomic_int problems;
    atomic_int arrived; /* start gate: both threads begin together */
} stress;

/* Waits until the other thread is here too, so that the two really overlap. */
static void start_together(stress *s) {
    atomic_fetch_add(&s->arrived, 1);
    while (atomic_load(&s->arrived) < 2)
        sched_yield();
}

/* ---- send racing receiver drop ---- */

static void *send_all(void *arg) {
    stress *s = arg;
    start_together(s);
    for (size_t k = 0; k < s->n; k++) {
        pair *p = &s->pairs[s->reverse ? s->n - 1 - k : k];
        p->result = oneshot_send(p->sender, p->msg, &p->back);
    }
    return NULL;
}

static void *drop_all_receivers(void *arg) {
    stress *s = arg;
    start_together(s);
    for (size_t i = 0; i < s->n; i++)
        oneshot_receiver_drop(s->pairs[i].receiver);
    return NULL;
}

KT_TEST(oneshot_hidden, stress_send_races_receiver_drop, .timeout = 10,
        .description = "send racing a receiver drop: the message is handed back or freed, exactly "
                       "once") {
    enum { N = 2000 };
    kt_pool *pool = kt_pool_new(N);
    /* The threads walk the array from opposite ends: early channels tend to
     * see the drop first, late ones the send, and those in between race. */
    stress s = {.pairs = make_pairs(N, pool, kt_msg_free), .n = N, .reverse = true};
    run_two(send_all, drop_all_receivers, &s);
    for (size_t i = 0; i < N; i++) {
        pair *p = &s.pairs[i];
        if (p->result == ONESHOT_SEND_RECEIVER_DROPPED) {
            cr_assert_eq(p->back, p->msg, "channel %zu: the refused message should come back", i);
            cr_assert_eq(kt_msg_frees(p->msg), 0,
                         "channel %zu: a message handed back must not also be freed", i);
            kt_msg_free(p->back);
        } else {
            cr_assert_eq(p->result, ONESHOT_SEND_OK, "channel %zu: unknown send result", i);
        }
    }
    assert_all_freed_once(pool);
    free(s.pairs);
    kt_pool_delete(pool);
}

/* ---- send racing a poll from another thread ---- */

static void *poll_all(void *arg) {
    stress *s = arg;
    start_together(s);
    rt_waker waker = kt_waker(&s->counts);
    rt_context cx = rt_context_from_waker(&waker);
    for (size_t i = 0; i < s->n; i++) {
        void *message = NULL;
        oneshot_recv_result result;
        for (;;) {
            int wakes = kt_waker_wakes(&s->counts);
            if (oneshot_receiver_poll_recv(s->pairs[i].receiver, &cx, &message, &result) ==
                RT_READY)
                break;
            /* PENDING: only a wake may justify polling again. If the send
             * lost it, this spins until the watchdog reports the test. */
            while (kt_waker_wakes(&s->counts) == wakes)
                sched_yield();
        }
        if (result != ONESHOT_RECV_MESSAGE || message != s->pairs[i].msg)
            atomic_fetch_add(&s->problems, 1);
        else
            kt_msg_free(message);
        oneshot_receiver_drop(s->pairs[i].receiver);
    }
    return NULL;
}

KT_TEST(oneshot_hidden, stress_send_races_poll, .timeout = 10,
        .description = "send racing a poll on another thread: every PENDING poll is woken, "
                       "every message arrives") {
    enum { N = 2000 };
    kt_pool *pool = kt_pool_new(N);
    stress s = {.pairs = make_pairs(N, pool, kt_msg_free), .n = N};
    run_two(send_all, poll_all, &s);
    cr_assert_eq(atomic_load(&s.problems), 0, "%d receivers got a wrong answer",
                 atomic_load(&s.problems));
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(s.pairs[i].result, ONESHOT_SEND_OK, "channel %zu: the send should succeed", i);
    cr_assert_eq(kt_waker_live(&s.counts), 0, "%d clones of the waker were never dropped",
                 kt_waker_live(&s.counts));
    assert_all_freed_once(pool);
    free(s.pairs);
    kt_pool_delete(pool);
}

/* ---- drop of both sides from different threads ---- */

static void *drop_all_senders(void *arg) {
    stress *s = arg;
    start_together(s);
    for (size_t i = 0; i < s->n; i++)
        oneshot_sender_drop(s->pairs[i].sender);
    return NULL;
}

static void *poll_once_then_drop_receivers(void *arg) {
    stress *s = arg;
    start_together(s);
    rt_waker waker = kt_waker(&s->counts);
    rt_context cx = rt_context_from_waker(&waker);
    for (size_t i = 0; i < s->n; i++) {
        void *message = NULL;
        oneshot_recv_result result = ONESHOT_RECV_CLOSED;
        if (i % 2 == 0 &&
            oneshot_receiver_poll_recv(s->pairs[i].receiver, &cx, &message, &result) == RT_READY &&
            (result != ONESHOT_RECV_CLOSED || message != NULL))
            atomic_fetch_add(&s->problems, 1);
        oneshot_receiver_drop(s->pairs[i].receiver);
    }
    return NULL;
}

KT_TEST(oneshot_hidden, stress_drop_both_sides, .timeout = 10,
        .description = "sender and receiver dropped from two threads at once: no leak, no double "
                       "free, no waker left") {
    enum { N = 3000 };
    stress s = {.pairs = make_pairs(N, NULL, kt_msg_free), .n = N};
    run_two(drop_all_senders, poll_once_then_drop_receivers, &s);
    cr_assert_eq(atomic_load(&s.problems), 0,
                 "%d polls were READY with something other than CLOSED", atomic_load(&s.problems));
    cr_assert_eq(kt_waker_live(&s.counts), 0, "%d stored wakers were never woken or dropped",
                 kt_waker_live(&s.counts));
    free(s.pairs);
}

/* ---- ten thousand channels, each across two threads ---- */

static void *block_on_all(void *arg) {
    stress *s = arg;
    start_together(s);
    for (size_t i = 0; i < s->n; i++) {
        oneshot_recv_future f;
        oneshot_recv_future_init(&f, s->pairs[i].receiver);
        rt_block_on(&f.base);
        if (f.result != ONESHOT_RECV_MESSAGE || f.message != s->pairs[i].msg)
            atomic_fetch_add(&s->problems, 1);
        else
            kt_msg_free(f.message);
        oneshot_receiver_drop(s->pairs[i].receiver);
    }
    return NULL;
}

KT_TEST(oneshot_hidden, stress_ten_thousand_channels, .timeout = 15,
        .description = "10000 channels, each sent on one thread and awaited with block_on on "
                       "another") {
    enum { N = 10000 };
    kt_pool *pool = kt_pool_new(N);
    stress s = {.pairs = make_pairs(N, pool, kt_msg_free), .n = N};
    run_two(send_all, block_on_all, &s);
    cr_assert_eq(atomic_load(&s.problems), 0, "%d receivers got a wrong answer",
                 atomic_load(&s.problems));
    assert_all_freed_once(pool);
    free(s.pairs);
    kt_pool_delete(pool);
}

/* ---- many request/reply pairs as tasks on a shaken executor ---- */

typedef struct {
    rt_future base;
    oneshot_sender *sender;
    void *msg;
    rt_yield_future yield;
    oneshot_send_result result;
} late_sender;

/* Yields once before sending, so the receiver is often PENDING first. */
static rt_poll late_sender_poll(rt_future *self, rt_context *cx) {
    late_sender *t = (late_sender *)self;
    if (rt_future_poll(&t->yield.base, cx) == RT_PENDING)
        return RT_PENDING;
    void *back = NULL;
    t->result = oneshot_send(t->sender, t->msg, &back);
    return RT_READY;
}

KT_TEST(oneshot_hidden, stress_executor_tasks, .timeout = 10,
        .description = "300 receiver tasks and 300 sender tasks on a shaken two-worker executor") {
    enum { N = 300 };
    rt_executor_config config = {.workers = 2, .shake = true, .shake_seed = kt_shake_seed(0x0e5)};
    rt_executor *ex = rt_executor_new_config(&config);
    kt_pool *pool = kt_pool_new(N);
    pair *pairs = make_pairs(N, pool, kt_msg_free);
    oneshot_recv_future *recvs = calloc(N, sizeof *recvs);
    late_sender *senders = calloc(N, sizeof *senders);
    rt_join_handle **handles = calloc(2 * N, sizeof *handles);
    for (size_t i = 0; i < N; i++) {
        oneshot_recv_future_init(&recvs[i], pairs[i].receiver);
        senders[i] = (late_sender){.base = {.poll = late_sender_poll, .name = "late_sender"},
                                   .sender = pairs[i].sender,
                                   .msg = pairs[i].msg};
        rt_yield_future_init(&senders[i].yield);
        handles[2 * i] = rt_spawn(ex, &recvs[i].base, "receiver");
        handles[2 * i + 1] = rt_spawn(ex, &senders[i].base, "sender");
    }
    for (size_t i = 0; i < 2 * N; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(senders[i].result, ONESHOT_SEND_OK);
        cr_assert_eq(recvs[i].result, ONESHOT_RECV_MESSAGE, "receiver %zu got no message", i);
        cr_assert_eq(recvs[i].message, pairs[i].msg, "receiver %zu got another channel's message",
                     i);
        kt_msg_free(recvs[i].message);
        oneshot_receiver_drop(pairs[i].receiver);
    }
    rt_executor_shutdown(ex);
    assert_all_freed_once(pool);
    free(handles);
    free(senders);
    free(recvs);
    free(pairs);
    kt_pool_delete(pool);
}

/* ---- misuse and edge cases ---- */

static rt_poll poll_noop(oneshot_receiver *receiver, void **message, oneshot_recv_result *result) {
    rt_waker waker = rt_waker_noop();
    rt_context cx = rt_context_from_waker(&waker);
    *message = (void *)receiver; /* anything but NULL, to see that it is written */
    return oneshot_receiver_poll_recv(receiver, &cx, message, result);
}

KT_TEST(oneshot_hidden, poll_after_ready_value, .timeout = 2,
        .description = "polling again after READY with the message answers ALREADY_RECEIVED, with "
                       "no message") {
    kt_pool *pool = kt_pool_new(2);
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    oneshot_channel(kt_msg_free, &sender, &receiver);
    void *msg = kt_pool_msg(pool, 1), *back, *message;
    oneshot_recv_result result;
    cr_assert_eq(oneshot_send(sender, msg, &back), ONESHOT_SEND_OK);
    cr_assert_eq(poll_noop(receiver, &message, &result), RT_READY);
    cr_assert_eq(message, msg);

    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    rt_context cx = rt_context_from_waker(&waker);
    for (int again = 0; again < 2; again++) {
        void *more = msg;
        cr_assert_eq(oneshot_receiver_poll_recv(receiver, &cx, &more, &result), RT_READY,
                     "a poll after READY should still be READY, never PENDING");
        cr_assert_eq(result, ONESHOT_RECV_ALREADY_RECEIVED,
                     "a poll after READY should answer ONESHOT_RECV_ALREADY_RECEIVED");
        cr_assert_null(more, "a poll after READY must not hand out the message a second time");
    }
    cr_assert_eq(kt_waker_live(&counts), 0, "a poll after READY should not store a waker");
    oneshot_receiver_drop(receiver);
    cr_assert_eq(kt_msg_frees(msg), 0, "the received message is the caller's, not freed on drop");
    kt_msg_free(message);
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(oneshot_hidden, poll_after_ready_sender_dropped, .timeout = 2,
        .description = "polling again after READY with CLOSED answers ALREADY_RECEIVED") {
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    oneshot_channel(NULL, &sender, &receiver);
    oneshot_sender_drop(sender);
    void *message;
    oneshot_recv_result result;
    cr_assert_eq(poll_noop(receiver, &message, &result), RT_READY);
    cr_assert_eq(result, ONESHOT_RECV_CLOSED);
    cr_assert_eq(poll_noop(receiver, &message, &result), RT_READY);
    cr_assert_eq(result, ONESHOT_RECV_ALREADY_RECEIVED,
                 "a poll after the READY that said CLOSED must answer ALREADY_RECEIVED");
    cr_assert_null(message);
    oneshot_receiver_drop(receiver);
}

KT_TEST(
    oneshot_hidden, null_value_is_a_value, .timeout = 2,
    .description = "NULL can be sent: the receiver gets READY with a NULL message, not PENDING") {
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    oneshot_channel(NULL, &sender, &receiver);
    void *back, *message;
    oneshot_recv_result result;
    cr_assert_eq(poll_noop(receiver, &message, &result), RT_PENDING);
    cr_assert_eq(oneshot_send(sender, NULL, &back), ONESHOT_SEND_OK);
    cr_assert_eq(poll_noop(receiver, &message, &result), RT_READY);
    cr_assert_eq(result, ONESHOT_RECV_MESSAGE, "a sent NULL is a message, not a dropped sender");
    cr_assert_null(message);
    oneshot_receiver_drop(receiver);
}

KT_TEST(oneshot_hidden, sent_sender_is_not_dropped, .timeout = 2,
        .description = "a sender used up by send is not marked dropped: the message is received") {
    kt_pool *pool = kt_pool_new(2);
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    oneshot_channel(kt_msg_free, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    rt_context cx = rt_context_from_waker(&waker);
    void *message = NULL, *back;
    oneshot_recv_result result;
    cr_assert_eq(oneshot_receiver_poll_recv(receiver, &cx, &message, &result), RT_PENDING);
    void *msg = kt_pool_msg(pool, 8);
    cr_assert_eq(oneshot_send(sender, msg, &back), ONESHOT_SEND_OK);
    cr_assert_eq(kt_waker_wakes(&counts), 1, "one send, one wake");
    cr_assert_eq(oneshot_receiver_poll_recv(receiver, &cx, &message, &result), RT_READY);
    cr_assert_eq(result, ONESHOT_RECV_MESSAGE,
                 "the receiver should get the message; was the consumed sender marked dropped?");
    cr_assert_eq(message, msg);
    oneshot_receiver_drop(receiver);
    kt_msg_free(message);
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(oneshot_hidden, receiver_drop_after_sender_drop_with_waker, .timeout = 2,
        .description = "sender dropped while pending, receiver dropped unpolled: the waker is "
                       "woken once, none left") {
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    oneshot_channel(kt_msg_free, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    rt_context cx = rt_context_from_waker(&waker);
    void *message;
    oneshot_recv_result result;
    cr_assert_eq(oneshot_receiver_poll_recv(receiver, &cx, &message, &result), RT_PENDING);
    oneshot_sender_drop(sender);
    oneshot_receiver_drop(receiver);
    cr_assert_eq(kt_waker_wakes(&counts), 1);
    cr_assert_eq(kt_waker_live(&counts), 0, "no clone of the waker should be left");
}
