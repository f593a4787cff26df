/*
 * rt_watchdog.h - a last word before a timeout kills the process.
 *
 * A waker that is stored but never woken cannot be seen as it happens: the
 * task just waits. Test harnesses kill such a test at its timeout, and the
 * student sees only "timed out". The watchdog fires shortly before that
 * (kt_test.h arms it from each test's .timeout): it reports what did not
 * finish, every task and block_on call still known to the runtime, whether
 * each is pending, what it waits on and where its live wakers were cloned,
 * then aborts. The report looks like
 *
 *     timeout: fifo_order did not finish within 1.70 s. Still waiting:
 *       pending: task 'consumer' in mpsc_recv, 1 live waker (newest cloned
 *       in mpsc_receiver_poll_recv() at mpsc.c:88: stored there, never woken?)
 *       A waker stored but never woken, ... is the usual cause.
 *
 * One watchdog serves the whole process; it runs on a thread of its own,
 * started at the first rt_watchdog_arm.
 */
#ifndef RT_WATCHDOG_H
#define RT_WATCHDOG_H

/*
 * Arms the watchdog to fire after `seconds`, replacing any earlier arming.
 * `what` (e.g. the test's name) is named in the report; it is not copied
 * and must stay valid while armed.
 */
void rt_watchdog_arm(double seconds, const char *what);

/* Disarms the watchdog (a test that finished in time). */
void rt_watchdog_disarm(void);

/*
 * While armed, the watchdog also looks every quarter of `seconds` for a
 * task or block_on call that has been inside one poll call for `seconds`
 * (default 1; 0 turns the look off) and fires at once when it finds one:
 *
 *     timeout: spin_test stopped early: task 'consumer' has been inside its
 *     poll function for 1.0 s (a poll that never returns). ...
 *
 * A poll returns in microseconds; one that has not returned for a second
 * loops or blocks, and waiting for the test's timeout would teach nothing.
 */
void rt_watchdog_set_poll_limit(double seconds);

/* What to do with the report when the watchdog fires. */
typedef void (*rt_watchdog_handler)(const char *report);

/*
 * Replaces the action taken when the watchdog fires; returns the previous
 * one. NULL restores the default: print the report on stderr and abort().
 * When a handler returns, the watchdog is disarmed and the program goes on.
 * The kit's own tests use this to check the report.
 */
rt_watchdog_handler rt_set_watchdog_handler(rt_watchdog_handler handler);

#endif
