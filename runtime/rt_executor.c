/*
 * rt_executor.c - tasks, their wakers, and the worker threads that poll them.
 *
 * A task moves through these states, under its own lock:
 *
 *   IDLE --wake--> SCHEDULED --worker pops it--> RUNNING --PENDING--> IDLE
 *                                                 |  ^ wake while running
 *                                                 v  |
 *                                               NOTIFIED --PENDING--> SCHEDULED
 *   RUNNING --READY--> DONE;  any state --shutdown--> DONE (cancelled)
 *
 * NOTIFIED is what keeps a wake that arrives during a poll from being lost:
 * the worker sees it when the poll returns and schedules the task again.
 *
 * A task is freed when its last reference goes: the executor holds one until
 * the task is done, the join handle one, and every live waker one. Wakers
 * are also counted apart, which is how a lost waker is seen.
 */
#include "rt_executor.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_block_on.h"
#include "rt_internal.h"
#include "rt_shake.h"

typedef enum task_state {
    TASK_IDLE,
    TASK_SCHEDULED,
    TASK_RUNNING,
    TASK_NOTIFIED,
    TASK_DONE,
} task_state;

typedef struct task {
    pthread_mutex_t lock;
    task_state state;
    int refs; /* executor (until done) + join handle + live wakers */
    rt_future *future;
    rt_executor *executor;
    rt_task_outcome outcome;
    rt_waker join_waker;            /* whoever awaits the join handle */
    struct task *live_prev, *live_next; /* the executor's tasks not yet done */
    rt_wait_record record;
} task;

struct rt_join_handle {
    task task; /* a join handle is the task seen from outside */
};

struct rt_executor {
    pthread_mutex_t lock;
    pthread_cond_t work_cond;
    task **ring; /* run queue: ring buffer of scheduled tasks */
    size_t ring_cap, ring_head, ring_len;
    unsigned idle_workers;
    bool shutting_down;
    task *live; /* every task not yet done, for shutdown */
    pthread_t *threads;
    unsigned worker_count;
    bool shake;
    uint64_t shake_seed;
    rt_shake_rng queue_rng; /* under lock: which ready task runs next */
};

typedef struct worker {
    rt_executor *executor;
    unsigned index;
    rt_shake_rng rng;
} worker;

static _Thread_local task *current_task;
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

