/*
 * rt_tcp.h - TCP listeners and connections for tasks (tokio::net).
 *
 *   tokio::net::TcpListener::bind      rt_tcp_listener_bind
 *   TcpListener::local_addr().port()   rt_tcp_listener_port
 *   TcpListener::accept                rt_tcp_listener_poll_accept, rt_tcp_accept_future
 *   TcpStream::connect                 rt_tcp_connect_future
 *   TcpStream::into_split              rt_tcp_stream_into_split: an rt_tcp_read_half and
 *                                      an rt_tcp_write_half (OwnedReadHalf, OwnedWriteHalf)
 *   TcpStream::peer_addr               rt_tcp_stream_peer, rt_tcp_read_half_peer, ...
 *   AsyncRead / AsyncWrite             ..._poll_read, ..._poll_write, ..._reader, ..._writer
 *
 * Every socket is non-blocking and registered with the reactor
 * (rt_reactor.h): a poll that cannot go on stores the task's waker and
 * answers PENDING, and the reactor wakes it when the socket is ready. To
 * read lines, put an rt_line_reader (rt_line_reader.h) over a reader; to
 * write a whole message, use rt_write_all_future (rt_io.h).
 *
 * Errors are values (rt_io_result): RT_IO_ADDR_IN_USE from bind,
 * RT_IO_REFUSED from connect, RT_IO_EOF when the peer closed, RT_IO_RESET
 * when it reset the connection. A write to a peer that is gone gives
 * RT_IO_RESET, never SIGPIPE.
 *
 * Thread safety: every function may be called from any thread; each
 * listener, stream and half is used by one task at a time. The two halves
 * of one connection may be used by two tasks at once: that is what
 * splitting is for.
 */
#ifndef RT_TCP_H
#define RT_TCP_H

#include <stdint.h>

#include "rt_io.h"

typedef struct rt_tcp_listener rt_tcp_listener;
typedef struct rt_tcp_stream rt_tcp_stream;
typedef struct rt_tcp_read_half rt_tcp_read_half;
typedef struct rt_tcp_write_half rt_tcp_write_half;

/* ---- listener ---- */

/*
 * Listens on `host` (a numeric IPv4 or IPv6 address, "localhost", or NULL
 * for every interface) and `port` (0: any free port, chosen by the kernel;
 * read it back with rt_tcp_listener_port). RT_IO_OK and *listener set, or
 * RT_IO_ADDR_IN_USE, RT_IO_BAD_ADDRESS, RT_IO_TOO_MANY_FILES, RT_IO_ERROR.
 * Not a poll function: binding never has to wait.
 */
rt_io_result rt_tcp_listener_bind(const char *host, uint16_t port, rt_tcp_listener **listener);

/* The port the listener is bound to (the one the kernel chose for port 0). */
uint16_t rt_tcp_listener_port(const rt_tcp_listener *listener);

/*
 * Accepts one connection: READY with RT_IO_OK and a new *stream (the
 * caller's, drop it with rt_tcp_stream_drop), or READY with an error (out
 * of descriptors, say: the listener stays usable); PENDING while nobody
 * connects, with the waker stored.
 */
rt_poll rt_tcp_listener_poll_accept(rt_tcp_listener *listener, rt_context *cx,
                                    rt_tcp_stream **stream, rt_io_result *result);

/*
 * Stops listening and frees the listener. Drop a future pending in accept
 * on it first (it is gone with the listener).
 */
void rt_tcp_listener_drop(rt_tcp_listener *listener);

/* A future that accepts one connection (tokio's listener.accept().await). */
typedef struct rt_tcp_accept_future {
    rt_future base;
    rt_tcp_listener *listener;
    rt_tcp_stream *stream; /* once READY with RT_IO_OK: the new connection, now the caller's */
    rt_io_result result;   /* once READY */
} rt_tcp_accept_future;

/*
 * Prepares an accept future on `listener` (which must outlive it). Its drop
 * function lets go of the waker it left with the listener, if any.
 */
void rt_tcp_accept_future_init(rt_tcp_accept_future *future, rt_tcp_listener *listener);

/* ---- connect ---- */

