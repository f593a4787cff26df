/*
 * test_chat_client_hidden.c - the chat client's hidden tests: odd input, bursts, the program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt_test.h"
#include "tests/chat_testing.h"

static void server_expects(ct_conn *from_client, const char *expected) {
    ct_expect_line(from_client, expected, "the fake server, reading what the client sent");
}

KT_TEST(chat_client_hidden, invalid_utf8_is_not_sent, .timeout = 10,
        .description = "a typed line that is not UTF-8 is not sent (and said so); the next one "
                       "is") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "alice");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("alice"));
    ct_client_type(&client, "caf\xe9\nok\n");
    server_expects(conn, ct_client_line("ok"));
    char *errors = ct_client_errors(&client);
    cr_assert(strstr(errors, "UTF-8") != NULL,
              "the client should say why it did not send the "
              "line; its errors stream:\n%s",
              errors);
    free(errors);
    ct_client_end_input(&client);
    ct_client_wait(&client);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client_hidden, a_thousand_lines_typed_at_once, .timeout = 20,
        .description = "1000 lines typed in one go all arrive, in order") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "bulk");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("bulk"));
    static char typed[1000 * 16];
    typed[0] = '\0';
    for (int i = 0; i < 1000; i++)
        sprintf(typed + strlen(typed), "line %d\n", i);
    ct_client_type(&client, typed);
    ct_client_end_input(&client);
    for (int i = 0; i < 1000; i++) {
        char text[24];
        snprintf(text, sizeof text, "line %d", i);
        server_expects(conn, ct_client_line(text));
    }
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client_hidden, a_burst_from_the_server, .timeout = 20,
        .description = "2000 lines sent by the server in one go are all printed, in order") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "reader");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("reader"));
    static char burst[2000 * 64];
    burst[0] = '\0';
    size_t at = 0;
    for (int i = 0; i < 2000; i++) {
        char text[16];
        snprintf(text, sizeof text, "m%d", i);
        const char *line = ct_chat_line("srv", text);
        memcpy(burst + at, line, strlen(line));
        at += strlen(line);
    }
    cr_assert(ct_send_bytes(conn, burst, at));
    for (int i = 0; i < 2000; i++) {
        char text[32];
        snprintf(text, sizeof text, "<srv>: m%d", i);
        ct_expect_line(client.output, text, "the client's output");
    }
    ct_client_end_input(&client);
    ct_client_wait(&client);
    ct_client_free(&client);
    ct_close(conn);
    close(listener);
}

KT_TEST(chat_client_hidden, name_prompt_skips_what_cannot_be_a_name, .timeout = 10,
        .description = "empty and non-UTF-8 lines are asked again; the end of input before a "
                       "name gives CHAT_CLIENT_NO_USER") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, NULL);
    ct_client_type(&client, "\n\xff\xfe\n\nzed\n");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("zed"));
    ct_client_end_input(&client);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_INPUT_ENDED);
    ct_client_free(&client);
    ct_close(conn);
    ct_client nobody;
    ct_client_start(&nobody, port, NULL);
    ct_client_type(&nobody, "\n\n");
    ct_client_end_input(&nobody);
    cr_assert_eq(ct_client_wait(&nobody), CHAT_CLIENT_NO_USER,
                 "the input ended before any name: CHAT_CLIENT_NO_USER");
    ct_client_free(&nobody);
    close(listener);
}

KT_TEST(chat_client_hidden, server_reset_ends_the_session, .timeout = 10,
        .description = "a reset connection ends the session with CHAT_CLIENT_SERVER_CLOSED") {
    uint16_t port;
    int listener = ct_listen(&port);
    ct_client client;
    ct_client_start(&client, port, "rita");
    ct_conn *conn = ct_accept(listener);
    server_expects(conn, ct_user_line("rita"));
    ct_reset(conn);
    cr_assert_eq(ct_client_wait(&client), CHAT_CLIENT_SERVER_CLOSED);
    ct_client_free(&client);
    close(listener);
}

KT_TEST(chat_client_hidden, program_asks_the_name, .timeout = 15,
        .description = "chat-client without --user reads the name from stdin") {
    uint16_t port;
    int listener = ct_listen(&port);
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    ct_process client;
    ct_spawn(&client, "chat-client", (const char *[]){"--port", port_text, NULL});
    cr_assert(ct_send_bytes(&(ct_conn){.fd = client.in}, "kim\nhello\n", 10));
    ct_conn *conn = ct_accept_from(listener, &client);
    server_expects(conn, ct_user_line("kim"));
    server_expects(conn, ct_client_line("hello"));
    ct_close_stdin(&client);
    cr_assert(ct_wait(&client, CT_WAIT) && client.status == 0,
              "chat-client must exit with 0 at the end of its input (status %d)", client.status);
    ct_process bad;
    ct_spawn(&bad, "chat-client", (const char *[]){"--port", "70000", NULL});
    cr_assert(ct_wait(&bad, CT_WAIT) && bad.status == 2, "a bad --port must give status 2 (got %d)",
              bad.status);
    ct_close(conn);
    close(listener);
    ct_teardown();
}
