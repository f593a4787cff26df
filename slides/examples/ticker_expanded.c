/* ticker_poll with the macros written out: a switch on where it stopped. */
#include "rt.h"

//@slide ticker
typedef struct ticker {
    rt_future base;
    int resume_line; /* 0: start, 14: in the await, -1: done */
    rt_yield_future tick;
    int i;
} ticker;

static rt_poll ticker_poll(rt_future *self, rt_context *cx) {
    ticker *t = (ticker *)self;
    switch (t->resume_line) {
    case 0:
        for (t->i = 0; t->i < 3; t->i++) {
            rt_yield_future_init(&t->tick);
            t->resume_line = 14;
            /* fall through - a later poll jumps straight back in here */
        case 14:
            if (rt_future_poll(&t->tick.base, cx) == RT_PENDING)
                return RT_PENDING;
        }
    }
    t->resume_line = -1;
    return RT_READY;
}
//@end

int main(void) {
    ticker t = {.base = {.poll = ticker_poll, .name = "ticker"}};
    rt_block_on(&t.base);
    return 0;
}
