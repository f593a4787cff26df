/*
 * rt_line_reader.h - reading a stream one line at a time, with a limit.
 *
 * tokio's BufReader::new(reader).lines() (AsyncBufReadExt::lines), over any
 * reader (rt_io.h): a TCP connection or its read half, a pipe registered
 * with the reactor, stdin (rt_stdin.h). The reader keeps one buffer, and
 * reads as much as the descriptor has into it, so a burst of short lines
 * costs one system call, not one per line.
 *
 *     #include "rt_async.h"
 *     #include "rt_tcp.h"
 *
 *     typedef struct {
 *         rt_future base;
 *         rt_async co;
 *         rt_line_reader *lines; // made with rt_line_reader_new over the connection:
 *         const char *line;      //   rt_line_reader_new(rt_tcp_read_half_reader(half),
 *         size_t len;            //                      1024, &t->lines)
 *         rt_io_result result;
 *         size_t count;
 *     } count_lines_task;
 *
 *     rt_poll count_lines_poll(rt_future *f, rt_context *cx) {
 *         count_lines_task *t = (count_lines_task *)f;
 *         RT_ASYNC_BEGIN(&t->co);
 *         for (;;) {
 *             RT_AWAIT_POLL(&t->co, cx, rt_line_reader_poll_line(t->lines, cx, &t->line,
 *                                                                &t->len, &t->result));
 *             if (t->result == RT_IO_OK)
 *                 t->count++; // t->line holds t->len bytes, valid until the next poll
 *             else if (t->result != RT_IO_LINE_TOO_LONG)
 *                 break; // RT_IO_EOF: the peer is done; anything else: an error
 *         }
 *         RT_ASYNC_END(&t->co);
 *     }
 *
 * What is a line:
 *   - the bytes up to a '\n', without it; a "\r\n" ending loses its '\r' too;
 *   - the bytes are not interpreted: NUL and invalid UTF-8 pass through, so
 *     use the length, not strlen (a NUL is put after the line all the same);
 *   - a last line without '\n' before the end of the stream is a line;
 *   - a line longer than the maximum (not counting its ending) is not
 *     buffered: the poll answers RT_IO_LINE_TOO_LONG, the bytes of that line
 *     are skipped up to its '\n', and the next poll goes on with the next
 *     line. Memory stays bounded by the maximum, whatever the peer sends.
 *
 * Thread safety: one task at a time polls a line reader.
 */
#ifndef RT_LINE_READER_H
#define RT_LINE_READER_H

#include <stddef.h>

#include "rt_io.h"

typedef struct rt_line_reader rt_line_reader;

/*
 * A line reader over `reader` (borrowed: it must outlive the line reader,
 * and nobody else may read from it meanwhile) for lines of at most
 * `max_line` bytes (at least 1). RT_IO_OK and *lines set, or RT_IO_NO_MEMORY.
 */
rt_io_result rt_line_reader_new(rt_io_reader reader, size_t max_line, rt_line_reader **lines);

/*
 * The next line: READY with RT_IO_OK, *line and *len set (the bytes are the
 * line reader's, valid until its next poll or its drop; copy what you keep);
 * READY with RT_IO_EOF when the stream ended (after its last line);
 * RT_IO_LINE_TOO_LONG (see above; the reader stays usable); or the reader's
 * error (RT_IO_RESET: the bytes of an unfinished line are dropped). PENDING
 * while no whole line is there, with the waker stored by the reader below.
 */
rt_poll rt_line_reader_poll_line(rt_line_reader *lines, rt_context *cx, const char **line,
                                 size_t *len, rt_io_result *result);

/*
 * Frees the line reader and its buffer, and lets go of a waker its last
 * PENDING poll left with the reader below; that reader is not freed.
 */
void rt_line_reader_drop(rt_line_reader *lines);

/* A future for one line (tokio's lines.next_line().await). */
typedef struct rt_read_line_future {
    rt_future base;
    rt_line_reader *lines;
    const char *line;    /* once READY with RT_IO_OK: the line, as rt_line_reader_poll_line */
    size_t len;          /* its length in bytes */
    rt_io_result result; /* once READY */
} rt_read_line_future;

/*
 * Prepares a future that reads one line from `lines`. Its drop function
 * lets go of a waker it left with the reader below (bytes already read
 * stay in the line reader for the next read).
 */
void rt_read_line_future_init(rt_read_line_future *future, rt_line_reader *lines);

#endif
