/* test_time.c - sleeps wake in deadline order and never early; timeouts fire or not. */
#include <stdatomic.h>
#include <stdlib.h>

#include "io_test_support.h"
#include "kt_test.h"
#include "rt_test_support.h"

/* A waker that records, in one global sequence, the order in which wakers are woken. */
enum { TIMERS = 40 };
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static int wake_seq;                   /* under order_lock, with the two arrays */
static kt_latch woken = KT_LATCH_INIT; /* counts the wakes */
static int woken_order[TIMERS];        /* woken_order[k]: the timer woken k-th */
static rt_instant woken_at[TIMERS];    /* when each timer's waker was woken */
static atomic_int live_clones[TIMERS];
static const rt_waker_vtable order_vtable;

static rt_waker order_clone(void *data) {
    atomic_fetch_add(&live_clones[(intptr_t)data], 1);
    return (rt_waker){data, &order_vtable};
}
static void order_wake_by_ref(void *data) {
    int i = (int)(intptr_t)data;
    pthread_mutex_lock(&order_lock);
    woken_at[i] = rt_time_now();
    woken_order[wake_seq++] = i;
    pthread_mutex_unlock(&order_lock);
    kt_latch_count(&woken);
}
static void order_drop(void *data) {
    atomic_fetch_sub(&live_clones[(intptr_t)data], 1);
}
static void order_wake(void *data) {
    order_drop(data); /* first: the wake lets the test go on and look at the counts */
    order_wake_by_ref(data);
}
static const rt_waker_vtable order_vtable = {order_clone, order_wake, order_wake_by_ref,
                                             order_drop};

KT_TEST(runtime_time, timers_fire_in_deadline_order, .timeout = 10,
        .description = "40 sleeps stored in shuffled order are woken in deadline order, none "
                       "before its deadline, and then READY") {
    /* Deadlines 2 ms apart, stored in an order shuffled by a fixed seed. */
    int order[TIMERS];
    for (int i = 0; i < TIMERS; i++)
        order[i] = i;
    srand(7);
    for (int i = TIMERS - 1; i > 0; i--) {
        int j = rand() % (i + 1), swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }
    static rt_sleep_future sleeps[TIMERS];
    rt_instant start = rt_time_now() + RT_MILLISECONDS(20);
    for (int k = 0; k < TIMERS; k++) {
        int i = order[k];
        rt_sleep_future_init_until(&sleeps[i], start + RT_MILLISECONDS(2) * i);
        rt_waker waker = {(void *)(intptr_t)i, &order_vtable};
        rt_context cx = rt_context_from_waker(&waker);
        cr_assert_eq(rt_future_poll(&sleeps[i].base, &cx), RT_PENDING, "sleep %d pending", i);
    }
    kt_latch_wait(&woken, TIMERS);
    pthread_mutex_lock(&order_lock); /* the records were written under it */
    for (int k = 0; k < TIMERS; k++)
        cr_assert_eq(woken_order[k], k, "the %d-th timer woken is timer %d", k, woken_order[k]);
    pthread_mutex_unlock(&order_lock);
    for (int i = 0; i < TIMERS; i++) {
        cr_assert(woken_at[i] >= sleeps[i].deadline, "timer %d woken early", i);
        cr_assert_eq(atomic_load(&live_clones[i]), 0, "the reactor let go of timer %d's waker", i);
        rt_waker waker = {(void *)(intptr_t)i, &order_vtable};
        rt_context cx = rt_context_from_waker(&waker);
        cr_assert_eq(rt_future_poll(&sleeps[i].base, &cx), RT_READY);
        rt_future_drop(&sleeps[i].base);
    }
}

KT_TEST(runtime_time, sleep_in_block_on, .timeout = 5,
        .description = "block_on on a 30 ms sleep returns, not before 30 ms") {
    rt_instant before = rt_time_now();
    rt_sleep_future sleep;
    rt_sleep_future_init(&sleep, RT_MILLISECONDS(30));
    rt_block_on(&sleep.base);
    cr_assert(rt_time_now() - before >= RT_MILLISECONDS(30));
    rt_future_drop(&sleep.base);
}

