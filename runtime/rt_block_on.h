/*
 * rt_block_on.h - run one future to completion on the calling thread.
 *
 * The bridge from plain threaded code into async code (Rust's block_on).
 * Polls the future; while it is PENDING the thread sleeps on a condition
 * variable until one of the future's wakers is woken, then polls again.
 * No busy waiting.
 *
 * If the future answers PENDING while no clone of its waker exists, or the
 * last clone is dropped without waking, nothing can ever wake the thread:
 * block_on reports that at once (rt_diagnose.h) instead of sleeping forever.
 */
#ifndef RT_BLOCK_ON_H
#define RT_BLOCK_ON_H

#include "rt_future.h"

/*
 * Polls `future` on this thread until it is READY; its result is in its own
 * fields. The future is not dropped: it belongs to the caller. The thread
 * parks between polls; a wake that arrives during a poll makes it poll
 * again at once. Safe to call inside a task's poll (see rt_executor.h), but
 * a poll that blocks holds up its worker.
 */
void rt_block_on(rt_future *future);

#endif
