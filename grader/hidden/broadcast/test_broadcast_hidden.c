/*
 * test_broadcast_hidden.c - the grader's tests of the broadcast exercise.
 *
 * Concurrency under shake mode with fixed seeds (RT_SHAKE=<seed> replays a
 * run), races between subscribe, drop and send, a long randomized run
 * compared step by step with a model of the rules, and waker callbacks that
 * re-enter the channel (which deadlock when a waker is called under the
 * channel's lock).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "broadcast.h"
#include "broadcast_recv_future.h"
#include "kt_pool.h"
#include "kt_test.h"
#include "kt_waker.h"

static void expect_all_freed_once(kt_pool *pool) {
    char report[512];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report),
              "every message and every copy must be freed exactly once: %s", report);
}

static rt_poll poll_with(broadcast_receiver *receiver, kt_waker_counts *counts, void **message,
                         broadcast_recv_result *result, uint64_t *missed) {
    rt_waker waker = kt_waker(counts);
    rt_context cx = rt_context_from_waker(&waker);
    return broadcast_receiver_poll_recv(receiver, &cx, message, result, missed);
}

/* ---- many receiver tasks on a shaken executor ---- */

enum { STRESS_RECEIVERS = 8, STRESS_MESSAGES = 1500 };

typedef struct {
    rt_future base;
    rt_async co;
    broadcast_recv_future recv;
    broadcast_receiver *receiver;
    int expected;
    int out_of_order;
    bool closed;
} consumer_task;

static rt_poll consumer_poll(rt_future *self, rt_context *cx) {
    consumer_task *t = (consumer_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        broadcast_recv_future_init(&t->recv, t->receiver);
        RT_AWAIT(&t->co, cx, &t->recv.base);
        if (t->recv.result != BROADCAST_RECV_MESSAGE)
            break;
        if (kt_msg_value(t->recv.message) != t->expected)
            t->out_of_order++;
        t->expected++;
        kt_msg_free(t->recv.message);
    }
    t->closed = t->recv.result == BROADCAST_RECV_CLOSED;
    RT_ASYNC_END(&t->co);
}

KT_TEST(broadcast_hidden, stress_many_receivers_shaken, .timeout = 10,
        .description = "8 receiver tasks on a shaken 2-thread executor each get 1500 messages "
                       "in order") {
    rt_executor_config config = {.workers = 2, .shake = true, .shake_seed = kt_shake_seed(4242)};
    rt_executor *ex = rt_executor_new_config(&config);
    kt_pool *pool = kt_pool_new(STRESS_MESSAGES * (STRESS_RECEIVERS + 1));
    broadcast_sender *sender;
    broadcast_receiver *first;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &first);
    consumer_task tasks[STRESS_RECEIVERS];
    rt_join_handle *handles[STRESS_RECEIVERS];
    for (int i = 0; i < STRESS_RECEIVERS; i++)
        tasks[i] = (consumer_task){.base = {.poll = consumer_poll, .name = "consumer"},
                                   .receiver = i == 0 ? first : broadcast_sender_subscribe(sender)};
    for (int i = 0; i < STRESS_RECEIVERS; i++)
        handles[i] = rt_spawn(ex, &tasks[i].base, "consumer");
    for (int i = 0; i < STRESS_MESSAGES; i++) {
        size_t reached;
        void *back;
        cr_assert_eq(broadcast_send(sender, kt_pool_msg(pool, i), &back, &reached),
                     BROADCAST_SEND_OK);
        cr_assert_eq(reached, STRESS_RECEIVERS);
        if (i % 64 == 0)
            sched_yield(); /* let the receivers catch up and go pending now and then */
    }
    broadcast_sender_drop(sender);
    for (int i = 0; i < STRESS_RECEIVERS; i++) {
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
        cr_assert_eq(tasks[i].expected, STRESS_MESSAGES, "receiver %d got %d of %d messages", i,
                     tasks[i].expected, STRESS_MESSAGES);
        cr_assert_eq(tasks[i].out_of_order, 0, "receiver %d got messages out of order", i);
        cr_assert(tasks[i].closed, "receiver %d did not end with CLOSED", i);
        broadcast_receiver_drop(tasks[i].receiver);
    }
    rt_executor_shutdown(ex);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- subscribe racing send ---- */

