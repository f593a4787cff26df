/*
 * rt_time.h - the monotonic clock, sleeping, and timeouts (tokio::time).
 *
 *   tokio::time::Instant::now    rt_time_now
 *   tokio::time::sleep           rt_sleep_future_init (for a duration)
 *   tokio::time::sleep_until     rt_sleep_future_init_until (until a deadline)
 *   Sleep::reset                 rt_sleep_future_reset
 *   tokio::time::timeout         rt_timeout_future_init (any future, with a time limit)
 *
 * Times are nanoseconds on the monotonic clock (CLOCK_MONOTONIC), which
 * never jumps when the wall clock is set. A sleeping future stores its
 * waker with its deadline in the reactor's timer heap (rt_reactor.h); the
 * reactor's poll(2) times out at the nearest deadline and wakes every
 * timer that is due. No thread spins while waiting.
 *
 * A timer wakes at its deadline or a little later, never before: a busy
 * machine makes it late. Code (and tests) should rely on the order of
 * deadlines and on "not before", never on exact durations.
 *
 * Thread safety: one task at a time polls a given future.
 */
#ifndef RT_TIME_H
#define RT_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_future.h"

/* A point in time: nanoseconds on the monotonic clock (tokio's Instant). */
typedef int64_t rt_instant;
/* A length of time in nanoseconds (tokio's Duration). */
typedef int64_t rt_duration;

#define RT_MILLISECONDS(n) ((rt_duration)(n)*1000000)
#define RT_SECONDS(n)      ((rt_duration)(n)*1000000000)

/* Now, on the monotonic clock. */
rt_instant rt_time_now(void);

/* A future that is READY once its deadline has passed (tokio's Sleep). */
typedef struct rt_sleep_future {
    rt_future base;
    rt_instant deadline;
    /* private: the entry in the reactor's timer heap, while one is stored */
    struct rt__timer *timer;
} rt_sleep_future;

/* Prepares a future READY `duration` from now (now: this call). Its drop removes its timer. */
void rt_sleep_future_init(rt_sleep_future *future, rt_duration duration);

/* Prepares a future READY at `deadline` (at once if that has passed). */
void rt_sleep_future_init_until(rt_sleep_future *future, rt_instant deadline);

/*
 * Moves the deadline of a sleep that is not READY yet (tokio's
 * Sleep::reset): an idle timer pushed back on each message, say. The task
 * that polls it must poll it again for the new deadline to take effect.
 */
void rt_sleep_future_reset(rt_sleep_future *future, rt_instant deadline);

/*
 * A future that polls `inner` until it is READY, but at most until a
 * deadline (tokio's timeout). READY with timed_out false: the inner future
 * is READY, its result in its fields, and it was not dropped (it is the
 * caller's, as after any READY). READY with timed_out true: the deadline
 * passed first, and the inner future has been dropped (rt_future_drop):
 * do not poll or read it again. Dropping the timeout future before it is
 * READY drops the inner future too.
 */
typedef struct rt_timeout_future {
    rt_future base;
    rt_future *inner;
    bool timed_out; /* once READY */
    /* private */
    bool inner_done;
    rt_sleep_future sleep;
} rt_timeout_future;

/* Prepares a timeout of `duration` from now around `inner` (which it then owns). */
void rt_timeout_future_init(rt_timeout_future *future, rt_future *inner, rt_duration duration);

#endif
