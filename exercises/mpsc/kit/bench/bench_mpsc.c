/*
 * bench_mpsc.c - throughput of the channel: producer threads into one receiver.
 *
 * 2,000,000 one-word messages per run, sent by 1 and then by 4 producer
 * threads, received by a future polled with rt_block_on on the main thread.
 * Each scenario runs several times; the median is printed as messages per
 * second and nanoseconds per message. Run it with `make bench EX=mpsc`
 * (your channel) or `make bench EX=mpsc SOLUTION=1` (the reference).
 *
 * For scale, each scenario also runs the textbook blocking queue: one mutex,
 * one condition variable signalled on every send, one message taken per
 * lock. Both are measured in the same minute on the same machine, so their
 * ratio holds even when a shared or busy machine moves both figures.
 *
 *     bench_mpsc [messages [runs]]
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpsc.h"
#include "mpsc_queue.h"

/* Holds the producers until the clock starts (pthread barriers are missing on macOS). */
typedef struct start_gate {
    pthread_mutex_t lock;
    pthread_cond_t opened_cond;
    int opened;
} start_gate;

static void gate_wait(start_gate *gate) {
    pthread_mutex_lock(&gate->lock);
    while (!gate->opened)
        pthread_cond_wait(&gate->opened_cond, &gate->lock);
    pthread_mutex_unlock(&gate->lock);
}

static void gate_open(start_gate *gate) {
    pthread_mutex_lock(&gate->lock);
    gate->opened = 1;
    pthread_cond_broadcast(&gate->opened_cond);
    pthread_mutex_unlock(&gate->lock);
}

typedef struct blocking_queue blocking_queue;

/* One producer thread: once the start gate opens, sends messages first .. first+count-1 on
 * the channel (sender) or on the textbook queue (queue). */
typedef struct producer {
    pthread_t thread;
    mpsc_sender *sender;
    blocking_queue *queue;
    start_gate *start;
    uintptr_t first, count;
} producer;

static void *producer_main(void *arg) {
    producer *p = arg;
    gate_wait(p->start);
    for (uintptr_t i = 0; i < p->count; i++) {
        void *back;
        if (mpsc_send(p->sender, (void *)(p->first + i), &back) != MPSC_SEND_OK) {
            fprintf(stderr, "bench: a send failed while the receiver was alive\n");
            exit(1);
        }
    }
    mpsc_sender_drop(p->sender);
    return NULL;
}

/* The receiving side: one future that drains the channel until it is closed. */
typedef struct drain_future {
    rt_future base;
    rt_async co;
    mpsc_receiver *receiver;
    void *message;
    uintptr_t received, sum;
} drain_future;

static rt_poll drain_poll(rt_future *self, rt_context *cx) {
    drain_future *f = (drain_future *)self;
    RT_ASYNC_BEGIN(&f->co);
    for (;;) {
        mpsc_recv_result result;
        RT_AWAIT_POLL(&f->co, cx, mpsc_receiver_poll_recv(f->receiver, cx, &f->message, &result));
        if (result == MPSC_RECV_CLOSED)
            break;
        f->received++;
        f->sum += (uintptr_t)f->message;
    }
    RT_ASYNC_END(&f->co);
}

/* Starts `n` producers sharing messages 1..messages between them; they wait for `start`. */
static void producers_start(producer *ps, unsigned n, uintptr_t messages, start_gate *start,
                            mpsc_sender *sender, blocking_queue *queue, void *(*body)(void *)) {
    uintptr_t each = messages / n;
    for (unsigned i = 0; i < n; i++) {
        ps[i] = (producer){.sender = sender ? mpsc_sender_clone(sender) : NULL,
                           .queue = queue,
                           .start = start,
                           .first = 1 + i * each,
                           .count = i + 1 == n ? messages - i * each : each};
        if (pthread_create(&ps[i].thread, NULL, body, &ps[i]) != 0) {
            fprintf(stderr, "bench: cannot start a thread\n");
            exit(1);
        }
    }
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the textbook blocking queue, for scale ---- */

struct blocking_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    mpsc_queue items;
    unsigned producers; /* still sending */
};

