/*
 * test_mpsc.c - the visible tests of the mpsc exercise.
 *
 * The first tests poll the receiver by hand with a counting waker, so what
 * happens to wakers is checked exactly, one step at a time. The last ones
 * run real tasks and threads; the executors there shake the schedule from a
 * fixed seed (RT_SHAKE=<seed> replays another one).
 */
#include "kt_pool.h"
#include "mpsc_testing.h"

KT_TEST(mpsc, fifo_order, .timeout = 5,
        .description = "100 messages from one sender arrive in the order they were sent") {
    kt_pool *pool = kt_pool_new(100);
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(kt_msg_free, &sender, &receiver);
    for (int i = 0; i < 100; i++) {
        void *back = NULL;
        cr_assert_eq(mpsc_send(sender, kt_pool_msg(pool, i), &back), MPSC_SEND_OK,
                     "send %d failed though the receiver is alive", i);
    }
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    for (int i = 0; i < 100; i++) {
        void *msg = NULL;
        mpsc_recv_result result;
        cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY,
                     "poll %d answered PENDING while messages were queued", i);
        cr_assert_eq(result, MPSC_RECV_MESSAGE, "poll %d said CLOSED while messages were queued",
                     i);
        cr_assert_eq(kt_msg_value(msg), i, "message %d arrived where message %d was due",
                     kt_msg_value(msg), i);
        kt_msg_free(msg); /* received: it is ours now */
    }
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
    kt_pool_delete(pool);
}

KT_TEST(mpsc, pending_then_send_wakes, .timeout = 5,
        .description = "an empty receive is PENDING and stores the waker; a send wakes it") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING,
                 "a receive on an empty channel with a live sender must be PENDING");
    cr_assert_eq(kt_waker_live(&counts), 1,
                 "after PENDING the channel must hold one clone of the context's waker (it "
                 "holds %d)",
                 kt_waker_live(&counts));
    void *back;
    cr_assert_eq(mpsc_send(sender, tag(0, 0), &back), MPSC_SEND_OK);
    cr_assert_eq(kt_waker_wakes(&counts), 1, "the send did not wake the waiting receiver");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY,
                 "after the wake the message must be there");
    cr_assert_eq(result, MPSC_RECV_MESSAGE);
    cr_assert_eq(msg, tag(0, 0), "received a different message than the one sent");
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
}

KT_TEST(mpsc, drop_only_sender_ends_stream, .timeout = 5,
        .description = "dropping the only sender wakes the waiting receiver, which sees CLOSED") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    mpsc_sender_drop(sender);
    cr_assert_eq(kt_waker_wakes(&counts), 1,
                 "dropping the last sender did not wake the waiting receiver");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY,
                 "with every sender gone and nothing queued a receive must be READY");
    cr_assert_eq(result, MPSC_RECV_CLOSED, "the stream must say MPSC_RECV_CLOSED");
    msg = &counts; /* anything but NULL: CLOSED must set *message to NULL */
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY,
                 "a closed stream stays closed");
    cr_assert_null(msg, "a receive that answers CLOSED must set *message to NULL (mpsc.h)");
    cr_assert_eq(result, MPSC_RECV_CLOSED, "a closed stream stays closed");
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
}

KT_TEST(mpsc, queued_delivered_after_last_drop, .timeout = 5,
        .description = "messages queued before the last sender was dropped still arrive, then "
                       "CLOSED") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    void *back;
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(mpsc_send(sender, tag(0, i), &back), MPSC_SEND_OK);
    mpsc_sender_drop(sender);
    rt_waker waker = rt_waker_noop();
    void *msg = NULL;
    mpsc_recv_result result;
    for (unsigned i = 0; i < 3; i++) {
        cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
        cr_assert_eq(result, MPSC_RECV_MESSAGE,
                     "message %u was lost: CLOSED came before the queue was empty", i);
        cr_assert_eq(msg, tag(0, i));
    }
    /* The blocking receive (the kit's, built on your poll) must see the end too. */
    cr_assert_eq(mpsc_recv_blocking(receiver, &msg), MPSC_RECV_CLOSED,
                 "after the last message the stream must say MPSC_RECV_CLOSED");
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc, clone_keeps_stream_open, .timeout = 5,
        .description = "a cloned sender counts: the stream ends only when the last one is "
                       "dropped") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    mpsc_sender *tx2 = mpsc_sender_clone(sender);
    mpsc_sender_drop(sender);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING,
                 "one sender (the clone) is still alive: the receive must be PENDING");
    void *back;
    cr_assert_eq(mpsc_send(tx2, tag(0, 7), &back), MPSC_SEND_OK, "the clone could not send");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
    cr_assert_eq(msg, tag(0, 7), "the clone's message did not arrive");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    int wakes = kt_waker_wakes(&counts);
    mpsc_sender_drop(tx2);
    cr_assert_gt(kt_waker_wakes(&counts), wakes,
                 "dropping the last sender (a clone) did not wake the receiver");
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
    cr_assert_eq(result, MPSC_RECV_CLOSED);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&counts));
}

