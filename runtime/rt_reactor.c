/*
 * rt_reactor.c - one poll(2) loop: descriptors and timers wake their wakers.
 *
 * One turn of the loop (the shape of Redis's ae.c aeProcessEvents):
 *
 *   lock
 *   build the pollfd array: the self-pipe, then every registered
 *       descriptor that has a waker stored, for the directions that have one
 *   timeout = time to the nearest timer (or none)
 *   unlock; poll(2); lock
 *   for each descriptor poll(2) reported: mark it ready in that direction
 *       and take its waker out of the table
 *   take out the wakers of every timer that is due
 *   unlock; wake them all; lock
 *
 * Who turns it: the thread that holds the driver token (rt_driver.h). An
 * idle executor worker takes it and turns the loop itself, so a wake lands
 * on the thread that will poll the woken task; the reactor's own thread
 * (reactor_main) turns it only while no worker will come back to do so.
 * The wakers are woken by the holder, with the lock released, as
 * everywhere in the kit (a wake may run code that calls back into the
 * reactor); the token is let go only after, so the list of wakers to wake
 * is the holder's alone.
 *
 * Interest is one-shot: once poll(2) has reported a direction, the reactor
 * stops watching it until a task stores a waker again. poll(2) is level
 * triggered, so a descriptor left readable would otherwise make every turn
 * of the loop return at once. It also means nothing is ever missed: a task
 * that finds EAGAIN and then stores its waker will be told on the very next
 * poll(2) if the data came in between.
 *
 * The self-pipe. A new waker (or a new nearest timer) changes what poll(2)
 * should wait for, and a task scheduled for an executor whose only idle
 * worker is the holder must end its wait. Under the lock, `polling` says
 * whether the holder is in (or about to enter) poll(2), and `built` whether
 * its array is built already; one byte written to the pipe ends that poll
 * at once, and `kicked` keeps further changes from writing more bytes until
 * the turn has drained the pipe. No byte is written when it would change
 * nothing: nobody is about to poll (whoever polls next builds a new array),
 * the array is not built yet, or it already watches that descriptor in that
 * direction, or already times out before the new timer's deadline.
 *
 * Registrations are counted: the owner holds one reference, and the loop
 * one for each turn that has the registration in its pollfd array, so a
 * registration dropped while poll(2) runs is freed only after it returns
 * (and its results are ignored). Dropping one that poll(2) is watching
 * kicks the loop, because poll(2) keeps the file open while it waits: a
 * closed socket would not send its FIN until then.
 */
#include "rt_reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_driver.h"
#include "rt_executor.h"
#include "rt_internal.h"
#include "rt_io_internal.h"

/* One direction of a registered descriptor. */
typedef struct direction {
    atomic_bool ready; /* try the operation (no EAGAIN seen since the last report) */
    rt_waker waker;    /* stored by the waiting task; under the lock */
    rt_instant since;  /* when the waker was first stored, for reports */
    const char *task;  /* its task's name (lives while the waker does), or NULL */
} direction;

struct rt_reactor_fd {
    int fd;
    bool is_socket;
    bool dropped;     /* the owner let go; the loop may still hold a reference */
    bool watched;     /* in the pollfd array of the loop's current turn */
    short polled;     /* what that array asks poll(2) about it (POLLIN, POLLOUT) */
    int refs;         /* under the lock: the owner's and the loop's */
    size_t index;     /* in registered[] while not dropped */
    direction dir[2]; /* [0] readable, [1] writable */
    char label[RT__PEER_CAP];
};

struct rt__timer {
    rt_instant deadline;
    size_t heap_index; /* in heap[], or NOT_IN_HEAP */
    rt_waker waker;
    rt_instant since;
    const char *task;
};

#define NOT_IN_HEAP SIZE_MAX

static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static bool started;                                     /* the pipe and the thread exist */
static int wake_pipe[2] = {-1, -1};
static bool polling;             /* the holder is in poll(2), or about to call it */
static bool built;               /* ... on an array built already */
static rt_instant poll_deadline; /* the deadline that poll(2) times out at, if built */
static bool kicked;              /* a byte is in the pipe, not yet drained */

