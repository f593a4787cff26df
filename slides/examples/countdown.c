/* A future by hand: READY after `left` more polls. */
#include "rt.h"

typedef struct countdown {
    rt_future base; /* first: a countdown * is an rt_future * */
    int left;
} countdown;

static rt_poll countdown_poll(rt_future *self, rt_context *cx) {
    countdown *c = (countdown *)self;
    if (c->left == 0)
        return RT_READY;
    c->left--;
    /* Not done: ask to be polled again before saying PENDING. */
    rt_waker_wake_by_ref(cx->waker);
    return RT_PENDING;
}

int main(void) {
    countdown c = {.base = {.poll = countdown_poll, .name = "countdown"}, .left = 3};
    rt_block_on(&c.base); /* polls four times */
    return 0;
}
