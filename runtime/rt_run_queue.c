/* rt_run_queue.c - the shared run queue: a growing ring buffer of scheduled tasks. */
#include "rt_run_queue.h"

#include <stdlib.h>

#include "rt_internal.h"

void rt__run_queue_push(rt__run_queue *q, rt__task *t) {
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        rt__task **ring = rt__calloc(cap * sizeof *ring, "rt_executor");
        for (size_t i = 0; i < q->len; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->len) % q->cap] = t;
    q->len++;
}

rt__task *rt__run_queue_pop(rt__run_queue *q, rt_shake_rng *shake) {
    if (shake != NULL && q->len > 1) {
        /* Swap the pick to the front, then take the front. */
        size_t pick = rt_shake_next(shake) % q->len;
        size_t a = q->head, b = (q->head + pick) % q->cap;
        rt__task *swap = q->ring[a];
        q->ring[a] = q->ring[b];
        q->ring[b] = swap;
    }
    rt__task *t = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return t;
}

void rt__run_queue_free(rt__run_queue *q) {
    free(q->ring);
    *q = (rt__run_queue){0};
}
