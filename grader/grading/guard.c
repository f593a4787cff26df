/*
 * guard.c - linked into every graded test binary, never into a student's.
 *
 * Criterion counts a test whose process exits with status 0 as passed,
 * even when the test body never finished: a student's exit(0) inside a
 * test would pass it. The symbol check rejects exit() already; this is the
 * second lock. The kit's fixtures are wrapped (ld --wrap): setup notes that
 * a test started, teardown that it finished, and an exit handler turns an
 * exit between the two into a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void __real_kt_test_setup(void);
void __real_kt_test_teardown(void);

static volatile int guard_started, guard_finished;

static void guard_at_exit(void) {
    if (guard_started && !guard_finished) {
        fputs("[grader] the process ended in the middle of the test (exit() called?)\n", stderr);
        fflush(stderr);
        _exit(86);
    }
}

void __wrap_kt_test_setup(void) {
    guard_started = 1;
    atexit(guard_at_exit);
    __real_kt_test_setup();
}

void __wrap_kt_test_teardown(void) {
    guard_finished = 1;
    __real_kt_test_teardown();
}
