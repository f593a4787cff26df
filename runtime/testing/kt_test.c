/* kt_test.c - the Criterion fixture and report hook behind KT_TEST. */
#include "kt_test.h"

#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_alloc.h"
#include "kt_crash.h"
#include "kt_explore.h"
#include "kt_loop.h"
#include "kt_waker.h"

#include "kt_sanitizer.h"

#ifdef KT_ASAN
/* Criterion's runner keeps a few bytes to the end on purpose; not the student's leak. */
const char *__lsan_default_suppressions(void) {
    /* By library when Criterion is linked as one, by function when linked statically. */
    return "leak:libcriterion.so\nleak:bxfi_\nleak:bxf_\n";
}

const char *__lsan_default_options(void) {
    return "print_suppressions=0";
}
#endif

/* Set when the body returned and left nothing behind: a teardown without it follows a failure. */
static int test_passed;

void kt_test_setup(void) {
    /* Criterion places its test records in a linker section without
     * alignment guarantees: copy them out instead of reading in place. */
    struct criterion_test test;
    struct criterion_test_extra_data data;
    memcpy(&test, criterion_current_test, sizeof test);
    memcpy(&data, test.data, sizeof data);
    test_passed = 0;
    kt_alloc_reset();
    kt_waker_rule_reset();
    kt_explore_begin(test.category, test.name);
    kt_crash_arm(); /* after the explorer's handlers: this one calls its report too */
    /* Fire before Criterion kills the test, leaving time to print. */
    double margin = data.timeout * 0.15 > 0.3 ? 0.3 : data.timeout * 0.15;
    double seconds = data.timeout > 0 ? data.timeout - margin : 0;
    kt_loop_begin(test.category, test.name, &seconds); /* the student loop's timeout, if any */
    if (seconds > 0)
        rt_watchdog_arm(seconds, test.name);
}

void kt_test_teardown(void) {
    rt_watchdog_disarm();
    kt_loop_end();
    if (!test_passed)
        kt_explore_report();
}

void kt_test_end(void) {
    char report[1024];
    if (kt_waker_rule_report(report, sizeof report))
        cr_assert_fail("%s", report);
    if (kt_alloc_leak_report(report, sizeof report))
        cr_assert_fail("%s", report);
    test_passed = 1;
}

uint64_t kt_shake_seed(uint64_t fallback) {
    uint64_t seed;
    return rt_shake_env_seed(&seed) ? seed : fallback;
}

/* Runs in Criterion's runner process after each test: say how to replay a failure. */
ReportHook(POST_TEST)(struct criterion_test_stats *stats) {
    uint64_t seed;
    const char *loop = getenv("KT_LOOP_DIR"); /* the student loop's runner says it itself */
    if (stats->test_status != CR_STATUS_PASSED && rt_shake_env_seed(&seed) &&
        (loop == NULL || *loop == '\0'))
        fprintf(stderr,
                "[kit] %s/%s failed with RT_SHAKE=%llu: run again with that seed to replay\n",
                stats->test->category, stats->test->name, (unsigned long long)seed);
}
