/* test_io_tcp.c - TCP over loopback: echo, many connections, partial writes, resets, EOF. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_test_support.h"
#include "kt_test.h"
#include "rt_test_support.h"

/* A plain blocking socket connected to 127.0.0.1:port: the peer a test controls exactly. */
static int plain_connect_rcvbuf(uint16_t port, int rcvbuf) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    /* Before connect: the window is agreed then, and a later change would stall the sender. */
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

static int plain_connect(uint16_t port) {
    return plain_connect_rcvbuf(port, 0);
}

static void plain_send(int fd, const void *data, size_t len) {
    const char *at = data;
    while (len > 0) {
        ssize_t put = send(fd, at, len, 0);
        cr_assert(put > 0, "send: %s", strerror(errno));
        at += put;
        len -= (size_t)put;
    }
}

static rt_tcp_listener *listen_any(void) {
    rt_tcp_listener *listener;
    cr_assert_eq(rt_tcp_listener_bind("127.0.0.1", 0, &listener), RT_IO_OK);
    cr_assert_neq(rt_tcp_listener_port(listener), 0);
    return listener;
}

static rt_tcp_stream *accept_blocking(rt_tcp_listener *listener) {
    rt_tcp_accept_future accept;
    rt_tcp_accept_future_init(&accept, listener);
    rt_block_on(&accept.base);
    cr_assert_eq(accept.result, RT_IO_OK, "%s", rt_io_result_str(accept.result));
    return accept.stream;
}

/* ---- echo: a server task and a client task on one executor ---- */

enum { ECHO_LINES = 200 };

typedef struct echo_server {
    rt_future base;
    rt_async co;
    rt_tcp_listener *listener;
    rt_tcp_accept_future accept;
    rt_tcp_read_half *reader;
    rt_tcp_write_half *writer;
    rt_line_reader *lines;
    rt_read_line_future read;
    rt_write_all_future write;
    char out[128];
    int echoed;
    rt_io_result ended; /* how the last read ended */
} echo_server;

static rt_poll echo_server_poll(rt_future *self, rt_context *cx) {
    echo_server *s = (echo_server *)self;
    RT_ASYNC_BEGIN(&s->co);
    rt_tcp_accept_future_init(&s->accept, s->listener);
    RT_AWAIT(&s->co, cx, &s->accept.base);
    if (s->accept.result != RT_IO_OK) {
        s->ended = s->accept.result;
        RT_ASYNC_RETURN(&s->co);
    }
    rt_tcp_stream_into_split(s->accept.stream, &s->reader, &s->writer);
    rt_line_reader_new(rt_tcp_read_half_reader(s->reader), 100, &s->lines);
    for (;;) {
        rt_read_line_future_init(&s->read, s->lines);
        RT_AWAIT(&s->co, cx, &s->read.base);
        if (s->read.result != RT_IO_OK)
            break;
        memcpy(s->out, s->read.line, s->read.len);
        s->out[s->read.len] = '\n';
        rt_write_all_future_init(&s->write, rt_tcp_write_half_writer(s->writer), s->out,
                                 s->read.len + 1);
        RT_AWAIT(&s->co, cx, &s->write.base);
        if (s->write.result != RT_IO_OK)
            break;
        s->echoed++;
    }
    s->ended = s->read.result;
    RT_ASYNC_END(&s->co);
}

static void echo_server_drop(rt_future *self) {
    echo_server *s = (echo_server *)self;
    rt_line_reader_drop(s->lines);
    rt_tcp_read_half_drop(s->reader);
    rt_tcp_write_half_drop(s->writer);
}

typedef struct echo_client {
    rt_future base;
    rt_async co;
    uint16_t port;
    rt_tcp_connect_future connect;
    rt_tcp_stream *stream;
    rt_line_reader *lines;
    rt_read_line_future read;
    rt_write_all_future write;
    char out[64];
    int i;
    int matched;
} echo_client;