/* The driver token (rt_driver.h): who turns the loop. */
typedef enum holder { NOBODY, REACTOR_THREAD, A_WORKER } holder;
static holder driver;
static bool handback_wanted; /* a worker asks the thread for it */
static pthread_cond_t handback_cond = PTHREAD_COND_INITIALIZER; /* ... and waits here */
static pthread_cond_t fallback_cond = PTHREAD_COND_INITIALIZER; /* the thread waits here to drive */
static atomic_uint busy_workers; /* workers that will come back to drive; not under the lock */

static rt_reactor_fd **registered;
static size_t registered_len, registered_cap;

static rt__timer **heap;
static size_t heap_len, heap_cap;

static int dir_of(rt_io_interest interest) {
    return interest == RT_IO_WRITABLE ? 1 : 0;
}

rt_instant rt_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rt_instant)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Grows *array (of pointers) to hold at least `need`; false when out of memory. */
static bool grow(void *array, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return true;
    size_t next = *cap ? *cap * 2 : 16;
    while (next < need)
        next *= 2;
    void *bigger = realloc(*(void **)array, next * elem);
    if (bigger == NULL)
        return false;
    *(void **)array = bigger;
    *cap = next;
    return true;
}

/* Ends the poll(2) the holder waits in or is about to call. Under the lock. */
static void kick_locked(void) {
    if (polling && !kicked) {
        kicked = true;
        char byte = 1;
        ssize_t ignored = write(wake_pipe[1], &byte, 1);
        (void)ignored; /* the pipe is non-blocking; if full, a byte is there anyway */
    }
}

/* ---- the timer heap (a binary min-heap on deadline), under the lock ---- */

static void heap_set(size_t i, rt__timer *t) {
    heap[i] = t;
    t->heap_index = i;
}

static void heap_up(size_t i) {
    rt__timer *t = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent]->deadline <= t->deadline)
            break;
        heap_set(i, heap[parent]);
        i = parent;
    }
    heap_set(i, t);
}

static void heap_down(size_t i) {
    rt__timer *t = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap_len)
            break;
        if (child + 1 < heap_len && heap[child + 1]->deadline < heap[child]->deadline)
            child++;
        if (heap[child]->deadline >= t->deadline)
            break;
        heap_set(i, heap[child]);
        i = child;
    }
    heap_set(i, t);
}

static void heap_remove(rt__timer *t) {
    size_t i = t->heap_index;
    t->heap_index = NOT_IN_HEAP;
    heap_len--;
    if (i == heap_len)
        return;
    rt__timer *moved = heap[heap_len];
    heap_set(i, moved);
    heap_up(i);
    heap_down(moved->heap_index);
}

/* ---- the loop ---- */

/* What one turn watches: pollfd i+1 belongs to watched[i] (pollfd 0 is the pipe).
 * These arrays and the list below are the token holder's: one turn at a time. */
static struct pollfd *pollfds;
static size_t pollfds_cap;
static rt_reactor_fd **watched;
static size_t watched_cap;
/* Wakers taken out under the lock, woken after it, before the token is let go. */
static rt_waker *to_wake;
static size_t to_wake_len, to_wake_cap;

/* Makes room for one more waker in the list; false when out of memory. */
static bool room_to_wake(void) {
    return grow(&to_wake, &to_wake_cap, to_wake_len + 1, sizeof *to_wake);
}

/* Moves a stored waker to the list. Out of memory: it stays stored, and
 * its descriptor or timer stays watched, so a later turn tries again. */
static void take_waker_locked(rt_waker *slot) {
    if (!rt_waker_is_none(slot) && room_to_wake())
        to_wake[to_wake_len++] = rt_waker_take(slot);
}

static int timeout_ms_locked(void) {
    if (heap_len == 0)
        return -1;
    rt_instant left = heap[0]->deadline - rt_time_now();
    if (left <= 0)
        return 0;
    /* Round up: waking a little late is fine, waking early costs a turn. */
    rt_instant ms = (left + 999999) / 1000000;
    return ms > 1000000 ? 1000000 : (int)ms;
}

/* Empties the pipe if a kick wrote to it: one read, since `kicked` lets
 * one byte in per turn and whatever writers raced in is less. */
static void drain_locked(void) {
    if (kicked) {
        char drain[64];
        while (read(wake_pipe[0], drain, sizeof drain) == (ssize_t)sizeof drain)
            ;
        kicked = false;
    }
}

