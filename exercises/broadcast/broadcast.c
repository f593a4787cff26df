/*
 * broadcast.c - a broadcast channel: every receiver gets every message.
 *
 * The rules are in broadcast.h; read it first. This file is yours: choose
 * the types, then write each function. The README's hints suggest one way.
 */
#include "broadcast.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_todo.h"
#include "rt_waker.h"

/*
 * TODO: define struct broadcast_sender and struct broadcast_receiver here,
 * and the shared channel state they both point to. Every function below
 * needs them; the README's hints describe one design.
 */

void broadcast_channel(broadcast_free_fn free_message, broadcast_clone_fn clone_message,
                       size_t capacity, broadcast_sender **sender, broadcast_receiver **receiver) {
    (void)free_message;
    (void)clone_message;
    (void)capacity;
    (void)sender;
    (void)receiver;
    TODO("make the channel state with one sender and one receiver");
}

broadcast_send_result broadcast_send(broadcast_sender *sender, void *message, void **returned,
                                     size_t *reached) {
    (void)sender;
    (void)message;
    (void)reached;
    (void)returned;
    TODO("queue the message for every receiver, then wake the pending ones after unlocking");
}

broadcast_sender *broadcast_sender_clone(const broadcast_sender *sender) {
    (void)sender;
    TODO("make another sender for the same channel");
}

void broadcast_sender_drop(broadcast_sender *sender) {
    (void)sender;
    TODO("drop the sender; the last one wakes every pending receiver");
}

broadcast_receiver *broadcast_sender_subscribe(const broadcast_sender *sender) {
    (void)sender;
    TODO("make a receiver that gets only the messages sent from now on");
}

broadcast_receiver *broadcast_receiver_subscribe(const broadcast_receiver *receiver) {
    (void)receiver;
    TODO("make a receiver that gets only the messages sent from now on");
}

rt_poll broadcast_receiver_poll_recv(broadcast_receiver *receiver, rt_context *cx, void **message,
                                     broadcast_recv_result *result, uint64_t *missed) {
    (void)receiver;
    (void)cx;
    (void)message;
    (void)result;
    (void)missed;
    TODO("hand out a copy of the next message, LAGGED or CLOSED; else store the waker");
}

void broadcast_receiver_drop(broadcast_receiver *receiver) {
    (void)receiver;
    TODO("release this receiver's claim on every message it did not take, then free it");
}
