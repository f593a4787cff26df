/*
 * kt_explore.c - the explorer's detours, their seeded choice, and the trace of the last ones.
 *
 * Everything shared between threads here is a relaxed atomic: a mutex or a
 * release/acquire pair would order the student's threads behind their back
 * and hide from ThreadSanitizer the very races the explorer is after.
 */
#include "kt_explore.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_symbols.h"

#include "kt_sanitizer.h"
#ifdef KT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define relaxed memory_order_relaxed

/* Where a detour happens: before a lock, after an unlock, and so on. */
typedef enum point { LOCK, TRYLOCK, UNLOCK, WAIT, SIGNAL, BROADCAST } point;
static const char *const point_names[] = {"lock", "trylock", "unlock",
                                          "wait", "signal",  "broadcast"};

/* What a thread does there. */
typedef enum detour { GO_ON, YIELD, SPIN, SLEEP, HAND_OVER, SPURIOUS } detour;
static const char *const detour_names[] = {"goes on", "yields",     "spins",
                                           "sleeps",  "hands over", "wakes spuriously"};

static _Atomic uint64_t seed; /* 0: forward every call */
static char suite_name[64], test_name[128];

static atomic_uint threads_seen;
static _Thread_local unsigned thread_number; /* 1, 2, ... in order of first detour; 0: none yet */

/* Points passed by all threads; a thread handing over waits for others to pass some. */
static _Atomic uint64_t points_passed;
static _Thread_local uint64_t my_points_passed;

/* Sleeping and handing over stop after this much in one test (they become yields), so a
 * test with many operations stays well within its timeout. */
#define PAUSE_BUDGET_US 100000
static atomic_ulong paused_us;

/* Visits per (call site, point): what the seed decides at the k-th visit depends on k. */
#define SITES 512
static _Atomic uintptr_t site_keys[SITES];
static atomic_uint site_visits[SITES];

/* The last decisions, as packed words: number, thread, point, detour, amount. */
#define TRACE 48
static _Atomic uint64_t trace_count;
static _Atomic uint64_t trace_words[TRACE];
static _Atomic uintptr_t trace_sites[TRACE];
static atomic_bool reported;

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* How often `key` was visited before (0 at the first visit). */
static unsigned visit(uintptr_t key) {
    for (size_t i = 0, s = (size_t)(mix(key) % SITES); i < SITES; i++, s = (s + 1) % SITES) {
        uintptr_t found = atomic_load_explicit(&site_keys[s], relaxed);
        if (found == 0) {
            uintptr_t empty = 0;
            if (atomic_compare_exchange_strong_explicit(&site_keys[s], &empty, key, relaxed,
                                                        relaxed))
                found = key;
            else
                found = empty;
        }
        if (found == key)
            return atomic_fetch_add_explicit(&site_visits[s], 1, relaxed);
    }
    return 1u << 20; /* table full: treat as a busy site */
}

static uint64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static bool pause_budget_left(void) {
    return atomic_load_explicit(&paused_us, relaxed) < PAUSE_BUDGET_US;
}

/* Counts time spent pausing (the clock's, which a sleep overshoots) against the budget. */
static void charge(uint64_t since) {
    atomic_fetch_add_explicit(&paused_us, (unsigned long)(now_us() - since), relaxed);
}

static void pause_us(unsigned us) {
    struct timespec t = {0, (long)us * 1000};
    nanosleep(&t, NULL);
}

/* Waits (at most ~2 ms) until other threads have passed `count` more points. */
static void hand_over(unsigned count) {
    uint64_t others = atomic_load_explicit(&points_passed, relaxed) - my_points_passed;
    for (unsigned tries = 0; tries < 100; tries++) {
        if (atomic_load_explicit(&points_passed, relaxed) - my_points_passed >= others + count)
            return;
        if (tries < 20)
            sched_yield();
        else
            pause_us(20);
    }
}

static void record(void *site, point p, detour d, unsigned amount) {
    uint64_t n = atomic_fetch_add_explicit(&trace_count, 1, relaxed);
    uint64_t word = (n & 0xffffffffu) << 32 | (uint64_t)(thread_number & 0xff) << 24 |
                    (uint64_t)p << 20 | (uint64_t)d << 16 | (amount > 0xffff ? 0xffff : amount);
    atomic_store_explicit(&trace_sites[n % TRACE], (uintptr_t)site, relaxed);
    atomic_store_explicit(&trace_words[n % TRACE], word, relaxed);
}