enum { RACE_MESSAGES = 2000, RACE_SUBSCRIBERS = 24 };

typedef struct {
    broadcast_sender *sender;
    kt_pool *pool;
    atomic_int sent;
} sender_thread;

static void *sender_main(void *arg) {
    sender_thread *s = arg;
    for (int i = 0; i < RACE_MESSAGES; i++) {
        size_t reached;
        void *back;
        void *message = kt_pool_msg(s->pool, i);
        if (broadcast_send(s->sender, message, &back, &reached) != BROADCAST_SEND_OK)
            kt_msg_free(back); /* cannot happen: the anchor receiver lives throughout */
        atomic_store(&s->sent, i + 1);
        if (i % 16 == 0)
            sched_yield();
    }
    broadcast_sender_drop(s->sender);
    return NULL;
}

/* Takes everything left for receiver (every sender is gone): returns how many, checks they follow
 * on. */
static int drain_closed(broadcast_receiver *receiver, int *first_value, const char *who) {
    int count = 0, previous = -1;
    for (;;) {
        kt_waker_counts counts = {0};
        void *message = NULL;
        broadcast_recv_result result;
        rt_poll poll = poll_with(receiver, &counts, &message, &result, NULL);
        cr_assert_eq(poll, RT_READY, "%s: every sender is gone, yet the receive is PENDING", who);
        if (result == BROADCAST_RECV_CLOSED)
            return count;
        cr_assert_eq(result, BROADCAST_RECV_MESSAGE, "%s: unexpected result %d", who, (int)result);
        int value = kt_msg_value(message);
        kt_msg_free(message);
        if (count == 0)
            *first_value = value;
        else
            cr_assert_eq(value, previous + 1,
                         "%s: got message %d right after %d: a receiver must see every message "
                         "sent after it subscribed, in order",
                         who, value, previous);
        previous = value;
        count++;
    }
}

KT_TEST(broadcast_hidden, race_subscribe_while_sending, .timeout = 10,
        .description = "receivers subscribed while another thread sends each see an unbroken "
                       "run of the later messages") {
    uint64_t seed = kt_shake_seed(99);
    rt_shake_rng rng;
    rt_shake_rng_init(&rng, seed, 7);
    kt_pool *pool = kt_pool_new(RACE_MESSAGES * (RACE_SUBSCRIBERS + 2));
    sender_thread s = {.pool = pool};
    broadcast_receiver *anchor;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &s.sender, &anchor);
    broadcast_receiver *late[RACE_SUBSCRIBERS];
    int sent_before[RACE_SUBSCRIBERS];
    pthread_t thread;
    pthread_create(&thread, NULL, sender_main, &s);
    for (int i = 0; i < RACE_SUBSCRIBERS; i++) {
        for (uint64_t spin = rt_shake_next(&rng) % 200; spin > 0; spin--)
            sched_yield();
        sent_before[i] = atomic_load(&s.sent);
        late[i] = broadcast_receiver_subscribe(anchor);
    }
    pthread_join(thread, NULL);
    int first = -1;
    cr_assert_eq(drain_closed(anchor, &first, "first receiver"), RACE_MESSAGES);
    for (int i = 0; i < RACE_SUBSCRIBERS; i++) {
        int count = drain_closed(late[i], &first, "late subscriber");
        if (count > 0) {
            cr_assert_eq(first + count, RACE_MESSAGES,
                         "a late subscriber must get every message up to the last one");
            cr_assert_geq(first, sent_before[i],
                          "a subscriber made after %d sends received message %d, sent before it",
                          sent_before[i], first);
        }
        broadcast_receiver_drop(late[i]);
    }
    broadcast_receiver_drop(anchor);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- receivers dropped while another thread sends ---- */

enum { DROP_RECEIVERS = 24 };