static rt_poll echo_client_poll(rt_future *self, rt_context *cx) {
    echo_client *c = (echo_client *)self;
    RT_ASYNC_BEGIN(&c->co);
    rt_tcp_connect_future_init(&c->connect, "127.0.0.1", c->port);
    RT_AWAIT(&c->co, cx, &c->connect.base);
    if (c->connect.result != RT_IO_OK)
        RT_ASYNC_RETURN(&c->co);
    c->stream = c->connect.stream;
    rt_line_reader_new(rt_tcp_stream_reader(c->stream), 100, &c->lines);
    for (c->i = 0; c->i < ECHO_LINES; c->i++) {
        snprintf(c->out, sizeof c->out, "line %d\n", c->i);
        rt_write_all_future_init(&c->write, rt_tcp_stream_writer(c->stream), c->out,
                                 strlen(c->out));
        RT_AWAIT(&c->co, cx, &c->write.base);
        rt_read_line_future_init(&c->read, c->lines);
        RT_AWAIT(&c->co, cx, &c->read.base);
        if (c->read.result == RT_IO_OK && c->read.len == strlen(c->out) - 1 &&
            memcmp(c->read.line, c->out, c->read.len) == 0)
            c->matched++;
    }
    RT_ASYNC_END(&c->co);
}

static void echo_client_drop(rt_future *self) {
    echo_client *c = (echo_client *)self;
    rt_line_reader_drop(c->lines);
    rt_tcp_stream_drop(c->stream);
    c->lines = NULL;
    c->stream = NULL;
}

KT_TEST(runtime_tcp, echo_server_and_client, .timeout = 10,
        .description = "a server task echoes 200 lines from a client task; EOF when the client "
                       "closes") {
    rt_tcp_listener *listener = listen_any();
    echo_server server = {.base = {.poll = echo_server_poll, .drop = echo_server_drop},
                          .listener = listener};
    echo_client client = {.base = {.poll = echo_client_poll, .drop = echo_client_drop},
                          .port = rt_tcp_listener_port(listener)};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *server_handle = rt_spawn(ex, &server.base, "echo-server");
    rt_join_handle *client_handle = rt_spawn(ex, &client.base, "echo-client");
    cr_assert_eq(rt_join(client_handle), RT_TASK_COMPLETED);
    cr_assert_eq(client.connect.result, RT_IO_OK, "%s", rt_io_result_str(client.connect.result));
    cr_assert_eq(client.matched, ECHO_LINES);
    /* The client's drop closed its connection: the server reads EOF and ends. */
    cr_assert_eq(rt_join(server_handle), RT_TASK_COMPLETED);
    cr_assert_eq(server.echoed, ECHO_LINES);
    cr_assert_eq(server.ended, RT_IO_EOF, "%s", rt_io_result_str(server.ended));
    rt_executor_shutdown(ex);
    rt_tcp_listener_drop(listener);
}

/* ---- 500 connections at once on two workers ---- */

enum { CONNECTIONS = 500 };

typedef struct handler {
    rt_future base;
    rt_async co;
    rt_tcp_stream *stream;
    rt_line_reader *lines;
    rt_read_line_future read;
    rt_write_all_future write;
    char out[64];
} handler;

static rt_poll handler_poll(rt_future *self, rt_context *cx) {
    handler *h = (handler *)self;
    RT_ASYNC_BEGIN(&h->co);
    rt_line_reader_new(rt_tcp_stream_reader(h->stream), 60, &h->lines);
    for (;;) {
        rt_read_line_future_init(&h->read, h->lines);
        RT_AWAIT(&h->co, cx, &h->read.base);
        if (h->read.result != RT_IO_OK)
            break;
        int n = snprintf(h->out, sizeof h->out, "echo %.*s\n", (int)h->read.len, h->read.line);
        rt_write_all_future_init(&h->write, rt_tcp_stream_writer(h->stream), h->out, (size_t)n);
        RT_AWAIT(&h->co, cx, &h->write.base);
    }
    RT_ASYNC_END(&h->co);
}

static void handler_drop(rt_future *self) {
    handler *h = (handler *)self;
    rt_line_reader_drop(h->lines);
    rt_tcp_stream_drop(h->stream);
    free(h);
}

typedef struct acceptor {
    rt_future base;
    rt_executor *ex;
    rt_tcp_listener *listener;
    atomic_int accepted;
} acceptor;

static rt_poll acceptor_poll(rt_future *self, rt_context *cx) {
    acceptor *a = (acceptor *)self;
    for (;;) {
        rt_tcp_stream *stream;
        rt_io_result result;
        if (rt_tcp_listener_poll_accept(a->listener, cx, &stream, &result) == RT_PENDING)
            return RT_PENDING;
        cr_assert_eq(result, RT_IO_OK, "accept: %s", rt_io_result_str(result));
        handler *h = calloc(1, sizeof *h);
        h->base = (rt_future){.poll = handler_poll, .drop = handler_drop, .name = "handler"};
        h->stream = stream;
        rt_join_handle_drop(rt_spawn(a->ex, &h->base, "handler"));
        atomic_fetch_add(&a->accepted, 1);
    }
}

