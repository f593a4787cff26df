/*
 * rt_tcp.c - listeners, connections and their halves, on non-blocking sockets.
 *
 * A connection is one socket registered once with the reactor. The reactor
 * keeps a waker for each direction, so the read half and the write half
 * are the same object seen through two doors: the halves live inside the
 * stream, which counts them and closes the socket when the second goes.
 *
 * Every socket is made non-blocking and close-on-exec with fcntl(2), not
 * with Linux's SOCK_NONBLOCK or accept4, so this builds on any POSIX
 * system. Writes never raise SIGPIPE: send(2) with MSG_NOSIGNAL where it
 * exists, SO_NOSIGPIPE on the socket elsewhere (macOS).
 */
#include "rt_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_io_internal.h"
#include "rt_reactor.h"

struct rt_tcp_read_half {
    rt_tcp_stream *stream;
};

struct rt_tcp_write_half {
    rt_tcp_stream *stream;
};

struct rt_tcp_stream {
    int fd;
    rt_reactor_fd *io;
    atomic_int halves; /* after a split: halves not yet dropped */
    rt_tcp_read_half read_half;
    rt_tcp_write_half write_half;
    char peer[RT__PEER_CAP];
};

struct rt_tcp_listener {
    int fd;
    uint16_t port;
    rt_reactor_fd *io;
};

/* ---- addresses ---- */

/* Fills `addr` from a numeric host (NULL: any); false when it is not an address. */
static bool parse_address(const char *host, uint16_t port, struct sockaddr_storage *addr,
                          socklen_t *len) {
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (host == NULL || strcmp(host, "localhost") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        v4->sin_addr.s_addr = htonl(host == NULL ? INADDR_ANY : INADDR_LOOPBACK);
        *len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return true;
    }
    return false;
}

static void format_address(const struct sockaddr_storage *addr, char *out, size_t cap) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        snprintf(out, cap, "%s:%u", text, (unsigned)ntohs(v4->sin_port));
    } else if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        snprintf(out, cap, "[%s]:%u", text, (unsigned)ntohs(v6->sin6_port));
    } else {
        snprintf(out, cap, "unknown");
    }
}

/* Non-blocking, close-on-exec, no SIGPIPE: what every socket here gets. */
static rt_io_result prepare_socket(int fd) {
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return rt_io_result_from_errno(errno);
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return rt_io_set_nonblocking(fd);
}

/*
 * Line-at-a-time traffic (a chat) wants each line sent at once, not held
 * back by Nagle's algorithm waiting for the previous one's ACK.
 */
static void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Wraps a connected socket (closed on failure). */
static rt_io_result stream_new(int fd, const char *peer, rt_tcp_stream **out) {
    rt_tcp_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(fd);
        return RT_IO_NO_MEMORY;
    }
    s->fd = fd;
    s->read_half.stream = s;
    s->write_half.stream = s;
    atomic_init(&s->halves, 0);
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    char label[RT__PEER_CAP + 8];
    snprintf(label, sizeof label, "peer %s", peer);
    rt_io_result r = rt_reactor_fd_open(fd, label, &s->io);
    if (r != RT_IO_OK) {
        close(fd);
        free(s);
        return r;
    }
    *out = s;
    return RT_IO_OK;
}

static void stream_close(rt_tcp_stream *s) {
    rt_reactor_fd_drop(s->io); /* first: the reactor lets go of the descriptor */
    close(s->fd);
    free(s);
}

/* ---- listener ---- */