KT_TEST(broadcast_hidden, race_receiver_drop_while_sending, .timeout = 10,
        .description = "receivers dropped mid-stream while another thread sends leak nothing and "
                       "free nothing twice") {
    uint64_t seed = kt_shake_seed(1234);
    rt_shake_rng rng;
    rt_shake_rng_init(&rng, seed, 3);
    kt_pool *pool = kt_pool_new(RACE_MESSAGES * (DROP_RECEIVERS + 2));
    sender_thread s = {.pool = pool};
    broadcast_receiver *keeper;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &s.sender, &keeper);
    broadcast_receiver *receiver[DROP_RECEIVERS];
    kt_waker_counts counts[DROP_RECEIVERS] = {0};
    for (int i = 0; i < DROP_RECEIVERS; i++)
        receiver[i] = broadcast_receiver_subscribe(keeper);
    pthread_t thread;
    pthread_create(&thread, NULL, sender_main, &s);
    for (int i = 0; i < DROP_RECEIVERS; i++) {
        /* Take a random number of messages (or find none yet), then drop. */
        for (uint64_t n = rt_shake_next(&rng) % 300; n > 0; n--) {
            void *message;
            broadcast_recv_result result;
            if (poll_with(receiver[i], &counts[i], &message, &result, NULL) == RT_READY &&
                result == BROADCAST_RECV_MESSAGE)
                kt_msg_free(message);
            if (n % 32 == 0)
                sched_yield();
        }
        broadcast_receiver_drop(receiver[i]);
    }
    pthread_join(thread, NULL);
    /* Only now: a send may have taken a receiver's waker out just before its
     * drop, and wakes (consuming it) after unlocking, so it can still be in
     * flight right after the drop returns. Once the sender is done, none may live. */
    for (int i = 0; i < DROP_RECEIVERS; i++)
        cr_assert_eq(kt_waker_live(&counts[i]), 0,
                     "receiver %d: a dropped receiver's stored waker was never woken or dropped",
                     i);
    int first = -1;
    cr_assert_eq(drain_closed(keeper, &first, "receiver kept to the end"), RACE_MESSAGES);
    broadcast_receiver_drop(keeper);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- a long randomized run compared with a model of the rules ---- */

enum { MODEL_MAX_RX = 10, MODEL_MAX_TX = 4, MODEL_STEPS = 20000 };

typedef struct {
    broadcast_receiver *receiver;
    uint64_t next;           /* model: number of the next message for it */
    kt_waker_counts *counts; /* on the heap: the channel keeps a waker pointing at it */
} model_rx;

typedef struct {
    kt_pool *pool;
    size_t capacity;
    void **originals; /* by message number */
    int *owed;        /* by message number: receivers that still have to take it */
    uint64_t head, tail;
    model_rx rxs[MODEL_MAX_RX];
    int nrx;
    broadcast_sender *txs[MODEL_MAX_TX];
    int ntx;
    size_t deliveries;
} model;

static void model_release_front(model *m) {
    while (m->head < m->tail && m->owed[m->head] == 0) {
        cr_assert_eq(kt_msg_frees(m->originals[m->head]), 1,
                     "message %llu: every receiver that existed at its send took it or was "
                     "dropped, so the channel must have freed it once (freed %d times)",
                     (unsigned long long)m->head, kt_msg_frees(m->originals[m->head]));
        m->head++;
    }
}

static void model_check_kept(model *m) {
    for (uint64_t seq = m->head; seq < m->tail; seq++)
        cr_assert_eq(kt_msg_frees(m->originals[seq]), 0,
                     "message %llu was freed while a receiver had still to take it",
                     (unsigned long long)seq);
}

static void model_send(model *m, int value) {
    void *message = kt_pool_msg(m->pool, value);
    size_t reached = 99;
    void *back = NULL;
    broadcast_send_result st = broadcast_send(m->txs[0], message, &back, &reached);
    if (m->nrx == 0) {
        cr_assert_eq(st, BROADCAST_SEND_NO_RECEIVERS, "send with no receiver must fail");
        cr_assert_eq(back, message, "a failed send must hand the message back");
        kt_msg_free(message);
        return;
    }
    cr_assert_eq(st, BROADCAST_SEND_OK, "send failed with %d receivers alive", m->nrx);
    cr_assert_eq(reached, (size_t)m->nrx, "send reached %zu receivers, %d are alive", reached,
                 m->nrx);
    if (m->capacity != 0 && m->tail - m->head == m->capacity) {
        cr_assert_eq(kt_msg_frees(m->originals[m->head]), 1,
                     "capacity %zu: the oldest message must be freed once by a send to a full "
                     "channel",
                     m->capacity);
        m->head++;
    }
    m->originals[m->tail] = message;
    m->owed[m->tail] = m->nrx;
    m->tail++;
}