/*
 * One turn of the loop, by the token's holder, with the lock held (let go
 * around poll(2) and the wakes). `block`: wait until something happens;
 * else only look. `before_wakes(arg)` runs before the wakes, if any.
 */
static void turn_locked(bool block, void (*before_wakes)(void *), void *arg) {
    if (!grow(&pollfds, &pollfds_cap, registered_len + 1, sizeof *pollfds) ||
        !grow(&watched, &watched_cap, registered_len + 1, sizeof *watched)) {
        polling = false; /* out of memory: try again a little later */
        drain_locked();
        pthread_mutex_unlock(&lock);
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&lock);
        return;
    }
    size_t n = 0;
    pollfds[0] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
    for (size_t i = 0; i < registered_len; i++) {
        rt_reactor_fd *io = registered[i];
        short events = 0;
        if (!rt_waker_is_none(&io->dir[0].waker))
            events |= POLLIN;
        if (!rt_waker_is_none(&io->dir[1].waker))
            events |= POLLOUT;
        if (events == 0)
            continue;
        io->refs++;
        io->watched = true;
        io->polled = events;
        watched[n] = io;
        pollfds[n + 1] = (struct pollfd){.fd = io->fd, .events = events};
        n++;
    }
    int timeout = block ? timeout_ms_locked() : 0;
    poll_deadline = heap_len > 0 ? heap[0]->deadline : INT64_MAX;
    polling = block;
    built = true;
    pthread_mutex_unlock(&lock);

    int ready = poll(pollfds, (nfds_t)(n + 1), timeout);

    pthread_mutex_lock(&lock);
    polling = built = false;
    drain_locked();
    for (size_t i = 0; i < n; i++) {
        rt_reactor_fd *io = watched[i];
        short revents = ready > 0 ? pollfds[i + 1].revents : 0;
        io->watched = false;
        io->polled = 0;
        if (revents != 0 && !io->dropped) {
            /* An error or hang-up wakes both directions: the operation will say what. */
            bool err = (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
            for (int d = 0; d < 2; d++) {
                bool fired = err || (revents & (d == 0 ? POLLIN : POLLOUT));
                if (fired && !rt_waker_is_none(&io->dir[d].waker)) {
                    atomic_store(&io->dir[d].ready, true);
                    take_waker_locked(&io->dir[d].waker);
                }
            }
        }
        if (--io->refs == 0) /* dropped during this turn's poll(2): ours to free */
            free(io);
    }
    rt_instant now = rt_time_now();
    while (heap_len > 0 && heap[0]->deadline <= now && room_to_wake()) {
        rt__timer *t = heap[0];
        heap_remove(t);
        take_waker_locked(&t->waker);
    }
    if (to_wake_len == 0)
        return;
    pthread_mutex_unlock(&lock);
    if (before_wakes != NULL)
        before_wakes(arg);
    for (size_t i = 0; i < to_wake_len; i++)
        rt_waker_wake(&to_wake[i]);
    to_wake_len = 0;
    pthread_mutex_lock(&lock);
}

/*
 * The reactor's own thread: the driver of last resort. It takes the token
 * only while it is free and no worker will come back for it, and then
 * turns the loop until a worker asks for the token (rt__driver_take):
 * with no executor running, that is forever, as a thread in rt_block_on
 * needs.
 */
static void *reactor_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (driver != NOBODY || atomic_load(&busy_workers) > 0)
            pthread_cond_wait(&fallback_cond, &lock);
        driver = REACTOR_THREAD;
        while (!handback_wanted) {
            polling = true;
            turn_locked(true, NULL, NULL);
        }
        handback_wanted = false;
        driver = NOBODY;
        pthread_cond_broadcast(&handback_cond);
    }
    return NULL;
}

/* ---- the driver token (rt_driver.h) ---- */

void rt__driver_worker_busy(void) {
    atomic_fetch_add(&busy_workers, 1);
}

void rt__driver_worker_idle(void) {
    if (atomic_fetch_sub(&busy_workers, 1) == 1) {
        /* The last worker that would have come back: the thread takes over.
         * Signalled under the lock, so the thread cannot be between its
         * look at the count and its wait. */
        pthread_mutex_lock(&lock);
        pthread_cond_signal(&fallback_cond);
        pthread_mutex_unlock(&lock);
    }
}

