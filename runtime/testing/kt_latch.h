/*
 * kt_latch.h - counts events on some threads; others wait until enough happened.
 *
 * Tests use latches to wait for something to happen on another thread
 * (a task stored its waker, a report was written) without sleeping and
 * hoping, and to force the one schedule that reveals a bug instead of
 * waiting for the machine to produce it: producers wait until the receiver
 * has answered PENDING on an empty channel (so a waker must have been
 * stored), and the last sender is dropped only once the receiver has taken
 * every message and is PENDING again (so that drop must wake it). A buggy
 * channel then fails the same way on every run.
 *
 *     kt_latch ready = KT_LATCH_INIT;
 *     // thread A:                  // thread B:
 *     kt_latch_wait(&ready, 1);     kt_latch_count(&ready);
 *
 * The count only grows. Waiting for events that never come blocks until
 * the test's timeout, whose report then shows who is pending where.
 */
#ifndef KT_LATCH_H
#define KT_LATCH_H

#include <pthread.h>

typedef struct kt_latch {
    pthread_mutex_t lock;
    pthread_cond_t counted;
    int count; /* events so far */
} kt_latch;

/* A latch at zero: kt_latch l = KT_LATCH_INIT; (needs no destroy). */
#define KT_LATCH_INIT                                                                              \
    { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }

/* Sets a latch (a static one being reused, say) back to zero; nobody may be waiting on it. */
void kt_latch_init(kt_latch *latch);

/* Counts one event and lets through every waiter whose number is reached. Safe from any thread. */
void kt_latch_count(kt_latch *latch);

/* Blocks the calling thread until `events` events have been counted. */
void kt_latch_wait(kt_latch *latch, int events);

#endif
