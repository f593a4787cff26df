/*
 * kt_crash.h - a test that crashes says what kind of crash it was.
 *
 * A segmentation fault or an abort ends a test process at once, and all the
 * student would read is "the test crashed". The fault itself tells more: an
 * address near zero is a NULL pointer (or a field of one), a jump to address
 * zero is a call through a NULL function pointer (a free function that was
 * never given, say). Before the
 * process dies, the handler prints one "[kit] crash: ..." line naming that,
 * and how to see the line of code (SAN=address), then dies of the same
 * signal, so that the test runner sees the crash as before. Aborts are left
 * alone: the kit aborts on purpose after its own diagnoses, and when the C
 * library finds its heap damaged it says so itself (the student loop's
 * runner, runtime/tools/run_tests.py, shows that line first).
 *
 * Not armed under AddressSanitizer, which reports these faults itself, with
 * the stack. The handler does no allocation and no stdio: after a heap
 * overflow, malloc's own state may be what is damaged.
 */
#ifndef KT_CRASH_H
#define KT_CRASH_H

/* Installs the handlers for SIGSEGV, SIGBUS, SIGFPE and SIGILL (at each test's start). */
void kt_crash_arm(void);

#endif