KT_TEST(mpsc, send_to_dropped_receiver, .timeout = 5,
        .description = "a send after the receiver was dropped fails and hands the message back") {
    kt_pool *pool = kt_pool_new(4);
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(kt_msg_free, &sender, &receiver);
    kt_waker_counts counts = {0};
    rt_waker waker = kt_waker(&counts);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&counts), 0,
                 "the receiver's drop did not drop the waker stored by its last poll");
    msg = kt_pool_msg(pool, 1);
    void *back = NULL;
    cr_assert_eq(mpsc_send(sender, msg, &back), MPSC_SEND_RECEIVER_DROPPED,
                 "a send to a dropped receiver must answer MPSC_SEND_RECEIVER_DROPPED");
    cr_assert_eq(back, msg, "the failed send did not hand the message back in *returned");
    cr_assert_eq(kt_msg_frees(msg), 0,
                 "the failed send freed the message it handed back: the caller owns it");
    kt_msg_free(back);
    mpsc_sender_drop(sender);
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    kt_pool_delete(pool);
}

KT_TEST(mpsc, receiver_gone_last_sender_frees, .timeout = 5,
        .description = "with the receiver gone, only the drop of the last sender frees the "
                       "channel: the other senders still use it") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    mpsc_sender *tx2 = mpsc_sender_clone(sender);
    mpsc_receiver_drop(receiver);
    mpsc_sender_drop(tx2); /* not the last sender: the channel must stay */
    void *back = NULL;
    int message = 1;
    cr_assert_eq(mpsc_send(sender, &message, &back), MPSC_SEND_RECEIVER_DROPPED,
                 "a send after the receiver and one of two senders were dropped must answer "
                 "MPSC_SEND_RECEIVER_DROPPED");
    cr_assert_eq(back, &message, "the failed send did not hand the message back in *returned");
    mpsc_sender_drop(sender); /* the last handle: this drop frees the channel, once */
}

KT_TEST(mpsc, newest_waker_only, .timeout = 5,
        .description = "polled by one task then another, the channel wakes only the newest "
                       "waker") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    kt_waker_counts first = {0}, second = {0};
    rt_waker w1 = kt_waker(&first), w2 = kt_waker(&second);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &w1, &msg, &result), RT_PENDING);
    cr_assert_eq(poll_with(receiver, &w2, &msg, &result), RT_PENDING);
    cr_assert_eq(kt_waker_live(&first), 0,
                 "the first task's waker was replaced but never dropped (a leaked clone)");
    cr_assert_eq(kt_waker_live(&second), 1, "the newest poll's waker was not stored");
    void *back;
    cr_assert_eq(mpsc_send(sender, tag(0, 0), &back), MPSC_SEND_OK);
    cr_assert_eq(kt_waker_wakes(&second), 1, "the send did not wake the newest waker");
    cr_assert_eq(kt_waker_wakes(&first), 0,
                 "the send woke the first task, whose waker had been replaced");
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&first) + kt_waker_live(&second), 0,
                 "waker clones were never dropped");
}

/* What a receiver polled from inside its own wake finds (the waker re-enters the channel). */
typedef struct reentry {
    mpsc_receiver *receiver;
    rt_poll seen;
    mpsc_recv_result result;
    void *message;
} reentry;

