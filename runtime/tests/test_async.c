/* test_async.c - the protothread macros, polled by hand with a counting waker. */
#include <string.h>

#include "kt_test.h"
#include "kt_waker.h"

/* A hand-controlled poll expression: READY once *ready is set. */
static rt_poll gate_poll(const bool *ready) {
    return *ready ? RT_READY : RT_PENDING;
}

typedef struct steps {
    rt_future base;
    rt_async co;
    bool gate;
    int before, after; /* how often the code around the await ran */
    rt_yield_future yield;
    int yielded_past, ended;
} steps;

static rt_poll steps_poll(rt_future *self, rt_context *cx) {
    steps *s = (steps *)self;
    RT_ASYNC_BEGIN(&s->co);
    s->before++;
    RT_AWAIT_POLL(&s->co, cx, gate_poll(&s->gate));
    s->after++;
    rt_yield_future_init(&s->yield);
    RT_AWAIT(&s->co, cx, &s->yield.base);
    s->yielded_past++;
    RT_YIELD(&s->co, cx);
    s->ended++;
    RT_ASYNC_END(&s->co);
}

KT_TEST(runtime_async, await_resumes_where_it_stopped, .timeout = 5,
        .description = "RT_AWAIT_POLL, RT_AWAIT and RT_YIELD resume after the await, not before") {
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    steps s = {.base = {.poll = steps_poll, .name = "steps"}};

    rt_context cx = rt_context_from_waker(&waker);
    cr_assert_eq(rt_future_poll(&s.base, &cx), RT_PENDING);
    cr_assert_eq(s.before, 1);
    cr_assert_str_eq(cx.pending_in, "gate_poll(&s->gate)", "the awaited expression is named");

    cx = rt_context_from_waker(&waker);
    cr_assert_eq(rt_future_poll(&s.base, &cx), RT_PENDING, "gate still closed");
    cr_assert_eq(s.before, 1, "code before the await does not run again");
    cr_assert_eq(s.after, 0);

    s.gate = true;
    cx = rt_context_from_waker(&waker);
    cr_assert_eq(rt_future_poll(&s.base, &cx), RT_PENDING, "now pending in the yield future");
    cr_assert_eq(s.after, 1);
    cr_assert_str_eq(cx.pending_in, "yield");
    cr_assert_eq(kt_waker_wakes(&counts), 1, "the yield future woke its task");

    cx = rt_context_from_waker(&waker);
    cr_assert_eq(rt_future_poll(&s.base, &cx), RT_PENDING, "RT_YIELD answers PENDING once");
    cr_assert_eq(s.yielded_past, 1);
    cr_assert_eq(kt_waker_wakes(&counts), 2, "RT_YIELD woke its task");

    cx = rt_context_from_waker(&waker);
    cr_assert_eq(rt_future_poll(&s.base, &cx), RT_READY);
    cr_assert_eq(s.ended, 1);
    cr_assert_eq(s.co.resume_line, -1, "finished");
    cr_assert_eq(s.before + s.after + s.yielded_past + s.ended, 4, "each step ran once");
    cr_assert_eq(kt_waker_live(&counts), 0, "no waker kept: all wakes were by reference");
}

typedef struct early {
    rt_future base;
    rt_async co;
    int value, reached_end;
} early;

static rt_poll early_poll(rt_future *self, rt_context *cx) {
    early *e = (early *)self;
    RT_ASYNC_BEGIN(&e->co);
    RT_YIELD(&e->co, cx);
    if (e->value > 0)
        RT_ASYNC_RETURN(&e->co);
    e->reached_end = 1;
    RT_ASYNC_END(&e->co);
}

KT_TEST(runtime_async, async_return_finishes_early, .timeout = 5,
        .description = "RT_ASYNC_RETURN makes the future READY at once, skipping the rest") {
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    early e = {.base = {.poll = early_poll, .name = "early"}, .value = 1};
    rt_context cx = rt_context_from_waker(&waker);
    cr_assert_eq(rt_future_poll(&e.base, &cx), RT_PENDING);
    cr_assert_eq(rt_future_poll(&e.base, &cx), RT_READY);
    cr_assert_eq(e.reached_end, 0);
    cr_assert_eq(e.co.resume_line, -1);

    early f = {.base = {.poll = early_poll, .name = "early"}, .value = 0};
    cr_assert_eq(rt_future_poll(&f.base, &cx), RT_PENDING);
    cr_assert_eq(rt_future_poll(&f.base, &cx), RT_READY);
    cr_assert_eq(f.reached_end, 1, "falling off the end is READY too");
}

KT_TEST(runtime_async, innermost_pending_is_kept, .timeout = 5,
        .description = "the context names the innermost future that was PENDING") {
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    rt_context cx = rt_context_from_waker(&waker);
    rt_context_note_pending(&cx, "mpsc_recv");
    rt_context_note_pending(&cx, "consumer");
    cr_assert_str_eq(cx.pending_in, "mpsc_recv");
}

static rt_poll runs_in_block_on(rt_future *self, rt_context *cx) {
    early *e = (early *)self;
    RT_ASYNC_BEGIN(&e->co);
    for (e->value = 0; e->value < 100; e->value++)
        RT_YIELD(&e->co, cx);
    RT_ASYNC_END(&e->co);
}

KT_TEST(runtime_async, async_under_block_on, .timeout = 5,
        .description = "an async function that yields 100 times runs to the end under block_on") {
    early e = {.base = {.poll = runs_in_block_on, .name = "yielder"}};
    rt_block_on(&e.base);
    cr_assert_eq(e.value, 100);
}