KT_TEST(runtime_time, dropped_sleep_leaves_the_heap, .timeout = 5,
        .description = "a sleep dropped before its deadline lets go of its waker; the other "
                       "timer in the heap still fires") {
    rt_waker late_waker = {(void *)(intptr_t)0, &order_vtable};
    rt_waker early_waker = {(void *)(intptr_t)1, &order_vtable};
    rt_context late_cx = rt_context_from_waker(&late_waker);
    rt_context early_cx = rt_context_from_waker(&early_waker);
    rt_sleep_future early, late;
    rt_sleep_future_init(&late, RT_SECONDS(60));
    rt_sleep_future_init(&early, RT_MILLISECONDS(20));
    cr_assert_eq(rt_future_poll(&late.base, &late_cx), RT_PENDING);
    cr_assert_eq(rt_future_poll(&early.base, &early_cx), RT_PENDING);
    cr_assert_eq(atomic_load(&live_clones[0]) + atomic_load(&live_clones[1]), 2);
    rt_future_drop(&late.base);
    cr_assert_eq(atomic_load(&live_clones[0]), 0, "the dropped sleep's waker is gone");
    kt_latch_wait(&woken, 1); /* the heap was mended: the other one fires */
    pthread_mutex_lock(&order_lock);
    cr_assert_eq(woken_order[0], 1, "the sleep that was not dropped woke");
    pthread_mutex_unlock(&order_lock);
    cr_assert_eq(rt_future_poll(&early.base, &early_cx), RT_READY);
    cr_assert_eq(atomic_load(&live_clones[1]), 0);
    rt_future_drop(&early.base);
}

/* ---- timeouts ---- */

KT_TEST(runtime_time, timeout_fires, .timeout = 5,
        .description = "a timeout around a future that never finishes is READY with timed_out, "
                       "after its duration, and drops the inner future (its waker let go)") {
    flag never;
    flag_init(&never);
    flag_future inner = flag_future_make(&never);
    rt_timeout_future t;
    rt_instant before = rt_time_now();
    rt_timeout_future_init(&t, &inner.base, RT_MILLISECONDS(30));
    rt_block_on(&t.base);
    cr_assert(t.timed_out);
    cr_assert(rt_time_now() - before >= RT_MILLISECONDS(30));
    rt_future_drop(&t.base); /* must not drop the inner future a second time */
    flag_destroy(&never);
}

static int inner_drops;
static void counted_drop(rt_future *self) {
    (void)self;
    inner_drops++;
}

KT_TEST(runtime_time, timeout_does_not_fire, .timeout = 5,
        .description = "a timeout around a future that finishes in time is READY, not timed "
                       "out, and leaves the inner future to the caller") {
    flag soon;
    flag_init(&soon);
    flag_raise(&soon);
    flag_future inner = flag_future_make(&soon);
    inner.base.drop = counted_drop;
    rt_timeout_future t;
    rt_timeout_future_init(&t, &inner.base, RT_SECONDS(60));
    rt_block_on(&t.base);
    cr_assert(!t.timed_out);
    rt_future_drop(&t.base);
    cr_assert_eq(inner_drops, 0, "the inner future finished: the caller drops it");
    flag_destroy(&soon);
}

KT_TEST(runtime_time, timeout_around_read_line, .timeout = 5,
        .description = "a timeout around a line read from a silent pipe times out; the pipe's "
                       "reader stays usable and the next line arrives") {
    test_pipe p;
    test_pipe_open(&p);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p.io), 64, &lines), RT_IO_OK);
    rt_read_line_future read;
    rt_read_line_future_init(&read, lines);
    rt_timeout_future t;
    rt_timeout_future_init(&t, &read.base, RT_MILLISECONDS(20));
    rt_block_on(&t.base);
    cr_assert(t.timed_out);
    rt_future_drop(&t.base);
    test_pipe_write(&p, "late\n", 5);
    char line[16];
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "late");
    rt_line_reader_drop(lines);
    test_pipe_close(&p);
}
