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

#endif
