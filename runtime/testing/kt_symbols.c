/* kt_symbols.c - code address to function name, from the program's ELF symbol table. */
#include "kt_symbols.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__) && defined(__ELF__)
#include <elf.h>

#if UINTPTR_MAX > 0xffffffffu
#define ElfW(type) Elf64_##type
#else
#define ElfW(type) Elf32_##type
#endif

typedef struct function {
    uintptr_t start, size; /* link-time address: subtract the load bias first */
    const char *name;
} function;

static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static function *functions;
static size_t function_count;
static char *names; /* the string table, kept for the names */
static uintptr_t bias;

static int by_start(const void *a, const void *b) {
    const function *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads the whole program file; NULL when it cannot. */
static unsigned char *read_program(size_t *length) {
    FILE *f = fopen("/proc/self/exe", "rb");
    if (f == NULL)
        return NULL;
    unsigned char *data = NULL;
    size_t used = 0, room = 0, got;
    do {
        if (used == room) {
            room = room ? room * 2 : 1 << 20;
            unsigned char *bigger = realloc(data, room);
            if (bigger == NULL) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = bigger;
        }
        got = fread(data + used, 1, room - used, f);
        used += got;
    } while (got > 0);
    fclose(f);
    *length = used;
    return data;
}

static void load(void) {
    size_t length = 0;
    unsigned char *file = read_program(&length);
    if (file == NULL || length < sizeof(ElfW(Ehdr)) || memcmp(file, ELFMAG, SELFMAG) != 0)
        goto done;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)file;
    if (eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > length)
        goto done;
    const ElfW(Shdr) *sections = (const ElfW(Shdr) *)(file + eh->e_shoff);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        const ElfW(Shdr) *symtab = &sections[i];
        if (symtab->sh_type != SHT_SYMTAB || symtab->sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *strtab = &sections[symtab->sh_link];
        if (symtab->sh_offset + symtab->sh_size > length ||
            strtab->sh_offset + strtab->sh_size > length || strtab->sh_size == 0)
            break;
        size_t count = symtab->sh_size / sizeof(ElfW(Sym));
        const ElfW(Sym) *syms = (const ElfW(Sym) *)(file + symtab->sh_offset);
        names = malloc(strtab->sh_size);
        functions = malloc(count * sizeof *functions);
        if (names == NULL || functions == NULL)
            break;
        memcpy(names, file + strtab->sh_offset, strtab->sh_size);
        names[strtab->sh_size - 1] = '\0';
        for (size_t s = 0; s < count; s++) {
            if (ELF64_ST_TYPE(syms[s].st_info) != STT_FUNC || syms[s].st_value == 0 ||
                syms[s].st_name >= strtab->sh_size)
                continue;
            functions[function_count++] = (function){
                syms[s].st_value, syms[s].st_size ? syms[s].st_size : 1, names + syms[s].st_name};
        }
        qsort(functions, function_count, sizeof *functions, by_start);
        /* Where the program was loaded (position-independent executables move): the distance
         * between this very function's address and the one its symbol names. */
        for (size_t f = 0; f < function_count; f++)
            if (strcmp(functions[f].name, "kt_symbols_load") == 0)
                bias = (uintptr_t)&kt_symbols_load - functions[f].start;
        break;
    }
done:
    free(file);
}

void kt_symbols_load(void) {
    pthread_once(&loaded, load);
}

static const function *lookup(const void *address) {
    kt_symbols_load();
    uintptr_t at = (uintptr_t)address - bias;
    size_t lo = 0, hi = function_count; /* the last function starting at or before `at` */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (functions[mid].start <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const function *f = &functions[lo - 1];
    return at < f->start + f->size ? f : NULL;
}

const char *kt_symbolize(const void *address, char *out, size_t size) {
    const function *f = address ? lookup(address) : NULL;
    if (f != NULL)
        snprintf(out, size, "%s+0x%lx", f->name,
                 (unsigned long)((uintptr_t)address - bias - f->start));
    else
        snprintf(out, size, "%p", address);
    return out;
}

int kt_symbol_has_prefix(const void *address, const char *prefix) {
    const function *f = address ? lookup(address) : NULL;
    return f != NULL && strncmp(f->name, prefix, strlen(prefix)) == 0;
}

#else /* no ELF symbol table to read here: addresses only */

void kt_symbols_load(void) {}

const char *kt_symbolize(const void *address, char *out, size_t size) {
    snprintf(out, size, "%p", address);
    return out;
}

int kt_symbol_has_prefix(const void *address, const char *prefix) {
    (void)address;
    (void)prefix;
    return 0;
}
#endif
