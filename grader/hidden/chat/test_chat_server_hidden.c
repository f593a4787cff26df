/*
 * test_chat_server_hidden.c - the chat server's hidden tests: load, lag, limits, shutdown.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "kt_sanitizer.h"
#include "kt_test.h"
#include "tests/chat_testing.h"

/* A small deterministic generator (xorshift64*), for seeded random content. */
static uint64_t next_random(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

/* Connects with a tiny receive buffer, so that a client that does not read fills up quickly. */
static ct_conn *join_slow(uint16_t port, const char *user) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 2048;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small); /* before connect: the window */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0, "connect failed");
    ct_conn *conn = ct_conn_from_fd(fd);
    ct_send(conn, ct_user_line(user));
    ct_expect_line(conn, ct_user_line(user), user);
    return conn;
}

KT_TEST(chat_server_hidden, two_hundred_clients, .timeout = 60,
        .description = "200 clients on the chat-server program: all joins seen, and 400 chat "
                       "lines reach every client once, each sender's in order") {
    /* Every client sees every join and every line: the cost grows with the square of the
     * clients. A sanitizer's run looks for races and memory errors, not for scale (and in the
     * grader, the chat-server program it talks to is built plain): fifty clients, a sixteenth
     * of the work, still keep far more connections open than any other test. */
#if defined(KT_TSAN) || defined(KT_ASAN)
    enum { CLIENTS = 50, LINES = 2 };
#else
    enum { CLIENTS = 200, LINES = 2 };
#endif
    ct_process server;
    uint16_t port = ct_spawn_server(&server, NULL);
    static ct_conn *conn[CLIENTS];
    char name[16];
    for (int c = 0; c < CLIENTS; c++) {
        snprintf(name, sizeof name, "u%d", c);
        conn[c] = ct_join(port, name);
    }
    for (int c = 0; c < CLIENTS; c++)
        for (int later = c + 1; later < CLIENTS; later++) {
            snprintf(name, sizeof name, "u%d", later);
            ct_expect_line(conn[c], ct_user_line(name),
                           "a client, seeing the later joins in order");
        }
    for (int i = 0; i < LINES; i++)
        for (int c = 0; c < CLIENTS; c++) {
            char text[32];
            snprintf(text, sizeof text, "%d:%d", c, i);
            ct_send(conn[c], ct_client_line(text));
        }
    for (int c = 0; c < CLIENTS; c++) {
        int next[CLIENTS] = {0};
        for (int k = 0; k < CLIENTS * LINES; k++) {
            const char *line;
            size_t len;
            cr_assert_eq(ct_read_line(conn[c], CT_WAIT, &line, &len), CT_LINE,
                         "client %d got only %d of %d chat lines", c, k, CLIENTS * LINES);
            int from, number;
            cr_assert(sscanf(line, "{\"Chat\":{\"user\":\"u%*d\",\"content\":\"%d:%d\"}}", &from,
                             &number) == 2 &&
                          from >= 0 && from < CLIENTS,
                      "client %d got %s", c, line);
            cr_assert_eq(number, next[from], "client %d: line %d of u%d came when %d was due", c,
                         number, from, next[from]);
            next[from]++;
        }
    }
    for (int c = 0; c < CLIENTS; c++)
        ct_close(conn[c]);
    ct_signal(&server, SIGTERM);
    cr_assert(ct_wait(&server, CT_WAIT) && server.status == 0,
              "chat-server must exit with 0 after SIGTERM (status %d)", server.status);
    ct_teardown();
}

/*
 * Three clients never read while two others chat at full speed. Paced so
 * that the readers never fall `capacity` behind; the silent ones fill
 * their sockets and must lag. On an executor of two workers, an outgoing
 * task that waits for its socket inside a poll (instead of answering
 * PENDING) holds a worker: three of them hold both, and nobody gets
 * anything any more.
 */
