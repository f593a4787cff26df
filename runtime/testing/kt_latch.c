/* kt_latch.c - a one-time gate for test threads: a flag, a mutex and a condition variable. */
#include "kt_latch.h"

void kt_latch_open(kt_latch *latch) {
    pthread_mutex_lock(&latch->lock);
    latch->opened = true;
    pthread_cond_broadcast(&latch->opened_cond);
    pthread_mutex_unlock(&latch->lock);
}

void kt_latch_wait(kt_latch *latch) {
    pthread_mutex_lock(&latch->lock);
    while (!latch->opened)
        pthread_cond_wait(&latch->opened_cond, &latch->lock);
    pthread_mutex_unlock(&latch->lock);
}

bool kt_latch_is_open(kt_latch *latch) {
    pthread_mutex_lock(&latch->lock);
    bool opened = latch->opened;
    pthread_mutex_unlock(&latch->lock);
    return opened;
}
