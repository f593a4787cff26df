/* rt_diagnose.c - the registry of waiting things, and the reports about them. */
#include "rt_diagnose.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
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
    const char *where = record->pending_in ? record->pending_in : "its poll function";
    if (kind == RT_DIAG_PENDING_WITHOUT_WAKER) {
        rt_append(message, sizeof message, &len,
                  "lost waker: %s '%s' answered PENDING in %s, but no clone of its waker "
                  "exists, so nothing can ever wake it.\n"
                  "  Probably: a poll function returned PENDING without storing "
                  "rt_waker_clone(cx->waker), or it dropped the waker it had stored.",
                  record->kind, record->name, where);
        append_site(message, sizeof message, &len, "last waker dropped", record->last_drop);
    } else {
        rt_append(message, sizeof message, &len,
                  "lost waker: the last waker of %s '%s' (pending in %s) was dropped without "
                  "a wake, so nothing can ever wake it.\n"
                  "  Probably: a stored waker was replaced or dropped without being woken, "
                  "or a close/drop forgot to wake the waiting side.",
                  record->kind, record->name, where);
        append_site(message, sizeof message, &len, "dropped", record->last_drop);
    }
    append_site(message, sizeof message, &len, "that waker was cloned", record->last_clone);
    uint64_t seed = rt_shake_last_seed();
    if (seed != 0)
        rt_append(message, sizeof message, &len, "\n  (shake seed %llu: replay with RT_SHAKE=%llu)",
                  (unsigned long long)seed, (unsigned long long)seed);

    rt_diagnosis diagnosis = {kind, record->name, record->pending_in, message};
    rt_diagnosis_handler current = atomic_load(&handler);
    (current != NULL ? current : default_handler)(&diagnosis);
}

void rt_dump_pending(void) {
    /* Called when a test is about to be killed: reads the records without
     * their owners' locks, which is good enough for a last report. */
    pthread_mutex_lock(&registry_lock);
    int shown = 0;
    for (rt_wait_record *r = registry_head; r != NULL; r = r->next) {
        if (!r->waiting)
            continue;
        fprintf(stderr, "  pending: %s '%s' in %s, %d live waker%s", r->kind, r->name, r->pending_in ? r->pending_in : "its poll function", r->live_wakers,
                r->live_wakers == 1 ? "" : "s");
        if (r->live_wakers > 0 && r->last_clone.file != NULL)
            fprintf(stderr, " (newest cloned in %s() at %s:%d: stored there, never woken?)",
                    r->last_clone.func, r->last_clone.file, r->last_clone.line);
        fputc('\n', stderr);
        shown++;
    }
    if (shown == 0)
        fprintf(stderr, "  no task or block_on is pending (a thread may be blocked elsewhere, "
                        "e.g. on a lock)\n");
    pthread_mutex_unlock(&registry_lock);
}
