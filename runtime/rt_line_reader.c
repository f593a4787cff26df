/*
 * rt_line_reader.c - lines out of a byte stream, in one bounded buffer.
 *
 * The buffer holds buf[start..end): bytes read but not yet handed out.
 * `scanned` marks how far a '\n' has been looked for, so that a line that
 * arrives in many small reads is scanned once, not once per read. A line
 * handed out stays in the buffer (the caller reads it there) until the
 * next poll, which first steps past it.
 *
 * The buffer has room for the longest allowed line, its "\r\n" and the NUL
 * put after it, plus READ_ROOM more so that one read can bring many short
 * lines. When the bytes without a '\n' grow past the longest allowed
 * line, that line is too long: it is reported at once and the reader then
 * skips input up to the next '\n' without keeping it.
 */
#include "rt_line_reader.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define READ_ROOM 4096

struct rt_line_reader {
    rt_io_reader reader;
    size_t max_line;
    char *buf;
    size_t cap;
    size_t start, end, scanned;
    size_t handed_out; /* bytes of the line handed out last, stepped past at the next poll */
    bool skipping;     /* inside a line that was too long: drop bytes up to its '\n' */
    bool eof;
};

rt_io_result rt_line_reader_new(rt_io_reader reader, size_t max_line, rt_line_reader **lines) {
    if (max_line == 0)
        max_line = 1;
    rt_line_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return RT_IO_NO_MEMORY;
    r->cap = max_line + 3 + READ_ROOM;
    r->buf = malloc(r->cap);
    if (r->buf == NULL) {
        free(r);
        return RT_IO_NO_MEMORY;
    }
    r->reader = reader;
    r->max_line = max_line;
    *lines = r;
    return RT_IO_OK;
}

void rt_line_reader_drop(rt_line_reader *lines) {
    if (lines == NULL)
        return;
    rt_io_reader_drop_waker(lines->reader);
    free(lines->buf);
    free(lines);
}

/* Hands out buf[start, start+len) as a line, and steps past `used` bytes at the next poll. */
static rt_poll hand_out(rt_line_reader *r, size_t len, size_t used, const char **line,
                        size_t *line_len, rt_io_result *result) {
    r->buf[r->start + len] = '\0'; /* over the '\r' or '\n', or the first free byte at EOF */
    *line = r->buf + r->start;
    *line_len = len;
    r->handed_out = used;
    *result = RT_IO_OK;
    return RT_READY;
}

rt_poll rt_line_reader_poll_line(rt_line_reader *r, rt_context *cx, const char **line, size_t *len,
                                 rt_io_result *result) {
    r->start += r->handed_out;
    r->handed_out = 0;
    if (r->scanned < r->start)
        r->scanned = r->start;
    for (;;) {
        char *newline = memchr(r->buf + r->scanned, '\n', r->end - r->scanned);
        if (newline != NULL) {
            size_t at = (size_t)(newline - r->buf);
            if (r->skipping) { /* the end of the line that was too long */
                r->skipping = false;
                r->start = r->scanned = at + 1;
                continue;
            }
            size_t n = at - r->start;
            if (n > 0 && r->buf[at - 1] == '\r')
                n--;
            r->scanned = at + 1;
            if (n > r->max_line) {
                r->start = at + 1;
                *result = RT_IO_LINE_TOO_LONG;
                return RT_READY;
            }
            return hand_out(r, n, at + 1 - r->start, line, len, result);
        }
        r->scanned = r->end;
        size_t pending = r->end - r->start;
        if (r->skipping) {
            r->start = r->end = r->scanned = 0; /* drop what was read of the long line */
            pending = 0;
        } else if (pending > r->max_line + 1 ||
                   (pending == r->max_line + 1 && r->buf[r->end - 1] != '\r')) {
            /* Too long already, whatever comes next (a '\r' may still end a
             * line of exactly the maximum, if a '\n' follows it). */
            r->skipping = true;
            r->start = r->end = r->scanned = 0;
            *result = RT_IO_LINE_TOO_LONG;
            return RT_READY;
        }
        if (r->eof) {
            if (pending == 0) {
                *result = RT_IO_EOF;
                return RT_READY;
            }
            /* The last line had no '\n': still a line. */
            return hand_out(r, pending, pending, line, len, result);
        }
        if (r->start > 0) { /* make room: move what is pending to the front */
            memmove(r->buf, r->buf + r->start, pending);
            r->scanned -= r->start;
            r->start = 0;
            r->end = pending;
        }
        size_t got;
        rt_io_result read_result;
        /* Keep one byte free for the NUL after a last line without '\n'. */
        if (rt_io_poll_read(r->reader, cx, r->buf + r->end, r->cap - 1 - r->end, &got,
                            &read_result) == RT_PENDING)
            return RT_PENDING;
        if (read_result == RT_IO_EOF) {
            r->eof = true;
        } else if (read_result != RT_IO_OK) {
            r->start = r->end = r->scanned = 0; /* an unfinished line is lost with the stream */
            r->skipping = false;
            *result = read_result;
            return RT_READY;
        } else {
            r->end += got;
        }
    }
}

static rt_poll read_line_poll(rt_future *self, rt_context *cx) {
    rt_read_line_future *f = (rt_read_line_future *)self;
    return rt_line_reader_poll_line(f->lines, cx, &f->line, &f->len, &f->result);
}

static void read_line_drop(rt_future *self) {
    rt_io_reader_drop_waker(((rt_read_line_future *)self)->lines->reader);
}

void rt_read_line_future_init(rt_read_line_future *future, rt_line_reader *lines) {
    *future = (rt_read_line_future){
        .base = {.poll = read_line_poll, .drop = read_line_drop, .name = "rt_read_line"},
        .lines = lines};
}
