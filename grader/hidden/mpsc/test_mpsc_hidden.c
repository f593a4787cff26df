/*
 * test_mpsc_hidden.c - the grader's tests of the mpsc exercise.
 *
 * Each test aims at one entry of the catalogue of channel bugs: a wake that
 * comes before the state change, a waker woken or dropped under the lock, a
 * replaced waker woken or leaked, the end of the stream not announced,
 * messages freed twice or never, a send racing the receiver's drop, and a
 * long seeded random run checked step by step against a model.
 */
#include <stdatomic.h>

#include "kt_pool.h"
#include "tests/mpsc_testing.h"

/*
 * A probe waker: when woken it polls the receiver at once, from inside the
 * wake, and records what it saw. A channel that wakes before it changes its
 * state shows the probe an old state; one that wakes with its lock held
 * deadlocks (and the watchdog names the test). When dropped it touches the
 * channel through `touch`, so a drop under the lock deadlocks as well.
 */
typedef struct probe {
    mpsc_receiver *receiver;
    mpsc_sender *touch; /* cloned and dropped from inside drop, if set */
    atomic_int clones, wakes, drops;
    rt_poll seen_poll;
    mpsc_recv_result seen_status;
    void *seen_message;
} probe;

static const rt_waker_vtable probe_vtable;

static rt_waker probe_clone(void *data) {
    probe *p = data;
    atomic_fetch_add(&p->clones, 1);
    return (rt_waker){p, &probe_vtable};
}

static void probe_wake_by_ref(void *data) {
    probe *p = data;
    atomic_fetch_add(&p->wakes, 1);
    if (p->receiver != NULL) {
        rt_waker noop = rt_waker_noop();
        p->seen_poll = poll_with(p->receiver, &noop, &p->seen_message, &p->seen_status);
    }
}

static void probe_drop(void *data) {
    probe *p = data;
    atomic_fetch_add(&p->drops, 1);
    if (p->touch != NULL)
        mpsc_sender_drop(mpsc_sender_clone(p->touch));
}

static void probe_wake(void *data) {
    probe *p = data;
    probe_wake_by_ref(p);
    atomic_fetch_add(&p->drops, 1);
}

static const rt_waker_vtable probe_vtable = {probe_clone, probe_wake, probe_wake_by_ref,
                                             probe_drop};

static int probe_live(probe *p) {
    return atomic_load(&p->clones) - atomic_load(&p->drops);
}

KT_TEST(mpsc_hidden, wake_after_message_queued, .timeout = 5,
        .description = "send wakes the receiver only after queueing, and outside the lock: a "
                       "receive from the wake finds the message") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    probe p = {.seen_poll = RT_PENDING};
    rt_waker waker = {&p, &probe_vtable};
    void *msg;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    p.receiver = receiver;
    void *back;
    cr_assert_eq(mpsc_send(sender, tag(0, 5), &back), MPSC_SEND_OK);
    cr_assert_eq(atomic_load(&p.wakes), 1, "the send did not wake the waiting receiver");
    cr_assert(p.seen_poll == RT_READY && p.seen_status == MPSC_RECV_MESSAGE,
              "the receiver was woken before the message was queued: polled from the wake, it "
              "found nothing");
    cr_assert_eq(p.seen_message, tag(0, 5));
    p.receiver = NULL;
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(probe_live(&p), 0, "%d waker clone(s) were never dropped", probe_live(&p));
}

KT_TEST(mpsc_hidden, wake_after_last_sender_gone, .timeout = 5,
        .description = "the last sender's drop wakes the receiver only after counting itself "
                       "out, and outside the lock") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    mpsc_sender *tx2 = mpsc_sender_clone(sender);
    probe p = {.seen_poll = RT_PENDING};
    rt_waker waker = {&p, &probe_vtable};
    void *msg;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    p.receiver = receiver;
    mpsc_sender_drop(sender);
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING,
                 "one sender is still alive: the stream must not be closed yet");
    mpsc_sender_drop(tx2);
    cr_assert_geq(atomic_load(&p.wakes), 1, "dropping the last sender did not wake the receiver");
    cr_assert(p.seen_poll == RT_READY && p.seen_status == MPSC_RECV_CLOSED,
              "the receiver was woken before the last sender was counted out: polled from the "
              "wake, the stream was not closed");
    p.receiver = NULL;
    mpsc_receiver_drop(receiver);
    cr_assert_eq(probe_live(&p), 0, "%d waker clone(s) were never dropped", probe_live(&p));
}

