/*
 * rt_stdin.c - a helper thread makes the blocking reads; a task takes the bytes.
 *
 * The helper thread and the stream share one record: a ring of bytes, the
 * end-of-input mark, and the waker of the task waiting for bytes, under one
 * mutex. The thread reads at most as many bytes as the ring has room for,
 * so memory stays bounded however big a file stdin is; when the ring is
 * full it waits on a condition variable that the reader signals as it
 * takes bytes out. The record is freed by whichever of the two lets go
 * last: the thread may be blocked in read(2) long after the stream was
 * dropped (nobody types), and only it can know when that read returns.
 */
#include "rt_stdin.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_CAP 16384

struct rt_stdin {
    pthread_mutex_t lock;
    pthread_cond_t room; /* signalled when bytes are taken, or at the drop */
    int fd;
    bool owns_fd;
    char ring[RING_CAP];
    size_t head, len;
    bool eof;           /* the thread saw the end of input, or an error */
    rt_io_result error; /* RT_IO_OK, or the error the thread saw */
    bool dropped;       /* the stream was dropped: the thread should stop */
    int refs;           /* the stream and the thread */
    rt_waker waiter;    /* the task waiting for bytes */
};

/* Lets go of one reference, with the lock held (it is released). */
static void release_locked(rt_stdin *in) {
    bool last = --in->refs == 0;
    pthread_mutex_unlock(&in->lock);
    if (last) {
        if (in->owns_fd)
            close(in->fd);
        pthread_cond_destroy(&in->room);
        pthread_mutex_destroy(&in->lock);
        free(in);
    }
}

static void *helper_main(void *arg) {
    rt_stdin *in = arg;
    char chunk[4096];
    pthread_mutex_lock(&in->lock);
    for (;;) {
        while (in->len == RING_CAP && !in->dropped)
            pthread_cond_wait(&in->room, &in->lock);
        if (in->dropped)
            break;
        //@slide rt-stdin-helper
        size_t room = RING_CAP - in->len;
        pthread_mutex_unlock(&in->lock);
        /* The blocking read, with no lock held: it may take forever (a terminal). */
        ssize_t got = read(in->fd, chunk, room < sizeof chunk ? room : sizeof chunk);
        int err = errno;
        pthread_mutex_lock(&in->lock);
        if (got < 0 && err == EINTR)
            continue;
        if (got <= 0) {
            in->eof = true;
            in->error = got == 0 ? RT_IO_OK : rt_io_result_from_errno(err);
        } else {
            /* Only this thread adds bytes, so the room it saw is still there. */
            for (ssize_t i = 0; i < got; i++)
                in->ring[(in->head + in->len + (size_t)i) % RING_CAP] = chunk[i];
            in->len += (size_t)got;
        }
        rt_waker waiter = rt_waker_take(&in->waiter);
        pthread_mutex_unlock(&in->lock);
        rt_waker_wake(&waiter);
        //@end
        pthread_mutex_lock(&in->lock);
        if (in->eof)
            break;
    }
    release_locked(in);
    return NULL;
}

rt_io_result rt_stdin_open_fd(int fd, rt_stdin **out) {
    rt_stdin *in = calloc(1, sizeof *in);
    if (in == NULL)
        return RT_IO_NO_MEMORY;
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->room, NULL);
    in->fd = fd;
    in->owns_fd = fd != 0;
    in->refs = 2;
    in->waiter = RT_WAKER_NONE;
    pthread_t thread;
    if (pthread_create(&thread, NULL, helper_main, in) != 0) {
        pthread_cond_destroy(&in->room);
        pthread_mutex_destroy(&in->lock);
        free(in);
        return RT_IO_ERROR;
    }
    pthread_detach(thread);
    *out = in;
    return RT_IO_OK;
}

rt_io_result rt_stdin_open(rt_stdin **in) {
    return rt_stdin_open_fd(0, in);
}

/* READY with bytes or the end, if there is either; under the lock. */
static bool take_locked(rt_stdin *in, void *buf, size_t cap, size_t *n, rt_io_result *result) {
    if (in->len > 0) {
        size_t take = in->len < cap ? in->len : cap;
        for (size_t i = 0; i < take; i++)
            ((char *)buf)[i] = in->ring[(in->head + i) % RING_CAP];
        in->head = (in->head + take) % RING_CAP;
        in->len -= take;
        pthread_cond_signal(&in->room);
        *n = take;
        *result = RT_IO_OK;
        return true;
    }
    if (in->eof) {
        *n = 0;
        *result = in->error != RT_IO_OK ? in->error : RT_IO_EOF;
        return true;
    }
    return false;
}

rt_poll rt_stdin_poll_read(rt_stdin *in, rt_context *cx, void *buf, size_t cap, size_t *n,
                           rt_io_result *result) {
    pthread_mutex_lock(&in->lock);
    if (take_locked(in, buf, cap, n, result)) {
        pthread_mutex_unlock(&in->lock);
        return RT_READY;
    }
    bool stored = rt_waker_will_wake(&in->waiter, cx->waker);
    pthread_mutex_unlock(&in->lock);
    if (stored)
        return RT_PENDING;
    /* Cloned with the lock released (the kit's rule); then look again, since
     * the thread may have brought bytes meanwhile. If it did, the stored
     * waker only costs a spurious wake later. */
    rt_waker mine = rt_waker_clone(cx->waker);
    pthread_mutex_lock(&in->lock);
    rt_waker old = in->waiter;
    in->waiter = mine;
    bool ready = take_locked(in, buf, cap, n, result);
    pthread_mutex_unlock(&in->lock);
    rt_waker_drop(&old);
    return ready ? RT_READY : RT_PENDING;
}

static rt_poll reader_poll(void *object, rt_context *cx, void *buf, size_t cap, size_t *n,
                           rt_io_result *result) {
    return rt_stdin_poll_read(object, cx, buf, cap, n, result);
}

static void reader_drop_waker(void *object) {
    rt_stdin *in = object;
    pthread_mutex_lock(&in->lock);
    rt_waker waiter = rt_waker_take(&in->waiter);
    pthread_mutex_unlock(&in->lock);
    rt_waker_drop(&waiter);
}

rt_io_reader rt_stdin_reader(rt_stdin *in) {
    return (rt_io_reader){reader_poll, in, reader_drop_waker};
}

void rt_stdin_drop(rt_stdin *in) {
    if (in == NULL)
        return;
    pthread_mutex_lock(&in->lock);
    in->dropped = true;
    pthread_cond_signal(&in->room);
    rt_waker waiter = rt_waker_take(&in->waiter);
    pthread_mutex_unlock(&in->lock);
    rt_waker_drop(&waiter);
    pthread_mutex_lock(&in->lock);
    release_locked(in);
}
