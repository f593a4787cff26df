/*
 * rt_reactor.h - the reactor: one loop that waits for file descriptors and timers.
 *
 * tokio's I/O driver (and its AsyncFd), in the shape of Redis's ae.c: one
 * loop for the process, started the first time anything needs it. Each
 * turn it builds an array of the descriptors some task waits for, plus the
 * read end of a self-pipe, and calls poll(2) with a timeout that ends at
 * the nearest timer (rt_time.h). For each descriptor poll(2) says is ready
 * it takes the stored waker out of the table and wakes it; then it wakes
 * the timers that are due, and goes round again. The loop is turned by an
 * executor's idle worker, as in tokio, so the task woken runs on the
 * thread that saw its descriptor ready; when no worker can, by the
 * reactor's own thread.
 *
 * Who it wakes is whoever stored a waker: a task on any executor, or a
 * thread in rt_block_on. Both are woken the same way, by their waker, so
 * neither the executor nor block_on knows that the reactor exists.
 *
 * The self-pipe: a task that starts waiting for a descriptor changes what
 * poll(2) should watch, but the loop may be asleep in poll(2) on the old
 * array. Writing one byte to the pipe ends that poll(2) at once, and the
 * next turn builds the array afresh.
 *
 * How a future waits for a descriptor (what rt_tcp.h does inside):
 *
 *     for (;;) {
 *         if (rt_reactor_fd_poll_ready(io, RT_IO_READABLE, cx) == RT_PENDING)
 *             return RT_PENDING;                   // waker stored; poll(2) watches fd
 *         ssize_t got = read(fd, buf, cap);
 *         if (got < 0 && errno == EAGAIN) {
 *             rt_reactor_fd_clear_ready(io, RT_IO_READABLE);   // not ready after all
 *             continue;                            // so the next call stores the waker
 *         }
 *         ...                                      // got bytes, EOF or an error
 *     }
 *
 * A descriptor starts out "ready" in both directions, so the first call
 * just tries the operation. Answering PENDING after EAGAIN without that
 * call stores no waker: the runtime reports it as a lost waker.
 *
 * Only POSIX is used: poll(2), pipe(2), fcntl(2) and pthreads.
 */
#ifndef RT_REACTOR_H
#define RT_REACTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "rt_io.h"

/* A direction to wait for (tokio's Interest). */
typedef enum rt_io_interest {
    RT_IO_READABLE = 1, /* bytes to read, a connection to accept, EOF or an error */
    RT_IO_WRITABLE = 2, /* room in the send buffer, a connect that finished, or an error */
} rt_io_interest;

/*
 * A descriptor registered with the reactor (tokio's AsyncFd). It keeps one
 * waker for each direction, so one task may wait to read while another
 * waits to write (the two halves of a TCP connection). Each direction is
 * used by one task at a time: a second task waiting in the same direction
 * replaces the first one's waker.
 */
typedef struct rt_reactor_fd rt_reactor_fd;

/*
 * Registers `fd`, which must already be non-blocking (rt_io_set_nonblocking),
 * and starts the reactor if it is not running. `label` names it in
 * diagnoses ("peer 127.0.0.1:40112", "pipe"); copied; may be NULL. The
 * descriptor stays the caller's: the reactor never closes it.
 * RT_IO_OK and *io set, or RT_IO_NO_MEMORY.
 */
rt_io_result rt_reactor_fd_open(int fd, const char *label, rt_reactor_fd **io);

/*
 * Unregisters and frees `io`: drops the wakers it holds (no wake: whoever
 * waited is being dropped too, or will be told by its own code), and the
 * reactor stops watching the descriptor before the caller closes it. Does
 * not close the descriptor. Must not race with a poll on `io`.
 */
void rt_reactor_fd_drop(rt_reactor_fd *io);

/* The descriptor given to rt_reactor_fd_open. */
int rt_reactor_fd_fileno(const rt_reactor_fd *io);

/*
 * READY when the descriptor may be ready in that direction (try the
 * operation now); else stores a clone of cx->waker for that direction,
 * has the reactor watch the descriptor, and answers PENDING. The reactor
 * wakes the waker, once, when poll(2) says the descriptor is ready.
 * (tokio's AsyncFd::poll_read_ready / poll_write_ready.)
 */
rt_poll rt_reactor_fd_poll_ready(rt_reactor_fd *io, rt_io_interest interest, rt_context *cx);

/*
 * Marks the descriptor not ready in that direction, after the operation
 * said EAGAIN: the next rt_reactor_fd_poll_ready then waits for poll(2).
 * (tokio's AsyncFdReadyGuard::clear_ready.)
 */
void rt_reactor_fd_clear_ready(rt_reactor_fd *io, rt_io_interest interest);

/*
 * The two steps above around read(2): READY with RT_IO_OK and *n > 0,
 * RT_IO_EOF, or an error; PENDING with the waker stored.
 */
rt_poll rt_reactor_fd_poll_read(rt_reactor_fd *io, rt_context *cx, void *buf, size_t cap, size_t *n,
                                rt_io_result *result);

/*
 * The same around write(2) (send(2) with MSG_NOSIGNAL on a socket, so a
 * peer that went away gives RT_IO_RESET, not SIGPIPE). *n may be less than
 * `len`. On a pipe whose reader is gone, SIGPIPE is raised as usual.
 */
rt_poll rt_reactor_fd_poll_write(rt_reactor_fd *io, rt_context *cx, const void *buf, size_t len,
                                 size_t *n, rt_io_result *result);

/*
 * Drops the waker stored for one direction, if any: for the drop function
 * of a future that polled `io` and is being dropped before it was READY
 * (cancelled at shutdown, or timed out), so no waker of it stays behind.
 */
void rt_reactor_fd_drop_waker(rt_reactor_fd *io, rt_io_interest interest);

/* `io` as a reader, for rt_read_future and rt_line_reader (a pipe's read end, say). */
rt_io_reader rt_reactor_fd_reader(rt_reactor_fd *io);

/* `io` as a writer, for rt_write_all_future. */
rt_io_writer rt_reactor_fd_writer(rt_reactor_fd *io);

#endif
