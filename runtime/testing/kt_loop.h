/*
 * kt_loop.h - a test process's side of the student loop (`make test`).
 *
 * runtime/tools/run_tests.py runs the test binary and prints each test's
 * outcome as one block, in the course's order. For that it sets, for the
 * test processes:
 *
 *   KT_LOOP_DIR       a folder: each test writes what it prints (stdout and
 *                     stderr) to <dir>/<suite>.<name>.log, and its time to
 *                     <dir>/<suite>.<name>.time when it finished;
 *   KT_LOOP_TIMEOUTS  "suite/name=seconds[:threaded] ..." the student-loop
 *                     timeout of each test, fitted to what the reference
 *                     needs (exercises/<ex>/tests/timeouts): the watchdog
 *                     stops a test that runs longer, long before its
 *                     Criterion .timeout (which stays as the grader's);
 *
 * and a threaded test that starts after another test hung (the watchdog
 * fired) is skipped, naming the test that hung: the same cause would cost
 * the student a timeout again. After a poll that never returned, every test
 * that starts later is skipped: each would call that poll again. Without
 * KT_LOOP_DIR nothing changes.
 */
#ifndef KT_LOOP_H
#define KT_LOOP_H

#include "rt_poll.h"

/*
 * Called by kt_test_setup in the test's process, before the watchdog is
 * armed: redirects the output, may change *watchdog_seconds to the
 * student-loop timeout, and skips the test (cr_skip_test) when a threaded
 * test hung before it.
 */
void kt_loop_begin(const char *suite, const char *name, double *watchdog_seconds);

/* Called by kt_test_teardown: notes the test's time. */
void kt_loop_end(void);

/*
 * A test that calls a student's poll function by hand (not through a task
 * or block_on, which the runtime watches) brackets the call, so that a poll
 * that never returns is named as such when the test is stopped:
 *
 *     kt_poll_enter("mpsc_receiver_poll_recv");
 *     return kt_poll_exit(mpsc_receiver_poll_recv(receiver, &cx, message, result));
 */
void kt_poll_enter(const char *function);

/* Ends the bracket of kt_poll_enter; returns `result`. */
rt_poll kt_poll_exit(rt_poll result);

#endif