typedef struct many_client {
    rt_future base;
    rt_async co;
    int id;
    uint16_t port;
    rt_tcp_connect_future connect;
    rt_tcp_stream *stream;
    rt_line_reader *lines;
    rt_write_all_future write;
    rt_read_line_future read;
    char out[32];
    bool ok;
} many_client;

static rt_poll many_client_poll(rt_future *self, rt_context *cx) {
    many_client *c = (many_client *)self;
    RT_ASYNC_BEGIN(&c->co);
    rt_tcp_connect_future_init(&c->connect, "127.0.0.1", c->port);
    RT_AWAIT(&c->co, cx, &c->connect.base);
    if (c->connect.result != RT_IO_OK)
        RT_ASYNC_RETURN(&c->co);
    c->stream = c->connect.stream;
    rt_line_reader_new(rt_tcp_stream_reader(c->stream), 60, &c->lines);
    snprintf(c->out, sizeof c->out, "client %d\n", c->id);
    rt_write_all_future_init(&c->write, rt_tcp_stream_writer(c->stream), c->out, strlen(c->out));
    RT_AWAIT(&c->co, cx, &c->write.base);
    rt_read_line_future_init(&c->read, c->lines);
    RT_AWAIT(&c->co, cx, &c->read.base);
    if (c->read.result == RT_IO_OK) {
        char want[48];
        int n = snprintf(want, sizeof want, "echo client %d", c->id);
        c->ok = c->read.len == (size_t)n && memcmp(c->read.line, want, (size_t)n) == 0;
    }
    RT_ASYNC_END(&c->co);
}

static void many_client_drop(rt_future *self) {
    many_client *c = (many_client *)self;
    rt_line_reader_drop(c->lines);
    rt_tcp_stream_drop(c->stream);
    c->lines = NULL;
    c->stream = NULL;
}

KT_TEST(runtime_tcp, five_hundred_connections, .timeout = 30,
        .description = "500 clients connected at once to one server on a 2-worker executor "
                       "each get their own line echoed") {
    /* Two descriptors per connection (both ends live here), plus spares. */
    if (!test_raise_nofile(2 * CONNECTIONS + 64))
        cr_skip_test("needs %d open files, and the hard limit is lower (ulimit -Hn)",
                     2 * CONNECTIONS + 64);
    static many_client clients[CONNECTIONS];
    rt_join_handle *handles[CONNECTIONS];
    rt_tcp_listener *listener = listen_any();
    rt_executor *ex = rt_executor_new(2);
    acceptor a = {
        .base = {.poll = acceptor_poll, .name = "acceptor"}, .ex = ex, .listener = listener};
    rt_join_handle *acceptor_handle = rt_spawn(ex, &a.base, "acceptor");
    for (int i = 0; i < CONNECTIONS; i++) {
        clients[i] = (many_client){
            .base = {.poll = many_client_poll, .drop = many_client_drop, .name = "client"},
            .id = i,
            .port = rt_tcp_listener_port(listener)};
        handles[i] = rt_spawn(ex, &clients[i].base, "client");
    }
    int ok = 0;
    for (int i = 0; i < CONNECTIONS; i++) {
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
        cr_assert_eq(clients[i].connect.result, RT_IO_OK, "client %d: %s", i,
                     rt_io_result_str(clients[i].connect.result));
        ok += clients[i].ok;
    }
    cr_assert_eq(ok, CONNECTIONS);
    cr_assert_eq(atomic_load(&a.accepted), CONNECTIONS);
    rt_executor_shutdown(ex); /* cancels the acceptor and any handler not yet at EOF */
    rt_join(acceptor_handle);
    rt_tcp_listener_drop(listener);
}

/* ---- partial writes ---- */

enum { BIG = 1 << 20 };

/* A writer that passes each write on, and counts the short ones and the waits. */
typedef struct counting_writer {
    rt_io_writer inner;
    int writes, short_writes, pendings;
    kt_latch *waited; /* counted at each PENDING */
} counting_writer;

