/*
 * rt_test_support.h - small helpers shared by the runtime's own tests.
 *
 * To wait until something happened on another thread (a task stored its
 * waker, a diagnosis was reported), the tests use kt_latch.h. A flag is the smallest channel there
 * is: one flag and one stored waker, written the way the kit asks channels to be (store a clone,
 * take it out under the lock, wake it after unlocking).
 */
#ifndef RT_TEST_SUPPORT_H
#define RT_TEST_SUPPORT_H

#include <pthread.h>
#include <stdbool.h>

#include "kt_latch.h"
#include "rt.h"

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
