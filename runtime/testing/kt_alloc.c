/*
 * kt_alloc.c - a table of the student's live blocks, keyed by address.
 *
 * The table lives beside the blocks (no header in front of them), so
 * AddressSanitizer still sees the exact size the student asked for, and
 * aligned allocations stay aligned. One mutex guards it: the student's
 * allocations are few (a state and a few handles per channel). Under
 * ThreadSanitizer that mutex is hidden from the sanitizer: it would order
 * two of the student's threads that allocate, and so hide their races.
 */
#include "kt_alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_symbols.h"

#if defined(__GLIBC__) || defined(__APPLE__)
#include <execinfo.h>
#define KT_BACKTRACE 1
#endif

#include "kt_sanitizer.h"

/* The sanitizers free at once: AddressSanitizer keeps its own quarantine and reports double
 * frees with their stacks; under ThreadSanitizer a block freed by one thread and released
 * later by another would look like a race between the two. */
#if defined(KT_ASAN) || defined(KT_TSAN)
#define KT_FREE_AT_ONCE 1
#endif

#ifdef KT_TSAN
/* ThreadSanitizer's annotations: ignore this thread's synchronisation and accesses meanwhile. */
void AnnotateIgnoreSyncBegin(const char *file, int line);
void AnnotateIgnoreSyncEnd(const char *file, int line);
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#endif

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void table_lock(void) {
#ifdef KT_TSAN
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
    pthread_mutex_lock(&lock);
}

static void table_unlock(void) {
    pthread_mutex_unlock(&lock);
#ifdef KT_TSAN
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
#endif
}

/* Where a block was allocated or freed: the return address of the call, and its caller's
 * (the student's allocation helper is often one small function called from several places). */
typedef struct site {
    void *at, *caller;
} site;

static site site_of(void *at) {
    site s = {at, NULL};
#ifdef KT_BACKTRACE
    void *frames[6];
    int n = backtrace(frames, 6);
    for (int i = 0; i + 1 < n; i++)
        if (frames[i] == at)
            s.caller = frames[i + 1];
#endif
    return s;
}

/* "helper+0x9 called from mpsc_channel+0x1c" */
static const char *site_text(site s, char *out, size_t size) {
    char at[128], caller[128];
    kt_symbolize(s.at, at, sizeof at);
    if (s.caller != NULL)
        snprintf(out, size, "%s called from %s", at, kt_symbolize(s.caller, caller, sizeof caller));
    else
        snprintf(out, size, "%s", at);
    return out;
}

typedef struct block {
    void *ptr; /* NULL: empty slot; TOMBSTONE: a removed entry */
    size_t size;
    site allocated;
} block;

#define TOMBSTONE ((void *)1)

static block *table;
static size_t capacity, occupied, live; /* occupied counts tombstones too */

#ifndef KT_FREE_AT_ONCE
typedef struct freed {
    void *ptr;
    size_t size;
    site allocated, freed;
} freed;

/* Freed blocks held back before the real free(): a second free of one is then seen here. */
#define QUARANTINE 512
static freed quarantine[QUARANTINE];
static size_t quarantine_next;
#endif

static size_t slot_of(const void *ptr, size_t cap) {
    uint64_t h = (uint64_t)(uintptr_t)ptr * 0x9e3779b97f4a7c15u;
    return (size_t)(h >> 20) & (cap - 1);
}

/* Makes room for one more entry; false when out of memory (the block is then not counted). */
static int table_grow(void) {
    if ((occupied + 1) * 2 <= capacity)
        return 1;
    size_t cap = capacity ? capacity : 256;
    while (live * 4 >= cap)
        cap *= 2;
    block *bigger = calloc(cap, sizeof *bigger);
    if (bigger == NULL)
        return 0;
    for (size_t i = 0; i < capacity; i++) {
        if (table[i].ptr == NULL || table[i].ptr == TOMBSTONE)
            continue;
        size_t s = slot_of(table[i].ptr, cap);
        while (bigger[s].ptr != NULL)
            s = (s + 1) & (cap - 1);
        bigger[s] = table[i];
    }
    free(table);
    table = bigger;
    capacity = cap;
    occupied = live;
    return 1;
}

static void table_add(void *ptr, size_t size, site allocated) {
    if (!table_grow())
        return;
    size_t s = slot_of(ptr, capacity);
    while (table[s].ptr != NULL && table[s].ptr != TOMBSTONE)
        s = (s + 1) & (capacity - 1);
    if (table[s].ptr == NULL)
        occupied++;
    table[s] = (block){ptr, size, allocated};
    live++;
}

/* Removes `ptr` and returns its entry; .ptr is NULL when it was not a counted block. */
static block table_remove(void *ptr) {
    if (capacity == 0)
        return (block){0};
    for (size_t s = slot_of(ptr, capacity); table[s].ptr != NULL; s = (s + 1) & (capacity - 1)) {
        if (table[s].ptr == ptr) {
            block found = table[s];
            table[s].ptr = TOMBSTONE;
            live--;
            return found;
        }
    }
    return (block){0};
}

static void *counted(void *ptr, size_t size, void *at) {
    if (ptr == NULL)
        return NULL;
    site allocated = site_of(at);
    table_lock();
    table_add(ptr, size, allocated);
    table_unlock();
    return ptr;
}