rt_io_result rt_tcp_listener_bind(const char *host, uint16_t port, rt_tcp_listener **listener) {
    struct sockaddr_storage addr;
    socklen_t len;
    if (!parse_address(host, port, &addr, &len))
        return RT_IO_BAD_ADDRESS;
    int fd = socket(addr.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return rt_io_result_from_errno(errno);
    /* A restarted server can bind again while old connections linger in TIME_WAIT. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    rt_io_result r = prepare_socket(fd);
    if (r == RT_IO_OK && bind(fd, (struct sockaddr *)&addr, len) < 0)
        r = rt_io_result_from_errno(errno);
    /* The kernel caps the backlog at its own limit (somaxconn). */
    if (r == RT_IO_OK && listen(fd, 4096) < 0)
        r = rt_io_result_from_errno(errno);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (r == RT_IO_OK && getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0)
        r = rt_io_result_from_errno(errno);
    rt_tcp_listener *l = NULL;
    if (r == RT_IO_OK && (l = calloc(1, sizeof *l)) == NULL)
        r = RT_IO_NO_MEMORY;
    if (r == RT_IO_OK) {
        l->fd = fd;
        l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
        char label[32];
        snprintf(label, sizeof label, "listening on port %u", (unsigned)l->port);
        r = rt_reactor_fd_open(fd, label, &l->io);
    }
    if (r != RT_IO_OK) {
        free(l);
        close(fd);
        return r;
    }
    *listener = l;
    return RT_IO_OK;
}

uint16_t rt_tcp_listener_port(const rt_tcp_listener *listener) {
    return listener->port;
}

rt_poll rt_tcp_listener_poll_accept(rt_tcp_listener *listener, rt_context *cx,
                                    rt_tcp_stream **stream, rt_io_result *result) {
    for (;;) {
        if (rt_reactor_fd_poll_ready(listener->io, RT_IO_READABLE, cx) == RT_PENDING)
            return RT_PENDING;
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept(listener->fd, (struct sockaddr *)&addr, &len);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                rt_reactor_fd_clear_ready(listener->io, RT_IO_READABLE);
                continue;
            }
            if (errno == EINTR || errno == ECONNABORTED)
                continue; /* that one gave up before we took it; take the next */
            *result = rt_io_result_from_errno(errno);
            return RT_READY;
        }
        *result = prepare_socket(fd);
        if (*result != RT_IO_OK) {
            close(fd);
            return RT_READY;
        }
        set_nodelay(fd);
        char peer[RT__PEER_CAP];
        format_address(&addr, peer, sizeof peer);
        *result = stream_new(fd, peer, stream);
        return RT_READY;
    }
}

void rt_tcp_listener_drop(rt_tcp_listener *listener) {
    if (listener == NULL)
        return;
    rt_reactor_fd_drop(listener->io);
    close(listener->fd);
    free(listener);
}

static rt_poll accept_future_poll(rt_future *self, rt_context *cx) {
    rt_tcp_accept_future *f = (rt_tcp_accept_future *)self;
    return rt_tcp_listener_poll_accept(f->listener, cx, &f->stream, &f->result);
}

static void accept_future_drop(rt_future *self) {
    rt_tcp_accept_future *f = (rt_tcp_accept_future *)self;
    rt_reactor_fd_drop_waker(f->listener->io, RT_IO_READABLE);
}

void rt_tcp_accept_future_init(rt_tcp_accept_future *future, rt_tcp_listener *listener) {
    *future = (rt_tcp_accept_future){
        .base = {.poll = accept_future_poll, .drop = accept_future_drop, .name = "rt_tcp_accept"},
        .listener = listener,
        .result = RT_IO_OK};
}

/* ---- connect ---- */

