/* rt_io.c - I/O outcomes and their messages, readers and writers, read and write_all. */
#include "rt_io.h"

#include <errno.h>
#include <fcntl.h>

const char *rt_io_result_str(rt_io_result result) {
    switch (result) {
    case RT_IO_OK:
        return "ok";
    case RT_IO_EOF:
        return "end of stream (the peer closed the connection)";
    case RT_IO_RESET:
        return "connection reset by peer";
    case RT_IO_REFUSED:
        return "connection refused (nobody listens at that address)";
    case RT_IO_ADDR_IN_USE:
        return "address already in use (another socket listens on that port)";
    case RT_IO_BAD_ADDRESS:
        return "not an address (give a numeric IPv4 or IPv6 address, or localhost)";
    case RT_IO_LINE_TOO_LONG:
        return "line too long (longer than the reader's maximum)";
    case RT_IO_TIMED_OUT:
        return "timed out";
    case RT_IO_TOO_MANY_FILES:
        return "too many open files (raise the limit: ulimit -n)";
    case RT_IO_NO_MEMORY:
        return "out of memory";
    case RT_IO_ERROR:
        return "input/output error";
    }
    return "unknown I/O result";
}

rt_io_result rt_io_result_from_errno(int err) {
    switch (err) {
    case 0:
        return RT_IO_OK;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return RT_IO_RESET;
    case ECONNREFUSED:
        return RT_IO_REFUSED;
    case EADDRINUSE:
        return RT_IO_ADDR_IN_USE;
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return RT_IO_BAD_ADDRESS;
    case ETIMEDOUT:
        return RT_IO_TIMED_OUT;
    case EMFILE:
    case ENFILE:
        return RT_IO_TOO_MANY_FILES;
    case ENOMEM:
    case ENOBUFS:
        return RT_IO_NO_MEMORY;
    default:
        return RT_IO_ERROR;
    }
}

rt_io_result rt_io_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return rt_io_result_from_errno(errno);
    return RT_IO_OK;
}

rt_poll rt_io_poll_read(rt_io_reader reader, rt_context *cx, void *buf, size_t cap, size_t *n,
                        rt_io_result *result) {
    return reader.poll_read(reader.object, cx, buf, cap, n, result);
}

rt_poll rt_io_poll_write(rt_io_writer writer, rt_context *cx, const void *buf, size_t len,
                         size_t *n, rt_io_result *result) {
    return writer.poll_write(writer.object, cx, buf, len, n, result);
}

void rt_io_reader_drop_waker(rt_io_reader reader) {
    if (reader.drop_waker != NULL)
        reader.drop_waker(reader.object);
}

void rt_io_writer_drop_waker(rt_io_writer writer) {
    if (writer.drop_waker != NULL)
        writer.drop_waker(writer.object);
}

static void read_future_drop(rt_future *self) {
    rt_io_reader_drop_waker(((rt_read_future *)self)->reader);
}

static void write_all_drop(rt_future *self) {
    rt_write_all_future *f = (rt_write_all_future *)self;
    if (f->written < f->len) /* dropped before the end: it may have left a waker */
        rt_io_writer_drop_waker(f->writer);
}

static rt_poll read_future_poll(rt_future *self, rt_context *cx) {
    rt_read_future *f = (rt_read_future *)self;
    return rt_io_poll_read(f->reader, cx, f->buf, f->cap, &f->n, &f->result);
}

void rt_read_future_init(rt_read_future *future, rt_io_reader reader, void *buf, size_t cap) {
    *future = (rt_read_future){
        .base = {.poll = read_future_poll, .drop = read_future_drop, .name = "rt_read"},
        .reader = reader,
        .buf = buf,
        .cap = cap};
}

static rt_poll write_all_poll(rt_future *self, rt_context *cx) {
    rt_write_all_future *f = (rt_write_all_future *)self;
    while (f->written < f->len) {
        size_t n;
        if (rt_io_poll_write(f->writer, cx, f->buf + f->written, f->len - f->written, &n,
                             &f->result) == RT_PENDING)
            return RT_PENDING;
        if (f->result != RT_IO_OK)
            return RT_READY;
        if (n == 0) { /* a writer that takes nothing and says OK would loop forever */
            f->result = RT_IO_ERROR;
            return RT_READY;
        }
        f->written += n;
    }
    f->result = RT_IO_OK;
    return RT_READY;
}

void rt_write_all_future_init(rt_write_all_future *future, rt_io_writer writer, const void *buf,
                              size_t len) {
    *future = (rt_write_all_future){
        .base = {.poll = write_all_poll, .drop = write_all_drop, .name = "rt_write_all"},
        .writer = writer,
        .buf = buf,
        .len = len};
}
