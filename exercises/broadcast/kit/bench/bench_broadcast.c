/*
 * bench_broadcast.c - fan-out throughput of the broadcast channel.
 *
 * One sender (this thread) sends 200,000 messages; every receiver is a task
 * on an executor and takes all of them, checking their order. The figure is
 * the wall time from the first send until every receiver has seen CLOSED,
 * divided by the number of messages sent: nanoseconds per message sent, for
 * 1, 4 and 16 receivers, median of several runs.
 *
 * Messages are small integers stored in the pointer itself, with a clone
 * that copies the pointer and a destructor that does nothing, so the figure
 * is the channel's own cost and not malloc's.
 *
 * The executor gets one worker per core minus one (at least one): the
 * sender thread keeps a core busy, and a third thread on two cores would
 * mostly measure the scheduler. Say how many workers to use as the third
 * argument to see the difference.
 *
 *     make bench EX=broadcast [SOLUTION=1] [BENCH_ARGS="messages runs workers"]
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "broadcast.h"
#include "rt.h"

enum { MAX_RECEIVERS = 16, MAX_RUNS = 15 };

typedef struct receiver_task {
    rt_future base;
    rt_async co;
    broadcast_receiver *receiver;
    void *message;
    broadcast_recv_result result;
    uint64_t expected; /* the next value, to check the order */
    uint64_t received;
    int out_of_order;
} receiver_task;

static void *copy_pointer(const void *message) {
    return (void *)message;
}

static void forget(void *message) {
    (void)message;
}

static rt_poll receiver_poll(rt_future *self, rt_context *cx) {
    receiver_task *t = (receiver_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (;;) {
        RT_AWAIT_POLL(&t->co, cx,
                      broadcast_receiver_poll_recv(t->receiver, cx, &t->message, &t->result, NULL));
        if (t->result != BROADCAST_RECV_MESSAGE)
            break;
        if ((uint64_t)(uintptr_t)t->message != t->expected)
            t->out_of_order++;
        t->expected++;
        t->received++;
    }
    RT_ASYNC_END(&t->co);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One run: ns per message sent, or a negative number when a receiver went wrong. */
static double run_once(rt_executor *ex, int receivers, uint64_t messages) {
    broadcast_sender *sender;
    broadcast_receiver *first;
    broadcast_channel(forget, copy_pointer, 0, &sender, &first);
    receiver_task tasks[MAX_RECEIVERS];
    rt_join_handle *handles[MAX_RECEIVERS];
    for (int i = 0; i < receivers; i++) {
        tasks[i] = (receiver_task){.base = {.poll = receiver_poll, .name = "bench receiver"},
                                   .receiver = i == 0 ? first : broadcast_sender_subscribe(sender),
                                   .expected = 1};
    }
    for (int i = 0; i < receivers; i++)
        handles[i] = rt_spawn(ex, &tasks[i].base, "bench receiver");

    double start = now_ns();
    for (uint64_t i = 1; i <= messages; i++) {
        size_t reached;
        void *back;
        if (broadcast_send(sender, (void *)(uintptr_t)i, &back, &reached) != BROADCAST_SEND_OK ||
            reached != (size_t)receivers) {
            fprintf(stderr, "bench: send %" PRIu64 " reached %zu receivers, expected %d\n", i,
                    reached, receivers);
            exit(1);
        }
    }
    broadcast_sender_drop(sender);
    for (int i = 0; i < receivers; i++)
        rt_join(handles[i]);
    double elapsed = now_ns() - start;

    bool ok = true;
    for (int i = 0; i < receivers; i++) {
        if (tasks[i].received != messages || tasks[i].out_of_order != 0 ||
            tasks[i].result != BROADCAST_RECV_CLOSED) {
            fprintf(stderr, "bench: receiver %d got %" PRIu64 " of %" PRIu64 " (%d out of order)\n",
                    i, tasks[i].received, messages, tasks[i].out_of_order);
            ok = false;
        }
        broadcast_receiver_drop(tasks[i].receiver);
    }
    return ok ? elapsed / (double)messages : -1.0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t messages = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    int workers = argc > 3 ? atoi(argv[3]) : cores > 2 ? (int)cores - 1 : 1;
    if (messages == 0 || runs < 1 || runs > MAX_RUNS || workers < 1) {
        fprintf(stderr, "usage: %s [messages > 0] [runs 1..%d] [workers >= 1]\n", argv[0],
                MAX_RUNS);
        return 2;
    }
    rt_executor *ex = rt_executor_new((unsigned)workers);
    const int counts[] = {1, 4, 16};
    printf("broadcast fan-out: 1 sender thread, receivers as tasks on %d worker%s, %" PRIu64
           " messages, median of %d runs\n",
           workers, workers == 1 ? "" : "s", messages, runs);
    int result = 0;
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        double ns[MAX_RUNS];
        for (int r = 0; r < runs; r++) {
            ns[r] = run_once(ex, counts[c], messages);
            if (ns[r] < 0) {
                result = 1;
                break;
            }
        }
        if (result != 0)
            break;
        qsort(ns, (size_t)runs, sizeof ns[0], compare_doubles);
        printf("  %2d receiver%s %8.1f ns per message sent  (%6.1f ns per delivery; "
               "min %.1f, max %.1f)\n",
               counts[c], counts[c] == 1 ? ": " : "s:", ns[runs / 2], ns[runs / 2] / counts[c],
               ns[0], ns[runs - 1]);
    }
    rt_executor_shutdown(ex);
    return result;
}
