/*
 * rt_internal.h - what the runtime's own files share; not for exercises.
 *
 * Names with two underscores (rt__) are the runtime's own: declared only in
 * its internal headers (this one, rt_refs.h, rt_task.h, rt_run_queue.h,
 * rt_driver.h), never to be called by an exercise or a test. The public
 * API is the rt_ names of the headers rt.h includes.
 *
 * Tasks and block_on calls both own a wait record: their name, their state
 * word (with how many clones of their waker are alive), what they are
 * pending in, and where the last clone and drop happened. Records sit in
 * one registry so that a timeout can list every pending one, and a
 * diagnosis can be written from one.
 */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <stdatomic.h>

#include "rt_diagnose.h"
#include "rt_refs.h"

/* A place in the source, captured by the rt_waker_clone/rt_waker_drop macros. */
typedef struct rt__site {
    const char *file;
    int line;
    const char *func;
} rt__site;

/*
 * A place kept in a wait record. Its fields are relaxed atomics: it is
 * written on every clone and drop, from any thread, and only read for a
 * report, where a torn mix of two recent places would still be useful.
 */
typedef struct rt__site_slot {
    _Atomic(const char *) file;
    atomic_int line;
    _Atomic(const char *) func;
} rt__site_slot;

void rt__site_store(rt__site_slot *slot, rt__site site);
rt__site rt__site_load(const rt__site_slot *slot);

typedef struct rt__wait_record {
    /* The owner's state word: its references, its live wakers and, for a
     * task, its scheduling state. Laid out and counted as rt_refs.h says;
     * changed only by the owner's code (rt_task.c, rt_block_on.c), read by
     * the reports through rt__refs_wakers. */
    _Atomic uint64_t state;
    struct rt__wait_record *prev, *next; /* registry links, under the registry lock */
    const char *kind;                    /* "task" or "block_on" */
    char name[64];
    /* Atomics below: updated on any thread, read only by reports. */
    atomic_bool waiting; /* answered PENDING and not woken since */
    atomic_bool in_poll; /* inside its poll function right now */
    atomic_uint polls;   /* polls started; written only by the polling thread */
    /* The watchdog's view of a poll that may not return (rt__stuck_poll), under the
     * registry lock: the poll it saw running, and since when. */
    unsigned watched_poll;
    double watched_since;
    _Atomic(const char *) pending_in; /* from the context of the last poll */
    rt__site_slot last_clone;         /* where the newest clone was made */
    rt__site_slot last_drop;          /* where the latest drop happened */
} rt__wait_record;

void rt__registry_add(rt__wait_record *record);
void rt__registry_remove(rt__wait_record *record);

/* Sites noted by the waker macros for the vtable function they call next (per thread). */
extern _Thread_local rt__site rt__clone_site;
extern _Thread_local rt__site rt__drop_site;

/* Writes every registered record, pending or not, to `out`; returns how many were caught
 * inside their poll function (and says what that usually means). */
int rt__dump_records(FILE *out);

/*
 * Looks for a task or block_on inside the same poll call for `limit`
 * seconds or more, at time `now` (seconds, any monotonic clock; called every
 * so often by the watchdog). When one is found, writes its report to `out`
 * and returns true.
 */
bool rt__stuck_poll(double now, double limit, FILE *out);

/* Writes the report for `record` and hands it to the diagnosis handler. */
void rt__diagnose_report(rt_diagnosis_kind kind, const rt__wait_record *record);

/*
 * Around a call that blocks the calling thread (rt_block_on, so rt_join
 * too): when that thread is an executor's worker, the task in its next slot
 * is handed to the shared queue and the slot is not used until the call is
 * over, so that no task waits behind a blocked worker. Returns what leave
 * needs. Defined with the workers, in rt_executor.c.
 */
void *rt__executor_enter_blocking(void);
void rt__executor_leave_blocking(void *saved);

/* calloc for the runtime's own structures: out of memory ends the process, saying `who`. */
static inline void *rt__calloc(size_t size, const char *who) {
    void *p = calloc(1, size);
    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", who);
        abort();
    }
    return p;
}

/* Appends `text` to buf (of size cap) at *len, cutting when full. */
void rt__append(char *buf, size_t cap, size_t *len, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * A section the timeout report and rt_dump_pending add after the list of
 * tasks: the reactor (rt_reactor.c) sets one that says which task waits
 * for which descriptor or timer, and since when. One may be set.
 */
typedef void (*rt__wait_describer)(FILE *out);
void rt__set_wait_describer(rt__wait_describer describer);

#endif