KT_TEST(mpsc_hidden, waker_dropped_outside_lock, .timeout = 5,
        .description = "a replaced waker and the waker left at the receiver's drop are dropped "
                       "outside the lock") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    probe first = {.touch = sender}, last = {.touch = sender};
    rt_waker w1 = {&first, &probe_vtable}, w2 = {&last, &probe_vtable};
    void *msg;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &w1, &msg, &result), RT_PENDING);
    cr_assert_eq(poll_with(receiver, &w2, &msg, &result), RT_PENDING);
    cr_assert_eq(probe_live(&first), 0, "the replaced waker was not dropped");
    cr_assert_eq(atomic_load(&first.wakes), 0, "the replaced waker was woken");
    mpsc_receiver_drop(receiver);
    cr_assert_eq(probe_live(&last), 0, "the receiver's drop did not drop the stored waker");
    mpsc_sender_drop(sender);
}

KT_TEST(mpsc_hidden, same_task_polled_again, .timeout = 5,
        .description = "polling again from the same task keeps exactly one stored waker") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg;
    mpsc_recv_result result;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
        cr_assert_eq(kt_waker_live(&counts), 1,
                     "after %d polls from the same task the channel holds %d wakers (the old "
                     "one must be dropped when replaced)",
                     i + 1, kt_waker_live(&counts));
    }
    void *back;
    cr_assert_eq(mpsc_send(sender, tag(0, 0), &back), MPSC_SEND_OK);
    cr_assert_eq(kt_waker_wakes(&counts), 1, "the send did not wake the task");
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0);
}

KT_TEST(mpsc_hidden, three_tasks_in_turn, .timeout = 5,
        .description = "polled from three tasks in turn, only the last one is woken, and the "
                       "others' wakers are dropped") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_waker_counts c[3] = {{0}, {0}, {0}};
    rt_waker w[3] = {kt_waker(&c[0]), kt_waker(&c[1]), kt_waker(&c[2])};
    void *msg;
    mpsc_recv_result result;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(poll_with(receiver, &w[i], &msg, &result), RT_PENDING);
    mpsc_sender_drop(sender);
    cr_assert_eq(kt_waker_wakes(&c[2]), 1, "the last sender's drop did not wake the newest task");
    cr_assert_eq(kt_waker_wakes(&c[0]) + kt_waker_wakes(&c[1]), 0,
                 "a task whose waker had been replaced was woken");
    cr_assert_eq(kt_waker_live(&c[0]) + kt_waker_live(&c[1]) + kt_waker_live(&c[2]), 0,
                 "waker clones were leaked");
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc_hidden, many_clones_close_at_last, .timeout = 5,
        .description = "with five senders the stream stays open until the fifth drop, which "
                       "wakes the receiver") {
    mpsc_sender *sender[5];
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender[0], &receiver);
    for (int i = 1; i < 5; i++)
        sender[i] = mpsc_sender_clone(sender[i - 1]);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg;
    mpsc_recv_result result;
    int order[5] = {2, 0, 4, 1, 3};
    for (int i = 0; i < 4; i++) {
        mpsc_sender_drop(sender[order[i]]);
        cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING,
                     "after %d of 5 senders were dropped the stream must stay open", i + 1);
    }
    int wakes = kt_waker_wakes(&counts);
    mpsc_sender_drop(sender[order[4]]);
    cr_assert_gt(kt_waker_wakes(&counts), wakes, "the last sender's drop did not wake");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
    cr_assert_eq(result, MPSC_RECV_CLOSED);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0);
}

