/*
 * chat_client.h - the chat client (part B, ★★): what you implement in chat_client.c.
 *
 * One chat session: connect to the server, say who you are with a User
 * line, then two things at once, as two tasks:
 *
 * - input -> server: every line typed becomes {"ClientMessage":"..."};
 * - server -> output: every Chat line is printed as `<alice>: hello`,
 *   every User line as `<alice> joined the chat`.
 *
 * Running one (the kit's chat-client program does this):
 *
 *     #include "rt_stdin.h"
 *
 *     int chat_as_alice(void) {
 *         rt_stdin *in;
 *         if (rt_stdin_open(&in) != RT_IO_OK)
 *             return 1;
 *         chat_client_config config = {
 *             .port = 8000, .user = "alice", .input = rt_stdin_reader(in)};
 *         rt_io_result io;
 *         chat_client_result result = chat_client_run(&config, &io);
 *         rt_stdin_drop(in);
 *         return result == CHAT_CLIENT_INPUT_ENDED ? 0 : 1;
 *     }
 *
 * The rules, exactly (the tests check each one):
 * - With no user name in the configuration, the first input line is the
 *   name (after a prompt on `errors`); empty lines are asked again.
 * - The User line is the first thing sent.
 * - A typed line is sent as it is, one ClientMessage per line (an empty
 *   line too); a line that is not valid UTF-8 is not sent, and a line on
 *   `errors` says so. Lines are sent in the order typed.
 * - The end of input ends the session once every typed line has been
 *   written to the server: CHAT_CLIENT_INPUT_ENDED.
 * - The server closing the connection (or resetting it) ends the session:
 *   CHAT_CLIENT_SERVER_CLOSED, even while the user is typing.
 * - What the server sends that is malformed, or not Chat or User, is not
 *   printed (a line on `errors` for a malformed one).
 * - Printed lines end with '\n' and are flushed one by one, so that a
 *   program reading the output sees each line when it arrives.
 *
 * How it ended is for the caller to tell the user (the kit's chat-client
 * program prints one line for each end but the clean one).
 *
 * Thread safety: chat_client_run blocks the thread that calls it and runs
 * its tasks on an executor of its own, shut down before it returns.
 */
#ifndef CHAT_CLIENT_H
#define CHAT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rt_io.h"

/* How to run a session. Zero fields take their default. */
typedef struct chat_client_config {
    const char *host;   /* the server's address; NULL: "127.0.0.1" */
    uint16_t port;      /* the server's port; 0: 8000 */
    const char *user;   /* the user name; NULL: read it from the input first */
    rt_io_reader input; /* what the user types, read line by line (the program's: stdin,
                           through rt_stdin.h); it stays the caller's */
    FILE *output;       /* where chat lines are printed; NULL: stdout */
    FILE *errors;       /* the prompt and messages; NULL: stderr */
    size_t max_line;    /* longest line read from the server or the input; 0: 64 KiB */
} chat_client_config;

/* How a session ended. */
typedef enum chat_client_result {
    CHAT_CLIENT_INPUT_ENDED,    /* the input ended and all of it was sent: a clean end */
    CHAT_CLIENT_SERVER_CLOSED,  /* the server closed or reset the connection first */
    CHAT_CLIENT_NO_USER,        /* the input ended before a user name was given */
    CHAT_CLIENT_CONNECT_FAILED, /* no connection (refused, bad address): see *io */
    CHAT_CLIENT_IO_FAILED,      /* the input could not be read, or memory ran out: see *io */
} chat_client_result;

/*
 * Runs one session to its end, as the rules above say, and returns how it
 * ended. `io` (may be NULL) receives the I/O result behind
 * CHAT_CLIENT_CONNECT_FAILED and CHAT_CLIENT_IO_FAILED (RT_IO_REFUSED, say)
 * and RT_IO_OK otherwise. Everything the session made is freed before it
 * returns.
 */
chat_client_result chat_client_run(const chat_client_config *config, rt_io_result *io);

#endif
