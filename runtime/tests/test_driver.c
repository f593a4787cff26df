/*
 * test_driver.c - who turns the reactor's loop: an idle worker, and the
 * reactor's own thread when no worker can (rt_driver.h).
 *
 * Each test builds a situation in which exactly one part of the hand-over
 * between them must work, or the test hangs until its timeout: a task
 * scheduled while the only worker waits in poll(2), a worker that never
 * runs out of tasks, a worker blocked in rt_block_on, an executor shut
 * down while its worker drives, two executors sharing the one loop.
 */
#include <stdatomic.h>

#include "io_test_support.h"
#include "kt_test.h"
#include "rt_test_support.h"

/* A pipe and a line reader over it. */
typedef struct line_pipe {
    test_pipe pipe;
    rt_line_reader *lines;
} line_pipe;

static void line_pipe_open(line_pipe *p) {
    test_pipe_open(&p->pipe);
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p->pipe.io), 64, &p->lines), RT_IO_OK);
}

static void line_pipe_close(line_pipe *p) {
    rt_line_reader_drop(p->lines);
    test_pipe_close(&p->pipe);
}

/* Spawns a task that reads one line from p. */
static rt_join_handle *spawn_reader(rt_executor *ex, line_pipe *p, rt_read_line_future *read) {
    rt_read_line_future_init(read, p->lines);
    return rt_spawn(ex, &read->base, "reader");
}

static void assert_read(rt_join_handle *h, rt_read_line_future *read, const char *want) {
    cr_assert_eq(rt_join(h), RT_TASK_COMPLETED);
    cr_assert_eq(read->result, RT_IO_OK, "%s", rt_io_result_str(read->result));
    cr_assert_eq(read->len, strlen(want));
    cr_assert(memcmp(read->line, want, read->len) == 0);
}

/* A future that is READY at once. */
static rt_poll ready_poll(rt_future *self, rt_context *cx) {
    (void)self;
    (void)cx;
    return RT_READY;
}

KT_TEST(runtime_driver, spawn_reaches_a_worker_in_poll, .timeout = 10,
        .description = "a task spawned while the only worker waits in poll(2) for a silent pipe "
                       "runs: the spawn kicks the worker out of poll(2)") {
    line_pipe p;
    line_pipe_open(&p);
    rt_executor *ex = rt_executor_new(1);
    rt_read_line_future read;
    rt_join_handle *reader = spawn_reader(ex, &p, &read);
    rt_executor_wait_idle(ex); /* the reader waits: the worker is idle, in poll(2) */
    for (int i = 0; i < 100; i++) {
        rt_future now = {.poll = ready_poll, .name = "now"};
        cr_assert_eq(rt_join(rt_spawn(ex, &now, "now")), RT_TASK_COMPLETED);
    }
    test_pipe_write(&p.pipe, "late\n", 5);
    assert_read(reader, &read, "late");
    rt_executor_shutdown(ex);
    line_pipe_close(&p);
}

/* Yields until told to stop: a worker that never runs out of tasks. */
typedef struct spinner {
    rt_future base;
    rt_async co;
    atomic_bool stop;
    unsigned long polls;
} spinner;

static rt_poll spinner_poll(rt_future *self, rt_context *cx) {
    spinner *s = (spinner *)self;
    RT_ASYNC_BEGIN(&s->co);
    while (!atomic_load(&s->stop)) {
        s->polls++;
        RT_YIELD(&s->co, cx);
    }
    RT_ASYNC_END(&s->co);
}

KT_TEST(runtime_driver, busy_worker_lets_io_in, .timeout = 10,
        .description = "while the only worker never runs out of tasks, a sleep in block_on and "
                       "a line read by a task of the same executor still finish") {
    line_pipe p;
    line_pipe_open(&p);
    rt_executor *ex = rt_executor_new(1);
    rt_read_line_future read;
    rt_join_handle *reader = spawn_reader(ex, &p, &read);
    rt_executor_wait_idle(ex); /* the worker has taken the driving from the reactor's thread */
    spinner s = {.base = {.poll = spinner_poll, .name = "spinner"}};
    rt_join_handle *spinning = rt_spawn(ex, &s.base, "spinner");
    rt_sleep_future nap;
    rt_sleep_future_init(&nap, RT_MILLISECONDS(20));
    rt_block_on(&nap.base); /* the timer fires though no worker is ever idle */
    rt_future_drop(&nap.base);
    test_pipe_write(&p.pipe, "through\n", 8);
    assert_read(reader, &read, "through");
    atomic_store(&s.stop, true);
    cr_assert_eq(rt_join(spinning), RT_TASK_COMPLETED);
    cr_assert_gt(s.polls, 0);
    rt_executor_shutdown(ex);
    line_pipe_close(&p);
}

/* Sleeps in rt_block_on inside its poll: the worker is blocked, not idle. */
typedef struct blocking_sleeper {
    rt_future base;
    line_pipe *pipe;
    bool read_ok;
} blocking_sleeper;

static rt_poll blocking_sleeper_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    blocking_sleeper *b = (blocking_sleeper *)self;
    rt_sleep_future nap;
    rt_sleep_future_init(&nap, RT_MILLISECONDS(10));
    rt_block_on(&nap.base);
    rt_future_drop(&nap.base);
    rt_read_line_future read; /* no cr_assert here: this is a worker thread */
    rt_read_line_future_init(&read, b->pipe->lines);
    rt_block_on(&read.base);
    b->read_ok = read.result == RT_IO_OK && read.len == 6 && memcmp(read.line, "inside", 6) == 0;
    rt_future_drop(&read.base);
    return RT_READY;
}

