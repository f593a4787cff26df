/* An async function, written with the kit's macros. */
#include "rt.h"

//@slide ticker
typedef struct ticker {
    rt_future base;
    rt_async co;          /* where to resume */
    rt_yield_future tick; /* lives across an await: a field */
    int i;                /* so does the loop counter */
} ticker;

static rt_poll ticker_poll(rt_future *self, rt_context *cx) {
    ticker *t = (ticker *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < 3; t->i++) {
        rt_yield_future_init(&t->tick);
        RT_AWAIT(&t->co, cx, &t->tick.base);
    }
    RT_ASYNC_END(&t->co);
}
//@end

int main(void) {
    ticker t = {.base = {.poll = ticker_poll, .name = "ticker"}};
    rt_block_on(&t.base);
    return 0;
}