bool rt__driver_take(bool ask) {
    pthread_mutex_lock(&lock);
    bool took = false;
    while (started) {
        if (driver == NOBODY) {
            driver = A_WORKER;
            polling = true; /* from now on a kick ends the coming poll(2) */
            took = true;
            break;
        }
        if (driver == A_WORKER || !ask)
            break;
        /* The thread drives: it hands over at the end of its turn, which
         * the kick ends at once. */
        handback_wanted = true;
        kick_locked();
        pthread_cond_wait(&handback_cond, &lock);
    }
    pthread_mutex_unlock(&lock);
    return took;
}

void rt__driver_turn(bool block, void (*before_wakes)(void *), void *arg) {
    pthread_mutex_lock(&lock);
    turn_locked(block, before_wakes, arg);
    driver = NOBODY;
    pthread_mutex_unlock(&lock);
}

void rt__driver_release(void) {
    pthread_mutex_lock(&lock);
    polling = false;
    drain_locked();
    driver = NOBODY;
    pthread_mutex_unlock(&lock);
}

void rt__driver_kick(void) {
    pthread_mutex_lock(&lock);
    kick_locked();
    pthread_mutex_unlock(&lock);
}

static void describe_waits(FILE *out);

static void start(void) {
    if (pipe(wake_pipe) != 0)
        return;
    for (int i = 0; i < 2; i++) {
        fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, reactor_main, NULL) != 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        return;
    }
    pthread_detach(thread);
    rt__set_wait_describer(describe_waits);
    pthread_mutex_lock(&lock);
    started = true;
    pthread_mutex_unlock(&lock);
}

/* Starts the loop once; false if it could not be started (no pipe or thread). */
static bool ensure_started(void) {
    pthread_once(&start_once, start);
    return started;
}

/* ---- registrations ---- */

rt_io_result rt_reactor_fd_open(int fd, const char *label, rt_reactor_fd **out) {
    if (!ensure_started())
        return RT_IO_ERROR;
    rt_reactor_fd *io = calloc(1, sizeof *io);
    if (io == NULL)
        return RT_IO_NO_MEMORY;
    io->fd = fd;
    struct stat st;
    io->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    io->refs = 1;
    for (int d = 0; d < 2; d++) {
        atomic_init(&io->dir[d].ready, true); /* try first: most reads find data */
        io->dir[d].waker = RT_WAKER_NONE;
    }
    snprintf(io->label, sizeof io->label, "%s", label != NULL ? label : "");
    pthread_mutex_lock(&lock);
    if (!grow(&registered, &registered_cap, registered_len + 1, sizeof *registered)) {
        pthread_mutex_unlock(&lock);
        free(io);
        return RT_IO_NO_MEMORY;
    }
    io->index = registered_len;
    registered[registered_len++] = io;
    pthread_mutex_unlock(&lock);
    *out = io;
    return RT_IO_OK;
}

void rt_reactor_fd_drop(rt_reactor_fd *io) {
    if (io == NULL)
        return;
    pthread_mutex_lock(&lock);
    rt_reactor_fd *last = registered[--registered_len];
    registered[io->index] = last;
    last->index = io->index;
    io->dropped = true;
    rt_waker wakers[2] = {rt_waker_take(&io->dir[0].waker), rt_waker_take(&io->dir[1].waker)};
    if (io->watched)
        kick_locked(); /* poll(2) holds the file open: let it go before the owner closes it */
    bool last_ref = --io->refs == 0;
    pthread_mutex_unlock(&lock);
    rt_waker_drop(&wakers[0]);
    rt_waker_drop(&wakers[1]);
    if (last_ref)
        free(io);
}

void rt_reactor_fd_drop_waker(rt_reactor_fd *io, rt_io_interest interest) {
    pthread_mutex_lock(&lock);
    rt_waker waker = rt_waker_take(&io->dir[dir_of(interest)].waker);
    pthread_mutex_unlock(&lock);
    rt_waker_drop(&waker);
}

int rt_reactor_fd_fileno(const rt_reactor_fd *io) {
    return io->fd;
}

