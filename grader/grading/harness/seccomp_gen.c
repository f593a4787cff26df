/*
 * seccomp_gen.c - writes the system-call filter of graded test processes
 * as a C file defining kt_grade_filter[] (seccomp_filter.h), with libseccomp.
 *
 *     seccomp_gen plain|tsan|asan [net] > seccomp_filter.c
 *
 * The grader's runner (runner.c) installs the filter just before the test's
 * fixture runs, so everything the student's code does happens under it.
 * Allowed is what a channel test needs: memory, threads (clone only with
 * CLONE_THREAD), futexes, time, sleeping, signals to itself, writing to
 * standard output and error, and pwrite to the result descriptor (fd 3,
 * which stdio never uses). Opening files answers EACCES and ioctl ENOTTY
 * (stdio asks whether stdout is a terminal). Everything else ends the
 * process with SIGSYS: processes, exec, ptrace, process_vm_*,
 * perf_event_open, namespaces, sockets, and the rest.
 *
 * With "net" (seccomp_gen plain net), for an exercise whose tests start
 * its programs and talk to them over loopback (the chat): sockets, pipes,
 * poll, fork, exec, wait and kill are allowed too, files may be opened
 * read-only (the dynamic loader of an exec'd program needs its libraries)
 * or as unnamed temporary files, and writing reaches any descriptor but
 * the record's (fd 3), which no call may duplicate either.
 *
 * The "tsan" profile is for ThreadSanitizer builds, whose runtime also
 * reads /proc/self/maps and the binary when it reports a race: files may be
 * opened read-only there (the sandbox shows nothing else of the host).
 *
 * The "asan" profile is for AddressSanitizer builds: what "tsan" allows,
 * plus what LeakSanitizer's leak check needs to stop the world: a tracer
 * made by clone with exactly the flags LeakSanitizer passes (CLONE_VM |
 * CLONE_FS | CLONE_FILES | CLONE_UNTRACED: memory shared, no new process
 * image, no thread group), ptrace to attach to the process's own threads
 * and read their registers, and waiting for them (wait4). ptrace cannot be
 * narrowed to the process's own threads by a filter: what it can reach
 * is bounded by the sandbox (its own pid namespace, or a uid of its own;
 * see the grader's README, trust model), and a run under this profile can
 * only take points away (the plain run decides every pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static scmp_filter_ctx ctx;

static void rule(uint32_t action, int syscall_nr, unsigned count, const struct scmp_arg_cmp *args) {
    if (seccomp_rule_add_array(ctx, action, syscall_nr, count, args) != 0) {
        fprintf(stderr, "seccomp_gen: cannot add a rule for %s\n",
                seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, syscall_nr));
        exit(1);
    }
}

static void allow(const char *name) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
        fprintf(stderr, "seccomp_gen: unknown system call %s\n", name);
        exit(1);
    }
    rule(SCMP_ACT_ALLOW, nr, 0, NULL);
}

static void answer(const char *name, int error) {
    rule(SCMP_ACT_ERRNO((uint32_t)error), seccomp_syscall_resolve_name(name), 0, NULL);
}

/* The "net" additions (see the top of this file). */
static void allow_network_and_processes(void) {
    static const char *calls[] = {
        "socket",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "getsockname",
        "getpeername",
        "setsockopt",
        "getsockopt",
        "shutdown",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "poll",
        "ppoll",
        "pipe",
        "pipe2",
        "wait4",
        "kill",
        "getppid",
        "prctl",
        "execve",
        "rt_sigtimedwait",
        "rt_sigsuspend",
        "pause",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "uname",
        "sysinfo",
        "unlink",
        "unlinkat",
        "readlink",
        "readlinkat",
        "pread64",
        "getdents64",
        "close_range",
        "access",
        "faccessat",
        "faccessat2",
        "getcwd",
        "arch_prctl",
        "sched_getparam",
        "sched_getscheduler",
        "statx",
        "setrlimit",
        "getrlimit",
        "getrusage",
        "times",
        "socketpair",
        "select",
        "pselect6",
        "setpgid",
        "getpgid",
        "setsid",
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        allow(calls[i]);
    /* Processes too (fork is clone without CLONE_THREAD), and raising the open-file limit. */
    rule(SCMP_ACT_ALLOW, SCMP_SYS(clone), 0, NULL);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 0, NULL);
    /* Writing to any descriptor but the record's; nothing may copy or change the record's. */
    struct scmp_arg_cmp not_record = SCMP_A0(SCMP_CMP_NE, 3);
    static const char *on_fd[] = {"write", "writev", "dup", "dup2", "dup3", "fcntl", "sendfile"};
    for (size_t i = 0; i < sizeof on_fd / sizeof on_fd[0]; i++)
        rule(SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(on_fd[i]), 1, &not_record);
    /* Files: read-only, or an unnamed temporary file (tmpfile()); mappings private. */
    struct scmp_arg_cmp read_only = SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, &read_only);
    struct scmp_arg_cmp tmpfile_only = SCMP_A2(SCMP_CMP_MASKED_EQ, __O_TMPFILE, __O_TMPFILE);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, &tmpfile_only);
    struct scmp_arg_cmp private_map = SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &private_map);
}

