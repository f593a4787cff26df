/*
 * kt_explore.h - the schedule explorer: seeded detours at every lock the student's code takes.
 *
 * A channel that reads a flag, a count or the queue's length without its
 * lock, or that decides after unlocking who frees the shared state, is
 * wrong only when another thread runs in the few nanoseconds between the
 * look and the act. Shake mode (rt_shake.h) reorders tasks but cannot step
 * inside the student's functions; the explorer can, because the test
 * build renames the student's lock and condition-variable calls
 * (pthread_mutex_lock -> kt_explore_mutex_lock and so on, see
 * kt_student.syms) to the functions below.
 *
 * With KT_EXPLORE unset (or 0) they only forward the call. With
 * KT_EXPLORE=<seed>, before each lock, after each unlock and before each
 * signal, the calling thread may go on, yield the processor, spin, sleep a
 * few microseconds, or hand over: wait until another thread has passed
 * one of these points. A condition wait may also return early (a spurious
 * wake-up, which POSIX allows). What happens at the k-th visit of a call
 * site is a function of the seed, the site and k only: rare places such as
 * the last drop are detoured often, a send in a loop of thousands rarely.
 * So a window between a look and an act is held open long enough for the
 * other thread to run through it, and a seed that opens it once will
 * very likely do so again.
 *
 * When a test fails while exploring, the last decisions are printed with
 * the seed and the command that replays it:
 *
 *     make test EX=mpsc EXPLORE=17 T=last_drops_race
 *
 * and `make explore EX=mpsc N=500` walks seeds 1..N until one fails.
 * The explorer adds no synchronisation of its own between threads (its
 * bookkeeping uses relaxed atomics only), so ThreadSanitizer still sees
 * every race of the student's code.
 */
#ifndef KT_EXPLORE_H
#define KT_EXPLORE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "kt_gate.h"

/* What the student's objects call instead of the pthread functions of the same names. */
int kt_explore_mutex_lock(pthread_mutex_t *mutex);
int kt_explore_mutex_trylock(pthread_mutex_t *mutex);
int kt_explore_mutex_unlock(pthread_mutex_t *mutex);
int kt_explore_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex);
int kt_explore_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                              const struct timespec *deadline);
int kt_explore_cond_signal(pthread_cond_t *cond);
int kt_explore_cond_broadcast(pthread_cond_t *cond);
/* The other locks a student may choose are treated as the mutex is. */
int kt_explore_spin_lock(pthread_spinlock_t *lock);
int kt_explore_spin_trylock(pthread_spinlock_t *lock);
int kt_explore_spin_unlock(pthread_spinlock_t *lock);
int kt_explore_rwlock_rdlock(pthread_rwlock_t *lock);
int kt_explore_rwlock_wrlock(pthread_rwlock_t *lock);
int kt_explore_rwlock_tryrdlock(pthread_rwlock_t *lock);
int kt_explore_rwlock_trywrlock(pthread_rwlock_t *lock);
int kt_explore_rwlock_unlock(pthread_rwlock_t *lock);

/*
 * Forced schedules, with or without a seed: the calling thread's next lock
 * in the student's code (before it is taken; a trylock counts), or its next
 * unlock (just after the lock is released), holds the thread at `gate`
 * until the test opens it. So a test can stop a thread between a look made
 * before locking and the act made under the lock, or between the unlock and
 * what the thread still does with the channel, and do the racing operation
 * meanwhile:
 *
 *     // thread A:                                   // the test:
 *     kt_explore_stop_next(KT_STOP_AT_LOCK, &gate);
 *     result = mpsc_send(sender, message, &back);    kt_gate_wait_reached(&gate);
 *     kt_explore_stop_cancel();                      mpsc_receiver_drop(receiver);
 *                                                    kt_gate_open(&gate);
 *
 * A correct channel decides under the lock, after the receiver was dropped,
 * and hands the message back; one that looked first queues it for nobody.
 */
typedef enum kt_stop_point {
    KT_STOP_AT_LOCK,      /* before the next lock or trylock is taken */
    KT_STOP_AFTER_UNLOCK, /* right after the next unlock */
} kt_stop_point;

/* Arms one stop for the calling thread (replacing one not reached yet). */
void kt_explore_stop_next(kt_stop_point point, kt_gate *gate);

/* Disarms the calling thread's stop if it was not reached, passing its gate (kt_gate_pass) so
 * that a test waiting for it goes on. */
void kt_explore_stop_cancel(void);

/* `run(arg)` on a thread of its own, with a stop armed at `point` and `gate` (the usual shape of
 * a forced-schedule test: start it, kt_gate_wait_reached, race, kt_gate_open, join). */
typedef struct kt_stopped_call {
    pthread_t thread;
    void (*run)(void *arg);
    void *arg;
    kt_stop_point point;
    kt_gate *gate;
} kt_stopped_call;

/* Starts the thread; aborts when it cannot. */
void kt_stopped_call_start(kt_stopped_call *call, void (*run)(void *arg), void *arg,
                           kt_stop_point point, kt_gate *gate);

/* Waits for the thread to finish. */
void kt_stopped_call_join(kt_stopped_call *call);

/* How many of the student's locks the calling thread holds now; *where (if not NULL) is set to
 * where the newest one was taken. The kit's test wakers use it to check the waker rule. */
int kt_explore_locks_held(void **where);

/* Reads KT_EXPLORE and starts exploring test `suite`/`name` under it (called by kt_test_setup).
 * A value that is not a seed is reported and ends the process. */
void kt_explore_begin(const char *suite, const char *name);

/* The seed being explored, or 0 when the explorer only forwards calls. */
uint64_t kt_explore_seed(void);

/* When exploring: prints the seed, the replay command and the last decisions to stderr.
 * Safe in a signal handler once kt_explore_begin has run. */
void kt_explore_report(void);

#endif