rt_poll rt_reactor_fd_poll_ready(rt_reactor_fd *io, rt_io_interest interest, rt_context *cx) {
    direction *d = &io->dir[dir_of(interest)];
    if (atomic_load(&d->ready))
        return RT_READY;
    pthread_mutex_lock(&lock);
    bool stored = rt_waker_will_wake(&d->waker, cx->waker);
    pthread_mutex_unlock(&lock);
    if (stored) /* polled again before the event: its waker is already here */
        return RT_PENDING;
    /* Cloned and dropped with no lock held, as everywhere in the kit (a
     * block_on waker takes its parker's lock). */
    rt_waker mine = rt_waker_clone(cx->waker);
    pthread_mutex_lock(&lock);
    if (atomic_load(&d->ready)) { /* reported meanwhile: try the operation */
        pthread_mutex_unlock(&lock);
        rt_waker_drop(&mine);
        return RT_READY;
    }
    rt_waker old = d->waker;
    d->waker = mine;
    if (rt_waker_is_none(&old))
        d->since = rt_time_now();
    d->task = rt_current_task_name();
    /* Only a poll(2) on an array built without this direction needs ending;
     * any later one builds its array with it. */
    short event = interest == RT_IO_WRITABLE ? POLLOUT : POLLIN;
    if (built && !(io->polled & event))
        kick_locked();
    pthread_mutex_unlock(&lock);
    rt_waker_drop(&old);
    return RT_PENDING;
}

void rt_reactor_fd_clear_ready(rt_reactor_fd *io, rt_io_interest interest) {
    atomic_store(&io->dir[dir_of(interest)].ready, false);
}

rt_poll rt_reactor_fd_poll_read(rt_reactor_fd *io, rt_context *cx, void *buf, size_t cap, size_t *n,
                                rt_io_result *result) {
    for (;;) {
        if (rt_reactor_fd_poll_ready(io, RT_IO_READABLE, cx) == RT_PENDING)
            return RT_PENDING;
        ssize_t got = read(io->fd, buf, cap);
        if (got > 0) {
            /* Fewer bytes than asked for: the buffer is most likely empty
             * now, so the next read waits for poll(2) instead of trying and
             * getting EAGAIN (tokio does the same). If more came meanwhile,
             * poll(2) says so at once: it reports levels, not edges. */
            if ((size_t)got < cap)
                rt_reactor_fd_clear_ready(io, RT_IO_READABLE);
            *n = (size_t)got;
            *result = RT_IO_OK;
            return RT_READY;
        }
        if (got == 0 && cap > 0) {
            *n = 0;
            *result = RT_IO_EOF;
            return RT_READY;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rt_reactor_fd_clear_ready(io, RT_IO_READABLE);
            continue;
        }
        *n = 0;
        *result = got == 0 ? RT_IO_OK : rt_io_result_from_errno(errno);
        return RT_READY;
    }
}

rt_poll rt_reactor_fd_poll_write(rt_reactor_fd *io, rt_context *cx, const void *buf, size_t len,
                                 size_t *n, rt_io_result *result) {
    for (;;) {
        if (rt_reactor_fd_poll_ready(io, RT_IO_WRITABLE, cx) == RT_PENDING)
            return RT_PENDING;
        ssize_t put;
        if (io->is_socket) {
#ifdef MSG_NOSIGNAL
            put = send(io->fd, buf, len, MSG_NOSIGNAL);
#else
            put = send(io->fd, buf, len, 0); /* the socket has SO_NOSIGPIPE (rt_tcp.c) */
#endif
        } else {
            put = write(io->fd, buf, len);
        }
        if (put >= 0) {
            if ((size_t)put < len) /* the send buffer is full: as for a short read */
                rt_reactor_fd_clear_ready(io, RT_IO_WRITABLE);
            *n = (size_t)put;
            *result = RT_IO_OK;
            return RT_READY;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rt_reactor_fd_clear_ready(io, RT_IO_WRITABLE);
            continue;
        }
        *n = 0;
        *result = rt_io_result_from_errno(errno);
        return RT_READY;
    }
}

static rt_poll reader_poll(void *object, rt_context *cx, void *buf, size_t cap, size_t *n,
                           rt_io_result *result) {
    return rt_reactor_fd_poll_read(object, cx, buf, cap, n, result);
}

static rt_poll writer_poll(void *object, rt_context *cx, const void *buf, size_t len, size_t *n,
                           rt_io_result *result) {
    return rt_reactor_fd_poll_write(object, cx, buf, len, n, result);
}

static void reader_drop_waker(void *object) {
    rt_reactor_fd_drop_waker(object, RT_IO_READABLE);
}

static void writer_drop_waker(void *object) {
    rt_reactor_fd_drop_waker(object, RT_IO_WRITABLE);
}

