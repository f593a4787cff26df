/* kt_pool.c - counted test messages. */
#include "kt_pool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* First in every message, so a pointer that is not one is seen (read as 4 bytes: a test's own
 * stand-in message may be as small as an int). */
#define KT_MSG_MAGIC 0x6b746d73u

typedef struct kt_msg {
    uint32_t magic;
    kt_pool *pool;
    int value;
    size_t index;
    atomic_int frees;
} kt_msg;

struct kt_pool {
    kt_msg *slots;
    size_t capacity;
    atomic_size_t made;
    atomic_size_t clones;
    atomic_size_t frees;
};

kt_pool *kt_pool_new(size_t capacity) {
    kt_pool *pool = calloc(1, sizeof *pool);
    if (pool != NULL)
        pool->slots = calloc(capacity, sizeof *pool->slots);
    if (pool == NULL || pool->slots == NULL) {
        fprintf(stderr, "kt_pool_new: out of memory\n");
        abort();
    }
    pool->capacity = capacity;
    return pool;
}

void kt_pool_delete(kt_pool *pool) {
    free(pool->slots);
    free(pool);
}

void *kt_pool_msg(kt_pool *pool, int value) {
    size_t index = atomic_fetch_add(&pool->made, 1);
    if (index >= pool->capacity) {
        fprintf(stderr, "kt_pool_msg: pool of %zu messages is full\n", pool->capacity);
        abort();
    }
    kt_msg *msg = &pool->slots[index];
    msg->magic = KT_MSG_MAGIC;
    msg->pool = pool;
    msg->value = value;
    msg->index = index;
    atomic_init(&msg->frees, 0);
    return msg;
}

int kt_msg_value(const void *msg) {
    return ((const kt_msg *)msg)->value;
}

/* A NULL or foreign pointer given to the destructor or the clone function: say so, then stop
 * (it would otherwise crash here with no word of why). */
static void check_message(const void *msg, const char *who) {
    if (msg != NULL && *(const uint32_t *)msg == KT_MSG_MAGIC)
        return;
    fprintf(stderr,
            "[kit] the channel called its %s function with %s, not a message it owns: a message "
            "it had handed out already, or a slot it had emptied\n",
            who, msg == NULL ? "NULL" : "a pointer the test never gave it to keep");
    fflush(stderr);
    abort();
}

void kt_msg_free(void *msg) {
    check_message(msg, "free");
    kt_msg *m = msg;
    atomic_fetch_add(&m->frees, 1);
    atomic_fetch_add(&m->pool->frees, 1);
}

void *kt_msg_clone(const void *msg) {
    check_message(msg, "clone");
    const kt_msg *m = msg;
    atomic_fetch_add(&m->pool->clones, 1);
    return kt_pool_msg(m->pool, m->value);
}

int kt_msg_frees(const void *msg) {
    return atomic_load(&((kt_msg *)msg)->frees);
}

size_t kt_pool_made(kt_pool *pool) {
    return atomic_load(&pool->made);
}

size_t kt_pool_clones(kt_pool *pool) {
    return atomic_load(&pool->clones);
}

size_t kt_pool_frees(kt_pool *pool) {
    return atomic_load(&pool->frees);
}

bool kt_pool_all_freed_once(kt_pool *pool, char *report, size_t report_size) {
    size_t made = kt_pool_made(pool), wrong = 0, len = 0;
    if (report_size > 0)
        report[0] = '\0';
    for (size_t i = 0; i < made; i++) {
        int frees = atomic_load(&pool->slots[i].frees);
        if (frees == 1)
            continue;
        if (wrong++ < 4 && len < report_size) {
            int n =
                snprintf(report + len, report_size - len, "%smessage %zu (value %d) freed %d times",
                         len ? "; " : "", i, pool->slots[i].value, frees);
            if (n > 0)
                len += (size_t)n;
        }
    }
    if (wrong > 4 && len < report_size)
        snprintf(report + len, report_size - len, "; and %zu more", wrong - 4);
    return wrong == 0;
}
