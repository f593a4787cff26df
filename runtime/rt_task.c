/*
 * rt_task.c - a task's state word, its waker, and one poll of it.
 *
 * The states and the word are drawn in rt_task.h. NOTIFIED is what keeps a
 * wake that arrives during a poll from being lost: the worker sees it when
 * the poll returns and schedules the task again, so a wake can never fall
 * between "the poll decided to wait" and "the task was marked as waiting".
 * Waking a task that is already SCHEDULED or NOTIFIED adds nothing: one
 * poll will see everything that happened before it.
 *
 * A task is freed when its last reference goes: the executor holds one
 * until the task is done, the join handle one, and every live waker one
 * (rt_refs.h counts them). The wakers are counted apart from the rest,
 * which is how a lost waker is seen, and in the same word as the state:
 * the end of a poll reads both in the one compare-and-swap that makes the
 * task IDLE, so "no waker is left" and "nothing can wake it now" are one
 * observation, not two that another thread can slip between.
 *
 * Why atomics and not a lock per task: a wake and a poll are the hot path
 * of every channel, and a mutex costs two atomic instructions plus a call
 * each time; a change of state needs one. The task's lock only guards its
 * join side (rt_join_handle.c) and wakes that come from threads other than
 * its executor's workers (see task_wake_by_ref for why).
 *
 * Lock order: a task's lock, then its executor's lock. Two task locks are
 * never held together.
 */
#include "rt_task.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_internal.h"
#include "rt_refs.h"

static _Thread_local rt__task *current_task;
static const rt_waker_vtable task_vtable;

static unsigned state_of(uint64_t word) {
    return (unsigned)(word & RT__TASK_STATE_MASK);
}

/* `word` with its state field set to `state`, the counts and flags kept. */
static uint64_t with_state(uint64_t word, unsigned state) {
    return (word & ~RT__TASK_STATE_MASK) | state;
}

/* Sets the state, keeping the counts, which other threads may be changing meanwhile. */
static void set_state(rt__task *t, unsigned state) {
    uint64_t seen = atomic_load(&t->record.state);
    while (!atomic_compare_exchange_weak(&t->record.state, &seen, with_state(seen, state)))
        ;
}

rt__task *rt__task_new(rt_executor *executor, rt_future *future, const char *name) {
    rt__task *t = rt__calloc(sizeof *t, "rt_spawn");
    pthread_mutex_init(&t->lock, NULL);
    /* The executor's reference and the join handle's; no waker yet. */
    atomic_init(&t->record.state, rt__refs_initial(2, RT__TASK_SCHEDULED));
    t->future = future;
    t->executor = executor;
    t->record.kind = "task";
    snprintf(t->record.name, sizeof t->record.name, "%s", name != NULL ? name : "task");
    rt__registry_add(&t->record);
    return t;
}

