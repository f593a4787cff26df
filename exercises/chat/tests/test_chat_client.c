/*
 * test_chat_client.c - the visible tests of the chat client (part B).
 *
 * The server is the test itself: a scripted fake server on a port from the
 * kernel, which checks every byte the client sends and sends it lines of
 * its choosing. The client runs in this process (chat_client_run on a
 * thread, its input and output pipes) or as the chat-client program.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_testing.h"
#include "kt_test.h"

/* The next line the fake server gets from the client must be `expected`. */
static void server_expects(ct_conn *from_client, const char *expected) {
    ct_expect_line(from_client, expected, "the fake server, reading what the client sent");
}

KT_TEST(chat_client, sends_user_then_each_typed_line, .timeout = 10,
        .description = "the client says {\"User\":name} first, then one ClientMessage per line "
                       "typed, in order") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "alice");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    ct_client_type(&client, "hello\n");
    server_expects(conn, ct_client_line("hello"));
    ct_client_type(&client, "with \"quotes\" and \\ and é\n\nlast\n");
    server_expects(conn, ct_client_line("with \"quotes\" and \\ and é"));
    server_expects(conn, ct_client_line("")); /* an empty line is a message too */
    server_expects(conn, ct_client_line("last"));
    ct_client_end_input(&client);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED,
                 "the end of input must end the session with CHAT_CLIENT_INPUT_ENDED");
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, prints_chat_and_join_lines, .timeout = 10,
        .description = "a Chat prints as <user>: content, a User as <user> joined the chat") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "alice");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    ct_send(conn, ct_user_line("alice"));
    ct_expect_line(client.output, "<alice> joined the chat", "the client's output");
    ct_send(conn, ct_user_line("bob"));
    ct_send(conn, ct_chat_line("bob", "hi alice"));
    ct_send(conn, ct_chat_line("bob", "\"quoted\" \\ é"));
    ct_expect_line(client.output, "<bob> joined the chat", "the client's output");
    ct_expect_line(client.output, "<bob>: hi alice", "the client's output");
    ct_expect_line(client.output, "<bob>: \"quoted\" \\ é", "the client's output");
    ct_client_end_input(&client);
    ct_client_wait(&client);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, ignores_what_it_cannot_print, .timeout = 10,
        .description = "malformed lines and ClientMessages from the server are not printed") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "alice");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    ct_send(conn, "garbage\n");
    ct_send(conn, "{\"Chat\":{\"user\":\"bob\"}}\n");
    ct_send(conn, ct_client_line("not for printing"));
    ct_send(conn, ct_chat_line("bob", "marker"));
    ct_expect_line(client.output, "<bob>: marker",
                   "the client's output (the lines before the marker are not to be printed)");
    ct_client_end_input(&client);
    ct_client_wait(&client);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, prints_text_exactly, .timeout = 10,
        .description = "a Chat's text is printed exactly as sent, '%' and backslashes included "
                       "(it is data, not a printf format)") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "alice");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    ct_send(conn, ct_chat_line("b%%ob", "100%% sure: %d \\ \"q\""));
    ct_expect_line(client.output, "<b%%ob>: 100%% sure: %d \\ \"q\"",
                   "the client's output (text with '%' in it, printed as it is)");
    ct_client_end_input(&client);
    ct_client_wait(&client);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, typed_line_over_the_limit_is_refused, .timeout = 10,
        .description = "a typed line longer than max_line is not sent (and said so); the "
                       "session goes on and sends the next one") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start_limited(&client, port, "alice", 64);
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    char typed[300];
    memset(typed, 'x', 200);
    strcpy(typed + 200, "\nafter\n");
    ct_client_type(&client, typed);
    server_expects(conn, ct_client_line("after"));
    ct_client_end_input(&client);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED,
                 "a line over the limit must be refused, not end the session");
    char *errors = ct_client_errors(&client);
    cr_assert(strstr(errors, "long") != NULL,
              "the client should say it did not send the long line; its errors stream:\n%s",
              errors);
    free(errors);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, server_line_over_the_limit_is_skipped, .timeout = 10,
        .description = "a line from the server longer than max_line is skipped: the reader goes "
                       "on and prints the next one") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start_limited(&client, port, "alice", 64);
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    char content[201];
    memset(content, 'y', 200);
    content[200] = '\0';
    ct_send(conn, ct_chat_line("bob", content));
    ct_send(conn, ct_chat_line("bob", "marker"));
    ct_expect_line(client.output, "<bob>: marker",
                   "the client's output (a line over the limit from the server is skipped, and "
                   "the reader goes on)");
    ct_client_end_input(&client);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, asks_for_the_name_when_none_is_given, .timeout = 10,
        .description = "with no user name, the first non-empty line typed is the name") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, NULL);
    ct_client_type(&client, "\ncarol\nhey\n");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("carol"));
    server_expects(conn, ct_client_line("hey"));
    ct_client_end_input(&client);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED);
    char *errors = ct_client_errors(&client);
    cr_assert(strlen(errors) > 0, "the client should prompt for the name (on its errors stream)");
    free(errors);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, input_end_sends_everything_first, .timeout = 10,
        .description = "lines typed just before the end of input all reach the server") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "dave");
    ct_client_type(&client, "one\ntwo\nthree\n");
    ct_client_end_input(&client);
    ct_conn *conn = ct_accept(listener);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED,
                 "the end of input must end the session with CHAT_CLIENT_INPUT_ENDED");
    server_expects(conn, ct_user_line("dave"));
    server_expects(conn, ct_client_line("one"));
    server_expects(conn, ct_client_line("two"));
    server_expects(conn, ct_client_line("three"));
    ct_expect_closed(conn, "the fake server, after the client's input ended");
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client, server_closing_ends_the_session, .timeout = 10,
        .description = "the server closing the connection ends the session while input is still "
                       "open") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "erin");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("erin"));
    ct_send(conn, ct_chat_line("srv", "bye"));
    ct_expect_line(client.output, "<srv>: bye", "the client's output");
    ct_close(conn); /* the input stays open: the session must end anyway */
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_SERVER_CLOSED,
                 "when the server closes, the session ends with CHAT_CLIENT_SERVER_CLOSED");
    ct_client_free(&client);
    close(listener);
}