static rt_poll connect_poll(rt_future *self, rt_context *cx) {
    rt_tcp_connect_future *f = (rt_tcp_connect_future *)self;
    if (f->connecting == NULL) { /* first poll: start connecting */
        struct sockaddr_storage addr;
        socklen_t len;
        if (!parse_address(f->host, f->port, &addr, &len)) {
            f->result = RT_IO_BAD_ADDRESS;
            return RT_READY;
        }
        int fd = socket(addr.ss_family, SOCK_STREAM, 0);
        if (fd < 0) {
            f->result = rt_io_result_from_errno(errno);
            return RT_READY;
        }
        f->result = prepare_socket(fd);
        if (f->result != RT_IO_OK) {
            close(fd);
            return RT_READY;
        }
        set_nodelay(fd);
        char peer[RT__PEER_CAP];
        format_address(&addr, peer, sizeof peer);
        f->result = stream_new(fd, peer, &f->connecting);
        if (f->result != RT_IO_OK)
            return RT_READY;
        int rc;
        do
            rc = connect(fd, (struct sockaddr *)&addr, len);
        while (rc < 0 && errno == EINTR);
        if (rc < 0 && errno != EINPROGRESS) {
            f->result = rt_io_result_from_errno(errno);
            stream_close(f->connecting);
            f->connecting = NULL;
            return RT_READY;
        }
        if (rc < 0) /* in progress: writable once connected, or failed */
            rt_reactor_fd_clear_ready(f->connecting->io, RT_IO_WRITABLE);
    }
    if (rt_reactor_fd_poll_ready(f->connecting->io, RT_IO_WRITABLE, cx) == RT_PENDING)
        return RT_PENDING;
    int err = 0;
    socklen_t err_len = sizeof err;
    if (getsockopt(f->connecting->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
        err = errno;
    if (err != 0) {
        f->result = rt_io_result_from_errno(err);
        stream_close(f->connecting);
    } else {
        f->result = RT_IO_OK;
        f->stream = f->connecting;
    }
    f->connecting = NULL; /* handed over, or gone */
    return RT_READY;
}

static void connect_drop(rt_future *self) {
    rt_tcp_connect_future *f = (rt_tcp_connect_future *)self;
    if (f->connecting != NULL) { /* dropped halfway (cancelled, or timed out) */
        stream_close(f->connecting);
        f->connecting = NULL;
    }
}

void rt_tcp_connect_future_init(rt_tcp_connect_future *future, const char *host, uint16_t port) {
    *future = (rt_tcp_connect_future){
        .base = {.poll = connect_poll, .drop = connect_drop, .name = "rt_tcp_connect"},
        .result = RT_IO_OK,
        .port = port};
    snprintf(future->host, sizeof future->host, "%s", host != NULL ? host : "localhost");
}

/* ---- a connection ---- */

rt_poll rt_tcp_stream_poll_read(rt_tcp_stream *stream, rt_context *cx, void *buf, size_t cap,
                                size_t *n, rt_io_result *result) {
    return rt_reactor_fd_poll_read(stream->io, cx, buf, cap, n, result);
}

rt_poll rt_tcp_stream_poll_write(rt_tcp_stream *stream, rt_context *cx, const void *buf, size_t len,
                                 size_t *n, rt_io_result *result) {
    return rt_reactor_fd_poll_write(stream->io, cx, buf, len, n, result);
}

rt_io_reader rt_tcp_stream_reader(rt_tcp_stream *stream) {
    return rt_reactor_fd_reader(stream->io);
}

rt_io_writer rt_tcp_stream_writer(rt_tcp_stream *stream) {
    return rt_reactor_fd_writer(stream->io);
}

const char *rt_tcp_stream_peer(const rt_tcp_stream *stream) {
    return stream->peer;
}

int rt_tcp_stream_fileno(const rt_tcp_stream *stream) {
    return stream->fd;
}

void rt_tcp_stream_into_split(rt_tcp_stream *stream, rt_tcp_read_half **read_half,
                              rt_tcp_write_half **write_half) {
    atomic_store(&stream->halves, 2);
    *read_half = &stream->read_half;
    *write_half = &stream->write_half;
}

void rt_tcp_stream_drop(rt_tcp_stream *stream) {
    if (stream != NULL)
        stream_close(stream);
}

/* ---- the halves ---- */

rt_poll rt_tcp_read_half_poll_read(rt_tcp_read_half *half, rt_context *cx, void *buf, size_t cap,
                                   size_t *n, rt_io_result *result) {
    return rt_reactor_fd_poll_read(half->stream->io, cx, buf, cap, n, result);
}

rt_poll rt_tcp_write_half_poll_write(rt_tcp_write_half *half, rt_context *cx, const void *buf,
                                     size_t len, size_t *n, rt_io_result *result) {
    return rt_reactor_fd_poll_write(half->stream->io, cx, buf, len, n, result);
}

rt_io_reader rt_tcp_read_half_reader(rt_tcp_read_half *half) {
    return rt_reactor_fd_reader(half->stream->io);
}

rt_io_writer rt_tcp_write_half_writer(rt_tcp_write_half *half) {
    return rt_reactor_fd_writer(half->stream->io);
}

const char *rt_tcp_read_half_peer(const rt_tcp_read_half *half) {
    return half->stream->peer;
}

const char *rt_tcp_write_half_peer(const rt_tcp_write_half *half) {
    return half->stream->peer;
}

rt_io_result rt_tcp_write_half_shutdown(rt_tcp_write_half *half) {
    if (shutdown(half->stream->fd, SHUT_WR) < 0)
        return rt_io_result_from_errno(errno);
    return RT_IO_OK;
}

/* The second half to go closes the socket. */
static void half_drop(rt_tcp_stream *stream) {
    if (atomic_fetch_sub(&stream->halves, 1) == 1)
        stream_close(stream);
}

void rt_tcp_read_half_drop(rt_tcp_read_half *half) {
    if (half == NULL)
        return;
    rt_reactor_fd_drop_waker(half->stream->io, RT_IO_READABLE);
    half_drop(half->stream);
}

void rt_tcp_write_half_drop(rt_tcp_write_half *half) {
    if (half == NULL)
        return;
    rt_reactor_fd_drop_waker(half->stream->io, RT_IO_WRITABLE);
    half_drop(half->stream);
}
