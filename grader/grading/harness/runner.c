/*
 * runner.c - the grader's test runner: one test per process, its verdict
 * out of the test's reach.
 *
 * Linked into every graded test binary instead of Criterion's runner (the
 * tests are compiled against criterion/criterion.h here, the kit's
 * stand-in with counted assertions). The grader starts one process per
 * test:
 *
 *     test_binary --list                       one "suite/name timeout" line per test
 *     test_binary --run suite/name --timeout S --result-fd N
 *
 * Why a process of its own, and no runner to talk to: with Criterion the
 * test process holds the descriptor its runner reads verdicts from, and the
 * standard FILE objects (plain data) can be pointed at it. Here the test
 * process keeps only standard output and error for the student's prints,
 * and the result descriptor, which it moves to fd 3 before any student code
 * runs; the system-call filter (seccomp_gen.c) then lets write(2) reach only
 * fds 1 and 2 and pwrite(2) only fd 3, and stdio never calls pwrite. The
 * record it writes there at the end ("pass <id> <assertions> <threads> <cpu us>") is
 * believed only together with the exit status the kernel reports to the
 * grader, and the assertion count is compared with the reference's.
 *
 * Exit statuses: 0 passed (and the record written), 1 an assertion failed,
 * 77 skipped, 86 the process ended in the middle of the test (exit() called
 * by the code under test), 87 the runner could not start the test, 88 the
 * record could not be written (the code under test closed its descriptor).
 * In an AddressSanitizer build, 67 is the sanitizer's: an error it stopped
 * the test at, or a leak LeakSanitizer found when the test was over (the
 * runner asks for that check itself, since it ends with _exit(), which
 * skips the sanitizer's own check at exit).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "seccomp_filter.h" /* kt_grade_filter[], made by seccomp_gen.c for this build */

#if defined(__SANITIZE_ADDRESS__)
#define KT_GRADE_ASAN 1
#include <sanitizer/lsan_interface.h>
#endif

enum {
    EXIT_PASSED = 0,
    EXIT_FAILED = 1,
    EXIT_SKIPPED = 77,
    EXIT_UNFINISHED = 86,
    EXIT_UNUSABLE = 87,
    EXIT_NO_RECORD = 88,
    EXIT_SANITIZER = 67, /* ASAN_OPTIONS exitcode, set by the grader */
    RESULT_FD = 3,
};

const struct criterion_test *criterion_current_test;

static struct criterion_test **tests;
static size_t test_count, test_cap;
static atomic_ulong assertions;
static atomic_ulong threads_started;
static atomic_int expect_failed;
static volatile sig_atomic_t finished;

void kt_mini_register(struct criterion_test *test) {
    if (test_count == test_cap) {
        test_cap = test_cap ? test_cap * 2 : 64;
        tests = realloc(tests, test_cap * sizeof *tests);
        if (tests == NULL)
            abort();
    }
    tests[test_count++] = test;
}

void kt_grade_count_assertion(void) {
    atomic_fetch_add_explicit(&assertions, 1, memory_order_relaxed);
}

void kt_mini_fail(const char *file, int line, int fatal, const char *expr, const char *format,
                  ...) {
    fprintf(stderr, "[----] %s:%d: Assertion Failed\n[----]   %s\n", file, line, expr);
    if (format[0] != '\0') {
        va_list args;
        va_start(args, format);
        fputs("[----]   ", stderr);
        vfprintf(stderr, format, args);
        fputc('\n', stderr);
        va_end(args);
    }
    fflush(stderr);
    if (fatal)
        _exit(EXIT_FAILED);
    atomic_store(&expect_failed, 1);
}

_Noreturn void kt_mini_skip(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("[SKIP] ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    fflush(stderr);
    _exit(EXIT_SKIPPED);
}

void kt_mini_log(const char *level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

/* Threads the test started (linked with --wrap=pthread_create): the grader runs
 * the tests that start threads once more under ThreadSanitizer. */
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                          void *arg);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                          void *arg) {
    atomic_fetch_add_explicit(&threads_started, 1, memory_order_relaxed);
    return __real_pthread_create(thread, attr, start, arg);
}

