/*
 * mpsc_queue.h - a growable FIFO of pointers, the C form of Rust's VecDeque.
 *
 * The channel keeps its messages in one of these. It is a ring buffer: pushing
 * and popping cost no allocation once it has grown to the largest size it
 * needs, which keeps sending cheap. It has no lock of its own: whoever uses
 * it guards it (the channel, with its mutex).
 *
 *     #include <stdlib.h>
 *
 *     void example(void) {
 *         mpsc_queue q = MPSC_QUEUE_EMPTY;
 *         mpsc_queue_push(&q, malloc(16));
 *         void *item;
 *         while (mpsc_queue_pop(&q, &item))
 *             free(item);
 *         mpsc_queue_free(&q);
 *     }
 */
#ifndef MPSC_QUEUE_H
#define MPSC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mpsc_queue {
    void **slots; /* ring of `capacity` slots (a power of two), or NULL */
    size_t capacity;
    size_t head; /* index of the oldest item */
    size_t len;  /* items held */
} mpsc_queue;

/* An empty queue with no storage yet: mpsc_queue q = MPSC_QUEUE_EMPTY; */
#define MPSC_QUEUE_EMPTY ((mpsc_queue){NULL, 0, 0, 0})

/* Appends `item` (any pointer, NULL included) at the back. Aborts when out of memory. */
void mpsc_queue_push(mpsc_queue *q, void *item);

/* Takes the oldest item into *item and returns true; returns false when empty. */
bool mpsc_queue_pop(mpsc_queue *q, void **item);

/* How many items the queue holds. */
size_t mpsc_queue_len(const mpsc_queue *q);

/*
 * Exchanges the contents of two queues in constant time. Handy to take every
 * item out of a shared queue in one step while holding its lock, and to
 * look at them after unlocking.
 */
void mpsc_queue_swap(mpsc_queue *a, mpsc_queue *b);

/* Frees the queue's storage (not the items: pop them first) and leaves it empty. */
void mpsc_queue_free(mpsc_queue *q);

#endif
