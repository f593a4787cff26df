/* kt_loop.c - per-test output files, fitted timeouts and the stop after a hang (kt_loop.h). */
#include "kt_loop.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

static char dir[512];
static char test_id[256]; /* suite/name */
static char file_base[768];
static struct timespec started;

static double elapsed_since(struct timespec t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
}

/* The entry of `id` in KT_LOOP_TIMEOUTS: its seconds (0 when absent) and whether it is threaded. */
static double fitted_timeout(const char *id, int *threaded) {
    const char *list = getenv("KT_LOOP_TIMEOUTS");
    size_t len = strlen(id);
    *threaded = 0;
    for (const char *p = list; p != NULL && *p != '\0';) {
        while (*p == ' ')
            p++;
        if (strncmp(p, id, len) == 0 && p[len] == '=') {
            char *end;
            double seconds = strtod(p + len + 1, &end);
            *threaded = strncmp(end, ":threaded", 9) == 0;
            return seconds;
        }
        p = strchr(p, ' ');
    }
    return 0;
}

/* The student's poll functions called by hand and not returned yet, and since when. */
static atomic_int polls_inside;
static _Atomic(const char *) poll_function;
static struct timespec poll_since; /* written by the thread that entered first */

void kt_poll_enter(const char *function) {
    if (atomic_fetch_add(&polls_inside, 1) == 0) {
        clock_gettime(CLOCK_MONOTONIC, &poll_since);
        atomic_store(&poll_function, function);
    }
}

rt_poll kt_poll_exit(rt_poll result) {
    atomic_fetch_sub(&polls_inside, 1);
    return result;
}

/* When the watchdog fires: the report goes to the test's output, and the tests that start
 * later learn that this one hung, and how (the first to hang writes the note). */
static void hang_handler(const char *report) {
    const char *function = atomic_load(&poll_function);
    bool stuck_poll = strstr(report, "stopped early:") != NULL;
    if (atomic_load(&polls_inside) > 0 && function != NULL) {
        fprintf(stderr,
                "[kit] %s: %s, called by the test %.1f s ago, has not returned: a poll that "
                "never returns (a loop that waits for something, or a blocking call) holds the "
                "thread; a poll must answer PENDING and store the waker instead.\n",
                test_id, function, elapsed_since(poll_since));
        stuck_poll = true;
    }
    fputs(report, stderr);
    fflush(stderr);
    char path[600];
    snprintf(path, sizeof path, "%s/hung", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        const char *eol = strchr(report, '\n');
        size_t first = eol ? (size_t)(eol - report) : strlen(report);
        char note[700];
        int n = snprintf(note, sizeof note, "%s\n%s\n%.*s\n", test_id,
                         stuck_poll ? "stuck-poll" : "hang", (int)first, report);
        if (n > 0 && write(fd, note, (size_t)n < sizeof note ? (size_t)n : sizeof note - 1) < 0)
            n = 0;
        close(fd);
    }
    abort();
}

/* The note of an earlier hang, when there was one: the test that hung, and whether a poll
 * never returned there. */
static int earlier_hang(char *who, size_t size, bool *stuck_poll) {
    char path[600], kind[32] = "";
    snprintf(path, sizeof path, "%s/hung", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int found = fgets(who, (int)size, f) != NULL && fgets(kind, sizeof kind, f) != NULL;
    fclose(f);
    if (found)
        who[strcspn(who, "\n")] = '\0';
    *stuck_poll = strncmp(kind, "stuck-poll", 10) == 0;
    return found;
}

void kt_loop_begin(const char *suite, const char *name, double *watchdog_seconds) {
    const char *loop_dir = getenv("KT_LOOP_DIR");
    if (loop_dir == NULL || *loop_dir == '\0')
        return;
    snprintf(dir, sizeof dir, "%s", loop_dir);
    snprintf(test_id, sizeof test_id, "%s/%s", suite, name);
    snprintf(file_base, sizeof file_base, "%s/%s.%s", dir, suite, name);
    clock_gettime(CLOCK_MONOTONIC, &started);

    char path[800];
    snprintf(path, sizeof path, "%s.log", file_base);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd >= 0) {
        fflush(stdout);
        fflush(stderr);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        setvbuf(stdout, NULL, _IOLBF, 0);
    }
    int threaded;
    double seconds = fitted_timeout(test_id, &threaded);
    char who[256];
    bool stuck_poll;
    if (earlier_hang(who, sizeof who, &stuck_poll) && (threaded || stuck_poll))
        cr_skip_test("stopped: %s hung before it started", who);
    if (seconds > 0 && (*watchdog_seconds <= 0 || seconds < *watchdog_seconds))
        *watchdog_seconds = seconds;
    rt_set_watchdog_handler(hang_handler);
}

void kt_loop_end(void) {
    if (file_base[0] == '\0')
        return;
    char path[800];
    snprintf(path, sizeof path, "%s.time", file_base);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "%.4f\n", elapsed_since(started));
        fclose(f);
    }
}