static void task_free(rt__task *t) {
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void rt__task_release(rt__task *t) {
    if (rt__refs_release(&t->record.state))
        task_free(t);
}

/* Reports a lost waker for t, once. */
static void report_lost(rt__task *t, rt_diagnosis_kind kind) {
    if (!(atomic_fetch_or(&t->record.state, RT__TASK_REPORTED) & RT__TASK_REPORTED))
        rt__diagnose_report(kind, &t->record);
}

/* ---- the task's waker ---- */

static rt_waker task_clone(void *data) {
    rt__task *t = data;
    rt__refs_clone(&t->record.state); /* the clone's reference and its count, in one step */
    rt__site_store(&t->record.last_clone, rt__clone_site);
    return (rt_waker){t, &task_vtable};
}

/* IDLE -> SCHEDULED (and hand it to the executor), or RUNNING -> NOTIFIED; else nothing to add. */
static void wake_state(rt__task *t) {
    uint64_t seen = atomic_load(&t->record.state);
    for (;;) {
        unsigned next;
        if (state_of(seen) == RT__TASK_IDLE)
            next = RT__TASK_SCHEDULED;
        else if (state_of(seen) == RT__TASK_RUNNING)
            next = RT__TASK_NOTIFIED; /* the worker polls it again when this poll returns */
        else
            return; /* already scheduled or notified, or done */
        if (atomic_compare_exchange_weak(&t->record.state, &seen, with_state(seen, next))) {
            if (next == RT__TASK_SCHEDULED) {
                atomic_store_explicit(&t->record.waiting, false, memory_order_relaxed);
                rt__executor_schedule(t->executor, t);
            }
            return;
        }
    }
}

static void task_wake_by_ref(void *data) {
    rt__task *t = data;
    if (rt__worker_of == t->executor) {
        /* A worker of this executor: shutdown joins every worker before it
         * frees anything, so the executor outlives this call. */
        wake_state(t);
        return;
    }
    /* Any other thread may race with rt_executor_shutdown. Shutdown marks
     * each task DONE under the task's lock, so under that lock either the
     * task is not DONE yet (and the executor is still there to queue it
     * on) or it is, and the wake does nothing. */
    pthread_mutex_lock(&t->lock);
    wake_state(t);
    pthread_mutex_unlock(&t->lock);
}

static void task_drop_waker(void *data) {
    rt__task *t = data;
    rt__site_store(&t->record.last_drop, rt__drop_site);
    /* The clone goes, and its reference becomes an owner's for as long as
     * this function looks at the task. */
    uint64_t word = rt__refs_release_waker(&t->record.state, true, true);
    /* The last way to wake a pending task just went: report it. A task
     * being polled or about to be is judged when its poll returns
     * (rt__task_wait), from the same word. */
    if (rt__refs_wakers(word) == 0 && state_of(word) == RT__TASK_IDLE)
        report_lost(t, RT_DIAG_LAST_WAKER_DROPPED);
    rt__task_release(t);
}

static void task_wake(void *data) {
    rt__task *t = data;
    task_wake_by_ref(t);
    /* The clone and its reference go together; after this, t is another's. */
    if (rt__refs_unreferenced(rt__refs_release_waker(&t->record.state, false, false)))
        task_free(t);
}

static const rt_waker_vtable task_vtable = {task_clone, task_wake, task_wake_by_ref,
                                            task_drop_waker};

/* ---- one poll ---- */

rt_poll rt__task_poll(rt__task *t) {
    /* Only the caller holds a SCHEDULED task, and wakes leave that state
     * alone, so one addition makes it RUNNING and keeps the counts; a wake
     * from now on sees RUNNING and makes it NOTIFIED. */
    atomic_fetch_add(&t->record.state, RT__TASK_RUNNING - RT__TASK_SCHEDULED);

    rt_waker borrowed = {t, &task_vtable};
    rt_context cx = rt_context_from_waker(&borrowed);
    current_task = t;
    /* Relaxed: read only by the timeout report, to tell a poll that never returns. */
    /* One poller at a time: a load and a store, no read-modify-write. */
    atomic_store_explicit(&t->record.polls,
                          atomic_load_explicit(&t->record.polls, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&t->record.in_poll, true, memory_order_relaxed);
    rt_poll result = rt_future_poll(t->future, &cx);
    atomic_store_explicit(&t->record.in_poll, false, memory_order_relaxed);
    current_task = NULL;

    if (result == RT_READY) {
        set_state(t, RT__TASK_DONE);
        return RT_READY;
    }
    /* Relaxed: `pending_in` and `waiting` only feed reports, and a full
     * barrier on every poll would cost more than the rest of the bookkeeping. */
    atomic_store_explicit(&t->record.pending_in, cx.pending_in, memory_order_relaxed);
    return RT_PENDING;
}

bool rt__task_wait(rt__task *t) {
    atomic_store_explicit(&t->record.waiting, true, memory_order_relaxed);
    uint64_t seen = atomic_load(&t->record.state);
    for (;;) {
        if (state_of(seen) == RT__TASK_NOTIFIED) {
            /* Woken during the poll. Nobody else schedules a NOTIFIED task,
             * so it is still the caller's to queue. */
            atomic_store_explicit(&t->record.waiting, false, memory_order_relaxed);
            set_state(t, RT__TASK_SCHEDULED);
            return false;
        }
        if (atomic_compare_exchange_weak(&t->record.state, &seen, with_state(seen, RT__TASK_IDLE)))
            break;
    }
    /* IDLE now, and `seen` is the word just before: once IDLE, a wake may
     * send the task to another worker, which may finish and free it, so the
     * count of wakers is read from `seen`, never from the task. No waker in
     * it means none ever again (a clone is made from a live one): nothing
     * can wake, finish or free the task, and it is safe to report. */
    if (rt__refs_wakers(seen) == 0)
        report_lost(t, rt__refs_dropped_last(seen) ? RT_DIAG_LAST_WAKER_DROPPED
                                                   : RT_DIAG_PENDING_WITHOUT_WAKER);
    return true;
}

void rt__task_reschedule(rt__task *t) {
    set_state(t, RT__TASK_SCHEDULED);
}

void rt__task_cancel(rt__task *t) {
    /* Under the task's lock: waits out a wake from another thread that is
     * handing the task to the executor right now (task_wake_by_ref). */
    pthread_mutex_lock(&t->lock);
    set_state(t, RT__TASK_DONE);
    pthread_mutex_unlock(&t->lock);
}

void rt__task_finish(rt__task *t, rt_task_outcome outcome) {
    atomic_store_explicit(&t->record.waiting, false, memory_order_relaxed);
    rt__registry_remove(&t->record);
    rt_future_drop(t->future);
    pthread_mutex_lock(&t->lock);
    t->finished = true;
    t->outcome = outcome;
    rt_waker joiner = rt_waker_take(&t->join_waker);
    pthread_mutex_unlock(&t->lock);
    rt_waker_wake(&joiner); /* never under the task's lock: the wake may run anything */
    rt__task_release(t);    /* the executor's reference */
}

const char *rt_current_task_name(void) {
    return current_task != NULL ? current_task->record.name : NULL;
}