KT_TEST(chat_server_hidden, slow_readers_lag_while_others_keep_full_speed, .timeout = 60,
        .description = "clients that do not read skip what they missed (logged); the others get "
                       "every line, even on two workers") {
    /* 12.8 MB through the server: far more than the slow clients' socket buffers and channel hold.
     * A sanitizer's run (which looks for races and memory errors, not for lag) sends a quarter of
     * it, still many times what those hold, at a sanitizer's ten times the cost per byte. */
#if defined(KT_TSAN) || defined(KT_ASAN)
    enum { ROUNDS = 100 };
#else
    enum { ROUNDS = 400 };
#endif
    enum { SLOW = 3, BATCH = 8, SIZE = 4000 };
    ct_server server;
    ct_server_start(&server, 2, 0, 16);
    ct_conn *slow[SLOW];
    char name[16];
    for (int s = 0; s < SLOW; s++) {
        snprintf(name, sizeof name, "slow%d", s);
        slow[s] = join_slow(server.port, name);
    }
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    static char text[SIZE + 32];
    memset(text, 'x', SIZE);
    int sent = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int b = 0; b < BATCH; b++, sent++) {
            snprintf(text + SIZE, 32, "%d", sent);
            ct_send(alice, ct_client_line(text));
        }
        for (int k = sent - BATCH; k < sent; k++) {
            snprintf(text + SIZE, 32, "%d", k);
            ct_expect_line(bob, ct_chat_line("alice", text), "bob (he reads everything)");
            ct_expect_line(alice, ct_chat_line("alice", text), "alice (she reads everything)");
        }
    }
    /* A slow one now reads: lines in order, some skipped, up to the last one. */
    int last = -1, got = 0;
    while (last < sent - 1) {
        const char *line;
        size_t len;
        ct_read r = ct_read_line(slow[0], CT_WAIT, &line, &len);
        cr_assert_eq(r, CT_LINE, "the slow client stopped getting lines after line %d of %d", last,
                     sent - 1);
        if (strncmp(line, "{\"User\":", 8) == 0)
            continue; /* the joins after its own */
        int number = -1;
        const char *digits = strrchr(line, 'x');
        cr_assert(digits != NULL && sscanf(digits + 1, "%d", &number) == 1,
                  "unexpected line for the slow client: %.80s", line);
        cr_assert(number > last, "the slow client got line %d after %d: out of order", number,
                  last);
        last = number;
        got++;
    }
    cr_assert_lt(got, sent,
                 "the slow client cannot have been sent all %d lines of %d bytes "
                 "through a 16-message channel without lagging",
                 sent, SIZE);
    /* The lag shows when its outgoing task takes the next message. */
    cr_assert(ct_log_wait_for(&server, "skipped"),
              "a client that lagged must be logged with how many messages it skipped");
    for (int s = 0; s < SLOW; s++)
        ct_close(slow[s]);
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

static long max_rss_kib(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
#ifdef __APPLE__
    return usage.ru_maxrss / 1024;
#else
    return usage.ru_maxrss;
#endif
}

KT_TEST(chat_server_hidden, megabyte_lines_close_with_bounded_memory, .timeout = 30,
        .description = "a 1 MB line closes the connection; 64 MB without a newline never get "
                       "buffered") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    size_t mb = 1 << 20;
    char *big = malloc(mb + 64);
    int n = snprintf(big, 64, "{\"ClientMessage\":\"");
    memset(big + n, 'y', mb - (size_t)n);
    memcpy(big + mb, "\"}\n", 4);
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice");
    ct_send_bytes(bob, big, mb + 3); /* may fail part way: the server closes */
    ct_expect_closed(bob, "bob, after a 1 MB line");
    ct_close(bob);
    /* Now 64 MB of one line: the server must stop reading long before. */
    long before = max_rss_kib();
    ct_conn *carol = ct_join(server.port, "carol");
    ct_expect_line(alice, ct_user_line("carol"), "alice");
    memset(big, 'z', mb);
    size_t total = 0;
    while (total < ((size_t)64 << 20) && ct_send_bytes(carol, big, mb))
        total += mb;
    cr_assert_lt(total, (size_t)64 << 20,
                 "the server read all 64 MB of a single line instead of closing the connection");
    long grown = max_rss_kib() - before;
    cr_assert_lt(grown, 16 * 1024,
                 "the process grew by %ld KiB while a client sent one endless "
                 "line: the server must not buffer beyond max_line",
                 grown);
    ct_close(carol);
    ct_send(alice, ct_client_line("still fine"));
    ct_expect_line(alice, ct_chat_line("alice", "still fine"), "alice");
    free(big);
    ct_close(alice);
    ct_server_stop(&server);
}