static void task_release_locked(task *t) {
    bool last = --t->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (last) {
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
}

static void task_release(task *t) {
    pthread_mutex_lock(&t->lock);
    task_release_locked(t);
}

/* ---- the run queue ---- */

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

static void schedule(task *t) {
    rt_executor *ex = t->executor;
    pthread_mutex_lock(&ex->lock);
    if (!ex->shutting_down) { /* at shutdown every unfinished task is cancelled instead */
        queue_push_locked(ex, t);
        if (ex->idle_workers > 0)
            pthread_cond_signal(&ex->work_cond);
    }
    pthread_mutex_unlock(&ex->lock);
}

/* ---- the task waker ---- */

static rt_waker task_clone(void *data) {
    task *t = data;
    pthread_mutex_lock(&t->lock);
    t->refs++;
    t->record.live_wakers++;
    t->record.last_clone = rt_clone_site;
    pthread_mutex_unlock(&t->lock);
    return (rt_waker){t, &task_vtable};
}

static void task_wake_by_ref(void *data) {
    task *t = data;
    pthread_mutex_lock(&t->lock);
    switch (t->state) {
    case TASK_IDLE:
        t->state = TASK_SCHEDULED;
        t->record.waiting = false;
        pthread_mutex_unlock(&t->lock);
        schedule(t);
        return;
    case TASK_RUNNING:
        t->state = TASK_NOTIFIED; /* the worker polls it again when this poll returns */
        break;
    default: /* already scheduled or notified, or done: nothing to add */
        break;
    }
    pthread_mutex_unlock(&t->lock);
}

static void task_drop_waker(void *data) {
    task *t = data;
    pthread_mutex_lock(&t->lock);
    t->record.live_wakers--;
    t->record.last_drop = rt_drop_site;
    if (t->record.live_wakers == 0 && t->state == TASK_IDLE) {
        rt_wait_record copy = t->record;
        pthread_mutex_unlock(&t->lock);
        rt_diagnose_report(RT_DIAG_LAST_WAKER_DROPPED, &copy);
        pthread_mutex_lock(&t->lock);
    }
    task_release_locked(t);
}

static void task_wake(void *data) {
    task *t = data;
    task_wake_by_ref(t);
    pthread_mutex_lock(&t->lock);
    t->record.live_wakers--;
    task_release_locked(t);
}

static const rt_waker_vtable task_vtable = {task_clone, task_wake, task_wake_by_ref,
                                            task_drop_waker};

/* ---- running tasks ---- */

static void unlink_live(task *t) {
    rt_executor *ex = t->executor;
    pthread_mutex_lock(&ex->lock);
    if (t->live_prev != NULL)
        t->live_prev->live_next = t->live_next;
    else
        ex->live = t->live_next;
    if (t->live_next != NULL)
        t->live_next->live_prev = t->live_prev;
    pthread_mutex_unlock(&ex->lock);
}

/* Marks t done with `outcome`, drops its future, wakes its joiner, lets go of it. */
static void finish(task *t, rt_task_outcome outcome) {
    pthread_mutex_lock(&t->lock);
    t->state = TASK_DONE;
    t->outcome = outcome;
    t->record.waiting = false;
    rt_waker joiner = rt_waker_take(&t->join_waker);
    pthread_mutex_unlock(&t->lock);

    rt_registry_remove(&t->record);
    unlink_live(t);
    /* Drop before waking the joiner: once a join returns, the future is gone. */
    rt_future_drop(t->future);
    rt_waker_wake(&joiner);
    task_release(t); /* the executor's reference */
}

static void run_task(worker *w, task *t) {
    pthread_mutex_lock(&t->lock);
    t->state = TASK_RUNNING;
    pthread_mutex_unlock(&t->lock);

    rt_executor *ex = w->executor;
    if (ex->shake && rt_shake_one_in(&w->rng, 4))
        sched_yield();

    rt_waker borrowed = {t, &task_vtable};
    rt_context cx = rt_context_from_waker(&borrowed);
    current_task = t;
    rt_poll result = rt_future_poll(t->future, &cx);
    current_task = NULL;

    if (result == RT_READY) {
        finish(t, RT_TASK_COMPLETED);
        return;
    }

    /* Shake: now and then poll again with no wake-up; correct futures cope. */
    bool spurious = ex->shake && rt_shake_one_in(&w->rng, 8);
    pthread_mutex_lock(&t->lock);
    t->record.pending_in = cx.pending_in;
    if (t->state == TASK_NOTIFIED || spurious) {
        t->state = TASK_SCHEDULED;
        pthread_mutex_unlock(&t->lock);
        schedule(t);
        return;
    }
    t->state = TASK_IDLE;
    t->record.waiting = true;
    if (t->record.live_wakers == 0) {
        rt_wait_record copy = t->record;
        pthread_mutex_unlock(&t->lock);
        rt_diagnose_report(RT_DIAG_PENDING_WITHOUT_WAKER, &copy);
        return;
    }
    pthread_mutex_unlock(&t->lock);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    rt_executor *ex = w->executor;
    for (;;) {
        pthread_mutex_lock(&ex->lock);
        while (!ex->shutting_down && ex->ring_len == 0) {
            ex->idle_workers++;
            pthread_cond_wait(&ex->work_cond, &ex->lock);
            ex->idle_workers--;
        }
        if (ex->shutting_down) {
            pthread_mutex_unlock(&ex->lock);
            break;
        }
        task *t = queue_pop_locked(ex);
        pthread_mutex_unlock(&ex->lock);
        run_task(w, t);
    }
    free(w);
    return NULL;
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
    for (unsigned i = 0; i < count; i++) {
        worker *w = checked_alloc(sizeof *w);
        w->executor = ex;
        w->index = i;
        rt_shake_rng_init(&w->rng, ex->shake_seed, i + 1);
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
    t->state = TASK_SCHEDULED;
    t->refs = 2; /* the executor's and the join handle's */
    t->future = future;
    t->executor = ex;
    t->record.kind = "task";
    snprintf(t->record.name, sizeof t->record.name, "%s", name != NULL ? name : "task");
    rt_registry_add(&t->record);

    pthread_mutex_lock(&ex->lock);
    if (ex->shutting_down) {
        pthread_mutex_unlock(&ex->lock);
        fprintf(stderr, "rt_spawn: executor is shutting down; task '%s' not started\n",
                t->record.name);
        abort();
    }
    t->live_next = ex->live;
    if (ex->live != NULL)
        ex->live->live_prev = t;
    ex->live = t;
    queue_push_locked(ex, t);
    if (ex->idle_workers > 0)
        pthread_cond_signal(&ex->work_cond);
    pthread_mutex_unlock(&ex->lock);
    return (rt_join_handle *)t;
}

rt_poll rt_join_handle_poll(rt_join_handle *handle, rt_context *cx, rt_task_outcome *outcome) {
    task *t = &handle->task;
    rt_waker mine = rt_waker_clone(cx->waker); /* cloned outside the lock: no lock nesting */
    pthread_mutex_lock(&t->lock);
    if (t->state == TASK_DONE) {
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

void rt_join_handle_drop(rt_join_handle *handle) {
    task *t = &handle->task;
    pthread_mutex_lock(&t->lock);
    rt_waker joiner = rt_waker_take(&t->join_waker);
    pthread_mutex_unlock(&t->lock);
    rt_waker_drop(&joiner);
    task_release(t);
}

const char *rt_join_handle_name(const rt_join_handle *handle) {
    return handle->task.record.name;
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

void rt_executor_shutdown(rt_executor *ex) {
    pthread_mutex_lock(&ex->lock);
    ex->shutting_down = true;
    pthread_cond_broadcast(&ex->work_cond);
    pthread_mutex_unlock(&ex->lock);
    for (unsigned i = 0; i < ex->worker_count; i++)
        pthread_join(ex->threads[i], NULL);

    /* No worker runs now. Cancel what is left; a dropped future may wake
     * other tasks, which schedule() ignores while shutting down. */
    for (;;) {
        pthread_mutex_lock(&ex->lock);
        task *t = ex->live;
        pthread_mutex_unlock(&ex->lock);
        if (t == NULL)
            break;
        finish(t, RT_TASK_CANCELLED);
    }
    free(ex->ring);
    free(ex->threads);
    pthread_cond_destroy(&ex->work_cond);
    pthread_mutex_destroy(&ex->lock);
    free(ex);
}

const char *rt_current_task_name(void) {
    return current_task != NULL ? current_task->record.name : NULL;
}
