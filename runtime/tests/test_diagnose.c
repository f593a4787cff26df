/* test_diagnose.c - lost wakers are reported at once, by task name; correct code never is. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_test.h"
#include "rt_test_support.h"

/* The handler keeps the first report and counts them all. */
static atomic_int reports;
static kt_latch reported;
static rt_diagnosis_kind kind;
static char task_name[64], pending_in[128], message[1024];

static void capture(const rt_diagnosis *d) {
    if (atomic_fetch_add(&reports, 1) == 0) {
        kind = d->kind;
        snprintf(task_name, sizeof task_name, "%s", d->task_name);
        snprintf(pending_in, sizeof pending_in, "%s", d->pending_in ? d->pending_in : "");
        snprintf(message, sizeof message, "%s", d->message);
    }
    kt_latch_count(&reported);
}

static void capture_reports(void) {
    kt_latch_init(&reported);
    rt_set_diagnosis_handler(capture);
}

/* ---- a task that forgets to store its waker ---- */

static rt_poll forgetful_recv(int *state, rt_context *cx) {
    (void)cx;
    (void)state;
    return RT_PENDING; /* the bug: PENDING, and no clone of cx->waker kept anywhere */
}

typedef struct forgetful {
    rt_future base;
    rt_async co;
    int state;
} forgetful;

static rt_poll forgetful_poll(rt_future *self, rt_context *cx) {
    forgetful *f = (forgetful *)self;
    RT_ASYNC_BEGIN(&f->co);
    RT_AWAIT_POLL(&f->co, cx, forgetful_recv(&f->state, cx));
    RT_ASYNC_END(&f->co);
}

KT_TEST(runtime_diagnose, task_pending_without_waker, .timeout = 5,
        .description = "a task answering PENDING without storing its waker is reported by name") {
    capture_reports();
    forgetful f = {.base = {.poll = forgetful_poll, .name = "consumer_loop"}};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &f.base, "consumer");
    kt_latch_wait(&reported, 1);
    cr_assert_eq(kind, RT_DIAG_PENDING_WITHOUT_WAKER);
    cr_assert_str_eq(task_name, "consumer");
    cr_assert(strstr(pending_in, "forgetful_recv") != NULL, "innermost pending: %s", pending_in);
    cr_assert(strstr(message, "task 'consumer'") != NULL, "%s", message);
    cr_assert(strstr(message, "without storing") != NULL, "%s", message);
    rt_executor_shutdown(ex);
    cr_assert_eq(rt_join(handle), RT_TASK_CANCELLED);
    cr_assert_eq(atomic_load(&reports), 1, "reported once");
}

/* ---- a task whose only stored waker is dropped by someone else ---- */

typedef struct stored_once {
    rt_future base;
    rt_waker slot;
    bool stored;
    kt_latch *ready;
} stored_once;

static rt_poll stored_once_poll(rt_future *self, rt_context *cx) {
    stored_once *f = (stored_once *)self;
    if (!f->stored) { /* later (spurious) polls find it stored */
        f->slot = rt_waker_clone(cx->waker);
        f->stored = true;
        kt_latch_count(f->ready);
    }
    return RT_PENDING;
}

static void replace_without_waking(rt_waker *slot) {
    rt_waker_drop(slot); /* the bug: the waiting side is never woken */
}

KT_TEST(runtime_diagnose, task_last_waker_dropped, .timeout = 5,
        .description = "dropping a pending task's only waker is reported, naming where") {
    capture_reports();
    kt_latch ready;
    kt_latch_init(&ready);
    stored_once f = {.base = {.poll = stored_once_poll, .name = "recv"}, .ready = &ready};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &f.base, "receiver");
    kt_latch_wait(&ready, 1);
    replace_without_waking(&f.slot);
    kt_latch_wait(&reported, 1);
    cr_assert_eq(kind, RT_DIAG_LAST_WAKER_DROPPED);
    cr_assert_str_eq(task_name, "receiver");
    cr_assert(strstr(message, "replace_without_waking()") != NULL, "names the drop: %s", message);
    cr_assert(strstr(message, "stored_once_poll()") != NULL, "names the clone: %s", message);
    rt_executor_shutdown(ex);
    cr_assert_eq(rt_join(handle), RT_TASK_CANCELLED);
    cr_assert_eq(atomic_load(&reports), 1);
}

/* ---- the same two bugs under block_on ---- */

/* PENDING without a waker until the diagnosis was made, then READY. */
typedef struct forgetful_once {
    rt_future base;
    int polls;
} forgetful_once;

static rt_poll forgetful_once_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    forgetful_once *f = (forgetful_once *)self;
    f->polls++;
    return atomic_load(&reports) > 0 ? RT_READY : RT_PENDING;
}

