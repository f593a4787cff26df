/*
 * test_chat_server.c - the visible tests of the chat server (part A).
 *
 * The server runs in this process on its own executor (ct_server_start)
 * or as the chat-server program; the clients are the harness's scripted
 * connections, speaking the wire format byte for byte. Where a test checks
 * that something was ignored, it sends a marker line after it: the next
 * line a client gets must be the marker's, so nothing depends on timing.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chat_testing.h"
#include "kt_test.h"

KT_TEST(chat_server, newcomer_sees_its_own_join_first, .timeout = 10,
        .description = "a client that says who it is gets its own join back, then others' joins") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice, when bob joins");
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server, client_message_becomes_chat_for_everyone, .timeout = 10,
        .description = "a ClientMessage is broadcast to every client, sender too, as a Chat") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    ct_send(alice, ct_client_line("hello"));
    ct_expect_line(alice, ct_chat_line("alice", "hello"), "alice (her own line comes back)");
    ct_expect_line(bob, ct_chat_line("alice", "hello"), "bob");
    ct_send(bob, ct_client_line("hi \"alice\" \\o/ é"));
    ct_expect_line(alice, ct_chat_line("bob", "hi \"alice\" \\o/ é"), "alice");
    ct_expect_line(bob, ct_chat_line("bob", "hi \"alice\" \\o/ é"), "bob");
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server, long_line_arrives_whole, .timeout = 10,
        .description = "a 20000-byte line (under the limit) reaches every client whole: the "
                       "outgoing buffer grows until the line fits") {
    enum { LONG = 20000 };
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    char *text = malloc(LONG + 1);
    cr_assert_not_null(text);
    for (int i = 0; i < LONG; i++)
        text[i] = (char)('a' + i % 26);
    text[LONG] = '\0';
    ct_send(alice, ct_client_line(text));
    ct_expect_line(bob, ct_chat_line("alice", text), "bob (a line of 20000 bytes)");
    ct_expect_line(alice, ct_chat_line("alice", text), "alice (a line of 20000 bytes)");
    ct_send(bob, ct_client_line("short"));
    ct_expect_line(alice, ct_chat_line("bob", "short"), "alice, after the long line");
    free(text);
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server, every_client_gets_every_line_once_in_order, .timeout = 20,
        .description = "5 clients send 40 lines each: every client gets all 200, each sender's in "
                       "order") {
    enum { CLIENTS = 5, LINES = 40 };
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *conn[CLIENTS];
    char name[CLIENTS][16];
    for (int c = 0; c < CLIENTS; c++) {
        snprintf(name[c], sizeof name[c], "user%d", c);
        conn[c] = ct_join(server.port, name[c]);
        for (int earlier = 0; earlier < c; earlier++)
            ct_expect_line(conn[earlier], ct_user_line(name[c]), name[earlier]);
    }
    /* Everybody sends at once: no waiting between lines. */
    for (int i = 0; i < LINES; i++)
        for (int c = 0; c < CLIENTS; c++) {
            char text[64];
            snprintf(text, sizeof text, "line %d from %d", i, c);
            ct_send(conn[c], ct_client_line(text));
        }
    for (int c = 0; c < CLIENTS; c++) {
        int next[CLIENTS] = {0}; /* the next line number expected from each sender */
        for (int k = 0; k < CLIENTS * LINES; k++) {
            const char *line;
            size_t len;
            ct_read got = ct_read_line(conn[c], CT_WAIT, &line, &len);
            cr_assert_eq(got, CT_LINE, "%s got %d of the %d chat lines, then %s", name[c], k,
                         CLIENTS * LINES, got == CT_EOF ? "the connection closed" : "nothing");
            int from = -1, number = -1;
            cr_assert(sscanf(line, "{\"Chat\":{\"user\":\"user%d\",\"content\":\"line %d from",
                             &from, &number) == 2 &&
                          from >= 0 && from < CLIENTS,
                      "%s got an unexpected line: %s", name[c], line);
            cr_assert_eq(number, next[from],
                         "%s got line %d of user%d where line %d was due: lines lost, repeated or "
                         "reordered",
                         name[c], number, from, next[from]);
            char text[64];
            snprintf(text, sizeof text, "line %d from %d", number, from);
            const char *want = ct_chat_line(name[from], text);
            cr_assert(strncmp(line, want, len) == 0 && want[len] == '\n',
                      "%s got\n    %s\n  instead of\n    %s", name[c], line, want);
            next[from]++;
        }
    }
    for (int c = 0; c < CLIENTS; c++)
        ct_close(conn[c]);
    ct_server_stop(&server);
}

KT_TEST(chat_server, bad_first_line_closes_only_that_connection, .timeout = 10,
        .description = "a first line that is not User closes that connection, logs it, and "
                       "nobody else notices") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    const char *bad_first[] = {"{\"ClientMessage\":\"hi\"}\n",
                               "{\"Chat\":{\"user\":\"x\",\"content\":\"y\"}}\n", "hello\n", "\n"};
    for (size_t i = 0; i < sizeof bad_first / sizeof *bad_first; i++) {
        ct_conn *stranger = ct_connect(server.port);
        ct_send(stranger, bad_first[i]);
        ct_expect_closed(stranger, "a client whose first line is not a User message");
        ct_close(stranger);
    }
    cr_assert(ct_log_wait_for(&server, "User"),
              "the server must log a line when it closes a connection over its first line");
    /* alice saw nothing of it, and still chats. */
    ct_send(alice, ct_client_line("still here"));
    ct_expect_line(alice, ct_chat_line("alice", "still here"), "alice");
    ct_close(alice);
    ct_server_stop(&server);
}

