/*
 * rt_driver.h - who runs the reactor's loop: the driver token (internal to the runtime).
 *
 * The reactor (rt_reactor.c) is one poll(2) loop for the whole process,
 * but not one thread: whichever thread holds the driver token runs a turn
 * of it (tokio's driver lock, taken by a worker that parks). An executor's
 * worker that runs out of tasks takes the token and waits in poll(2)
 * instead of on its condition variable, so a descriptor that becomes ready
 * wakes the very thread that will poll the task: the wake lands in that
 * worker's next slot, and no other thread is woken on the way.
 *
 * The reactor's own thread is the fallback: it drives only while no worker
 * can come back to do it (no executor runs, or every worker is asleep or
 * blocked in rt_block_on), which is what a thread in rt_block_on needs.
 *
 * A worker's side, in the order it calls them (rt_executor.c):
 *
 *     worker starts, or leaves a blocking call   rt__driver_worker_busy
 *     runs out of tasks                         rt__driver_take(true)
 *         got it, still nothing to do           rt__driver_turn(true, ...) (releases it)
 *         got it, but work came in meanwhile    rt__driver_release
 *         did not get it                        rt__driver_worker_idle, then sleep
 *     every RT__DRIVER_EVENT_INTERVAL tasks     rt__driver_take(false), rt__driver_turn(false)
 *     exits, or enters a blocking call          rt__driver_worker_idle
 *
 * and whoever schedules a task for an executor whose only idle worker is
 * waiting in poll(2) calls rt__driver_kick.
 */
#ifndef RT_DRIVER_H
#define RT_DRIVER_H

#include <stdbool.h>

/*
 * Tasks a busy worker polls between two looks at the reactor (tokio's
 * event_interval): a worker that never runs out of tasks still lets
 * descriptors and timers wake theirs.
 */
#define RT__DRIVER_EVENT_INTERVAL 61

/*
 * Counts the calling worker as one that will come back to take the token
 * when it runs out of tasks (it is running tasks, or holds the token).
 * While any worker is so counted, the reactor thread leaves the driving to
 * the workers.
 */
void rt__driver_worker_busy(void);

/* The opposite: the worker sleeps, blocks or exits; after the last one the thread drives. */
void rt__driver_worker_idle(void);

/*
 * Tries to take the token. False when the reactor has not started (nothing
 * to wait for), or another worker holds it. If the reactor thread holds it
 * and `ask` is set, asks it to hand the token over and waits the moment
 * that takes (it is woken from poll(2) at once). From a true answer until
 * rt__driver_turn or rt__driver_release, a kick ends the next poll(2) at
 * once, so the caller may look for work one last time before waiting.
 */
bool rt__driver_take(bool ask);

/*
 * With the token: one turn of the loop, then releases the token. `block`:
 * wait in poll(2) until a descriptor is ready, a timer is due or a kick
 * comes; else only look. If anything is to be woken, `before_wakes(arg)`
 * is called first (may be NULL), then the wakers are woken on this thread.
 */
void rt__driver_turn(bool block, void (*before_wakes)(void *arg), void *arg);

/* With the token: releases it without a turn. */
void rt__driver_release(void);

/* Ends the poll(2) the token's holder waits in (or is about to), so it looks for work. */
void rt__driver_kick(void);

#endif
