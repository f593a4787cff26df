/* rt_future.c - polling futures, contexts, and the yield future. */
#include "rt_future.h"

#include <stddef.h>

rt_context rt_context_from_waker(const rt_waker *waker) {
    return (rt_context){.waker = waker, .pending_in = NULL};
}

void rt_context_note_pending(rt_context *cx, const char *what) {
    /* Futures return from the inside out, so the first note is the innermost. */
    if (cx->pending_in == NULL)
        cx->pending_in = what;
}

rt_poll rt_future_poll(rt_future *future, rt_context *cx) {
    rt_poll result = future->poll(future, cx);
    if (result == RT_PENDING)
        rt_context_note_pending(cx, future->name);
    return result;
}

void rt_future_drop(rt_future *future) {
    if (future->drop != NULL)
        future->drop(future);
}

static rt_poll yield_poll(rt_future *self, rt_context *cx) {
    rt_yield_future *future = (rt_yield_future *)self;
    if (future->yielded)
        return RT_READY;
    future->yielded = 1;
    rt_waker_wake_by_ref(cx->waker);
    return RT_PENDING;
}

void rt_yield_future_init(rt_yield_future *future) {
    *future = (rt_yield_future){.base = {.poll = yield_poll, .drop = NULL, .name = "yield"}};
}
