/*
 * rt_block_on.c - polling a future on the calling thread, parking between polls.
 *
 * The waker of a block_on call points at a parker: a flag, a mutex and a
 * condition variable. Waking sets the flag and signals; the blocked thread
 * polls again once the flag is set. The flag is cleared before each poll,
 * not after: a wake that arrives during the poll leaves it set, so the
 * thread polls once more instead of sleeping through it (the same reason
 * tasks have a NOTIFIED state).
 *
 * Wakers may outlive the call (a channel may still hold one), so the parker
 * is reference counted and freed by whoever lets go last. It is counted
 * the way a task is, in its record's state word (rt_refs.h): the block_on
 * call holds one reference, each live waker one. A clone counts without
 * the parker's lock; a wake or a drop counts under it, so that the check
 * rt_block_on makes after a poll (woken? any waker left?) sees both in
 * order, and lets go of its reference only after unlocking.
 */
#include "rt_block_on.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "rt_refs.h"
#include "rt_shake.h"

typedef struct parker {
    rt__wait_record record; /* record.state: references and live wakers (rt_refs.h) */
    pthread_mutex_t lock;   /* guards woken and finished, and orders a loss's report */
    pthread_cond_t woken_cond;
    bool woken;    /* a wake arrived since the last poll began */
    bool finished; /* block_on returned: wakes no longer matter */
} parker;

static const rt_waker_vtable parker_vtable;

/* Gives up a reference; the last one frees the parker. Never with p->lock held. */
static void parker_release(parker *p) {
    if (rt__refs_release(&p->record.state)) {
        pthread_cond_destroy(&p->woken_cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
    }
}

static rt_waker parker_clone(void *data) {
    parker *p = data;
    rt__refs_clone(&p->record.state);
    rt__site_store(&p->record.last_clone, rt__clone_site);
    return (rt_waker){p, &parker_vtable};
}

static void wake_locked(parker *p) {
    p->woken = true;
    atomic_store(&p->record.waiting, false);
    pthread_cond_signal(&p->woken_cond);
}

static void parker_wake_by_ref(void *data) {
    parker *p = data;
    pthread_mutex_lock(&p->lock);
    wake_locked(p);
    pthread_mutex_unlock(&p->lock);
}

static void parker_drop(void *data) {
    parker *p = data;
    rt__site_store(&p->record.last_drop, rt__drop_site);
    /* Under the lock, so that either this drop or rt_block_on's check after
     * a poll sees the loss, never both and never neither. The clone's
     * reference becomes an owner's until the lock is let go. */
    pthread_mutex_lock(&p->lock);
    uint64_t word = rt__refs_release_waker(&p->record.state, true, true);
    /* While the thread sleeps: the last way to wake it just went. (During a
     * poll, rt_block_on makes the same check when the poll returns.) */
    if (rt__refs_wakers(word) == 0 && atomic_load(&p->record.waiting) && !p->finished) {
        pthread_mutex_unlock(&p->lock);
        rt__diagnose_report(RT_DIAG_LAST_WAKER_DROPPED, &p->record);
        pthread_mutex_lock(&p->lock);
        /* The handler returned (a test that checks diagnoses): poll again,
         * as after a spurious wake-up, rather than sleep forever. */
        wake_locked(p);
    }
    pthread_mutex_unlock(&p->lock);
    parker_release(p);
}

static void parker_wake(void *data) {
    parker *p = data;
    pthread_mutex_lock(&p->lock);
    wake_locked(p);
    /* Counted under the lock, as a drop is; the reference goes after it. */
    rt__refs_release_waker(&p->record.state, false, true);
    pthread_mutex_unlock(&p->lock);
    parker_release(p);
}

static const rt_waker_vtable parker_vtable = {parker_clone, parker_wake, parker_wake_by_ref,
                                              parker_drop};

void rt_block_on(rt_future *future) {
    parker *p = rt__calloc(sizeof *p, "rt_block_on");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->woken_cond, NULL);
    atomic_init(&p->record.state, rt__refs_initial(1, 0)); /* this call's reference */
    p->record.kind = "block_on";
    snprintf(p->record.name, sizeof p->record.name, "%s",
             future->name != NULL ? future->name : "future");
    rt__registry_add(&p->record);
    void *blocking = rt__executor_enter_blocking();

    uint64_t seed;
    bool shake = rt_shake_env_seed(&seed);
    rt_shake_rng rng;
    if (shake)
        rt_shake_rng_init(&rng, seed, 0xb10c);

    rt_waker waker = {p, &parker_vtable};
    for (;;) {
        rt_context cx = rt_context_from_waker(&waker);
        pthread_mutex_lock(&p->lock);
        p->woken = false;
        pthread_mutex_unlock(&p->lock);

        /* One poller at a time: a load and a store, no read-modify-write. */
        atomic_store_explicit(&p->record.polls,
                              atomic_load_explicit(&p->record.polls, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        atomic_store_explicit(&p->record.in_poll, true, memory_order_relaxed);
        rt_poll result = rt_future_poll(future, &cx);
        atomic_store_explicit(&p->record.in_poll, false, memory_order_relaxed);
        if (result == RT_READY)
            break;

        pthread_mutex_lock(&p->lock);
        atomic_store(&p->record.pending_in, cx.pending_in);
        uint64_t word = atomic_load(&p->record.state);
        if (!p->woken && rt__refs_wakers(word) == 0) {
            rt_diagnosis_kind kind = rt__refs_dropped_last(word) ? RT_DIAG_LAST_WAKER_DROPPED
                                                                 : RT_DIAG_PENDING_WITHOUT_WAKER;
            atomic_store(&p->record.waiting, true);
            pthread_mutex_unlock(&p->lock);
            rt__diagnose_report(kind, &p->record);
            pthread_mutex_lock(&p->lock);
            p->woken = true; /* the handler returned: poll again rather than hang */
        }
        /* A spurious wake-up in shake mode: poll again though nobody woke us. */
        if (shake && rt_shake_one_in(&rng, 8))
            p->woken = true;
        atomic_store(&p->record.waiting, !p->woken);
        while (!p->woken)
            pthread_cond_wait(&p->woken_cond, &p->lock);
        atomic_store(&p->record.waiting, false);
        pthread_mutex_unlock(&p->lock);
    }

    rt__executor_leave_blocking(blocking);
    rt__registry_remove(&p->record);
    pthread_mutex_lock(&p->lock);
    p->finished = true;
    atomic_store(&p->record.waiting, false);
    pthread_mutex_unlock(&p->lock);
    parker_release(p); /* this call's reference */
}