static void model_poll(model *m, int i) {
    model_rx *r = &m->rxs[i];
    void *message = NULL;
    broadcast_recv_result result = BROADCAST_RECV_CLOSED;
    uint64_t missed = 0;
    rt_poll poll = poll_with(r->receiver, r->counts, &message, &result, &missed);
    if (r->next < m->head) {
        cr_assert(poll == RT_READY && result == BROADCAST_RECV_LAGGED,
                  "the channel dropped messages this receiver had not taken: expected LAGGED");
        cr_assert_eq(missed, m->head - r->next, "LAGGED said %llu missed, expected %llu",
                     (unsigned long long)missed, (unsigned long long)(m->head - r->next));
        r->next = m->head;
    } else if (r->next < m->tail) {
        cr_assert(poll == RT_READY && result == BROADCAST_RECV_MESSAGE,
                  "message %llu is there for this receiver, but the receive gave poll %d result "
                  "%d",
                  (unsigned long long)r->next, (int)poll, (int)result);
        cr_assert_eq(kt_msg_value(message), kt_msg_value(m->originals[r->next]),
                     "receiver got message %d, expected %d (order, or a message it should not "
                     "see)",
                     kt_msg_value(message), kt_msg_value(m->originals[r->next]));
        cr_assert_neq(message, m->originals[r->next], "a receiver must get a clone");
        kt_msg_free(message);
        m->deliveries++;
        m->owed[r->next]--;
        r->next++;
        model_release_front(m);
    } else if (m->ntx == 0) {
        cr_assert(poll == RT_READY && result == BROADCAST_RECV_CLOSED,
                  "no sender is left and nothing is queued: expected CLOSED");
    } else {
        cr_assert_eq(poll, RT_PENDING, "nothing is queued for this receiver: expected PENDING");
        cr_assert_eq(kt_waker_live(r->counts), 1, "a PENDING receive must store one waker");
    }
}

static void model_drop_rx(model *m, int i) {
    model_rx *r = &m->rxs[i];
    broadcast_receiver_drop(r->receiver);
    cr_assert_eq(kt_waker_live(r->counts), 0, "a dropped receiver must drop its waker");
    free(r->counts);
    for (uint64_t seq = r->next > m->head ? r->next : m->head; seq < m->tail; seq++)
        m->owed[seq]--;
    m->rxs[i] = m->rxs[--m->nrx];
    model_release_front(m);
}

static void model_subscribe(model *m, broadcast_receiver *receiver) {
    model_rx *r = &m->rxs[m->nrx++];
    *r = (model_rx){
        .receiver = receiver, .next = m->tail, .counts = calloc(1, sizeof(kt_waker_counts))};
}

