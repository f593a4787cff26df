/*
 * rt_poll.h - the answer of every poll function: PENDING or READY.
 *
 * The C form of Rust's std::task::Poll. A future (or a poll function such as
 * a channel's receive) answers RT_READY when it has its result and RT_PENDING
 * when it has not; in that case it must first have arranged to be woken (see
 * rt_waker.h), or nothing will ever poll it again.
 */
#ifndef RT_POLL_H
#define RT_POLL_H

//@slide rt-poll
typedef enum rt_poll {
    RT_PENDING = 0, /* not ready; a clone of the context's waker is stored */
    RT_READY = 1,   /* done; the result is in the place the API names */
} rt_poll;
//@end

#endif
