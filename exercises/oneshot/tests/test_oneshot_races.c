/*
 * test_oneshot_races.c - visible tests of the two sides racing on one channel.
 *
 * Each test forces the one schedule that shows a race instead of hoping the
 * machine produces it: a side is held inside its wake (a waker whose wake
 * waits at a gate), at its next lock, or just after its next unlock
 * (kt_explore.h), while the test does the other side's operation; then it
 * goes on. A channel that decides everything under its lock passes on every
 * run. One that looks at the state before locking, or decides after
 * unlocking which side frees the channel, fails on every run, and says why:
 * a double free names both places that freed, a leak where the block was
 * allocated.
 */
#include "kt_explore.h"
#include "kt_gate.h"
#include "kt_pool.h"
#include "kt_test.h"
#include "kt_waker.h"
#include "oneshot.h"

/* One operation of a forced schedule, run on a thread of its own. */
typedef enum op { SEND, DROP_SENDER, POLL, DROP_RECEIVER } op;
static const char *const op_names[] = {"send", "sender drop", "receive", "receiver drop"};

typedef struct job {
    op what;
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    void *message;      /* SEND */
    rt_waker *waker;    /* POLL */
    kt_gate *then_pass; /* passed after the operation (a test waiting for a wake goes on) */
    oneshot_send_result sent;
    void *returned;
    rt_poll polled;
    void *received;
    oneshot_recv_result result;
} job;

static void run_job(void *arg) {
    job *j = arg;
    if (j->what == SEND) {
        j->sent = oneshot_send(j->sender, j->message, &j->returned);
    } else if (j->what == DROP_SENDER) {
        oneshot_sender_drop(j->sender);
    } else if (j->what == POLL) {
        rt_context cx = rt_context_from_waker(j->waker);
        j->polled = oneshot_receiver_poll_recv(j->receiver, &cx, &j->received, &j->result);
    } else {
        oneshot_receiver_drop(j->receiver);
    }
    if (j->then_pass != NULL)
        kt_gate_pass(j->then_pass);
}

/* Polls by hand; PENDING is expected (the sender is alive and has not sent). */
static void poll_pending(oneshot_receiver *receiver, rt_waker *waker) {
    rt_context cx = rt_context_from_waker(waker);
    void *message;
    oneshot_recv_result result;
    cr_assert_eq(oneshot_receiver_poll_recv(receiver, &cx, &message, &result), RT_PENDING,
                 "a receive before any send, with the sender alive, must be PENDING");
}

static void assert_all_freed_once(kt_pool *pool) {
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report),
              "every message should be freed exactly once: %s", report);
}