static void run_model(size_t capacity, uint64_t seed) {
    rt_shake_rng rng;
    rt_shake_rng_init(&rng, seed, 11);
    model m = {.capacity = capacity};
    m.pool = kt_pool_new(MODEL_STEPS * (MODEL_MAX_RX + 1));
    m.originals = calloc(MODEL_STEPS, sizeof *m.originals);
    m.owed = calloc(MODEL_STEPS, sizeof *m.owed);
    broadcast_receiver *first;
    broadcast_channel(kt_msg_free, kt_msg_clone, capacity, &m.txs[0], &first);
    m.ntx = 1;
    model_subscribe(&m, first);
    for (int step = 0; step < MODEL_STEPS; step++) {
        unsigned op = (unsigned)(rt_shake_next(&rng) % 100);
        int pick = m.nrx ? (int)(rt_shake_next(&rng) % (uint64_t)m.nrx) : 0;
        if (op < 30) {
            model_send(&m, step);
        } else if (op < 75 && m.nrx > 0) {
            for (uint64_t k = 1 + rt_shake_next(&rng) % 6; k > 0; k--)
                model_poll(&m, pick);
        } else if (op < 80 && m.nrx > 0) {
            while (m.rxs[pick].next < m.tail) /* catch up */
                model_poll(&m, pick);
        } else if (op < 85 && m.nrx < MODEL_MAX_RX) {
            model_subscribe(&m, broadcast_sender_subscribe(m.txs[0]));
        } else if (op < 89 && m.nrx > 0 && m.nrx < MODEL_MAX_RX) {
            model_subscribe(&m, broadcast_receiver_subscribe(m.rxs[pick].receiver));
        } else if (op < 95 && m.nrx > 0) {
            model_drop_rx(&m, pick);
        } else if (op < 97 && m.ntx < MODEL_MAX_TX) {
            m.txs[m.ntx++] = broadcast_sender_clone(m.txs[0]);
        } else if (op < 100 && m.ntx > 1) {
            broadcast_sender_drop(m.txs[--m.ntx]);
        }
        model_check_kept(&m);
    }
    /* The end: drop the senders, every receiver takes its backlog and sees CLOSED. */
    while (m.ntx > 0)
        broadcast_sender_drop(m.txs[--m.ntx]);
    for (int i = 0; i < m.nrx; i++) {
        while (m.rxs[i].next < m.tail)
            model_poll(&m, i);
        model_poll(&m, i); /* CLOSED */
    }
    while (m.nrx > 0)
        model_drop_rx(&m, m.nrx - 1);
    cr_assert_eq(kt_pool_clones(m.pool), m.deliveries,
                 "the clone function ran %zu times for %zu messages delivered: it must run once "
                 "per receiver per message taken",
                 kt_pool_clones(m.pool), m.deliveries);
    expect_all_freed_once(m.pool);
    free(m.originals);
    free(m.owed);
    kt_pool_delete(m.pool);
}

KT_TEST(broadcast_hidden, order_matches_model, .timeout = 10,
        .description = "20000 random sends, receives, subscribes and drops match the rules step "
                       "by step") {
    run_model(0, kt_shake_seed(2024));
}

KT_TEST(broadcast_hidden, lag_matches_model, .timeout = 10,
        .description = "bonus: with capacities 1, 3 and 8, random runs lag, free and deliver as "
                       "the rules say") {
    const size_t capacities[] = {1, 3, 8};
    for (size_t i = 0; i < 3; i++)
        run_model(capacities[i], kt_shake_seed(31) + i);
}

KT_TEST(broadcast_hidden, lag_then_close, .timeout = 2,
        .description = "bonus: a lagged receiver gets LAGGED, the kept messages, then CLOSED") {
    kt_pool *pool = kt_pool_new(100);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 2, &sender, &receiver);
    for (int i = 0; i < 7; i++) {
        size_t reached;
        void *back;
        broadcast_send(sender, kt_pool_msg(pool, i), &back, &reached);
    }
    broadcast_sender_drop(sender);
    kt_waker_counts counts = {0};
    void *message;
    broadcast_recv_result result;
    uint64_t missed = 0;
    cr_assert_eq(poll_with(receiver, &counts, &message, &result, &missed), RT_READY);
    cr_assert_eq(result, BROADCAST_RECV_LAGGED,
                 "a lagged receiver must hear of its lag before CLOSED");
    cr_assert_eq(missed, 5);
    for (int i = 5; i < 7; i++) {
        cr_assert_eq(poll_with(receiver, &counts, &message, &result, &missed), RT_READY);
        cr_assert_eq(result, BROADCAST_RECV_MESSAGE);
        cr_assert_eq(kt_msg_value(message), i);
        kt_msg_free(message);
    }
    cr_assert_eq(poll_with(receiver, &counts, &message, &result, &missed), RT_READY);
    cr_assert_eq(result, BROADCAST_RECV_CLOSED);
    broadcast_receiver_drop(receiver);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- wakers that call back into the channel ---- */

/* A waker whose wake and drop subscribe to the channel and drop the new receiver at once:
 * called with the channel's lock held, it deadlocks. */
typedef struct {
    broadcast_receiver *anchor;
    atomic_int live;
    atomic_int wakes;
} reentrant;

static void reenter(reentrant *r) {
    broadcast_receiver_drop(broadcast_receiver_subscribe(r->anchor));
}

static const rt_waker_vtable reentrant_vtable;