rt_io_reader rt_reactor_fd_reader(rt_reactor_fd *io) {
    return (rt_io_reader){reader_poll, io, reader_drop_waker};
}

rt_io_writer rt_reactor_fd_writer(rt_reactor_fd *io) {
    return (rt_io_writer){writer_poll, io, writer_drop_waker};
}

/* ---- timers ---- */

rt_poll rt__timer_poll(rt__timer **slot, rt_instant deadline, rt_context *cx) {
    if (rt_time_now() >= deadline) {
        rt__timer_drop(slot);
        return RT_READY;
    }
    if (!ensure_started())
        return RT_PENDING; /* no waker stored: reported as a lost waker, which it is */
    rt__timer *t = *slot;
    if (t == NULL) {
        t = calloc(1, sizeof *t);
        if (t == NULL)
            return RT_PENDING;
        t->heap_index = NOT_IN_HEAP;
        t->waker = RT_WAKER_NONE;
        *slot = t;
    }
    pthread_mutex_lock(&lock);
    bool stored = rt_waker_will_wake(&t->waker, cx->waker);
    pthread_mutex_unlock(&lock);
    rt_waker mine = stored ? RT_WAKER_NONE : rt_waker_clone(cx->waker);
    pthread_mutex_lock(&lock);
    if (t->heap_index == NOT_IN_HEAP) {
        if (!grow(&heap, &heap_cap, heap_len + 1, sizeof *heap)) {
            pthread_mutex_unlock(&lock);
            rt_waker_drop(&mine);
            return RT_PENDING;
        }
        t->deadline = deadline;
        t->since = rt_time_now();
        heap_set(heap_len++, t);
        heap_up(t->heap_index);
    } else if (t->deadline != deadline) { /* reset since the last poll */
        t->deadline = deadline;
        heap_up(t->heap_index);
        heap_down(t->heap_index);
    }
    rt_waker old = RT_WAKER_NONE;
    if (!stored) {
        old = t->waker;
        t->waker = mine;
        t->task = rt_current_task_name();
    }
    if (built && deadline < poll_deadline)
        kick_locked(); /* poll(2) must time out sooner than it was told */
    pthread_mutex_unlock(&lock);
    rt_waker_drop(&old);
    return RT_PENDING;
}

void rt__timer_drop(rt__timer **slot) {
    rt__timer *t = *slot;
    if (t == NULL)
        return;
    *slot = NULL;
    pthread_mutex_lock(&lock);
    if (t->heap_index != NOT_IN_HEAP)
        heap_remove(t);
    rt_waker waker = rt_waker_take(&t->waker);
    pthread_mutex_unlock(&lock);
    rt_waker_drop(&waker);
    free(t);
}

/* ---- diagnoses: what the tasks wait for ---- */

static void describe_task(FILE *out, const char *task) {
    if (task != NULL)
        fprintf(out, "task '%s'", task);
    else
        fprintf(out, "a block_on call");
}

/* Called by the timeout report (rt_diagnose.c): one line per stored waker. */
static void describe_waits(FILE *out) {
    pthread_mutex_lock(&lock);
    rt_instant now = rt_time_now();
    for (size_t i = 0; i < registered_len; i++) {
        rt_reactor_fd *io = registered[i];
        for (int d = 0; d < 2; d++) {
            if (rt_waker_is_none(&io->dir[d].waker))
                continue;
            fprintf(out, "  waiting on I/O: ");
            describe_task(out, io->dir[d].task);
            fprintf(out, " waits for descriptor %d%s%s%s to be %s, for %.2f s\n", io->fd,
                    io->label[0] ? " (" : "", io->label, io->label[0] ? ")" : "",
                    d == 0 ? "readable" : "writable", (double)(now - io->dir[d].since) / 1e9);
        }
    }
    for (size_t i = 0; i < heap_len; i++) {
        rt__timer *t = heap[i];
        if (rt_waker_is_none(&t->waker))
            continue;
        fprintf(out, "  waiting on a timer: ");
        describe_task(out, t->task);
        fprintf(out, " sleeps until its deadline, %.2f s from now (set %.2f s ago)\n",
                (double)(t->deadline - now) / 1e9, (double)(now - t->since) / 1e9);
    }
    pthread_mutex_unlock(&lock);
}
