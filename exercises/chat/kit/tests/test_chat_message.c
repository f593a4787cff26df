/*
 * test_chat_message.c - the kit's message codec against serde_json's rules.
 *
 * The expected lines are what serde_json prints for the Rust course's
 * Message enum (serde's escaping: `"` `\` and control characters only, the
 * short forms \b \f \n \r \t where they exist, else \u00XX in lowercase),
 * and the malformed lines are ones serde_json refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_message.h"
#include "kt_test.h"

/* Encodes `message` and checks the exact bytes. */
static void expect_encoded(chat_message message, const char *expected) {
    size_t len = 0;
    char *json = chat_message_encode(&message, &len);
    cr_assert_not_null(json, "encoding failed; expected %s", expected);
    cr_assert_eq(len, strlen(expected), "length %zu, expected %zu (%s vs %s)", len,
                 strlen(expected), json, expected);
    cr_assert(memcmp(json, expected, len) == 0, "encoded as\n  %s\nexpected\n  %s", json, expected);
    free(json);
}

/* Parses `line` (a C string) and checks it is OK with that kind, user and content. */
static void expect_parsed_n(const char *line, size_t length, chat_message_kind kind,
                            const char *user, const char *content) {
    chat_message message = {0};
    chat_parse_result result = chat_message_parse(line, length, &message);
    cr_assert_eq(result, CHAT_PARSE_OK, "%s: refused (%s)", line, chat_parse_result_str(result));
    cr_assert_eq(message.kind, kind, "%s: kind %d, expected %d", line, message.kind, kind);
    if (user == NULL)
        cr_assert_null(message.user, "%s: no user expected", line);
    else
        cr_assert(message.user != NULL && strcmp(message.user, user) == 0,
                  "%s: user \"%s\", expected \"%s\"", line, message.user ? message.user : "(null)",
                  user);
    if (content == NULL)
        cr_assert_null(message.content, "%s: no content expected", line);
    else
        cr_assert(message.content != NULL && strcmp(message.content, content) == 0,
                  "%s: content \"%s\", expected \"%s\"", line,
                  message.content ? message.content : "(null)", content);
    chat_message_clear(&message);
    chat_message_clear(&message); /* clearing twice is harmless */
}

static void expect_parsed(const char *line, chat_message_kind kind, const char *user,
                          const char *content) {
    expect_parsed_n(line, strlen(line), kind, user, content);
}

static void expect_refused_n(const char *line, size_t length, chat_parse_result expected) {
    chat_message message = {.kind = CHAT_MESSAGE_USER, .user = (char *)"untouched"};
    chat_parse_result result = chat_message_parse(line, length, &message);
    cr_assert_eq(result, expected, "%s: got \"%s\", expected \"%s\"", line,
                 chat_parse_result_str(result), chat_parse_result_str(expected));
    cr_assert(message.user != NULL && strcmp(message.user, "untouched") == 0 &&
                  message.content == NULL,
              "%s: a refused line must leave the message untouched", line);
}

static void expect_refused(const char *line, chat_parse_result expected) {
    expect_refused_n(line, strlen(line), expected);
}

KT_TEST(chat_message, encodes_the_three_variants, .timeout = 2,
        .description = "User, ClientMessage and Chat print as serde_json prints them") {
    expect_encoded((chat_message){.kind = CHAT_MESSAGE_USER, .user = "alice"},
                   "{\"User\":\"alice\"}");
    expect_encoded((chat_message){.kind = CHAT_MESSAGE_CLIENT_MESSAGE, .content = "hello"},
                   "{\"ClientMessage\":\"hello\"}");
    expect_encoded((chat_message){.kind = CHAT_MESSAGE_CHAT, .user = "alice", .content = "hello"},
                   "{\"Chat\":{\"user\":\"alice\",\"content\":\"hello\"}}");
    expect_encoded((chat_message){.kind = CHAT_MESSAGE_CHAT, .user = "", .content = ""},
                   "{\"Chat\":{\"user\":\"\",\"content\":\"\"}}");
}

