/*
 * test_broadcast_races.c - visible tests of threads racing on one channel.
 *
 * Each test forces the one schedule that shows a race instead of hoping the
 * machine produces it: a thread is held inside a wake (a waker whose wake
 * waits at a gate), at its next lock, or just after its next unlock
 * (kt_explore.h), while the test does the racing operation; then it goes on.
 * A channel that decides everything under its lock passes on every run. One
 * that looks at its state before locking, decides after unlocking who frees
 * the channel, or wakes before the message is in place, fails on every run
 * and says why: a double free names both places that freed, a leak where
 * the block was allocated.
 */
#include "broadcast.h"
#include "kt_explore.h"
#include "kt_gate.h"
#include "kt_pool.h"
#include "kt_test.h"
#include "kt_waker.h"

/* One operation of a forced schedule, run on a thread of its own. */
typedef enum op { SEND, DROP_SENDER, POLL, DROP_RECEIVER } op;

typedef struct job {
    op what;
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    void *message;      /* SEND */
    rt_waker *waker;    /* POLL */
    kt_gate *then_pass; /* passed after the operation (a test waiting for a wake goes on) */
    broadcast_send_result sent;
    void *returned;
    size_t reached;
    rt_poll polled;
    void *received;
    broadcast_recv_result result;
} job;

static void run_job(void *arg) {
    job *j = arg;
    if (j->what == SEND) {
        j->sent = broadcast_send(j->sender, j->message, &j->returned, &j->reached);
    } else if (j->what == DROP_SENDER) {
        broadcast_sender_drop(j->sender);
    } else if (j->what == POLL) {
        rt_context cx = rt_context_from_waker(j->waker);
        j->polled = broadcast_receiver_poll_recv(j->receiver, &cx, &j->received, &j->result, NULL);
    } else {
        broadcast_receiver_drop(j->receiver);
    }
    if (j->then_pass != NULL)
        kt_gate_pass(j->then_pass);
}

static rt_poll poll_once(broadcast_receiver *receiver, const rt_waker *waker, void **message,
                         broadcast_recv_result *result) {
    rt_context cx = rt_context_from_waker(waker);
    return broadcast_receiver_poll_recv(receiver, &cx, message, result, NULL);
}

static void assert_all_freed_once(kt_pool *pool) {
    char report[512];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report),
              "every message and every copy must be freed exactly once: %s", report);
}

KT_TEST(broadcast, last_receiver_dropped_while_last_sender_wakes, .timeout = 5,
        .description = "the last receiver is dropped while the last sender's drop is inside its "
                       "wake: one of the two frees the channel, once") {
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    kt_gate inside_wake = KT_GATE_INIT;
    kt_hooked_waker hooked = {.on_wake = kt_gate_hook, .arg = &inside_wake};
    rt_waker waker = kt_waker_hooked(&hooked);
    void *message;
    broadcast_recv_result result;
    cr_assert_eq(poll_once(receiver, &waker, &message, &result), RT_PENDING,
                 "a receive with nothing sent and a sender alive must be PENDING");
    job drop = {.what = DROP_SENDER, .sender = sender, .then_pass = &inside_wake};
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &drop, KT_STOP_AT_LOCK, NULL);
    kt_gate_wait_reached(&inside_wake); /* the last sender's drop is inside the wake now */
    /* The sender's drop is not finished with the channel while it wakes:
     * the receiver's drop must not free it, or the drop must not touch it again. */
    broadcast_receiver_drop(receiver);
    kt_gate_open(&inside_wake);
    kt_stopped_call_join(&call);
    cr_assert(kt_waker_wakes(&hooked.counts) > 0,
              "dropping the last sender did not wake the pending receiver");
    cr_assert_eq(kt_waker_live(&hooked.counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&hooked.counts));
}

