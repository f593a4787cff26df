/* test_watchdog.c - at a timeout, the watchdog says which tasks wait and whose wakers live. */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_test.h"
#include "rt_test_support.h"

static kt_latch fired;
static char report[4096];

static void capture(const char *text) {
    snprintf(report, sizeof report, "%s", text);
    kt_latch_count(&fired);
}

/* Keeps its waker and is never woken: the bug the watchdog is there for. */
typedef struct sleeper {
    rt_future base;
    rt_waker kept;
    bool stored;
    kt_latch *ready;
    atomic_bool finish;
} sleeper;

static rt_poll sleeper_poll(rt_future *self, rt_context *cx) {
    sleeper *s = (sleeper *)self;
    if (!s->stored) {
        s->kept = rt_waker_clone(cx->waker);
        s->stored = true;
        kt_latch_count(s->ready);
        return RT_PENDING;
    }
    /* later polls: spurious (shake mode), or the test waking it to finish */
    return atomic_load(&s->finish) ? RT_READY : RT_PENDING;
}

KT_TEST(
    runtime_watchdog, timeout_lists_stuck_tasks, .timeout = 8,
    .description = "the watchdog report names the stuck test, the task and its waker's origin") {
    kt_latch_init(&fired);
    rt_set_watchdog_handler(capture);
    kt_latch ready;
    kt_latch_init(&ready);
    sleeper s = {.base = {.poll = sleeper_poll, .name = "sleeper"}, .ready = &ready};
    rt_executor *ex = rt_executor_new(1);
    rt_join_handle *handle = rt_spawn(ex, &s.base, "stuck-consumer");
    kt_latch_wait(&ready, 1);
    rt_watchdog_arm(0.05, "stuck_test");
    kt_latch_wait(&fired, 1);
    cr_assert(strstr(report, "timeout: stuck_test did not finish within 0.05 s") != NULL, "%s",
              report);
    cr_assert(strstr(report, "task 'stuck-consumer'") != NULL, "%s", report);
    cr_assert(strstr(report, "1 live waker") != NULL, "%s", report);
    cr_assert(strstr(report, "cloned in sleeper_poll()") != NULL, "%s", report);
    /* Let the task finish: from now on its polls answer READY. */
    atomic_store(&s.finish, true);
    rt_waker_wake(&s.kept);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
}

KT_TEST(
    runtime_watchdog, timeout_with_nothing_pending, .timeout = 5,
    .description = "with no task pending, the watchdog report says to look for a blocked thread") {
    kt_latch_init(&fired);
    rt_set_watchdog_handler(capture);
    rt_watchdog_arm(0.01, "blocked_test");
    kt_latch_wait(&fired, 1);
    cr_assert(strstr(report, "timeout: blocked_test did not finish") != NULL, "%s", report);
    cr_assert(strstr(report, "no task or block_on is running or pending") != NULL, "%s", report);
}

/* Waits inside its poll for a flag, instead of answering PENDING: the other way to hang. */
typedef struct spinner {
    rt_future base;
    kt_latch *inside;
    atomic_bool release;
} spinner;

static rt_poll spinner_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    spinner *s = (spinner *)self;
    kt_latch_count(s->inside);
    while (!atomic_load(&s->release))
        sched_yield();
    return RT_READY;
}

KT_TEST(runtime_watchdog, timeout_names_a_poll_that_never_returns, .timeout = 8,
        .description = "a task stuck inside its poll is reported as such, with what to do "
                       "instead") {
    kt_latch_init(&fired);
    rt_set_watchdog_handler(capture);
    kt_latch inside;
    kt_latch_init(&inside);
    spinner s = {.base = {.poll = spinner_poll, .name = "spinner"}, .inside = &inside};
    rt_executor *ex = rt_executor_new(1);
    rt_join_handle *handle = rt_spawn(ex, &s.base, "busy-consumer");
    kt_latch_wait(&inside, 1);
    rt_watchdog_arm(0.05, "spin_test");
    kt_latch_wait(&fired, 1);
    atomic_store(&s.release, true);
    cr_assert(strstr(report, "task 'busy-consumer' (inside its poll function right now)") != NULL,
              "%s", report);
    cr_assert(strstr(report, "a poll must answer PENDING and store the waker instead") != NULL,
              "%s", report);
    cr_assert(strstr(report, "A waker stored but never woken") == NULL,
              "the usual-cause line does not apply here:\n%s", report);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
}

KT_TEST(runtime_watchdog, poll_that_never_returns_reported_early, .timeout = 8,
        .description = "a poll that has not returned for the poll limit is reported then, long "
                       "before the timeout") {
    kt_latch_init(&fired);
    rt_set_watchdog_handler(capture);
    rt_watchdog_set_poll_limit(0.2);
    kt_latch inside;
    kt_latch_init(&inside);
    spinner s = {.base = {.poll = spinner_poll, .name = "spinner"}, .inside = &inside};
    rt_executor *ex = rt_executor_new(1);
    rt_join_handle *handle = rt_spawn(ex, &s.base, "busy-consumer");
    kt_latch_wait(&inside, 1);
    rt_watchdog_arm(6, "spin_test");
    kt_latch_wait(&fired, 1);
    atomic_store(&s.release, true);
    rt_watchdog_set_poll_limit(1.0);
    cr_assert(strstr(report, "timeout: spin_test stopped early: task 'busy-consumer' has been "
                             "inside its poll function") != NULL,
              "%s", report);
    cr_assert(strstr(report, "a poll must answer PENDING and store the waker instead") != NULL,
              "%s", report);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
}
