/*
 * rt_executor.h - a pool of worker threads that runs spawned tasks.
 *
 * The kit's small tokio. A task is a future handed to rt_spawn; a worker
 * polls it when it is scheduled, and a task is scheduled when spawned and
 * whenever one of its wakers is woken. A task woken while it is being polled
 * is polled again afterwards: that wake-up is never lost.
 *
 * Each spawn returns a join handle, which is itself awaitable: poll it from
 * another task, or wait for it on a plain thread with rt_join.
 *
 * Tasks have names (for diagnoses). A task that answers PENDING while no
 * clone of its waker is left, or whose last waker is dropped without a
 * wake, is reported at once by name (see rt_diagnose.h).
 *
 * Poll functions must not block: a worker that waits inside a poll (on a
 * lock held for long, on I/O, on rt_join) runs nothing else meanwhile.
 * rt_block_on and rt_join inside a task do work (the worker hands its
 * pending work to the others first), but with one worker they deadlock as
 * soon as they wait for another task.
 *
 * A task woken from a task that runs on the same executor is usually
 * polled next on the same worker, right after the current poll: the way a
 * channel's sender and receiver take turns cheaply. A task that keeps
 * yielding goes to the back of the queue, so nobody starves.
 */
#ifndef RT_EXECUTOR_H
#define RT_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_future.h"

typedef struct rt_executor rt_executor;
typedef struct rt_join_handle rt_join_handle;

typedef struct rt_executor_config {
    unsigned workers; /* worker threads; 0 means one per core */
    /* Shake mode (rt_shake.h): random order of ready tasks, spurious
     * wake-ups and random yields, from this seed. The environment variable
     * RT_SHAKE=<seed> turns it on for every executor and replaces the seed. */
    bool shake;
    uint64_t shake_seed;
} rt_executor_config;

/* How a task ended, as its join handle reports it. */
typedef enum rt_task_outcome {
    RT_TASK_COMPLETED, /* its future answered READY */
    RT_TASK_CANCELLED, /* the executor shut down first; its future was dropped */
} rt_task_outcome;

/* Starts an executor with `workers` threads (0: one per core). */
rt_executor *rt_executor_new(unsigned workers);

/* Starts an executor as `config` says. */
rt_executor *rt_executor_new_config(const rt_executor_config *config);

/*
 * Schedules `future` to be polled by the executor, as a task named `name`
 * (copied; NULL gives "task"). The future must stay valid until its drop
 * function runs, or until the task is joined when it has none. Returns the
 * task's join handle: join it or drop it, once. A task spawned from a poll
 * that is still under way when rt_executor_shutdown starts is cancelled at
 * once (its future dropped, its handle saying RT_TASK_CANCELLED), as
 * tokio's spawn on a runtime that is shutting down.
 */
rt_join_handle *rt_spawn(rt_executor *executor, rt_future *future, const char *name);

/*
 * Waits on this thread until the task ends, frees the handle, and says how
 * it ended. A handle may be joined after its executor was shut down (it
 * then says RT_TASK_CANCELLED at once, unless the task had completed).
 */
rt_task_outcome rt_join(rt_join_handle *handle);

/*
 * The join handle as a future, for use inside a task: READY once the task
 * ended (its future already dropped), with its outcome in *outcome; else
 * PENDING, with the caller's waker stored in the handle. Poll it from one
 * task at a time. Then free the handle with rt_join_handle_drop.
 */
rt_poll rt_join_handle_poll(rt_join_handle *handle, rt_context *cx, rt_task_outcome *outcome);

/* Lets go of the handle (and of any waker stored in it); the task runs on, detached. */
void rt_join_handle_drop(rt_join_handle *handle);

/* The task's name, as given to rt_spawn. */
const char *rt_join_handle_name(const rt_join_handle *handle);

/*
 * Blocks the calling thread until the executor has nothing to do: every
 * worker idle and no task queued, so every task is either pending (waiting
 * for a wake) or done. Meant for tests that must act while a task is known
 * to be waiting, for instance drop the last sender only once the receiver
 * sleeps (a shaken executor may otherwise poll it again on its own). A wake
 * from another thread may schedule a task right after this returns. Do not
 * call it from one of the executor's own tasks: it would wait for itself.
 */
void rt_executor_wait_idle(rt_executor *executor);

/*
 * Stops the executor: waits for the polls under way to return, cancels every
 * task that is not finished (dropping its future exactly once; its join
 * handle reports RT_TASK_CANCELLED), joins every worker thread and frees
 * the executor. Futures dropped here may wake or drop other tasks' wakers:
 * that is harmless, and no lost waker is reported for cancelled tasks.
 * Call it once, from a thread that is not one of its workers, after the
 * last rt_spawn; wakers of its tasks stay valid (waking them does nothing).
 */
void rt_executor_shutdown(rt_executor *executor);

/* The name of the task this thread is polling, or NULL outside a task's poll. */
const char *rt_current_task_name(void);

#endif
