/*
 * rt_task.h - a spawned future and its waker (internal to the runtime).
 *
 * The task module owns a task's state; the executor (rt_executor.c) owns
 * where tasks wait and which thread polls them. The two meet where smol's
 * async-task and async-executor meet: a wake that makes a task SCHEDULED
 * hands it to rt__executor_schedule, and a worker that takes a scheduled
 * task polls it with rt__task_poll.
 *
 * The task's whole state is one atomic word, record.state, laid out as
 * rt_refs.h says: references and live wakers, and in the OWNER bits:
 *
 *   bits 0-2  RT__TASK_STATE_MASK  where the task is in its life (below)
 *   bit 3     RT__TASK_REPORTED    a lost waker was reported: once is enough
 *
 *   IDLE --wake--> SCHEDULED --a worker takes it--> RUNNING --PENDING--> IDLE
 *                                                    |  ^ wake while running
 *                                                    v  |
 *                                                  NOTIFIED --PENDING--> SCHEDULED
 *   RUNNING --READY--> DONE;  any state --shutdown--> DONE (cancelled)
 *
 * Only rt_task.c changes the word. Every change is one atomic
 * read-modify-write (mostly a compare-and-swap, retried when another thread
 * changed the word first), so a wake, a clone, a drop and the end of a poll
 * can race without a lock, and the worker that ends a poll sees the state
 * and the count of wakers in the same instant. Besides the word, a task
 * holds only its join side (under its lock) and what reports read.
 */
#ifndef RT_TASK_H
#define RT_TASK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rt_executor.h"
#include "rt_internal.h"

/* A join handle is the task itself, seen from outside. */
typedef struct rt_join_handle rt__task;

#define RT__TASK_STATE_MASK UINT64_C(0x7)
#define RT__TASK_REPORTED   UINT64_C(0x8)

enum rt__task_state {
    RT__TASK_IDLE,      /* pending, waiting for a wake */
    RT__TASK_SCHEDULED, /* in a run queue or a worker's next slot, or taken by a worker */
    RT__TASK_RUNNING,   /* being polled */
    RT__TASK_NOTIFIED,  /* being polled, and woken since the poll began: poll it again */
    RT__TASK_DONE,      /* finished or cancelled: wakes do nothing */
};

struct rt_join_handle {
    rt__wait_record record; /* record.state: the word above; the rest feeds reports */
    rt_future *future;      /* polled only by the worker that made the task RUNNING */
    rt_executor *executor;  /* fixed at spawn; not used once the task is DONE */
    /* Guards the join side (the three fields below), and orders a wake from
     * a thread that is not a worker against shutdown (see rt_task.c). */
    pthread_mutex_t lock;
    bool finished;           /* the future was dropped: joiners may go on */
    rt_task_outcome outcome; /* valid once finished */
    rt_waker join_waker;     /* whoever awaits the join handle */
    /* The executor's: its list of tasks not yet done, under the executor's lock. */
    rt__task *live_prev, *live_next;
};

/*
 * A new task for `future`, named `name` (copied; NULL gives "task"),
 * registered for reports. It starts SCHEDULED, with two references: the
 * executor's, given up by rt__task_finish, and the join handle's.
 */
rt__task *rt__task_new(rt_executor *executor, rt_future *future, const char *name);

/*
 * Polls a SCHEDULED task that the calling worker holds (taken from a queue
 * or a slot). READY: the task is DONE; the caller unlinks it and calls
 * rt__task_finish. PENDING: the caller calls rt__task_wait, or
 * rt__task_reschedule.
 */
rt_poll rt__task_poll(rt__task *task);

/*
 * After a PENDING poll. True: the task is IDLE, waiting for a wake; if no
 * waker of it is left, the lost waker is reported here. False: it was woken
 * during the poll and is SCHEDULED again; the caller queues it. After true,
 * the caller must not touch the task: a wake may already have sent it to
 * another worker.
 */
bool rt__task_wait(rt__task *task);

/* After a PENDING poll: SCHEDULED again with no wake (shake mode's spurious wake-up); queue it. */
void rt__task_reschedule(rt__task *task);

/*
 * DONE, whatever the state, so that wakes no longer schedule it; for
 * shutdown, once no worker runs. Then call rt__task_finish.
 */
void rt__task_cancel(rt__task *task);

/*
 * The end of a DONE task: drops its future, then tells the joiner (in that
 * order: when a join returns, the future's memory may be reused), and
 * gives up the executor's reference, so the task may be freed.
 */
void rt__task_finish(rt__task *task, rt_task_outcome outcome);

/* Gives up an owner's reference (the join handle's); the last reference frees the task. */
void rt__task_release(rt__task *task);

/* ---- what a task needs from its executor (rt_executor.c) ---- */

/* Puts `task`, just made SCHEDULED by a wake, where a worker of `executor` will find it. */
void rt__executor_schedule(rt_executor *executor, rt__task *task);

/*
 * The executor the calling thread is a worker of, or NULL: on any other
 * thread, and on a worker inside a blocking call. Set by rt_executor.c. A
 * wake on such a worker needs no lock against shutdown: shutdown joins
 * every worker before it frees anything, so the executor outlives the
 * wake. (A thread-local rather than a function: it is read on every wake.)
 */
extern _Thread_local const rt_executor *rt__worker_of;

#endif