KT_TEST(oneshot, receiver_dropped_while_sender_wakes, .timeout = 5,
        .description = "the receiver is dropped while the send (or the sender's drop) is inside "
                       "its wake: one of the two sides frees the channel, once") {
    kt_pool *pool = kt_pool_new(4);
    for (op what = SEND; what <= DROP_SENDER; what++) {
        oneshot_sender *sender;
        oneshot_receiver *receiver;
        oneshot_channel(kt_msg_free, &sender, &receiver);
        kt_gate inside_wake = KT_GATE_INIT;
        kt_hooked_waker hooked = {.on_wake = kt_gate_hook, .arg = &inside_wake};
        rt_waker waker = kt_waker_hooked(&hooked);
        poll_pending(receiver, &waker);
        job side = {.what = what,
                    .sender = sender,
                    .message = kt_pool_msg(pool, 1),
                    .then_pass = &inside_wake};
        kt_stopped_call call;
        kt_stopped_call_start(&call, run_job, &side, KT_STOP_AT_LOCK, NULL);
        kt_gate_wait_reached(&inside_wake); /* the sender's side is inside the wake now */
        /* Once that side has unlocked, the receiver may go and free the channel:
         * the other side must have decided under the lock that it is not the one to free. */
        oneshot_receiver_drop(receiver);
        kt_gate_open(&inside_wake);
        kt_stopped_call_join(&call);
        cr_assert(kt_waker_wakes(&hooked.counts) > 0, "the %s did not wake the stored waker",
                  op_names[what]);
        cr_assert_eq(kt_waker_live(&hooked.counts), 0, "%d waker clone(s) were never dropped",
                     kt_waker_live(&hooked.counts));
        if (what == DROP_SENDER)
            kt_msg_free(side.message); /* never sent: still ours */
        else
            cr_assert_eq(side.sent, ONESHOT_SEND_OK, "a send to a live receiver must succeed");
    }
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(oneshot, both_sides_given_up_at_once, .timeout = 5,
        .description = "the two sides are given up at once, the first caught just after it "
                       "unlocked: one of the two frees the channel, once") {
    const op first[] = {DROP_RECEIVER, DROP_SENDER, SEND};
    kt_pool *pool = kt_pool_new(4);
    for (int i = 0; i < 3; i++) {
        oneshot_sender *sender;
        oneshot_receiver *receiver;
        oneshot_channel(kt_msg_free, &sender, &receiver);
        kt_gate after_unlock = KT_GATE_INIT;
        job side = {.what = first[i],
                    .sender = sender,
                    .receiver = receiver,
                    .message = first[i] == SEND ? kt_pool_msg(pool, i) : NULL};
        kt_stopped_call call;
        kt_stopped_call_start(&call, run_job, &side, KT_STOP_AFTER_UNLOCK, &after_unlock);
        kt_gate_wait_reached(&after_unlock);
        /* The first side has unlocked and must have decided whether it frees:
         * the other side now finds it gone and frees the channel. */
        if (first[i] == DROP_RECEIVER)
            oneshot_sender_drop(sender);
        else
            oneshot_receiver_drop(receiver);
        kt_gate_open(&after_unlock);
        kt_stopped_call_join(&call);
    }
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(oneshot, send_decides_under_the_lock, .timeout = 5,
        .description = "a send held at its lock while the receiver is dropped hands the message "
                       "back (it must look at the receiver under the lock)") {
    kt_pool *pool = kt_pool_new(4);
    oneshot_sender *sender;
    oneshot_receiver *receiver;
    oneshot_channel(kt_msg_free, &sender, &receiver);
    job send = {.what = SEND, .sender = sender, .message = kt_pool_msg(pool, 7)};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &send, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    oneshot_receiver_drop(receiver);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    if (kt_gate_was_held(&at_lock))
        cr_assert_eq(send.sent, ONESHOT_SEND_RECEIVER_DROPPED,
                     "the receiver was dropped before the send took the lock, yet the send stored "
                     "the message: a look at the receiver before locking is out of date by the "
                     "time the message is stored (decide under the lock)");
    if (send.sent == ONESHOT_SEND_RECEIVER_DROPPED) {
        cr_assert_eq(send.returned, send.message, "a refused send must hand the message back");
        kt_msg_free(send.returned);
    }
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(oneshot, receive_decides_under_the_lock, .timeout = 5,
        .description = "a receive held at its lock while the sender sends (or is dropped) finds "
                       "the message (or CLOSED): it must look at the state under the lock") {
    kt_pool *pool = kt_pool_new(4);
    for (op other = SEND; other <= DROP_SENDER; other++) {
        oneshot_sender *sender;
        oneshot_receiver *receiver;
        oneshot_channel(kt_msg_free, &sender, &receiver);
        kt_waker_counts counts = {0};
        rt_waker waker = kt_waker(&counts);
        job poll = {.what = POLL, .receiver = receiver, .waker = &waker};
        kt_gate at_lock = KT_GATE_INIT;
        kt_stopped_call call;
        kt_stopped_call_start(&call, run_job, &poll, KT_STOP_AT_LOCK, &at_lock);
        kt_gate_wait_reached(&at_lock);
        void *sent = kt_pool_msg(pool, 3), *back;
        if (other == SEND)
            cr_assert_eq(oneshot_send(sender, sent, &back), ONESHOT_SEND_OK);
        else
            oneshot_sender_drop(sender);
        kt_gate_open(&at_lock);
        kt_stopped_call_join(&call);
        if (poll.polled == RT_PENDING)
            cr_assert_gt(kt_waker_wakes(&counts), 0,
                         "the %s happened before the receive took the lock, yet the receive "
                         "answered PENDING and nobody will wake it: it looked at the state "
                         "before locking (look, and store the waker, under one lock)",
                         op_names[other]);
        if (poll.polled == RT_READY) {
            cr_assert_eq(poll.result, other == SEND ? ONESHOT_RECV_MESSAGE : ONESHOT_RECV_CLOSED);
            if (other == SEND)
                kt_msg_free(poll.received);
        }
        if (other == DROP_SENDER)
            kt_msg_free(sent); /* never sent */
        oneshot_receiver_drop(receiver);
        cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                     kt_waker_live(&counts));
    }
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}
