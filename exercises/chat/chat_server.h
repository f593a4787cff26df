/*
 * chat_server.h - the chat server (part A, ★★★): what you implement in chat_server.c.
 *
 * The server listens on a TCP port. For every connection it runs two tasks,
 * joined to every other connection by one broadcast channel (broadcast.h):
 *
 * - incoming: reads the connection's lines. The first must be a User
 *   message; the server announces the join by broadcasting that User
 *   message. Each ClientMessage becomes a Chat message with the
 *   connection's user name, broadcast to everybody.
 * - outgoing: writes every message broadcast from then on to the
 *   connection, one JSON line each.
 *
 * The wire format is the Rust course's, byte for byte: chat_message.h.
 * Running one (the kit's chat-server program does this, and stops on
 * SIGINT):
 *
 *     void serve(void) {
 *         rt_executor *executor = rt_executor_new(0);
 *         chat_server_config config = {.port = 8000};
 *         uint16_t port;
 *         rt_io_result result = chat_server_start(executor, &config, &port);
 *         if (result != RT_IO_OK)
 *             fprintf(stderr, "cannot listen: %s\n", rt_io_result_str(result));
 *         // ... the server runs on the executor's workers until ...
 *         rt_executor_shutdown(executor); // drops every task: frees everything
 *     }
 *
 * The rules, exactly (the tests check each one):
 * - The first line must be {"User":...}. Anything else, or a connection
 *   that ends first, closes that connection only, with a line on the log.
 * - The new connection subscribes to the channel before the join is
 *   broadcast, so the newcomer sees its own join first.
 * - {"ClientMessage":"hi"} from alice is broadcast as
 *   {"Chat":{"user":"alice","content":"hi"}}: the name is the one the
 *   connection gave in its first line, whatever the line says.
 * - A Chat (or a second User) sent by a client is ignored; so is a
 *   malformed line, with a line on the log; the connection stays.
 * - A line longer than max_line bytes closes the connection (with a log
 *   line); the server never buffers more than that for a line.
 * - A receiver that falls more than `capacity` messages behind (a client
 *   that does not read) skips what it missed: the log says how many, and
 *   no other client waits for it. Nothing extra is sent to it.
 * - When a connection ends (closed or reset, even in the middle of a line)
 *   both its tasks end and its subscription is dropped, at once.
 * - Stopping is dropping: rt_executor_shutdown cancels every task, and each
 *   task's drop function frees what it holds (sockets, handles, buffers).
 *   Nothing leaks, whatever the task was waiting for.
 *
 * The server does all its I/O through the runtime (rt_tcp.h,
 * rt_line_reader.h, rt_io.h): no call in it may block a worker thread.
 *
 * Thread safety: chat_server_start may be called from any thread; the
 * tasks it spawns run on the executor's workers.
 */
#ifndef CHAT_SERVER_H
#define CHAT_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rt.h"
#include "rt_io.h"

/* The longest line a server accepts by default, newline not counted (64 KiB). */
#define CHAT_MAX_LINE_DEFAULT ((size_t)64 * 1024)

/* How many messages the channel keeps for a receiver that is behind, by default. */
#define CHAT_CAPACITY_DEFAULT ((size_t)1024)

/* How to run a server. Zero fields take their default. */
typedef struct chat_server_config {
    const char *host; /* address to listen on; NULL: "127.0.0.1" */
    uint16_t port;    /* 0: a free port chosen by the kernel */
    size_t max_line;  /* longest line accepted; 0: CHAT_MAX_LINE_DEFAULT */
    size_t capacity;  /* the broadcast channel's capacity; 0: CHAT_CAPACITY_DEFAULT */
    FILE *log;        /* where the server says what it refused or skipped; NULL: stderr */
} chat_server_config;

/*
 * Starts a server on `executor`: binds the listening socket (so that a
 * client may connect as soon as this returns), makes the broadcast
 * channel, and spawns the task that accepts connections. On RT_IO_OK *port
 * is the port it listens on. Otherwise (RT_IO_ADDR_IN_USE,
 * RT_IO_BAD_ADDRESS, ...) nothing was started and nothing is left to free.
 *
 * The server runs until the executor is shut down (rt_executor_shutdown),
 * which drops all its tasks and so frees all it holds.
 */
rt_io_result chat_server_start(rt_executor *executor, const chat_server_config *config,
                               uint16_t *port);

#endif