KT_TEST(mpsc_hidden, null_is_a_message, .timeout = 5,
        .description = "a NULL message is delivered like any other (the result says what "
                       "arrived)") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    void *back;
    cr_assert_eq(mpsc_send(sender, NULL, &back), MPSC_SEND_OK);
    cr_assert_eq(mpsc_send(sender, tag(0, 1), &back), MPSC_SEND_OK);
    rt_waker waker = rt_waker_noop();
    void *msg = tag(9, 9);
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY,
                 "a queued NULL message must be received");
    cr_assert_eq(result, MPSC_RECV_MESSAGE);
    cr_assert_null(msg);
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
    cr_assert_eq(msg, tag(0, 1));
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc_hidden, leftovers_after_senders_gone, .timeout = 5,
        .description = "messages left after every sender was dropped are freed once at the "
                       "receiver's drop") {
    kt_pool *pool = kt_pool_new(8);
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(kt_msg_free, &sender, &receiver);
    mpsc_sender *tx2 = mpsc_sender_clone(sender);
    void *back;
    for (int i = 0; i < 6; i++)
        cr_assert_eq(mpsc_send(i % 2 ? sender : tx2, kt_pool_msg(pool, i), &back), MPSC_SEND_OK);
    rt_waker waker = rt_waker_noop();
    void *msg;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
    kt_msg_free(msg);
    mpsc_sender_drop(sender);
    mpsc_sender_drop(tx2);
    cr_assert_eq(kt_pool_frees(pool), 1, "dropping the senders freed queued messages");
    mpsc_receiver_drop(receiver);
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    kt_pool_delete(pool);
}

KT_TEST(mpsc_hidden, no_destructor_leftovers, .timeout = 5,
        .description = "a channel made without a destructor drops its leftovers without calling "
                       "one") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    void *back;
    for (unsigned i = 0; i < 5; i++)
        cr_assert_eq(mpsc_send(sender, tag(0, i), &back), MPSC_SEND_OK);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(mpsc_send(sender, tag(0, 5), &back), MPSC_SEND_RECEIVER_DROPPED);
    cr_assert_eq(back, tag(0, 5));
    mpsc_sender *tx2 = mpsc_sender_clone(sender);
    mpsc_sender_drop(sender);
    cr_assert_eq(mpsc_send(tx2, tag(0, 6), &back), MPSC_SEND_RECEIVER_DROPPED,
                 "a sender cloned after the receiver's drop must fail too");
    mpsc_sender_drop(tx2);
}

/*
 * A producer thread for the race with the receiver's drop: waits until the
 * receiver is waiting, sends its pool messages (racing the drop), then, once
 * the receiver is surely gone, sends one more, which must come back.
 */
typedef struct racing_producer {
    pthread_t thread;
    mpsc_sender *sender;
    kt_pool *pool;
    kt_latch *start, *receiver_gone;
    int count, refused, last_refused;
} racing_producer;

static void *racing_main(void *arg) {
    racing_producer *p = arg;
    kt_latch_wait(p->start, 1);
    for (int i = 0; i <= p->count; i++) {
        if (i == p->count)
            kt_latch_wait(p->receiver_gone, 1);
        void *back = NULL;
        if (mpsc_send(p->sender, kt_pool_msg(p->pool, i), &back) == MPSC_SEND_RECEIVER_DROPPED) {
            kt_msg_free(back); /* handed back: ours to free */
            p->refused++;
            p->last_refused = i == p->count;
        }
    }
    mpsc_sender_drop(p->sender);
    return NULL;
}

/* Receives `limit` pool messages and frees them; opens `pending_empty` at its first PENDING
 * on an empty channel, so that the producers start against a waiting receiver. */
typedef struct taker_task {
    rt_future base;
    rt_async co;
    mpsc_receiver *receiver;
    mpsc_recv_future recv;
    int limit, taken;
    kt_latch pending_empty;
} taker_task;

static rt_poll taker_receive(taker_task *t, rt_context *cx) {
    RT_ASYNC_BEGIN(&t->co);
    for (; t->taken < t->limit; t->taken++) {
        mpsc_recv_future_init(&t->recv, t->receiver);
        RT_AWAIT(&t->co, cx, &t->recv.base);
        if (t->recv.result == MPSC_RECV_CLOSED)
            break;
        kt_msg_free(t->recv.message);
    }
    RT_ASYNC_END(&t->co);
}

