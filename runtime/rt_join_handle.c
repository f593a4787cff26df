/*
 * rt_join_handle.c - a task seen from outside: awaiting its end, or letting go.
 *
 * A join handle is the task itself (rt_task.h) and holds one of its
 * references. Its side of the task (finished, outcome, join_waker) is
 * guarded by the task's lock; the task writes it once, when it finishes.
 * As everywhere in the kit, a waker is never cloned, woken or dropped
 * under that lock: take it out, unlock, then wake or drop it.
 */
#include "rt_executor.h"

#include <pthread.h>
#include <stdbool.h>

#include "rt_block_on.h"
#include "rt_task.h"

rt_poll rt_join_handle_poll(rt_join_handle *t, rt_context *cx, rt_task_outcome *outcome) {
    pthread_mutex_lock(&t->lock);
    if (t->finished) {
        *outcome = t->outcome;
        pthread_mutex_unlock(&t->lock);
        return RT_READY;
    }
    bool stored = rt_waker_will_wake(&t->join_waker, cx->waker);
    pthread_mutex_unlock(&t->lock);
    if (stored) /* polled again by the same task: its waker is already here */
        return RT_PENDING;

    /* Cloned with no lock held: a clone runs the waker's own code, which
     * may take locks of its own. */
    rt_waker mine = rt_waker_clone(cx->waker);
    pthread_mutex_lock(&t->lock);
    if (t->finished) {
        *outcome = t->outcome;
        pthread_mutex_unlock(&t->lock);
        rt_waker_drop(&mine);
        return RT_READY;
    }
    rt_waker old = t->join_waker;
    t->join_waker = mine;
    pthread_mutex_unlock(&t->lock);
    rt_waker_drop(&old);
    return RT_PENDING;
}

void rt_join_handle_drop(rt_join_handle *t) {
    pthread_mutex_lock(&t->lock);
    rt_waker joiner = rt_waker_take(&t->join_waker);
    pthread_mutex_unlock(&t->lock);
    rt_waker_drop(&joiner);
    rt__task_release(t); /* the handle's reference */
}

const char *rt_join_handle_name(const rt_join_handle *t) {
    return t->record.name;
}

typedef struct join_future {
    rt_future base;
    rt_join_handle *handle;
    rt_task_outcome outcome;
} join_future;

static rt_poll join_future_poll(rt_future *self, rt_context *cx) {
    join_future *f = (join_future *)self;
    return rt_join_handle_poll(f->handle, cx, &f->outcome);
}

rt_task_outcome rt_join(rt_join_handle *handle) {
    join_future f = {.base = {.poll = join_future_poll, .name = "rt_join"}, .handle = handle};
    rt_block_on(&f.base);
    rt_join_handle_drop(handle);
    return f.outcome;
}
