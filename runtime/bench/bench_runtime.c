/*
 * bench_runtime.c - what the runtime's basic operations cost.
 *
 *     make bench-runtime                 all benchmarks, 7 runs each
 *     make bench-runtime BENCH_ARGS=3    3 runs each
 *     make bench-runtime BENCH_ARGS="7 ping"   only the figures whose label has "ping"
 *
 * Each figure is the median of several runs, in nanoseconds per operation
 * so that later changes to the runtime can be compared against it: wall
 * time, and CPU time (all threads together). Wall time is what a user
 * waits; CPU time counts spinning and system calls but not waiting for a
 * core, so it is the steadier figure on a machine shared with other jobs.
 *
 *   spawn+join        spawn a task that is ready at once, then rt_join it
 *   spawn batch       spawn 10,000 such tasks, then join them all (per task)
 *   ping-pong         one wake -> poll round trip each way between two tasks
 *                     that hand a token back and forth through a one-place
 *                     signal (the smallest possible channel), on 1 and 2 workers
 *   block_on          a plain thread blocks on a future that another thread
 *                     completes and wakes: park, wake, unpark, poll
 *
 * Shake mode is off here whatever RT_SHAKE says: it exists to make races
 * likely, not to be fast.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Runs `one_run` `runs` times; returns the median of what it returned (wall
 * time per operation) and, in *cpu_ratio, the median share of CPU time to
 * wall time, all threads together. The CPU figure tells spinning and
 * system calls from sleeping, and is steadier than wall time on a busy
 * machine.
 */
static double median_of(int runs, double (*one_run)(void *), void *arg, double *cpu_ratio) {
    double results[64], ratios[64];
    if (runs > 64)
        runs = 64;
    for (int i = 0; i < runs; i++) {
        double wall_start = now_ns(), cpu_start = cpu_ns();
        results[i] = one_run(arg);
        ratios[i] = (cpu_ns() - cpu_start) / (now_ns() - wall_start);
    }
    qsort(results, (size_t)runs, sizeof results[0], compare_doubles);
    qsort(ratios, (size_t)runs, sizeof ratios[0], compare_doubles);
    *cpu_ratio = ratios[runs / 2];
    return results[runs / 2];
}

/* ---- a future that is ready at once ---- */

static rt_poll ready_poll(rt_future *self, rt_context *cx) {
    (void)self;
    (void)cx;
    return RT_READY;
}

static rt_future ready_future = {.poll = ready_poll, .drop = NULL, .name = "ready"};

enum { SPAWN_JOIN_COUNT = 20000, BATCH_COUNT = 10000 };

static double run_spawn_join(void *arg) {
    unsigned workers = *(unsigned *)arg;
    rt_executor *ex = rt_executor_new(workers);
    double start = now_ns();
    for (int i = 0; i < SPAWN_JOIN_COUNT; i++)
        rt_join(rt_spawn(ex, &ready_future, "ready"));
    double elapsed = now_ns() - start;
    rt_executor_shutdown(ex);
    return elapsed / SPAWN_JOIN_COUNT;
}

static double run_spawn_batch(void *arg) {
    unsigned workers = *(unsigned *)arg;
    static rt_join_handle *handles[BATCH_COUNT];
    rt_executor *ex = rt_executor_new(workers);
    double start = now_ns();
    for (int i = 0; i < BATCH_COUNT; i++)
        handles[i] = rt_spawn(ex, &ready_future, "ready");
    for (int i = 0; i < BATCH_COUNT; i++)
        rt_join(handles[i]);
    double elapsed = now_ns() - start;
    rt_executor_shutdown(ex);
    return elapsed / BATCH_COUNT;
}

/* ---- a one-place signal: the smallest channel there is ---- */

typedef struct signal_slot {
    pthread_mutex_t lock;
    bool set;
    rt_waker waiter;
} signal_slot;

static void signal_init(signal_slot *s) {
    pthread_mutex_init(&s->lock, NULL);
    s->set = false;
    s->waiter = RT_WAKER_NONE;
}

static void signal_destroy(signal_slot *s) {
    rt_waker_drop(&s->waiter);
    pthread_mutex_destroy(&s->lock);
}

static void signal_raise(signal_slot *s) {
    pthread_mutex_lock(&s->lock);
    s->set = true;
    rt_waker waiter = rt_waker_take(&s->waiter);
    pthread_mutex_unlock(&s->lock);
    rt_waker_wake(&waiter); /* outside the lock, as the kit's rule says */
}

/* READY (and lowers the signal) when raised; otherwise stores the waker. */
static rt_poll signal_poll(signal_slot *s, rt_context *cx) {
    pthread_mutex_lock(&s->lock);
    if (s->set) {
        s->set = false;
        pthread_mutex_unlock(&s->lock);
        return RT_READY;
    }
    if (rt_waker_will_wake(&s->waiter, cx->waker)) {
        pthread_mutex_unlock(&s->lock);
        return RT_PENDING;
    }
    pthread_mutex_unlock(&s->lock);
    rt_waker mine = rt_waker_clone(cx->waker); /* cloned unlocked: no lock nesting */
    pthread_mutex_lock(&s->lock);
    if (s->set) {
        s->set = false;
        pthread_mutex_unlock(&s->lock);
        rt_waker_drop(&mine);
        return RT_READY;
    }
    rt_waker old = s->waiter;
    s->waiter = mine;
    pthread_mutex_unlock(&s->lock);
    rt_waker_drop(&old);
    return RT_PENDING;
}

