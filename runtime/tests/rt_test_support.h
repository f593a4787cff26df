/*
 * rt_test_support.h - small helpers shared by the runtime's own tests.
 *
 * A latch lets a test thread wait until something happened on another
 * thread (a task stored its waker, a diagnosis was reported) without
 * sleeping and hoping. A flag is the smallest channel there is: one flag
 * and one stored waker, written the way the kit asks channels to be (store
 * a clone, take it out under the lock, wake it after unlocking).
 */
#ifndef RT_TEST_SUPPORT_H
#define RT_TEST_SUPPORT_H

#include <pthread.h>
#include <stdbool.h>

#include "rt.h"

/* ---- latch: count events, wait for a number of them ---- */

typedef struct latch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;
} latch;

static inline void latch_init(latch *l) {
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    l->count = 0;
}

static inline void latch_destroy(latch *l) {
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
}

static inline void latch_count(latch *l) {
    pthread_mutex_lock(&l->lock);
    l->count++;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static inline void latch_wait(latch *l, int count) {
    pthread_mutex_lock(&l->lock);
    while (l->count < count)
        pthread_cond_wait(&l->cond, &l->lock);
    pthread_mutex_unlock(&l->lock);
}

static inline int latch_value(latch *l) {
    pthread_mutex_lock(&l->lock);
    int count = l->count;
    pthread_mutex_unlock(&l->lock);
    return count;
}

/* ---- flag: a flag that a future can wait for ---- */

typedef struct flag {
    pthread_mutex_t lock;
    bool raised;
    rt_waker waiter;
} flag;

static inline void flag_init(flag *s) {
    pthread_mutex_init(&s->lock, NULL);
    s->raised = false;
    s->waiter = RT_WAKER_NONE;
}

static inline void flag_destroy(flag *s) {
    rt_waker_drop(&s->waiter);
    pthread_mutex_destroy(&s->lock);
}

/* Raises the flag and wakes whoever waits for it. */
static inline void flag_raise(flag *s) {
    pthread_mutex_lock(&s->lock);
    s->raised = true;
    rt_waker waiter = rt_waker_take(&s->waiter);
    pthread_mutex_unlock(&s->lock);
    rt_waker_wake(&waiter);
}

/* READY once raised (and stays raised); otherwise stores a clone of the waker. */
static inline rt_poll flag_poll(flag *s, rt_context *cx) {
    rt_waker mine = rt_waker_clone(cx->waker);
    pthread_mutex_lock(&s->lock);
    if (s->raised) {
        pthread_mutex_unlock(&s->lock);
        rt_waker_drop(&mine);
        return RT_READY;
    }
    rt_waker old = s->waiter;
    s->waiter = mine;
    pthread_mutex_unlock(&s->lock);
    rt_waker_drop(&old);
    return RT_PENDING;
}

/* A future that waits for a flag. */
typedef struct flag_future {
    rt_future base;
    flag *flag;
} flag_future;

static inline rt_poll flag_future_poll(rt_future *self, rt_context *cx) {
    return flag_poll(((flag_future *)self)->flag, cx);
}

static inline flag_future flag_future_make(flag *s) {
    return (flag_future){.base = {.poll = flag_future_poll, .name = "flag"}, .flag = s};
}

#endif
