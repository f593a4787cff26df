/*
 * runner.c - the grader's test runner: each test in a process of its own,
 * its verdict out of the test's reach.
 *
 * Linked into every graded test binary instead of Criterion's runner (the
 * tests are compiled against criterion/criterion.h here, the kit's
 * stand-in with counted assertions):
 *
 *     test_binary --list        one "suite/name timeout" line per test
 *     test_binary --result-fd N [--output-cap B] --run suite/name --timeout S [--cpu C]
 *                 [--explore SEED] ...
 *
 * With --run, the process is a small trusted server: for each test named,
 * in order, it forks a child that runs exactly that test and waits for it.
 * Starting the sandbox and a sanitizer's runtime is paid once for all the
 * tests named, not once per test, and every test still starts from the
 * same fresh state (the child is a copy of a process no student code has
 * run in: the symbol policy refuses constructors).
 *
 * Why the verdict is out of the test's reach: the child keeps only its own
 * standard output and error (each an unnamed file of its own) and the
 * record descriptor, an unnamed file moved to fd 3, before any student code
 * runs; the system-call filter (seccomp_gen.c) then lets write(2) reach
 * only fds 1 and 2 and pwrite(2) only fd 3, and stdio never calls pwrite.
 * The record the child writes at the end ("pass <id> <assertions> <threads>
 * <cpu us>") is believed only together with the child's exit status, which
 * the kernel reports to the server. The server is not dumpable, so a child
 * cannot trace it or open its memory. The server writes its own report to
 * the result descriptor N, which no child holds:
 *
 *     start <id>\n
 *     end <id> exit|signal <n> <stopped> <wall us> <cpu us> <out size> <out kept>
 *         <err size> <err kept> <record size>\n   (one line), then the kept bytes of the
 *         child's output, error and record; <stopped> is 0 when the child ended by itself,
 *         1 when the server killed it past its deadline, 2 past its processor-time limit
 *
 * A child that ends the server (a signal) leaves a "start" without its "end":
 * the grader then runs that test alone, and the tests after it again.
 *
 * Exit statuses of a child: 0 passed (and the record written), 1 an
 * assertion failed, 77 skipped, 86 the process ended in the middle of the
 * test (exit() called by the code under test), 87 the runner could not
 * start the test, 88 the record could not be written (the code under test
 * closed its descriptor). In an AddressSanitizer build, 67 is the
 * sanitizer's: an error it stopped the test at, or a leak LeakSanitizer
 * found when the test was over (the runner asks for that check itself,
 * since it ends with _exit(), which skips the sanitizer's own check at
 * exit). The server itself exits 0 after the last test, 87 when it cannot
 * run them at all.
 *
 * The sanitizer self-tests are tests of the same kind, run the same way:
 * @selftest/race (a deliberate data race, for ThreadSanitizer), and in an
 * AddressSanitizer build @selftest/leak and @selftest/uaf. The grader's
 * canary checks that they are reported in this sandbox before it trusts
 * the absence of reports.
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seccomp_filter.h" /* kt_grade_filter[]: seccomp_gen.c writes it for each build */

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
    RECORD_FD = 3,
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
    fflush(stderr);
    _exit(EXIT_UNUSABLE);
}

/* In the child: the output, error and record files as fds 1, 2 and 3, nothing else open. */
static void keep_only_our_descriptors(int out_fd, int err_fd, int record_fd) {
    if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
        unusable("cannot attach the test's output");
    if (record_fd != RECORD_FD && dup2(record_fd, RECORD_FD) < 0)
        unusable("cannot move the record descriptor");
    int fd_flags = fcntl(RECORD_FD, F_GETFD);
    if (fd_flags < 0 || fcntl(RECORD_FD, F_SETFD, fd_flags | FD_CLOEXEC) < 0)
        unusable("cannot mark the record descriptor");
    if (syscall(SYS_close_range, RECORD_FD + 1, ~0U, 0) != 0) {
        for (int fd = RECORD_FD + 1; fd < 1024; fd++)
            close(fd);
    }
}

static void confine(void) {
    struct sock_fprog prog = {
        .len = kt_grade_filter_length,
        .filter = (struct sock_filter *)kt_grade_filter,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        unusable("cannot set no_new_privs");
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        unusable("cannot install the system-call filter");
}

/* Processor time this process used, in microseconds (the test's own figure, in its record). */
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
    if (pwrite(RECORD_FD, record, (size_t)n, 0) != n) {
        fputs("[grader] runner: the record descriptor is gone (closed by the code under test?)\n",
              stderr);
        _exit(EXIT_NO_RECORD);
    }
}