/*
 * A future that connects to host:port (tokio's TcpStream::connect). READY
 * with RT_IO_OK and `stream` set (now the caller's), or with an error:
 * RT_IO_REFUSED, RT_IO_BAD_ADDRESS, RT_IO_TIMED_OUT (the OS gave up), ...
 * `host` is numeric or "localhost": no name lookup, which would block.
 * Its drop function (rt_future_drop; the executor calls it) closes a
 * connection not yet handed over.
 */
typedef struct rt_tcp_connect_future {
    rt_future base;
    rt_tcp_stream *stream; /* once READY with RT_IO_OK: the connection, now the caller's */
    rt_io_result result;   /* once READY */
    /* private */
    char host[64];
    uint16_t port;
    rt_tcp_stream *connecting;
} rt_tcp_connect_future;

/* Prepares a connect future; nothing happens until it is polled. `host` is copied. */
void rt_tcp_connect_future_init(rt_tcp_connect_future *future, const char *host, uint16_t port);

/* ---- a connection ---- */

/*
 * Reads some bytes (tokio's AsyncRead::poll_read): READY with RT_IO_OK and
 * 1..cap bytes in buf (*n), RT_IO_EOF (*n = 0), RT_IO_RESET or another
 * error; PENDING with the waker stored.
 */
rt_poll rt_tcp_stream_poll_read(rt_tcp_stream *stream, rt_context *cx, void *buf, size_t cap,
                                size_t *n, rt_io_result *result);

/* Writes some bytes (AsyncWrite::poll_write): *n may be less than len. See rt_write_all_future. */
rt_poll rt_tcp_stream_poll_write(rt_tcp_stream *stream, rt_context *cx, const void *buf, size_t len,
                                 size_t *n, rt_io_result *result);

/* The stream as a reader (for rt_line_reader, rt_read_future) and as a writer. */
rt_io_reader rt_tcp_stream_reader(rt_tcp_stream *stream);
rt_io_writer rt_tcp_stream_writer(rt_tcp_stream *stream);

/* The peer's address, "127.0.0.1:40112" ("[::1]:40112" for IPv6). Valid while the stream is. */
const char *rt_tcp_stream_peer(const rt_tcp_stream *stream);

/* The socket's descriptor, to set options (SO_SNDBUF, SO_LINGER); do not close it. */
int rt_tcp_stream_fileno(const rt_tcp_stream *stream);

/*
 * Splits the connection into a read half and a write half (tokio's
 * into_split) and consumes `stream`. The halves may be used by two tasks
 * at once, even on two threads; each is dropped on its own, and the socket
 * is closed when both are gone.
 */
void rt_tcp_stream_into_split(rt_tcp_stream *stream, rt_tcp_read_half **read_half,
                              rt_tcp_write_half **write_half);

/* Closes the connection and frees the stream (nobody may be polling it). */
void rt_tcp_stream_drop(rt_tcp_stream *stream);

/* ---- the halves ---- */

/* As rt_tcp_stream_poll_read, on the read half. */
rt_poll rt_tcp_read_half_poll_read(rt_tcp_read_half *half, rt_context *cx, void *buf, size_t cap,
                                   size_t *n, rt_io_result *result);

/* As rt_tcp_stream_poll_write, on the write half. */
rt_poll rt_tcp_write_half_poll_write(rt_tcp_write_half *half, rt_context *cx, const void *buf,
                                     size_t len, size_t *n, rt_io_result *result);

rt_io_reader rt_tcp_read_half_reader(rt_tcp_read_half *half);
rt_io_writer rt_tcp_write_half_writer(rt_tcp_write_half *half);

/* The peer's address, as rt_tcp_stream_peer. */
const char *rt_tcp_read_half_peer(const rt_tcp_read_half *half);
const char *rt_tcp_write_half_peer(const rt_tcp_write_half *half);

/*
 * Ends the sending direction (shutdown(2) SHUT_WR, tokio's
 * AsyncWriteExt::shutdown): the peer reads EOF after the bytes already
 * sent, and can still send back. RT_IO_OK or an error.
 */
rt_io_result rt_tcp_write_half_shutdown(rt_tcp_write_half *half);

/* Let go of a half; the socket is closed when both halves are dropped. */
void rt_tcp_read_half_drop(rt_tcp_read_half *half);
void rt_tcp_write_half_drop(rt_tcp_write_half *half);

#endif
