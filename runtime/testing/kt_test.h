/*
 * kt_test.h - how the kit's Criterion tests are declared.
 *
 * KT_TEST is Criterion's Test with the kit's fixture added: the runtime's
 * watchdog is armed a little before the test's .timeout, so a test stuck on
 * a waker that is never woken says which tasks wait and where their wakers
 * went, instead of a bare "timed out". When a test fails, the shake seed in
 * force is printed so the run can be replayed.
 *
 * Every KT_TEST also ends by checking that the student's code left no
 * memory behind (kt_alloc.h): the test's body runs first, then the check,
 * so a test that drops every handle fails naming each block that leaked
 * and where it was allocated. Under the schedule explorer (KT_EXPLORE, see
 * kt_explore.h) a failing test prints the seed, the replay command and the
 * explorer's last decisions.
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

/* Disarms the watchdog; reports the explorer's trace when the test failed (Criterion fixture). */
void kt_test_teardown(void);

/* Runs after a KT_TEST's body returns: fails the test when the student's code leaked. */
void kt_test_end(void);

/* The test's body is a function of its own, so that kt_test_end runs after it however it returns.
 */
#define KT_TEST(suite, name, ...)                                                                  \
    static void kt_body_##suite##_##name(void);                                                    \
    Test(suite, name, .init = kt_test_setup, .fini = kt_test_teardown, __VA_ARGS__) {              \
        kt_body_##suite##_##name();                                                                \
        kt_test_end();                                                                             \
    }                                                                                              \
    static void kt_body_##suite##_##name(void)

/* The shake seed a test should use: RT_SHAKE when set, otherwise `fallback`. */
uint64_t kt_shake_seed(uint64_t fallback);

#endif
