/*
 * chat_client_main.c - the chat-client program (kit code): options and exit status.
 *
 *     chat-client [--host 127.0.0.1] [--port 8000] [--user NAME] [--max-line 65536]
 *
 * Runs one session (chat_client_run, the student's) with the terminal:
 * lines typed on stdin go to the server, chat lines come out on stdout,
 * the prompt and messages go to stderr. End it with Ctrl-D (end of input);
 * Ctrl-C interrupts it.
 *
 * Exit status: 0 when the input ended (everything typed was sent), 1 when
 * the session ended otherwise (the server closed the connection, it could
 * not connect, no name was given), 2 for a bad command line. Every end but
 * the clean one is said in one line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_client.h"
#include "chat_message.h"
#include "rt_stdin.h"

static void usage(FILE *to) {
    fputs("usage: chat-client [--host ADDRESS] [--port PORT] [--user NAME] [--max-line BYTES]\n"
          "  --host      the server's address (default 127.0.0.1)\n"
          "  --port      the server's port (default 8000)\n"
          "  --user      your name (default: asked for)\n"
          "  --max-line  longest line read (default 65536)\n",
          to);
}

static unsigned long number(const char *option, const char *text, unsigned long min,
                            unsigned long max) {
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < min || value > max) {
        fprintf(stderr, "chat-client: %s wants a number from %lu to %lu, not '%s'\n", option, min,
                max, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    chat_client_config config = {.host = "127.0.0.1", .port = 8000};
    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "-h") == 0 || strcmp(option, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "chat-client: %s\n",
                    strncmp(option, "--", 2) == 0 ? "an option wants a value" : "unknown argument");
            usage(stderr);
            return 2;
        }
        const char *value = argv[++i];
        if (strcmp(option, "--host") == 0)
            config.host = value;
        else if (strcmp(option, "--port") == 0)
            config.port = (uint16_t)number(option, value, 1, 65535);
        else if (strcmp(option, "--user") == 0)
            config.user = value;
        else if (strcmp(option, "--max-line") == 0)
            config.max_line = (size_t)number(option, value, 1, 1ul << 30);
        else {
            fprintf(stderr, "chat-client: unknown option '%s'\n", option);
            usage(stderr);
            return 2;
        }
    }
    if (config.user != NULL &&
        (config.user[0] == '\0' || !chat_text_is_valid(config.user, strlen(config.user)))) {
        fprintf(stderr, "chat-client: --user wants a non-empty name in UTF-8\n");
        return 2;
    }

    rt_stdin *in;
    rt_io_result io = rt_stdin_open(&in);
    if (io != RT_IO_OK) {
        fprintf(stderr, "chat-client: cannot read stdin: %s\n", rt_io_result_str(io));
        return 1;
    }
    config.input = rt_stdin_reader(in);
    chat_client_result result = chat_client_run(&config, &io);
    rt_stdin_drop(in);
    switch (result) {
    case CHAT_CLIENT_INPUT_ENDED:
        return 0;
    case CHAT_CLIENT_SERVER_CLOSED:
        fprintf(stderr, "chat-client: the server closed the connection\n");
        break;
    case CHAT_CLIENT_NO_USER:
        fprintf(stderr, "chat-client: the input ended before a name was given\n");
        break;
    case CHAT_CLIENT_CONNECT_FAILED:
        fprintf(stderr, "chat-client: cannot connect to %s:%u: %s\n", config.host,
                (unsigned)config.port, rt_io_result_str(io));
        break;
    case CHAT_CLIENT_IO_FAILED:
        fprintf(stderr, "chat-client: cannot read the input: %s\n", rt_io_result_str(io));
        break;
    }
    return 1;
}