static rt_poll counting_poll_write(void *object, rt_context *cx, const void *buf, size_t len,
                                   size_t *n, rt_io_result *result) {
    counting_writer *w = object;
    rt_poll poll = rt_io_poll_write(w->inner, cx, buf, len, n, result);
    if (poll == RT_PENDING) {
        w->pendings++;
        kt_latch_count(w->waited);
    } else {
        w->writes++;
        w->short_writes += *result == RT_IO_OK && *n < len;
    }
    return poll;
}

typedef struct slow_reader {
    int fd;
    kt_latch *waited;
    size_t got;
    bool in_order;
} slow_reader;

static void *slow_reader_main(void *arg) {
    slow_reader *r = arg;
    char buf[4096];
    r->in_order = true;
    kt_latch_wait(r->waited, 1); /* read nothing until the writer found both buffers full */
    for (;;) {
        ssize_t n = recv(r->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != (unsigned char)((r->got + (size_t)i) * 7 % 251))
                r->in_order = false;
        r->got += (size_t)n;
        if (r->got % (64 * 1024) < (size_t)n)
            test_sleep_ms(2); /* slow: the writer's buffer fills up meanwhile */
    }
    return NULL;
}

KT_TEST(runtime_tcp, partial_writes, .timeout = 20,
        .description = "write_all of 1 MiB through a small send buffer to a slow reader: many "
                       "short writes and waits, every byte arrives in order") {
    rt_tcp_listener *listener = listen_any();
    int small = 4096;
    int peer = plain_connect_rcvbuf(rt_tcp_listener_port(listener), small);
    rt_tcp_stream *stream = accept_blocking(listener);
    setsockopt(rt_tcp_stream_fileno(stream), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    char *data = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        data[i] = (char)(i * 7 % 251);
    kt_latch waited;
    kt_latch_init(&waited);
    slow_reader reader = {.fd = peer, .waited = &waited};
    pthread_t thread;
    pthread_create(&thread, NULL, slow_reader_main, &reader);
    counting_writer counter = {.inner = rt_tcp_stream_writer(stream), .waited = &waited};
    rt_write_all_future write;
    rt_write_all_future_init(
        &write, (rt_io_writer){.poll_write = counting_poll_write, .object = &counter}, data, BIG);
    rt_block_on(&write.base);
    cr_assert_eq(write.result, RT_IO_OK, "%s", rt_io_result_str(write.result));
    cr_assert_eq(write.written, BIG);
    cr_assert_gt(counter.short_writes, 0, "the small buffer took part of a write");
    cr_assert_gt(counter.pendings, 0, "write_all waited for room at least once");
    rt_tcp_stream_drop(stream); /* EOF for the reader */
    pthread_join(thread, NULL);
    cr_assert_eq(reader.got, BIG);
    cr_assert(reader.in_order);
    close(peer);
    free(data);
    rt_tcp_listener_drop(listener);
}

/* ---- a peer that resets, a peer that closes ---- */

KT_TEST(runtime_tcp, reset_mid_line, .timeout = 5,
        .description = "a peer that resets mid-line gives RT_IO_RESET; writing to it then gives "
                       "RT_IO_RESET too, not SIGPIPE") {
    rt_tcp_listener *listener = listen_any();
    int peer = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *stream = accept_blocking(listener);
    plain_send(peer, "hal", 3);
    struct linger hard = {.l_onoff = 1, .l_linger = 0}; /* close sends RST, not FIN */
    setsockopt(peer, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(peer);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_tcp_stream_reader(stream), 64, &lines), RT_IO_OK);
    char line[64];
    rt_io_result r = test_read_line(lines, line, sizeof line, NULL);
    cr_assert_eq(r, RT_IO_RESET, "got %s", rt_io_result_str(r));
    rt_write_all_future write;
    rt_write_all_future_init(&write, rt_tcp_stream_writer(stream), "anyone?\n", 8);
    rt_block_on(&write.base); /* a SIGPIPE here would kill the test */
    cr_assert_eq(write.result, RT_IO_RESET, "got %s", rt_io_result_str(write.result));
    rt_line_reader_drop(lines);
    rt_tcp_stream_drop(stream);
    rt_tcp_listener_drop(listener);
}

