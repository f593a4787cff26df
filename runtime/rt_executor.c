/*
 * rt_executor.c - the worker threads that poll tasks, where scheduled tasks
 * wait for them, and shutdown.
 *
 * What a task is, and the states it moves through, is the task module's
 * (rt_task.h); this file decides where a task waits once a wake has made it
 * SCHEDULED, and which worker polls it.
 *
 * Where a scheduled task waits. Every executor has one run queue
 * (rt_run_queue.h) that all workers share, under the executor's lock. A
 * task woken by a task running on a worker (the usual case: a sender waking
 * its receiver) goes instead into that worker's "next" slot, and the worker
 * polls it right after the current poll: no lock of the executor, no
 * condition variable, no other thread to wake up, and the data the two
 * tasks share is still in this core's cache. Two tasks waking each other
 * could keep a worker to themselves that way, so after NEXT_SLOT_RUNS polls
 * in a row from the slot a wake goes to the shared queue instead, behind
 * everybody else (tokio does the same).
 *
 * An idle worker drives the reactor (rt_driver.h): if it can take the
 * driver token, it waits in poll(2) rather than on the condition variable,
 * and the wakes of that turn go to its own next slot, so a task woken by
 * I/O runs on the thread that saw the descriptor ready, with no other
 * thread woken on the way. Other idle workers sleep on the condition
 * variable. Waking one costs a system call and moves work to another core,
 * so a worker is woken only when the queue holds more tasks than the busy
 * workers will take on their own; when the only idle worker is the one in
 * poll(2), it is woken by a kick of the reactor's self-pipe instead.
 *
 * Lock order: a task's lock, then the executor's lock, then the reactor's.
 */
#include "rt_executor.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rt_driver.h"
#include "rt_internal.h"
#include "rt_run_queue.h"
#include "rt_shake.h"
#include "rt_task.h"

/* Polls in a row a worker takes from its next slot before serving the queue. */
#define NEXT_SLOT_RUNS 3

/* A worker's own fields: only its thread touches them (it is current_worker there). */
typedef struct worker {
    rt_executor *executor;
    unsigned index;
    rt_shake_rng rng;
    rt__task *next;     /* woken here; runs right after the current poll */
    unsigned next_runs; /* polls in a row taken from `next` */
    unsigned ticks;     /* polls since this worker last looked at the reactor */
} worker;

struct rt_executor {
    pthread_mutex_t lock; /* guards every field above `threads` but shutting_down's reads */
    pthread_cond_t work_cond;
    pthread_cond_t idle_cond;  /* signalled when every worker has gone idle */
    unsigned idle_waiters;     /* threads in rt_executor_wait_idle */
    rt__run_queue queue;       /* the shared run queue */
    unsigned idle_workers;     /* waiting for work: asleep, or driving the reactor */
    worker *driver;            /* the idle worker that waits in poll(2) for the reactor, or NULL */
    unsigned blocked_workers;  /* inside a blocking call in a poll (rt_block_on in a task) */
    atomic_bool shutting_down; /* written under lock; read without it by workers */
    rt__task *live;            /* every task not yet done, for shutdown */
    rt_shake_rng queue_rng;    /* which ready task runs next, in shake mode */
    /* Fixed once the workers run. */
    pthread_t *threads;
    worker **workers;
    unsigned worker_count;
    bool shake;
    uint64_t shake_seed;
};

static _Thread_local worker *current_worker; /* NULL outside worker threads */

/* ---- the shared run queue, under the executor's lock ---- */

/*
 * Wakes an idle worker if the queue holds more than the busy workers will
 * take when their polls return. In shake mode always: more threads running
 * at once make more interleavings. A worker asleep on the condition
 * variable is signalled; true means the only idle worker is waiting in
 * poll(2) for the reactor, and the caller must kick it (rt__driver_kick)
 * once it has let go of the lock.
 */
