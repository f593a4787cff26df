/*
 * chat_testing.h - the chat tests' harness: scripted clients and servers, and the programs.
 *
 * The harness speaks to the student's code only over loopback TCP (and
 * through chat_server_start / chat_client_run), with plain blocking POSIX
 * sockets of its own, so a verdict never depends on the code under test
 * reading its own results. Every wait is bounded (CT_WAIT seconds unless
 * said otherwise) and a wait that runs out fails the test with what was
 * expected. Ports come from the kernel (port 0).
 *
 *   ct_server   a server under test on an in-process executor, its log in a file
 *   ct_conn     one TCP connection (or a pipe) read line by line
 *   ct_process  a program (chat-server, chat-client) run as its own process
 */
#ifndef CHAT_TESTING_H
#define CHAT_TESTING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "chat_client.h"
#include "chat_server.h"
#include "rt.h"

/*
 * How long a wait for something that must happen may take, in seconds:
 * thousands of times what it takes, longer under the sanitizers (the mini
 * runner of ThreadSanitizer builds scales the tests' timeouts by 4 too).
 */
#if defined(__SANITIZE_THREAD__)
#define CT_WAIT 12.0
#elif defined(__SANITIZE_ADDRESS__)
#define CT_WAIT 6.0
#else
#define CT_WAIT 4.0
#endif

/* ---- connections ---- */

typedef struct ct_conn {
    int fd;
    char *buf; /* bytes read and not yet handed out as lines */
    size_t len, cap;
    char *line; /* the last line returned (NUL-terminated, no newline) */
} ct_conn;

/* What a read found. */
typedef enum ct_read {
    CT_LINE,    /* a line */
    CT_EOF,     /* the peer closed (or reset) the connection */
    CT_TIMEOUT, /* nothing within the time allowed */
} ct_read;

/* Connects to 127.0.0.1:port (fails the test if it cannot). */
ct_conn *ct_connect(uint16_t port);

/* Wraps a descriptor (a socket or a pipe's read end); the conn closes it. */
ct_conn *ct_conn_from_fd(int fd);

/* Closes the connection cleanly and frees it. */
void ct_close(ct_conn *conn);

/* Resets the connection (SO_LINGER 0: the peer sees ECONNRESET) and frees it. */
void ct_reset(ct_conn *conn);

/* Sends all `n` bytes; false when the peer is gone (reset, closed). */
bool ct_send_bytes(ct_conn *conn, const void *bytes, size_t n);

/* Sends a C string; fails the test when it cannot. */
void ct_send(ct_conn *conn, const char *text);

/* Reads the next line within `seconds`: *line (valid until the next read) and *len. */
ct_read ct_read_line(ct_conn *conn, double seconds, const char **line, size_t *len);

/* The next line must be exactly `expected`; `who` names the connection in the failure. */
void ct_expect_line(ct_conn *conn, const char *expected, const char *who);

/* The connection must end (EOF or reset) with no line before that. */
void ct_expect_closed(ct_conn *conn, const char *who);

/* A JSON line of the wire format, in a static buffer (the codec prints it, with '\n'). */
const char *ct_user_line(const char *user);
const char *ct_client_line(const char *content);
const char *ct_chat_line(const char *user, const char *content);

/* Connects, says {"User":user}, and expects its own join back first. */
ct_conn *ct_join(uint16_t port, const char *user);

/* ---- a server under test, in this process ---- */

typedef struct ct_server {
    rt_executor *executor;
    uint16_t port;
    FILE *log; /* what the server logged (a temporary file) */
} ct_server;

/* Starts chat_server_start on a new executor of `workers` threads, port 0. */
void ct_server_start(ct_server *server, unsigned workers, size_t max_line, size_t capacity);

/* Shuts the executor down (every task dropped) and closes the log. */
void ct_server_stop(ct_server *server);

/* Waits (up to CT_WAIT) until the log holds `needle`; false if it never does. */
bool ct_log_wait_for(ct_server *server, const char *needle);

typedef struct ct_process ct_process;

/* ---- a fake server, for the client's tests ---- */

/* Listens on 127.0.0.1, port 0; returns the socket and sets *port. */
int ct_listen(uint16_t *port);

/* Accepts one connection within CT_WAIT (fails the test otherwise). */
ct_conn *ct_accept(int listener);

/* The same, but fails at once when `process` exits instead of connecting. */
ct_conn *ct_accept_from(int listener, ct_process *process);

/* ---- a client under test, in this process ---- */

typedef struct ct_client {
    chat_client_config config;
    pthread_t thread;
    int input;                   /* the write end of its input pipe; -1 once closed */
    struct rt_stdin *stdin_pipe; /* the read end, read as the program reads stdin */
    ct_conn *output;             /* what it prints */
    FILE *errors;                /* its prompt and messages (a temporary file) */
    chat_client_result result;
    rt_io_result io;
    atomic_bool done;
} ct_client;

/* Runs chat_client_run on a thread of its own, connecting to `port` (user NULL: asked). */
void ct_client_start(ct_client *client, uint16_t port, const char *user);

/* The same with the client's longest line (chat_client_config.max_line; 0: its default). */
void ct_client_start_limited(ct_client *client, uint16_t port, const char *user, size_t max_line);

/* Types `text` into its input. */
void ct_client_type(ct_client *client, const char *text);

/* Ends its input (end of file). */
void ct_client_end_input(ct_client *client);

/* Waits (up to CT_WAIT) for chat_client_run to return, and says what it returned. */
chat_client_result ct_client_wait(ct_client *client);

/* Frees what ct_client_start made (after ct_client_wait). */
void ct_client_free(ct_client *client);

/* Everything the client wrote on its errors stream so far, NUL-terminated; free it. */
char *ct_client_errors(ct_client *client);

/* ---- programs, as processes ---- */

struct ct_process {
    pid_t pid;
    int in;       /* its stdin (our write end), -1 once closed */
    ct_conn *out; /* its stdout, read line by line */
    ct_conn *err; /* its stderr */
    bool reaped;
    int status; /* once reaped: the exit status, or 128 + the signal */
};

/*
 * Starts `program` ("chat-server" or "chat-client", found next to the test
 * binary, or in $KT_PROGRAM_DIR) with `args` (NULL-terminated, after
 * argv[0]). Its stdin, stdout and stderr are pipes to the test; no other
 * descriptor of the test reaches it. It is killed if the test ends first.
 */
void ct_spawn(ct_process *process, const char *program, const char *const *args);

/* Waits up to `seconds` for it to exit; false (and it is killed) if it did not. */
bool ct_wait(ct_process *process, double seconds);

/* Sends it a signal. */
void ct_signal(ct_process *process, int signal_number);

/* Closes its stdin (it reads end of file). */
void ct_close_stdin(ct_process *process);

/* What it wrote on stderr until it closed it (or `seconds` passed), NUL-terminated; free it. */
char *ct_read_stderr(ct_process *process, double seconds);

/* Starts chat-server on port 0 with `args` and reads the port from its first stderr line. */
uint16_t ct_spawn_server(ct_process *process, const char *const *args);

/* Kills and reaps every process the test started (the tests' .fini). */
void ct_teardown(void);

#endif
