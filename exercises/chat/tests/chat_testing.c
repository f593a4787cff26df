/*
 * chat_testing.c - the chat tests' harness (see chat_testing.h).
 *
 * Test code, not student code: it uses the system directly (sockets,
 * poll(2), fork and exec), because a harness must not depend on the
 * runtime under test to judge it.
 */
#include "chat_testing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "chat_message.h"
#include "rt_stdin.h"
#include "kt_test.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored below instead */
#endif

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *ct_alloc(size_t size) {
    void *p = calloc(1, size);
    cr_assert_not_null(p, "the test harness is out of memory");
    return p;
}

/* ---- connections ---- */

ct_conn *ct_conn_from_fd(int fd) {
    signal(SIGPIPE, SIG_IGN);
    ct_conn *conn = ct_alloc(sizeof *conn);
    conn->fd = fd;
    return conn;
}

ct_conn *ct_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0,
              "cannot connect to the server on 127.0.0.1:%u: %s", (unsigned)port, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return ct_conn_from_fd(fd);
}

static void conn_free(ct_conn *conn) {
    free(conn->buf);
    free(conn->line);
    free(conn);
}

void ct_close(ct_conn *conn) {
    close(conn->fd);
    conn_free(conn);
}

void ct_reset(ct_conn *conn) {
    struct linger linger = {.l_onoff = 1, .l_linger = 0};
    setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    close(conn->fd);
    conn_free(conn);
}

bool ct_send_bytes(ct_conn *conn, const void *bytes, size_t n) {
    const char *p = bytes;
    while (n > 0) {
        ssize_t sent = send(conn->fd, p, n, MSG_NOSIGNAL);
        if (sent < 0 && errno == ENOTSOCK)
            sent = write(conn->fd, p, n); /* a pipe */
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        p += sent;
        n -= (size_t)sent;
    }
    return true;
}

void ct_send(ct_conn *conn, const char *text) {
    cr_assert(ct_send_bytes(conn, text, strlen(text)),
              "could not send %s: the connection is gone (%s)", text, strerror(errno));
}

ct_read ct_read_line(ct_conn *conn, double seconds, const char **line, size_t *len) {
    double deadline = now_seconds() + seconds;
    for (;;) {
        char *nl = conn->len ? memchr(conn->buf, '\n', conn->len) : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - conn->buf);
            free(conn->line);
            conn->line = ct_alloc(n + 1);
            memcpy(conn->line, conn->buf, n);
            conn->line[n] = '\0';
            memmove(conn->buf, nl + 1, conn->len - n - 1);
            conn->len -= n + 1;
            *line = conn->line;
            *len = n;
            return CT_LINE;
        }
        double left = deadline - now_seconds();
        if (left <= 0)
            return CT_TIMEOUT;
        struct pollfd pfd = {.fd = conn->fd, .events = POLLIN};
        int ready = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            continue; /* the deadline is checked above */
        if (conn->cap - conn->len < 65536) {
            conn->cap = conn->cap ? conn->cap * 2 : 131072;
            conn->buf = realloc(conn->buf, conn->cap);
            cr_assert_not_null(conn->buf);
        }
        ssize_t got = read(conn->fd, conn->buf + conn->len, conn->cap - conn->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return CT_EOF; /* closed, or reset */
        conn->len += (size_t)got;
    }
}

void ct_expect_line(ct_conn *conn, const char *expected, const char *who) {
    const char *line;
    size_t len;
    size_t want = strlen(expected);
    if (want > 0 && expected[want - 1] == '\n')
        want--; /* the line lines of ct_*_line end with it */
    ct_read got = ct_read_line(conn, CT_WAIT, &line, &len);
    cr_assert(got != CT_TIMEOUT, "%s: expected the line %.*s, but nothing came within %.0f s", who,
              (int)want, expected, CT_WAIT);
    cr_assert(got != CT_EOF, "%s: expected the line %.*s, but the connection was closed", who,
              (int)want, expected);
    cr_assert(len == want && memcmp(line, expected, want) == 0,
              "%s: expected the line\n    %.*s\n  got\n    %.*s", who, (int)want, expected,
              (int)(len > 300 ? 300 : len), line);
}

