/* test_block_on.c - block_on parks until woken, and reports lost wakers. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "kt_test.h"

/* A future that is READY on its third poll, waking itself from another thread. */
typedef struct {
    rt_future base;
    int polls;
} thrice_future;

static void *wake_later(void *arg) {
    rt_waker *waker = arg;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
    rt_waker_wake(waker);
    return NULL;
}

static rt_poll thrice_poll(rt_future *self, rt_context *cx) {
    thrice_future *f = (thrice_future *)self;
    if (++f->polls >= 3)
        return RT_READY;
    static rt_waker stored;
    stored = rt_waker_clone(cx->waker);
    pthread_t thread;
    pthread_create(&thread, NULL, wake_later, &stored);
    pthread_detach(thread);
    return RT_PENDING;
}

KT_TEST(block_on, wakes_from_another_thread, .timeout = 2,
        .description = "block_on sleeps until a waker is woken from another thread") {
    thrice_future f = {.base = {.poll = thrice_poll, .name = "thrice"}};
    rt_block_on(&f.base);
    cr_assert_geq(f.polls, 3);
}
