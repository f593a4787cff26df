/*
 * The grader's criterion.h: the kit's stand-in (runtime/testing/mini/), with
 * every assertion counted.
 *
 * Graded test binaries are built against this header and the grader's own
 * runner (../runner.c) instead of Criterion, so that no process running a
 * student's code holds a channel to a runner it could write verdicts into.
 * The count of assertions a test evaluated is its fingerprint: a pass that
 * evaluated a different number than the reference solution's run did is not
 * a pass (see grader/README.md, "Trust model").
 */
#ifndef KT_GRADE_CRITERION_H
#define KT_GRADE_CRITERION_H

#include "../../../../runtime/testing/mini/criterion/criterion.h"

/* Called for every assertion evaluated, before its condition is known. */
void kt_grade_count_assertion(void);

#undef KT_MINI_CHECK
#define KT_MINI_CHECK(fatal, cond, text, ...)                                                      \
    do {                                                                                           \
        kt_grade_count_assertion();                                                                \
        if (!(cond))                                                                               \
            kt_mini_fail(__FILE__, __LINE__, (fatal), (text), "" __VA_ARGS__);                     \
    } while (0)

#endif