static void poll_from_the_wake(void *arg) {
    reentry *r = arg;
    rt_waker noop = rt_waker_noop();
    r->seen = poll_with(r->receiver, &noop, &r->message, &r->result);
}

/* A wake under the lock does not run the hook (it would deadlock on that lock): say so first. */
static void assert_woken_outside_the_lock(void) {
    char rule[512];
    if (kt_waker_rule_report(rule, sizeof rule))
        cr_assert_fail("%s", rule);
}

KT_TEST(mpsc, woken_receiver_finds_the_message, .timeout = 5,
        .description = "send wakes only after the message is queued, and not under the channel's "
                       "lock: a receive from inside the wake finds it") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    reentry seen = {.receiver = receiver, .seen = RT_PENDING};
    kt_hooked_waker hooked = {.on_wake = poll_from_the_wake, .arg = &seen};
    rt_waker waker = kt_waker_hooked(&hooked);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    void *back;
    cr_assert_eq(mpsc_send(sender, tag(0, 5), &back), MPSC_SEND_OK);
    cr_assert_eq(kt_waker_wakes(&hooked.counts), 1, "the send did not wake the waiting receiver");
    assert_woken_outside_the_lock();
    cr_assert(seen.seen == RT_READY && seen.result == MPSC_RECV_MESSAGE,
              "the receiver was woken before the message was queued: polled from inside the "
              "wake, it found nothing (queue the message, then wake)");
    cr_assert_eq(seen.message, tag(0, 5), "polled from the wake, it found another message");
    mpsc_sender_drop(sender);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&hooked.counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&hooked.counts));
}

KT_TEST(mpsc, woken_receiver_finds_the_end, .timeout = 5,
        .description = "the last sender's drop wakes only after counting itself out, and not "
                       "under the lock: a receive from inside the wake sees CLOSED") {
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    mpsc_sender *clone = mpsc_sender_clone(sender);
    reentry seen = {.receiver = receiver, .seen = RT_PENDING};
    kt_hooked_waker hooked = {.on_wake = poll_from_the_wake, .arg = &seen};
    rt_waker waker = kt_waker_hooked(&hooked);
    void *msg = NULL;
    mpsc_recv_result result;
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING);
    mpsc_sender_drop(sender);
    cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_PENDING,
                 "one sender (the clone) is still alive: the receive must be PENDING");
    mpsc_sender_drop(clone);
    cr_assert_geq(kt_waker_wakes(&hooked.counts), 1,
                  "dropping the last sender did not wake the receiver");
    assert_woken_outside_the_lock();
    cr_assert(seen.seen == RT_READY && seen.result == MPSC_RECV_CLOSED,
              "the receiver was woken before the last sender was counted out: polled from "
              "inside the wake, the stream was not closed yet (count the sender out, then wake)");
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_waker_live(&hooked.counts), 0, "%d waker clone(s) were never dropped",
                 kt_waker_live(&hooked.counts));
}

KT_TEST(mpsc, leftovers_freed_once, .timeout = 5,
        .description = "dropping the receiver frees the queued messages at once, each exactly "
                       "once") {
    kt_pool *pool = kt_pool_new(16);
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(kt_msg_free, &sender, &receiver);
    void *back;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(mpsc_send(sender, kt_pool_msg(pool, i), &back), MPSC_SEND_OK);
    rt_waker waker = rt_waker_noop();
    for (int i = 0; i < 3; i++) {
        void *msg = NULL;
        mpsc_recv_result result;
        cr_assert_eq(poll_with(receiver, &waker, &msg, &result), RT_READY);
        kt_msg_free(msg); /* received: ours to free */
    }
    for (int i = 10; i < 15; i++)
        cr_assert_eq(mpsc_send(sender, kt_pool_msg(pool, i), &back), MPSC_SEND_OK);
    mpsc_receiver_drop(receiver);
    cr_assert_eq(kt_pool_frees(pool), 15,
                 "after the receiver was dropped %zu of the 15 messages were freed (3 received, "
                 "the 12 left in the channel must be freed at once, though a sender is alive)",
                 kt_pool_frees(pool));
    mpsc_sender_drop(sender);
    char report[256];
    cr_assert(kt_pool_all_freed_once(pool, report, sizeof report), "%s", report);
    kt_pool_delete(pool);
}

