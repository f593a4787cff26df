/* test_executor.c - the worker pool: many tasks, wakes from anywhere, none lost. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "kt_test.h"
#include "rt_test_support.h"

/* A task that yields `yields` times, then counts itself done. */
typedef struct counter_task {
    rt_future base;
    rt_async co;
    int yields, i;
    atomic_int *done;
} counter_task;

static rt_poll counter_poll(rt_future *self, rt_context *cx) {
    counter_task *t = (counter_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->yields; t->i++)
        RT_YIELD(&t->co, cx);
    atomic_fetch_add(t->done, 1);
    RT_ASYNC_END(&t->co);
}

enum { MANY = 10000 };

KT_TEST(runtime_executor, many_tasks_on_two_workers, .timeout = 15,
        .description = "10,000 tasks, some yielding, all run to the end on 2 workers") {
    static counter_task tasks[MANY];
    static rt_join_handle *handles[MANY];
    atomic_int done = 0;
    rt_executor *ex = rt_executor_new(2);
    for (int i = 0; i < MANY; i++) {
        tasks[i] = (counter_task){
            .base = {.poll = counter_poll, .name = "counter"}, .yields = i % 3, .done = &done};
        handles[i] = rt_spawn(ex, &tasks[i].base, "counter");
    }
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
    cr_assert_eq(atomic_load(&done), MANY);
    rt_executor_shutdown(ex);
}

KT_TEST(runtime_executor, wake_from_plain_thread, .timeout = 5,
        .description = "a task waiting on a flag runs again when a plain thread raises it") {
    flag f;
    flag_init(&f);
    flag_future wait = flag_future_make(&f);
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &wait.base, "waiter");
    flag_raise(&f);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    flag_destroy(&f);
}

/* During its first poll, has another thread wake it, and waits for that. */
typedef struct woken_meanwhile {
    rt_future base;
    atomic_int polls;
} woken_meanwhile;

static void *wake_now(void *arg) {
    rt_waker *waker = arg;
    rt_waker_wake(waker);
    return NULL;
}

static rt_poll woken_meanwhile_poll(rt_future *self, rt_context *cx) {
    woken_meanwhile *f = (woken_meanwhile *)self;
    if (atomic_fetch_add(&f->polls, 1) >= 1)
        return RT_READY;
    rt_waker clone = rt_waker_clone(cx->waker);
    pthread_t thread;
    pthread_create(&thread, NULL, wake_now, &clone);
    pthread_join(thread, NULL); /* woken and waker gone, and still in the poll */
    return RT_PENDING;
}

KT_TEST(runtime_executor, wake_during_poll_is_kept, .timeout = 5,
        .description = "a task woken while it is being polled is polled again (NOTIFIED)") {
    rt_set_diagnosis_handler(NULL);
    for (unsigned workers = 1; workers <= 2; workers++) {
        woken_meanwhile f = {.base = {.poll = woken_meanwhile_poll, .name = "meanwhile"}};
        rt_executor *ex = rt_executor_new(workers);
        cr_assert_eq(rt_join(rt_spawn(ex, &f.base, "meanwhile")), RT_TASK_COMPLETED);
        cr_assert_geq(atomic_load(&f.polls), 2);
        rt_executor_shutdown(ex);
    }
}

/* A task that yields a few times, says it got there, then waits for a flag. */
typedef struct yield_then_wait {
    rt_future base;
    rt_async co;
    int yields, i;
    flag *go;
    atomic_int *waiting;
} yield_then_wait;

static rt_poll yield_then_wait_poll(rt_future *self, rt_context *cx) {
    yield_then_wait *t = (yield_then_wait *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->yields; t->i++)
        RT_YIELD(&t->co, cx);
    atomic_fetch_add(t->waiting, 1);
    RT_AWAIT_POLL(&t->co, cx, flag_poll(t->go, cx));
    RT_ASYNC_END(&t->co);
}

