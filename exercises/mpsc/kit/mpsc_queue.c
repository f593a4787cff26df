/* mpsc_queue.c - the ring buffer behind the channel. */
#include "mpsc_queue.h"

#include <stdio.h>
#include <stdlib.h>

static void grow(mpsc_queue *q) {
    size_t capacity = q->capacity ? q->capacity * 2 : 16;
    void **slots = malloc(capacity * sizeof *slots);
    if (slots == NULL) {
        fprintf(stderr, "mpsc_queue: out of memory\n");
        abort();
    }
    /* Unroll the ring so the oldest item lands in slot 0. */
    for (size_t i = 0; i < q->len; i++)
        slots[i] = q->slots[(q->head + i) & (q->capacity - 1)];
    free(q->slots);
    q->slots = slots;
    q->capacity = capacity;
    q->head = 0;
}

void mpsc_queue_push(mpsc_queue *q, void *item) {
    if (q->len == q->capacity)
        grow(q);
    /* The capacity is a power of two, so masking wraps the index around. */
    q->slots[(q->head + q->len) & (q->capacity - 1)] = item;
    q->len++;
}

bool mpsc_queue_pop(mpsc_queue *q, void **item) {
    if (q->len == 0)
        return false;
    *item = q->slots[q->head];
    q->head = (q->head + 1) & (q->capacity - 1);
    q->len--;
    return true;
}

size_t mpsc_queue_len(const mpsc_queue *q) {
    return q->len;
}

void mpsc_queue_swap(mpsc_queue *a, mpsc_queue *b) {
    mpsc_queue tmp = *a;
    *a = *b;
    *b = tmp;
}

void mpsc_queue_free(mpsc_queue *q) {
    free(q->slots);
    *q = MPSC_QUEUE_EMPTY;
}