/* @selftest/race: two threads write one variable, under the filter, as a racy submission would.
 * Under ThreadSanitizer this must produce a symbolized race report. */
static int selftest_shared;

static void *selftest_writer(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++)
        selftest_shared++;
    return NULL;
}

static void race_selftest(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, selftest_writer, NULL);
    pthread_create(&b, NULL, selftest_writer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    fflush(NULL);
    _exit(selftest_shared > 0 ? EXIT_PASSED : EXIT_FAILED);
}

#ifdef KT_GRADE_ASAN
/* @selftest/leak and @selftest/uaf: under the filter, a block lost (found by the leak check,
 * which stops the world with ptrace) or read after it was freed. */
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

static void leak_selftest(void) {
    pthread_t leaker;
    if (pthread_create(&leaker, NULL, selftest_leak_thread, NULL) != 0)
        unusable("cannot start the leak self-test's thread");
    pthread_join(leaker, NULL);
    _exit(__lsan_do_recoverable_leak_check() ? EXIT_SANITIZER : EXIT_PASSED);
}

static void uaf_selftest(void) {
    _exit(selftest_use_after_free() == 12345 ? EXIT_PASSED : EXIT_FAILED);
}
#endif

/* One test to run: a registered test, or a self-test's body. */
struct job {
    const char *id;
    struct criterion_test *test;
    void (*selftest)(void);
    double timeout;      /* wall-clock seconds, 0: the test's declared timeout */
    double cpu;          /* processor seconds the child may use, 0: the sandbox's limit */
    const char *explore; /* the schedule explorer's seed for this test (KT_EXPLORE), or NULL */
};

static int find_job(struct job *job) {
    static const struct {
        const char *id;
        void (*body)(void);
    } selftests[] = {
        {"@selftest/race", race_selftest},
#ifdef KT_GRADE_ASAN
        {"@selftest/leak", leak_selftest},
        {"@selftest/uaf", uaf_selftest},
#endif
    };
    for (size_t i = 0; i < sizeof selftests / sizeof selftests[0]; i++)
        if (strcmp(job->id, selftests[i].id) == 0) {
            job->selftest = selftests[i].body;
            return 1;
        }
    for (size_t i = 0; i < test_count; i++) {
        char id[512];
        snprintf(id, sizeof id, "%s/%s", tests[i]->category, tests[i]->name);
        if (strcmp(id, job->id) == 0) {
            job->test = tests[i];
            return 1;
        }
    }
    return 0;
}

/* The child: exactly one test, confined, reporting through fd 3 and its exit status. */
static _Noreturn void run_in_child(struct job *job, int out_fd, int err_fd, int record_fd) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGXFSZ, SIG_DFL); /* output past the file-size limit ends the test, as it would alone */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* LeakSanitizer's tracer attaches to this process's threads: this one may be traced by its
     * own uid (the server, which stays undumpable, may not). */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (job->cpu > 0) { /* the backstop of the server's finer watch (wait_child) */
        struct rlimit cpu;
        if (getrlimit(RLIMIT_CPU, &cpu) == 0) {
            rlim_t soft = (rlim_t)job->cpu + 1;
            if (cpu.rlim_max != RLIM_INFINITY && soft + 1 > cpu.rlim_max)
                soft = cpu.rlim_max > 1 ? cpu.rlim_max - 1 : cpu.rlim_max;
            cpu.rlim_cur = soft;
            cpu.rlim_max = soft + 1;
            setrlimit(RLIMIT_CPU, &cpu);
        }
    }
    keep_only_our_descriptors(out_fd, err_fd, record_fd);
    if (job->explore != NULL && setenv("KT_EXPLORE", job->explore, 1) != 0)
        unusable("cannot set the explorer's seed");
    struct criterion_test *test = job->test;
    /* The watchdog (kt_test_setup) fires a little before this, with its diagnosis; the interval
     * timer is the backstop, the server's deadline the last word. */
    if (test != NULL && job->timeout > 0)
        test->data->timeout = job->timeout;
    double timeout = test != NULL ? test->data->timeout : job->timeout;
    if (timeout > 0) {
        double t = timeout + 0.5;
        struct itimerval timer = {{0, 0}, {(time_t)t, (suseconds_t)((t - (time_t)t) * 1e6)}};
        setitimer(ITIMER_REAL, &timer, NULL); /* SIGALRM's default action ends the test */
    }
    if (atexit(at_exit_guard) != 0)
        unusable("atexit");
    fflush(NULL);
    confine();
    if (job->selftest != NULL)
        job->selftest(); /* ends the process */
    criterion_current_test = test;
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
    write_record(job->id);
    _exit(EXIT_PASSED);
}

