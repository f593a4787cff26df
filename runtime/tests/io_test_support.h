/*
 * io_test_support.h - helpers shared by the runtime's I/O tests.
 *
 * A pipe whose read end is registered with the reactor is the simplest
 * readable descriptor there is: the test thread writes into it exactly the
 * bytes a peer would send, in the pieces it chooses, and a line reader (or
 * a task) reads them back through the reactor.
 */
#ifndef IO_TEST_SUPPORT_H
#define IO_TEST_SUPPORT_H

#include <criterion/criterion.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

typedef struct test_pipe {
    int read_fd, write_fd;
    rt_reactor_fd *io; /* the read end, registered */
} test_pipe;

static inline void test_pipe_open(test_pipe *p) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    p->read_fd = fds[0];
    p->write_fd = fds[1];
    cr_assert_eq(rt_io_set_nonblocking(p->read_fd), RT_IO_OK);
    cr_assert_eq(rt_reactor_fd_open(p->read_fd, "test pipe", &p->io), RT_IO_OK);
}

/* Writes all of `text` (len bytes) into the pipe, blocking. */
static inline void test_pipe_write(test_pipe *p, const void *text, size_t len) {
    const char *at = text;
    while (len > 0) {
        ssize_t put = write(p->write_fd, at, len);
        cr_assert(put > 0, "write to the test pipe");
        at += put;
        len -= (size_t)put;
    }
}

static inline void test_pipe_close_writer(test_pipe *p) {
    if (p->write_fd >= 0)
        close(p->write_fd);
    p->write_fd = -1;
}

static inline void test_pipe_close(test_pipe *p) {
    rt_reactor_fd_drop(p->io);
    close(p->read_fd);
    test_pipe_close_writer(p);
}

/* Reads one line with block_on: its result, and the line copied into out (NUL-terminated). */
static inline rt_io_result test_read_line(rt_line_reader *lines, char *out, size_t cap,
                                          size_t *len) {
    rt_read_line_future f;
    rt_read_line_future_init(&f, lines);
    rt_block_on(&f.base);
    if (f.result == RT_IO_OK) {
        cr_assert(f.len < cap, "line fits the test's buffer");
        memcpy(out, f.line, f.len);
        out[f.len] = '\0';
        cr_assert_eq(f.line[f.len], '\0', "a NUL follows the line");
        if (len != NULL)
            *len = f.len;
    }
    return f.result;
}

/* Sleeps the calling thread (POSIX dropped usleep). */
static inline void test_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Raises the soft limit on open descriptors to at least `want`; false if the hard limit is lower.
 */
static inline bool test_raise_nofile(rlim_t want) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return false;
    if (lim.rlim_cur >= want)
        return true;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want)
        return false;
    lim.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

#endif
