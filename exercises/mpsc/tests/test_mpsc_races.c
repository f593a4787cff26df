/*
 * test_mpsc_races.c - visible tests of two threads racing on one channel.
 *
 * Each test forces the one schedule that shows a race instead of hoping the
 * machine produces it: a thread is held inside a wake (a waker whose wake
 * waits at a gate), at its next lock, or just after its next unlock
 * (kt_explore.h), while the test does the racing operation; then it goes on.
 * A channel that decides everything under its lock passes each test on
 * every run. One that looks at its state before locking, or decides after
 * unlocking who frees the channel, fails on every run, and says why: a
 * double free names both places that freed, a leak where the block was
 * allocated.
 */
#include "kt_explore.h"
#include "kt_gate.h"
#include "kt_pool.h"
#include "mpsc_testing.h"

/* What a thread of a forced schedule does: one operation on one handle. */
typedef struct job {
    mpsc_sender *sender;     /* dropped, or sent on when `message` is set */
    mpsc_receiver *receiver; /* dropped, or polled with `waker` when it is set */
    void *message;
    rt_waker *waker;
    kt_gate *then_pass; /* passed after the operation (a test waiting for a wake goes on) */
    /* what came out */
    mpsc_send_result sent;
    void *returned;
    rt_poll polled;
    void *received;
    mpsc_recv_result result;
} job;

static void run_job(void *arg) {
    job *j = arg;
    if (j->sender != NULL && j->message != NULL)
        j->sent = mpsc_send(j->sender, j->message, &j->returned);
    else if (j->sender != NULL)
        mpsc_sender_drop(j->sender);
    else if (j->waker != NULL)
        j->polled = poll_with(j->receiver, j->waker, &j->received, &j->result);
    else
        mpsc_receiver_drop(j->receiver);
    if (j->then_pass != NULL)
        kt_gate_pass(j->then_pass);
}

KT_TEST(mpsc, receiver_dropped_while_last_sender_wakes, .timeout = 5,
        .description = "the receiver is dropped while the last sender's drop is inside its wake: "
                       "one of the two frees the channel, once") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_gate inside_wake = KT_GATE_INIT;
    kt_hooked_waker hooked = {.on_wake = kt_gate_hook, .arg = &inside_wake};
    rt_waker waker = kt_waker_hooked(&hooked);
    void *message;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &message, &result), RT_PENDING,
                 "a receive on an empty channel with a live sender must be PENDING");

    job drop = {.sender = sender, .then_pass = &inside_wake};
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &drop, KT_STOP_AT_LOCK, NULL);
    kt_gate_wait_reached(&inside_wake); /* the last sender's drop is inside the wake now */
    /* Once the drop has unlocked, the receiver may go and free the channel:
     * the drop must have decided under the lock that it is not the one to free. */
    mpsc_receiver_drop(receiver);
    kt_gate_open(&inside_wake);
    kt_stopped_call_join(&call);
    cr_assert(kt_gate_was_held(&inside_wake),
              "dropping the last sender did not wake the receiver's stored waker");
    cr_assert_eq(kt_waker_live(&hooked.counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&hooked.counts));
}

KT_TEST(mpsc, last_two_drops_decided_under_the_lock, .timeout = 5,
        .description = "the last sender and the receiver are dropped at once, each side caught "
                       "just after it unlocked: one of the two frees the channel, once") {
    for (int receiver_first = 0; receiver_first < 2; receiver_first++) {
        mpsc_sender *sender;
        mpsc_receiver *receiver;
        mpsc_channel(NULL, &sender, &receiver);
        kt_gate after_unlock = KT_GATE_INIT;
        job first = receiver_first ? (job){.receiver = receiver} : (job){.sender = sender};
        kt_stopped_call call;
        kt_stopped_call_start(&call, run_job, &first, KT_STOP_AFTER_UNLOCK, &after_unlock);
        kt_gate_wait_reached(&after_unlock);
        /* The first drop has unlocked and must have decided whether it frees:
         * the second drop now sees no other handle and frees the channel. */
        if (receiver_first)
            mpsc_sender_drop(sender);
        else
            mpsc_receiver_drop(receiver);
        kt_gate_open(&after_unlock);
        kt_stopped_call_join(&call);
    }
}

