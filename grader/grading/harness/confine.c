/*
 * confine.c - the first process of every sandboxed run: the run's limits, its uid, then exec.
 *
 *   confine CPU AS FSIZE NOFILE NPROC UID -- PROGRAM [ARG...]
 *
 * CPU is RLIMIT_CPU's soft limit in seconds (the hard one is a second more,
 * so that SIGXCPU comes before SIGKILL); AS, FSIZE, NOFILE and NPROC are the
 * other limits (a negative number: unlimited); core dumps are off. UID, when
 * not negative, is the unprivileged uid (and gid) the program runs as, with
 * no supplementary groups. PROGRAM is looked up in PATH.
 *
 * Why a program and not Python's preexec_fn: a preexec_fn makes the grader
 * fork its whole address space for every run (about 17 ms of processor time
 * for a Python process of 120 MB, against under 1 ms for the vfork Python uses
 * otherwise), and a class takes hundreds of runs.
 *
 * Exits 125 with a message when a limit or the uid cannot be set: the
 * program never runs with less confinement than asked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { EXIT_CONFINE = 125 };

static void fail(const char *what) {
    fprintf(stderr, "confine: %s: %s\n", what, strerror(errno));
    exit(EXIT_CONFINE);
}

static long long number(const char *text) {
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        fprintf(stderr, "confine: not a number: %s\n", text);
        exit(EXIT_CONFINE);
    }
    return n;
}

static rlim_t limit_of(const char *text) {
    long long n = number(text);
    return n < 0 ? RLIM_INFINITY : (rlim_t)n;
}

static void cap(int resource, rlim_t soft, rlim_t hard, const char *name) {
    struct rlimit r = {soft, hard};
    if (setrlimit(resource, &r) != 0)
        fail(name);
}

int main(int argc, char **argv) {
    if (argc < 9 || strcmp(argv[7], "--") != 0) {
        fprintf(stderr, "usage: confine CPU AS FSIZE NOFILE NPROC UID -- PROGRAM [ARG...]\n");
        return EXIT_CONFINE;
    }
    rlim_t cpu = limit_of(argv[1]);
    cap(RLIMIT_CPU, cpu, cpu == RLIM_INFINITY ? cpu : cpu + 1, "RLIMIT_CPU");
    rlim_t as = limit_of(argv[2]), fsize = limit_of(argv[3]);
    rlim_t nofile = limit_of(argv[4]), nproc = limit_of(argv[5]);
    cap(RLIMIT_AS, as, as, "RLIMIT_AS");
    cap(RLIMIT_FSIZE, fsize, fsize, "RLIMIT_FSIZE");
    cap(RLIMIT_NOFILE, nofile, nofile, "RLIMIT_NOFILE");
    cap(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    cap(RLIMIT_NPROC, nproc, nproc, "RLIMIT_NPROC");
    long long uid = number(argv[6]);
    if (uid >= 0) {
        /* Groups first: once the uid is dropped, setgroups is no longer allowed. */
        if (setgroups(0, NULL) != 0)
            fail("setgroups");
        if (setgid((gid_t)uid) != 0)
            fail("setgid");
        if (setuid((uid_t)uid) != 0)
            fail("setuid");
        if (getuid() != (uid_t)uid || geteuid() != (uid_t)uid) {
            errno = EPERM;
            fail("the uid did not change");
        }
    }
    execvp(argv[8], argv + 8);
    fail(argv[8]);
}
