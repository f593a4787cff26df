/* test_todo.c - TODO("...") says what is not implemented, and where, then aborts. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_test.h"

/* Runs TODO in a child process; returns what it printed and how it ended. */
static int run_todo(char *text, size_t size, int *line) {
    int out[2];
    cr_assert_eq(pipe(out), 0);
    fflush(NULL);
    *line = __LINE__ + 6;
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}); /* no core file for this abort */
        dup2(out[1], 2);
        TODO("send the message, then wake the receiver");
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

KT_TEST(runtime_todo, todo_message_and_abort, .timeout = 2,
        .description = "TODO prints 'not implemented: <text> (<file>:<line>)' and aborts") {
    char text[512], expected[512];
    int line;
    int status = run_todo(text, sizeof text, &line);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the child aborted");
    snprintf(expected, sizeof expected,
             "not implemented: send the message, then wake the receiver (%s:%d)\n", __FILE__,
             line);
    cr_assert_str_eq(text, expected);
}