KT_TEST(runtime_executor, wait_idle_returns_once_all_wait, .timeout = 10,
        .description = "rt_executor_wait_idle returns only when every task is waiting: 50 "
                       "yielding tasks on a shaken executor have all reached their wait") {
    enum { TASKS = 50 };
    static yield_then_wait tasks[TASKS];
    rt_join_handle *handles[TASKS];
    static flag go[TASKS]; /* one each: a flag keeps one waiter */
    atomic_int waiting = 0;
    rt_executor *ex = rt_executor_new_config(
        &(rt_executor_config){.workers = 2, .shake = true, .shake_seed = kt_shake_seed(404)});
    for (int i = 0; i < TASKS; i++) {
        flag_init(&go[i]);
        tasks[i] = (yield_then_wait){.base = {.poll = yield_then_wait_poll, .name = "patient"},
                                     .yields = 20 + i % 7,
                                     .go = &go[i],
                                     .waiting = &waiting};
        handles[i] = rt_spawn(ex, &tasks[i].base, "patient");
    }
    rt_executor_wait_idle(ex);
    cr_assert_eq(atomic_load(&waiting), TASKS,
                 "wait_idle returned while %d of %d tasks had not reached their wait",
                 TASKS - atomic_load(&waiting), TASKS);
    for (int i = 0; i < TASKS; i++)
        flag_raise(&go[i]);
    for (int i = 0; i < TASKS; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    for (int i = 0; i < TASKS; i++)
        flag_destroy(&go[i]);
}

/* ---- two tasks handing a token back and forth ---- */

typedef struct player {
    rt_future base;
    rt_async co;
    flag *mine, *theirs; /* one flag per round and side */
    bool serves;
    int rounds, round;
} player;

enum { ROUNDS = 500 };

static rt_poll player_poll(rt_future *self, rt_context *cx) {
    player *p = (player *)self;
    RT_ASYNC_BEGIN(&p->co);
    for (p->round = 0; p->round < p->rounds; p->round++) {
        if (p->serves)
            flag_raise(&p->theirs[p->round]);
        RT_AWAIT_POLL(&p->co, cx, flag_poll(&p->mine[p->round], cx));
        if (!p->serves)
            flag_raise(&p->theirs[p->round]);
    }
    RT_ASYNC_END(&p->co);
}

static void ping_pong(unsigned workers) {
    static flag ping[ROUNDS], pong[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        flag_init(&ping[i]);
        flag_init(&pong[i]);
    }
    player a = {.base = {.poll = player_poll, .name = "pinger"},
                .mine = pong,
                .theirs = ping,
                .serves = true,
                .rounds = ROUNDS};
    player b = {.base = {.poll = player_poll, .name = "ponger"},
                .mine = ping,
                .theirs = pong,
                .serves = false,
                .rounds = ROUNDS};
    rt_executor_config config = {.workers = workers, .shake = true, .shake_seed = kt_shake_seed(7)};
    rt_executor *ex = rt_executor_new_config(&config);
    rt_join_handle *hb = rt_spawn(ex, &b.base, "ponger");
    rt_join_handle *ha = rt_spawn(ex, &a.base, "pinger");
    cr_assert_eq(rt_join(ha), RT_TASK_COMPLETED);
    cr_assert_eq(rt_join(hb), RT_TASK_COMPLETED);
    cr_assert_eq(a.round, ROUNDS);
    cr_assert_eq(b.round, ROUNDS);
    rt_executor_shutdown(ex);
    for (int i = 0; i < ROUNDS; i++) {
        flag_destroy(&ping[i]);
        flag_destroy(&pong[i]);
    }
}

KT_TEST(runtime_executor, ping_pong_one_worker, .timeout = 8,
        .description = "two tasks waking each other 500 times on one worker never stall") {
    ping_pong(1);
}

KT_TEST(runtime_executor, ping_pong_two_workers, .timeout = 8,
        .description = "two tasks waking each other 500 times on two workers never stall") {
    ping_pong(2);
}

/* ---- one task waking sixteen ---- */

enum { FANOUT = 16, FAN_ROUNDS = 50 };

typedef struct fan_receiver {
    rt_future base;
    rt_async co;
    flag *flags; /* one per round */
    int round;
    atomic_int *received;
} fan_receiver;

static rt_poll fan_receiver_poll(rt_future *self, rt_context *cx) {
    fan_receiver *r = (fan_receiver *)self;
    RT_ASYNC_BEGIN(&r->co);
    for (r->round = 0; r->round < FAN_ROUNDS; r->round++) {
        RT_AWAIT_POLL(&r->co, cx, flag_poll(&r->flags[r->round], cx));
        atomic_fetch_add(r->received, 1);
    }
    RT_ASYNC_END(&r->co);
}

typedef struct fan_sender {
    rt_future base;
    rt_async co;
    flag (*flags)[FAN_ROUNDS];
    int round;
} fan_sender;

static rt_poll fan_sender_poll(rt_future *self, rt_context *cx) {
    fan_sender *s = (fan_sender *)self;
    RT_ASYNC_BEGIN(&s->co);
    for (s->round = 0; s->round < FAN_ROUNDS; s->round++) {
        for (int i = 0; i < FANOUT; i++)
            flag_raise(&s->flags[i][s->round]);
        RT_YIELD(&s->co, cx);
    }
    RT_ASYNC_END(&s->co);
}

KT_TEST(runtime_executor, one_task_wakes_sixteen, .timeout = 8,
        .description = "one task waking 16 waiting tasks, 50 times, reaches every one") {
    static flag flags[FANOUT][FAN_ROUNDS];
    static fan_receiver receivers[FANOUT];
    rt_join_handle *handles[FANOUT];
    atomic_int received = 0;
    rt_executor_config config = {.workers = 2, .shake = true, .shake_seed = kt_shake_seed(11)};
    rt_executor *ex = rt_executor_new_config(&config);
    for (int i = 0; i < FANOUT; i++) {
        for (int r = 0; r < FAN_ROUNDS; r++)
            flag_init(&flags[i][r]);
        receivers[i] = (fan_receiver){.base = {.poll = fan_receiver_poll, .name = "receiver"},
                                      .flags = flags[i],
                                      .received = &received};
        handles[i] = rt_spawn(ex, &receivers[i].base, "receiver");
    }
    fan_sender sender = {.base = {.poll = fan_sender_poll, .name = "sender"}, .flags = flags};
    cr_assert_eq(rt_join(rt_spawn(ex, &sender.base, "sender")), RT_TASK_COMPLETED);
    for (int i = 0; i < FANOUT; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
    cr_assert_eq(atomic_load(&received), FANOUT * FAN_ROUNDS);
    rt_executor_shutdown(ex);
    for (int i = 0; i < FANOUT; i++)
        for (int r = 0; r < FAN_ROUNDS; r++)
            flag_destroy(&flags[i][r]);
}

/* ---- spawning from a task, and the current task's name ---- */

typedef struct named_child {
    rt_future base;
    char seen[32];
} named_child;

static rt_poll named_child_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    named_child *c = (named_child *)self;
    const char *name = rt_current_task_name();
    snprintf(c->seen, sizeof c->seen, "%s", name != NULL ? name : "(none)");
    return RT_READY;
}

typedef struct parent_task {
    rt_future base;
    rt_async co;
    rt_executor *ex;
    named_child child;
    rt_join_handle *handle;
    rt_task_outcome outcome;
} parent_task;

static rt_poll parent_poll(rt_future *self, rt_context *cx) {
    parent_task *p = (parent_task *)self;
    RT_ASYNC_BEGIN(&p->co);
    p->child = (named_child){.base = {.poll = named_child_poll, .name = "child"}};
    p->handle = rt_spawn(p->ex, &p->child.base, "child-7");
    RT_AWAIT_POLL(&p->co, cx, rt_join_handle_poll(p->handle, cx, &p->outcome));
    rt_join_handle_drop(p->handle);
    RT_ASYNC_END(&p->co);
}

KT_TEST(runtime_executor, spawn_from_a_task, .timeout = 5,
        .description = "a task can spawn another and await it; tasks know their own name") {
    rt_executor *ex = rt_executor_new(2);
    parent_task p = {.base = {.poll = parent_poll, .name = "parent"}, .ex = ex};
    cr_assert_eq(rt_join(rt_spawn(ex, &p.base, "parent")), RT_TASK_COMPLETED);
    cr_assert_eq(p.outcome, RT_TASK_COMPLETED);
    cr_assert_str_eq(p.child.seen, "child-7");
    cr_assert_null(rt_current_task_name(), "no task name outside a task");
    rt_executor_shutdown(ex);
}

/* ---- a task that blocks a worker ---- */

typedef struct blocker {
    rt_future base;
    rt_async co;
    flag *ready, *go, *back;
} blocker;

static rt_poll blocker_poll(rt_future *self, rt_context *cx) {
    blocker *b = (blocker *)self;
    RT_ASYNC_BEGIN(&b->co);
    RT_AWAIT_POLL(&b->co, cx, flag_poll(b->ready, cx));
    flag_raise(b->go); /* wakes the helper from this worker */
    flag_future back = flag_future_make(b->back);
    rt_block_on(&back.base); /* blocks this worker until the helper answers */
    RT_ASYNC_END(&b->co);
}

typedef struct helper {
    rt_future base;
    rt_async co;
    flag *ready, *go, *back;
} helper;

static rt_poll helper_poll(rt_future *self, rt_context *cx) {
    helper *h = (helper *)self;
    RT_ASYNC_BEGIN(&h->co);
    flag_raise(h->ready);
    RT_AWAIT_POLL(&h->co, cx, flag_poll(h->go, cx));
    flag_raise(h->back);
    RT_ASYNC_END(&h->co);
}

KT_TEST(runtime_executor, blocking_poll_does_not_strand_tasks, .timeout = 8,
        .description = "a task woken just before a worker blocks still runs on the other worker") {
    flag ready, go, back;
    flag_init(&ready);
    flag_init(&go);
    flag_init(&back);
    rt_executor *ex = rt_executor_new(2);
    helper h = {
        .base = {.poll = helper_poll, .name = "helper"}, .ready = &ready, .go = &go, .back = &back};
    blocker b = {.base = {.poll = blocker_poll, .name = "blocker"},
                 .ready = &ready,
                 .go = &go,
                 .back = &back};
    rt_join_handle *hh = rt_spawn(ex, &h.base, "helper");
    rt_join_handle *hb = rt_spawn(ex, &b.base, "blocker");
    cr_assert_eq(rt_join(hb), RT_TASK_COMPLETED);
    cr_assert_eq(rt_join(hh), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    flag_destroy(&ready);
    flag_destroy(&go);
    flag_destroy(&back);
}
