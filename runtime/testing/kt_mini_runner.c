/*
 * kt_mini_runner.c - runs the tests declared with the stand-in criterion.h.
 *
 * Only for ThreadSanitizer builds (see mini/criterion/criterion.h for why).
 * Each test runs in its own forked process, as Criterion runs them: a crash
 * or a hang ends only that test. A test's .timeout is multiplied by
 * KT_TIMEOUT_SCALE (default 4, for the sanitizer's slowdown) and enforced
 * with an interval timer. Prints Criterion's lines, including the closing
 * "[====] Synthesis: ..." line.
 *
 *   test_binary [--filter=suite/pattern] [--list] [--json=FILE] [-jN]
 */
#include <criterion/criterion.h>

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_explore.h"

#define SKIPPED_EXIT 77

const struct criterion_test *criterion_current_test;

static struct criterion_test **tests;
static size_t test_count, test_cap;
static int expect_failed;

void kt_mini_register(struct criterion_test *test) {
    if (test_count == test_cap) {
        test_cap = test_cap ? test_cap * 2 : 64;
        tests = realloc(tests, test_cap * sizeof *tests);
        if (tests == NULL)
            abort();
    }
    tests[test_count++] = test;
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
    if (fatal) {
        kt_explore_report(); /* a fatal failure ends the test here, before its .fini */
        _exit(1);
    }
    expect_failed = 1;
}

_Noreturn void kt_mini_skip(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("[SKIP] ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    _exit(SKIPPED_EXIT);
}

void kt_mini_log(const char *level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

static int by_id(const void *a, const void *b) {
    const struct criterion_test *x = *(struct criterion_test *const *)a;
    const struct criterion_test *y = *(struct criterion_test *const *)b;
    int c = strcmp(x->category, y->category);
    return c ? c : strcmp(x->name, y->name);
}

static _Noreturn void run_child(struct criterion_test *test, double scale) {
    criterion_current_test = test;
    test->data->timeout *= scale;
    if (test->data->timeout > 0) {
        double t = test->data->timeout;
        struct itimerval timer = {{0, 0}, {(time_t)t, (suseconds_t)((t - (time_t)t) * 1e6)}};
        setitimer(ITIMER_REAL, &timer, NULL); /* SIGALRM's default action ends the test */
    }
    if (test->data->init)
        test->data->init();
    test->test();
    if (test->data->fini)
        test->data->fini();
    fflush(NULL);
    _exit(expect_failed ? 1 : 0);
}

typedef enum { PASSED, FAILED, CRASHED, TIMED_OUT, SKIPPED } outcome;

static outcome judge(const struct criterion_test *test, int status, char *why, size_t size) {
    int want_signal = test->data->signal, want_code = test->data->exit_code;
    why[0] = '\0';
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == want_signal)
            return PASSED;
        if (sig == SIGALRM)
            return TIMED_OUT;
        snprintf(why, size, "CRASH! (signal %d)", sig);
        return CRASHED;
    }
    int code = WEXITSTATUS(status);
    if (code == SKIPPED_EXIT)
        return SKIPPED;
    if (want_signal != 0) {
        snprintf(why, size, "expected signal %d, exited with %d", want_signal, code);
        return FAILED;
    }
    if (code != want_code) {
        snprintf(why, size, code == 1 ? "assertion failed" : "exited with %d", code);
        return FAILED;
    }
    return PASSED;
}

int main(int argc, char **argv) {
    const char *filter = NULL, *json = NULL;
    bool list = false;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "--list") == 0)
            list = true;
        else if (strncmp(argv[i], "--json=", 7) == 0)
            json = argv[i] + 7;
        else if (strncmp(argv[i], "-j", 2) == 0 && argv[i][2] != '\0')
            jobs = atol(argv[i] + 2);
        else if (strncmp(argv[i], "--jobs=", 7) == 0)
            jobs = atol(argv[i] + 7);
    }
    if (jobs < 1)
        jobs = 1;
    const char *scale_text = getenv("KT_TIMEOUT_SCALE");
    double scale = scale_text ? atof(scale_text) : 4.0;
    if (scale <= 0)
        scale = 1.0;

    qsort(tests, test_count, sizeof *tests, by_id);
    struct criterion_test **chosen = calloc(test_count + 1, sizeof *chosen);
    size_t n = 0;
    for (size_t i = 0; i < test_count; i++) {
        char id[512];
        snprintf(id, sizeof id, "%s/%s", tests[i]->category, tests[i]->name);
        if (tests[i]->data->disabled || (filter && fnmatch(filter, id, 0) != 0))
            continue;
        chosen[n++] = tests[i];
    }
    if (list) {
        for (size_t i = 0; i < n; i++)
            printf("%s/%s\n", chosen[i]->category, chosen[i]->name);
        return 0;
    }

    pid_t *pids = calloc(n + 1, sizeof *pids);
    outcome *results = calloc(n + 1, sizeof *results);
    size_t next = 0, running = 0, counts[5] = {0};
    fflush(NULL);
    while (next < n || running > 0) {
        while (next < n && running < (size_t)jobs) {
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                return 2;
            }
            if (pid == 0)
                run_child(chosen[next], scale);
            pids[next++] = pid;
            running++;
        }
        int status;
        pid_t done = wait(&status);
        if (done < 0)
            break;
        for (size_t i = 0; i < next; i++) {
            if (pids[i] != done)
                continue;
            running--;
            char why[128];
            results[i] = judge(chosen[i], status, why, sizeof why);
            counts[results[i]]++;
            if (results[i] == TIMED_OUT)
                printf("[FAIL] %s::%s: Timed out.\n", chosen[i]->category, chosen[i]->name);
            else if (results[i] == CRASHED || results[i] == FAILED)
                printf("[FAIL] %s::%s: %s\n", chosen[i]->category, chosen[i]->name, why);
            fflush(stdout);
        }
    }
    size_t failing = counts[FAILED] + counts[CRASHED] + counts[TIMED_OUT];
    printf("[====] Synthesis: Tested: %zu | Passing: %zu | Failing: %zu | Crashing: %zu \n",
           n - counts[SKIPPED], counts[PASSED], failing, counts[CRASHED]);

    if (json != NULL) {
        static const char *names[] = {"PASSED", "FAILED", "ERRORED", "ERRORED", "SKIPPED"};
        FILE *f = fopen(json, "w");
        if (f != NULL) {
            fprintf(f, "{\n  \"id\": \"kit mini runner\",\n  \"test_suites\": [\n");
            for (size_t i = 0; i < n; i++) {
                bool first = i == 0 || strcmp(chosen[i - 1]->category, chosen[i]->category) != 0;
                bool last = i + 1 == n || strcmp(chosen[i + 1]->category, chosen[i]->category) != 0;
                if (first)
                    fprintf(f, "    {\"name\": \"%s\", \"tests\": [\n", chosen[i]->category);
                fprintf(f, "      {\"name\": \"%s\", \"status\": \"%s\"%s}%s\n", chosen[i]->name,
                        names[results[i]],
                        results[i] == TIMED_OUT ? ", \"messages\": [\"The test timed out.\"]"
                        : results[i] == CRASHED ? ", \"messages\": [\"The test crashed.\"]"
                                                : "",
                        last ? "" : ",");
                if (last)
                    fprintf(f, "    ]}%s\n", i + 1 == n ? "" : ",");
            }
            fprintf(f, "  ]\n}\n");
            fclose(f);
        }
    }
    free(chosen);
    free(pids);
    free(results);
    return failing ? 1 : 0;
}