static void write_all(int fd, const void *data, size_t size) {
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            unusable("cannot write the report (the result file is full?)");
        p += n;
        size -= (size_t)n;
    }
}

static void report(int result_fd, const char *format, ...) {
    char line[1024];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n <= 0 || (size_t)n >= sizeof line)
        unusable("test id too long");
    write_all(result_fd, line, (size_t)n);
}

/* An unnamed file of the child's, read back from its start: at most `cap` bytes of it. */
struct captured {
    char *data;
    size_t size, kept;
};

static struct captured capture(int fd, size_t cap) {
    struct captured c = {NULL, 0, 0};
    off_t end = lseek(fd, 0, SEEK_END);
    c.size = end > 0 ? (size_t)end : 0;
    size_t want = c.size < cap ? c.size : cap;
    c.data = malloc(want + 1);
    if (c.data == NULL)
        unusable("out of memory");
    while (c.kept < want) {
        ssize_t n = pread(fd, c.data + c.kept, want - c.kept, (off_t)c.kept);
        if (n <= 0)
            break;
        c.kept += (size_t)n;
    }
    return c;
}

static int unnamed_file(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        unusable("cannot make a file for the test's output (memfd_create)");
    return fd;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double process_cpu_seconds(clockid_t clock) {
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return 0;
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum { ENDED, PAST_DEADLINE, PAST_CPU_LIMIT }; /* how the wait for a child ended */

/* Waits for the child until it ends, the deadline passes, or it has used cpu_limit seconds of
 * processor time (looked at every few milliseconds: RLIMIT_CPU counts whole seconds only). */
static int wait_child(pid_t child, double deadline, double cpu_limit, int *status,
                      struct rusage *usage) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    clockid_t cpu_clock;
    int watch_cpu = cpu_limit > 0 && clock_getcpuclockid(child, &cpu_clock) == 0;
    int how = ENDED;
    for (;;) {
        pid_t done = wait4(child, status, WNOHANG, usage);
        if (done == child)
            return how;
        if (done < 0 && errno != EINTR)
            unusable("lost the test's process");
        double left = deadline - now_seconds();
        if (how == ENDED && left <= 0)
            how = PAST_DEADLINE;
        else if (how == ENDED && watch_cpu && process_cpu_seconds(cpu_clock) >= cpu_limit)
            how = PAST_CPU_LIMIT;
        if (how != ENDED) {
            kill(child, SIGKILL);
            while (wait4(child, status, 0, usage) < 0 && errno == EINTR) {
            }
            return how;
        }
        if (watch_cpu && left > 0.005)
            left = 0.005;
        struct timespec wait = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        sigtimedwait(&chld, NULL, &wait); /* a child's change, or time to look again */
    }
}

/* The runner's children now: what a test left running, reparented here when it ended (the
 * runner is their subreaper). Linux lists them in /proc; 0 when it cannot be read. */
static size_t read_children(pid_t *pids, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = 0;
    long pid;
    while (n < cap && fscanf(f, "%ld", &pid) == 1)
        pids[n++] = (pid_t)pid;
    fclose(f);
    return n;
}

/* Stops whatever the test left running (its programs, however they regrouped), and reaps it. */
static void stop_leftovers(void) {
    for (int round = 0; round < 64; round++) {
        pid_t pids[256];
        size_t n = read_children(pids, sizeof pids / sizeof pids[0]);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        for (size_t i = 0; i < n; i++)
            while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
            }
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

static void run_job(struct job *job, int result_fd, size_t output_cap) {
    report(result_fd, "start %s\n", job->id);
    int out_fd = unnamed_file("stdout"), err_fd = unnamed_file("stderr");
    int record_fd = unnamed_file("record");
    double timeout = job->timeout > 0    ? job->timeout
                     : job->test != NULL ? job->test->data->timeout
                                         : 0;
    fflush(NULL);
    double started = now_seconds();
    pid_t child = fork();
    /* A process limit the last test's processes still count against for a moment: try again. */
    for (int retry = 0; child < 0 && errno == EAGAIN && retry < 50; retry++) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        child = fork();
    }
    if (child < 0) {
        char why[160];
        snprintf(why, sizeof why, "cannot fork the test's process (%s)", strerror(errno));
        unusable(why);
    }
    if (child == 0)
        run_in_child(job, out_fd, err_fd, record_fd);
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    /* The child's own timer fires half a second past the timeout; this is the backstop. */
    double deadline = timeout > 0 ? started + timeout + 1.5 : 1e300;
    int how = wait_child(child, deadline, job->cpu, &status, &usage);
    double wall = now_seconds() - started;
    stop_leftovers();
    unsigned long cpu =
        (unsigned long)usage.ru_utime.tv_sec * 1000000ul + (unsigned long)usage.ru_utime.tv_usec +
        (unsigned long)usage.ru_stime.tv_sec * 1000000ul + (unsigned long)usage.ru_stime.tv_usec;
    struct captured out = capture(out_fd, output_cap), err = capture(err_fd, output_cap);
    struct captured record = capture(record_fd, 1000);
    report(result_fd, "end %s %s %d %d %lu %lu %zu %zu %zu %zu %zu\n", job->id,
           WIFSIGNALED(status) ? "signal" : "exit",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), how,
           (unsigned long)(wall * 1e6), cpu, out.size, out.kept, err.size, err.kept, record.kept);
    write_all(result_fd, out.data, out.kept);
    write_all(result_fd, err.data, err.kept);
    write_all(result_fd, record.data, record.kept);
    free(out.data);
    free(err.data);
    free(record.data);
    close(out_fd);
    close(err_fd);
    close(record_fd);
}