void ct_expect_closed(ct_conn *conn, const char *who) {
    const char *line;
    size_t len;
    ct_read got = ct_read_line(conn, CT_WAIT, &line, &len);
    cr_assert(got != CT_TIMEOUT,
              "%s: the server should have closed this connection (waited %.0f s)", who, CT_WAIT);
    cr_assert(got == CT_EOF, "%s: the server should have closed this connection, but sent %.*s",
              who, (int)(len > 300 ? 300 : len), line);
}

static const char *line_of(chat_message message) {
    static _Thread_local char buf[4096];
    size_t len;
    char *json = chat_message_encode(&message, &len);
    cr_assert(json != NULL && len + 2 < sizeof buf, "a test line too long or not UTF-8");
    memcpy(buf, json, len);
    buf[len] = '\n';
    buf[len + 1] = '\0';
    free(json);
    return buf;
}

const char *ct_user_line(const char *user) {
    return line_of((chat_message){.kind = CHAT_MESSAGE_USER, .user = (char *)user});
}

const char *ct_client_line(const char *content) {
    return line_of((chat_message){.kind = CHAT_MESSAGE_CLIENT_MESSAGE, .content = (char *)content});
}

const char *ct_chat_line(const char *user, const char *content) {
    return line_of((chat_message){
        .kind = CHAT_MESSAGE_CHAT, .user = (char *)user, .content = (char *)content});
}

ct_conn *ct_join(uint16_t port, const char *user) {
    ct_conn *conn = ct_connect(port);
    ct_send(conn, ct_user_line(user));
    char who[128];
    snprintf(who, sizeof who, "%s, after joining (its own join comes first)", user);
    ct_expect_line(conn, ct_user_line(user), who);
    return conn;
}

/* ---- a server in this process ---- */

void ct_server_start(ct_server *server, unsigned workers, size_t max_line, size_t capacity) {
    server->log = tmpfile();
    cr_assert_not_null(server->log, "tmpfile: %s", strerror(errno));
    server->executor = rt_executor_new(workers);
    chat_server_config config = {.host = "127.0.0.1",
                                 .port = 0,
                                 .max_line = max_line,
                                 .capacity = capacity,
                                 .log = server->log};
    rt_io_result result = chat_server_start(server->executor, &config, &server->port);
    cr_assert_eq(result, RT_IO_OK, "chat_server_start failed: %s", rt_io_result_str(result));
    cr_assert_neq(server->port, 0, "chat_server_start must say which port it listens on");
}

void ct_server_stop(ct_server *server) {
    rt_executor_shutdown(server->executor);
    server->executor = NULL;
    fclose(server->log);
    server->log = NULL;
}

bool ct_log_wait_for(ct_server *server, const char *needle) {
    double deadline = now_seconds() + CT_WAIT;
    char text[65536];
    do {
        fflush(server->log);
        ssize_t n = pread(fileno(server->log), text, sizeof text - 1, 0);
        if (n > 0) {
            text[n] = '\0';
            if (strstr(text, needle) != NULL)
                return true;
        }
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    } while (now_seconds() < deadline);
    return false;
}

/* ---- a fake server ---- */

int ct_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    cr_assert(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 && listen(fd, 64) == 0 &&
                  getsockname(fd, (struct sockaddr *)&addr, &size) == 0,
              "cannot listen on 127.0.0.1: %s", strerror(errno));
    *port = ntohs(addr.sin_port);
    return fd;
}

ct_conn *ct_accept(int listener) {
    struct pollfd pfd = {.fd = listener, .events = POLLIN};
    int ready;
    do
        ready = poll(&pfd, 1, (int)(CT_WAIT * 1000));
    while (ready < 0 && errno == EINTR);
    cr_assert(ready > 0, "the client did not connect within %.0f s", CT_WAIT);
    int fd = accept(listener, NULL, NULL);
    cr_assert(fd >= 0, "accept: %s", strerror(errno));
    return ct_conn_from_fd(fd);
}

static bool reap(ct_process *process, bool block);

