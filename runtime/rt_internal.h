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

#include "rt_diagnose.h"

/* A place in the source, captured by the rt_waker_clone/rt_waker_drop macros. */
typedef struct rt_site {
    const char *file;
    int line;
    const char *func;
} rt_site;

typedef struct rt_wait_record {
    struct rt_wait_record *prev, *next; /* registry links, under the registry lock */
    const char *kind; /* "task" or "block_on" */
    char name[64];
    /* The fields below are written under the owner's lock. */
    int live_wakers;        /* clones alive now */
    bool waiting;           /* answered PENDING and not woken since */
    const char *pending_in; /* from the context of the last poll */
    rt_site last_clone;     /* where the newest clone was made */
    rt_site last_drop;      /* where the latest drop happened */
} rt_wait_record;

void rt_registry_add(rt_wait_record *record);
void rt_registry_remove(rt_wait_record *record);

/* Sites noted by the waker macros for the vtable function they call next (per thread). */
extern _Thread_local rt_site rt_clone_site;
extern _Thread_local rt_site rt_drop_site;

/* Writes the report for `record` and hands it to the diagnosis handler. */
void rt_diagnose_report(rt_diagnosis_kind kind, const rt_wait_record *record);

/* Appends `text` to buf (of size cap) at *len, cutting when full. */
void rt_append(char *buf, size_t cap, size_t *len, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#endif