int main(int argc, char **argv) {
    struct job *jobs = calloc((size_t)argc, sizeof *jobs);
    size_t job_count = 0, output_cap = 64 << 10;
    int result_fd = -1, list = 0;
    if (jobs == NULL)
        unusable("out of memory");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
            jobs[job_count++].id = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc && job_count > 0)
            jobs[job_count - 1].timeout = atof(argv[++i]);
        else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc && job_count > 0)
            jobs[job_count - 1].cpu = atof(argv[++i]);
        else if (strcmp(argv[i], "--explore") == 0 && i + 1 < argc && job_count > 0)
            jobs[job_count - 1].explore = argv[++i];
        else if (strcmp(argv[i], "--result-fd") == 0 && i + 1 < argc)
            result_fd = atoi(argv[++i]);
        else if (strcmp(argv[i], "--output-cap") == 0 && i + 1 < argc)
            output_cap = (size_t)atol(argv[++i]);
        else
            unusable("usage: --list | --result-fd N [--output-cap B] "
                     "--run suite/name [--timeout S] [--cpu C] [--explore SEED] ...");
    }
    if (list) {
        for (size_t i = 0; i < test_count; i++)
            if (!tests[i]->data->disabled)
                printf("%s/%s %g\n", tests[i]->category, tests[i]->name, tests[i]->data->timeout);
        return 0;
    }
    if (job_count == 0 || result_fd < 0)
        unusable("name the tests (--run) and the result descriptor (--result-fd)");
    for (size_t i = 0; i < job_count; i++)
        if (!find_job(&jobs[i]))
            unusable("no such test");
    /* Nothing a child does may reach this process: no tracing it, no reading its memory. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        unusable("cannot make the runner undumpable");
    /* Whatever a test starts and leaves behind comes back here, to be stopped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    signal(SIGXFSZ, SIG_IGN); /* a full result file is an error to report, not a signal */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL); /* waited for with sigtimedwait */
    int fd_flags = fcntl(result_fd, F_GETFD);
    if (fd_flags < 0 || fcntl(result_fd, F_SETFD, fd_flags | FD_CLOEXEC) < 0)
        unusable("no result descriptor");
#ifdef KT_GRADE_ASAN
    /* The leak check at the end of each test reads all of the sanitizer's own globals (5 MB,
     * mostly never touched). Read once here, they are mapped in every child forked after: each
     * test's check then costs about a third less (1,400 page faults fewer). What the runner
     * has allocated so far is reachable: nothing is reported. */
    __lsan_do_recoverable_leak_check();
#endif
    for (size_t i = 0; i < job_count; i++)
        run_job(&jobs[i], result_fd, output_cap);
    _exit(EXIT_PASSED);
}