KT_TEST(runtime_diagnose, block_on_pending_without_waker, .timeout = 5,
        .description = "block_on on a future that keeps no waker is reported, not left hanging") {
    capture_reports();
    forgetful_once f = {.base = {.poll = forgetful_once_poll, .name = "lonely_future"}};
    rt_block_on(&f.base); /* returns because the handler returned and the future is then READY */
    cr_assert_eq(atomic_load(&reports), 1);
    cr_assert_eq(kind, RT_DIAG_PENDING_WITHOUT_WAKER);
    cr_assert_str_eq(task_name, "lonely_future");
    cr_assert(strstr(message, "block_on 'lonely_future'") != NULL, "%s", message);
}

/* Stores a waker, has a thread drop it; READY once the diagnosis was made. */
typedef struct dropped_elsewhere {
    rt_future base;
    rt_waker slot;
    bool stored;
    pthread_t thread;
} dropped_elsewhere;

static void *drop_it(void *arg) {
    replace_without_waking(arg);
    return NULL;
}

static rt_poll dropped_elsewhere_poll(rt_future *self, rt_context *cx) {
    dropped_elsewhere *f = (dropped_elsewhere *)self;
    if (atomic_load(&reports) > 0)
        return RT_READY;
    if (!f->stored) {
        f->slot = rt_waker_clone(cx->waker);
        f->stored = true;
        pthread_create(&f->thread, NULL, drop_it, &f->slot);
    }
    return RT_PENDING;
}

KT_TEST(runtime_diagnose, block_on_last_waker_dropped, .timeout = 5,
        .description = "block_on whose only waker is dropped by another thread is reported") {
    capture_reports();
    dropped_elsewhere f = {.base = {.poll = dropped_elsewhere_poll, .name = "awaiting_reply"}};
    rt_block_on(&f.base);
    pthread_join(f.thread, NULL);
    cr_assert_eq(atomic_load(&reports), 1);
    cr_assert_eq(kind, RT_DIAG_LAST_WAKER_DROPPED);
    cr_assert_str_eq(task_name, "awaiting_reply");
    cr_assert(strstr(message, "replace_without_waking()") != NULL, "%s", message);
}

/* ---- and silence for correct code ---- */

typedef struct relay {
    rt_future base;
    rt_async co;
    flag *in, *out;
} relay;

static rt_poll relay_poll(rt_future *self, rt_context *cx) {
    relay *r = (relay *)self;
    RT_ASYNC_BEGIN(&r->co);
    RT_AWAIT_POLL(&r->co, cx, flag_poll(r->in, cx));
    RT_YIELD(&r->co, cx);
    flag_raise(r->out);
    RT_ASYNC_END(&r->co);
}

enum { RELAYS = 64 };

KT_TEST(runtime_diagnose, correct_futures_are_not_reported, .timeout = 8,
        .description = "a chain of 64 tasks that store and wake their wakers is never reported") {
    capture_reports();
    static flag flags[RELAYS + 1];
    static relay relays[RELAYS];
    rt_join_handle *handles[RELAYS];
    for (int i = 0; i <= RELAYS; i++)
        flag_init(&flags[i]);
    rt_executor *ex = rt_executor_new(2);
    for (int i = 0; i < RELAYS; i++) {
        relays[i] = (relay){
            .base = {.poll = relay_poll, .name = "relay"}, .in = &flags[i], .out = &flags[i + 1]};
        handles[i] = rt_spawn(ex, &relays[i].base, "relay");
    }
    flag_raise(&flags[0]);
    flag_future last = flag_future_make(&flags[RELAYS]);
    rt_block_on(&last.base);
    for (int i = 0; i < RELAYS; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    for (int i = 0; i <= RELAYS; i++)
        flag_destroy(&flags[i]);
    cr_assert_eq(atomic_load(&reports), 0, "no diagnosis for correct code");
}

/* ---- the default handler ---- */

KT_TEST(runtime_diagnose, default_handler_prints_and_aborts, .timeout = 8,
        .description = "without a handler, a diagnosis is printed on stderr and aborts") {
    int out[2];
    cr_assert_eq(pipe(out), 0);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) { /* no threads are started here: safe after fork */
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
        dup2(out[1], 2);
        rt_set_diagnosis_handler(NULL);
        forgetful_once f = {.base = {.poll = forgetful_once_poll, .name = "orphan"}};
        rt_block_on(&f.base);
        _exit(0); /* not reached when the diagnosis aborts */
    }
    close(out[1]);
    char text[2048] = {0};
    size_t len = 0;
    ssize_t n;
    while (len < sizeof text - 1 && (n = read(out[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)n;
    close(out[0]);
    int status;
    waitpid(child, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the child aborted");
    cr_assert(strstr(text, "lost waker: block_on 'orphan'") != NULL, "report: %s", text);
}
