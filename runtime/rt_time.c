/* rt_time.c - sleep and timeout futures, on the reactor's timer heap. */
#include "rt_time.h"

#include "rt_io_internal.h"

static rt_poll sleep_poll(rt_future *self, rt_context *cx) {
    rt_sleep_future *f = (rt_sleep_future *)self;
    return rt__timer_poll(&f->timer, f->deadline, cx);
}

static void sleep_drop(rt_future *self) {
    rt__timer_drop(&((rt_sleep_future *)self)->timer);
}

void rt_sleep_future_init_until(rt_sleep_future *future, rt_instant deadline) {
    *future =
        (rt_sleep_future){.base = {.poll = sleep_poll, .drop = sleep_drop, .name = "rt_sleep"},
                          .deadline = deadline,
                          .timer = NULL};
}

void rt_sleep_future_init(rt_sleep_future *future, rt_duration duration) {
    rt_sleep_future_init_until(future, rt_time_now() + duration);
}

void rt_sleep_future_reset(rt_sleep_future *future, rt_instant deadline) {
    future->deadline = deadline; /* the next poll moves the timer in the heap */
}

static rt_poll timeout_poll(rt_future *self, rt_context *cx) {
    rt_timeout_future *f = (rt_timeout_future *)self;
    /* The inner future first, as tokio does: one that is ready at the
     * deadline still counts as in time. */
    if (rt_future_poll(f->inner, cx) == RT_READY) {
        f->inner_done = true;
        f->timed_out = false;
        sleep_drop(&f->sleep.base);
        return RT_READY;
    }
    if (rt_future_poll(&f->sleep.base, cx) == RT_PENDING)
        return RT_PENDING;
    f->timed_out = true;
    f->inner_done = true;
    rt_future_drop(f->inner); /* it will never be polled again */
    return RT_READY;
}

static void timeout_drop(rt_future *self) {
    rt_timeout_future *f = (rt_timeout_future *)self;
    if (!f->inner_done) {
        f->inner_done = true;
        rt_future_drop(f->inner);
    }
    sleep_drop(&f->sleep.base);
}

void rt_timeout_future_init(rt_timeout_future *future, rt_future *inner, rt_duration duration) {
    *future = (rt_timeout_future){
        .base = {.poll = timeout_poll, .drop = timeout_drop, .name = "rt_timeout"}, .inner = inner};
    rt_sleep_future_init(&future->sleep, duration);
}