/* Decides and takes the detour at point `p` of call site `site`; returns it. */
static detour take_detour(uint64_t s, void *site, point p, bool may_wake_spuriously) {
    if (thread_number == 0)
        thread_number = atomic_fetch_add_explicit(&threads_seen, 1, relaxed) + 1;
    /* The site as an offset into this program: the same in every run of the same binary. */
    uintptr_t key = ((uintptr_t)site - (uintptr_t)&kt_explore_mutex_lock) * 8 + p + 1;
    unsigned k = visit(key);
    uint64_t h = mix(s ^ mix(key) ^ mix((uint64_t)k + 0x51ed));
    unsigned density = 1u << (mix(s) % 4); /* per seed: 1, 2, 4 or 8 */
    detour d = GO_ON;
    unsigned amount = 0;
    if (h % (density + k + 1) < density) {
        unsigned pick = (unsigned)(h >> 20) % 100, r = (unsigned)(h >> 40);
        if (may_wake_spuriously && pick < 20)
            d = SPURIOUS;
        else if (pick < 45)
            d = YIELD, amount = 1 + r % 3;
        else if (pick < 60)
            d = SPIN, amount = 100 + r % 4000;
        else if (pick < 82)
            d = SLEEP, amount = 10 + r % 300;
        else
            d = HAND_OVER, amount = 1 + r % 3;
    }
    switch (d) {
    case YIELD:
        for (unsigned i = 0; i < amount; i++)
            sched_yield();
        break;
    case SPIN:
        for (volatile unsigned i = 0; i < amount; i++)
            ;
        break;
    case SLEEP:
    case HAND_OVER:
        if (!pause_budget_left() ||
            (d == HAND_OVER && atomic_load_explicit(&threads_seen, relaxed) < 2)) {
            d = YIELD, amount = 1; /* nobody to hand over to, or paused long enough */
            sched_yield();
            break;
        }
        uint64_t since = now_us();
        if (d == SLEEP)
            pause_us(amount);
        else
            hand_over(amount);
        charge(since);
        break;
    default:
        break;
    }
    if (d != GO_ON)
        record(site, p, d, amount);
    my_points_passed++;
    atomic_fetch_add_explicit(&points_passed, 1, relaxed);
    return d;
}

#define SEED() atomic_load_explicit(&seed, relaxed)

/* The student's locks this thread holds, and where it took the newest. */
static _Thread_local int locks_held;
static _Thread_local void *newest_lock_site;

int kt_explore_locks_held(void **where) {
    if (where != NULL)
        *where = newest_lock_site;
    return locks_held;
}

static int note_locked(int result, void *site) {
    if (result == 0) {
        locks_held++;
        newest_lock_site = site;
    }
    return result;
}

static void note_unlocked(void) {
    if (locks_held > 0)
        locks_held--;
}

/* The calling thread's armed stop (kt_explore_stop_next), or NULL. */
static _Thread_local kt_gate *stop_gate;
static _Thread_local kt_stop_point stop_point;

static void stop_if_armed(kt_stop_point point) {
    if (stop_gate != NULL && stop_point == point) {
        kt_gate *gate = stop_gate;
        stop_gate = NULL;
        kt_gate_hold(gate);
    }
}

void kt_explore_stop_next(kt_stop_point point, kt_gate *gate) {
    stop_point = point;
    stop_gate = gate;
}

void kt_explore_stop_cancel(void) {
    if (stop_gate != NULL)
        kt_gate_pass(stop_gate);
    stop_gate = NULL;
}

static void *stopped_call_main(void *arg) {
    kt_stopped_call *call = arg;
    kt_explore_stop_next(call->point, call->gate);
    call->run(call->arg);
    kt_explore_stop_cancel();
    return NULL;
}