/* exit() during the test (an atexit handler runs; _exit() does not): not a pass. */
static void at_exit_guard(void) {
    if (!finished) {
        fputs("[grader] the process ended in the middle of the test (exit() called?)\n", stderr);
        fflush(stderr);
        _exit(EXIT_UNFINISHED);
    }
}

static _Noreturn void unusable(const char *why) {
    fprintf(stderr, "[grader] runner: %s\n", why);
    _exit(EXIT_UNUSABLE);
}

/* Only fds 0, 1, 2 and the result fd survive, the result fd as fd 3. */
static void keep_only_our_descriptors(int result_fd) {
    if (result_fd != RESULT_FD) {
        if (dup2(result_fd, RESULT_FD) < 0)
            unusable("cannot move the result descriptor");
        close(result_fd);
    }
    int fd_flags = fcntl(RESULT_FD, F_GETFD);
    if (fd_flags < 0 || fcntl(RESULT_FD, F_SETFD, fd_flags | FD_CLOEXEC) < 0)
        unusable("cannot mark the result descriptor");
    if (syscall(SYS_close_range, RESULT_FD + 1, ~0U, 0) != 0) {
        for (int fd = RESULT_FD + 1; fd < 1024; fd++)
            close(fd);
    }
}

static void confine(void) {
    struct sock_fprog prog = {
        .len = (unsigned short)(sizeof kt_grade_filter / sizeof kt_grade_filter[0]),
        .filter = (struct sock_filter *)kt_grade_filter,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        unusable("cannot set no_new_privs");
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        unusable("cannot install the system-call filter");
}

/* Processor time this process used, in microseconds. The grader cannot see it from outside:
 * bubblewrap's process in between reaps the test, so wait4's usage stays bubblewrap's own. */
static unsigned long cpu_microseconds(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0)
        return 0;
    return (unsigned long)t.tv_sec * 1000000ul + (unsigned long)t.tv_nsec / 1000ul;
}

static void write_record(const char *id) {
    char record[600];
    int n = snprintf(record, sizeof record, "pass %s %lu %lu %lu\n", id,
                     (unsigned long)atomic_load(&assertions),
                     (unsigned long)atomic_load(&threads_started), cpu_microseconds());
    if (n <= 0 || (size_t)n >= sizeof record)
        unusable("test id too long");
    if (pwrite(RESULT_FD, record, (size_t)n, 0) != n) {
        fputs("[grader] runner: the result descriptor is gone (closed by the code under test?)\n",
              stderr);
        _exit(EXIT_NO_RECORD);
    }
}

/* --race-selftest FD: two threads write one variable, under the filter, as a racy submission
 * would. Under ThreadSanitizer this must produce a symbolized race report: the grader's
 * canary checks that reports work in this sandbox before it trusts their absence. */
static int selftest_shared;

static void *selftest_writer(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++)
        selftest_shared++;
    return NULL;
}