KT_TEST(chat_server, malformed_lines_and_client_chat_are_ignored, .timeout = 10,
        .description = "malformed JSON, invalid UTF-8 and a Chat sent by a client are ignored; "
                       "the connection stays") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    ct_send(alice, "{\"ClientMessage\":\"unterminated\n");
    ct_send(alice, "{\"ClientMessage\":\"caf\xe9\"}\n"); /* Latin-1, not UTF-8 */
    ct_send(alice, "{\"ClientMessage\":42}\n");
    ct_send(alice, "{\"Shout\":\"hi\"}\n");
    ct_send(alice, "not json at all\n");
    ct_send(alice, ct_chat_line("mallory", "forged")); /* only the server makes Chat lines */
    ct_send(alice, ct_client_line("marker"));
    ct_expect_line(bob, ct_chat_line("alice", "marker"),
                   "bob (every line before the marker was to be ignored)");
    ct_expect_line(alice, ct_chat_line("alice", "marker"), "alice (still connected)");
    cr_assert(ct_log_wait_for(&server, "malformed"),
              "the server must log the malformed lines it ignores (the word 'malformed')");
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server, user_name_comes_from_the_connection, .timeout = 10,
        .description = "a Chat carries the name from the connection's first line, whatever comes "
                       "after") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    ct_send(alice, ct_user_line("mallory")); /* a second User line changes nothing */
    ct_send(alice, ct_client_line("who am I?"));
    ct_expect_line(bob, ct_chat_line("alice", "who am I?"), "bob");
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server, line_over_the_limit_closes_the_connection, .timeout = 10,
        .description = "a line longer than max_line closes that connection (logged); a line of "
                       "exactly max_line passes") {
    ct_server server;
    ct_server_start(&server, 2, 200, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    /* {"ClientMessage":"xxx..."} of exactly 200 bytes is accepted. */
    char content[256];
    size_t fill = 200 - strlen("{\"ClientMessage\":\"\"}");
    memset(content, 'x', fill);
    content[fill] = '\0';
    ct_send(bob, ct_client_line(content));
    ct_expect_line(alice, ct_chat_line("bob", content), "alice (a line of exactly max_line)");
    ct_expect_line(bob, ct_chat_line("bob", content), "bob (a line of exactly max_line)");
    /* One byte more closes bob's connection. */
    content[fill] = 'x';
    content[fill + 1] = '\0';
    ct_send(bob, ct_client_line(content));
    ct_expect_closed(bob, "bob, after a line longer than max_line");
    cr_assert(ct_log_wait_for(&server, "long"), "the server must log why it closed (too long)");
    ct_send(alice, ct_client_line("still here"));
    ct_expect_line(alice, ct_chat_line("alice", "still here"), "alice");
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server, abrupt_disconnect_mid_line, .timeout = 10,
        .description = "a client reset in the middle of a line ends its connection only; its half "
                       "line is never broadcast") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    ct_send(bob, "{\"ClientMessage\":\"half a li");
    ct_reset(bob);
    ct_conn *carol = ct_join(server.port, "carol");
    ct_expect_line(alice, ct_user_line("carol"), "alice");
    ct_send(carol, ct_client_line("hi"));
    ct_expect_line(alice, ct_chat_line("carol", "hi"), "alice");
    ct_close(alice);
    ct_close(carol);
    ct_server_stop(&server);
}

KT_TEST(chat_server, closing_ends_both_tasks, .timeout = 10,
        .description = "a client that stops sending (half close) gets its connection closed: both "
                       "tasks end and nothing keeps the socket open") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    shutdown(alice->fd, SHUT_WR); /* end of alice's lines; she still reads */
    ct_expect_closed(alice, "alice, after she stopped sending (the outgoing task must end too)");
    ct_close(alice);
    ct_server_stop(&server);
}

KT_TEST(chat_server, program_chats_and_stops_on_sigterm, .timeout = 15,
        .description = "the chat-server program: clients chat through it; SIGTERM stops it with "
                       "status 0 and closes every connection") {
    ct_process server;
    uint16_t port = ct_spawn_server(&server, NULL);
    ct_conn *alice = ct_join(port, "alice");
    ct_conn *bob = ct_join(port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    ct_send(bob, ct_client_line("hello from a process"));
    ct_expect_line(alice, ct_chat_line("bob", "hello from a process"), "alice");
    ct_expect_line(bob, ct_chat_line("bob", "hello from a process"), "bob");
    ct_signal(&server, SIGTERM);
    ct_expect_closed(alice, "alice, when the server stops");
    ct_expect_closed(bob, "bob, when the server stops");
    cr_assert(ct_wait(&server, CT_WAIT), "chat-server did not exit within %.0f s of SIGTERM",
              CT_WAIT);
    cr_assert_eq(server.status, 0, "chat-server must exit with status 0 after SIGTERM, not %d",
                 server.status);
    ct_close(alice);
    ct_close(bob);
    ct_teardown();
}

KT_TEST(chat_server, program_logs_a_bad_first_line, .timeout = 15,
        .description = "the chat-server program says on stderr why it closed a connection") {
    ct_process server;
    uint16_t port = ct_spawn_server(&server, NULL);
    ct_conn *stranger = ct_connect(port);
    ct_send(stranger, "{\"ClientMessage\":\"who am I\"}\n");
    ct_expect_closed(stranger, "a client whose first line is not a User message");
    ct_close(stranger);
    ct_signal(&server, SIGINT);
    char *err = ct_read_stderr(&server, CT_WAIT);
    cr_assert(ct_wait(&server, CT_WAIT), "chat-server did not exit after SIGINT");
    cr_assert_eq(server.status, 0, "chat-server must exit with status 0 after SIGINT, not %d",
                 server.status);
    cr_assert(strstr(err, "User") != NULL,
              "chat-server's stderr should say the first line was not a User message:\n%s", err);
    free(err);
    ct_teardown();
}
