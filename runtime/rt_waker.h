/*
 * rt_waker.h - wakers: how a pending future asks to be polled again.
 *
 * The C form of Rust's std::task::Waker and RawWakerVTable. A waker is two
 * words: a data pointer and a table of four functions that the owner of the
 * data (a task, a block_on call, a test) provides. Wakers are counted: every
 * clone must be matched by exactly one wake or one drop. That lets the
 * runtime see a task that is pending while no waker for it is left anywhere,
 * and report it at once (see rt_diagnose.h).
 *
 * A waker slot may be empty (both words NULL), which plays the part of
 * Rust's Option<Waker>: channels keep their stored waker in such a slot.
 *
 * Rule of the kit: never wake or drop a waker while holding a channel's lock.
 * Take it out of its slot under the lock (rt_waker_take), unlock, then wake.
 */
#ifndef RT_WAKER_H
#define RT_WAKER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rt_waker rt_waker;

/* The four operations every kind of waker provides (Rust's RawWakerVTable). */
//@slide rt-waker
typedef struct rt_waker_vtable {
    rt_waker (*clone)(void *data);   /* another counted waker for the same thing */
    void (*wake)(void *data);        /* wake, and give up this waker */
    void (*wake_by_ref)(void *data); /* wake, and keep this waker */
    void (*drop)(void *data);        /* give up this waker without waking */
} rt_waker_vtable;

struct rt_waker {
    void *data;
    const rt_waker_vtable *vtable; /* NULL: the slot is empty */
};
//@end

/* An empty waker slot, for initialising: rt_waker w = RT_WAKER_NONE; */
#define RT_WAKER_NONE ((rt_waker){NULL, NULL})

/* True when the slot holds no waker. */
bool rt_waker_is_none(const rt_waker *waker);

/*
 * Returns a new counted waker that wakes the same task as `waker`.
 * Storing a waker means storing a clone: the context's waker is only
 * borrowed for the duration of one poll. Records the caller's file and line
 * so that a timeout can say where the live wakers of a stuck task came from.
 */
#define rt_waker_clone(waker) rt_waker_clone_at((waker), __FILE__, __LINE__, __func__)
rt_waker rt_waker_clone_at(const rt_waker *waker, const char *file, int line, const char *func);

/* Wakes and consumes the waker in *waker, leaving the slot empty. No-op on an empty slot. */
void rt_waker_wake(rt_waker *waker);

/* Wakes without consuming: *waker stays valid. No-op on an empty slot. */
void rt_waker_wake_by_ref(const rt_waker *waker);

/*
 * Gives up the waker in *waker without waking, leaving the slot empty.
 * No-op on an empty slot. Records the caller's place, so that a diagnosis
 * can say where the last waker of a stuck task was dropped.
 */
#define rt_waker_drop(waker) rt_waker_drop_at((waker), __FILE__, __LINE__, __func__)
void rt_waker_drop_at(rt_waker *waker, const char *file, int line, const char *func);

/* Moves the waker out of *slot (like Option::take): returns it and leaves *slot empty. */
rt_waker rt_waker_take(rt_waker *slot);

/* True when both wake the same task (Rust's Waker::will_wake). */
bool rt_waker_will_wake(const rt_waker *a, const rt_waker *b);

/* A waker that does nothing when woken; clones and drops are free. */
rt_waker rt_waker_noop(void);

#endif
