/* test_join.c - join handles: blocking joins, joins from a task, and detached tasks. */
#include <stdatomic.h>

#include "kt_test.h"
#include "rt_test_support.h"

/* READY once its flag is raised; counts its drops. */
typedef struct droppable {
    rt_future base;
    flag *flag;
    atomic_int drops;
    atomic_bool ran;
} droppable;

static rt_poll droppable_poll(rt_future *self, rt_context *cx) {
    droppable *d = (droppable *)self;
    if (d->flag != NULL && flag_poll(d->flag, cx) == RT_PENDING)
        return RT_PENDING;
    atomic_store(&d->ran, true);
    return RT_READY;
}

static void droppable_drop(rt_future *self) {
    atomic_fetch_add(&((droppable *)self)->drops, 1);
}

static droppable droppable_make(flag *f) {
    return (droppable){
        .base = {.poll = droppable_poll, .drop = droppable_drop, .name = "droppable"}, .flag = f};
}

KT_TEST(runtime_join, join_reports_completion, .timeout = 5,
        .description = "rt_join waits for the task, says COMPLETED, and the future is dropped") {
    flag f;
    flag_init(&f);
    droppable d = droppable_make(&f);
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &d.base, "worker-task");
    cr_assert_str_eq(rt_join_handle_name(handle), "worker-task");
    flag_raise(&f);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    cr_assert(atomic_load(&d.ran));
    cr_assert_eq(atomic_load(&d.drops), 1, "the future was dropped once, before join returned");
    rt_executor_shutdown(ex);
    cr_assert_eq(atomic_load(&d.drops), 1);
    flag_destroy(&f);
}

KT_TEST(runtime_join, unnamed_task, .timeout = 5,
        .description = "a task spawned with a NULL name is called \"task\"") {
    droppable d = droppable_make(NULL);
    rt_executor *ex = rt_executor_new(1);
    rt_join_handle *handle = rt_spawn(ex, &d.base, NULL);
    cr_assert_str_eq(rt_join_handle_name(handle), "task");
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
}

/* Awaits another task's join handle, then lets go of it. */
typedef struct joiner {
    rt_future base;
    rt_async co;
    rt_join_handle *handle;
    rt_task_outcome outcome;
    flag *started;
} joiner;

static rt_poll joiner_poll(rt_future *self, rt_context *cx) {
    joiner *j = (joiner *)self;
    RT_ASYNC_BEGIN(&j->co);
    flag_raise(j->started);
    RT_AWAIT_POLL(&j->co, cx, rt_join_handle_poll(j->handle, cx, &j->outcome));
    rt_join_handle_drop(j->handle);
    RT_ASYNC_END(&j->co);
}

KT_TEST(runtime_join, join_handle_awaited_by_a_task, .timeout = 5,
        .description = "a task awaiting another's join handle wakes when that task ends") {
    flag go, started;
    flag_init(&go);
    flag_init(&started);
    droppable d = droppable_make(&go);
    rt_executor *ex = rt_executor_new(2);
    joiner j = {.base = {.poll = joiner_poll, .name = "joiner"},
                .handle = rt_spawn(ex, &d.base, "awaited"),
                .outcome = RT_TASK_CANCELLED,
                .started = &started};
    rt_join_handle *hj = rt_spawn(ex, &j.base, "joiner");
    flag_future wait_started = flag_future_make(&started);
    rt_block_on(&wait_started.base); /* the joiner is now waiting (or about to) */
    flag_raise(&go);
    cr_assert_eq(rt_join(hj), RT_TASK_COMPLETED);
    cr_assert_eq(j.outcome, RT_TASK_COMPLETED);
    cr_assert_eq(atomic_load(&d.drops), 1);
    rt_executor_shutdown(ex);
    flag_destroy(&go);
    flag_destroy(&started);
}

KT_TEST(runtime_join, detached_task_runs_on, .timeout = 5,
        .description = "a detached task, run or cancelled at shutdown, is dropped exactly once") {
    flag go;
    flag_init(&go);
    droppable d = droppable_make(&go);
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle_drop(rt_spawn(ex, &d.base, "detached"));
    flag_raise(&go);
    rt_executor_shutdown(ex); /* the task may or may not have run by now */
    cr_assert_eq(atomic_load(&d.drops), 1, "run or cancelled, the future is dropped exactly once");
    flag_destroy(&go);
}

/* Raises a flag as its last act, so that a detached task can be waited for. */
typedef struct announcer {
    rt_future base;
    flag *done;
    atomic_int drops;
} announcer;

static rt_poll announcer_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    flag_raise(((announcer *)self)->done);
    return RT_READY;
}

static void announcer_drop(rt_future *self) {
    atomic_fetch_add(&((announcer *)self)->drops, 1);
}

KT_TEST(runtime_join, detached_task_completes, .timeout = 5,
        .description = "a detached task runs to the end without anyone joining it") {
    flag done;
    flag_init(&done);
    announcer a = {.base = {.poll = announcer_poll, .drop = announcer_drop, .name = "announcer"},
                   .done = &done};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle_drop(rt_spawn(ex, &a.base, "announcer"));
    flag_future wait = flag_future_make(&done);
    rt_block_on(&wait.base);
    rt_executor_shutdown(ex);
    cr_assert_eq(atomic_load(&a.drops), 1);
    flag_destroy(&done);
}
