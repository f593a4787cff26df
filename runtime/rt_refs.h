/*
 * rt_refs.h - the one reference count of everything a waker points to
 * (internal to the runtime).
 *
 * A task (rt_task.h) and a block_on call's parker (rt_block_on.c) are each
 * kept alive by references: their owners' (a task's executor and join
 * handle; the block_on call itself) and one per live clone of their waker.
 * Both kinds are counted in one 64-bit atomic word, the waker clones apart
 * from the rest, because "no clone left while pending" is how a lost waker
 * is seen (rt_diagnose.h). A clone or a task's wake changes the word once
 * (a drop, which looks at the thing after counting, twice), and the thing
 * is freed by whichever change leaves no reference of either kind: the
 * count needs no lock.
 *
 *    63 ............ 33 | 32           | 31 ........ 8 | 7 ..... 0
 *    WAKERS               DROPPED_LAST   REFS            OWNER
 *
 *   WAKERS        live clones of the waker; each is also a reference
 *   DROPPED_LAST  set when the latest clone to go was dropped, cleared when
 *                 it was woken: the two kinds of lost waker differ only in
 *                 this bit, and one word keeps it in step with WAKERS
 *   REFS          the owners' references
 *   OWNER         the owner's own bits, changed only by the owner's code: a
 *                 task keeps its scheduling state there (rt_task.h), so that
 *                 the task's whole state is this one word; a parker keeps 0
 *
 * The rule of every user: let go of a lock on the thing before letting go
 * of a reference to it, since the reference may be the last one and the
 * thing is then freed, lock and all.
 */
#ifndef RT_REFS_H
#define RT_REFS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define RT__REFS_OWNER_MASK   UINT64_C(0xff)
#define RT__REFS_ONE_REF      (UINT64_C(1) << 8)
#define RT__REFS_REF_MASK     (UINT64_C(0xffffff) << 8)
#define RT__REFS_DROPPED_LAST (UINT64_C(1) << 32)
#define RT__REFS_ONE_WAKER    (UINT64_C(1) << 33)
#define RT__REFS_WAKER_SHIFT  33

/* A word with `refs` owners' references, no waker, and the owner's bits `owner`. */
static inline uint64_t rt__refs_initial(unsigned refs, uint64_t owner) {
    return (uint64_t)refs * RT__REFS_ONE_REF | (owner & RT__REFS_OWNER_MASK);
}

/* Live waker clones in `word`. */
static inline unsigned rt__refs_wakers(uint64_t word) {
    return (unsigned)(word >> RT__REFS_WAKER_SHIFT);
}

/* The owners' references in `word`. */
static inline unsigned rt__refs_owner_refs(uint64_t word) {
    return (unsigned)((word & RT__REFS_REF_MASK) / RT__REFS_ONE_REF);
}

/* With no waker alive: true when the last one was dropped; false when woken, or never made. */
static inline bool rt__refs_dropped_last(uint64_t word) {
    return (word & RT__REFS_DROPPED_LAST) != 0;
}

/* No reference of either kind left: whoever made the word so frees the thing. */
static inline bool rt__refs_unreferenced(uint64_t word) {
    return rt__refs_owner_refs(word) == 0 && rt__refs_wakers(word) == 0;
}

/* Counts a new waker clone (and its reference). */
static inline void rt__refs_clone(_Atomic uint64_t *word) {
    atomic_fetch_add(word, RT__REFS_ONE_WAKER);
}

/*
 * Counts a waker clone gone, woken or (by_drop) dropped. With keep_ref its
 * reference becomes one of the owners' in the same step, for a caller that
 * still looks at the thing afterwards and lets go with rt__refs_release.
 * Returns the word as it is afterwards.
 */
static inline uint64_t rt__refs_release_waker(_Atomic uint64_t *word, bool by_drop, bool keep_ref) {
    uint64_t seen = atomic_load(word), next;
    do
        next = ((seen & ~RT__REFS_DROPPED_LAST) - RT__REFS_ONE_WAKER +
                (keep_ref ? RT__REFS_ONE_REF : 0)) |
               (by_drop ? RT__REFS_DROPPED_LAST : 0);
    while (!atomic_compare_exchange_weak(word, &seen, next));
    return next;
}

/* Gives up one owner's reference; true when it was the last reference of all: free the thing. */
static inline bool rt__refs_release(_Atomic uint64_t *word) {
    return rt__refs_unreferenced(atomic_fetch_sub(word, RT__REFS_ONE_REF) - RT__REFS_ONE_REF);
}

#endif
