/* test_shutdown.c - shutdown cancels what is left: every future dropped once, nothing leaked. */
#include <stdatomic.h>

#include "kt_test.h"
#include "rt_test_support.h"

static atomic_int diagnoses;

static void count_diagnosis(const rt_diagnosis *d) {
    (void)d;
    atomic_fetch_add(&diagnoses, 1);
}

/* Waits forever on its own flag; its drop lets go of the flag's stored waker. */
typedef struct stuck {
    rt_future base;
    flag flag;
    kt_latch *polled;
    bool counted;
    atomic_int drops;
    rt_waker other; /* a waker of another task, woken when this one is dropped */
} stuck;

static rt_poll stuck_poll(rt_future *self, rt_context *cx) {
    stuck *s = (stuck *)self;
    rt_poll result = flag_poll(&s->flag, cx);
    if (!s->counted) {
        s->counted = true;
        kt_latch_count(s->polled);
    }
    return result;
}

static void stuck_drop(rt_future *self) {
    stuck *s = (stuck *)self;
    atomic_fetch_add(&s->drops, 1);
    rt_waker_wake(&s->other); /* a dropped future may wake others: must be harmless */
    flag_destroy(&s->flag);
}

enum { STUCK = 50 };

KT_TEST(runtime_shutdown, pending_tasks_are_cancelled, .timeout = 8,
        .description = "shutdown drops each pending task's future once; joins say CANCELLED") {
    rt_set_diagnosis_handler(count_diagnosis);
    static stuck tasks[STUCK];
    rt_join_handle *handles[STUCK];
    kt_latch polled;
    kt_latch_init(&polled);
    rt_executor *ex = rt_executor_new(2);
    for (int i = 0; i < STUCK; i++) {
        tasks[i] = (stuck){.base = {.poll = stuck_poll, .drop = stuck_drop, .name = "stuck"},
                           .polled = &polled};
        flag_init(&tasks[i].flag);
        handles[i] = rt_spawn(ex, &tasks[i].base, "stuck");
    }
    kt_latch_wait(&polled, STUCK); /* every task is pending now */
    rt_executor_shutdown(ex);
    for (int i = 0; i < STUCK; i++) {
        cr_assert_eq(atomic_load(&tasks[i].drops), 1, "task %d dropped once", i);
        cr_assert_eq(rt_join(handles[i]), RT_TASK_CANCELLED);
    }
    cr_assert_eq(atomic_load(&diagnoses), 0, "cancelling is not a lost waker");
}

KT_TEST(runtime_shutdown, dropped_futures_wake_others, .timeout = 8,
        .description = "futures that wake other cancelled tasks while dropped cause no harm") {
    rt_set_diagnosis_handler(count_diagnosis);
    static stuck tasks[STUCK];
    rt_join_handle *handles[STUCK];
    kt_latch polled;
    kt_latch_init(&polled);
    rt_executor *ex = rt_executor_new(2);
    for (int i = 0; i < STUCK; i++) {
        tasks[i] = (stuck){.base = {.poll = stuck_poll, .drop = stuck_drop, .name = "stuck"},
                           .polled = &polled};
        flag_init(&tasks[i].flag);
        handles[i] = rt_spawn(ex, &tasks[i].base, "stuck");
    }
    kt_latch_wait(&polled, STUCK);
    /* Each task's drop wakes the next task's waker, taken from its flag. */
    for (int i = 0; i < STUCK; i++) {
        flag *next = &tasks[(i + 1) % STUCK].flag;
        pthread_mutex_lock(&next->lock);
        tasks[i].other = rt_waker_take(&next->waiter);
        pthread_mutex_unlock(&next->lock);
    }
    /* The tasks have no waker left in their flags now, but each is still
     * held (in another task's `other`), so none is lost. */
    rt_executor_shutdown(ex);
    for (int i = 0; i < STUCK; i++) {
        cr_assert_eq(atomic_load(&tasks[i].drops), 1);
        cr_assert_eq(rt_join(handles[i]), RT_TASK_CANCELLED);
    }
    cr_assert_eq(atomic_load(&diagnoses), 0);
}

/* Ready at once; counts its drops. */
typedef struct quick {
    rt_future base;
    atomic_int drops;
    atomic_int polls;
} quick;

static rt_poll quick_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    atomic_fetch_add(&((quick *)self)->polls, 1);
    return RT_READY;
}

static void quick_drop(rt_future *self) {
    atomic_fetch_add(&((quick *)self)->drops, 1);
}

enum { QUICK = 2000 };

KT_TEST(runtime_shutdown, shutdown_races_with_running_tasks, .timeout = 8,
        .description = "shutdown while tasks still run: each is completed or cancelled, once") {
    static quick tasks[QUICK];
    static rt_join_handle *handles[QUICK];
    rt_executor *ex = rt_executor_new(2);
    for (int i = 0; i < QUICK; i++) {
        tasks[i] = (quick){.base = {.poll = quick_poll, .drop = quick_drop, .name = "quick"}};
        handles[i] = rt_spawn(ex, &tasks[i].base, "quick");
    }
    rt_executor_shutdown(ex);
    for (int i = 0; i < QUICK; i++) {
        rt_task_outcome outcome = rt_join(handles[i]);
        cr_assert_eq(atomic_load(&tasks[i].drops), 1, "task %d dropped once", i);
        cr_assert_eq(atomic_load(&tasks[i].polls), outcome == RT_TASK_COMPLETED ? 1 : 0,
                     "polled once if completed, never if cancelled");
    }
}

/* ---- a plain thread waking a task while the executor shuts down ---- */

typedef struct waker_thread_args {
    rt_waker waker;
    atomic_bool stop;
    kt_latch started;
} waker_thread_args;

static void *keep_waking(void *arg) {
    waker_thread_args *a = arg;
    kt_latch_count(&a->started);
    while (!atomic_load(&a->stop))
        rt_waker_wake_by_ref(&a->waker);
    rt_waker_drop(&a->waker);
    return NULL;
}

/* Never ready; stores a clone for the waking thread on its first poll. */
typedef struct wakeable {
    rt_future base;
    waker_thread_args *args;
    pthread_t thread;
    bool started;
    atomic_int drops;
} wakeable;

static rt_poll wakeable_poll(rt_future *self, rt_context *cx) {
    wakeable *w = (wakeable *)self;
    if (!w->started) {
        w->started = true;
        w->args->waker = rt_waker_clone(cx->waker);
        pthread_create(&w->thread, NULL, keep_waking, w->args);
    }
    return RT_PENDING;
}

static void wakeable_drop(rt_future *self) {
    atomic_fetch_add(&((wakeable *)self)->drops, 1);
}

KT_TEST(runtime_shutdown, wakes_during_shutdown, .timeout = 8,
        .description = "a thread waking a task throughout shutdown touches no freed memory") {
    waker_thread_args args = {.waker = RT_WAKER_NONE};
    kt_latch_init(&args.started);
    wakeable w = {.base = {.poll = wakeable_poll, .drop = wakeable_drop, .name = "wakeable"},
                  .args = &args};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &w.base, "wakeable");
    kt_latch_wait(&args.started, 1);
    rt_executor_shutdown(ex);
    atomic_store(&args.stop, true);
    pthread_join(w.thread, NULL);
    cr_assert_eq(rt_join(handle), RT_TASK_CANCELLED);
    cr_assert_eq(atomic_load(&w.drops), 1);
}