void kt_stopped_call_start(kt_stopped_call *call, void (*run)(void *arg), void *arg,
                           kt_stop_point point, kt_gate *gate) {
    *call = (kt_stopped_call){.run = run, .arg = arg, .point = point, .gate = gate};
    if (pthread_create(&call->thread, NULL, stopped_call_main, call) != 0) {
        fprintf(stderr, "[kit] could not start a thread for a forced schedule\n");
        abort();
    }
}

void kt_stopped_call_join(kt_stopped_call *call) {
    pthread_join(call->thread, NULL);
}

/* Before a lock of any kind is taken: a forced stop, then the seed's detour. */
static void before_lock(void *site, point p) {
    stop_if_armed(KT_STOP_AT_LOCK);
    uint64_t s = SEED();
    if (s != 0)
        take_detour(s, site, p, false);
}

/* After a lock of any kind was released. */
static int after_unlock(int result, void *site) {
    note_unlocked();
    stop_if_armed(KT_STOP_AFTER_UNLOCK);
    uint64_t s = SEED();
    if (s != 0)
        take_detour(s, site, UNLOCK, false);
    return result;
}

int kt_explore_mutex_lock(pthread_mutex_t *mutex) {
    before_lock(__builtin_return_address(0), LOCK);
    return note_locked(pthread_mutex_lock(mutex), __builtin_return_address(0));
}

int kt_explore_spin_lock(pthread_spinlock_t *lock) {
    before_lock(__builtin_return_address(0), LOCK);
    return note_locked(pthread_spin_lock(lock), __builtin_return_address(0));
}

int kt_explore_spin_trylock(pthread_spinlock_t *lock) {
    before_lock(__builtin_return_address(0), TRYLOCK);
    return note_locked(pthread_spin_trylock(lock), __builtin_return_address(0));
}

int kt_explore_spin_unlock(pthread_spinlock_t *lock) {
    return after_unlock(pthread_spin_unlock(lock), __builtin_return_address(0));
}

int kt_explore_rwlock_rdlock(pthread_rwlock_t *lock) {
    before_lock(__builtin_return_address(0), LOCK);
    return note_locked(pthread_rwlock_rdlock(lock), __builtin_return_address(0));
}

int kt_explore_rwlock_wrlock(pthread_rwlock_t *lock) {
    before_lock(__builtin_return_address(0), LOCK);
    return note_locked(pthread_rwlock_wrlock(lock), __builtin_return_address(0));
}

int kt_explore_rwlock_tryrdlock(pthread_rwlock_t *lock) {
    before_lock(__builtin_return_address(0), TRYLOCK);
    return note_locked(pthread_rwlock_tryrdlock(lock), __builtin_return_address(0));
}

int kt_explore_rwlock_trywrlock(pthread_rwlock_t *lock) {
    before_lock(__builtin_return_address(0), TRYLOCK);
    return note_locked(pthread_rwlock_trywrlock(lock), __builtin_return_address(0));
}

int kt_explore_rwlock_unlock(pthread_rwlock_t *lock) {
    return after_unlock(pthread_rwlock_unlock(lock), __builtin_return_address(0));
}

int kt_explore_mutex_trylock(pthread_mutex_t *mutex) {
    before_lock(__builtin_return_address(0), TRYLOCK);
    return note_locked(pthread_mutex_trylock(mutex), __builtin_return_address(0));
}

int kt_explore_mutex_unlock(pthread_mutex_t *mutex) {
    return after_unlock(pthread_mutex_unlock(mutex), __builtin_return_address(0));
}

int kt_explore_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex) {
    uint64_t s = SEED();
    if (s != 0 && take_detour(s, __builtin_return_address(0), WAIT, true) == SPURIOUS) {
        /* Let go of the lock as a real wait would, let others run, take it back. */
        pthread_mutex_unlock(mutex);
        sched_yield();
        return pthread_mutex_lock(mutex);
    }
    return pthread_cond_wait(cond, mutex);
}

int kt_explore_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                              const struct timespec *deadline) {
    uint64_t s = SEED();
    if (s != 0 && take_detour(s, __builtin_return_address(0), WAIT, true) == SPURIOUS) {
        pthread_mutex_unlock(mutex);
        sched_yield();
        return pthread_mutex_lock(mutex);
    }
    return pthread_cond_timedwait(cond, mutex, deadline);
}