KT_TEST(chat_server_hidden, shutdown_with_connections_in_every_state, .timeout = 20,
        .description = "stopping the server closes connections waiting in every state and frees "
                       "everything (checked under AddressSanitizer)") {
    ct_server server;
    ct_server_start(&server, 2, 0, 16);
    ct_conn *silent = ct_connect(server.port);     /* no first line yet */
    ct_conn *half_first = ct_connect(server.port); /* in the middle of its first line */
    ct_send(half_first, "{\"User\":\"hal");
    ct_conn *alice = ct_join(server.port, "alice");    /* joined, reading */
    ct_conn *slow = join_slow(server.port, "slow");    /* joined, never reads: lagging */
    ct_conn *half_line = ct_join(server.port, "half"); /* in the middle of a line */
    ct_send(half_line, "{\"ClientMessage\":\"unfini");
    static char text[4000];
    memset(text, 'w', sizeof text - 1);
    for (int i = 0; i < 200; i++) {
        ct_send(alice, ct_client_line(text));
        const char *line;
        size_t len;
        while (ct_read_line(alice, 0.0, &line, &len) == CT_LINE)
            ;
    }
    ct_server_stop(&server);
    ct_conn *all[] = {silent, half_first, alice, slow, half_line};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *line;
        size_t len;
        ct_read r;
        do
            r = ct_read_line(all[i], CT_WAIT, &line, &len);
        while (r == CT_LINE); /* what was on its way before the stop */
        cr_assert_eq(r, CT_EOF, "connection %zu was not closed when the server stopped", i);
        ct_close(all[i]);
    }
}

KT_TEST(chat_server_hidden, seeded_random_text_round_trips, .timeout = 20,
        .description = "random text (quotes, escapes, control characters, UTF-8) comes back "
                       "byte for byte as serde_json prints it") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_conn *bob = ct_join(server.port, "bob \"the\" \\ builder é");
    ct_expect_line(alice, ct_user_line("bob \"the\" \\ builder é"), "alice");
    static const char *const pieces[] = {"a",  "Z",      " ",    "\"",   "\\", "/",
                                         "\t", "\x01",   "\x1f", "\x7f", "é",  "€",
                                         "😀",  "\u2028", "{",    "}",    ":",  ","};
    uint64_t state = kt_shake_seed(0x5eed) | 1;
    for (int i = 0; i < 200; i++) {
        char text[400] = "";
        int parts = (int)(next_random(&state) % 30);
        for (int p = 0; p < parts; p++)
            strcat(text, pieces[next_random(&state) % (sizeof pieces / sizeof *pieces)]);
        ct_send(alice, ct_client_line(text));
        ct_expect_line(bob, ct_chat_line("alice", text), "bob");
        ct_expect_line(alice, ct_chat_line("alice", text), "alice");
        ct_send(bob, ct_client_line(text));
        ct_expect_line(alice, ct_chat_line("bob \"the\" \\ builder é", text), "alice");
        ct_expect_line(bob, ct_chat_line("bob \"the\" \\ builder é", text), "bob");
    }
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server_hidden, output_is_canonical, .timeout = 10,
        .description = "a ClientMessage with spaces and escapes is broadcast as serde_json prints "
                       "it; an empty one too") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    ct_send(alice, " { \"ClientMessage\" : \"\\u0068\\u00e9\\/\\ud83d\\ude00\" } \r\n");
    ct_expect_line(alice, "{\"Chat\":{\"user\":\"alice\",\"content\":\"hé/😀\"}}", "alice");
    ct_send(alice, "{\"ClientMessage\":\"\"}\n");
    ct_expect_line(alice, "{\"Chat\":{\"user\":\"alice\",\"content\":\"\"}}", "alice");
    ct_close(alice);
    ct_server_stop(&server);
}

