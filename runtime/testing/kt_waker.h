/*
 * kt_waker.h - a waker for tests that counts what is done with it.
 *
 * Polling a channel by hand with a counting waker makes waker behaviour
 * visible and deterministic: did the poll store a clone? was it woken? was
 * the old one dropped when a new poll replaced it?
 *
 *     kt_waker_counts counts = {0};
 *     rt_waker waker = kt_waker(&counts);          // borrowed: not counted
 *     rt_context cx = rt_context_from_waker(&waker);
 *     mpsc_receiver_poll_recv(receiver, &cx, &message, &result); // PENDING: stores a clone
 *     cr_assert_eq(kt_waker_live(&counts), 1);
 */
#ifndef KT_WAKER_H
#define KT_WAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "rt_waker.h"

typedef struct kt_waker_counts {
    atomic_int clones; /* rt_waker_clone calls */
    atomic_int wakes;  /* wake + wake_by_ref */
    atomic_int drops;  /* drops, and consuming wakes */
} kt_waker_counts;

/* A waker whose operations are counted in *counts (the returned waker itself is not). */
rt_waker kt_waker(kt_waker_counts *counts);

/* Clones alive now: clones minus drops and consuming wakes. */
int kt_waker_live(kt_waker_counts *counts);

/* Times woken so far. */
int kt_waker_wakes(kt_waker_counts *counts);

/*
 * A counting waker that also runs test code where the channel wakes or drops
 * it, on that thread: `on_wake(arg)` at each wake (by value or by reference),
 * `on_drop(arg)` at each drop that is not a wake; either may be NULL. With
 * kt_gate_hook as a hook, the thread that wakes is held inside its wake
 * (kt_gate.h); with a hook that polls the receiver, a test sees what a task
 * woken this very moment would find.
 *
 *     kt_gate gate = KT_GATE_INIT;
 *     kt_hooked_waker hooked = {.on_wake = kt_gate_hook, .arg = &gate};
 *     rt_waker waker = kt_waker_hooked(&hooked);   // borrowed: not counted
 */
typedef struct kt_hooked_waker {
    kt_waker_counts counts;
    void (*on_wake)(void *arg);
    void (*on_drop)(void *arg);
    void *arg;
} kt_hooked_waker;

rt_waker kt_waker_hooked(kt_hooked_waker *hooked);

/*
 * The waker rule, checked: every wake and drop of the wakers above notes
 * whether the thread holds a lock the student's code took (kt_explore.h).
 * A hooked waker woken or dropped so does not run its hook (a hook that
 * waits would deadlock on that lock); KT_TEST fails the test at its end.
 */

/* Forgets what was noted (a test starts clean). */
void kt_waker_rule_reset(void);

/* When a test waker was woken or dropped with the student's lock held, describes the first time
 * into `report` and returns true. */
bool kt_waker_rule_report(char *report, size_t size);

#endif