static rt_waker reentrant_clone(void *data) {
    atomic_fetch_add(&((reentrant *)data)->live, 1);
    return (rt_waker){data, &reentrant_vtable};
}

static void reentrant_wake_by_ref(void *data) {
    atomic_fetch_add(&((reentrant *)data)->wakes, 1);
    reenter(data);
}

static void reentrant_drop(void *data) {
    atomic_fetch_sub(&((reentrant *)data)->live, 1);
    reenter(data);
}

static void reentrant_wake(void *data) {
    reentrant_wake_by_ref(data);
    atomic_fetch_sub(&((reentrant *)data)->live, 1);
}

static const rt_waker_vtable reentrant_vtable = {reentrant_clone, reentrant_wake,
                                                 reentrant_wake_by_ref, reentrant_drop};

static rt_poll poll_reentrant(broadcast_receiver *receiver, reentrant *r, void **message,
                              broadcast_recv_result *result) {
    rt_waker waker = {r, &reentrant_vtable};
    rt_context cx = rt_context_from_waker(&waker);
    return broadcast_receiver_poll_recv(receiver, &cx, message, result, NULL);
}

KT_TEST(broadcast_hidden, wakers_called_outside_the_lock, .timeout = 3,
        .description = "wakers are woken and dropped after the channel's lock is released "
                       "(send, poll, drops)") {
    kt_pool *pool = kt_pool_new(20);
    broadcast_sender *sender;
    broadcast_receiver *anchor;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &anchor);
    broadcast_receiver *receiver = broadcast_sender_subscribe(sender);
    reentrant a = {.anchor = anchor}, b = {.anchor = anchor};
    void *message;
    broadcast_recv_result result;

    /* A send wakes the stored waker. */
    cr_assert_eq(poll_reentrant(receiver, &a, &message, &result), RT_PENDING);
    size_t reached;
    void *back;
    broadcast_send(sender, kt_pool_msg(pool, 1), &back, &reached);
    cr_assert_eq(atomic_load(&a.wakes), 1);
    cr_assert_eq(poll_reentrant(receiver, &a, &message, &result), RT_READY);
    kt_msg_free(message);

    /* A poll with another waker drops the one stored before. */
    cr_assert_eq(poll_reentrant(receiver, &a, &message, &result), RT_PENDING);
    cr_assert_eq(poll_reentrant(receiver, &b, &message, &result), RT_PENDING);
    cr_assert_eq(atomic_load(&a.live), 0);

    /* Dropping a pending receiver drops its waker. */
    broadcast_receiver *other = broadcast_sender_subscribe(sender);
    cr_assert_eq(poll_reentrant(other, &a, &message, &result), RT_PENDING);
    broadcast_receiver_drop(other);
    cr_assert_eq(atomic_load(&a.live), 0);

    /* The last sender's drop wakes the pending receiver. */
    broadcast_sender_drop(sender);
    cr_assert_eq(atomic_load(&b.wakes), 1);
    cr_assert_eq(atomic_load(&b.live), 0);
    cr_assert_eq(poll_reentrant(receiver, &b, &message, &result), RT_READY);
    cr_assert_eq(result, BROADCAST_RECV_CLOSED);
    broadcast_receiver_drop(receiver);
    /* anchor still owes message 1 */
    cr_assert_eq(poll_reentrant(anchor, &a, &message, &result), RT_READY);
    cr_assert_eq(result, BROADCAST_RECV_MESSAGE);
    kt_msg_free(message);
    broadcast_receiver_drop(anchor);
    expect_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* ---- closing and dropping in every order ---- */

KT_TEST(broadcast_hidden, subscribe_after_close_is_closed, .timeout = 2,
        .description = "a receiver made from another after the last sender is gone is closed at "
                       "once") {
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    broadcast_sender_drop(sender);
    broadcast_receiver *late = broadcast_receiver_subscribe(receiver);
    kt_waker_counts counts = {0};
    void *message;
    broadcast_recv_result result = BROADCAST_RECV_MESSAGE;
    cr_assert_eq(poll_with(late, &counts, &message, &result, NULL), RT_READY);
    cr_assert_eq(result, BROADCAST_RECV_CLOSED);
    cr_assert_eq(kt_waker_live(&counts), 0, "a READY receive must not keep a waker");
    broadcast_receiver_drop(late);
    broadcast_receiver_drop(receiver);
}

