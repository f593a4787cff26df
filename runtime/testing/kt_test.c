/* kt_test.c - the Criterion fixture and report hook behind KT_TEST. */
#include "kt_test.h"

#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>

void kt_test_setup(void) {
    double timeout = criterion_current_test->data->timeout;
    if (timeout <= 0)
        return;
    /* Fire before Criterion kills the test, leaving time to print. */
    double margin = timeout * 0.15 > 0.3 ? 0.3 : timeout * 0.15;
    rt_watchdog_arm(timeout - margin, criterion_current_test->name);
}

void kt_test_teardown(void) {
    rt_watchdog_disarm();
}

uint64_t kt_shake_seed(uint64_t fallback) {
    uint64_t seed;
    return rt_shake_env_seed(&seed) ? seed : fallback;
}

/* Runs in Criterion's runner process after each test: say how to replay a failure. */
ReportHook(POST_TEST)(struct criterion_test_stats *stats) {
    uint64_t seed;
    if (stats->test_status != CR_STATUS_PASSED && rt_shake_env_seed(&seed))
        fprintf(stderr, "[kit] %s/%s failed with RT_SHAKE=%llu: run again with that seed to replay\n",
                stats->test->category, stats->test->name, (unsigned long long)seed);
}
