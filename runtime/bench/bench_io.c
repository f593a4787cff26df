/*
 * bench_io.c - what the reactor costs, against plain blocking sockets timed in the same run.
 *
 *     make bench-runtime                        every figure, 7 runs each
 *     make bench-runtime BENCH_ARGS="3 round"   3 runs, only the figures whose label has "round"
 *
 *   round trip     one line sent by a plain blocking client thread, echoed by
 *                  the server and read back, over one loopback connection.
 *                  Server: an echo task (line reader + write_all) on a
 *                  one-worker executor; yardstick: a thread in blocking
 *                  recv/send, i.e. the cost of the system calls and of
 *                  waking a thread, with no runtime at all.
 *   100 connections  lines per second echoed through 100 connections, each
 *                  with a blocking client thread sending a line and waiting
 *                  for its echo. Server: one echo task per connection on a
 *                  two-worker executor; yardstick: one blocking thread per
 *                  connection.
 *   idle           CPU time used by an executor and the reactor while a task
 *                  waits in accept and another sleeps for an hour: no busy
 *                  polling means next to none. Measured over a few seconds
 *                  and scaled to a minute.
 *
 * The round trip keeps both servers running and times them in turns, 20
 * slices of 250 round trips each per run, one right after the other, so
 * that a busy machine slows both sides of each pair alike; its ratio is
 * the median of the pairs' ratios. The other figures time the yardstick
 * and the runtime one after the other in each run, and take medians over
 * the runs. The ratio is what to compare between machines, not the
 * nanoseconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n) {
    qsort(values, (size_t)n, sizeof values[0], compare_doubles);
    return values[n / 2];
}

static void die(const char *what) {
    fprintf(stderr, "bench_io: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- plain blocking sockets, for the clients and the yardsticks ---- */

static void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int plain_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1024) < 0)
        die("listen");
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    *port = ntohs(addr.sin_port);
    return fd;
}

static int plain_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("connect");
    set_nodelay(fd);
    return fd;
}

static void send_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, 0);
        if (n <= 0)
            die("send");
        buf += n;
        len -= (size_t)n;
    }
}

/* Reads up to and including a '\n' (the echo of one line); false at EOF. */
static bool recv_line(int fd, char *buf, size_t cap) {
    size_t got = 0;
    while (got == 0 || buf[got - 1] != '\n') {
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

static const char LINE[] = "the quick brown fox jumps over the lazy dog\n";

/* A client: `rounds` times, send a line and wait for its echo. */
static void client_rounds(int fd, int rounds) {
    char buf[256];
    for (int i = 0; i < rounds; i++) {
        send_all(fd, LINE, sizeof LINE - 1);
        if (!recv_line(fd, buf, sizeof buf))
            die("echo ended early");
    }
}

/* The yardstick's server side: echo lines back until EOF, blocking. */
static void *plain_echo_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[256];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        send_all(fd, buf, (size_t)n);
    }
    close(fd);
    return NULL;
}

/* ---- the runtime's echo server: one task per connection ---- */

typedef struct echo_task {
    rt_future base;
    rt_async co;
    rt_tcp_stream *stream;
    rt_line_reader *lines;
    rt_read_line_future read;
    rt_write_all_future write;
    char out[256];
} echo_task;

