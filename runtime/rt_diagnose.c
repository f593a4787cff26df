/* rt_diagnose.c - the registry of waiting things, and the reports about them. */
#include "rt_diagnose.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_internal.h"
#include "rt_shake.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static rt_wait_record *registry_head;
static _Atomic(rt_diagnosis_handler) handler;

void rt_registry_add(rt_wait_record *record) {
    pthread_mutex_lock(&registry_lock);
    record->prev = NULL;
    record->next = registry_head;
    if (registry_head != NULL)
        registry_head->prev = record;
    registry_head = record;
    pthread_mutex_unlock(&registry_lock);
}

void rt_registry_remove(rt_wait_record *record) {
    pthread_mutex_lock(&registry_lock);
    if (record->prev != NULL)
        record->prev->next = record->next;
    else
        registry_head = record->next;
    if (record->next != NULL)
        record->next->prev = record->prev;
    pthread_mutex_unlock(&registry_lock);
}

/* The word's layout: see rt_wait_record. */
#define OWNER_MASK       UINT64_C(0xffffffff)
#define DROPPED_LAST_BIT (UINT64_C(1) << 32)
#define ONE_CLONE        (UINT64_C(2) << 32)

void rt_record_clone(rt_wait_record *record) {
    atomic_fetch_add(&record->wakers, ONE_CLONE);
}

uint64_t rt_record_release_word(rt_wait_record *record, bool by_drop, uint64_t owner_refs) {
    uint64_t seen = atomic_load(&record->wakers), next;
    do
        next = ((seen & ~DROPPED_LAST_BIT) - ONE_CLONE + owner_refs) |
               (by_drop ? DROPPED_LAST_BIT : 0);
    while (!atomic_compare_exchange_weak(&record->wakers, &seen, next));
    return next;
}

unsigned rt_record_release(rt_wait_record *record, bool by_drop) {
    return rt_record_word_live(rt_record_release_word(record, by_drop, 0));
}

unsigned rt_record_word_live(uint64_t word) {
    return (unsigned)(word >> 33);
}

unsigned rt_record_word_owner_refs(uint64_t word) {
    return (unsigned)(word & OWNER_MASK);
}

unsigned rt_record_live(const rt_wait_record *record) {
    return rt_record_word_live(atomic_load(&record->wakers));
}

bool rt_record_dropped_last(const rt_wait_record *record) {
    return (atomic_load(&record->wakers) & DROPPED_LAST_BIT) != 0;
}

void rt_site_store(rt_site_slot *slot, rt_site site) {
    atomic_store_explicit(&slot->file, site.file, memory_order_relaxed);
    atomic_store_explicit(&slot->line, site.line, memory_order_relaxed);
    atomic_store_explicit(&slot->func, site.func, memory_order_relaxed);
}

rt_site rt_site_load(const rt_site_slot *slot) {
    rt_site site;
    site.file = atomic_load_explicit(&slot->file, memory_order_relaxed);
    site.line = atomic_load_explicit(&slot->line, memory_order_relaxed);
    site.func = atomic_load_explicit(&slot->func, memory_order_relaxed);
    return site;
}

void rt_append(char *buf, size_t cap, size_t *len, const char *format, ...) {
    if (*len + 1 >= cap)
        return;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(buf + *len, cap - *len, format, args);
    va_end(args);
    if (n > 0)
        *len = (*len + (size_t)n < cap) ? *len + (size_t)n : cap - 1;
}

static void append_site(char *buf, size_t cap, size_t *len, const char *what, rt_site site) {
    if (site.file != NULL)
        rt_append(buf, cap, len, "\n    %s in %s() at %s:%d", what, site.func, site.file,
                  site.line);
}

static void default_handler(const rt_diagnosis *diagnosis) {
    fprintf(stderr, "%s\n", diagnosis->message);
    fflush(stderr);
    abort();
}

rt_diagnosis_handler rt_set_diagnosis_handler(rt_diagnosis_handler new_handler) {
    return atomic_exchange(&handler, new_handler);
}

