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

static void *watchdog_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!armed)
            pthread_cond_wait(&changed, &lock);
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != ETIMEDOUT || !armed)
            continue; /* re-armed, disarmed, or woken early: look again */
        armed = false;
        const char *what = armed_what;
        double seconds = armed_seconds;
        /* Report unlocked: the handler may arm or disarm. */
        pthread_mutex_unlock(&lock);
        char *report = write_report(what, seconds);
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
