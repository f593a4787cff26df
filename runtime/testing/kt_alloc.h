/*
 * kt_alloc.h - counts the memory the student's code allocates, to catch leaks.
 *
 * The test build renames the allocation calls in the student's objects
 * (malloc -> kt_alloc_malloc and so on, see kt_student.syms), so every
 * block the student's channel allocates is known here with the place that
 * allocated it. The kit's own code, the tests and the libraries are not
 * renamed and not counted, except a kit file that allocates for the
 * student's channel (EX_COUNTED_KIT_FILES: the mpsc queue's storage, which
 * the student's code must free). At the end of each KT_TEST every handle has
 * been dropped, so nothing the student allocated may still be live: the
 * test fails naming each leaked block's size and allocation site. (So no
 * kit function may take over a block the student's code allocated and free
 * it itself: the count would call it a leak. None does.)
 *
 * Without a sanitizer (and under UndefinedBehaviorSanitizer), freed blocks
 * wait in a small quarantine before they are really freed, so that a block
 * freed twice is reported as such, with both places that freed it, instead
 * of corrupting the heap. Under AddressSanitizer the sanitizer does that
 * job and reports more; under ThreadSanitizer blocks are freed at once.
 */
#ifndef KT_ALLOC_H
#define KT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* What the student's objects call instead of the C library's functions of the same names. */
void *kt_alloc_malloc(size_t size);
void *kt_alloc_calloc(size_t count, size_t size);
void *kt_alloc_realloc(void *block, size_t size);
void kt_alloc_free(void *block);
void *kt_alloc_aligned_alloc(size_t alignment, size_t size);
int kt_alloc_posix_memalign(void **block, size_t alignment, size_t size);
char *kt_alloc_strdup(const char *s);
char *kt_alloc_strndup(const char *s, size_t n);

/* Forgets every block counted so far (a test starts from zero). */
void kt_alloc_reset(void);

/* Blocks the student's code allocated and has not freed. */
size_t kt_alloc_live(void);

/* When blocks are live, describes them (grouped by allocation site) into `report` and returns
 * true; otherwise returns false. */
bool kt_alloc_leak_report(char *report, size_t size);

#endif
