/* mpsc_recv_future.c - a receive future and a blocking receive over the student's poll function. */
#include "mpsc_recv_future.h"

#include <stddef.h>

static rt_poll recv_poll(rt_future *self, rt_context *cx) {
    mpsc_recv_future *future = (mpsc_recv_future *)self;
    return mpsc_receiver_poll_recv(future->receiver, cx, &future->message, &future->result);
}

void mpsc_recv_future_init(mpsc_recv_future *future, mpsc_receiver *receiver) {
    /* The name is what a lost-waker diagnosis shows as "pending in mpsc_recv". */
    *future = (mpsc_recv_future){
        .base = {.poll = recv_poll, .drop = NULL, .name = "mpsc_recv"},
        .receiver = receiver,
        .message = NULL,
        .result = MPSC_RECV_CLOSED,
    };
}

mpsc_recv_result mpsc_recv_blocking(mpsc_receiver *receiver, void **message) {
    mpsc_recv_future future;
    mpsc_recv_future_init(&future, receiver);
    rt_block_on(&future.base);
    *message = future.message;
    return future.result;
}
