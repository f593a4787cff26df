/*
 * bench_oneshot.c - request/reply round trips: request on an mpsc, reply on a oneshot.
 *
 * The pattern the course shows for asking another task something: the
 * client makes a fresh oneshot, sends its request with the oneshot's sender
 * inside on the server's mpsc channel, and awaits the oneshot's receiver.
 * The server receives the request and answers on that sender. Client and
 * server are tasks on one executor.
 *
 *     bench_oneshot [round_trips] [runs]      (default 200000 and 5)
 *
 * Prints, for an executor with 1 worker and with 2 workers, round trips per
 * second and nanoseconds per round trip: the median of `runs` runs, each
 * after one untimed warm-up run. A round trip includes making and dropping
 * the oneshot channel. A last line gives the oneshot's own cost, polled by
 * hand without an executor, so the channel's share of a round trip can be
 * told from the executor's. The figures are printed for reading, never
 * checked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpsc.h"
#include "mpsc_recv_future.h"
#include "oneshot.h"
#include "oneshot_recv_future.h"
#include "rt.h"

/* What travels on the mpsc: a question and where to send the answer. */
typedef struct request {
    uintptr_t question;
    oneshot_sender *reply;
} request;

typedef struct client_task {
    rt_future base;
    rt_async co;
    mpsc_sender *requests; /* this client's clone of the server's sender */
    long remaining;
    request req; /* one request in flight at a time: it can live here */
    oneshot_receiver *reply_rx;
    oneshot_recv_future reply;
    long wrong; /* answers that were not question + 1 */
} client_task;

static rt_poll client_poll(rt_future *self, rt_context *cx) {
    client_task *t = (client_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (; t->remaining > 0; t->remaining--) {
        oneshot_channel(NULL, &t->req.reply, &t->reply_rx);
        t->req.question = (uintptr_t)t->remaining;
        void *back;
        if (mpsc_send(t->requests, &t->req, &back) != MPSC_SEND_OK) {
            fprintf(stderr, "bench_oneshot: the server is gone\n");
            abort();
        }
        oneshot_recv_future_init(&t->reply, t->reply_rx);
        RT_AWAIT(&t->co, cx, &t->reply.base);
        if (t->reply.result != ONESHOT_RECV_MESSAGE ||
            (uintptr_t)t->reply.message != (uintptr_t)t->remaining + 1)
            t->wrong++;
        oneshot_receiver_drop(t->reply_rx);
    }
    mpsc_sender_drop(t->requests); /* the server stops when every client is done */
    RT_ASYNC_END(&t->co);
}

typedef struct server_task {
    rt_future base;
    rt_async co;
    mpsc_receiver *requests;
    mpsc_recv_future next;
    long served;
} server_task;

static rt_poll server_poll(rt_future *self, rt_context *cx) {
    server_task *t = (server_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        mpsc_recv_future_init(&t->next, t->requests);
        RT_AWAIT(&t->co, cx, &t->next.base);
        if (t->next.result == MPSC_RECV_CLOSED)
            break;
        request *req = t->next.message;
        void *back;
        /* The answer is a small integer in a pointer: nothing to free if refused. */
        (void)oneshot_send(req->reply, (void *)(req->question + 1), &back);
        t->served++;
    }
    RT_ASYNC_END(&t->co);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One timed run: one client and one server on a fresh executor; nanoseconds per round trip. */
static double run_once(unsigned workers, long round_trips) {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    client_task client = {.base = {.poll = client_poll, .name = "client"},
                          .requests = sender,
                          .remaining = round_trips};
    server_task server = {.base = {.poll = server_poll, .name = "server"}, .requests = receiver};

    rt_executor *ex = rt_executor_new(workers);
    double start = now_seconds();
    rt_join_handle *server_handle = rt_spawn(ex, &server.base, "server");
    rt_join_handle *client_handle = rt_spawn(ex, &client.base, "client");
    rt_join(client_handle);
    rt_join(server_handle);
    double elapsed = now_seconds() - start;
    rt_executor_shutdown(ex);
    mpsc_receiver_drop(receiver);

    if (client.wrong != 0 || server.served != round_trips) {
        fprintf(stderr, "bench_oneshot: %ld wrong answers, %ld of %ld requests served\n",
                client.wrong, server.served, round_trips);
        exit(1);
    }
    return elapsed * 1e9 / (double)round_trips;
}

/* The channel alone, no executor: make, poll (PENDING), send, poll (READY), drop. */
static double channel_alone_once(long lives) {
    rt_waker waker = rt_waker_noop();
    rt_context cx = rt_context_from_waker(&waker);
    long wrong = 0;
    double start = now_seconds();
    for (long i = 0; i < lives; i++) {
        oneshot_sender *sender;
        oneshot_receiver *receiver;
        void *message = NULL, *back;
        oneshot_recv_result result;
        oneshot_channel(NULL, &sender, &receiver);
        wrong += oneshot_receiver_poll_recv(receiver, &cx, &message, &result) != RT_PENDING;
        (void)oneshot_send(sender, (void *)(uintptr_t)(i + 1), &back);
        wrong += oneshot_receiver_poll_recv(receiver, &cx, &message, &result) != RT_READY;
        wrong += (uintptr_t)message != (uintptr_t)(i + 1);
        oneshot_receiver_drop(receiver);
    }
    double elapsed = now_seconds() - start;
    if (wrong != 0) {
        fprintf(stderr, "bench_oneshot: the channel gave %ld wrong answers\n", wrong);
        exit(1);
    }
    return elapsed * 1e9 / (double)lives;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long round_trips = argc > 1 ? atol(argv[1]) : 200000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (round_trips <= 0 || runs <= 0 || runs > 99) {
        fprintf(stderr, "usage: %s [round_trips > 0] [runs 1..99]\n", argv[0]);
        return 2;
    }
    printf("oneshot round trips (request on an mpsc, reply on a fresh oneshot), "
           "%ld per run, median of %d runs\n",
           round_trips, runs);
    const unsigned worker_counts[] = {1, 2};
    for (size_t w = 0; w < sizeof worker_counts / sizeof worker_counts[0]; w++) {
        double ns[99];
        run_once(worker_counts[w], round_trips / 10 + 1); /* warm-up, not counted */
        for (int r = 0; r < runs; r++)
            ns[r] = run_once(worker_counts[w], round_trips);
        qsort(ns, (size_t)runs, sizeof ns[0], compare_doubles);
        double median = ns[runs / 2];
        printf("  %u worker%s: %12.0f round trips/s  %8.1f ns/round trip  (runs: %.1f .. %.1f)\n",
               worker_counts[w], worker_counts[w] == 1 ? " " : "s", 1e9 / median, median, ns[0],
               ns[runs - 1]);
    }
    /* What the oneshot itself costs, to tell it apart from the executor's share. */
    double alone[99];
    for (int r = 0; r < runs; r++)
        alone[r] = channel_alone_once(round_trips);
    qsort(alone, (size_t)runs, sizeof alone[0], compare_doubles);
    printf("  the oneshot alone, polled by hand (make, poll, send, poll, drop): %.1f ns\n",
           alone[runs / 2]);
    return 0;
}
