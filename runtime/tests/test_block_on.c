/* test_block_on.c - block_on parks the calling thread until a waker is woken. */
#include <stdatomic.h>

#include "kt_test.h"
#include "rt_test_support.h"

/* READY once another thread, started by its first poll, has woken it. */
typedef struct remote_future {
    rt_future base;
    rt_waker waker;
    pthread_t thread;
    bool started;
    atomic_bool done;
    int polls;
} remote_future;

static void *wake_remote(void *arg) {
    remote_future *f = arg;
    atomic_store(&f->done, true);
    rt_waker_wake(&f->waker);
    return NULL;
}

static rt_poll remote_poll(rt_future *self, rt_context *cx) {
    remote_future *f = (remote_future *)self;
    f->polls++;
    if (atomic_load(&f->done))
        return RT_READY;
    if (!f->started) {
        f->waker = rt_waker_clone(cx->waker);
        f->started = true;
        pthread_create(&f->thread, NULL, wake_remote, f);
    }
    return RT_PENDING;
}

KT_TEST(runtime_block_on, wakes_from_another_thread, .timeout = 5,
        .description = "block_on sleeps until a waker is woken from another thread") {
    for (int round = 0; round < 200; round++) {
        remote_future f = {.base = {.poll = remote_poll, .name = "remote"}};
        rt_block_on(&f.base);
        pthread_join(f.thread, NULL);
        cr_assert(atomic_load(&f.done));
        cr_assert_geq(f.polls, 2, "polled again after the wake");
    }
}

/* Wakes itself from inside its poll, PENDING once: a wake during the poll. */
typedef struct self_waking {
    rt_future base;
    int polls;
} self_waking;

static rt_poll self_waking_poll(rt_future *self, rt_context *cx) {
    self_waking *f = (self_waking *)self;
    if (++f->polls >= 2)
        return RT_READY;
    rt_waker_wake_by_ref(cx->waker);
    return RT_PENDING;
}

KT_TEST(runtime_block_on, wake_during_poll_is_kept, .timeout = 5,
        .description = "a wake that arrives during the poll makes block_on poll again") {
    self_waking f = {.base = {.poll = self_waking_poll, .name = "self_waking"}};
    rt_block_on(&f.base);
    cr_assert_eq(f.polls, 2);
}

/* Another thread wakes a clone while the poll is still running. */
static void *wake_now(void *arg) {
    rt_waker *waker = arg;
    rt_waker_wake(waker);
    return NULL;
}

static rt_poll woken_meanwhile_poll(rt_future *self, rt_context *cx) {
    self_waking *f = (self_waking *)self;
    if (++f->polls >= 2)
        return RT_READY;
    rt_waker clone = rt_waker_clone(cx->waker);
    pthread_t thread;
    pthread_create(&thread, NULL, wake_now, &clone);
    pthread_join(thread, NULL); /* the wake has happened; the poll has not returned */
    return RT_PENDING;
}

KT_TEST(runtime_block_on, wake_from_thread_during_poll, .timeout = 5,
        .description = "a wake from another thread during the poll is not lost") {
    self_waking f = {.base = {.poll = woken_meanwhile_poll, .name = "woken_meanwhile"}};
    rt_block_on(&f.base);
    cr_assert_eq(f.polls, 2);
}

KT_TEST(runtime_block_on, ready_at_once, .timeout = 5,
        .description = "a future ready on its first poll is polled once and never parks") {
    self_waking f = {.base = {.poll = self_waking_poll, .name = "ready"}, .polls = 1};
    rt_block_on(&f.base);
    cr_assert_eq(f.polls, 2, "exactly one poll");
}

/* ---- the yield future ---- */

KT_TEST(runtime_block_on, yield_future, .timeout = 5,
        .description = "rt_yield_future is PENDING once, having woken itself, then READY") {
    rt_yield_future y;
    rt_yield_future_init(&y);
    rt_block_on(&y.base);
    cr_assert_eq(y.yielded, 1);
}
