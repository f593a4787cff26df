/* rt_watchdog.c - one background thread that reports, then aborts, when time is up. */
#include "rt_watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rt_diagnose.h"
#include "rt_internal.h"
#include "rt_shake.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static bool started, armed;
static struct timespec deadline;
static double armed_seconds;
static const char *armed_what;
static _Atomic(rt_watchdog_handler) handler;

static void default_handler(const char *report) {
    fputs(report, stderr);
    fflush(stderr);
    abort();
}

rt_watchdog_handler rt_set_watchdog_handler(rt_watchdog_handler new_handler) {
    return atomic_exchange(&handler, new_handler);
}

/* Writes the report into a string the caller frees (NULL when out of memory). */
static char *write_report(const char *what, double seconds) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    fprintf(out, "timeout: %s did not finish within %.2f s. Still waiting:\n",
            what ? what : "the test", seconds);
    if (rt__dump_records(out) == 0)
        fprintf(out, "  A waker stored but never woken, or PENDING returned where READY was due, "
                     "is the usual cause.\n");
    uint64_t seed = rt_shake_last_seed();
    if (seed != 0)
        fprintf(out, "  (shake seed %llu: replay with RT_SHAKE=%llu)\n", (unsigned long long)seed,
                (unsigned long long)seed);
    fclose(out);
    return text;
}

/* A poll that has not returned for this long is reported at once (0: never). */
static double poll_limit = 1.0;

void rt_watchdog_set_poll_limit(double seconds) {
    pthread_mutex_lock(&lock);
    poll_limit = seconds;
    pthread_mutex_unlock(&lock);
}

static double seconds_of(struct timespec t) {
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The earlier of the deadline and the next look for a stuck poll (a quarter of the limit). */
static struct timespec next_wake(void) {
    if (poll_limit <= 0)
        return deadline;
    struct timespec tick;
    clock_gettime(CLOCK_REALTIME, &tick);
    long long ns = (long long)(poll_limit / 4 * 1e9);
    tick.tv_sec += ns / 1000000000LL;
    tick.tv_nsec += ns % 1000000000LL;
    if (tick.tv_nsec >= 1000000000L) {
        tick.tv_sec++;
        tick.tv_nsec -= 1000000000L;
    }
    return seconds_of(tick) < seconds_of(deadline) ? tick : deadline;
}

/* A task or block_on caught in one poll for poll_limit: its report, or NULL. */
static char *stuck_poll_report(const char *what) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    fprintf(out, "timeout: %s stopped early: ", what ? what : "the test");
    bool found = rt__stuck_poll(seconds_of(now), poll_limit, out);
    fclose(out);
    if (!found) {
        free(text);
        return NULL;
    }
    return text;
}

static void *watchdog_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!armed)
            pthread_cond_wait(&changed, &lock);
        struct timespec wake = next_wake();
        bool at_deadline = seconds_of(wake) >= seconds_of(deadline);
        if (pthread_cond_timedwait(&changed, &lock, &wake) != ETIMEDOUT || !armed)
            continue; /* re-armed, disarmed, or woken early: look again */
        const char *what = armed_what;
        double seconds = armed_seconds;
        char *report = NULL;
        if (!at_deadline) {
            /* Looked at unlocked (the registry has its own lock), then armed again. */
            pthread_mutex_unlock(&lock);
            report = stuck_poll_report(what);
            pthread_mutex_lock(&lock);
            if (report == NULL || !armed) {
                free(report);
                continue;
            }
        }
        armed = false;
        /* Report unlocked: the handler may arm or disarm. */
        pthread_mutex_unlock(&lock);
        if (report == NULL)
            report = write_report(what, seconds);
        rt_watchdog_handler current = atomic_load(&handler);
        (current != NULL ? current : default_handler)(report ? report : "timeout\n");
        free(report);
        pthread_mutex_lock(&lock);
    }
    return NULL;
}

void rt_watchdog_arm(double seconds, const char *what) {
    pthread_mutex_lock(&lock);
    clock_gettime(CLOCK_REALTIME, &deadline);
    long long ns = (long long)(seconds * 1e9);
    deadline.tv_sec += ns / 1000000000LL;
    deadline.tv_nsec += ns % 1000000000LL;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    armed = true;
    armed_seconds = seconds;
    armed_what = what;
    if (!started) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, watchdog_main, NULL) == 0) {
            pthread_detach(thread);
            started = true;
        }
    }
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
}

void rt_watchdog_disarm(void) {
    pthread_mutex_lock(&lock);
    armed = false;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
}