static rt_poll taker_poll(rt_future *self, rt_context *cx) {
    taker_task *t = (taker_task *)self;
    rt_poll result = taker_receive(t, cx);
    if (result == RT_PENDING && t->taken == 0)
        kt_latch_count(&t->pending_empty);
    return result;
}

KT_TEST(mpsc_hidden, send_races_receiver_drop, .timeout = 10,
        .description = "senders racing the receiver's drop: every message is received, freed "
                       "by the channel or handed back, once") {
    enum { THREADS = 4, EACH = 3000 };
    kt_pool *pool = kt_pool_new(THREADS * (EACH + 1));
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(kt_msg_free, &sender, &receiver);
    taker_task taker = {.base = {.poll = taker_poll, .name = "taker"},
                        .receiver = receiver,
                        .limit = 200,
                        .pending_empty = KT_LATCH_INIT};
    kt_latch receiver_gone = KT_LATCH_INIT;
    racing_producer ps[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ps[i] = (racing_producer){.sender = mpsc_sender_clone(sender),
                                  .pool = pool,
                                  .start = &taker.pending_empty,
                                  .receiver_gone = &receiver_gone,
                                  .count = EACH};
        if (pthread_create(&ps[i].thread, NULL, racing_main, &ps[i]) != 0)
            cr_assert_fail("could not start a producer thread");
    }
    mpsc_sender_drop(sender);
    rt_block_on(&taker.base);
    cr_assert_eq(taker.taken, 200, "the stream ended after %d of 200 messages", taker.taken);
    mpsc_receiver_drop(receiver);
    kt_latch_count(&receiver_gone);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ps[i].thread, NULL);
        cr_assert(ps[i].last_refused, "producer %d: a send after the receiver's drop was accepted",
                  i);
    }
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    kt_pool_delete(pool);
}

/*
 * The long random run: one thread, a seeded sequence of sends, clones,
 * drops and polls (from two alternating tasks), checked step by step against
 * a model of what the channel must answer.
 */
