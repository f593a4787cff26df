/*
 * rt_diagnose.h - telling a student why their async code is stuck.
 *
 * A stuck future is the classic async bug, and a bare timeout says nothing
 * about it. Because wakers are counted, the runtime sees the commonest
 * cause the moment it happens: a task (or a block_on call) that is pending
 * while no waker for it exists any more. It then reports a diagnosis,
 * naming the task and what it was waiting on, with a hint in the student's
 * terms. By default the report goes to stderr and the process aborts, so a
 * test fails at once instead of hanging.
 *
 * For stores that are kept but never woken, the watchdog (rt_watchdog.h)
 * lists, at a timeout, the pending tasks and where their wakers came from.
 */
#ifndef RT_DIAGNOSE_H
#define RT_DIAGNOSE_H

typedef enum rt_diagnosis_kind {
    /* answered PENDING while no clone of its waker existed */
    RT_DIAG_PENDING_WITHOUT_WAKER,
    /* the last clone of its waker was dropped without a wake while it was pending */
    RT_DIAG_LAST_WAKER_DROPPED,
} rt_diagnosis_kind;

typedef struct rt_diagnosis {
    rt_diagnosis_kind kind;
    const char *task_name;  /* "consumer", or "block_on" for a blocked thread */
    const char *pending_in; /* innermost future or poll call that was PENDING; may be NULL */
    const char *message;    /* the whole report, ready to print */
} rt_diagnosis;

typedef void (*rt_diagnosis_handler)(const rt_diagnosis *diagnosis);

/*
 * Replaces the action taken on a diagnosis; returns the previous one.
 * NULL restores the default: print the report on stderr and abort().
 * The kit's own tests use this to check that a diagnosis fires.
 *
 * The handler runs on the thread that saw the loss (a worker, the thread
 * that dropped the waker, or the block_on thread), with no runtime lock
 * held. If it returns: a task is reported once and stays pending until its
 * executor shuts down and cancels it; a block_on call polls its future
 * again, as after a spurious wake-up, since nothing else could ever let
 * that thread go on.
 */
rt_diagnosis_handler rt_set_diagnosis_handler(rt_diagnosis_handler handler);

/* Prints, on stderr, every task and block_on that is pending now, with its live wakers. */
void rt_dump_pending(void);

#endif
