/* test_todo.c - TODO("...") says what is not implemented, and where, then aborts. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_test.h"

/* A stub, and the line its TODO is on (kept on one line on purpose). */
/* clang-format off */
static void stub(void) { TODO("send the message, then wake the receiver"); } static const int stub_line = __LINE__;
/* clang-format on */

/* Runs the stub in a child process; returns what it printed and how it ended. */
static int run_stub(char *text, size_t size) {
    int out[2];
    cr_assert_eq(pipe(out), 0);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}); /* no core file for this abort */
        dup2(out[1], 2);
        stub();
    }
    close(out[1]);
    size_t len = 0;
    ssize_t n;
    while (len < size - 1 && (n = read(out[0], text + len, size - 1 - len)) > 0)
        len += (size_t)n;
    text[len] = '\0';
    close(out[0]);
    int status;
    waitpid(child, &status, 0);
    return status;
}

KT_TEST(runtime_todo, todo_message_and_abort, .timeout = 5,
        .description = "TODO prints 'not implemented: <text> (<file>:<line>)' and aborts") {
    char text[512], expected[512];
    int status = run_stub(text, sizeof text);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the child aborted");
    snprintf(expected, sizeof expected,
             "not implemented: send the message, then wake the receiver (%s:%d)\n", __FILE__,
             stub_line);
    cr_assert_str_eq(text, expected);
}
