/* rt_todo.c - the body of the TODO() macro. */
#include "rt_todo.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void rt_todo_at(const char *what, const char *file, int line) {
    fprintf(stderr, "not implemented: %s (%s:%d)\n", what, file, line);
    fflush(stderr);
    abort();
}
