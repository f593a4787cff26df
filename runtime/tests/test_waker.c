/* test_waker.c - wakers are counted: every clone ends in exactly one wake or drop. */
#include <stdatomic.h>

#include "kt_test.h"
#include "kt_waker.h"
#include "rt_test_support.h"

KT_TEST(runtime_waker, counting_waker_counts, .timeout = 5,
        .description = "clones, wakes and drops of a waker are each counted once") {
    kt_waker_counts counts = {0};
    rt_waker borrowed = kt_waker(&counts);
    rt_waker a = rt_waker_clone(&borrowed);
    rt_waker b = rt_waker_clone(&a);
    cr_assert_eq(kt_waker_live(&counts), 2, "two clones are alive");
    rt_waker_wake_by_ref(&a);
    cr_assert_eq(kt_waker_wakes(&counts), 1);
    cr_assert_eq(kt_waker_live(&counts), 2, "wake_by_ref keeps the waker");
    rt_waker_wake(&a);
    cr_assert(rt_waker_is_none(&a), "rt_waker_wake empties the slot");
    cr_assert_eq(kt_waker_wakes(&counts), 2);
    cr_assert_eq(kt_waker_live(&counts), 1, "rt_waker_wake consumes the waker");
    rt_waker_drop(&b);
    cr_assert(rt_waker_is_none(&b), "rt_waker_drop empties the slot");
    cr_assert_eq(kt_waker_live(&counts), 0);
    cr_assert_eq(kt_waker_wakes(&counts), 2, "a drop does not wake");
}

KT_TEST(runtime_waker, empty_slot_is_a_no_op, .timeout = 5,
        .description = "waking, dropping or cloning an empty waker slot does nothing") {
    rt_waker none = RT_WAKER_NONE;
    cr_assert(rt_waker_is_none(&none));
    rt_waker_wake(&none);
    rt_waker_wake_by_ref(&none);
    rt_waker_drop(&none);
    rt_waker copy = rt_waker_clone(&none);
    cr_assert(rt_waker_is_none(&copy));
}

KT_TEST(runtime_waker, take_and_will_wake, .timeout = 5,
        .description = "rt_waker_take moves a waker out; will_wake tells same-task wakers") {
    kt_waker_counts one = {0}, other = {0};
    rt_waker w1 = kt_waker(&one), w2 = kt_waker(&other);
    rt_waker slot = rt_waker_clone(&w1);
    cr_assert(rt_waker_will_wake(&slot, &w1));
    cr_assert_not(rt_waker_will_wake(&slot, &w2));
    rt_waker taken = rt_waker_take(&slot);
    cr_assert(rt_waker_is_none(&slot));
    cr_assert_eq(kt_waker_live(&one), 1, "take neither clones nor drops");
    rt_waker_drop(&taken);
    cr_assert_eq(kt_waker_live(&one), 0);
}

KT_TEST(runtime_waker, noop_waker, .timeout = 5,
        .description = "the no-op waker can be cloned, woken and dropped freely") {
    rt_waker noop = rt_waker_noop();
    cr_assert_not(rt_waker_is_none(&noop));
    rt_waker copy = rt_waker_clone(&noop);
    cr_assert(rt_waker_will_wake(&copy, &noop));
    rt_waker_wake_by_ref(&copy);
    rt_waker_wake(&copy);
    rt_waker again = rt_waker_clone(&noop);
    rt_waker_drop(&again);
}

/* ---- a task's wakers ---- */

static atomic_int diagnoses;
static kt_latch diagnosed;
static rt_diagnosis_kind last_kind;

static void count_diagnosis(const rt_diagnosis *d) {
    last_kind = d->kind;
    atomic_fetch_add(&diagnoses, 1);
    kt_latch_count(&diagnosed);
}

/* On its first poll, keeps three clones of its waker and says so; PENDING until woken. */
typedef struct hoarder {
    rt_future base;
    rt_waker kept[3];
    bool stored;
    atomic_bool go;
    kt_latch *ready;
} hoarder;