int kt_explore_cond_signal(pthread_cond_t *cond) {
    uint64_t s = SEED();
    if (s != 0)
        take_detour(s, __builtin_return_address(0), SIGNAL, false);
    return pthread_cond_signal(cond);
}

int kt_explore_cond_broadcast(pthread_cond_t *cond) {
    uint64_t s = SEED();
    if (s != 0)
        take_detour(s, __builtin_return_address(0), BROADCAST, false);
    return pthread_cond_broadcast(cond);
}

uint64_t kt_explore_seed(void) {
    return SEED();
}

static void say(const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t n = write(STDERR_FILENO, text, length);
        if (n <= 0)
            return;
        text += n;
        length -= (size_t)n;
    }
}

void kt_explore_report(void) {
    uint64_t s = SEED();
    if (s == 0 || atomic_exchange(&reported, true))
        return;
    char line[640];
    size_t suite_length = strlen(suite_name);
    bool hidden = suite_length > 7 && strcmp(suite_name + suite_length - 7, "_hidden") == 0;
    /* A suite is named after its exercise, then its part and "_hidden" (chat_client_hidden): the
     * exercise's name is what comes before the first underscore. */
    size_t exercise_length = strcspn(suite_name, "_");
    const char *san = "";
#if defined(KT_ASAN)
    san = " SAN=address";
#elif defined(KT_TSAN)
    san = " SAN=thread";
#endif
    snprintf(line, sizeof line,
             "[kit] explorer: %s/%s failed under KT_EXPLORE=%llu; replay: make test EX=%.*s "
             "EXPLORE=%llu T=%s%s%s\n",
             suite_name, test_name, (unsigned long long)s, (int)exercise_length, suite_name,
             (unsigned long long)s, test_name, hidden ? " HIDDEN=1" : "", san);
    say(line);
    uint64_t count = atomic_load_explicit(&trace_count, relaxed);
    uint64_t first = count > TRACE ? count - TRACE : 0;
    snprintf(
        line, sizeof line,
        "[kit] explorer: the last %llu of %llu detours your code's locks took, oldest first:\n",
        (unsigned long long)(count - first), (unsigned long long)count);
    say(line);
    for (uint64_t n = first; n < count; n++) {
        uint64_t word = atomic_load_explicit(&trace_words[n % TRACE], relaxed);
        void *site = (void *)atomic_load_explicit(&trace_sites[n % TRACE], relaxed);
        char where[160];
        unsigned p = (word >> 20) & 0xf, d = (word >> 16) & 0xf, amount = word & 0xffff;
        const char *unit = d == SLEEP ? " us" : d == SPIN ? " turns" : d == YIELD ? "x" : "";
        snprintf(line, sizeof line, "[kit]   #%-5llu thread %u at %-9s in %-32s %s %u%s\n",
                 (unsigned long long)(word >> 32), (unsigned)(word >> 24) & 0xff,
                 p < 6 ? point_names[p] : "?", kt_symbolize(site, where, sizeof where),
                 d < 6 ? detour_names[d] : "?", d == SPURIOUS ? 0 : amount, unit);
        say(line);
    }
}

static void on_fatal_signal(int sig) {
    kt_explore_report();
    signal(sig, SIG_DFL);
    raise(sig);
}

#ifdef KT_ASAN
static void on_sanitizer_death(void) {
    kt_explore_report();
}
#endif

void kt_explore_begin(const char *suite, const char *name) {
    snprintf(suite_name, sizeof suite_name, "%s", suite);
    snprintf(test_name, sizeof test_name, "%s", name);
    const char *text = getenv("KT_EXPLORE");
    if (text == NULL || *text == '\0')
        return;
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0' || text[0] == '-') {
        fprintf(stderr, "[kit] KT_EXPLORE=%s is not a seed: give a whole number (0: off)\n", text);
        exit(2);
    }
    if (value == 0)
        return;
    kt_symbols_load(); /* now, so that a report from a signal handler reads no file */
    signal(SIGABRT, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);
    signal(SIGILL, on_fatal_signal);
#ifdef KT_ASAN
    __sanitizer_set_death_callback(on_sanitizer_death); /* ASan reports bad accesses itself */
#else
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
#endif
    atomic_store(&seed, value);
}