void rt_diagnose_report(rt_diagnosis_kind kind, const rt_wait_record *record) {
    char message[1024];
    size_t len = 0;
    const char *pending_in = atomic_load(&record->pending_in);
    const char *where = pending_in ? pending_in : "its poll function";
    rt_site last_drop = rt_site_load(&record->last_drop);
    rt_site last_clone = rt_site_load(&record->last_clone);
    if (kind == RT_DIAG_PENDING_WITHOUT_WAKER) {
        rt_append(message, sizeof message, &len,
                  "lost waker: %s '%s' answered PENDING in %s, but no clone of its waker "
                  "exists, so nothing can ever wake it.\n"
                  "  Probably: a poll function returned PENDING without storing "
                  "rt_waker_clone(cx->waker), or it dropped the waker it had stored.",
                  record->kind, record->name, where);
        append_site(message, sizeof message, &len, "last waker dropped", last_drop);
    } else {
        rt_append(message, sizeof message, &len,
                  "lost waker: the last waker of %s '%s' (pending in %s) was dropped without "
                  "a wake, so nothing can ever wake it.\n"
                  "  Probably: a stored waker was replaced or dropped without being woken, "
                  "or a close/drop forgot to wake the waiting side.",
                  record->kind, record->name, where);
        append_site(message, sizeof message, &len, "dropped", last_drop);
    }
    append_site(message, sizeof message, &len, "that waker was cloned", last_clone);
    uint64_t seed = rt_shake_last_seed();
    if (seed != 0)
        rt_append(message, sizeof message, &len, "\n  (shake seed %llu: replay with RT_SHAKE=%llu)",
                  (unsigned long long)seed, (unsigned long long)seed);

    rt_diagnosis diagnosis = {kind, record->name, pending_in, message};
    rt_diagnosis_handler current = atomic_load(&handler);
    (current != NULL ? current : default_handler)(&diagnosis);
}

/* Writes the records to `out`: all of them, or only the pending ones. */
/* Lists the records (all, or only the pending ones); counts those caught inside a poll in *in_poll.
 */
static void describe_waits(FILE *out);

static int dump(FILE *out, bool all, int *in_poll) {
    pthread_mutex_lock(&registry_lock);
    int shown = 0;
    *in_poll = 0;
    for (rt_wait_record *r = registry_head; r != NULL; r = r->next) {
        bool waiting = atomic_load(&r->waiting);
        if (!waiting && !all)
            continue;
        unsigned live = rt_record_live(r);
        const char *pending_in = atomic_load(&r->pending_in);
        rt_site clone = rt_site_load(&r->last_clone);
        bool polling = atomic_load_explicit(&r->in_poll, memory_order_relaxed);
        fprintf(out, "  %s: %s '%s'", waiting ? "pending" : "not waiting", r->kind, r->name);
        if (waiting)
            fprintf(out, " in %s", pending_in ? pending_in : "its poll function");
        else if (polling)
            fprintf(out, " (inside its poll function right now)");
        else
            fprintf(out, " (ready to be polled)");
        *in_poll += !waiting && polling;
        fprintf(out, ", %u live waker%s", live, live == 1 ? "" : "s");
        if (live > 0 && clone.file != NULL)
            fprintf(out, " (newest cloned in %s() at %s:%d%s)", clone.func, clone.file, clone.line,
                    waiting ? ": stored there, never woken?" : "");
        fputc('\n', out);
        shown++;
    }
    pthread_mutex_unlock(&registry_lock);
    return shown;
}

int rt_dump_records(FILE *out) {
    int in_poll;
    if (dump(out, true, &in_poll) == 0)
        fprintf(out, "  no task or block_on is running or pending (a thread may be blocked "
                     "elsewhere, e.g. on a lock or a join)\n");
    describe_waits(out);
    if (in_poll > 0)
        fprintf(out, "  A poll function that does not return (a loop that waits for something, "
                     "or a blocking call) holds its thread: a poll must answer PENDING and store "
                     "the waker instead.\n");
    return in_poll;
}

void rt_dump_pending(void) {
    int in_poll;
    if (dump(stderr, false, &in_poll) == 0)
        fprintf(stderr, "  no task or block_on is pending (a thread may be blocked elsewhere, "
                        "e.g. on a lock)\n");
    describe_waits(stderr);
}

/* ---- what the reactor adds to the reports ---- */

static _Atomic(rt__wait_describer) wait_describer;

void rt__set_wait_describer(rt__wait_describer describer) {
    atomic_store(&wait_describer, describer);
}

static void describe_waits(FILE *out) {
    rt__wait_describer describer = atomic_load(&wait_describer);
    if (describer != NULL)
        describer(out);
}