int main(int argc, char **argv) {
    int asan = argc > 1 && strcmp(argv[1], "asan") == 0;
    int tsan = asan || (argc > 1 && strcmp(argv[1], "tsan") == 0);
    int net = argc > 2 && strcmp(argv[2], "net") == 0;
    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL)
        return 1;
    static const char *always[] = {
        /* memory */
        "brk",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "membarrier",
        /* threads, locks, identity */
        "futex",
        "set_robust_list",
        "get_robust_list",
        "rseq",
        "set_tid_address",
        "gettid",
        "getpid",
        "sched_yield",
        "sched_getaffinity",
        "getrandom",
        /* time and sleep */
        "clock_gettime",
        "clock_getres",
        "clock_nanosleep",
        "nanosleep",
        "gettimeofday",
        "time",
        "setitimer",
        "getitimer",
        "alarm",
        "restart_syscall",
        /* signals to itself (abort, the runtime's watchdog) */
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "sigaltstack",
        "tgkill",
        /* descriptors it already has */
        "read",
        "close",
        "fstat",
        "newfstatat",
        "lseek",
        /* ending */
        "exit",
        "exit_group",
    };
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        allow(always[i]);

    /* Anonymous memory only: a mapping of a descriptor could write through it. */
    struct scmp_arg_cmp anonymous = SCMP_A4(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &anonymous);
    /* Threads, not processes; clone3 hides its flags in memory: glibc falls back to clone. */
    struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &thread);
    answer("clone3", ENOSYS);
    /* getrlimit (pthread_create asks for the stack size), never setting a limit. */
    struct scmp_arg_cmp no_new_limit = SCMP_A2(SCMP_CMP_EQ, 0);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, &no_new_limit);
    /* Output: standard output and error only; the record: fd 3 only, by pwrite. */
    for (int fd = 1; fd <= 2 && !net; fd++) {
        struct scmp_arg_cmp to_fd = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd);
        rule(SCMP_ACT_ALLOW, SCMP_SYS(write), 1, &to_fd);
        rule(SCMP_ACT_ALLOW, SCMP_SYS(writev), 1, &to_fd);
    }
    if (net)
        allow_network_and_processes();
    struct scmp_arg_cmp to_record = SCMP_A0(SCMP_CMP_EQ, 3);
    rule(SCMP_ACT_ALLOW, SCMP_SYS(pwrite64), 1, &to_record);
    answer("ioctl", ENOTTY);
    if (tsan) {
        struct scmp_arg_cmp read_only = SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY);
        rule(SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, &read_only);
        struct scmp_arg_cmp read_only_open =
            SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY);
        rule(SCMP_ACT_ALLOW, SCMP_SYS(open), 1, &read_only_open);
        /* The symbolizer maps the binary to read its debug information: read-only, private. */
        struct scmp_arg_cmp no_write[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC, 0),
                                          SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0)};
        rule(SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2, no_write);
        struct scmp_arg_cmp set_cloexec = SCMP_A1(SCMP_CMP_EQ, F_SETFD);
        rule(SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, &set_cloexec);
        static const char *more[] = {"readlink",   "readlinkat",     "pread64",
                                     "getdents64", "sysinfo",        "uname",
                                     "prctl",      "sched_getparam", "sched_getscheduler",
                                     "getuid",     "geteuid",        "getppid"};
        for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
            allow(more[i]);
    }
    if (asan) {
        /* LeakSanitizer's stop-the-world tracer (sanitizer_stoptheworld_linux_libcdep.cpp). */
        struct scmp_arg_cmp tracer =
            SCMP_A0(SCMP_CMP_EQ, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED);
        rule(SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &tracer);
        allow("ptrace");
        allow("getdents"); /* the sanitizer lists /proc/self/task with the old call */
        if (!net)          /* the "net" profile allows it already */
            allow("wait4");
    }
    if (!tsan && !net) {
        answer("openat", EACCES);
        answer("open", EACCES);
    }

    char path[] = "/tmp/seccomp_gen_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0)
        return 1;
    unlink(path);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char *bpf = malloc((size_t)size);
    if (bpf == NULL || pread(fd, bpf, (size_t)size, 0) != size)
        return 1;
    printf("/* Made by grader/grading/harness/seccomp_gen.c (%s profile): do not edit. */\n",
           asan   ? "asan"
           : tsan ? "tsan"
                  : "plain");
    printf("#include \"seccomp_filter.h\"\n\nconst struct sock_filter kt_grade_filter[] = {\n");
    for (off_t i = 0; i + 8 <= size; i += 8) {
        struct sock_filter insn;
        memcpy(&insn, bpf + i, sizeof insn);
        printf("    {0x%04x, %u, %u, 0x%08x},\n", insn.code, insn.jt, insn.jf, insn.k);
    }
    printf("};\nconst unsigned short kt_grade_filter_length = %lld;\n", (long long)(size / 8));
    seccomp_release(ctx);
    return 0;
}
