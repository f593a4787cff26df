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