KT_TEST(runtime_driver, block_on_inside_the_only_worker, .timeout = 10,
        .description = "a task that calls rt_block_on on a sleep and on a pipe, on a one-worker "
                       "executor, gets both: the reactor's thread drives meanwhile") {
    line_pipe p;
    line_pipe_open(&p);
    test_pipe_write(&p.pipe, "ins", 3); /* the rest comes after the task has waited */
    rt_executor *ex = rt_executor_new(1);
    blocking_sleeper b = {.base = {.poll = blocking_sleeper_poll, .name = "blocking"}, .pipe = &p};
    rt_join_handle *h = rt_spawn(ex, &b.base, "blocking");
    test_sleep_ms(30);
    test_pipe_write(&p.pipe, "ide\n", 4);
    cr_assert_eq(rt_join(h), RT_TASK_COMPLETED);
    cr_assert(b.read_ok);
    rt_executor_shutdown(ex);
    line_pipe_close(&p);
}

KT_TEST(runtime_driver, shutdown_hands_the_driving_back, .timeout = 10,
        .description = "after the executor whose worker drove is shut down, a block_on on a "
                       "pipe is still woken; a new executor then takes the driving back") {
    line_pipe p;
    line_pipe_open(&p);
    rt_executor *ex = rt_executor_new(1);
    rt_read_line_future read;
    rt_join_handle *reader = spawn_reader(ex, &p, &read);
    rt_executor_wait_idle(ex);
    rt_executor_shutdown(ex); /* its worker was in poll(2) */
    cr_assert_eq(rt_join(reader), RT_TASK_CANCELLED);

    test_pipe_write(&p.pipe, "one\n", 4);
    char line[16];
    cr_assert_eq(test_read_line(p.lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "one");

    ex = rt_executor_new(2);
    for (int i = 0; i < 20; i++) {
        reader = spawn_reader(ex, &p, &read);
        rt_executor_wait_idle(ex);
        test_pipe_write(&p.pipe, "two\n", 4);
        assert_read(reader, &read, "two");
    }
    rt_executor_shutdown(ex);
    line_pipe_close(&p);
}

/* Echoes lines from one pipe into another, `rounds` times. */
typedef struct relay {
    rt_future base;
    rt_async co;
    line_pipe *in;
    int out_fd;
    int rounds;
    rt_read_line_future read;
} relay;

static rt_poll relay_poll(rt_future *self, rt_context *cx) {
    relay *r = (relay *)self;
    RT_ASYNC_BEGIN(&r->co);
    while (r->rounds-- > 0) {
        rt_read_line_future_init(&r->read, r->in->lines);
        RT_AWAIT(&r->co, cx, &r->read.base);
        if (r->read.result != RT_IO_OK)
            RT_ASYNC_RETURN(&r->co);
        /* A pipe holds far more than one short line: this write never blocks. */
        char out[64];
        memcpy(out, r->read.line, r->read.len);
        out[r->read.len] = '\n';
        if (write(r->out_fd, out, r->read.len + 1) != (ssize_t)r->read.len + 1)
            RT_ASYNC_RETURN(&r->co);
    }
    RT_ASYNC_END(&r->co);
}

static void relay_drop(rt_future *self) {
    rt_future_drop(&((relay *)self)->read.base);
}

KT_TEST(runtime_driver, two_executors_share_the_loop, .timeout = 20,
        .description = "a line bounced 200 times between tasks of two executors through two "
                       "pipes arrives every time; after one executor is shut down the other's "
                       "task still gets its line") {
    line_pipe a, b;
    line_pipe_open(&a);
    line_pipe_open(&b);
    rt_executor *left = rt_executor_new(1), *right = rt_executor_new(1);
    enum { ROUNDS = 200 };
    relay to_b = {.base = {.poll = relay_poll, .drop = relay_drop, .name = "a-to-b"},
                  .in = &a,
                  .out_fd = b.pipe.write_fd,
                  .rounds = ROUNDS};
    relay to_a = {.base = {.poll = relay_poll, .drop = relay_drop, .name = "b-to-a"},
                  .in = &b,
                  .out_fd = a.pipe.write_fd,
                  .rounds = ROUNDS - 1};
    rt_join_handle *hb = rt_spawn(left, &to_b.base, "a-to-b");
    rt_join_handle *ha = rt_spawn(right, &to_a.base, "b-to-a");
    test_pipe_write(&a.pipe, "ball\n", 5);
    cr_assert_eq(rt_join(hb), RT_TASK_COMPLETED);
    cr_assert_eq(rt_join(ha), RT_TASK_COMPLETED);
    cr_assert_eq(to_b.read.result, RT_IO_OK);
    cr_assert_eq(to_a.read.result, RT_IO_OK);
    char line[16];
    cr_assert_eq(test_read_line(b.lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "ball", "the last bounce is waiting in pipe b");

    rt_read_line_future read;
    rt_join_handle *reader = spawn_reader(right, &a, &read);
    rt_executor_wait_idle(left);
    rt_executor_wait_idle(right);
    rt_executor_shutdown(left);
    test_pipe_write(&a.pipe, "after\n", 6);
    assert_read(reader, &read, "after");
    rt_executor_shutdown(right);
    line_pipe_close(&a);
    line_pipe_close(&b);
}
