/* kt_waker.c - the counting waker. */
#include "kt_waker.h"

#include <stdio.h>

#include "kt_explore.h"
#include "kt_symbols.h"

/* The first wake or drop made under the student's lock: what, and where that lock was taken. */
static atomic_bool broke_rule;
static const char *broken_how;
static void *broken_lock_site;

/* True (and noted) when the calling thread holds a lock of the student's code. */
static bool under_lock(const char *how) {
    void *site;
    if (kt_explore_locks_held(&site) == 0)
        return false;
    if (!atomic_exchange(&broke_rule, true)) {
        broken_how = how;
        broken_lock_site = site;
    }
    return true;
}

void kt_waker_rule_reset(void) {
    atomic_store(&broke_rule, false);
}

bool kt_waker_rule_report(char *report, size_t size) {
    if (!atomic_load(&broke_rule))
        return false;
    char where[160];
    snprintf(report, size,
             "a waker was %s while your code held the lock it took in %s: a wake can run code "
             "that takes the same lock. Take the waker out under the lock, unlock, then wake "
             "or drop it",
             broken_how, kt_symbolize(broken_lock_site, where, sizeof where));
    return true;
}

static const rt_waker_vtable counting_vtable;

static rt_waker counting_clone(void *data) {
    kt_waker_counts *counts = data;
    atomic_fetch_add(&counts->clones, 1);
    return (rt_waker){counts, &counting_vtable};
}

static void counting_wake_by_ref(void *data) {
    kt_waker_counts *counts = data;
    under_lock("woken");
    atomic_fetch_add(&counts->wakes, 1);
}

static void counting_drop(void *data) {
    kt_waker_counts *counts = data;
    under_lock("dropped");
    atomic_fetch_add(&counts->drops, 1);
}

static void counting_wake(void *data) {
    kt_waker_counts *counts = data;
    under_lock("woken");
    atomic_fetch_add(&counts->wakes, 1);
    atomic_fetch_add(&counts->drops, 1);
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

static const rt_waker_vtable hooked_vtable;

static rt_waker hooked_clone(void *data) {
    kt_hooked_waker *hooked = data;
    atomic_fetch_add(&hooked->counts.clones, 1);
    return (rt_waker){hooked, &hooked_vtable};
}

static void hooked_wake_by_ref(void *data) {
    kt_hooked_waker *hooked = data;
    atomic_fetch_add(&hooked->counts.wakes, 1);
    if (!under_lock("woken") && hooked->on_wake != NULL)
        hooked->on_wake(hooked->arg);
}

static void hooked_wake(void *data) {
    kt_hooked_waker *hooked = data;
    hooked_wake_by_ref(hooked);
    atomic_fetch_add(&hooked->counts.drops, 1);
}

static void hooked_drop(void *data) {
    kt_hooked_waker *hooked = data;
    atomic_fetch_add(&hooked->counts.drops, 1);
    if (!under_lock("dropped") && hooked->on_drop != NULL)
        hooked->on_drop(hooked->arg);
}

static const rt_waker_vtable hooked_vtable = {hooked_clone, hooked_wake, hooked_wake_by_ref,
                                              hooked_drop};

rt_waker kt_waker_hooked(kt_hooked_waker *hooked) {
    return (rt_waker){hooked, &hooked_vtable};
}
