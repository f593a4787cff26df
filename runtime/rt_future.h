/*
 * rt_future.h - a future: something that can be polled until it is ready.
 *
 * The C form of Rust's Future trait, by embedding: a concrete future is a
 * struct whose first member is an rt_future, so a pointer to it is also a
 * pointer to its rt_future, and its result lives in its own fields:
 *
 *     #include "mpsc.h" // the first exercise's channel
 *
 *     typedef struct {
 *         rt_future base;          // first: poll, drop and name
 *         mpsc_receiver *receiver; // what the future works on
 *         void *message;           // its result, valid once READY
 *     } my_recv_future;
 *
 * Poll answers RT_READY once; a future is not polled again after that.
 * Before answering RT_PENDING it must have stored a clone of cx->waker
 * where whoever makes progress will find and wake it.
 */
#ifndef RT_FUTURE_H
#define RT_FUTURE_H

#include "rt_context.h"
#include "rt_poll.h"

typedef struct rt_future rt_future;

//@slide rt-future
struct rt_future {
    /* Makes progress; RT_READY when done, RT_PENDING after storing a waker. */
    rt_poll (*poll)(rt_future *self, rt_context *cx);
    /* Frees what the future owns, once, when nobody will poll it again:
     * an executor calls it after READY, or at shutdown when the task is
     * cancelled. (rt_block_on does not: the caller owns that future.)
     * NULL when there is nothing to free. */
    void (*drop)(rt_future *self);
    /* Shown in diagnoses ("pending in mpsc_recv"); may be NULL. */
    const char *name;
};
//@end

/* Polls `future` and, when it answers PENDING, notes its name in cx for diagnoses. */
rt_poll rt_future_poll(rt_future *future, rt_context *cx);

/* Calls the future's drop function, if it has one. */
void rt_future_drop(rt_future *future);

/*
 * A future that answers PENDING once (waking itself first) and READY on the
 * next poll: Rust's yield_now, to let other tasks run.
 */
typedef struct rt_yield_future {
    rt_future base;
    int yielded;
} rt_yield_future;

/* Prepares a yield future in place. */
void rt_yield_future_init(rt_yield_future *future);

#endif
