/*
 * kt_latch.h - a gate that threads wait at until someone opens it, once.
 *
 * Concurrency tests use latches to force the one schedule that reveals a
 * bug, instead of hoping the machine produces it: producers wait until the
 * receiver has answered PENDING on an empty channel (so a waker must have
 * been stored), and the last sender is dropped only once the receiver has
 * taken every message and is PENDING again (so that drop must wake it).
 * A buggy channel then fails the same way on every run.
 *
 *     kt_latch ready = KT_LATCH_INIT;
 *     // thread A:                  // thread B:
 *     kt_latch_wait(&ready);        kt_latch_open(&ready);
 *
 * A latch never closes again. Waiting on one that nobody opens blocks until
 * the test's timeout, whose report then shows who is pending where.
 */
#ifndef KT_LATCH_H
#define KT_LATCH_H

#include <pthread.h>
#include <stdbool.h>

typedef struct kt_latch {
    pthread_mutex_t lock;
    pthread_cond_t opened_cond;
    bool opened;
} kt_latch;

/* A closed latch: kt_latch l = KT_LATCH_INIT; (needs no destroy). */
#define KT_LATCH_INIT                                                                              \
    { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false }

/* Opens the latch and lets every waiter, present and future, through. Safe from any thread. */
void kt_latch_open(kt_latch *latch);

/* Blocks the calling thread until the latch is open. */
void kt_latch_wait(kt_latch *latch);

/* Whether the latch is open now (it may open right after a false). */
bool kt_latch_is_open(kt_latch *latch);

#endif
