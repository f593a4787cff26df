/*
 * rt_shake.h - seeded shake mode: make unlucky schedules happen on purpose.
 *
 * A channel that works only because tasks happen to run in one order is
 * broken, but may pass a test a thousand times. In shake mode the executor
 * picks ready tasks in random order, polls tasks again without a wake-up
 * (a spurious wake, which every correct future must tolerate), yields
 * the processor at random points, and wakes idle workers more eagerly so
 * that more runs in parallel. block_on also polls again now and then
 * without a wake-up. Every decision comes from a seeded
 * generator, so a failure can be replayed: set RT_SHAKE=<seed>. With one
 * worker thread a seed always gives the same schedule.
 *
 * RT_SHAKE=<seed> in the environment turns shake mode on for every executor
 * and block_on and sets the seed; RT_SHAKE=0 or unset leaves it to the code.
 */
#ifndef RT_SHAKE_H
#define RT_SHAKE_H

#include <stdbool.h>
#include <stdint.h>

/* A small seeded generator (xorshift64*), one per thread that shakes. */
typedef struct rt_shake_rng {
    uint64_t state;
} rt_shake_rng;

/* Seeds `rng` from `seed` and a stream number (e.g. the worker index). */
void rt_shake_rng_init(rt_shake_rng *rng, uint64_t seed, uint64_t stream);

/* The next random number. */
uint64_t rt_shake_next(rt_shake_rng *rng);

/* True with probability 1/n. */
bool rt_shake_one_in(rt_shake_rng *rng, unsigned n);

/* The seed from RT_SHAKE, and whether it is set (non-zero). */
bool rt_shake_env_seed(uint64_t *seed);

/* The seed in force for this process's last shaken executor (0: none), for failure reports. */
uint64_t rt_shake_last_seed(void);

/* Records `seed` as the one to report (called by executors that shake). */
void rt_shake_note_seed(uint64_t seed);

#endif
