/* rt_waker.c - the generic waker operations; each kind of waker brings its vtable. */
#include "rt_waker.h"

#include "rt_internal.h"

_Thread_local rt__site rt__clone_site;
_Thread_local rt__site rt__drop_site;

bool rt_waker_is_none(const rt_waker *waker) {
    return waker->vtable == NULL;
}

rt_waker rt_waker_clone_at(const rt_waker *waker, const char *file, int line, const char *func) {
    if (waker->vtable == NULL)
        return RT_WAKER_NONE;
    rt__clone_site = (rt__site){file, line, func};
    return waker->vtable->clone(waker->data);
}

void rt_waker_wake(rt_waker *waker) {
    rt_waker taken = rt_waker_take(waker);
    if (taken.vtable != NULL)
        taken.vtable->wake(taken.data);
}

void rt_waker_wake_by_ref(const rt_waker *waker) {
    if (waker->vtable != NULL)
        waker->vtable->wake_by_ref(waker->data);
}

void rt_waker_drop_at(rt_waker *waker, const char *file, int line, const char *func) {
    rt_waker taken = rt_waker_take(waker);
    if (taken.vtable == NULL)
        return;
    rt__drop_site = (rt__site){file, line, func};
    taken.vtable->drop(taken.data);
}

rt_waker rt_waker_take(rt_waker *slot) {
    rt_waker taken = *slot;
    *slot = RT_WAKER_NONE;
    return taken;
}

bool rt_waker_will_wake(const rt_waker *a, const rt_waker *b) {
    return a->vtable == b->vtable && a->data == b->data;
}

static rt_waker noop_clone(void *data);
static void noop_op(void *data) {
    (void)data;
}
static const rt_waker_vtable noop_vtable = {noop_clone, noop_op, noop_op, noop_op};
static rt_waker noop_clone(void *data) {
    return (rt_waker){data, &noop_vtable};
}

rt_waker rt_waker_noop(void) {
    return (rt_waker){NULL, &noop_vtable};
}