ct_conn *ct_accept_from(int listener, ct_process *process) {
    double deadline = now_seconds() + CT_WAIT;
    for (;;) {
        struct pollfd pfd = {.fd = listener, .events = POLLIN};
        if (poll(&pfd, 1, 10) > 0)
            break;
        if (reap(process, false)) {
            char *err = ct_read_stderr(process, 1.0);
            cr_assert_fail("the program exited (status %d) without connecting; its stderr:\n%s",
                           process->status, err);
        }
        cr_assert(now_seconds() < deadline, "the program did not connect within %.0f s", CT_WAIT);
    }
    int fd = accept(listener, NULL, NULL);
    cr_assert(fd >= 0, "accept: %s", strerror(errno));
    return ct_conn_from_fd(fd);
}

/* ---- a client in this process ---- */

static void *client_thread(void *arg) {
    ct_client *client = arg;
    client->result = chat_client_run(&client->config, &client->io);
    rt_stdin_drop(client->stdin_pipe);
    fflush(client->config.output);
    fclose(client->config.output); /* the test reads end of file after the last line */
    atomic_store(&client->done, true);
    return NULL;
}

void ct_client_start(ct_client *client, uint16_t port, const char *user) {
    int in[2], out[2];
    cr_assert(pipe(in) == 0 && pipe(out) == 0, "pipe: %s", strerror(errno));
    *client = (ct_client){.input = in[1]};
    client->output = ct_conn_from_fd(out[0]);
    client->errors = tmpfile();
    cr_assert_not_null(client->errors);
    client->config = (chat_client_config){.host = "127.0.0.1",
                                          .port = port,
                                          .user = user,
                                          .output = fdopen(out[1], "w"),
                                          .errors = client->errors};
    cr_assert_not_null(client->config.output);
    cr_assert_eq(rt_stdin_open_fd(in[0], &client->stdin_pipe), RT_IO_OK); /* it closes in[0] */
    client->config.input = rt_stdin_reader(client->stdin_pipe);
    atomic_init(&client->done, false);
    cr_assert_eq(pthread_create(&client->thread, NULL, client_thread, client), 0);
}

void ct_client_type(ct_client *client, const char *text) {
    size_t n = strlen(text);
    cr_assert(client->input >= 0 && write(client->input, text, n) == (ssize_t)n,
              "could not type into the client's input");
}

void ct_client_end_input(ct_client *client) {
    if (client->input >= 0)
        close(client->input);
    client->input = -1;
}

