/*
 * rt_run_queue.h - the scheduled tasks an executor's workers share
 * (internal to the runtime).
 *
 * A ring buffer that grows by doubling, oldest task first. It has no lock
 * of its own: the executor's lock guards it (rt_executor.c), so every
 * function here is called with that lock held.
 */
#ifndef RT_RUN_QUEUE_H
#define RT_RUN_QUEUE_H

#include <stddef.h>

#include "rt_shake.h"
#include "rt_task.h"

typedef struct rt__run_queue {
    rt__task **ring;
    size_t cap, head, len;
} rt__run_queue; /* all zero: empty */

/* Adds `task` at the back. */
void rt__run_queue_push(rt__run_queue *queue, rt__task *task);

/*
 * Takes a task from a queue that is not empty: the oldest, or, given a
 * shake generator, any one it picks (shake mode: any ready task may run next).
 */
rt__task *rt__run_queue_pop(rt__run_queue *queue, rt_shake_rng *shake);

/* Frees the ring (not the tasks in it). */
void rt__run_queue_free(rt__run_queue *queue);

#endif
