/*
 * kt_test.h - how the kit's Criterion tests are declared.
 *
 * KT_TEST is Criterion's Test with the kit's fixture added: the runtime's
 * watchdog is armed a little before the test's .timeout, so a test stuck on
 * a waker that is never woken says which tasks wait and where their wakers
 * went, instead of a bare "timed out". When a test fails, the shake seed in
 * force is printed so the run can be replayed.
 *
 *     KT_TEST(mpsc, fifo_order, .timeout = 2,
 *             .description = "100 messages arrive in the order they were sent") { ... }
 */
#ifndef KT_TEST_H
#define KT_TEST_H

#include <criterion/criterion.h>

#include "rt.h"

/* Arms the watchdog from the current test's .timeout (Criterion fixture). */
void kt_test_setup(void);

/* Disarms the watchdog (Criterion fixture). */
void kt_test_teardown(void);

#define KT_TEST(suite, name, ...)                                                                  \
    Test(suite, name, .init = kt_test_setup, .fini = kt_test_teardown, __VA_ARGS__)

/* The shake seed a test should use: RT_SHAKE when set, otherwise `fallback`. */
uint64_t kt_shake_seed(uint64_t fallback);

#endif
