/*
 * chat_message.c - the wire format of the chat, on cJSON, checked as serde checks it.
 *
 * cJSON parses and prints; its printer already escapes exactly as
 * serde_json does (checked by the tests). Its parser is laxer than
 * serde_json in a few ways, each closed here before or after it runs:
 *
 *   cJSON accepts                          serde_json says       closed by
 *   invalid UTF-8 inside strings           not a String          utf8_valid, first
 *   any byte below 0x20 as whitespace      syntax error          lex_check
 *   raw control characters in strings      syntax error          lex_check
 *   a UTF-8 byte order mark in front       syntax error          lex_check (a byte >= 0x80
 *                                                                outside a string)
 *   \u0000 (then cuts the string there)    a NUL in the String   lex_check (refused)
 *   repeated members in an object          error                 counting members
 *   case-insensitive lookups               exact names           strcmp on every member
 *
 * Lone surrogates (\ud800 alone) and unknown escapes cJSON refuses by
 * itself, as serde does.
 */
#include "chat_message.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *chat_oom(void) {
    fprintf(stderr, "chat_message: out of memory\n");
    abort();
}

static char *chat_strdup(const char *text) {
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy == NULL)
        return chat_oom();
    return memcpy(copy, text, n);
}

/*
 * Strict UTF-8, as Rust's str: no overlong forms, no encoded surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF.
 */
static bool utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong below U+0800 */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return false; /* a continuation byte first, C0, C1, F5..FF */
        }
        if (n - i <= need)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += need + 1;
    }
    return true;
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * One pass over the bytes for what cJSON lets through: outside strings only
 * JSON whitespace and printable ASCII; inside strings no raw control
 * character; and no \u0000. (The grammar itself is cJSON's to check.)
 */
static chat_parse_result lex_check(const unsigned char *s, size_t n) {
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (!in_string) {
            if (c == '"')
                in_string = true;
            else if ((c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') || c >= 0x7F)
                return CHAT_PARSE_NOT_JSON;
            continue;
        }
        if (c < 0x20)
            return CHAT_PARSE_NOT_JSON;
        if (c == '"') {
            in_string = false;
        } else if (c == '\\') {
            if (i + 1 >= n)
                return CHAT_PARSE_NOT_JSON;
            if (s[i + 1] == 'u') {
                if (n - i < 6)
                    return CHAT_PARSE_NOT_JSON;
                int value = 0;
                for (size_t k = 2; k < 6; k++) {
                    int h = hex_value(s[i + k]);
                    if (h < 0)
                        return CHAT_PARSE_NOT_JSON;
                    value = value * 16 + h;
                }
                if (value == 0)
                    return CHAT_PARSE_NUL;
                i += 5;
            } else {
                i += 1; /* the escaped character; cJSON judges it */
            }
        }
    }
    return in_string ? CHAT_PARSE_NOT_JSON : CHAT_PARSE_OK;
}

static size_t count_members(const cJSON *item) {
    size_t n = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next)
        n++;
    return n;
}

/* Chat's contents: {"user":..,"content":..} in any order, or ["user", "content"]. */
static chat_parse_result parse_chat(const cJSON *value, const char **user, const char **content) {
    *user = *content = NULL;
    if (cJSON_IsArray(value)) {
        const cJSON *first = value->child;
        if (count_members(value) != 2 || !cJSON_IsString(first) || !cJSON_IsString(first->next))
            return CHAT_PARSE_BAD_FIELD;
        *user = first->valuestring;
        *content = first->next->valuestring;
        return CHAT_PARSE_OK;
    }
    if (!cJSON_IsObject(value))
        return CHAT_PARSE_BAD_FIELD;
    for (const cJSON *field = value->child; field != NULL; field = field->next) {
        const char **slot = NULL;
        if (strcmp(field->string, "user") == 0)
            slot = user;
        else if (strcmp(field->string, "content") == 0)
            slot = content;
        if (slot == NULL || *slot != NULL || !cJSON_IsString(field))
            return CHAT_PARSE_BAD_FIELD; /* unknown, repeated, or not a string */
        *slot = field->valuestring;
    }
    return *user != NULL && *content != NULL ? CHAT_PARSE_OK : CHAT_PARSE_BAD_FIELD;
}

chat_parse_result chat_message_parse(const char *line, size_t length, chat_message *message) {
    const unsigned char *bytes = (const unsigned char *)line;
    if (!utf8_valid(bytes, length))
        return CHAT_PARSE_NOT_UTF8;
    chat_parse_result result = lex_check(bytes, length);
    if (result != CHAT_PARSE_OK)
        return result;
    /* No NUL byte is left in the line (lex_check refused control characters),
     * so cJSON's end of input is the line's end. */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, length, &end, false);
    if (root == NULL)
        return CHAT_PARSE_NOT_JSON;
    while (end < line + length && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end != line + length) {
        cJSON_Delete(root);
        return CHAT_PARSE_NOT_JSON; /* something after the value */
    }
    chat_message out = {0};
    const char *user = NULL, *content = NULL;
    const cJSON *member = root->child;
    if (!cJSON_IsObject(root) || count_members(root) != 1) {
        result = CHAT_PARSE_UNKNOWN_VARIANT;
    } else if (strcmp(member->string, "User") == 0) {
        out.kind = CHAT_MESSAGE_USER;
        result = cJSON_IsString(member) ? CHAT_PARSE_OK : CHAT_PARSE_BAD_FIELD;
        user = member->valuestring;
    } else if (strcmp(member->string, "ClientMessage") == 0) {
        out.kind = CHAT_MESSAGE_CLIENT_MESSAGE;
        result = cJSON_IsString(member) ? CHAT_PARSE_OK : CHAT_PARSE_BAD_FIELD;
        content = member->valuestring;
    } else if (strcmp(member->string, "Chat") == 0) {
        out.kind = CHAT_MESSAGE_CHAT;
        result = parse_chat(member, &user, &content);
    } else {
        result = CHAT_PARSE_UNKNOWN_VARIANT;
    }
    if (result == CHAT_PARSE_OK) {
        out.user = user != NULL ? chat_strdup(user) : NULL;
        out.content = content != NULL ? chat_strdup(content) : NULL;
        *message = out;
    }
    cJSON_Delete(root);
    return result;
}