KT_TEST(runtime_tcp, eof_mid_line, .timeout = 5,
        .description = "a peer that closes after half a line: that half is the last line, "
                       "then RT_IO_EOF") {
    rt_tcp_listener *listener = listen_any();
    int peer = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *stream = accept_blocking(listener);
    plain_send(peer, "whole\r\nhalf", 11);
    close(peer);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_tcp_stream_reader(stream), 64, &lines), RT_IO_OK);
    char line[64];
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "whole");
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "half");
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_EOF);
    rt_line_reader_drop(lines);
    rt_tcp_stream_drop(stream);
    rt_tcp_listener_drop(listener);
}

/* ---- errors as values ---- */

KT_TEST(runtime_tcp, errors_are_values, .timeout = 5,
        .description = "bind on a port in use, connect where nobody listens, a bad address: "
                       "each a named result with a message") {
    rt_tcp_listener *listener = listen_any();
    rt_tcp_listener *second = NULL;
    cr_assert_eq(rt_tcp_listener_bind("127.0.0.1", rt_tcp_listener_port(listener), &second),
                 RT_IO_ADDR_IN_USE);
    cr_assert_null(second);
    cr_assert_eq(rt_tcp_listener_bind("not an address", 0, &second), RT_IO_BAD_ADDRESS);

    /* A port that is bound but not listening refuses connections, and stays ours. */
    int bound = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(bound, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(bound, (struct sockaddr *)&addr, &len);
    rt_tcp_connect_future connect;
    rt_tcp_connect_future_init(&connect, "127.0.0.1", ntohs(addr.sin_port));
    rt_block_on(&connect.base);
    cr_assert_eq(connect.result, RT_IO_REFUSED, "got %s", rt_io_result_str(connect.result));
    cr_assert_null(connect.stream);
    rt_future_drop(&connect.base);
    close(bound);

    rt_tcp_connect_future_init(&connect, "300.1.2.3", 80);
    rt_block_on(&connect.base);
    cr_assert_eq(connect.result, RT_IO_BAD_ADDRESS);
    rt_future_drop(&connect.base);

    cr_assert_str_eq(rt_io_result_str(RT_IO_RESET), "connection reset by peer");
    for (int r = RT_IO_OK; r <= RT_IO_ERROR; r++)
        cr_assert(strlen(rt_io_result_str((rt_io_result)r)) > 0);
    rt_tcp_listener_drop(listener);
}

KT_TEST(runtime_tcp, split_halves_on_two_threads, .timeout = 10,
        .description = "the read half and the write half of one connection, used by two tasks "
                       "at once, each go on while the other waits") {
    rt_tcp_listener *listener = listen_any();
    int peer = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *stream = accept_blocking(listener);
    rt_tcp_read_half *rh;
    rt_tcp_write_half *wh;
    rt_tcp_stream_into_split(stream, &rh, &wh);
    cr_assert_str_eq(rt_tcp_read_half_peer(rh), rt_tcp_write_half_peer(wh));
    cr_assert(strncmp(rt_tcp_read_half_peer(rh), "127.0.0.1:", 10) == 0);
    rt_executor *ex = rt_executor_new(2);
    /* A task pending in a read on the read half... */
    char buf[16];
    rt_read_future read;
    rt_read_future_init(&read, rt_tcp_read_half_reader(rh), buf, sizeof buf);
    rt_join_handle *reading = rt_spawn(ex, &read.base, "reader");
    rt_executor_wait_idle(ex); /* it is waiting: nothing was sent */
    /* ...does not keep another task from writing on the write half. */
    rt_write_all_future write;
    rt_write_all_future_init(&write, rt_tcp_write_half_writer(wh), "ping\n", 5);
    cr_assert_eq(rt_join(rt_spawn(ex, &write.base, "writer")), RT_TASK_COMPLETED);
    char got[8] = {0};
    cr_assert_eq(recv(peer, got, 5, MSG_WAITALL), 5);
    cr_assert_str_eq(got, "ping\n");
    plain_send(peer, "pong", 4);
    cr_assert_eq(rt_join(reading), RT_TASK_COMPLETED);
    cr_assert_eq(read.result, RT_IO_OK);
    cr_assert(read.n >= 1 && memcmp(buf, "pong", read.n) == 0);
    rt_executor_shutdown(ex);
    rt_tcp_read_half_drop(rh);
    char eof;
    /* One half dropped: the socket stays open (no EOF yet) until the other goes. */
    rt_tcp_write_half_drop(wh);
    cr_assert_eq(recv(peer, &eof, 1, 0), 0, "EOF once both halves are gone");
    close(peer);
    rt_tcp_listener_drop(listener);
}
