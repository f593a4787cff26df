/*
 * rt_io.h - what every kind of I/O shares: its outcome, and readers and writers.
 *
 * The C form of three pieces of tokio::io:
 *
 *   std::io::Result / ErrorKind   rt_io_result: a named outcome, never an abort
 *   AsyncRead, AsyncWrite         rt_io_reader, rt_io_writer: a poll function and its object
 *   AsyncReadExt::read            rt_read_future: read some bytes
 *   AsyncWriteExt::write_all      rt_write_all_future: write a whole buffer, however
 *                                 many partial writes that takes
 *
 * A reader is anything that can be polled for bytes: one half of a TCP
 * connection (rt_tcp.h), a pipe registered with the reactor (rt_reactor.h),
 * stdin (rt_stdin.h). The line reader (rt_line_reader.h) works over any of
 * them, as tokio's BufReader does over any AsyncRead.
 *
 * Errors are values: a reset connection, a refused connect, the end of the
 * stream each come back as an rt_io_result the caller can switch on, and
 * rt_io_result_str turns one into a message. Nothing here aborts on an I/O
 * error, and nothing leaks on an error path.
 */
#ifndef RT_IO_H
#define RT_IO_H

#include <stddef.h>

#include "rt_future.h"

/* How an I/O operation ended (tokio's io::ErrorKind, plus OK and EOF). */
typedef enum rt_io_result {
    RT_IO_OK = 0,         /* done: the result is where the call says */
    RT_IO_EOF,            /* end of stream: the peer closed its side, or end of file */
    RT_IO_RESET,          /* the peer reset the connection (ECONNRESET, EPIPE) */
    RT_IO_REFUSED,        /* connect: nobody listens at that address (ECONNREFUSED) */
    RT_IO_ADDR_IN_USE,    /* bind: another socket listens on that port (EADDRINUSE) */
    RT_IO_BAD_ADDRESS,    /* the host is not a numeric address nor "localhost" */
    RT_IO_LINE_TOO_LONG,  /* a line longer than the reader's maximum (rt_line_reader.h) */
    RT_IO_TIMED_OUT,      /* a timeout ran out (rt_time.h), or the OS said ETIMEDOUT */
    RT_IO_TOO_MANY_FILES, /* out of file descriptors (EMFILE, ENFILE): see RLIMIT_NOFILE */
    RT_IO_NO_MEMORY,      /* an allocation failed; nothing was changed */
    RT_IO_ERROR,          /* any other system error */
} rt_io_result;

/* A short message for `result` ("connection reset by peer"); never NULL. */
const char *rt_io_result_str(rt_io_result result);

/* The result that names the system error `err` (an errno value). */
rt_io_result rt_io_result_from_errno(int err);

/*
 * Makes `fd` non-blocking (O_NONBLOCK): a read or write that cannot go on
 * at once fails with EAGAIN instead of holding the thread, which is what
 * the reactor needs. The sockets made by rt_tcp.h are non-blocking already.
 * Never do this to the terminal (fd 0, 1, 2): the flag is shared with the
 * shell and every other program on it. rt_stdin.h reads stdin another way.
 */
rt_io_result rt_io_set_nonblocking(int fd);

/* ---- readers and writers (tokio's AsyncRead and AsyncWrite) ---- */

/*
 * Reads at most `cap` bytes into `buf`. READY with *result RT_IO_OK and the
 * count in *n (at least 1), or RT_IO_EOF (*n is 0), or an error; PENDING
 * when no byte is there yet, after storing a clone of the waker.
 */
typedef rt_poll (*rt_io_poll_read_fn)(void *object, rt_context *cx, void *buf, size_t cap,
                                      size_t *n, rt_io_result *result);

/*
 * Writes at most `len` bytes of `buf`. READY with RT_IO_OK and the count
 * written in *n (at least 1; possibly fewer than `len`), or an error;
 * PENDING when nothing can be written yet, after storing a clone of the waker.
 */
typedef rt_poll (*rt_io_poll_write_fn)(void *object, rt_context *cx, const void *buf, size_t len,
                                       size_t *n, rt_io_result *result);

/*
 * Lets go of the waker that the last PENDING poll stored, if it is still
 * stored. A future that polled calls it from its drop function: a task
 * cancelled at shutdown, or an inner future dropped by a timeout, leaves
 * no waker behind with the reactor.
 */
typedef void (*rt_io_drop_waker_fn)(void *object);

/* Something to read from: its poll function and the object it works on. Copied by value. */
typedef struct rt_io_reader {
    rt_io_poll_read_fn poll_read;
    void *object;
    rt_io_drop_waker_fn drop_waker; /* may be NULL: nothing to let go of */
} rt_io_reader;

/* Something to write to. Copied by value. */
typedef struct rt_io_writer {
    rt_io_poll_write_fn poll_write;
    void *object;
    rt_io_drop_waker_fn drop_waker; /* may be NULL */
} rt_io_writer;

/* Polls `reader` once: the same as reader.poll_read(reader.object, ...). */
rt_poll rt_io_poll_read(rt_io_reader reader, rt_context *cx, void *buf, size_t cap, size_t *n,
                        rt_io_result *result);

/* Polls `writer` once. */
rt_poll rt_io_poll_write(rt_io_writer writer, rt_context *cx, const void *buf, size_t len,
                         size_t *n, rt_io_result *result);

/* Calls reader.drop_waker (or writer.drop_waker), if there is one. */
void rt_io_reader_drop_waker(rt_io_reader reader);
void rt_io_writer_drop_waker(rt_io_writer writer);

/* ---- read some bytes (tokio's AsyncReadExt::read) ---- */

typedef struct rt_read_future {
    rt_future base;
    rt_io_reader reader;
    void *buf;
    size_t cap;
    size_t n;            /* once READY: bytes read (0 at EOF or on an error) */
    rt_io_result result; /* once READY: RT_IO_OK, RT_IO_EOF or an error */
} rt_read_future;

/*
 * Prepares a future that reads at most `cap` bytes into `buf` (which must
 * outlive it). Its drop function lets go of a waker it left with the reader.
 */
void rt_read_future_init(rt_read_future *future, rt_io_reader reader, void *buf, size_t cap);

/* ---- write a whole buffer (tokio's AsyncWriteExt::write_all) ---- */

typedef struct rt_write_all_future {
    rt_future base;
    rt_io_writer writer;
    const char *buf;
    size_t len;
    size_t written;      /* bytes written so far; all of them once READY with RT_IO_OK */
    rt_io_result result; /* once READY: RT_IO_OK, or the error that stopped it */
} rt_write_all_future;

/*
 * Prepares a future that writes all `len` bytes of `buf`, as many partial
 * writes as the socket takes, waiting whenever its send buffer is full.
 * `buf` must stay valid and unchanged until the future is READY or dropped.
 * On an error it stops: `written` says how much went out before it. Its
 * drop function lets go of a waker it left with the writer.
 */
void rt_write_all_future_init(rt_write_all_future *future, rt_io_writer writer, const void *buf,
                              size_t len);

#endif