const char *chat_parse_result_str(chat_parse_result result) {
    switch (result) {
    case CHAT_PARSE_OK:
        return "a message";
    case CHAT_PARSE_NOT_UTF8:
        return "not valid UTF-8";
    case CHAT_PARSE_NOT_JSON:
        return "not one JSON value";
    case CHAT_PARSE_NUL:
        return "a string holds U+0000";
    case CHAT_PARSE_UNKNOWN_VARIANT:
        return "not a User, ClientMessage or Chat message";
    case CHAT_PARSE_BAD_FIELD:
        return "a field is missing, repeated, unknown or not a string";
    }
    return "unknown parse result";
}

void chat_message_clear(chat_message *message) {
    free(message->user);
    free(message->content);
    message->user = NULL;
    message->content = NULL;
}

bool chat_text_is_valid(const char *text, size_t length) {
    return memchr(text, '\0', length) == NULL && utf8_valid((const unsigned char *)text, length);
}

static cJSON *string_or_die(const char *text) {
    if (!utf8_valid((const unsigned char *)text, strlen(text)))
        return NULL;
    cJSON *item = cJSON_CreateString(text);
    return item != NULL ? item : chat_oom();
}

static void add_or_die(cJSON *object, const char *name, cJSON *item) {
    if (!cJSON_AddItemToObject(object, name, item))
        chat_oom();
}

char *chat_message_encode(const chat_message *message, size_t *length) {
    cJSON *root = cJSON_CreateObject();
    if (root == NULL)
        return chat_oom();
    bool valid = true;
    switch (message->kind) {
    case CHAT_MESSAGE_USER:
    case CHAT_MESSAGE_CLIENT_MESSAGE: {
        bool is_user = message->kind == CHAT_MESSAGE_USER;
        cJSON *text = string_or_die(is_user ? message->user : message->content);
        if (text == NULL)
            valid = false;
        else
            add_or_die(root, is_user ? "User" : "ClientMessage", text);
        break;
    }
    case CHAT_MESSAGE_CHAT: {
        cJSON *chat = cJSON_CreateObject();
        if (chat == NULL)
            chat_oom();
        add_or_die(root, "Chat", chat);
        cJSON *user = string_or_die(message->user);
        cJSON *content = user != NULL ? string_or_die(message->content) : NULL;
        if (user != NULL)
            add_or_die(chat, "user", user);
        if (content != NULL)
            add_or_die(chat, "content", content);
        valid = user != NULL && content != NULL;
        break;
    }
    default:
        valid = false;
    }
    char *json = valid ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (valid && json == NULL)
        return chat_oom();
    if (json != NULL && length != NULL)
        *length = strlen(json);
    return json;
}