static rt_poll echo_poll(rt_future *self, rt_context *cx) {
    echo_task *t = (echo_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    rt_line_reader_new(rt_tcp_stream_reader(t->stream), 200, &t->lines);
    for (;;) {
        rt_read_line_future_init(&t->read, t->lines);
        RT_AWAIT(&t->co, cx, &t->read.base);
        if (t->read.result != RT_IO_OK)
            break;
        memcpy(t->out, t->read.line, t->read.len);
        t->out[t->read.len] = '\n';
        rt_write_all_future_init(&t->write, rt_tcp_stream_writer(t->stream), t->out,
                                 t->read.len + 1);
        RT_AWAIT(&t->co, cx, &t->write.base);
        if (t->write.result != RT_IO_OK)
            break;
    }
    RT_ASYNC_END(&t->co);
}

static void echo_drop(rt_future *self) {
    echo_task *t = (echo_task *)self;
    rt_line_reader_drop(t->lines);
    rt_tcp_stream_drop(t->stream);
    free(t);
}

/* Accepts `count` connections and spawns an echo task for each. */
typedef struct acceptor {
    rt_future base;
    rt_executor *ex;
    rt_tcp_listener *listener;
    int count;
} acceptor;

static rt_poll acceptor_poll(rt_future *self, rt_context *cx) {
    acceptor *a = (acceptor *)self;
    while (a->count > 0) {
        rt_tcp_stream *stream;
        rt_io_result result;
        if (rt_tcp_listener_poll_accept(a->listener, cx, &stream, &result) == RT_PENDING)
            return RT_PENDING;
        if (result != RT_IO_OK) {
            fprintf(stderr, "bench_io: accept: %s\n", rt_io_result_str(result));
            exit(1);
        }
        echo_task *t = calloc(1, sizeof *t);
        t->base = (rt_future){.poll = echo_poll, .drop = echo_drop, .name = "echo"};
        t->stream = stream;
        rt_join_handle_drop(rt_spawn(a->ex, &t->base, "echo"));
        a->count--;
    }
    return RT_READY;
}

/* ---- the two servers ---- */

/* An echo server of either kind, with `connections` clients connected to it and warmed up. */
typedef struct echo_server {
    bool runtime;
    int connections;
    int *client_fds;
    pthread_t *threads; /* the yardstick's: one blocking thread per connection */
    int plain_fd;
    rt_executor *ex; /* the runtime's: one echo task per connection */
    rt_tcp_listener *listener;
    acceptor accepting;
} echo_server;

static void echo_server_start(echo_server *s, bool runtime, int connections, unsigned workers) {
    *s = (echo_server){.runtime = runtime, .connections = connections};
    s->client_fds = calloc((size_t)connections, sizeof *s->client_fds);
    s->threads = calloc((size_t)connections, sizeof *s->threads);
    uint16_t port;
    rt_join_handle *accepting = NULL;
    if (runtime) {
        s->ex = rt_executor_new(workers);
        if (rt_tcp_listener_bind("127.0.0.1", 0, &s->listener) != RT_IO_OK)
            die("bind");
        port = rt_tcp_listener_port(s->listener);
        s->accepting = (acceptor){.base = {.poll = acceptor_poll, .name = "acceptor"},
                                  .ex = s->ex,
                                  .listener = s->listener,
                                  .count = connections};
        accepting = rt_spawn(s->ex, &s->accepting.base, "acceptor");
    } else {
        s->plain_fd = plain_listen(&port);
    }
    for (int i = 0; i < connections; i++) {
        s->client_fds[i] = plain_connect(port);
        if (!runtime) {
            int fd = accept(s->plain_fd, NULL, NULL);
            if (fd < 0)
                die("accept");
            set_nodelay(fd);
            pthread_create(&s->threads[i], NULL, plain_echo_main, (void *)(intptr_t)fd);
        }
    }
    if (runtime)
        rt_join(accepting); /* every connection has its echo task */
    /* A few rounds first, so that the server is warm. */
    for (int i = 0; i < connections; i++)
        client_rounds(s->client_fds[i], 10);
}

static void echo_server_stop(echo_server *s) {
    for (int i = 0; i < s->connections; i++)
        close(s->client_fds[i]); /* EOF: the echo tasks and threads end */
    if (s->runtime) {
        rt_executor_shutdown(s->ex); /* the echo tasks are at EOF, or cancelled */
        rt_tcp_listener_drop(s->listener);
    } else {
        for (int i = 0; i < s->connections; i++)
            pthread_join(s->threads[i], NULL);
        close(s->plain_fd);
    }
    free(s->client_fds);
    free(s->threads);
}

/* ---- one run of each figure ---- */

typedef struct client_arg {
    int rounds;
    int fd;
} client_arg;

static void *client_main(void *arg) {
    client_arg *c = arg;
    client_rounds(c->fd, c->rounds);
    return NULL;
}

/* Every connection of s at once, `rounds` lines each, a thread per client; the wall time in ns. */
static double run_clients(echo_server *s, int rounds) {
    client_arg *clients = calloc((size_t)s->connections, sizeof *clients);
    pthread_t *threads = calloc((size_t)s->connections, sizeof *threads);
    double start = now_ns();
    for (int i = 0; i < s->connections; i++) {
        clients[i] = (client_arg){.rounds = rounds, .fd = s->client_fds[i]};
        pthread_create(&threads[i], NULL, client_main, &clients[i]);
    }
    for (int i = 0; i < s->connections; i++)
        pthread_join(threads[i], NULL);
    double elapsed = now_ns() - start;
    free(clients);
    free(threads);
    return elapsed;
}

/* `connections` clients of `rounds` lines each against a fresh server; the wall time in ns. */
static double run_echo(bool runtime, int connections, int rounds, unsigned workers) {
    echo_server s;
    echo_server_start(&s, runtime, connections, workers);
    double elapsed = run_clients(&s, rounds);
    echo_server_stop(&s);
    return elapsed;
}

static int runs = 7;
static const char *only;

static bool wanted(const char *label) {
    return only == NULL || strstr(label, only) != NULL;
}

enum { SLICES = 20, SLICE_ROUNDS = 250, MANY = 100, MANY_ROUNDS = 200 };

/*
 * Both servers run side by side for the whole figure, and one client
 * thread takes turns between them in slices of SLICE_ROUNDS round trips:
 * a machine whose load changes from one second to the next slows the two
 * sides of a pair of slices alike, so each pair gives a fair ratio. The
 * figure is the median of those ratios (and of the times).
 */
static void round_trip_figure(void) {
    const char *label = "round trip of one line";
    if (!wanted(label))
        return;
    echo_server plain, ours;
    echo_server_start(&plain, false, 1, 1);
    echo_server_start(&ours, true, 1, 1);
    int pairs = runs * SLICES;
    double *plain_ns = calloc((size_t)pairs, sizeof *plain_ns);
    double *ours_ns = calloc((size_t)pairs, sizeof *ours_ns);
    double *ratio = calloc((size_t)pairs, sizeof *ratio);
    for (int i = 0; i < pairs; i++) {
        double start = now_ns();
        client_rounds(plain.client_fds[0], SLICE_ROUNDS);
        double middle = now_ns();
        client_rounds(ours.client_fds[0], SLICE_ROUNDS);
        double end = now_ns();
        plain_ns[i] = (middle - start) / SLICE_ROUNDS;
        ours_ns[i] = (end - middle) / SLICE_ROUNDS;
        ratio[i] = ours_ns[i] / plain_ns[i];
    }
    echo_server_stop(&ours);
    echo_server_stop(&plain);
    double p = median(plain_ns, pairs), o = median(ours_ns, pairs), r = median(ratio, pairs);
    printf("  %-34s %8.0f ns  (yardstick, blocking threads: %6.0f ns; ratio %.2fx, target "
           "<= 1.30x)\n",
           label, o, p, r);
    fflush(stdout);
    free(plain_ns);
    free(ours_ns);
    free(ratio);
}

static void many_figure(void) {
    const char *label = "lines/s through 100 connections";
    if (!wanted(label))
        return;
    double plain[64], ours[64];
    double lines = (double)MANY * MANY_ROUNDS;
    for (int i = 0; i < runs; i++) {
        plain[i] = lines / (run_echo(false, MANY, MANY_ROUNDS, 2) / 1e9);
        ours[i] = lines / (run_echo(true, MANY, MANY_ROUNDS, 2) / 1e9);
    }
    double p = median(plain, runs), o = median(ours, runs);
    printf("  %-34s %8.0f /s  (yardstick, a thread per connection: %6.0f /s; ratio %.2fx)\n", label,
           o, p, o / p);
    fflush(stdout);
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static void idle_figure(double seconds) {
    const char *label = "idle executor + reactor";
    if (!wanted(label))
        return;
    rt_executor *ex = rt_executor_new(2);
    rt_tcp_listener *listener;
    if (rt_tcp_listener_bind("127.0.0.1", 0, &listener) != RT_IO_OK)
        die("bind");
    rt_tcp_accept_future accept;
    rt_tcp_accept_future_init(&accept, listener);
    rt_sleep_future nap;
    rt_sleep_future_init(&nap, RT_SECONDS(3600));
    rt_join_handle *a = rt_spawn(ex, &accept.base, "waits-in-accept");
    rt_join_handle *b = rt_spawn(ex, &nap.base, "sleeps-an-hour");
    rt_executor_wait_idle(ex);
    double cpu_start = cpu_seconds();
    struct timespec pause = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&pause, &pause) != 0)
        ;
    double used = cpu_seconds() - cpu_start;
    printf("  %-34s %8.2f ms CPU in %.0f s = %.2f ms per idle minute (target < 10 ms)\n", label,
           used * 1e3, seconds, used * 1e3 * 60 / seconds);
    fflush(stdout);
    rt_executor_shutdown(ex);
    rt_join(a);
    rt_join(b);
    rt_tcp_listener_drop(listener);
}

int main(int argc, char **argv) {
    if (argc > 1 && atoi(argv[1]) > 0)
        runs = atoi(argv[1]) > 64 ? 64 : atoi(argv[1]);
    if (argc > 2)
        only = argv[2];
    unsetenv("RT_SHAKE"); /* measure the real schedule, not the shaken one */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 4 * MANY + 64 &&
        lim.rlim_max >= 4 * MANY + 64) {
        lim.rlim_cur = 4 * MANY + 64;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    printf("I/O benchmark: loopback TCP, median of %d runs, each beside its yardstick\n", runs);
    round_trip_figure();
    many_figure();
    idle_figure(5.0);
    return 0;
}
