/* test_io_lines.c - the line reader over a pipe, and stdin as a stream of lines. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_test_support.h"
#include "kt_test.h"
#include "kt_waker.h"
#include "rt_test_support.h"

KT_TEST(runtime_lines, lines_and_endings, .timeout = 5,
        .description = "'\\n' and '\\r\\n' end lines, without the ending; a last line without "
                       "'\\n' is delivered before EOF") {
    test_pipe p;
    test_pipe_open(&p);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p.io), 64, &lines), RT_IO_OK);
    const char text[] = "one\ntwo\r\n\nfour\r\r\nlast";
    test_pipe_write(&p, text, sizeof text - 1);
    test_pipe_close_writer(&p);
    const char *expected[] = {"one", "two", "", "four\r", "last"};
    char line[128];
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK, "line %d", i);
        cr_assert_str_eq(line, expected[i]);
    }
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_EOF);
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_EOF, "EOF stays EOF");
    rt_line_reader_drop(lines);
    test_pipe_close(&p);
}

KT_TEST(runtime_lines, bytes_pass_through, .timeout = 5,
        .description = "NUL and invalid UTF-8 reach the caller unchanged, with their length") {
    test_pipe p;
    test_pipe_open(&p);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p.io), 64, &lines), RT_IO_OK);
    const char text[] = "a\0b\xff\xfe\xc3(\n";
    test_pipe_write(&p, text, sizeof text - 1);
    char line[128];
    size_t len = 0;
    cr_assert_eq(test_read_line(lines, line, sizeof line, &len), RT_IO_OK);
    cr_assert_eq(len, 7);
    cr_assert(memcmp(line, "a\0b\xff\xfe\xc3(", 7) == 0);
    rt_line_reader_drop(lines);
    test_pipe_close(&p);
}

KT_TEST(runtime_lines, line_too_long, .timeout = 5,
        .description = "a line over the maximum is RT_IO_LINE_TOO_LONG, skipped to its '\\n'; "
                       "the next line is read; exactly the maximum (even with \\r\\n) is fine") {
    test_pipe p;
    test_pipe_open(&p);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p.io), 8, &lines), RT_IO_OK);
    char line[128];
    /* Longer than the maximum, whole in one read. */
    test_pipe_write(&p, "123456789\nok\n12345678\r\n", 23);
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_LINE_TOO_LONG);
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "ok");
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "12345678");
    /* A long line still coming: reported before its end arrives, then skipped. */
    test_pipe_write(&p, "abcdefghijklmnop", 16);
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_LINE_TOO_LONG);
    char junk[20000];
    memset(junk, 'x', sizeof junk); /* far more than the buffer: it must not be kept */
    test_pipe_write(&p, junk, sizeof junk);
    test_pipe_write(&p, "tail\nnext\n", 10);
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "next");
    rt_line_reader_drop(lines);
    test_pipe_close(&p);
}

KT_TEST(runtime_lines, many_lines_in_pieces, .timeout = 10,
        .description = "10,000 lines written in odd-sized pieces come out whole and in order") {
    test_pipe p;
    test_pipe_open(&p);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p.io), 32, &lines), RT_IO_OK);
    enum { LINES = 10000 };
    static char text[LINES * 16];
    size_t len = 0;
    for (int i = 0; i < LINES; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "line %d\n", i);
    char line[64];
    size_t sent = 0, piece = 1;
    for (int i = 0; i < LINES; i++) {
        /* Keep the pipe ahead of the reader, in pieces of 1, 2, ... 97 bytes. */
        while (sent < len && sent < (size_t)(i + 2) * 12) {
            size_t n = piece < len - sent ? piece : len - sent;
            test_pipe_write(&p, text + sent, n);
            sent += n;
            piece = piece % 97 + 1;
        }
        if (sent == len)
            test_pipe_close_writer(&p);
        char want[32];
        snprintf(want, sizeof want, "line %d", i);
        cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK, "line %d", i);
        cr_assert_str_eq(line, want);
    }
    test_pipe_close_writer(&p);
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_EOF);
    rt_line_reader_drop(lines);
    test_pipe_close(&p);
}

/* ---- block_on woken by the reactor ---- */

typedef struct watched_line {
    rt_future base;
    rt_read_line_future inner;
    kt_latch *pending; /* counted at each PENDING answer */
} watched_line;