KT_TEST(broadcast, last_handles_dropped_at_once, .timeout = 5,
        .description = "the last two handles are dropped at once, the first caught just after it "
                       "unlocked: one of the two frees the channel, once") {
    kt_pool *pool = kt_pool_new(10);
    for (int round = 0; round < 2; round++) {
        /* round 0: two receivers go, the senders gone already; round 1: a receiver and the
         * last sender */
        broadcast_sender *sender;
        broadcast_receiver *first, *second = NULL;
        broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &first);
        size_t reached;
        void *back;
        if (round == 0) {
            second = broadcast_sender_subscribe(sender);
            cr_assert_eq(broadcast_send(sender, kt_pool_msg(pool, round), &back, &reached),
                         BROADCAST_SEND_OK);
            broadcast_sender_drop(sender);
        } else {
            cr_assert_eq(broadcast_send(sender, kt_pool_msg(pool, round), &back, &reached),
                         BROADCAST_SEND_OK);
        }
        kt_gate after_unlock = KT_GATE_INIT;
        job drop = {.what = DROP_RECEIVER, .receiver = first};
        kt_stopped_call call;
        kt_stopped_call_start(&call, run_job, &drop, KT_STOP_AFTER_UNLOCK, &after_unlock);
        kt_gate_wait_reached(&after_unlock);
        /* The first drop has unlocked and must have decided whether it frees:
         * the other handle now finds it gone and frees the channel. */
        if (round == 0)
            broadcast_receiver_drop(second);
        else
            broadcast_sender_drop(sender);
        kt_gate_open(&after_unlock);
        kt_stopped_call_join(&call);
    }
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, send_decides_under_the_lock, .timeout = 5,
        .description = "a send held at its lock while the only receiver is dropped hands the "
                       "message back (it must count the receivers under the lock)") {
    kt_pool *pool = kt_pool_new(4);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    job send = {.what = SEND, .sender = sender, .message = kt_pool_msg(pool, 7)};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &send, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    broadcast_receiver_drop(receiver);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    if (kt_gate_was_held(&at_lock))
        cr_assert_eq(send.sent, BROADCAST_SEND_NO_RECEIVERS,
                     "the only receiver was dropped before the send took the lock, yet the send "
                     "kept the message (reaching %zu receivers): a count of the receivers made "
                     "before locking is out of date by then (count under the lock)",
                     send.reached);
    if (send.sent == BROADCAST_SEND_NO_RECEIVERS) {
        cr_assert_eq(send.returned, send.message, "a refused send must hand the message back");
        kt_msg_free(send.returned);
    }
    broadcast_sender_drop(sender);
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

KT_TEST(broadcast, receive_decides_under_the_lock, .timeout = 5,
        .description = "a receive held at its lock while a message is sent finds that message "
                       "(it must look for new messages under the lock)") {
    kt_pool *pool = kt_pool_new(4);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    job poll = {.what = POLL, .receiver = receiver, .waker = &waker};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &poll, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    size_t reached;
    void *back;
    cr_assert_eq(broadcast_send(sender, kt_pool_msg(pool, 5), &back, &reached), BROADCAST_SEND_OK);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    if (poll.polled == RT_PENDING)
        cr_assert_gt(kt_waker_wakes(&counts), 0,
                     "the message was sent before the receive took the lock, yet the receive "
                     "answered PENDING and nobody will wake it: it looked for new messages "
                     "before locking (look, and store the waker, under one lock)");
    void *message = poll.received;
    broadcast_recv_result result = poll.result;
    if (poll.polled == RT_PENDING)
        cr_assert_eq(poll_once(receiver, &waker, &message, &result), RT_READY);
    cr_assert_eq(result, BROADCAST_RECV_MESSAGE);
    cr_assert_eq(kt_msg_value(message), 5);
    kt_msg_free(message);
    broadcast_receiver_drop(receiver);
    broadcast_sender_drop(sender);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}

/* What a receiver polled from inside its own wake found (a task woken this very moment). */
typedef struct probe {
    broadcast_receiver *receiver;
    int polls;
    rt_poll polled;
    void *message;
    broadcast_recv_result result;
} probe;

static void poll_from_wake(void *arg) {
    probe *p = arg;
    if (p->polls++ > 0)
        return;
    rt_waker noop = rt_waker_noop();
    p->polled = poll_once(p->receiver, &noop, &p->message, &p->result);
}

KT_TEST(broadcast, woken_receiver_finds_the_message, .timeout = 5,
        .description = "a receiver polled from inside the wake a send gave it finds the message "
                       "(the send stores it before waking)") {
    kt_pool *pool = kt_pool_new(4);
    broadcast_sender *sender;
    broadcast_receiver *receiver;
    broadcast_channel(kt_msg_free, kt_msg_clone, 0, &sender, &receiver);
    probe p = {.receiver = receiver};
    kt_hooked_waker hooked = {.on_wake = poll_from_wake, .arg = &p};
    rt_waker waker = kt_waker_hooked(&hooked);
    void *message;
    broadcast_recv_result result;
    cr_assert_eq(poll_once(receiver, &waker, &message, &result), RT_PENDING);
    size_t reached;
    void *back;
    cr_assert_eq(broadcast_send(sender, kt_pool_msg(pool, 9), &back, &reached), BROADCAST_SEND_OK);
    cr_assert_eq(p.polls, 1, "the send must wake the pending receiver once (woken %d times)",
                 p.polls);
    cr_assert_eq(p.polled, RT_READY,
                 "the receiver was woken but found nothing: the send woke it before the message "
                 "was in place (store the message, then wake)");
    cr_assert_eq(p.result, BROADCAST_RECV_MESSAGE);
    cr_assert_eq(kt_msg_value(p.message), 9);
    kt_msg_free(p.message);
    broadcast_receiver_drop(receiver);
    broadcast_sender_drop(sender);
    cr_assert_eq(kt_waker_live(&hooked.counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&hooked.counts));
    assert_all_freed_once(pool);
    kt_pool_delete(pool);
}
