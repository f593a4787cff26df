/*
 * rt_stdin.h - standard input as a stream a task can await (tokio::io::stdin).
 *
 * Read lines from it with a line reader, as in tokio's
 * BufReader::new(stdin()).lines():
 *
 *     #include "rt_line_reader.h"
 *
 *     rt_io_result open_typed_lines(rt_stdin **in, rt_line_reader **lines) {
 *         rt_io_result result = rt_stdin_open(in);
 *         if (result != RT_IO_OK)
 *             return result;
 *         result = rt_line_reader_new(rt_stdin_reader(*in), 1024, lines);
 *         if (result != RT_IO_OK)
 *             rt_stdin_drop(*in); // nothing leaks on an error path
 *         return result;
 *     }
 *
 * It works the same whether stdin is a terminal, a pipe or a file.
 *
 * Why a thread, and not the reactor. The reactor needs a non-blocking
 * descriptor, but O_NONBLOCK belongs to the open file, not to the
 * descriptor: on a terminal it is shared with the shell and every other
 * program using it, which would then see EAGAIN errors of their own, and
 * it stays set after the program exits. And poll(2) says a regular file is
 * always readable, so a file as stdin would make the reactor spin. So, as
 * tokio does, a helper thread makes the ordinary blocking read(2) calls and
 * hands the bytes over through a small bounded buffer, waking the task that
 * waits for them. The buffer is bounded: a big file as stdin is read as fast
 * as the task takes it, not into memory all at once.
 *
 * Thread safety: one task at a time polls an rt_stdin.
 */
#ifndef RT_STDIN_H
#define RT_STDIN_H

#include "rt_io.h"

typedef struct rt_stdin rt_stdin;

/*
 * Starts reading standard input (descriptor 0, left blocking and never
 * closed). One rt_stdin at a time may read descriptor 0. RT_IO_OK and *in
 * set, or RT_IO_NO_MEMORY / RT_IO_ERROR (no thread could be started).
 */
rt_io_result rt_stdin_open(rt_stdin **in);

/*
 * The same over any descriptor opened for reading in blocking mode (a
 * pipe, a file); it becomes the rt_stdin's, which closes it once the
 * helper thread is done with it. For tests, and for programs that read
 * another descriptor the way they read stdin.
 */
rt_io_result rt_stdin_open_fd(int fd, rt_stdin **in);

/* Reads some bytes, as rt_io_poll_read_fn says: RT_IO_OK, RT_IO_EOF or an error; or PENDING. */
rt_poll rt_stdin_poll_read(rt_stdin *in, rt_context *cx, void *buf, size_t cap, size_t *n,
                           rt_io_result *result);

/* `in` as a reader, for rt_line_reader_new and rt_read_future. */
rt_io_reader rt_stdin_reader(rt_stdin *in);

/*
 * Lets go of the stream. The helper thread may be blocked in read(2): it
 * ends (and frees what is left) when that read returns, with input or at
 * end of file; bytes read after the drop are discarded.
 */
void rt_stdin_drop(rt_stdin *in);

#endif