static bool wake_worker_locked(rt_executor *ex) {
    unsigned busy = ex->worker_count - ex->idle_workers - ex->blocked_workers;
    if (ex->idle_workers == 0 || !(ex->shake || ex->queue.len > busy))
        return false;
    if (ex->idle_workers > (ex->driver != NULL ? 1u : 0u)) {
        pthread_cond_signal(&ex->work_cond);
        return false;
    }
    return ex->driver != NULL;
}

static void queue_push(rt_executor *ex, rt__task *t) {
    bool kick = false;
    pthread_mutex_lock(&ex->lock);
    if (!atomic_load(&ex->shutting_down)) { /* at shutdown every unfinished task is cancelled */
        rt__run_queue_push(&ex->queue, t);
        kick = wake_worker_locked(ex);
    }
    pthread_mutex_unlock(&ex->lock);
    if (kick)
        rt__driver_kick();
}

/* ---- what tasks ask of their executor (rt_task.h) ---- */

/*
 * Puts a task that just became SCHEDULED where a worker will find it. A
 * wake on one of this executor's workers goes to that worker's next slot
 * (see the top of the file); the task that was there moves to the queue.
 */
void rt__executor_schedule(rt_executor *ex, rt__task *t) {
    worker *w = current_worker;
    bool use_slot = w != NULL && w->executor == ex && w->next_runs < NEXT_SLOT_RUNS;
    if (use_slot && ex->shake)
        use_slot = rt_shake_one_in(&w->rng, 2); /* try both paths under shake */
    if (!use_slot) {
        queue_push(ex, t);
        return;
    }
    rt__task *bumped = w->next;
    w->next = t;
    if (bumped != NULL)
        queue_push(ex, bumped);
}

/* Kept in step with current_worker: set where it is set. */
_Thread_local const rt_executor *rt__worker_of;

static void set_current_worker(worker *w) {
    current_worker = w;
    rt__worker_of = w != NULL ? w->executor : NULL;
}

/* ---- the workers ---- */

static void unlink_live_locked(rt_executor *ex, rt__task *t) {
    if (t->live_prev != NULL)
        t->live_prev->live_next = t->live_next;
    else
        ex->live = t->live_next;
    if (t->live_next != NULL)
        t->live_next->live_prev = t->live_prev;
}

static void run_task(worker *w, rt__task *t) {
    rt_executor *ex = w->executor;
    if (ex->shake && rt_shake_one_in(&w->rng, 4))
        sched_yield();

    if (rt__task_poll(t) == RT_READY) { /* the task is DONE: wakes no longer schedule it */
        pthread_mutex_lock(&ex->lock);
        unlink_live_locked(ex, t);
        pthread_mutex_unlock(&ex->lock);
        rt__task_finish(t, RT_TASK_COMPLETED);
        return;
    }
    /* Shake: now and then poll again with no wake-up; correct futures cope. */
    if (ex->shake && rt_shake_one_in(&w->rng, 8)) {
        rt__task_reschedule(t);
        queue_push(ex, t);
        return;
    }
    /* Woken during the poll: to the shared queue, not the next slot, so a
     * task that woke itself (a yield) lets others run. */
    if (!rt__task_wait(t))
        queue_push(ex, t);
}

/* Counts w idle; under the executor's lock. The last one to go idle tells rt_executor_wait_idle. */
static void become_idle_locked(rt_executor *ex) {
    ex->idle_workers++;
    if (ex->idle_workers == ex->worker_count && ex->idle_waiters > 0)
        pthread_cond_broadcast(&ex->idle_cond);
}

/* Called by the reactor when the turn w drives has tasks to wake: w is busy from then on, so
 * that no wait_idle sees every worker idle while a woken task sits in w's next slot. */
static void stop_driving(void *arg) {
    worker *w = arg;
    rt_executor *ex = w->executor;
    pthread_mutex_lock(&ex->lock);
    if (ex->driver == w) {
        ex->driver = NULL;
        ex->idle_workers--;
    }
    pthread_mutex_unlock(&ex->lock);
}