chat_client_result ct_client_wait(ct_client *client) {
    double deadline = now_seconds() + CT_WAIT;
    while (!atomic_load(&client->done)) {
        cr_assert(now_seconds() < deadline, "chat_client_run did not return within %.0f s",
                  CT_WAIT);
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    pthread_join(client->thread, NULL);
    return client->result;
}

void ct_client_free(ct_client *client) {
    ct_client_end_input(client);
    ct_close(client->output);
    fclose(client->errors);
}

char *ct_client_errors(ct_client *client) {
    fflush(client->errors);
    char *text = ct_alloc(65536);
    ssize_t n = pread(fileno(client->errors), text, 65535, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* ---- programs ---- */

#define CT_MAX_PROCESSES 64
static ct_process *started[CT_MAX_PROCESSES];
static size_t started_count;

static void program_path(const char *program, char *path, size_t size) {
    const char *dir = getenv("KT_PROGRAM_DIR");
    char self[PATH_MAX];
    if (dir == NULL) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        cr_assert(n > 0, "cannot find the chat programs: set KT_PROGRAM_DIR to their folder");
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        *slash = '\0';
        dir = self;
    }
    int n = snprintf(path, size, "%s/%s", dir, program);
    cr_assert(n > 0 && (size_t)n < size, "the program's path is too long");
    cr_assert(access(path, X_OK) == 0,
              "the program %s is not there (make test builds it next to the test binary)", path);
}

static void close_from(int lowest) {
    struct rlimit limit;
    long top = 1024;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        top = (long)limit.rlim_cur;
    if (top > 65536)
        top = 65536;
    for (long fd = lowest; fd < top; fd++)
        close((int)fd);
}

/*
 * When a test ends before its ct_teardown (a failed assertion), at exit:
 * stop the programs it started. Their ct_process may be gone with the
 * test's stack, so the pids are kept here.
 */
static pid_t started_pids[CT_MAX_PROCESSES];
static size_t started_pid_count;

static void stop_at_exit(void) {
    /* Killed and reaped here: a child left to outlive the test would be
     * handed to the test runner (pid 1 in a sandbox), which does not
     * expect it. */
    for (size_t i = 0; i < started_pid_count; i++) {
        kill(started_pids[i], SIGKILL);
        waitpid(started_pids[i], NULL, 0);
    }
    started_pid_count = 0;
}

void ct_spawn(ct_process *process, const char *program, const char *const *args) {
    char path[PATH_MAX];
    program_path(program, path, sizeof path);
    const char *argv[32] = {path};
    size_t argc = 1;
    for (; args != NULL && args[argc - 1] != NULL && argc < 31; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    int in[2], out[2], err[2];
    cr_assert(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test, whatever happens to it */
#endif
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close_from(3); /* nothing of the test runner's reaches the program */
        /* Descriptor 3 stays taken (a copy of stderr): the grader's system-call
         * filter, which the program inherits, refuses writes to fd 3 (the
         * number of its result record), so the program's own sockets must
         * start above it. */
        dup2(2, 3);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    *process = (ct_process){.pid = pid, .in = in[1]};
    process->out = ct_conn_from_fd(out[0]);
    process->err = ct_conn_from_fd(err[0]);
    signal(SIGPIPE, SIG_IGN);
    cr_assert(started_count < CT_MAX_PROCESSES);
    static bool registered;
    if (!registered)
        atexit(stop_at_exit);
    registered = true;
    started[started_count++] = process;
    started_pids[started_pid_count++] = pid;
}

static bool reap(ct_process *process, bool block) {
    if (process->reaped)
        return true;
    int status;
    pid_t got = waitpid(process->pid, &status, block ? 0 : WNOHANG);
    if (got != process->pid)
        return false;
    process->reaped = true;
    process->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

bool ct_wait(ct_process *process, double seconds) {
    double deadline = now_seconds() + seconds;
    while (!reap(process, false)) {
        if (now_seconds() > deadline) {
            kill(process->pid, SIGKILL);
            reap(process, true);
            return false;
        }
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return true;
}

void ct_signal(ct_process *process, int signal_number) {
    if (!process->reaped)
        kill(process->pid, signal_number);
}

void ct_close_stdin(ct_process *process) {
    if (process->in >= 0)
        close(process->in);
    process->in = -1;
}

char *ct_read_stderr(ct_process *process, double seconds) {
    double deadline = now_seconds() + seconds;
    ct_conn *err = process->err;
    size_t cap = err->len + 4096, len = err->len;
    char *text = ct_alloc(cap);
    if (err->len > 0)
        memcpy(text, err->buf, err->len); /* what a line read took already */
    err->len = 0;
    for (;;) {
        double left = deadline - now_seconds();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = err->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        if (cap - len < 1024)
            text = realloc(text, cap *= 2);
        ssize_t got = read(err->fd, text + len, cap - len - 1);
        if (got <= 0)
            break; /* end of file: the program (and its children) closed stderr */
        len += (size_t)got;
    }
    text[len] = '\0';
    return text;
}

uint16_t ct_spawn_server(ct_process *process, const char *const *args) {
    const char *all[16] = {"--port", "0"};
    size_t n = 2;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 15; i++)
        all[n++] = args[i];
    all[n] = NULL;
    ct_spawn(process, "chat-server", all);
    const char *line;
    size_t len;
    ct_read got = ct_read_line(process->err, CT_WAIT, &line, &len);
    cr_assert_eq(got, CT_LINE, "chat-server said nothing on stderr within %.0f s", CT_WAIT);
    const char *at = strstr(line, "listening on ");
    const char *colon = at != NULL ? strrchr(at, ':') : NULL;
    cr_assert(colon != NULL, "chat-server's first line should say where it listens, not: %s", line);
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);
    cr_assert(port > 0 && port < 65536, "chat-server's first line: %s", line);
    return (uint16_t)port;
}

void ct_teardown(void) {
    for (size_t i = 0; i < started_count; i++) {
        ct_process *p = started[i];
        if (!p->reaped) {
            kill(p->pid, SIGKILL);
            reap(p, true);
        }
        if (p->in >= 0)
            close(p->in);
        ct_close(p->out);
        ct_close(p->err);
        p->in = -1;
        p->out = p->err = NULL;
    }
    started_count = 0;
    started_pid_count = 0;
}
