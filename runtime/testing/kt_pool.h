/*
 * kt_pool.h - test messages that count how often they are freed and cloned.
 *
 * Channels own the messages queued in them and must free each exactly once.
 * Messages from a pool are never really freed while the pool lives: the
 * destructor only counts. So a double free or a leak is reported as a plain
 * test failure ("message 17 freed 2 times") instead of memory corruption,
 * with or without AddressSanitizer.
 *
 *     kt_pool *pool = kt_pool_new(1000);
 *     void *msg = kt_pool_msg(pool, 42);     // a message carrying 42
 *     ... hand it to a channel made with kt_msg_free / kt_msg_clone ...
 *     cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
 *     kt_pool_delete(pool);
 */
#ifndef KT_POOL_H
#define KT_POOL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kt_pool kt_pool;

/* A pool with room for `capacity` messages (originals and clones together). */
kt_pool *kt_pool_new(size_t capacity);

/* Frees the pool and every message in it. */
void kt_pool_delete(kt_pool *pool);

/* A new message carrying `value`; aborts when the pool is full. */
void *kt_pool_msg(kt_pool *pool, int value);

/* The value a message carries. */
int kt_msg_value(const void *msg);

/* A channel destructor: counts one free of `msg`. */
void kt_msg_free(void *msg);

/* A channel clone function: a new message from the same pool with the same value. */
void *kt_msg_clone(const void *msg);

/* How many times `msg` was freed so far. */
int kt_msg_frees(const void *msg);

/* Messages made so far (originals and clones), clones made so far, frees counted so far. */
size_t kt_pool_made(kt_pool *pool);
size_t kt_pool_clones(kt_pool *pool);
size_t kt_pool_frees(kt_pool *pool);

/* True when every message made was freed exactly once; otherwise describes the first few that were
 * not. */
bool kt_pool_all_freed_once(kt_pool *pool, char *report, size_t report_size);

#endif