KT_TEST(chat_message, escapes_as_serde_json, .timeout = 2,
        .description = "quotes, backslashes and control characters escaped; /, DEL, UTF-8 not") {
    expect_encoded((chat_message){.kind = CHAT_MESSAGE_CLIENT_MESSAGE,
                                  .content = "a\"b\\c/d\x01\x1f\x7f\b\f\n\r\t\x0b é€😀\u2028"},
                   "{\"ClientMessage\":\"a\\\"b\\\\c/d\\u0001\\u001f\x7f\\b\\f\\n\\r\\t\\u000b "
                   "é€😀\u2028\"}");
    /* Every control character, one by one. */
    static const char *const expected[32] = {
        NULL,      "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    };
    for (int c = 1; c < 32; c++) {
        char text[2] = {(char)c, 0};
        char line[64];
        snprintf(line, sizeof line, "{\"User\":\"%s\"}", expected[c]);
        expect_encoded((chat_message){.kind = CHAT_MESSAGE_USER, .user = text}, line);
    }
}

KT_TEST(chat_message, parses_the_three_variants, .timeout = 2,
        .description = "the course's three lines parse, Chat's fields in either order") {
    expect_parsed("{\"User\":\"alice\"}", CHAT_MESSAGE_USER, "alice", NULL);
    expect_parsed("{\"ClientMessage\":\"hello\"}", CHAT_MESSAGE_CLIENT_MESSAGE, NULL, "hello");
    expect_parsed("{\"Chat\":{\"user\":\"alice\",\"content\":\"hello\"}}", CHAT_MESSAGE_CHAT,
                  "alice", "hello");
    expect_parsed("{\"Chat\":{\"content\":\"hello\",\"user\":\"alice\"}}", CHAT_MESSAGE_CHAT,
                  "alice", "hello");
    /* serde reads a struct from a sequence of its fields, too. */
    expect_parsed("{\"Chat\":[\"alice\",\"hello\"]}", CHAT_MESSAGE_CHAT, "alice", "hello");
    /* JSON whitespace anywhere between tokens. */
    expect_parsed(" \t{ \"User\" :\r\n\"bob\" }\r ", CHAT_MESSAGE_USER, "bob", NULL);
    expect_parsed("{\"ClientMessage\":\"\"}", CHAT_MESSAGE_CLIENT_MESSAGE, NULL, "");
    /* Escaped names are names. */
    expect_parsed("{\"\\u0055ser\":\"x\"}", CHAT_MESSAGE_USER, "x", NULL);
}

KT_TEST(chat_message, parses_every_escape, .timeout = 2,
        .description = "\\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\u escapes, surrogate pairs too") {
    expect_parsed("{\"ClientMessage\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\"}",
                  CHAT_MESSAGE_CLIENT_MESSAGE, NULL, "q\"b\\s/\b\f\n\r\t");
    expect_parsed("{\"ClientMessage\":\"\\u00e9\\u00E9\\u20ac\\u0001\\u001F\"}",
                  CHAT_MESSAGE_CLIENT_MESSAGE, NULL, "éé€\x01\x1f");
    expect_parsed("{\"ClientMessage\":\"\\ud83d\\ude00 \\uD834\\uDD1E\"}",
                  CHAT_MESSAGE_CLIENT_MESSAGE, NULL, "😀 𝄞");
    expect_parsed("{\"ClientMessage\":\"raw é€😀 and DEL \x7f\"}", CHAT_MESSAGE_CLIENT_MESSAGE, NULL,
                  "raw é€😀 and DEL \x7f");
}

KT_TEST(chat_message, round_trips, .timeout = 2,
        .description = "encode then parse gives the strings back, byte for byte") {
    static const char *const texts[] = {
        "",
        "plain",
        "\"quoted\"",
        "back\\slash\\",
        "tab\tnew\nline\r",
        "\x01\x02\x1e\x1f",
        "/slash/",
        "é€😀𝄞",
        "\u2028\u2029",
        "mixed \"\\\b\f é \x7f",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        chat_message chat = {.kind = CHAT_MESSAGE_CHAT,
                             .user = (char *)texts[i],
                             .content = (char *)texts[(i + 3) % 10]};
        size_t len;
        char *json = chat_message_encode(&chat, &len);
        cr_assert_not_null(json);
        expect_parsed_n(json, len, CHAT_MESSAGE_CHAT, chat.user, chat.content);
        /* And printing the parse gives the same line again. */
        chat_message back;
        cr_assert_eq(chat_message_parse(json, len, &back), CHAT_PARSE_OK);
        size_t len2;
        char *json2 = chat_message_encode(&back, &len2);
        cr_assert(len2 == len && memcmp(json, json2, len) == 0, "%s printed again as %s", json,
                  json2);
        free(json2);
        chat_message_clear(&back);
        free(json);
    }
    /* A long line (200 KB of mixed text) too. */
    size_t n = 200000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = "ab\"\\\n\x01 z"[i % 8];
    big[n] = '\0';
    chat_message message = {.kind = CHAT_MESSAGE_CLIENT_MESSAGE, .content = big};
    size_t len;
    char *json = chat_message_encode(&message, &len);
    expect_parsed_n(json, len, CHAT_MESSAGE_CLIENT_MESSAGE, NULL, big);
    free(json);
    free(big);
}

KT_TEST(chat_message, canonical_output_from_any_input, .timeout = 2,
        .description = "a line with spaces or escaped letters prints back without them") {
    chat_message message;
    const char *line = " { \"Chat\" : { \"content\" : \"\\u0068i\" , \"user\" : \"\\/x\" } } ";
    cr_assert_eq(chat_message_parse(line, strlen(line), &message), CHAT_PARSE_OK);
    expect_encoded(message, "{\"Chat\":{\"user\":\"/x\",\"content\":\"hi\"}}");
    chat_message_clear(&message);
}

KT_TEST(chat_message, refuses_invalid_utf8, .timeout = 2,
        .description = "invalid UTF-8 anywhere in the line is refused (serde reads Strings)") {
    expect_refused("{\"User\":\"\xff\"}", CHAT_PARSE_NOT_UTF8);
    expect_refused("{\"User\":\"\xc0\xaf\"}", CHAT_PARSE_NOT_UTF8);         /* overlong '/' */
    expect_refused("{\"User\":\"\xe0\x80\xaf\"}", CHAT_PARSE_NOT_UTF8);     /* overlong */
    expect_refused("{\"User\":\"\xed\xa0\x80\"}", CHAT_PARSE_NOT_UTF8);     /* a surrogate */
    expect_refused("{\"User\":\"\xf4\x90\x80\x80\"}", CHAT_PARSE_NOT_UTF8); /* > U+10FFFF */
    expect_refused("{\"User\":\"\xe2\x82\"}", CHAT_PARSE_NOT_UTF8);         /* cut short */
    expect_refused("{\"User\":\"a\x80\"}", CHAT_PARSE_NOT_UTF8);            /* lone continuation */
    expect_refused("{\"Us\xe9r\":\"a\"}", CHAT_PARSE_NOT_UTF8);             /* Latin-1 in a key */
    expect_refused("{\"User\":\"a\"}\xe2\x82", CHAT_PARSE_NOT_UTF8);        /* cut at the end */
}

KT_TEST(chat_message, refuses_what_is_not_one_json_value, .timeout = 2,
        .description = "syntax errors, raw control characters, a BOM, trailing bytes, lone "
                       "surrogates") {
    static const char *const lines[] = {
        "",
        "   ",
        "{",
        "{\"User\":\"a\"",
        "{\"User\":\"a\"} x",
        "{\"User\":\"a\"}{}",
        "{\"User\":\"a\"},",
        "{\"User\":\"a\",}",
        "{'User':'a'}",
        "{User:\"a\"}",
        "{\"User\":\"a\tb\"}",           /* a raw tab inside a string */
        "{\"User\":\"a\x01\"}",          /* a raw control character inside a string */
        "{\x01\"User\":\"a\"}",          /* ... and outside one (cJSON skips it) */
        "{\"User\":\"a\"}\x0b",          /* vertical tab is not JSON whitespace */
        "\xef\xbb\xbf{\"User\":\"a\"}",  /* a byte order mark (cJSON skips it) */
        "{\"User\":\"a\\x\"}",           /* an unknown escape */
        "{\"User\":\"a\\u12\"}",         /* a short \u escape */
        "{\"User\":\"\\ud800\"}",        /* a lone high surrogate */
        "{\"User\":\"\\udc00\"}",        /* a lone low surrogate */
        "{\"User\":\"\\ud800\\u0041\"}", /* a high surrogate, then no low one */
        "{\"User\":\"a\\\"}",            /* the escaped quote does not end the string */
        "{\"User\":\"a\"}\x7f",          /* DEL outside a string */
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        expect_refused(lines[i], CHAT_PARSE_NOT_JSON);
    /* A NUL byte in the line is data, not its end: cJSON must not stop there. */
    const char with_nul[] = "{\"User\":\"a\"}\0{\"x\":1}";
    expect_refused_n(with_nul, sizeof with_nul - 1, CHAT_PARSE_NOT_JSON);
    const char nul_in_string[] = "{\"User\":\"a\0b\"}";
    expect_refused_n(nul_in_string, sizeof nul_in_string - 1, CHAT_PARSE_NOT_JSON);
    /* Only the `length` bytes count: what follows in memory is not read. */
    expect_parsed_n("{\"User\":\"a\"}garbage", 12, CHAT_MESSAGE_USER, "a", NULL);
}

KT_TEST(chat_message, refuses_u0000, .timeout = 2,
        .description = "a string holding U+0000 is refused, in a value or a key") {
    expect_refused("{\"User\":\"a\\u0000b\"}", CHAT_PARSE_NUL);
    expect_refused("{\"ClientMessage\":\"\\u0000\"}", CHAT_PARSE_NUL);
    expect_refused("{\"User\\u0000x\":\"a\"}", CHAT_PARSE_NUL);
    /* An escaped backslash followed by "u0000" is six plain characters. */
    expect_parsed("{\"User\":\"\\\\u0000\"}", CHAT_MESSAGE_USER, "\\u0000", NULL);
}

KT_TEST(chat_message, refuses_unknown_variants, .timeout = 2,
        .description = "anything but an object whose one member is User, ClientMessage or Chat") {
    static const char *const lines[] = {
        "\"User\"",
        "null",
        "1",
        "[]",
        "[\"User\",\"a\"]",
        "{}",
        "{\"user\":\"a\"}", /* names are case-sensitive (cJSON's lookups are not) */
        "{\"USER\":\"a\"}",
        "{\"Join\":\"a\"}",
        "{\"User\":\"a\",\"User\":\"b\"}",          /* a repeated member */
        "{\"User\":\"a\",\"ClientMessage\":\"b\"}", /* two variants */
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        expect_refused(lines[i], CHAT_PARSE_UNKNOWN_VARIANT);
}

KT_TEST(chat_message, refuses_bad_fields, .timeout = 2,
        .description = "non-string, missing, repeated or unknown fields of a known variant") {
    static const char *const lines[] = {
        "{\"User\":1}",
        "{\"User\":null}",
        "{\"User\":true}",
        "{\"User\":[\"a\"]}",
        "{\"User\":{\"name\":\"a\"}}",
        "{\"ClientMessage\":{}}",
        "{\"Chat\":\"a\"}",
        "{\"Chat\":{}}",
        "{\"Chat\":{\"user\":\"a\"}}",
        "{\"Chat\":{\"content\":\"b\"}}",
        "{\"Chat\":{\"user\":1,\"content\":\"b\"}}",
        "{\"Chat\":{\"user\":\"a\",\"content\":null}}",
        "{\"Chat\":{\"user\":\"a\",\"user\":\"b\",\"content\":\"c\"}}",
        "{\"Chat\":{\"user\":\"a\",\"content\":\"b\",\"extra\":\"c\"}}",
        "{\"Chat\":{\"User\":\"a\",\"content\":\"b\"}}",
        "{\"Chat\":[\"a\"]}",
        "{\"Chat\":[\"a\",\"b\",\"c\"]}",
        "{\"Chat\":[\"a\",2]}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        expect_refused(lines[i], CHAT_PARSE_BAD_FIELD);
}

KT_TEST(
    chat_message, encode_refuses_invalid_text, .timeout = 2,
    .description = "encoding a string that is not UTF-8 gives NULL; chat_text_is_valid says so") {
    chat_message bad = {.kind = CHAT_MESSAGE_CLIENT_MESSAGE, .content = "caf\xe9"};
    cr_assert_null(chat_message_encode(&bad, NULL));
    chat_message bad_user = {.kind = CHAT_MESSAGE_CHAT, .user = "\xff", .content = "ok"};
    cr_assert_null(chat_message_encode(&bad_user, NULL));
    chat_message bad_content = {.kind = CHAT_MESSAGE_CHAT, .user = "ok", .content = "\xc0\x80"};
    cr_assert_null(chat_message_encode(&bad_content, NULL));
    cr_assert(chat_text_is_valid("é€😀", strlen("é€😀")));
    cr_assert(chat_text_is_valid("", 0));
    cr_assert(!chat_text_is_valid("caf\xe9", 4));
    cr_assert(!chat_text_is_valid("a\0b", 3), "a NUL byte cannot travel in a C string");
}

KT_TEST(chat_message, result_strings, .timeout = 2,
        .description = "every parse result has its own phrase") {
    const char *seen[6];
    for (int r = CHAT_PARSE_OK; r <= CHAT_PARSE_BAD_FIELD; r++) {
        seen[r] = chat_parse_result_str((chat_parse_result)r);
        cr_assert_not_null(seen[r]);
        for (int k = 0; k < r; k++)
            cr_assert_str_neq(seen[k], seen[r]);
    }
}
