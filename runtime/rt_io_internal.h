/*
 * rt_io_internal.h - what the I/O files share with the reactor; not for exercises.
 *
 * Timers live in the reactor (its poll(2) times out at the nearest one);
 * rt_time.c builds the sleep and timeout futures on these calls.
 */
#ifndef RT_IO_INTERNAL_H
#define RT_IO_INTERNAL_H

#include "rt_reactor.h"
#include "rt_time.h"

/* An entry in the reactor's timer heap: a deadline and the waker to wake then. */
typedef struct rt__timer rt__timer;

/*
 * READY when `deadline` has passed (and the timer, if any, is out of the
 * heap); else stores a clone of cx->waker in *timer (allocated on first
 * use) under `deadline` and answers PENDING. PENDING with no waker stored
 * only if out of memory (then reported as a lost waker, which it is).
 */
rt_poll rt__timer_poll(rt__timer **timer, rt_instant deadline, rt_context *cx);

/* Takes the timer out of the heap, drops its waker and frees it; *timer becomes NULL. */
void rt__timer_drop(rt__timer **timer);

/* The byte size of a socket address text "255.255.255.255:65535" or "[v6]:port". */
#define RT__PEER_CAP 64

#endif