KT_TEST(chat_server_hidden, first_line_cut_by_a_reset, .timeout = 10,
        .description = "a client reset in the middle of its first line leaves no trace") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    for (int i = 0; i < 20; i++) {
        ct_conn *c = ct_connect(server.port);
        ct_send(c, "{\"User\":\"ghost");
        ct_reset(c);
    }
    ct_conn *bob = ct_join(server.port, "bob");
    ct_expect_line(alice, ct_user_line("bob"), "alice (no ghost ever joined)");
    ct_close(alice);
    ct_close(bob);
    ct_server_stop(&server);
}

KT_TEST(chat_server_hidden, address_in_use, .timeout = 10,
        .description = "a port already taken: chat_server_start says RT_IO_ADDR_IN_USE and "
                       "starts nothing") {
    ct_server first;
    ct_server_start(&first, 1, 0, 0);
    rt_executor *executor = rt_executor_new(1);
    chat_server_config config = {.host = "127.0.0.1", .port = first.port};
    uint16_t port = 0;
    cr_assert_eq(chat_server_start(executor, &config, &port), RT_IO_ADDR_IN_USE);
    rt_executor_shutdown(executor);
    /* The first server is unharmed. */
    ct_conn *alice = ct_join(first.port, "alice");
    ct_send(alice, ct_client_line("still the only one"));
    ct_expect_line(alice, ct_chat_line("alice", "still the only one"), "alice");
    ct_close(alice);
    ct_server_stop(&first);
}

KT_TEST(chat_server_hidden, many_lines_in_one_write, .timeout = 10,
        .description = "100 lines arriving in one TCP segment are all broadcast, in order") {
    ct_server server;
    ct_server_start(&server, 2, 0, 0);
    ct_conn *alice = ct_join(server.port, "alice");
    static char burst[100 * 64];
    burst[0] = '\0';
    for (int i = 0; i < 100; i++) {
        char text[16];
        snprintf(text, sizeof text, "n%d", i);
        strcat(burst, ct_client_line(text));
    }
    ct_send(alice, burst);
    for (int i = 0; i < 100; i++) {
        char text[16];
        snprintf(text, sizeof text, "n%d", i);
        ct_expect_line(alice, ct_chat_line("alice", text), "alice");
    }
    ct_close(alice);
    ct_server_stop(&server);
}

KT_TEST(chat_server_hidden, program_options, .timeout = 15,
        .description = "chat-server --max-line is obeyed; a bad option gives status 2") {
    ct_process server;
    uint16_t port = ct_spawn_server(&server, (const char *[]){"--max-line", "100", NULL});
    ct_conn *alice = ct_join(port, "alice");
    char text[128];
    memset(text, 'q', 100);
    text[100] = '\0';
    ct_send(alice, ct_client_line(text));
    ct_expect_closed(alice, "alice, after a line over --max-line 100");
    ct_close(alice);
    ct_signal(&server, SIGINT);
    cr_assert(ct_wait(&server, CT_WAIT) && server.status == 0, "status %d after SIGINT",
              server.status);
    ct_process bad;
    ct_spawn(&bad, "chat-server", (const char *[]){"--port", "not-a-port", NULL});
    cr_assert(ct_wait(&bad, CT_WAIT) && bad.status == 2, "a bad --port must give status 2 (got %d)",
              bad.status);
    ct_teardown();
}
