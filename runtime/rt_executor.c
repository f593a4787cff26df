/*
 * rt_executor.c - tasks, their wakers, and the worker threads that poll them.
 *
 * A task moves through these states (one atomic variable; the changes a
 * waker makes are compare-and-swaps, so a wake and the end of a poll can
 * race without a lock):
 *
 *   IDLE --wake--> SCHEDULED --a worker takes it--> RUNNING --PENDING--> IDLE
 *                                                    |  ^ wake while running
 *                                                    v  |
 *                                                  NOTIFIED --PENDING--> SCHEDULED
 *   RUNNING --READY--> DONE;  any state --shutdown--> DONE (cancelled)
 *
 * NOTIFIED is what keeps a wake that arrives during a poll from being lost:
 * the worker sees it when the poll returns and schedules the task again.
 *
 * Where a scheduled task waits. Every executor has one run queue that all
 * workers share, under the executor's lock. A task woken by a task running
 * on a worker (the usual case: a sender waking its receiver) goes instead
 * into that worker's "next" slot, and the worker polls it right after the
 * current poll: no lock of the executor, no condition variable, no other
 * thread to wake up, and the data the two tasks share is still in this
 * core's cache. Two tasks waking each other could keep a worker to
 * themselves that way, so after NEXT_SLOT_RUNS polls in a row from the slot
 * a wake goes to the shared queue instead, behind everybody else (tokio
 * does the same).
 *
 * Idle workers sleep on a condition variable. Waking one costs a system
 * call and moves work to another core, so a worker is woken only when the
 * queue holds more tasks than the busy workers will take on their own.
 *
 * A task is freed when its last reference goes: the executor holds one until
 * the task is done, the join handle one, and every live waker one. The
 * wakers are counted apart from the rest, which is how a lost waker is seen,
 * but in the same atomic word (the upper half of record.wakers; the other
 * references are its lower half): a clone, a wake or a drop then changes one
 * word once, and the task is freed by whichever change leaves both halves
 * empty.
 *
 * Why atomics and not a lock per task: a wake and a poll are the hot path of
 * every channel, and a mutex costs two atomic instructions plus a call each
 * time; the state machine needs one compare-and-swap. The task's lock only
 * guards its join handle's side (the joiner's waker, the outcome) and wakes
 * that come from threads other than this executor's workers (see
 * task_wake_by_ref for why).
 *
 * Lock order: a task's lock, then the executor's lock. Two task locks are
 * never held together.
 */
#include "rt_executor.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_block_on.h"
#include "rt_internal.h"
#include "rt_shake.h"

/* Polls in a row a worker takes from its next slot before serving the queue. */
#define NEXT_SLOT_RUNS 3

typedef enum task_state {
    TASK_IDLE,
    TASK_SCHEDULED,
    TASK_RUNNING,
    TASK_NOTIFIED,
    TASK_DONE,
} task_state;

/* A join handle is the task itself, seen from outside. */
typedef struct rt_join_handle task;

struct rt_join_handle {
    _Atomic task_state state;
    atomic_bool reported; /* a lost waker was reported: once is enough */
    rt_future *future;
    rt_executor *executor;
    pthread_mutex_t lock;        /* guards the three fields below; see task_wake_by_ref */
    bool finished;               /* the future was dropped: joiners may go on */
    rt_task_outcome outcome;     /* valid once finished */
    rt_waker join_waker;         /* whoever awaits the join handle */
    task *live_prev, *live_next; /* the executor's tasks not yet done, under its lock */
    rt_wait_record record;
};

typedef struct worker {
    rt_executor *executor;
    unsigned index;
    rt_shake_rng rng;
    task *next;         /* woken here; runs right after the current poll */
    unsigned next_runs; /* polls in a row taken from `next` */
} worker;

