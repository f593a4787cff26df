/*
 * rt_async.h - async functions written as poll functions, protothread style.
 *
 * Rust compiles `async fn` into a state machine. In C we write that state
 * machine by hand with three macros, after Contiki's protothreads: the
 * poll function is a switch on the line it last stopped at, and RT_AWAIT
 * returns PENDING and records where to resume.
 *
 *     #include <stdlib.h>
 *     #include "mpsc.h" // the first exercise's channel
 *
 *     typedef struct {
 *         rt_future base;
 *         rt_async co; // where to resume
 *         mpsc_receiver *receiver;
 *         void *message;           // everything that lives across an await
 *         mpsc_recv_result result; // is a field, not a local
 *         int seen;
 *     } consumer_task;
 *
 *     rt_poll consumer_poll(rt_future *f, rt_context *cx) {
 *         consumer_task *t = (consumer_task *)f;
 *         RT_ASYNC_BEGIN(&t->co);
 *         for (;;) {
 *             RT_AWAIT_POLL(&t->co, cx,
 *                           mpsc_receiver_poll_recv(t->receiver, cx, &t->message, &t->result));
 *             if (t->result == MPSC_RECV_CLOSED)
 *                 break; // every sender is gone: the task is done
 *             t->seen++;
 *             free(t->message); // the message is the task's now
 *         }
 *         RT_ASYNC_END(&t->co);
 *     }
 *
 * The catch, as with every protothread: local variables do not survive an
 * await (the function really returns). Keep state in the future's fields.
 * Do not put an RT_AWAIT inside a switch statement of your own.
 */
#ifndef RT_ASYNC_H
#define RT_ASYNC_H

#include "rt_future.h"

/* Where an async poll function resumes; zero-initialise before the first poll. */
typedef struct rt_async {
    int resume_line; /* 0: not started; -1: finished */
} rt_async;

#if defined(__GNUC__) || defined(__clang__)
#define RT_FALLTHROUGH __attribute__((fallthrough))
#else
#define RT_FALLTHROUGH
#endif

//@slide rt-async-await
/* Opens the body of an async poll function. */
#define RT_ASYNC_BEGIN(co)                                                                         \
    switch ((co)->resume_line) {                                                                   \
    case 0:

/* Awaits a future: returns PENDING from here until `future` is READY. */
#define RT_AWAIT(co, cx, future)                                                                   \
    do {                                                                                           \
        (co)->resume_line = __LINE__;                                                              \
        RT_FALLTHROUGH;                                                                            \
    case __LINE__:                                                                                 \
        if (rt_future_poll((future), (cx)) == RT_PENDING)                                          \
            return RT_PENDING;                                                                     \
    } while (0)
//@end

/*
 * Awaits a poll expression: evaluates `poll_expr` (an rt_poll) at every poll
 * until it is RT_READY. The expression is named in lost-waker diagnoses.
 */
#define RT_AWAIT_POLL(co, cx, poll_expr)                                                           \
    do {                                                                                           \
        (co)->resume_line = __LINE__;                                                              \
        RT_FALLTHROUGH;                                                                            \
    case __LINE__:                                                                                 \
        if ((poll_expr) == RT_PENDING) {                                                           \
            rt_context_note_pending((cx), #poll_expr);                                             \
            return RT_PENDING;                                                                     \
        }                                                                                          \
    } while (0)

/* Lets other tasks run: wakes itself, answers PENDING once, resumes on the next poll. */
#define RT_YIELD(co, cx)                                                                           \
    do {                                                                                           \
        (co)->resume_line = __LINE__;                                                              \
        rt_waker_wake_by_ref((cx)->waker);                                                         \
        return RT_PENDING;                                                                         \
    case __LINE__:;                                                                                \
    } while (0)

/* Finishes early: the future is READY. */
#define RT_ASYNC_RETURN(co)                                                                        \
    do {                                                                                           \
        (co)->resume_line = -1;                                                                    \
        return RT_READY;                                                                           \
    } while (0)

/* Closes the body: falling off the end makes the future READY. */
/* (Kept out of clang-format, which would indent the lines after the closing brace.) */
/* clang-format off */
#define RT_ASYNC_END(co)                                                                           \
    RT_FALLTHROUGH; /* the body's last statement runs on into here */                              \
    default:;                                                                                      \
    }                                                                                              \
    (co)->resume_line = -1;                                                                        \
    return RT_READY
/* clang-format on */

#endif