void *kt_alloc_malloc(size_t size) {
    return counted(malloc(size), size, __builtin_return_address(0));
}

void *kt_alloc_calloc(size_t count, size_t size) {
    return counted(calloc(count, size), count * size, __builtin_return_address(0));
}

void *kt_alloc_aligned_alloc(size_t alignment, size_t size) {
    return counted(aligned_alloc(alignment, size), size, __builtin_return_address(0));
}

int kt_alloc_posix_memalign(void **block, size_t alignment, size_t size) {
    int error = posix_memalign(block, alignment, size);
    if (error == 0)
        counted(*block, size, __builtin_return_address(0));
    return error;
}

char *kt_alloc_strdup(const char *s) {
    return counted(strdup(s), strlen(s) + 1, __builtin_return_address(0));
}

char *kt_alloc_strndup(const char *s, size_t n) {
    char *copy = strndup(s, n);
    return counted(copy, copy ? strlen(copy) + 1 : 0, __builtin_return_address(0));
}

#ifndef KT_FREE_AT_ONCE
/* A second free of a block freed recently: say who allocated it and who freed it, then stop. */
static _Noreturn void double_free(const freed *first, site again) {
    char allocated[300], freed_by[300], again_by[300];
    fprintf(stderr,
            "[kit] double free: a %zu-byte block your code allocated in %s was freed in %s, then "
            "freed again in %s (decide under the lock which drop frees it, so only one does)\n",
            first->size, site_text(first->allocated, allocated, sizeof allocated),
            site_text(first->freed, freed_by, sizeof freed_by),
            site_text(again, again_by, sizeof again_by));
    fflush(stderr);
    abort();
}
#endif

void kt_alloc_free(void *ptr) {
    if (ptr == NULL)
        return;
#ifdef KT_FREE_AT_ONCE
    table_lock();
    table_remove(ptr);
    table_unlock();
    free(ptr);
#else
    site freed_at = site_of(__builtin_return_address(0));
    void *evicted = ptr; /* not a counted block: freed as asked */
    table_lock();
    block b = table_remove(ptr);
    if (b.ptr == NULL) {
        for (size_t i = 0; i < QUARANTINE; i++) {
            if (quarantine[i].ptr == ptr) {
                freed first = quarantine[i];
                table_unlock();
                double_free(&first, freed_at);
            }
        }
    } else {
        freed *q = &quarantine[quarantine_next];
        quarantine_next = (quarantine_next + 1) % QUARANTINE;
        evicted = q->ptr;
        *q = (freed){ptr, b.size, b.allocated, freed_at};
    }
    table_unlock();
    free(evicted);
#endif
}

void *kt_alloc_realloc(void *old, size_t size) {
    void *at = __builtin_return_address(0);
    if (old == NULL)
        return counted(malloc(size), size, at);
    table_lock();
    block b = table_remove(old);
    table_unlock();
    void *moved = realloc(old, size);
    if (moved == NULL) { /* the old block stays as it was */
        if (b.ptr != NULL) {
            table_lock();
            table_add(old, b.size, b.allocated);
            table_unlock();
        }
        return NULL;
    }
    return counted(moved, size, at);
}

void kt_alloc_reset(void) {
    table_lock();
    free(table);
    table = NULL;
    capacity = occupied = live = 0;
    table_unlock();
}

size_t kt_alloc_live(void) {
    table_lock();
    size_t n = live;
    table_unlock();
    return n;
}

bool kt_alloc_leak_report(char *report, size_t size) {
    typedef struct site_total {
        site where;
        size_t blocks, bytes;
    } site_total;
    site_total sites[6];
    size_t site_count = 0, blocks = 0, bytes = 0;
    table_lock();
    for (size_t i = 0; i < capacity; i++) {
        if (table[i].ptr == NULL || table[i].ptr == TOMBSTONE)
            continue;
        blocks++;
        bytes += table[i].size;
        size_t s = 0;
        while (s < site_count && (sites[s].where.at != table[i].allocated.at ||
                                  sites[s].where.caller != table[i].allocated.caller))
            s++;
        if (s == site_count && site_count < sizeof sites / sizeof sites[0])
            sites[site_count++] = (site_total){table[i].allocated, 0, 0};
        if (s < site_count) {
            sites[s].blocks++;
            sites[s].bytes += table[i].size;
        }
    }
    table_unlock();
    if (blocks == 0)
        return false;
    int used = snprintf(report, size,
                        "leak: %zu block%s (%zu bytes) your code allocated %s never freed, though "
                        "every handle was dropped:",
                        blocks, blocks == 1 ? "" : "s", bytes, blocks == 1 ? "was" : "were");
    for (size_t s = 0; s < site_count && used >= 0 && (size_t)used < size; s++) {
        char where[300];
        used += snprintf(report + used, size - used, "%s %zu (%zu bytes) allocated in %s",
                         s ? ";" : "", sites[s].blocks, sites[s].bytes,
                         site_text(sites[s].where, where, sizeof where));
    }
    if (used >= 0 && (size_t)used < size)
        snprintf(report + used, size - used,
                 ". A handle is freed by its own drop, the shared state by the drop that leaves "
                 "no handle.");
    return true;
}
