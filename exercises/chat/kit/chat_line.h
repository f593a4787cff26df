/*
 * chat_line.h - one line of the chat, shared by every receiver of a broadcast (kit code).
 *
 * The server encodes each message once and broadcasts the text. Every
 * receiver of a broadcast channel gets its own copy of each message (the
 * channel's clone function); for a chat line that copy need not be a copy
 * of the bytes: a chat_line is immutable and counted, so "cloning" it adds
 * one to its count and "freeing" it takes one away, the last one freeing
 * the text (Rust's Arc<str>, the `bytes` crate's Bytes). That makes
 * chat_line_clone and chat_line_free the channel's functions:
 *
 *     #include "broadcast.h"
 *     #include "chat_message.h"
 *
 *     broadcast_sender *make_channel(size_t capacity) {
 *         broadcast_sender *sender;
 *         broadcast_receiver *receiver;
 *         broadcast_channel(chat_line_free, chat_line_clone, capacity, &sender, &receiver);
 *         broadcast_receiver_drop(receiver); // subscribe the real ones later
 *         return sender;
 *     }
 *
 *     void announce(broadcast_sender *sender, char *user) {
 *         chat_message join = {.kind = CHAT_MESSAGE_USER, .user = user};
 *         size_t len;
 *         char *json = chat_message_encode(&join, &len); // a line without its newline
 *         void *returned;
 *         size_t reached;
 *         if (broadcast_send(sender, chat_line_new(json, len), &returned, &reached) ==
 *             BROADCAST_SEND_NO_RECEIVERS)
 *             chat_line_free(returned); // nobody listens: still ours
 *     }
 *
 * and a receiver writes chat_line_text(line) (chat_line_length bytes, no
 * newline: add it) and then frees its copy with chat_line_free.
 *
 * Thread safety: every function may be called from any thread; the count
 * is atomic, so copies of one line may be used and freed on several
 * threads at once. The text is never changed.
 */
#ifndef CHAT_LINE_H
#define CHAT_LINE_H

#include <stddef.h>

/* An immutable, counted line of text. */
typedef struct chat_line chat_line;

/*
 * A line holding `text` (`length` bytes, from malloc: the line takes it
 * over and frees it with the last copy). Its count is 1. Aborts when out of
 * memory.
 */
chat_line *chat_line_new(char *text, size_t length);

/* The text (NUL-terminated when `text` given to chat_line_new was), without a newline. */
const char *chat_line_text(const chat_line *line);

/* Its length in bytes. */
size_t chat_line_length(const chat_line *line);

/* Another copy of `line` (the same line, counted once more): a broadcast_clone_fn. */
void *chat_line_clone(const void *line);

/* Lets go of one copy; the last one frees the line and its text: a broadcast_free_fn. */
void chat_line_free(void *line);

#endif