static rt_poll watched_line_poll(rt_future *self, rt_context *cx) {
    watched_line *w = (watched_line *)self;
    rt_poll result = rt_future_poll(&w->inner.base, cx);
    if (result == RT_PENDING)
        kt_latch_count(w->pending);
    return result;
}

typedef struct late_writer {
    test_pipe *pipe;
    kt_latch *pending;
} late_writer;

static void *late_writer_main(void *arg) {
    late_writer *w = arg;
    kt_latch_wait(w->pending, 1); /* the block_on thread is waiting on an empty pipe */
    test_pipe_write(w->pipe, "wake up\n", 8);
    return NULL;
}

KT_TEST(runtime_lines, block_on_woken_by_io, .timeout = 5,
        .description = "a thread in rt_block_on on an empty pipe is woken when a line arrives") {
    test_pipe p;
    test_pipe_open(&p);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_reactor_fd_reader(p.io), 64, &lines), RT_IO_OK);
    kt_latch pending;
    kt_latch_init(&pending);
    watched_line w = {.base = {.poll = watched_line_poll, .name = "watched_line"},
                      .pending = &pending};
    rt_read_line_future_init(&w.inner, lines);
    late_writer writer = {&p, &pending};
    pthread_t thread;
    pthread_create(&thread, NULL, late_writer_main, &writer);
    rt_block_on(&w.base);
    pthread_join(thread, NULL);
    cr_assert_eq(w.inner.result, RT_IO_OK);
    cr_assert(w.inner.len == 7 && memcmp(w.inner.line, "wake up", 7) == 0);
    rt_line_reader_drop(lines);
    test_pipe_close(&p);
}

/* ---- stdin ---- */

enum { STDIN_LINES = 5000 }; /* about 60 KB: several times the helper's ring and a pipe's buffer */

static void *feed_main(void *arg) {
    int fd = *(int *)arg;
    char line[32];
    for (int i = 0; i < STDIN_LINES; i++) {
        int n = snprintf(line, sizeof line, "typed %d\n", i);
        const char *at = line;
        while (n > 0) {
            ssize_t put = write(fd, at, (size_t)n);
            if (put <= 0)
                return NULL;
            at += put;
            n -= (int)put;
        }
    }
    if (write(fd, "no newline", 10) != 10)
        return NULL;
    close(fd);
    return NULL;
}

KT_TEST(runtime_stdin, pipe_as_stdin, .timeout = 10,
        .description = "a pipe read as stdin gives its lines in order, then EOF; more than the "
                       "helper's buffer holds passes through") {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    rt_stdin *in;
    cr_assert_eq(rt_stdin_open_fd(fds[0], &in), RT_IO_OK);
    rt_line_reader *lines;
    cr_assert_eq(rt_line_reader_new(rt_stdin_reader(in), 100, &lines), RT_IO_OK);
    pthread_t thread;
    pthread_create(&thread, NULL, feed_main, &fds[1]);
    char line[128], want[32];
    for (int i = 0; i < STDIN_LINES; i++) {
        snprintf(want, sizeof want, "typed %d", i);
        cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK, "line %d", i);
        cr_assert_str_eq(line, want);
    }
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_OK);
    cr_assert_str_eq(line, "no newline");
    cr_assert_eq(test_read_line(lines, line, sizeof line, NULL), RT_IO_EOF);
    pthread_join(thread, NULL);
    rt_line_reader_drop(lines);
    rt_stdin_drop(in);
}

KT_TEST(runtime_stdin, drop_while_helper_blocked, .timeout = 5,
        .description = "dropping stdin while its helper thread is blocked in read frees "
                       "everything once that read returns (no leak under ASan)") {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    rt_stdin *in;
    cr_assert_eq(rt_stdin_open_fd(fds[0], &in), RT_IO_OK);
    /* A task-less poll by hand: nothing there yet, so a waker is stored. */
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    rt_context cx = rt_context_from_waker(&waker);
    char buf[16];
    size_t n;
    rt_io_result result;
    cr_assert_eq(rt_stdin_poll_read(in, &cx, buf, sizeof buf, &n, &result), RT_PENDING);
    cr_assert_eq(kt_waker_live(&counts), 1, "a clone is stored while nothing was typed");
    rt_stdin_drop(in);
    cr_assert_eq(kt_waker_live(&counts), 0, "the drop lets go of the stored waker");
    /* The helper is still in read(2): end it; it then frees the stream and closes fds[0]. */
    close(fds[1]);
}
