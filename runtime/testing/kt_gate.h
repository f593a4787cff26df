/*
 * kt_gate.h - holds a thread at one point until the test lets it go.
 *
 * A forced schedule: thread A stops inside an operation (inside a wake, at
 * a lock; see kt_waker_hooked and kt_explore_stop_next), the test does the
 * racing operation on its own thread while A is stopped, then opens the
 * gate. A channel that decides something after unlocking, or outside the
 * lock, then fails the same way on every run instead of once in a million.
 *
 *     kt_gate gate = KT_GATE_INIT;
 *     // thread A: ...kt_gate_hold(&gate) is reached inside its operation...
 *     kt_gate_wait_reached(&gate);     // the test: A is held now
 *     ...the racing operation...
 *     kt_gate_open(&gate);             // A goes on
 *
 * A thread whose operation ends without reaching the gate (a channel that
 * never wakes, never locks) calls kt_gate_pass(&gate) afterwards, so that
 * the test's wait ends either way: kt_gate_was_held says which.
 */
#ifndef KT_GATE_H
#define KT_GATE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "kt_latch.h"

typedef struct kt_gate {
    kt_latch reached; /* counted once: a thread is held, or passed without being held */
    kt_latch opened;  /* counted by kt_gate_open */
    atomic_bool used; /* a thread was held here, or passed */
    atomic_bool held; /* a thread was held here */
} kt_gate;

/* A closed gate that nobody reached yet: kt_gate g = KT_GATE_INIT; */
#define KT_GATE_INIT                                                                               \
    { KT_LATCH_INIT, KT_LATCH_INIT, false, false }

/* Holds the calling thread until the gate is opened; only the first caller is held, later ones
 * pass (a gate holds one thread once). */
void kt_gate_hold(kt_gate *gate);

/* kt_gate_hold for a hook that takes a void pointer (kt_hooked_waker's on_wake / on_drop). */
void kt_gate_hook(void *gate);

/* Lets the test's wait end for a thread that finished without being held (no-op if it was). */
void kt_gate_pass(kt_gate *gate);

/* Blocks until a thread is held at the gate, or passed it. */
void kt_gate_wait_reached(kt_gate *gate);

/* Lets the held thread (and every later one) go on. */
void kt_gate_open(kt_gate *gate);

/* Whether a thread was held at the gate. */
bool kt_gate_was_held(kt_gate *gate);

#endif
