/* kt_crash.c - one line naming the kind of crash, before a test process dies of it. */
#if defined(__linux__)
#define _GNU_SOURCE /* REG_RIP: where the faulting instruction was */
#endif
#include "kt_crash.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <ucontext.h>
#define KT_CRASH_PC 1
#endif

#include "kt_explore.h"
#include "kt_sanitizer.h"

#ifndef KT_ASAN /* AddressSanitizer reports these faults itself, with the stack */
/* Addresses below this are a NULL pointer plus a field's offset. */
enum { NULL_PAGE = 4096 };

static void say(const char *text) {
    ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
    (void)ignored; /* nothing to do about a failed write while dying */
}

static void say_address(uintptr_t address) {
    char digits[2 + 2 * sizeof address + 1];
    char *p = digits + sizeof digits;
    *--p = '\0';
    do {
        *--p = "0123456789abcdef"[address & 0xf];
        address >>= 4;
    } while (address != 0);
    *--p = 'x';
    *--p = '0';
    say(p);
}

/* Where the faulting instruction is, or 1 where the platform does not say. */
static uintptr_t fault_pc(void *context) {
#if defined(KT_CRASH_PC) && defined(__x86_64__)
    return (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
#elif defined(KT_CRASH_PC) && defined(__aarch64__)
    return (uintptr_t)((ucontext_t *)context)->uc_mcontext.pc;
#else
    (void)context;
    return 1;
#endif
}

static void on_crash(int sig, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    const char *hint = "";
    say("[kit] crash: ");
    switch (sig) {
    case SIGSEGV:
    case SIGBUS:
        if (address < NULL_PAGE && fault_pc(context) == address) {
            say("the code called a function through a NULL pointer (jumped to ");
            say_address(address);
            hint = "): a function pointer that was never set, such as a free or clone function "
                   "the channel was given as NULL; check it before calling it";
        } else if (address < NULL_PAGE) {
            say("the code used a NULL pointer (it touched address ");
            say_address(address);
            hint = "): a pointer, or a field of a struct through one, that was never set or was "
                   "reset";
        } else {
            say(sig == SIGSEGV ? "a segmentation fault at address " : "a bus error at address ");
            say_address(address);
            hint = ": memory that is not the program's (freed already, past the end of a block, or "
                   "a pointer that was never set)";
        }
        break;
    case SIGFPE:
        say("an arithmetic error");
        hint = ": a division (or %) by zero";
        break;
    default:
        say("an illegal instruction");
        hint = ": a jump to something that is not code (a damaged function pointer or stack)";
        break;
    }
    say(hint);
    say(". SAN=address shows the line: make test EX=<exercise> SAN=address\n");
    kt_explore_report(); /* the explorer's seed and replay command, when it was on */
    /* Die of the same signal: the test runner reports the crash as a crash. */
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

void kt_crash_arm(void) {
#ifndef KT_ASAN
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_crash;
    action.sa_flags = SA_SIGINFO | SA_RESETHAND; /* a crash inside the handler ends it */
    sigemptyset(&action.sa_mask);
    const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &action, NULL);
#endif
}
