/* kt_latch.c - an event counter test threads can wait on: a count, a mutex and a condition
 * variable. */
#include "kt_latch.h"

void kt_latch_init(kt_latch *latch) {
    *latch = (kt_latch)KT_LATCH_INIT;
}

void kt_latch_count(kt_latch *latch) {
    pthread_mutex_lock(&latch->lock);
    latch->count++;
    pthread_cond_broadcast(&latch->counted);
    pthread_mutex_unlock(&latch->lock);
}

void kt_latch_wait(kt_latch *latch, int events) {
    pthread_mutex_lock(&latch->lock);
    while (latch->count < events)
        pthread_cond_wait(&latch->counted, &latch->lock);
    pthread_mutex_unlock(&latch->lock);
}
