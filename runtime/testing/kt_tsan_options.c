/* kt_tsan_options.c - ThreadSanitizer's defaults for the kit's test programs.
 *
 * By default ThreadSanitizer sleeps one second before every process exits,
 * to catch races with threads still running at exit. Criterion runs each
 * test in a process of its own, so that second was paid per test: a suite
 * of 30 tests took 30 s under SAN=thread instead of 1 s. Every test joins
 * the threads it starts before it ends, so the sleep finds nothing here.
 * TSAN_OPTIONS in the environment still overrides these defaults.
 */
#include "kt_sanitizer.h"

#ifdef KT_TSAN
/* Declared here: the sanitizer's interface header is not installed everywhere. */
const char *__tsan_default_options(void);

/* ThreadSanitizer calls this at start-up; the environment's options come after. */
const char *__tsan_default_options(void) {
    return "atexit_sleep_ms=0";
}
#else
/* ISO C wants a translation unit to declare something, even when this one is off. */
typedef int kt_tsan_options_unused;
#endif
