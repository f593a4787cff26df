/*
 * chat_line.c - a counted, immutable line (see chat_line.h).
 */
#include "chat_line.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct chat_line {
    atomic_size_t count; /* copies alive */
    size_t length;
    char *text;
};

chat_line *chat_line_new(char *text, size_t length) {
    chat_line *line = malloc(sizeof *line);
    if (line == NULL) {
        fprintf(stderr, "chat_line: out of memory\n");
        abort();
    }
    atomic_init(&line->count, 1);
    line->length = length;
    line->text = text;
    return line;
}

const char *chat_line_text(const chat_line *line) {
    return line->text;
}

size_t chat_line_length(const chat_line *line) {
    return line->length;
}

void *chat_line_clone(const void *line) {
    chat_line *shared = (chat_line *)line; /* only the count changes, atomically */
    /* A new copy is made from one that is alive, so nothing can free the
     * line meanwhile: no ordering needed (as Arc::clone). */
    atomic_fetch_add_explicit(&shared->count, 1, memory_order_relaxed);
    return shared;
}

//@slide chat-line-free
void chat_line_free(void *line) {
    chat_line *shared = line;
    /* Release, then acquire by the last one: every use of the text by the
     * other copies happens before it is freed (as Arc's drop). */
    if (atomic_fetch_sub_explicit(&shared->count, 1, memory_order_acq_rel) == 1) {
        free(shared->text);
        free(shared);
    }
}
//@end