KT_TEST(broadcast_hidden, drop_with_backlog_in_any_order, .timeout = 2,
        .description = "handles dropped in any order with messages still queued free each "
                       "message once") {
    for (int order = 0; order < 3; order++) {
        kt_pool *pool = kt_pool_new(100);
        broadcast_sender *sender;
        broadcast_receiver *a;
        broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &a);
        broadcast_receiver *b = broadcast_sender_subscribe(sender);
        for (int i = 0; i < 10; i++) {
            size_t reached;
            void *back;
            broadcast_send(sender, kt_pool_msg(pool, i), &back, &reached);
        }
        kt_waker_counts counts = {0};
        void *message;
        broadcast_recv_result result;
        cr_assert_eq(poll_with(b, &counts, &message, &result, NULL), RT_READY);
        kt_msg_free(message);
        if (order == 0) {
            broadcast_sender_drop(sender);
            broadcast_receiver_drop(a);
            broadcast_receiver_drop(b);
        } else if (order == 1) {
            broadcast_receiver_drop(b);
            broadcast_receiver_drop(a);
            broadcast_sender_drop(sender);
        } else {
            broadcast_receiver_drop(a);
            broadcast_sender_drop(sender);
            broadcast_receiver_drop(b);
        }
        expect_all_freed_once(pool);
        kt_pool_delete(pool);
    }
}

KT_TEST(broadcast_hidden, spurious_polls_keep_one_waker, .timeout = 2,
        .description = "polling again with the same waker keeps exactly one stored clone") {
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    kt_waker_counts counts = {0};
    void *message;
    broadcast_recv_result result;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(poll_with(receiver, &counts, &message, &result, NULL), RT_PENDING);
        cr_assert_eq(kt_waker_live(&counts), 1, "after %d polls %d wakers are stored, expected 1",
                     i + 1, kt_waker_live(&counts));
    }
    broadcast_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0);
    broadcast_sender_drop(sender);
}

/* ---- the channel must outlive a drop that is still waking receivers ---- */

enum { MANY_PENDING = 80 };

/* Woken, it drops every receiver still alive: the channel may lose its last receiver while the
 * last sender's drop is still busy waking the others. */
typedef struct {
    broadcast_receiver *receiver[MANY_PENDING];
    bool dropped[MANY_PENDING];
    int wakes;
} dropper;

static void dropper_wake(void *data) {
    dropper *d = data;
    d->wakes++;
    for (int i = 0; i < MANY_PENDING; i++) {
        if (!d->dropped[i]) {
            d->dropped[i] = true;
            broadcast_receiver_drop(d->receiver[i]);
        }
    }
}
static void dropper_noop(void *data) {
    (void)data;
}
static const rt_waker_vtable dropper_vtable;
static rt_waker dropper_clone(void *data) {
    return (rt_waker){data, &dropper_vtable};
}
static const rt_waker_vtable dropper_vtable = {dropper_clone, dropper_wake, dropper_wake,
                                               dropper_noop};

KT_TEST(broadcast_hidden, last_sender_drop_survives_receivers_leaving, .timeout = 2,
        .description = "the last sender's drop keeps the channel alive while it wakes 80 pending "
                       "receivers that drop themselves") {
    broadcast_sender *sender;
    dropper d = {.wakes = 0};
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &d.receiver[0]);
    for (int i = 1; i < MANY_PENDING; i++)
        d.receiver[i] = broadcast_sender_subscribe(sender);
    rt_waker waker = {&d, &dropper_vtable};
    rt_context cx = rt_context_from_waker(&waker);
    for (int i = 0; i < MANY_PENDING; i++) {
        void *message;
        broadcast_recv_result result;
        cr_assert_eq(broadcast_receiver_poll_recv(d.receiver[i], &cx, &message, &result, NULL),
                     RT_PENDING);
    }
    broadcast_sender_drop(sender); /* the first wake drops every receiver */
    cr_assert_geq(d.wakes, 1, "the last sender's drop must wake the pending receivers");
    for (int i = 0; i < MANY_PENDING; i++)
        cr_assert(d.dropped[i]);
}
