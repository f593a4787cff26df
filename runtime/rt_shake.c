/* rt_shake.c - the seeded generator behind shake mode. */
#include "rt_shake.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic uint64_t last_seed;

/* splitmix64: spreads nearby seeds (1, 2, 3...) into unrelated states. */
static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void rt_shake_rng_init(rt_shake_rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = splitmix64(seed ^ splitmix64(stream + 1));
    if (rng->state == 0) /* xorshift never leaves zero */
        rng->state = 0x2545f4914f6cdd1dULL;
}

uint64_t rt_shake_next(rt_shake_rng *rng) {
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

bool rt_shake_one_in(rt_shake_rng *rng, unsigned n) {
    return n <= 1 || rt_shake_next(rng) % n == 0;
}

bool rt_shake_env_seed(uint64_t *seed) {
    const char *text = getenv("RT_SHAKE");
    if (text == NULL || *text == '\0')
        return false;
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0' || value == 0)
        return false;
    *seed = value;
    return true;
}

uint64_t rt_shake_last_seed(void) {
    return atomic_load(&last_seed);
}

void rt_shake_note_seed(uint64_t seed) {
    atomic_store(&last_seed, seed);
}
