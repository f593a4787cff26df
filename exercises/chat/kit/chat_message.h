/*
 * chat_message.h - the chat's messages and their wire format (kit code: use it, do not write it).
 *
 * One message per line, read and printed exactly as the Rust course's
 * programs do (below). Reading a line, and answering it:
 *
 *     #include <stdio.h>
 *     #include <stdlib.h>
 *
 *     void on_line(const char *line, size_t len) {
 *         chat_message message;
 *         chat_parse_result result = chat_message_parse(line, len, &message);
 *         if (result != CHAT_PARSE_OK) {
 *             fprintf(stderr, "ignored: %s\n", chat_parse_result_str(result));
 *             return;
 *         }
 *         if (message.kind == CHAT_MESSAGE_CLIENT_MESSAGE) {
 *             chat_message chat = {
 *                 .kind = CHAT_MESSAGE_CHAT, .user = "alice", .content = message.content};
 *             size_t json_len;
 *             char *json = chat_message_encode(&chat, &json_len); // no newline
 *             fwrite(json, 1, json_len, stdout);                  // {"Chat":{"user":"alice",...
 *             putchar('\n');
 *             free(json);
 *         }
 *         chat_message_clear(&message); // frees the strings parse made
 *     }
 *
 * The messages are the C form of the Rust course's
 *
 *   #[derive(Serialize, Deserialize)]
 *   enum Message { User(String), ClientMessage(String), Chat { user: String, content: String } }
 *
 * sent as one JSON text per line, in serde's default ("externally tagged")
 * form, byte for byte what serde_json reads and prints:
 *
 *   {"User":"alice"}                              the first line a client sends
 *   {"ClientMessage":"hello"}                     each line the user types
 *   {"Chat":{"user":"alice","content":"hello"}}   what the server broadcasts
 *
 * What counts as a message, exactly as serde_json decides, with two
 * exceptions said below:
 * - the line is valid UTF-8 (serde reads a Rust String);
 * - it is one JSON value, with only JSON's whitespace (space, tab, CR, LF)
 *   around tokens and nothing after it;
 * - an object with exactly one member, named (case matters) User,
 *   ClientMessage or Chat; User and ClientMessage hold a string; Chat holds
 *   {"user": string, "content": string} in either order, or the two strings
 *   as an array ["alice", "hello"] (serde accepts a struct as a sequence);
 * - strings may use every JSON escape: \" \\ \/ \b \f \n \r \t and \uXXXX,
 *   surrogate pairs included; a lone surrogate is malformed.
 * The exceptions, both refusals of lines no course program sends: a string
 * holding U+0000 (a C string would cut it short there), and a member in
 * Chat other than user and content (serde would skip it).
 *
 * Printing follows serde_json: no spaces, the members in the order above,
 * and in strings `"` and `\` escaped, \b \f \n \r \t for those control
 * characters, \u00XX (lowercase hex) for the other ones below 0x20, and
 * everything else as it is: `/`, DEL and non-ASCII UTF-8 are not escaped.
 *
 * The JSON itself is read and written by cJSON (a small, portable C89
 * library: Debian's libcjson-dev); this file adds the checks that serde
 * makes and cJSON does not (UTF-8, control characters, repeated members).
 *
 * Thread safety: every function may be called from any thread; a message
 * is used by one thread at a time.
 */
#ifndef CHAT_MESSAGE_H
#define CHAT_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

/* Which of the three messages (the variants of the Rust enum). */
typedef enum chat_message_kind {
    CHAT_MESSAGE_USER,           /* {"User":"alice"}: a client says who it is; a join */
    CHAT_MESSAGE_CLIENT_MESSAGE, /* {"ClientMessage":"hello"}: a line a user typed */
    CHAT_MESSAGE_CHAT,           /* {"Chat":{"user":..,"content":..}}: who said what */
} chat_message_kind;

/*
 * One message. Strings are NUL-terminated UTF-8. After chat_message_parse
 * they are the message's own (free them with chat_message_clear); for
 * chat_message_encode they may point anywhere, and are only read.
 */
typedef struct chat_message {
    chat_message_kind kind;
    char *user;    /* USER and CHAT: the user name; NULL for CLIENT_MESSAGE */
    char *content; /* CLIENT_MESSAGE and CHAT: the text; NULL for USER */
} chat_message;

/* What chat_message_parse made of a line. */
typedef enum chat_parse_result {
    CHAT_PARSE_OK = 0,          /* *message holds the message */
    CHAT_PARSE_NOT_UTF8,        /* the line is not valid UTF-8 */
    CHAT_PARSE_NOT_JSON,        /* not one JSON value (a syntax error, a control character
                                   in a string, bytes after the value) */
    CHAT_PARSE_NUL,             /* a string holds U+0000 (\u0000), which C strings cannot */
    CHAT_PARSE_UNKNOWN_VARIANT, /* JSON, but not an object whose one member is User,
                                   ClientMessage or Chat */
    CHAT_PARSE_BAD_FIELD,       /* the variant is known but its contents are wrong: not a
                                   string, or a field missing, repeated or unknown */
} chat_parse_result;

/*
 * Reads one line (`length` bytes, without its newline; NUL bytes in it are
 * data, and make it malformed) into *message. CHAT_PARSE_OK: *message is
 * set and owns its strings (chat_message_clear frees them). Any other
 * result: the line is malformed, *message is left untouched and nothing
 * needs freeing. Aborts when out of memory.
 */
chat_parse_result chat_message_parse(const char *line, size_t length, chat_message *message);

/* A short phrase for `result` ("not valid UTF-8"), for log lines; never NULL. */
const char *chat_parse_result_str(chat_parse_result result);

/*
 * Frees the strings of a message made by chat_message_parse and sets them
 * to NULL (clearing twice is harmless). Not for a message whose strings
 * you pointed at your own memory.
 */
void chat_message_clear(chat_message *message);

/*
 * The message as one line of JSON, as serde_json prints it, without a
 * newline: a new NUL-terminated string (free it), its length in *length
 * (which may be NULL). The strings the kind uses must be set. Returns NULL
 * when one of them is not valid UTF-8 (serde could not have sent it, and
 * a Rust peer would drop the connection over it); chat_text_is_valid says
 * beforehand. Aborts when out of memory.
 */
char *chat_message_encode(const chat_message *message, size_t *length);

/*
 * Whether `length` bytes of `text` can travel in a message: valid UTF-8
 * holding no NUL byte. The chat client checks what the user typed with it.
 */
bool chat_text_is_valid(const char *text, size_t length);

#endif