/* ---- ping-pong between two tasks ---- */

enum { ROUND_TRIPS = 100000 };

typedef struct player {
    rt_future base;
    rt_async co;
    signal_slot *mine, *theirs;
    bool serves; /* the pinger raises first */
    int round;
} player;

static rt_poll player_poll(rt_future *self, rt_context *cx) {
    player *p = (player *)self;
    RT_ASYNC_BEGIN(&p->co);
    for (p->round = 0; p->round < ROUND_TRIPS; p->round++) {
        if (p->serves)
            signal_raise(p->theirs);
        RT_AWAIT_POLL(&p->co, cx, signal_poll(p->mine, cx));
        if (!p->serves)
            signal_raise(p->theirs);
    }
    RT_ASYNC_END(&p->co);
}

static double run_ping_pong(void *arg) {
    unsigned workers = *(unsigned *)arg;
    signal_slot ping, pong;
    signal_init(&ping);
    signal_init(&pong);
    player pinger = {.base = {.poll = player_poll, .name = "pinger"},
                     .mine = &pong,
                     .theirs = &ping,
                     .serves = true};
    player ponger = {.base = {.poll = player_poll, .name = "ponger"},
                     .mine = &ping,
                     .theirs = &pong,
                     .serves = false};
    rt_executor *ex = rt_executor_new(workers);
    double start = now_ns();
    rt_join_handle *a = rt_spawn(ex, &ponger.base, "ponger");
    rt_join_handle *b = rt_spawn(ex, &pinger.base, "pinger");
    rt_join(a);
    rt_join(b);
    double elapsed = now_ns() - start;
    rt_executor_shutdown(ex);
    signal_destroy(&ping);
    signal_destroy(&pong);
    return elapsed / ROUND_TRIPS;
}

/* ---- block_on woken from another thread ---- */

enum { BLOCK_ON_ROUNDS = 20000 };

typedef struct helper {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rt_waker request; /* a waker to complete; NONE when there is none */
    bool done;        /* the current request was completed */
    bool stop;
} helper;

typedef struct request_future {
    rt_future base;
    helper *h;
    bool sent;
} request_future;

static rt_poll request_poll(rt_future *self, rt_context *cx) {
    request_future *f = (request_future *)self;
    helper *h = f->h;
    if (!f->sent) {
        rt_waker mine = rt_waker_clone(cx->waker);
        pthread_mutex_lock(&h->lock);
        h->done = false;
        h->request = mine;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->lock);
        f->sent = true;
        return RT_PENDING;
    }
    pthread_mutex_lock(&h->lock);
    bool done = h->done;
    pthread_mutex_unlock(&h->lock);
    return done ? RT_READY : RT_PENDING;
}

static void *helper_main(void *arg) {
    helper *h = arg;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->stop && rt_waker_is_none(&h->request))
            pthread_cond_wait(&h->cond, &h->lock);
        if (h->stop)
            break;
        rt_waker waker = rt_waker_take(&h->request);
        h->done = true;
        pthread_mutex_unlock(&h->lock);
        rt_waker_wake(&waker);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

static double run_block_on(void *arg) {
    (void)arg;
    helper h = {.request = RT_WAKER_NONE};
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, helper_main, &h);
    double start = now_ns();
    for (int i = 0; i < BLOCK_ON_ROUNDS; i++) {
        request_future f = {.base = {.poll = request_poll, .name = "request"}, .h = &h};
        rt_block_on(&f.base);
    }
    double elapsed = now_ns() - start;
    pthread_mutex_lock(&h.lock);
    h.stop = true;
    pthread_cond_signal(&h.cond);
    pthread_mutex_unlock(&h.lock);
    pthread_join(thread, NULL);
    pthread_cond_destroy(&h.cond);
    pthread_mutex_destroy(&h.lock);
    return elapsed / BLOCK_ON_ROUNDS;
}

static int runs = 7;
static const char *only; /* run only the figures whose label contains this */

static void figure(const char *label, double (*one_run)(void *), void *arg, const char *unit) {
    if (only != NULL && strstr(label, only) == NULL)
        return;
    double cpu_ratio;
    double ns = median_of(runs, one_run, arg, &cpu_ratio);
    printf("  %-34s %8.0f ns wall %8.0f ns CPU%s\n", label, ns, ns * cpu_ratio, unit);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc > 1 && atoi(argv[1]) > 0)
        runs = atoi(argv[1]);
    if (argc > 2)
        only = argv[2];
    unsetenv("RT_SHAKE"); /* measure the real schedule, not the shaken one */
    unsigned one = 1, two = 2;

    printf("runtime benchmark: median of %d runs, nanoseconds per operation\n", runs);
    figure("spawn+join, 1 worker", run_spawn_join, &one, "");
    figure("spawn+join, 2 workers", run_spawn_join, &two, "");
    figure("spawn batch of 10000, 2 workers", run_spawn_batch, &two, " (per task)");
    figure("ping-pong round trip, 1 worker", run_ping_pong, &one, "");
    figure("ping-pong round trip, 2 workers", run_ping_pong, &two, "");
    figure("block_on woken by another thread", run_block_on, NULL, "");
    return 0;
}
