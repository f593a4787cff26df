/*
 * rt_context.h - what a poll function receives besides its own state.
 *
 * The C form of Rust's std::task::Context: above all the waker of the task
 * being polled. The waker is borrowed for this one poll; to be woken later,
 * store rt_waker_clone(cx->waker).
 */
#ifndef RT_CONTEXT_H
#define RT_CONTEXT_H

#include "rt_waker.h"

//@slide rt-context
typedef struct rt_context {
    const rt_waker *waker; /* borrowed: clone it to keep it */
    /* For diagnoses: the innermost named future or poll call that answered
     * PENDING during this poll (set by rt_future_poll and RT_AWAIT_POLL). */
    const char *pending_in;
} rt_context;
//@end

/* A context lending `waker` (used by executors and by tests that poll by hand). */
rt_context rt_context_from_waker(const rt_waker *waker);

/* Notes, for a later diagnosis, that `what` answered PENDING in this poll. Keeps the innermost. */
void rt_context_note_pending(rt_context *cx, const char *what);

#endif
