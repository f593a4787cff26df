/* oneshot_recv_future.c - a receive future and a blocking receive over the student's poll function.
 */
#include "oneshot_recv_future.h"

#include <stddef.h>

static rt_poll recv_poll(rt_future *self, rt_context *cx) {
    oneshot_recv_future *future = (oneshot_recv_future *)self;
    return oneshot_receiver_poll_recv(future->receiver, cx, &future->message, &future->result);
}

void oneshot_recv_future_init(oneshot_recv_future *future, oneshot_receiver *receiver) {
    /* The name is what a lost-waker diagnosis shows as "pending in oneshot_recv". */
    *future = (oneshot_recv_future){
        .base = {.poll = recv_poll, .drop = NULL, .name = "oneshot_recv"},
        .receiver = receiver,
        .message = NULL,
        .result = ONESHOT_RECV_CLOSED,
    };
}

oneshot_recv_result oneshot_recv_blocking(oneshot_receiver *receiver, void **message) {
    oneshot_recv_future future;
    oneshot_recv_future_init(&future, receiver);
    rt_block_on(&future.base);
    *message = future.message;
    return future.result;
}
