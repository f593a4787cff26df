/*
 * rt_todo.h - TODO("..."), the C form of Rust's todo!().
 *
 * Every stub in the exercises is a call to TODO. It prints
 *
 *     not implemented: <what to do> (<file>:<line>)
 *
 * and aborts, so a test that reaches an unfinished function fails at once
 * and says which one, instead of running on with garbage or hanging.
 */
#ifndef RT_TODO_H
#define RT_TODO_H

/* Prints "not implemented: <what> (<file>:<line>)" on stderr and aborts. */
_Noreturn void rt_todo_at(const char *what, const char *file, int line);

#define TODO(what) rt_todo_at((what), __FILE__, __LINE__)

#endif