KT_TEST(chat_client, connection_refused, .timeout = 10,
        .description = "nobody listening: CHAT_CLIENT_CONNECT_FAILED with RT_IO_REFUSED") {
    uint16_t port;
    close(ct_listen(&port)); /* a port nobody listens on any more */
    ct_client client;
    ct_client_start(&client, port, "frank");
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_CONNECT_FAILED);
    cr_assert_eq(client.io, RT_IO_REFUSED, "the I/O result should say the connection was refused");
    ct_client_free(&client);
}

KT_TEST(chat_client, program_session, .timeout = 15,
        .description = "the chat-client program: prints the chat on stdout, exits 0 at the end "
                       "of input") {
    uint16_t port;
    int listener = ct_listen(&port);
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    ct_process client;
    ct_spawn(&client, "chat-client", (const char *[]){"--port", port_text, "--user", "gus", NULL});
    ct_conn *conn = ct_accept_from(listener, &client);
    server_expects(conn, ct_user_line("gus"));
    ct_send(conn, ct_user_line("gus"));
    ct_send(conn, ct_chat_line("hana", "hello gus"));
    ct_expect_line(client.out, "<gus> joined the chat", "chat-client's stdout");
    ct_expect_line(client.out, "<hana>: hello gus", "chat-client's stdout");
    cr_assert(ct_send_bytes(&(ct_conn){.fd = client.in}, "hi hana\n", 8));
    server_expects(conn, ct_client_line("hi hana"));
    ct_close_stdin(&client);
    cr_assert(ct_wait(&client, CT_WAIT), "chat-client did not exit at the end of its input");
    cr_assert_eq(client.status, 0, "chat-client must exit with 0 at the end of input, not %d",
                 client.status);
    ct_close(conn);
    close(listener);
    ct_teardown();
}

KT_TEST(chat_client, program_server_gone_and_refused, .timeout = 15,
        .description = "the chat-client program: the server closing, or refusing, gives one line "
                       "on stderr and status 1") {
    uint16_t port;
    int listener = ct_listen(&port);
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    ct_process client;
    ct_spawn(&client, "chat-client", (const char *[]){"--port", port_text, "--user", "ivy", NULL});
    ct_conn *conn = ct_accept_from(listener, &client);
    server_expects(conn, ct_user_line("ivy"));
    ct_close(conn);
    cr_assert(ct_wait(&client, CT_WAIT), "chat-client did not exit when the server closed");
    cr_assert_eq(client.status, 1, "the server closing must give status 1, not %d", client.status);
    close(listener); /* now nobody listens on that port */
    ct_process refused;
    ct_spawn(&refused, "chat-client", (const char *[]){"--port", port_text, "--user", "ivy", NULL});
    char *err = ct_read_stderr(&refused, CT_WAIT);
    cr_assert(ct_wait(&refused, CT_WAIT), "chat-client did not exit when the connection was "
                                          "refused");
    cr_assert_eq(refused.status, 1, "a refused connection must give status 1, not %d",
                 refused.status);
    char *nl = strchr(err, '\n');
    cr_assert(nl != NULL && nl[1] == '\0' && strstr(err, "refused") != NULL,
              "a refused connection must give exactly one line saying so, not:\n%s", err);
    free(err);
    ct_teardown();
}
