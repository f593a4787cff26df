/*
 * A small stand-in for Criterion, used only for ThreadSanitizer builds.
 *
 * Criterion cannot start under ThreadSanitizer: its inheritable memory arena
 * needs a fixed address range that ThreadSanitizer's shadow memory occupies
 * (upstream Criterion issue #274). SAN=thread builds therefore put this
 * folder first on the include path: the same test sources compile against
 * this header and run under kt_mini_runner.c, which forks one process per
 * test, applies .timeout, and prints Criterion's summary line.
 *
 * Supported: Test(suite, name, .init, .fini, .timeout, .description,
 * .signal, .exit_code, .disabled), the cr_assert_* and cr_expect_* forms
 * below, cr_log_*, cr_skip_test, and criterion_current_test.
 */
#ifndef KT_MINI_CRITERION_H
#define KT_MINI_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct criterion_test_extra_data {
    int sentinel_;
    void (*init)(void);
    void (*fini)(void);
    int signal;
    int exit_code;
    bool disabled;
    const char *description;
    double timeout;
    void *data;
};

struct criterion_test {
    const char *name;
    const char *category;
    void (*test)(void);
    struct criterion_test_extra_data *data;
};

extern const struct criterion_test *criterion_current_test;

void kt_mini_register(struct criterion_test *test);
/* No printf format attribute: the message is optional, so its format may be "". */
void kt_mini_fail(const char *file, int line, int fatal, const char *expr, const char *format, ...);
_Noreturn void kt_mini_skip(const char *format, ...);
void kt_mini_log(const char *level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define KT_MINI_ID(suite, name, part) kt_mini_##suite##_##name##_##part

#define Test(suite, name, ...)                                                                     \
    static void KT_MINI_ID(suite, name, impl)(void);                                               \
    static struct criterion_test_extra_data KT_MINI_ID(suite, name, extra) = {.sentinel_ = 0,      \
                                                                              __VA_ARGS__};        \
    static struct criterion_test KT_MINI_ID(suite, name, meta) = {                                 \
        #name, #suite, KT_MINI_ID(suite, name, impl), &KT_MINI_ID(suite, name, extra)};            \
    __attribute__((constructor)) static void KT_MINI_ID(suite, name, reg)(void) {                  \
        kt_mini_register(&KT_MINI_ID(suite, name, meta));                                          \
    }                                                                                              \
    static void KT_MINI_ID(suite, name, impl)(void)

#define TestSuite(...)

/* The optional message arguments of an assertion: a format and its values. */
#define KT_MINI_CHECK(fatal, cond, text, ...)                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            kt_mini_fail(__FILE__, __LINE__, (fatal), (text), "" __VA_ARGS__);                     \
    } while (0)

#define cr_assert(cond, ...)     KT_MINI_CHECK(1, (cond), #cond, __VA_ARGS__)
#define cr_expect(cond, ...)     KT_MINI_CHECK(0, (cond), #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) KT_MINI_CHECK(1, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) KT_MINI_CHECK(0, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_fail(...)      KT_MINI_CHECK(1, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_expect_fail(...)      KT_MINI_CHECK(0, 0, "cr_expect_fail", __VA_ARGS__)

#define KT_MINI_CMP(fatal, a, op, b, ...)                                                          \
    KT_MINI_CHECK(fatal, (a)op(b), #a " " #op " " #b, __VA_ARGS__)
#define cr_assert_eq(a, b, ...)    KT_MINI_CMP(1, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...)   KT_MINI_CMP(1, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...)    KT_MINI_CMP(1, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...)   KT_MINI_CMP(1, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...)    KT_MINI_CMP(1, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...)   KT_MINI_CMP(1, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...)    KT_MINI_CMP(0, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...)   KT_MINI_CMP(0, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...)    KT_MINI_CMP(0, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...)   KT_MINI_CMP(0, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...)    KT_MINI_CMP(0, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...)   KT_MINI_CMP(0, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...)     KT_MINI_CHECK(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) KT_MINI_CHECK(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...)     KT_MINI_CHECK(0, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) KT_MINI_CHECK(0, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                                \
    KT_MINI_CHECK(1, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                               \
    KT_MINI_CHECK(1, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)                                                                \
    KT_MINI_CHECK(0, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_empty(s, ...) KT_MINI_CHECK(1, (s)[0] == '\0', #s " is empty", __VA_ARGS__)
#define cr_assert_str_not_empty(s, ...)                                                            \
    KT_MINI_CHECK(1, (s)[0] != '\0', #s " is not empty", __VA_ARGS__)
#define cr_assert_arr_eq(a, b, size, ...)                                                          \
    KT_MINI_CHECK(1, memcmp((a), (b), (size)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...)                                                         \
    KT_MINI_CHECK(1, (a) - (b) <= (eps) && (b) - (a) <= (eps), #a " ~= " #b, __VA_ARGS__)

#define cr_skip_test(...) kt_mini_skip("" __VA_ARGS__)
#define cr_log_info(...)  kt_mini_log("INFO", __VA_ARGS__)
#define cr_log_warn(...)  kt_mini_log("WARN", __VA_ARGS__)
#define cr_log_error(...) kt_mini_log("ERR ", __VA_ARGS__)

#endif
