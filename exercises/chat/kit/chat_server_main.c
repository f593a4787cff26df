/*
 * chat_server_main.c - the chat-server program (kit code): options, signals, exit status.
 *
 *     chat-server [--host 127.0.0.1] [--port 8000] [--max-line 65536] [--capacity 1024]
 *                 [--workers N]
 *
 * Starts the server (chat_server_start, the student's) on an executor and
 * waits for SIGINT or SIGTERM. Then it stops: rt_executor_shutdown drops
 * every task, which closes the listener and every connection and frees
 * what they hold, and the program exits with status 0. It says where it
 * listens on stderr first, as "chat-server: listening on 127.0.0.1:8000"
 * (with --port 0, the port the kernel chose: scripts read it there).
 *
 * The signals are blocked in every thread (the executor's workers and the
 * reactor inherit the mask) and taken by sigwait(3) on the main thread, so
 * no handler runs in the middle of the runtime's code.
 *
 * Exit status: 0 after a signal, 1 when the server cannot start, 2 for a
 * bad command line.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_server.h"

static void usage(FILE *to) {
    fputs("usage: chat-server [--host ADDRESS] [--port PORT] [--max-line BYTES]\n"
          "                   [--capacity MESSAGES] [--workers THREADS]\n"
          "  --host      address to listen on (default 127.0.0.1)\n"
          "  --port      port to listen on; 0 lets the kernel choose (default 8000)\n"
          "  --max-line  longest line a client may send (default 65536)\n"
          "  --capacity  messages kept for a slow client before it skips some (default 1024)\n"
          "  --workers   executor threads (default: one per core)\n",
          to);
}

/* Reads a number in [min, max] from `text`, or says what is wrong and exits 2. */
static unsigned long long number(const char *option, const char *text, unsigned long long min,
                                 unsigned long long max) {
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < min || value > max) {
        fprintf(stderr, "chat-server: %s wants a number from %llu to %llu, not '%s'\n", option, min,
                max, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    chat_server_config config = {.host = "127.0.0.1", .port = 8000};
    unsigned workers = 0;
    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "-h") == 0 || strcmp(option, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "chat-server: %s\n",
                    strncmp(option, "--", 2) == 0 ? "an option wants a value" : "unknown argument");
            usage(stderr);
            return 2;
        }
        const char *value = argv[++i];
        if (strcmp(option, "--host") == 0)
            config.host = value;
        else if (strcmp(option, "--port") == 0)
            config.port = (uint16_t)number(option, value, 0, 65535);
        else if (strcmp(option, "--max-line") == 0)
            config.max_line = (size_t)number(option, value, 1, SIZE_MAX / 8);
        else if (strcmp(option, "--capacity") == 0)
            config.capacity = (size_t)number(option, value, 1, 1u << 24);
        else if (strcmp(option, "--workers") == 0)
            workers = (unsigned)number(option, value, 1, 256);
        else {
            fprintf(stderr, "chat-server: unknown option '%s'\n", option);
            usage(stderr);
            return 2;
        }
    }

    /* Block the signals before any thread starts, so that every thread inherits it. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    rt_executor *executor = rt_executor_new(workers);
    uint16_t port;
    rt_io_result started = chat_server_start(executor, &config, &port);
    if (started != RT_IO_OK) {
        fprintf(stderr, "chat-server: cannot listen on %s:%u: %s\n", config.host,
                (unsigned)config.port, rt_io_result_str(started));
        rt_executor_shutdown(executor);
        return 1;
    }
    fprintf(stderr, "chat-server: listening on %s:%u\n", config.host, (unsigned)port);
    fflush(stderr);

    int signal_number = 0;
    while (sigwait(&stop, &signal_number) != 0)
        ;
    fprintf(stderr, "chat-server: %s: stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    rt_executor_shutdown(executor);
    return 0;
}