KT_TEST(mpsc_hidden, random_run_matches_model, .timeout = 10,
        .description = "a long seeded random run of sends, clones, drops and polls matches the "
                       "reference model step by step") {
    enum { STEPS = 20000, MAX_SENDERS = 8 };
    kt_pool *pool = kt_pool_new(STEPS + 1);
    rt_shake_rng rng;
    uint64_t seed = kt_shake_seed(4242);
    rt_shake_rng_init(&rng, seed, 17);
    kt_waker_counts counts[2] = {{0}, {0}};
    rt_waker wakers[2] = {kt_waker(&counts[0]), kt_waker(&counts[1])};

    mpsc_sender *senders[MAX_SENDERS];
    int nsenders = 0;
    mpsc_receiver *receiver = NULL;
    int *model = calloc(STEPS + 1, sizeof *model); /* the values queued, oldest at head */
    size_t head = 0, tail = 0;
    int waiting = -1, wakes_then = 0; /* which waker answered PENDING last, its wakes then */
    int next_value = 0;
    size_t frees_expected = 0;

    for (int step = 0; step < STEPS; step++) {
        if (receiver == NULL) {
            mpsc_channel(kt_msg_free, &senders[0], &receiver);
            nsenders = 1;
            head = tail = 0;
            waiting = -1;
        }
        unsigned op = (unsigned)(rt_shake_next(&rng) % 100);
        if (op < 40 && nsenders > 0) {
            int s = (int)(rt_shake_next(&rng) % (uint64_t)nsenders);
            void *back = NULL;
            cr_assert_eq(mpsc_send(senders[s], kt_pool_msg(pool, next_value), &back), MPSC_SEND_OK,
                         "step %d (seed %llu): send failed while the receiver lives", step,
                         (unsigned long long)seed);
            model[tail++] = next_value++;
            if (waiting >= 0) {
                cr_assert_gt(kt_waker_wakes(&counts[waiting]), wakes_then,
                             "step %d (seed %llu): a send did not wake the waiting receiver", step,
                             (unsigned long long)seed);
                waiting = -1;
            }
        } else if (op < 80) {
            int w = (int)(rt_shake_next(&rng) % 2);
            void *msg = NULL;
            mpsc_recv_result result;
            rt_poll r = poll_with(receiver, &wakers[w], &msg, &result);
            if (head < tail) {
                cr_assert(r == RT_READY && result == MPSC_RECV_MESSAGE,
                          "step %d (seed %llu): a message was queued but the receive did not "
                          "return it",
                          step, (unsigned long long)seed);
                cr_assert_eq(kt_msg_value(msg), model[head],
                             "step %d (seed %llu): received message %d, expected %d", step,
                             (unsigned long long)seed, kt_msg_value(msg), model[head]);
                head++;
                kt_msg_free(msg);
                frees_expected++;
            } else if (nsenders == 0) {
                cr_assert(r == RT_READY && result == MPSC_RECV_CLOSED,
                          "step %d (seed %llu): empty with no sender, the receive must be "
                          "READY with MPSC_RECV_CLOSED",
                          step, (unsigned long long)seed);
            } else {
                cr_assert_eq(r, RT_PENDING,
                             "step %d (seed %llu): empty with a live sender, the receive must "
                             "be PENDING",
                             step, (unsigned long long)seed);
                cr_assert(kt_waker_live(&counts[w]) == 1 && kt_waker_live(&counts[1 - w]) == 0,
                          "step %d (seed %llu): after PENDING the channel must hold exactly one "
                          "waker, the newest (it holds %d new, %d old)",
                          step, (unsigned long long)seed, kt_waker_live(&counts[w]),
                          kt_waker_live(&counts[1 - w]));
                waiting = w;
                wakes_then = kt_waker_wakes(&counts[w]);
            }
        } else if (op < 88 && nsenders > 0 && nsenders < MAX_SENDERS) {
            int s = (int)(rt_shake_next(&rng) % (uint64_t)nsenders);
            senders[nsenders++] = mpsc_sender_clone(senders[s]);
        } else if (op < 97 && nsenders > 0) {
            int s = (int)(rt_shake_next(&rng) % (uint64_t)nsenders);
            mpsc_sender_drop(senders[s]);
            senders[s] = senders[--nsenders];
            if (nsenders == 0 && waiting >= 0) {
                cr_assert_gt(kt_waker_wakes(&counts[waiting]), wakes_then,
                             "step %d (seed %llu): the last sender's drop did not wake the "
                             "waiting receiver",
                             step, (unsigned long long)seed);
                waiting = -1;
            }
        } else if (op >= 97 || nsenders == 0) {
            /* The receiver goes, with what is queued; the senders find it gone. */
            size_t before = kt_pool_frees(pool);
            mpsc_receiver_drop(receiver);
            cr_assert_eq(kt_pool_frees(pool) - before, tail - head,
                         "step %d (seed %llu): the receiver's drop freed %zu of the %zu queued "
                         "messages",
                         step, (unsigned long long)seed, kt_pool_frees(pool) - before, tail - head);
            frees_expected += tail - head;
            for (int s = 0; s < nsenders; s++) {
                void *msg = kt_pool_msg(pool, next_value++), *back = NULL;
                cr_assert_eq(mpsc_send(senders[s], msg, &back), MPSC_SEND_RECEIVER_DROPPED);
                cr_assert_eq(back, msg);
                kt_msg_free(back);
                frees_expected++;
                mpsc_sender_drop(senders[s]);
            }
            nsenders = 0;
            receiver = NULL;
            cr_assert_eq(kt_waker_live(&counts[0]) + kt_waker_live(&counts[1]), 0,
                         "step %d (seed %llu): wakers left in the channel after every handle "
                         "was dropped",
                         step, (unsigned long long)seed);
        }
        cr_assert_eq(kt_pool_frees(pool), frees_expected,
                     "step %d (seed %llu): %zu messages freed, %zu expected", step,
                     (unsigned long long)seed, kt_pool_frees(pool), frees_expected);
    }
    for (int s = 0; s < nsenders; s++)
        mpsc_sender_drop(senders[s]);
    if (receiver != NULL)
        mpsc_receiver_drop(receiver);
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    free(model);
    kt_pool_delete(pool);
}