static _Noreturn void race_selftest(int result_fd) {
    keep_only_our_descriptors(result_fd);
    confine();
    pthread_t a, b;
    pthread_create(&a, NULL, selftest_writer, NULL);
    pthread_create(&b, NULL, selftest_writer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    fflush(NULL);
    _exit(selftest_shared > 0 ? EXIT_PASSED : EXIT_FAILED);
}

#ifdef KT_GRADE_ASAN
/* --asan-selftest leak|uaf FD: under the filter, a block lost (found by the leak check, which
 * stops the world with ptrace) or read after it was freed. The grader's canary checks that both
 * are reported in this sandbox before it trusts their absence. */
static void *volatile selftest_block;

static __attribute__((noinline)) void selftest_leak(void) {
    selftest_block = malloc(48);
    selftest_block = NULL;
}

/* The leak is made on a thread that has ended by the leak check: LeakSanitizer scans the live
 * threads' stacks and registers, where a stale copy of the pointer would keep the block
 * reachable in some builds and runs, and the self-test would then miss it by chance. */
static void *selftest_leak_thread(void *arg) {
    (void)arg;
    selftest_leak();
    return NULL;
}

static __attribute__((noinline)) int selftest_use_after_free(void) {
    int *block = malloc(sizeof *block * 4);
    selftest_block = block;
    free(block);
    return ((int *volatile)selftest_block)[1];
}

static _Noreturn void asan_selftest(const char *what, int result_fd) {
    keep_only_our_descriptors(result_fd);
    confine();
    if (strcmp(what, "uaf") == 0)
        _exit(selftest_use_after_free() == 12345 ? EXIT_PASSED : EXIT_FAILED);
    pthread_t leaker;
    if (pthread_create(&leaker, NULL, selftest_leak_thread, NULL) != 0)
        unusable("cannot start the leak self-test's thread");
    pthread_join(leaker, NULL);
    _exit(__lsan_do_recoverable_leak_check() ? EXIT_SANITIZER : EXIT_PASSED);
}
#endif

int main(int argc, char **argv) {
    /* The self-tests name their result descriptor as a test does (whatever number it has). */
    if (argc == 3 && strcmp(argv[1], "--race-selftest") == 0)
        race_selftest(atoi(argv[2]));
#ifdef KT_GRADE_ASAN
    if (argc == 4 && strcmp(argv[1], "--asan-selftest") == 0)
        asan_selftest(argv[2], atoi(argv[3]));
#endif
    const char *run = NULL;
    double timeout = 0;
    int result_fd = -1;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
            run = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout = atof(argv[++i]);
        else if (strcmp(argv[i], "--result-fd") == 0 && i + 1 < argc)
            result_fd = atoi(argv[++i]);
        else
            unusable("usage: --list | --run suite/name --timeout S --result-fd N");
    }
    if (list) {
        for (size_t i = 0; i < test_count; i++)
            if (!tests[i]->data->disabled)
                printf("%s/%s %g\n", tests[i]->category, tests[i]->name, tests[i]->data->timeout);
        return 0;
    }
    if (run == NULL || result_fd < 0)
        unusable("name a test (--run) and the result descriptor (--result-fd)");
    struct criterion_test *test = NULL;
    for (size_t i = 0; i < test_count; i++) {
        char id[512];
        snprintf(id, sizeof id, "%s/%s", tests[i]->category, tests[i]->name);
        if (strcmp(id, run) == 0)
            test = tests[i];
    }
    if (test == NULL)
        unusable("no such test");
    keep_only_our_descriptors(result_fd);
    /* The watchdog (kt_test_setup) fires a little before this, with its diagnosis;
     * the interval timer is the backstop, the grader's wall clock the last word. */
    if (timeout > 0)
        test->data->timeout = timeout;
    criterion_current_test = test;
    if (test->data->timeout > 0) {
        double t = test->data->timeout + 0.5;
        struct itimerval timer = {{0, 0}, {(time_t)t, (suseconds_t)((t - (time_t)t) * 1e6)}};
        setitimer(ITIMER_REAL, &timer, NULL); /* SIGALRM's default action ends the test */
    }
    if (atexit(at_exit_guard) != 0)
        unusable("atexit");
    fflush(NULL);
    confine();
    if (test->data->init)
        test->data->init();
    test->test();
    if (test->data->fini)
        test->data->fini();
    finished = 1;
    fflush(NULL);
    if (atomic_load(&expect_failed))
        _exit(EXIT_FAILED);
#ifdef KT_GRADE_ASAN
    if (__lsan_do_recoverable_leak_check())
        _exit(EXIT_SANITIZER);
#endif
    write_record(run);
    _exit(EXIT_PASSED);
}