struct rt_executor {
    pthread_mutex_t lock;
    pthread_cond_t work_cond;
    pthread_cond_t idle_cond; /* signalled when every worker has gone idle */
    unsigned idle_waiters;    /* threads in rt_executor_wait_idle */
    task **ring;              /* the shared run queue: a ring buffer of scheduled tasks */
    size_t ring_cap, ring_head, ring_len;
    unsigned idle_workers;     /* asleep, waiting for work */
    unsigned blocked_workers;  /* inside a blocking call in a poll (rt_block_on in a task) */
    atomic_bool shutting_down; /* written under lock; read without it by workers */
    task *live;                /* every task not yet done, for shutdown */
    pthread_t *threads;
    worker **workers;
    unsigned worker_count;
    bool shake;
    uint64_t shake_seed;
    rt_shake_rng queue_rng; /* under lock: which ready task runs next */
};

static _Thread_local task *current_task;
static _Thread_local worker *current_worker; /* NULL outside worker threads */
static const rt_waker_vtable task_vtable;

static void *checked_alloc(size_t size) {
    void *p = calloc(1, size);
    if (p == NULL) {
        fprintf(stderr, "rt_executor: out of memory\n");
        abort();
    }
    return p;
}

/* ---- references ---- */

static void task_free(task *t) {
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* No reference of either kind left in `word` (the dropped-last bit may remain). */
static bool unreferenced(uint64_t word) {
    return rt_record_word_owner_refs(word) == 0 && rt_record_word_live(word) == 0;
}

/* Gives up one of the references kept in the lower half (not a waker's). */
static void task_release(task *t) {
    if (unreferenced(atomic_fetch_sub(&t->record.wakers, 1) - 1))
        task_free(t);
}

/* ---- the shared run queue ---- */

static void queue_push_locked(rt_executor *ex, task *t) {
    if (ex->ring_len == ex->ring_cap) {
        size_t cap = ex->ring_cap ? ex->ring_cap * 2 : 64;
        task **ring = checked_alloc(cap * sizeof *ring);
        for (size_t i = 0; i < ex->ring_len; i++)
            ring[i] = ex->ring[(ex->ring_head + i) % ex->ring_cap];
        free(ex->ring);
        ex->ring = ring;
        ex->ring_cap = cap;
        ex->ring_head = 0;
    }
    ex->ring[(ex->ring_head + ex->ring_len) % ex->ring_cap] = t;
    ex->ring_len++;
}

static task *queue_pop_locked(rt_executor *ex) {
    if (ex->shake && ex->ring_len > 1) {
        /* Shake: any ready task may run next, not only the oldest. */
        size_t pick = rt_shake_next(&ex->queue_rng) % ex->ring_len;
        size_t a = ex->ring_head, b = (ex->ring_head + pick) % ex->ring_cap;
        task *swap = ex->ring[a];
        ex->ring[a] = ex->ring[b];
        ex->ring[b] = swap;
    }
    task *t = ex->ring[ex->ring_head];
    ex->ring_head = (ex->ring_head + 1) % ex->ring_cap;
    ex->ring_len--;
    return t;
}

/*
 * Wakes a sleeping worker if the queue holds more than the busy workers
 * will take when their polls return. In shake mode always: more threads
 * running at once make more interleavings.
 */
static void maybe_wake_worker_locked(rt_executor *ex) {
    unsigned busy = ex->worker_count - ex->idle_workers - ex->blocked_workers;
    if (ex->idle_workers > 0 && (ex->shake || ex->ring_len > busy))
        pthread_cond_signal(&ex->work_cond);
}

static void queue_push(rt_executor *ex, task *t) {
    pthread_mutex_lock(&ex->lock);
    if (!atomic_load(&ex->shutting_down)) { /* at shutdown every unfinished task is cancelled */
        queue_push_locked(ex, t);
        maybe_wake_worker_locked(ex);
    }
    pthread_mutex_unlock(&ex->lock);
}

/*
 * Puts a task that just became SCHEDULED where a worker will find it. A
 * wake on one of this executor's workers goes to that worker's next slot
 * (see the top of the file); the task that was there moves to the queue.
 */
static void schedule(task *t) {
    rt_executor *ex = t->executor;
    worker *w = current_worker;
    bool use_slot = w != NULL && w->executor == ex && w->next_runs < NEXT_SLOT_RUNS;
    if (use_slot && ex->shake)
        use_slot = rt_shake_one_in(&w->rng, 2); /* try both paths under shake */
    if (!use_slot) {
        queue_push(ex, t);
        return;
    }
    task *bumped = w->next;
    w->next = t;
    if (bumped != NULL)
        queue_push(ex, bumped);
}

/* ---- the task waker ---- */

static rt_waker task_clone(void *data) {
    task *t = data;
    rt_record_clone(&t->record); /* the clone's reference and its count, in one step */
    rt_site_store(&t->record.last_clone, rt_clone_site);
    return (rt_waker){t, &task_vtable};
}

/* IDLE -> SCHEDULED (and queue it), or RUNNING -> NOTIFIED; else nothing to add. */
static void wake_state(task *t) {
    task_state seen = atomic_load(&t->state);
    for (;;) {
        task_state next;
        if (seen == TASK_IDLE)
            next = TASK_SCHEDULED;
        else if (seen == TASK_RUNNING)
            next = TASK_NOTIFIED; /* the worker polls it again when this poll returns */
        else
            return; /* already scheduled or notified, or done */
        if (atomic_compare_exchange_weak(&t->state, &seen, next)) {
            if (next == TASK_SCHEDULED) {
                atomic_store_explicit(&t->record.waiting, false, memory_order_relaxed);
                schedule(t);
            }
            return;
        }
    }
}

static void task_wake_by_ref(void *data) {
    task *t = data;
    worker *w = current_worker;
    if (w != NULL && w->executor == t->executor) {
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

/* Reports a lost waker for t, once. */
static void report_lost(task *t, rt_diagnosis_kind kind) {
    if (!atomic_exchange(&t->reported, true))
        rt_diagnose_report(kind, &t->record);
}

static void task_drop_waker(void *data) {
    task *t = data;
    rt_site_store(&t->record.last_drop, rt_drop_site);
    /* The clone goes, and its reference becomes an ordinary one for as long
     * as this function looks at the task. */
    if (rt_record_word_live(rt_record_release_word(&t->record, true, 1)) == 0) {
        /* The last way to wake the task just went. Pending: report it. Being
         * polled: the worker may have counted the wakers already, before
         * this drop; NOTIFIED makes it poll once more and count again. */
        task_state seen = atomic_load(&t->state);
        while (seen == TASK_RUNNING &&
               !atomic_compare_exchange_weak(&t->state, &seen, TASK_NOTIFIED))
            ;
        if (seen == TASK_IDLE)
            report_lost(t, RT_DIAG_LAST_WAKER_DROPPED);
    }
    task_release(t);
}

static void task_wake(void *data) {
    task *t = data;
    task_wake_by_ref(t);
    /* The clone and its reference go together; after this, t is another's. */
    if (unreferenced(rt_record_release_word(&t->record, false, 0)))
        task_free(t);
}

static const rt_waker_vtable task_vtable = {task_clone, task_wake, task_wake_by_ref,
                                            task_drop_waker};

/* ---- running tasks ---- */

static void unlink_live_locked(rt_executor *ex, task *t) {
    if (t->live_prev != NULL)
        t->live_prev->live_next = t->live_next;
    else
        ex->live = t->live_next;
    if (t->live_next != NULL)
        t->live_next->live_prev = t->live_prev;
}

/*
 * The end of a task: drops its future, then tells the joiner. In that
 * order, so that when a join returns the future is gone and its memory may
 * be reused. The task is already DONE: wakes no longer schedule it.
 */
static void task_finish(task *t, rt_task_outcome outcome) {
    atomic_store_explicit(&t->record.waiting, false, memory_order_relaxed);
    rt_registry_remove(&t->record);
    rt_future_drop(t->future);
    pthread_mutex_lock(&t->lock);
    t->finished = true;
    t->outcome = outcome;
    rt_waker joiner = rt_waker_take(&t->join_waker);
    pthread_mutex_unlock(&t->lock);
    rt_waker_wake(&joiner);
    task_release(t); /* the executor's reference */
}

static void run_task(worker *w, task *t) {
    /* Only this worker holds a SCHEDULED task, so a plain store will do;
     * a wake from now on sees RUNNING and makes it NOTIFIED. */
    atomic_store(&t->state, TASK_RUNNING);

    rt_executor *ex = w->executor;
    if (ex->shake && rt_shake_one_in(&w->rng, 4))
        sched_yield();

    rt_waker borrowed = {t, &task_vtable};
    rt_context cx = rt_context_from_waker(&borrowed);
    current_task = t;
    /* Relaxed: read only by the timeout report, to tell a poll that never returns. */
    atomic_store_explicit(&t->record.in_poll, true, memory_order_relaxed);
    rt_poll result = rt_future_poll(t->future, &cx);
    atomic_store_explicit(&t->record.in_poll, false, memory_order_relaxed);
    current_task = NULL;

    if (result == RT_READY) {
        atomic_store(&t->state, TASK_DONE);
        pthread_mutex_lock(&ex->lock);
        unlink_live_locked(ex, t);
        pthread_mutex_unlock(&ex->lock);
        task_finish(t, RT_TASK_COMPLETED);
        return;
    }

    /* Relaxed: `pending_in` and `waiting` only feed reports, and a full
     * barrier on every poll would cost more than the rest of the bookkeeping. */
    atomic_store_explicit(&t->record.pending_in, cx.pending_in, memory_order_relaxed);
    /* Shake: now and then poll again with no wake-up; correct futures cope. */
    if (ex->shake && rt_shake_one_in(&w->rng, 8)) {
        atomic_store(&t->state, TASK_SCHEDULED);
        queue_push(ex, t);
        return;
    }
    atomic_store_explicit(&t->record.waiting, true, memory_order_relaxed);
    /* Count the wakers before letting go of the task: once it is IDLE a
     * wake may send it to another worker, which may finish and free it. No
     * waker now means none ever again (a clone is made from a live one), so
     * nothing can wake, finish or free the task: it is safe to report after
     * the change below. A last waker dropped between this count and that
     * change finds the task RUNNING and makes it NOTIFIED (task_drop_waker),
     * so the change fails and the next poll's count sees the loss. */
    bool lost = rt_record_live(&t->record) == 0;
    task_state seen = TASK_RUNNING;
    if (!atomic_compare_exchange_strong(&t->state, &seen, TASK_IDLE)) {
        /* NOTIFIED: woken during the poll. Nobody else schedules a NOTIFIED
         * task, so it is still ours. To the shared queue, not the next
         * slot: a task that woke itself (a yield) lets others run. */
        atomic_store_explicit(&t->record.waiting, false, memory_order_relaxed);
        atomic_store(&t->state, TASK_SCHEDULED);
        queue_push(ex, t);
        return;
    }
    if (lost)
        report_lost(t, rt_record_dropped_last(&t->record) ? RT_DIAG_LAST_WAKER_DROPPED
                                                          : RT_DIAG_PENDING_WITHOUT_WAKER);
}

/* The next task for worker w: its next slot first, else the shared queue. NULL: stop. */
static task *next_task(worker *w) {
    rt_executor *ex = w->executor;
    if (w->next != NULL && !atomic_load(&ex->shutting_down)) {
        task *t = w->next;
        w->next = NULL;
        w->next_runs++;
        return t;
    }
    w->next_runs = 0;
    pthread_mutex_lock(&ex->lock);
    if (w->next != NULL) { /* shutting down: leave it to be cancelled */
        w->next = NULL;
    }
    while (!atomic_load(&ex->shutting_down) && ex->ring_len == 0) {
        ex->idle_workers++;
        if (ex->idle_workers == ex->worker_count && ex->idle_waiters > 0)
            pthread_cond_broadcast(&ex->idle_cond);
        pthread_cond_wait(&ex->work_cond, &ex->lock);
        ex->idle_workers--;
    }
    task *t = atomic_load(&ex->shutting_down) ? NULL : queue_pop_locked(ex);
    pthread_mutex_unlock(&ex->lock);
    return t;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    current_worker = w;
    task *t;
    while ((t = next_task(w)) != NULL)
        run_task(w, t);
    current_worker = NULL;
    return NULL;
}

void *rt_executor_enter_blocking(void) {
    /* A poll that blocks (rt_block_on or rt_join inside a task) keeps this
     * worker from its next slot and from the queue: hand the slot's task to
     * the queue, count this worker out of the busy ones so that a sleeping
     * worker is woken for it, and stop using the slot until the call is over. */
    worker *w = current_worker;
    if (w == NULL)
        return NULL;
    rt_executor *ex = w->executor;
    current_worker = NULL;
    pthread_mutex_lock(&ex->lock);
    ex->blocked_workers++;
    if (w->next != NULL && !atomic_load(&ex->shutting_down))
        queue_push_locked(ex, w->next);
    w->next = NULL;
    maybe_wake_worker_locked(ex);
    pthread_mutex_unlock(&ex->lock);
    return w;
}

void rt_executor_leave_blocking(void *saved) {
    worker *w = saved;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->executor->lock);
    w->executor->blocked_workers--;
    pthread_mutex_unlock(&w->executor->lock);
    current_worker = w;
}

/* ---- the public API ---- */

rt_executor *rt_executor_new(unsigned workers) {
    rt_executor_config config = {.workers = workers};
    return rt_executor_new_config(&config);
}

rt_executor *rt_executor_new_config(const rt_executor_config *config) {
    rt_executor *ex = checked_alloc(sizeof *ex);
    pthread_mutex_init(&ex->lock, NULL);
    pthread_cond_init(&ex->work_cond, NULL);
    pthread_cond_init(&ex->idle_cond, NULL);
    atomic_init(&ex->shutting_down, false);

    ex->shake = config->shake;
    ex->shake_seed = config->shake_seed ? config->shake_seed : 1;
    uint64_t env_seed;
    if (rt_shake_env_seed(&env_seed)) {
        ex->shake = true;
        ex->shake_seed = env_seed;
    }
    if (ex->shake) {
        rt_shake_rng_init(&ex->queue_rng, ex->shake_seed, 0);
        rt_shake_note_seed(ex->shake_seed);
    }

    unsigned count = config->workers;
    if (count == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        count = cores > 0 ? (unsigned)cores : 1;
    }
    ex->worker_count = count;
    ex->threads = checked_alloc(count * sizeof *ex->threads);
    ex->workers = checked_alloc(count * sizeof *ex->workers);
    for (unsigned i = 0; i < count; i++) {
        worker *w = checked_alloc(sizeof *w);
        w->executor = ex;
        w->index = i;
        rt_shake_rng_init(&w->rng, ex->shake_seed, i + 1);
        ex->workers[i] = w;
        if (pthread_create(&ex->threads[i], NULL, worker_main, w) != 0) {
            fprintf(stderr, "rt_executor: cannot start worker thread %u\n", i);
            abort();
        }
    }
    return ex;
}

rt_join_handle *rt_spawn(rt_executor *ex, rt_future *future, const char *name) {
    task *t = checked_alloc(sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    atomic_init(&t->state, TASK_SCHEDULED);
    atomic_init(&t->record.wakers, 2); /* the executor's and the join handle's; no waker yet */
    t->future = future;
    t->executor = ex;
    t->record.kind = "task";
    snprintf(t->record.name, sizeof t->record.name, "%s", name != NULL ? name : "task");
    rt_registry_add(&t->record);

    pthread_mutex_lock(&ex->lock);
    if (atomic_load(&ex->shutting_down)) {
        /* Spawned by a poll still under way while the executor stops (a
         * server accepting a connection as it is told to stop, say). As
         * tokio does, the task is cancelled at once: its future is dropped
         * here and its handle reports RT_TASK_CANCELLED. */
        pthread_mutex_unlock(&ex->lock);
        atomic_store(&t->state, TASK_DONE);
        task_finish(t, RT_TASK_CANCELLED);
        return t;
    }
    t->live_next = ex->live;
    if (ex->live != NULL)
        ex->live->live_prev = t;
    ex->live = t;
    queue_push_locked(ex, t);
    maybe_wake_worker_locked(ex);
    pthread_mutex_unlock(&ex->lock);
    return t;
}

rt_poll rt_join_handle_poll(rt_join_handle *t, rt_context *cx, rt_task_outcome *outcome) {
    pthread_mutex_lock(&t->lock);
    if (t->finished) {
        *outcome = t->outcome;
        pthread_mutex_unlock(&t->lock);
        return RT_READY;
    }
    bool stored = rt_waker_will_wake(&t->join_waker, cx->waker);
    pthread_mutex_unlock(&t->lock);
    if (stored) /* polled again by the same task: its waker is already here */
        return RT_PENDING;

    /* Cloned with no lock held: cloning a block_on waker takes its lock,
     * and a waker is never cloned or dropped under a lock of ours. */
    rt_waker mine = rt_waker_clone(cx->waker);
    pthread_mutex_lock(&t->lock);
    if (t->finished) {
        *outcome = t->outcome;
        pthread_mutex_unlock(&t->lock);
        rt_waker_drop(&mine);
        return RT_READY;
    }
    rt_waker old = t->join_waker;
    t->join_waker = mine;
    pthread_mutex_unlock(&t->lock);
    rt_waker_drop(&old);
    return RT_PENDING;
}

void rt_join_handle_drop(rt_join_handle *t) {
    pthread_mutex_lock(&t->lock);
    rt_waker joiner = rt_waker_take(&t->join_waker);
    pthread_mutex_unlock(&t->lock);
    rt_waker_drop(&joiner);
    task_release(t);
}

const char *rt_join_handle_name(const rt_join_handle *t) {
    return t->record.name;
}

typedef struct join_future {
    rt_future base;
    rt_join_handle *handle;
    rt_task_outcome outcome;
} join_future;

static rt_poll join_future_poll(rt_future *self, rt_context *cx) {
    join_future *f = (join_future *)self;
    return rt_join_handle_poll(f->handle, cx, &f->outcome);
}

rt_task_outcome rt_join(rt_join_handle *handle) {
    join_future f = {.base = {.poll = join_future_poll, .name = "rt_join"}, .handle = handle};
    rt_block_on(&f.base);
    rt_join_handle_drop(handle);
    return f.outcome;
}

void rt_executor_wait_idle(rt_executor *ex) {
    pthread_mutex_lock(&ex->lock);
    ex->idle_waiters++;
    while (!atomic_load(&ex->shutting_down) &&
           !(ex->ring_len == 0 && ex->idle_workers == ex->worker_count))
        pthread_cond_wait(&ex->idle_cond, &ex->lock);
    ex->idle_waiters--;
    pthread_mutex_unlock(&ex->lock);
}

void rt_executor_shutdown(rt_executor *ex) {
    pthread_mutex_lock(&ex->lock);
    atomic_store(&ex->shutting_down, true);
    pthread_cond_broadcast(&ex->work_cond);
    pthread_mutex_unlock(&ex->lock);
    for (unsigned i = 0; i < ex->worker_count; i++) {
        pthread_join(ex->threads[i], NULL);
        free(ex->workers[i]);
    }

    /* No worker runs now. First mark every unfinished task DONE, so that
     * what the dropped futures do next (wake other tasks, drop their
     * wakers) neither schedules them nor reports a lost waker; then drop
     * the futures, each exactly once. Marking under each task's lock waits
     * out a wake from another thread that is queueing it right now. */
    pthread_mutex_lock(&ex->lock);
    task *cancelled = ex->live;
    ex->live = NULL;
    pthread_mutex_unlock(&ex->lock);
    for (task *t = cancelled; t != NULL; t = t->live_next) {
        pthread_mutex_lock(&t->lock);
        atomic_store(&t->state, TASK_DONE);
        pthread_mutex_unlock(&t->lock);
    }
    while (cancelled != NULL) {
        task *t = cancelled;
        cancelled = t->live_next; /* read first: finishing may free t */
        task_finish(t, RT_TASK_CANCELLED);
    }
    free(ex->ring);
    free(ex->threads);
    free(ex->workers);
    pthread_cond_destroy(&ex->work_cond);
    pthread_cond_destroy(&ex->idle_cond);
    pthread_mutex_destroy(&ex->lock);
    free(ex);
}

const char *rt_current_task_name(void) {
    return current_task != NULL ? current_task->record.name : NULL;
}
