/* test_io_diagnose.c - diagnoses that know about I/O, and shutdown with tasks waiting on I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io_test_support.h"
#include "kt_test.h"
#include "rt_test_support.h"

static kt_latch fired;
static char report[8192];

static void capture_report(const char *text) {
    snprintf(report, sizeof report, "%s", text);
    kt_latch_count(&fired);
}

static int plain_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

static rt_tcp_stream *accept_blocking(rt_tcp_listener *listener) {
    rt_tcp_accept_future accept;
    rt_tcp_accept_future_init(&accept, listener);
    rt_block_on(&accept.base);
    cr_assert_eq(accept.result, RT_IO_OK);
    return accept.stream;
}

/* A future that owns a read future on a stream, and counts its drops. */
typedef struct reading {
    rt_future base;
    rt_read_future read;
    char buf[16];
    atomic_int drops;
} reading;

static rt_poll reading_poll(rt_future *self, rt_context *cx) {
    return rt_future_poll(&((reading *)self)->read.base, cx);
}

static void reading_drop(rt_future *self) {
    rt_future_drop(&((reading *)self)->read.base); /* lets go of the waker left with the reactor */
    atomic_fetch_add(&((reading *)self)->drops, 1);
}

KT_TEST(runtime_io_diagnose, watchdog_names_io_and_timer_waits, .timeout = 8,
        .description = "the timeout report says which task waits for which descriptor (with "
                       "the peer's address) and which sleeps until when") {
    kt_latch_init(&fired);
    rt_set_watchdog_handler(capture_report);
    rt_tcp_listener *listener;
    cr_assert_eq(rt_tcp_listener_bind("127.0.0.1", 0, &listener), RT_IO_OK);
    int peer = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *stream = accept_blocking(listener);
    reading r = {.base = {.poll = reading_poll, .drop = reading_drop, .name = "reading"}};
    rt_read_future_init(&r.read, rt_tcp_stream_reader(stream), r.buf, sizeof r.buf);
    rt_sleep_future nap;
    rt_sleep_future_init(&nap, RT_SECONDS(60));
    rt_executor *ex = rt_executor_new(1);
    rt_join_handle *a = rt_spawn(ex, &r.base, "silent-reader");
    rt_join_handle *b = rt_spawn(ex, &nap.base, "napper"); /* its drop removes the timer */
    rt_executor_wait_idle(ex);
    rt_watchdog_arm(0.05, "io_test");
    kt_latch_wait(&fired, 1);
    cr_assert(strstr(report, "task 'silent-reader' in rt_read") != NULL, "%s", report);
    char expect[128];
    snprintf(expect, sizeof expect,
             "task 'silent-reader' waits for descriptor %d (peer %s) to "
             "be readable, for ",
             rt_tcp_stream_fileno(stream), rt_tcp_stream_peer(stream));
    cr_assert(strstr(report, expect) != NULL, "wanted \"%s\" in:\n%s", expect, report);
    cr_assert(strstr(report, "task 'napper' sleeps until its deadline, 5") != NULL, "%s", report);
    rt_executor_shutdown(ex);
    cr_assert_eq(rt_join(a), RT_TASK_CANCELLED);
    cr_assert_eq(rt_join(b), RT_TASK_CANCELLED);
    rt_tcp_stream_drop(stream);
    close(peer);
    rt_tcp_listener_drop(listener);
}

/* ---- a poll that finds EAGAIN and answers PENDING without asking the reactor ---- */

static kt_latch diagnosed;
static rt_diagnosis_kind diagnosis_kind;
static char diagnosis_in[64];

static void capture_diagnosis(const rt_diagnosis *d) {
    diagnosis_kind = d->kind;
    snprintf(diagnosis_in, sizeof diagnosis_in, "%s", d->pending_in ? d->pending_in : "");
    kt_latch_count(&diagnosed);
}

typedef struct forgetful {
    rt_future base;
    int fd;
} forgetful;