/*
 * Idle worker w waits in poll(2) for the reactor, if it can take the
 * driver token (rt_driver.h). Called and returns with the executor's lock
 * held. False: the reactor has not started, or another worker drives; w
 * sleeps on the condition variable instead.
 */
static bool drive_reactor(worker *w) {
    rt_executor *ex = w->executor;
    ex->driver = w; /* from now on a task scheduled here kicks poll(2) (wake_worker_locked) */
    become_idle_locked(ex);
    pthread_mutex_unlock(&ex->lock);
    bool took = rt__driver_take(true);
    pthread_mutex_lock(&ex->lock);
    if (took) {
        /* A last look for work, now that a kick would end the poll(2). */
        if (!atomic_load(&ex->shutting_down) && ex->queue.len == 0) {
            pthread_mutex_unlock(&ex->lock);
            w->ticks = 0;
            rt__driver_turn(true, stop_driving, w);
            pthread_mutex_lock(&ex->lock);
        } else {
            rt__driver_release();
        }
    }
    if (ex->driver == w) { /* the turn woke nothing of ours, or there was no turn */
        ex->driver = NULL;
        ex->idle_workers--;
    }
    return took;
}

/* The next task for worker w: its next slot first, else the shared queue. NULL: stop. */
static rt__task *next_task(worker *w) {
    rt_executor *ex = w->executor;
    if (w->next != NULL && !atomic_load(&ex->shutting_down)) {
        rt__task *t = w->next;
        w->next = NULL;
        w->next_runs++;
        return t;
    }
    w->next_runs = 0;
    rt__task *t = NULL;
    bool may_drive = true; /* false after a failed try, until something wakes w */
    pthread_mutex_lock(&ex->lock);
    while (!atomic_load(&ex->shutting_down)) {
        if (w->next != NULL) { /* woken by the turn of the reactor that w drove */
            t = w->next;
            w->next = NULL;
            break;
        }
        if (ex->queue.len > 0) {
            t = rt__run_queue_pop(&ex->queue, ex->shake ? &ex->queue_rng : NULL);
            break;
        }
        if (may_drive && ex->driver == NULL) {
            may_drive = drive_reactor(w);
            continue;
        }
        become_idle_locked(ex);
        rt__driver_worker_idle(); /* asleep here, w will not come back to drive by itself */
        pthread_cond_wait(&ex->work_cond, &ex->lock);
        rt__driver_worker_busy();
        ex->idle_workers--;
        may_drive = true;
    }
    if (t == NULL)
        w->next = NULL; /* shutting down: leave it to be cancelled */
    pthread_mutex_unlock(&ex->lock);
    return t;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    set_current_worker(w);
    rt__driver_worker_busy();
    rt__task *t;
    while ((t = next_task(w)) != NULL) {
        run_task(w, t);
        /* A worker that never runs out of tasks still lets I/O and timers in. */
        if (++w->ticks >= RT__DRIVER_EVENT_INTERVAL) {
            w->ticks = 0;
            if (rt__driver_take(false))
                rt__driver_turn(false, NULL, NULL);
        }
    }
    rt__driver_worker_idle();
    set_current_worker(NULL);
    return NULL;
}

/* ---- the blocking hand-off ---- */

void *rt__executor_enter_blocking(void) {
    /* A poll that blocks (rt_block_on or rt_join inside a task) keeps this
     * worker from its next slot and from the queue: hand the slot's task to
     * the queue, count this worker out of the busy ones so that a sleeping
     * worker is woken for it, and stop using the slot until the call is over. */
    worker *w = current_worker;
    if (w == NULL)
        return NULL;
    rt_executor *ex = w->executor;
    set_current_worker(NULL);
    pthread_mutex_lock(&ex->lock);
    ex->blocked_workers++;
    if (w->next != NULL && !atomic_load(&ex->shutting_down))
        rt__run_queue_push(&ex->queue, w->next);
    w->next = NULL;
    bool kick = wake_worker_locked(ex);
    pthread_mutex_unlock(&ex->lock);
    if (kick)
        rt__driver_kick();
    rt__driver_worker_idle(); /* blocked, it cannot drive: another worker or the reactor thread will
                               */
    return w;
}

