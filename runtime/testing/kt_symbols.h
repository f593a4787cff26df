/*
 * kt_symbols.h - names the function a code address lies in, for failure reports.
 *
 * A leak report says where the leaked block was allocated, an explorer
 * trace where each lock was taken: "mpsc_channel+0x1c" means more to a
 * student than an address. The names come from the test program's own
 * symbol table (static functions included), read once, on the first report.
 * Where that table cannot be read (a stripped program, a system without
 * ELF), the address is shown instead.
 */
#ifndef KT_SYMBOLS_H
#define KT_SYMBOLS_H

#include <stddef.h>

/* Writes "function+0xoffset" (or "0xaddress") for code address `address` into `out`. Returns out.
 * Not for signal handlers before a first call elsewhere: the first call reads the program file. */
const char *kt_symbolize(const void *address, char *out, size_t size);

/* Whether `address` lies in a function whose name starts with `prefix` (false when unknown). */
int kt_symbol_has_prefix(const void *address, const char *prefix);

/* Reads the symbol table now, so that a later kt_symbolize from a signal handler does no I/O. */
void kt_symbols_load(void);

#endif