/* A task that sends `count` tagged messages on its own sender, yielding now and then. */
typedef struct producer_task {
    rt_future base;
    rt_async co;
    mpsc_sender *sender;
    unsigned id, count, i;
    int failed;
} producer_task;

static rt_poll producer_poll(rt_future *self, rt_context *cx) {
    producer_task *t = (producer_task *)self;
    RT_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->count; t->i++) {
        void *back;
        if (mpsc_send(t->sender, tag(t->id, t->i), &back) != MPSC_SEND_OK)
            t->failed = 1;
        if (t->i % 16 == 0)
            RT_YIELD(&t->co, cx);
    }
    mpsc_sender_drop(t->sender);
    RT_ASYNC_END(&t->co);
}

KT_TEST(mpsc, ten_sender_tasks, .timeout = 10,
        .description = "ten spawned tasks send 200 messages each: all arrive once, in each "
                       "sender's order, then CLOSED") {
    enum { TASKS = 10, EACH = 200 };
    rt_executor *ex = rt_executor_new_config(
        &(rt_executor_config){.workers = 2, .shake = true, .shake_seed = kt_shake_seed(101)});
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    tally seen;
    tally_init(&seen, TASKS, EACH);
    consumer_task consumer;
    consumer_init(&consumer, receiver, &seen);
    rt_join_handle *consumer_handle = rt_spawn(ex, &consumer.base, "consumer");
    /* The producers start once the consumer waits on the empty channel: their sends must wake it.
     */
    kt_latch_wait(&consumer.pending_empty, 1);
    producer_task producers[TASKS];
    rt_join_handle *handles[TASKS];
    for (unsigned i = 0; i < TASKS; i++) {
        producers[i] = (producer_task){.base = {.poll = producer_poll, .name = "producer"},
                                       .sender = mpsc_sender_clone(sender),
                                       .id = i,
                                       .count = EACH};
        handles[i] = rt_spawn(ex, &producers[i].base, "producer");
    }
    for (unsigned i = 0; i < TASKS; i++)
        cr_assert_eq(rt_join(handles[i]), RT_TASK_COMPLETED);
    /* Everything received and the consumer waiting: only this drop can end the stream. */
    //@slide mpsc-last-drop-forced
    kt_latch_wait(&consumer.pending_all, 1);
    rt_executor_wait_idle(ex); /* asleep for sure: a shaken executor re-polls at will */
    mpsc_sender_drop(sender);
    //@end
    cr_assert_eq(rt_join(consumer_handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    for (unsigned i = 0; i < TASKS; i++)
        cr_assert(!producers[i].failed, "a send from producer task %u failed", i);
    tally_check_complete(&seen);
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc, ten_sender_threads, .timeout = 10,
        .description = "ten threads send 500 messages each to a blocking receiver: all arrive "
                       "once, in order, then CLOSED") {
    enum { THREADS = 10, EACH = 500 };
    mpsc_sender *sender;
    mpsc_receiver *receiver;
    mpsc_channel(NULL, &sender, &receiver);
    tally seen;
    tally_init(&seen, THREADS, EACH);
    consumer_task consumer;
    consumer_init(&consumer, receiver, &seen);
    /* The producers start once the receiver waits on the empty channel, and the last
     * sender goes once it has everything and waits again: both must wake it. */
    producer_thread producers[THREADS];
    producers_start(producers, THREADS, sender, EACH, &consumer.pending_empty);
    closer_thread closer;
    closer_start(&closer, sender, &consumer.pending_all);
    rt_block_on(&consumer.base);
    producers_join(producers, THREADS);
    pthread_join(closer.thread, NULL);
    tally_check_complete(&seen);
    mpsc_receiver_drop(receiver);
}

KT_TEST(mpsc, stress_producer_threads, .timeout = 15,
        .description = "stress: four threads send 20000 messages each to a task on a shaken "
                       "executor; none lost or repeated") {
    stress_threads_to_task(4, 20000, 2, 2024);
}
