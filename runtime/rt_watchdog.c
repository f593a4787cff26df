/* rt_watchdog.c - one background thread that reports, then aborts, when time is up. */
#include "rt_watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rt_diagnose.h"
#include "rt_shake.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static bool started, armed;
static struct timespec deadline;
static double armed_seconds;
static const char *armed_what;

static void *watchdog_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!armed)
            pthread_cond_wait(&changed, &lock);
        if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT && armed)
            break;
    }
    fprintf(stderr, "timeout: %s did not finish within %.2f s. Still waiting:\n",
            armed_what ? armed_what : "the test", armed_seconds);
    rt_dump_pending();
    fprintf(stderr, "  A waker stored but never woken, or PENDING returned where READY was due, "
                    "is the usual cause.\n");
    uint64_t seed = rt_shake_last_seed();
    if (seed != 0)
        fprintf(stderr, "  (shake seed %llu: replay with RT_SHAKE=%llu)\n",
                (unsigned long long)seed, (unsigned long long)seed);
    fflush(stderr);
    abort();
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