KT_TEST(mpsc, send_decides_under_the_lock, .timeout = 5,
        .description = "a send held at its lock while the receiver is dropped hands the message "
                       "back (it must look at the receiver under the lock)") {
    kt_pool *pool = kt_pool_new(10);
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(kt_msg_free, &sender, &receiver);
    void *sent = kt_pool_msg(pool, 7);
    job send = {.sender = sender, .message = sent};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &send, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    mpsc_receiver_drop(receiver);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    if (kt_gate_was_held(&at_lock))
        cr_assert_eq(send.sent, MPSC_SEND_RECEIVER_DROPPED,
                     "the receiver was dropped before the send took the lock, yet the send "
                     "queued the message: a look at the receiver before locking is out of date by "
                     "the time the message is queued (decide under the lock)");
    if (send.sent == MPSC_SEND_RECEIVER_DROPPED) {
        cr_assert_eq(send.returned, sent, "a refused send must hand the message back");
        kt_msg_free(send.returned);
    }
    mpsc_sender_drop(sender);
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    kt_pool_delete(pool);
}

KT_TEST(mpsc, receive_decides_under_the_lock, .timeout = 5,
        .description = "a receive held at its lock while a message is sent finds that message "
                       "(it must look at the queue under the lock)") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    job poll = {.receiver = receiver, .waker = &waker};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &poll, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    void *back;
    cr_assert_eq(mpsc_send(sender, tag(0, 0), &back), MPSC_SEND_OK);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    if (poll.polled == RT_PENDING)
        cr_assert_gt(kt_waker_wakes(&counts), 0,
                     "the message was queued before the receive took the lock, yet the receive "
                     "answered PENDING and nobody will wake it: it looked at the queue before "
                     "locking (look, and store the waker, under one lock)");
    void *message = NULL;
    mpsc_recv_result result;
    if (poll.polled == RT_READY)
        message = poll.received, result = poll.result;
    else
        cr_assert_eq(poll_with(receiver, &waker, &message, &result), RT_READY);
    cr_assert_eq(result, MPSC_RECV_MESSAGE);
    cr_assert_eq(message, tag(0, 0), "the receive handed out something that was not sent");
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
}

KT_TEST(mpsc, send_takes_the_waker_under_the_lock, .timeout = 5,
        .description = "a receiver that stores its waker while a send waits at its lock is woken "
                       "by that send (it must take the waker under the lock)") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    job send = {.sender = sender, .message = tag(0, 0)};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &send, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *message;
    mpsc_recv_result result;
    rt_poll early = poll_with(receiver, &waker, &message, &result);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    if (kt_gate_was_held(&at_lock) && early == RT_PENDING)
        cr_assert_eq(kt_waker_wakes(&counts), 1,
                     "the receiver stored its waker before the send took the lock, but the send "
                     "did not wake it: it looked for a stored waker before locking (take it "
                     "under the lock)");
    cr_assert_eq(send.sent, MPSC_SEND_OK);
    if (early == RT_PENDING)
        cr_assert_eq(poll_with(receiver, &waker, &message, &result), RT_READY);
    cr_assert_eq(message, tag(0, 0));
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc, last_sender_counted_under_the_lock, .timeout = 5,
        .description = "two senders dropped at once, one held at its lock: the receiver is woken "
                       "once both are gone (count the senders under the lock)") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    mpsc_sender *other = mpsc_sender_clone(sender);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *message;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &message, &result), RT_PENDING);
    job drop = {.sender = sender};
    kt_gate at_lock = KT_GATE_INIT;
    kt_stopped_call call;
    kt_stopped_call_start(&call, run_job, &drop, KT_STOP_AT_LOCK, &at_lock);
    kt_gate_wait_reached(&at_lock);
    mpsc_sender_drop(other);
    kt_gate_open(&at_lock);
    kt_stopped_call_join(&call);
    cr_assert_eq(kt_waker_wakes(&counts), 1,
                 "both senders are gone but the receiver was woken %d times, not once: was a "
                 "sender count read before locking?",
                 kt_waker_wakes(&counts));
    cr_assert_eq(poll_with(receiver, &waker, &message, &result), RT_READY);
    cr_assert_eq(result, MPSC_RECV_CLOSED);
    mpsc_receiver_drop(receiver);
}