static void *blocking_producer_main(void *arg) {
    producer *p = arg;
    blocking_queue *q = p->queue;
    gate_wait(p->start);
    for (uintptr_t i = 0; i < p->count; i++) {
        pthread_mutex_lock(&q->lock);
        mpsc_queue_push(&q->items, (void *)(p->first + i));
        pthread_cond_signal(&q->nonempty);
        pthread_mutex_unlock(&q->lock);
    }
    pthread_mutex_lock(&q->lock);
    q->producers--;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* Takes one message, waiting for it; false once every producer is done and the queue is empty. */
static bool blocking_take(blocking_queue *q, void **message) {
    pthread_mutex_lock(&q->lock);
    while (mpsc_queue_len(&q->items) == 0 && q->producers > 0)
        pthread_cond_wait(&q->nonempty, &q->lock);
    bool got = mpsc_queue_pop(&q->items, message);
    pthread_mutex_unlock(&q->lock);
    return got;
}

static double blocking_run_once(unsigned producers, uintptr_t messages) {
    blocking_queue q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, MPSC_QUEUE_EMPTY,
                        producers};
    start_gate start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    producer ps[16];
    producers_start(ps, producers, messages, &start, NULL, &q, blocking_producer_main);
    double t0 = now_seconds();
    gate_open(&start);
    uintptr_t received = 0, sum = 0;
    void *message;
    while (blocking_take(&q, &message)) {
        received++;
        sum += (uintptr_t)message;
    }
    double elapsed = now_seconds() - t0;
    for (unsigned i = 0; i < producers; i++)
        pthread_join(ps[i].thread, NULL);
    mpsc_queue_free(&q.items);
    if (received != messages || sum != messages * (messages + 1) / 2) {
        fprintf(stderr, "bench: the blocking queue lost messages\n");
        exit(1);
    }
    return elapsed;
}

/* One run: seconds from the start signal until the receiver saw the end of the stream. */
static double run_once(unsigned producers, uintptr_t messages) {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    start_gate start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    producer ps[16];
    producers_start(ps, producers, messages, &start, sender, NULL, producer_main);
    mpsc_sender_drop(sender);
    drain_future drain = {.base = {.poll = drain_poll, .name = "drain"}, .receiver = receiver};
    double t0 = now_seconds();
    gate_open(&start);
    rt_block_on(&drain.base);
    double elapsed = now_seconds() - t0;
    for (unsigned i = 0; i < producers; i++)
        pthread_join(ps[i].thread, NULL);
    mpsc_receiver_drop(receiver);
    /* The messages are 1..messages: their sum says none was lost or repeated. */
    uintptr_t expected = messages * (messages + 1) / 2;
    if (drain.received != messages || drain.sum != expected) {
        fprintf(stderr, "bench: received %lu messages (sum %lu), expected %lu (sum %lu)\n",
                (unsigned long)drain.received, (unsigned long)drain.sum, (unsigned long)messages,
                (unsigned long)expected);
        exit(1);
    }
    return elapsed;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    uintptr_t messages = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (messages == 0 || runs < 1 || runs > 99) {
        fprintf(stderr, "usage: bench_mpsc [messages [runs (1-99)]]\n");
        return 2;
    }
    printf("mpsc: %lu one-word messages per run, producer threads -> one receiver in "
           "rt_block_on, median of %d runs\n",
           (unsigned long)messages, runs);
    fflush(stdout); /* shown even if an unfinished channel aborts below */
    unsigned scenarios[] = {1, 4};
    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        double times[99], blocking[99];
        /* Interleaved, so that a slow minute of the machine hits both alike. */
        for (int r = 0; r < runs; r++) {
            times[r] = run_once(scenarios[s], messages);
            blocking[r] = blocking_run_once(scenarios[s], messages);
        }
        qsort(times, (size_t)runs, sizeof times[0], compare_doubles);
        qsort(blocking, (size_t)runs, sizeof blocking[0], compare_doubles);
        double median = times[runs / 2], blocking_median = blocking[runs / 2];
        printf("  %u producer%s: %6.1f ns/message  %6.2f M messages/s  (runs: %.3f s .. %.3f s)\n",
               scenarios[s], scenarios[s] == 1 ? " " : "s", median * 1e9 / (double)messages,
               (double)messages / median / 1e6, times[0], times[runs - 1]);
        printf("     for scale: mutex + condition variable queue %6.1f ns/message, %.2f times the "
               "channel's\n",
               blocking_median * 1e9 / (double)messages, blocking_median / median);
        fflush(stdout);
    }
    return 0;
}
