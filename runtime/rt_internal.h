/*
 * rt_internal.h - what the runtime's own files share; not for exercises.
 *
 * Tasks and block_on calls both own a wait record: their name, how many
 * clones of their waker are alive, what they are pending in, and where the
 * last clone and drop happened. Records sit in one registry so that a
 * timeout can list every pending one, and a diagnosis can be written from
 * one.
 */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <stdatomic.h>

#include "rt_diagnose.h"

/* A place in the source, captured by the rt_waker_clone/rt_waker_drop macros. */
typedef struct rt_site {
    const char *file;
    int line;
    const char *func;
} rt_site;

/*
 * A place kept in a wait record. Its fields are relaxed atomics: it is
 * written on every clone and drop, from any thread, and only read for a
 * report, where a torn mix of two recent places would still be useful.
 */
typedef struct rt_site_slot {
    _Atomic(const char *) file;
    atomic_int line;
    _Atomic(const char *) func;
} rt_site_slot;

void rt_site_store(rt_site_slot *slot, rt_site site);
rt_site rt_site_load(const rt_site_slot *slot);

typedef struct rt_wait_record {
    struct rt_wait_record *prev, *next; /* registry links, under the registry lock */
    const char *kind;                   /* "task" or "block_on" */
    char name[64];
    /* Atomics: updated by wakers on any thread, read by reports. */
    /* Upper 32 bits: clones alive now, times two, plus one when the latest
     * clone to go was dropped rather than woken (the two kinds of lost
     * waker differ only in that bit, and one atomic word keeps the two in
     * step). Lower 32 bits: the owner's own references, if it wants them
     * here; a task keeps its others there, so that making or ending a clone
     * is one atomic instruction on one word (see rt_executor.c). */
    _Atomic uint64_t wakers;
    atomic_bool waiting;              /* answered PENDING and not woken since */
    atomic_bool in_poll;              /* inside its poll function right now */
    _Atomic(const char *) pending_in; /* from the context of the last poll */
    rt_site_slot last_clone;          /* where the newest clone was made */
    rt_site_slot last_drop;           /* where the latest drop happened */
} rt_wait_record;

/* Counts a new clone. */
void rt_record_clone(rt_wait_record *record);

/* Counts a clone gone, woken or (by_drop) dropped; returns how many are left. */
unsigned rt_record_release(rt_wait_record *record, bool by_drop);

/*
 * The same, and adds `owner_refs` to the lower half in the same step (0, or
 * 1 to turn the clone's reference into one of the owner's); returns the
 * whole word as it is afterwards.
 */
uint64_t rt_record_release_word(rt_wait_record *record, bool by_drop, uint64_t owner_refs);

/* Clones alive in a word returned by rt_record_release_word. */
unsigned rt_record_word_live(uint64_t word);

/* The owner's references in such a word. */
unsigned rt_record_word_owner_refs(uint64_t word);

/* Clones alive now. */
unsigned rt_record_live(const rt_wait_record *record);

/* With no clone alive: true when the last one was dropped; false when woken, or never made. */
bool rt_record_dropped_last(const rt_wait_record *record);

void rt_registry_add(rt_wait_record *record);
void rt_registry_remove(rt_wait_record *record);

/*
 * Around a call that blocks the calling thread (rt_block_on): when that
 * thread is an executor's worker, the task in its next slot is handed to the
 * shared queue and the slot is not used until the call is over, so that no
 * task waits behind a blocked worker. Returns what leave needs.
 */
void *rt_executor_enter_blocking(void);
void rt_executor_leave_blocking(void *saved);

/* Sites noted by the waker macros for the vtable function they call next (per thread). */
extern _Thread_local rt_site rt_clone_site;
extern _Thread_local rt_site rt_drop_site;

/* Writes every registered record, pending or not, to `out`; returns how many were caught
 * inside their poll function (and says what that usually means). */
int rt_dump_records(FILE *out);

/* Writes the report for `record` and hands it to the diagnosis handler. */
void rt_diagnose_report(rt_diagnosis_kind kind, const rt_wait_record *record);

/* Appends `text` to buf (of size cap) at *len, cutting when full. */
void rt_append(char *buf, size_t cap, size_t *len, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * A section the timeout report and rt_dump_pending add after the list of
 * tasks: the reactor (rt_reactor.c) sets one that says which task waits
 * for which descriptor or timer, and since when. One may be set.
 */
typedef void (*rt__wait_describer)(FILE *out);
void rt__set_wait_describer(rt__wait_describer describer);

#endif
