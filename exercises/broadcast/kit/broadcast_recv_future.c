/* broadcast_recv_future.c - a receive future and a blocking receive over the poll function. */
#include "broadcast_recv_future.h"

#include <stddef.h>

#include "rt_block_on.h"

static rt_poll broadcast_recv_poll(rt_future *self, rt_context *cx) {
    broadcast_recv_future *f = (broadcast_recv_future *)self;
    return broadcast_receiver_poll_recv(f->receiver, cx, &f->message, &f->result, &f->missed);
}

void broadcast_recv_future_init(broadcast_recv_future *future, broadcast_receiver *receiver) {
    *future = (broadcast_recv_future){
        .base = {.poll = broadcast_recv_poll, .drop = NULL, .name = "broadcast_recv"},
        .receiver = receiver,
        .message = NULL,
        .missed = 0,
    };
}

broadcast_recv_result broadcast_recv_blocking(broadcast_receiver *receiver, void **message,
                                              uint64_t *missed) {
    broadcast_recv_future recv;
    broadcast_recv_future_init(&recv, receiver);
    rt_block_on(&recv.base);
    if (recv.result == BROADCAST_RECV_MESSAGE)
        *message = recv.message;
    if (recv.result == BROADCAST_RECV_LAGGED && missed != NULL)
        *missed = recv.missed;
    return recv.result;
}
