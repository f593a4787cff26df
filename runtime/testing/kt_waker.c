/* kt_waker.c - the counting waker. */
#include "kt_waker.h"

static const rt_waker_vtable counting_vtable;

static rt_waker counting_clone(void *data) {
    kt_waker_counts *counts = data;
    atomic_fetch_add(&counts->clones, 1);
    return (rt_waker){counts, &counting_vtable};
}

static void counting_wake_by_ref(void *data) {
    kt_waker_counts *counts = data;
    atomic_fetch_add(&counts->wakes, 1);
}

static void counting_drop(void *data) {
    kt_waker_counts *counts = data;
    atomic_fetch_add(&counts->drops, 1);
}

static void counting_wake(void *data) {
    counting_wake_by_ref(data);
    counting_drop(data);
}

static const rt_waker_vtable counting_vtable = {counting_clone, counting_wake, counting_wake_by_ref,
                                                counting_drop};

rt_waker kt_waker(kt_waker_counts *counts) {
    return (rt_waker){counts, &counting_vtable};
}

int kt_waker_live(kt_waker_counts *counts) {
    return atomic_load(&counts->clones) - atomic_load(&counts->drops);
}

int kt_waker_wakes(kt_waker_counts *counts) {
    return atomic_load(&counts->wakes);
}