void rt__executor_leave_blocking(void *saved) {
    worker *w = saved;
    if (w == NULL)
        return;
    rt__driver_worker_busy();
    pthread_mutex_lock(&w->executor->lock);
    w->executor->blocked_workers--;
    pthread_mutex_unlock(&w->executor->lock);
    set_current_worker(w);
}

/* ---- the public API ---- */

rt_executor *rt_executor_new(unsigned workers) {
    rt_executor_config config = {.workers = workers};
    return rt_executor_new_config(&config);
}

rt_executor *rt_executor_new_config(const rt_executor_config *config) {
    rt_executor *ex = rt__calloc(sizeof *ex, "rt_executor");
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
    ex->threads = rt__calloc(count * sizeof *ex->threads, "rt_executor");
    ex->workers = rt__calloc(count * sizeof *ex->workers, "rt_executor");
    for (unsigned i = 0; i < count; i++) {
        worker *w = rt__calloc(sizeof *w, "rt_executor");
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
    rt__task *t = rt__task_new(ex, future, name);
    pthread_mutex_lock(&ex->lock);
    if (atomic_load(&ex->shutting_down)) {
        /* Spawned by a poll still under way while the executor stops (a
         * server accepting a connection as it is told to stop, say). As
         * tokio does, the task is cancelled at once: its future is dropped
         * here and its handle reports RT_TASK_CANCELLED. */
        pthread_mutex_unlock(&ex->lock);
        rt__task_cancel(t);
        rt__task_finish(t, RT_TASK_CANCELLED);
        return t;
    }
    t->live_next = ex->live;
    if (ex->live != NULL)
        ex->live->live_prev = t;
    ex->live = t;
    rt__run_queue_push(&ex->queue, t);
    bool kick = wake_worker_locked(ex);
    pthread_mutex_unlock(&ex->lock);
    if (kick)
        rt__driver_kick();
    return t;
}

void rt_executor_wait_idle(rt_executor *ex) {
    pthread_mutex_lock(&ex->lock);
    ex->idle_waiters++;
    while (!atomic_load(&ex->shutting_down) &&
           !(ex->queue.len == 0 && ex->idle_workers == ex->worker_count))
        pthread_cond_wait(&ex->idle_cond, &ex->lock);
    ex->idle_waiters--;
    pthread_mutex_unlock(&ex->lock);
}

void rt_executor_shutdown(rt_executor *ex) {
    pthread_mutex_lock(&ex->lock);
    atomic_store(&ex->shutting_down, true);
    pthread_cond_broadcast(&ex->work_cond);
    bool kick = ex->driver != NULL; /* a worker in poll(2) must hear of it too */
    pthread_mutex_unlock(&ex->lock);
    if (kick)
        rt__driver_kick();
    for (unsigned i = 0; i < ex->worker_count; i++) {
        pthread_join(ex->threads[i], NULL);
        free(ex->workers[i]);
    }

    /* No worker runs now. First mark every unfinished task DONE, so that
     * what the dropped futures do next (wake other tasks, drop their
     * wakers) neither schedules them nor reports a lost waker; then drop
     * the futures, each exactly once. */
    pthread_mutex_lock(&ex->lock);
    rt__task *cancelled = ex->live;
    ex->live = NULL;
    pthread_mutex_unlock(&ex->lock);
    for (rt__task *t = cancelled; t != NULL; t = t->live_next)
        rt__task_cancel(t);
    while (cancelled != NULL) {
        rt__task *t = cancelled;
        cancelled = t->live_next; /* read first: finishing may free t */
        rt__task_finish(t, RT_TASK_CANCELLED);
    }
    rt__run_queue_free(&ex->queue);
    free(ex->threads);
    free(ex->workers);
    pthread_cond_destroy(&ex->work_cond);
    pthread_cond_destroy(&ex->idle_cond);
    pthread_mutex_destroy(&ex->lock);
    free(ex);
}