static rt_poll forgetful_poll(rt_future *self, rt_context *cx) {
    (void)cx;
    char buf[8];
    ssize_t n = recv(((forgetful *)self)->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return RT_PENDING; /* the bug: no rt_reactor_fd_poll_ready, so no waker stored */
    return RT_READY;
}

KT_TEST(runtime_io_diagnose, eagain_without_interest_is_a_lost_waker, .timeout = 5,
        .description = "a poll that answers PENDING after EAGAIN without registering with the "
                       "reactor is reported at once as a lost waker") {
    kt_latch_init(&diagnosed);
    rt_set_diagnosis_handler(capture_diagnosis);
    rt_tcp_listener *listener;
    cr_assert_eq(rt_tcp_listener_bind("127.0.0.1", 0, &listener), RT_IO_OK);
    int peer = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *stream = accept_blocking(listener);
    forgetful f = {.base = {.poll = forgetful_poll, .name = "forgetful_read"},
                   .fd = rt_tcp_stream_fileno(stream)};
    rt_executor *ex = rt_executor_new(1);
    rt_join_handle *h = rt_spawn(ex, &f.base, "forgetful");
    kt_latch_wait(&diagnosed, 1);
    cr_assert_eq(diagnosis_kind, RT_DIAG_PENDING_WITHOUT_WAKER);
    cr_assert_str_eq(diagnosis_in, "forgetful_read");
    rt_executor_shutdown(ex);
    rt_join(h);
    rt_tcp_stream_drop(stream);
    close(peer);
    rt_tcp_listener_drop(listener);
}

/* ---- shutdown with tasks blocked in accept, read and sleep ---- */

typedef struct accepting {
    rt_future base;
    rt_tcp_accept_future accept;
    atomic_int drops;
} accepting;

static rt_poll accepting_poll(rt_future *self, rt_context *cx) {
    return rt_future_poll(&((accepting *)self)->accept.base, cx);
}

static void accepting_drop(rt_future *self) {
    rt_future_drop(&((accepting *)self)->accept.base);
    atomic_fetch_add(&((accepting *)self)->drops, 1);
}

typedef struct napping {
    rt_future base;
    rt_sleep_future sleep;
    atomic_int drops;
} napping;

static rt_poll napping_poll(rt_future *self, rt_context *cx) {
    return rt_future_poll(&((napping *)self)->sleep.base, cx);
}

static void napping_drop(rt_future *self) {
    napping *n = (napping *)self;
    rt_future_drop(&n->sleep.base); /* lets go of the timer and its waker */
    atomic_fetch_add(&n->drops, 1);
}

KT_TEST(runtime_io_diagnose, shutdown_cancels_io_waits, .timeout = 8,
        .description = "shutdown with tasks waiting in accept, read and sleep drops each once, "
                       "leaves no waker with the reactor, and closes nothing the test owns") {
    kt_latch_init(&fired);
    rt_set_watchdog_handler(capture_report);
    rt_tcp_listener *listener;
    cr_assert_eq(rt_tcp_listener_bind("127.0.0.1", 0, &listener), RT_IO_OK);
    int peer = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *stream = accept_blocking(listener);

    accepting acc = {.base = {.poll = accepting_poll, .drop = accepting_drop, .name = "acc"}};
    rt_tcp_accept_future_init(&acc.accept, listener);
    reading rd = {.base = {.poll = reading_poll, .drop = reading_drop, .name = "rd"}};
    rt_read_future_init(&rd.read, rt_tcp_stream_reader(stream), rd.buf, sizeof rd.buf);
    napping nap = {.base = {.poll = napping_poll, .drop = napping_drop, .name = "nap"}};
    rt_sleep_future_init(&nap.sleep, RT_SECONDS(60));

    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handles[3] = {rt_spawn(ex, &acc.base, "in-accept"),
                                  rt_spawn(ex, &rd.base, "in-read"),
                                  rt_spawn(ex, &nap.base, "in-sleep")};
    rt_executor_wait_idle(ex); /* all three are pending now */
    rt_executor_shutdown(ex);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_CANCELLED);
    cr_assert_eq(atomic_load(&acc.drops), 1);
    cr_assert_eq(atomic_load(&rd.drops), 1);
    cr_assert_eq(atomic_load(&nap.drops), 1);

    /* The listener and the stream were only borrowed by the tasks: they
     * are still the test's, and still work. */
    int second = plain_connect(rt_tcp_listener_port(listener));
    rt_tcp_stream *again = accept_blocking(listener);
    cr_assert_not_null(again);
    cr_assert_eq(send(peer, "x\n", 2, 0), 2);
    char buf[4];
    rt_read_future read;
    rt_read_future_init(&read, rt_tcp_stream_reader(stream), buf, sizeof buf);
    rt_block_on(&read.base);
    cr_assert_eq(read.result, RT_IO_OK);

    /* Nothing waits any more: the report lists no I/O or timer wait. */
    rt_watchdog_arm(0.01, "after_shutdown");
    kt_latch_wait(&fired, 1);
    cr_assert(strstr(report, "waiting on") == NULL, "%s", report);

    rt_tcp_stream_drop(again);
    rt_tcp_stream_drop(stream);
    close(second);
    close(peer);
    rt_tcp_listener_drop(listener);
}