/* A task that sends its tagged messages, yielding after each. */
typedef struct yielding_producer {
    rt_future base;
    rt_async co;
    mpsc_sender *sender;
    unsigned id, count, i;
} yielding_producer;

static rt_poll yielding_poll(rt_future *self, rt_context *cx) {
    yielding_producer *t = (yielding_producer *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->count; t->i++) {
        void *back;
        if (mpsc_send(t->sender, tag(t->id, t->i), &back) != MPSC_SEND_OK)
            break;
        RT_YIELD(&t->co, cx);
    }
    mpsc_sender_drop(t->sender);
    RT_ASYNC_END(&t->co);
}

/*
 * For the blocked receiver: a thread that spawns the producer tasks once the
 * receiver waits on the empty channel, and drops the last sender once it has
 * everything and waits again (both must wake it).
 */
typedef struct director {
    pthread_t thread;
    rt_executor *ex;
    mpsc_sender *sender;
    consumer_task *consumer;
    unsigned count;
    yielding_producer ps[6];
} director;

static void *director_main(void *arg) {
    director *d = arg;
    enum { TASKS = sizeof d->ps / sizeof d->ps[0] };
    rt_join_handle *handles[TASKS];
    kt_latch_wait(&d->consumer->pending_empty, 1);
    for (unsigned i = 0; i < TASKS; i++) {
        d->ps[i] = (yielding_producer){.base = {.poll = yielding_poll, .name = "producer"},
                                       .sender = mpsc_sender_clone(d->sender),
                                       .id = i,
                                       .count = d->count};
        handles[i] = rt_spawn(d->ex, &d->ps[i].base, "producer");
    }
    for (unsigned i = 0; i < TASKS; i++)
        rt_join(handles[i]);
    kt_latch_wait(&d->consumer->pending_all, 1);
    mpsc_sender_drop(d->sender);
    return NULL;
}

KT_TEST(mpsc_hidden, stress_tasks_to_blocking_receiver, .timeout = 15,
        .description = "stress: six tasks on a one-worker shaken executor send to a thread "
                       "blocked in a receive; all arrive in order") {
    enum { TASKS = 6, EACH = 1500 };
    rt_executor *ex = rt_executor_new_config(
        &(rt_executor_config){.workers = 1, .shake = true, .shake_seed = kt_shake_seed(77)});
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    tally seen;
    tally_init(&seen, TASKS, EACH);
    consumer_task consumer;
    consumer_init(&consumer, receiver, &seen);
    director dir = {.ex = ex, .sender = sender, .consumer = &consumer, .count = EACH};
    if (pthread_create(&dir.thread, NULL, director_main, &dir) != 0)
        cr_assert_fail("could not start the director thread");
    rt_block_on(&consumer.base); /* this thread is the blocked receiver */
    pthread_join(dir.thread, NULL);
    rt_executor_shutdown(ex);
    tally_check_complete(&seen);
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc_hidden, stress_one_worker_consumer, .timeout = 15,
        .description = "stress: three threads send to a task on a one-worker shaken executor; "
                       "none lost or repeated") {
    stress_threads_to_task(3, 15000, 1, 31337);
}

/* A thread that clones the sender it is given and drops the clone, many times over. */
static void *clone_and_drop(void *arg) {
    mpsc_sender *sender = arg;
    for (int i = 0; i < 2000; i++)
        mpsc_sender_drop(mpsc_sender_clone(sender));
    return NULL;
}

KT_TEST(mpsc_hidden, clones_counted_on_many_threads, .timeout = 10,
        .description = "four threads clone and drop senders at once: the count stays right, so "
                       "the stream is open until the last sender goes, then CLOSED") {
    enum { THREADS = 4 };
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        cr_assert_eq(pthread_create(&threads[t], NULL, clone_and_drop, sender), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING,
                 "every clone was dropped but the first sender lives: the stream must still be "
                 "open (a clone or a drop counted without the lock loses counts)");
    mpsc_sender_drop(sender);
    cr_assert_eq(kt_waker_wakes(&counts), 1, "the last sender's drop did not wake the receiver");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
    cr_assert_eq(result, MPSC_RECV_CLOSED, "with every sender gone the stream must be CLOSED");
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
}