static rt_poll hoarder_poll(rt_future *self, rt_context *cx) {
    hoarder *h = (hoarder *)self;
    if (atomic_load(&h->go))
        return RT_READY;
    if (!h->stored) { /* later (spurious) polls keep the three */
        for (int i = 0; i < 3; i++)
            h->kept[i] = rt_waker_clone(cx->waker);
        h->stored = true;
        kt_latch_count(h->ready);
    }
    return RT_PENDING;
}

KT_TEST(runtime_waker, task_waker_is_counted, .timeout = 8,
        .description = "a task is diagnosed only when the last of its three wakers is dropped") {
    kt_latch_init(&diagnosed);
    rt_set_diagnosis_handler(count_diagnosis);
    kt_latch ready;
    kt_latch_init(&ready);
    hoarder h = {.base = {.poll = hoarder_poll, .name = "hoarder"}, .ready = &ready};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &h.base, "hoarder");
    kt_latch_wait(&ready, 1);
    rt_waker_drop(&h.kept[0]);
    rt_waker_drop(&h.kept[1]);
    cr_assert_eq(atomic_load(&diagnoses), 0, "one waker is still alive: no diagnosis yet");
    rt_waker_drop(&h.kept[2]);
    kt_latch_wait(&diagnosed, 1);
    cr_assert_eq(last_kind, RT_DIAG_LAST_WAKER_DROPPED);
    rt_executor_shutdown(ex);
    cr_assert_eq(rt_join(handle), RT_TASK_CANCELLED, "the stuck task is cancelled at shutdown");
    cr_assert_eq(atomic_load(&diagnoses), 1, "reported once");
}

KT_TEST(runtime_waker, task_wakers_woken_and_dropped, .timeout = 8,
        .description = "a task whose wakers are dropped but one woken runs on, undiagnosed") {
    rt_set_diagnosis_handler(count_diagnosis);
    kt_latch ready;
    kt_latch_init(&ready);
    hoarder h = {.base = {.poll = hoarder_poll, .name = "hoarder"}, .ready = &ready};
    rt_executor *ex = rt_executor_new(2);
    rt_join_handle *handle = rt_spawn(ex, &h.base, "hoarder");
    kt_latch_wait(&ready, 1);
    rt_waker_drop(&h.kept[0]);
    atomic_store(&h.go, true);
    rt_waker_wake(&h.kept[1]);
    rt_waker_drop(&h.kept[2]);
    cr_assert_eq(rt_join(handle), RT_TASK_COMPLETED);
    rt_executor_shutdown(ex);
    cr_assert_eq(atomic_load(&diagnoses), 0);
}

/* ---- a block_on call's wakers ---- */

typedef struct handed_over {
    rt_future base;
    rt_waker kept[2];
    bool asked;
    pthread_t thread;
    atomic_bool done;
} handed_over;

static void *drop_one_wake_other(void *arg) {
    handed_over *f = arg;
    rt_waker_drop(&f->kept[0]);
    atomic_store(&f->done, true);
    rt_waker_wake(&f->kept[1]);
    return NULL;
}

static rt_poll handed_over_poll(rt_future *self, rt_context *cx) {
    handed_over *f = (handed_over *)self;
    if (atomic_load(&f->done))
        return RT_READY;
    if (!f->asked) {
        f->kept[0] = rt_waker_clone(cx->waker);
        f->kept[1] = rt_waker_clone(cx->waker);
        f->asked = true;
        pthread_create(&f->thread, NULL, drop_one_wake_other, f);
    }
    return RT_PENDING;
}

KT_TEST(runtime_waker, block_on_waker_is_counted, .timeout = 8,
        .description = "block_on survives one of two wakers dropped and wakes on the other") {
    rt_set_diagnosis_handler(count_diagnosis);
    handed_over f = {.base = {.poll = handed_over_poll, .name = "handed_over"}};
    rt_block_on(&f.base);
    pthread_join(f.thread, NULL);
    cr_assert_eq(atomic_load(&diagnoses), 0);
}
