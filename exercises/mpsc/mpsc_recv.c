/* mpsc_recv.c - a receive future and a blocking receive over the student's poll function. */
#include "mpsc_recv.h"

#include <stddef.h>

static rt_poll recv_poll(rt_future *self, rt_context *cx) {
    mpsc_recv_future *future = (mpsc_recv_future *)self;
    return mpsc_receiver_poll_recv(future->rx, cx, &future->message, &future->status);
}

void mpsc_recv_future_init(mpsc_recv_future *future, mpsc_receiver *rx) {
    /* The name is what a lost-waker diagnosis shows as "pending in mpsc_recv". */
    *future = (mpsc_recv_future){
        .base = {.poll = recv_poll, .drop = NULL, .name = "mpsc_recv"},
        .rx = rx,
        .message = NULL,
        .status = MPSC_CLOSED,
    };
}

mpsc_recv_status mpsc_recv_blocking(mpsc_receiver *rx, void **message) {
    mpsc_recv_future future;
    mpsc_recv_future_init(&future, rx);
    rt_block_on(&future.base);
    *message = future.message;
    return future.status;
}
