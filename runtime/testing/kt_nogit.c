/*
 * kt_nogit.c - the three libgit2 functions Criterion calls, for a static link.
 *
 * Why this exists: Criterion runs every test in a fresh process, and its
 * shared library pulls in libgit2 and, through it, some eighteen more
 * libraries (TLS, Kerberos, SSH...). libgit2's start-up also parses every CA
 * certificate on the machine. Together that is about 15 ms per test process,
 * which is most of what a student waits for in `make test`.
 *
 * Criterion uses libgit2 for one thing only: drawing a diff when a
 * comparison written in its newer style, cr_assert(eq(str, a, b)), fails.
 * The kit's tests use the classic macros (cr_assert_eq, cr_assert_str_eq...),
 * which print both values instead. So when the Makefile finds Criterion's
 * static archives (Debian: libcriterion-dev and libnanopb-dev), it links
 * them, links this file in place of libgit2, and a test process starts in
 * a few milliseconds. Without the archives (macOS, other distributions) the
 * shared library is used and this file is not linked at all.
 *
 * Should a newer-style comparison fail anyway, git_diff_buffers reports an
 * error and Criterion prints the assertion without the diff: nothing breaks.
 * The prototypes are written out here (the kit does not need libgit2's
 * headers); only the names and the C calling convention matter to the
 * linker.
 */
#include <stddef.h>

int git_libgit2_init(void);
int git_libgit2_shutdown(void);
int git_diff_buffers(const void *old_buffer, size_t old_len, const char *old_as_path,
                     const void *new_buffer, size_t new_len, const char *new_as_path,
                     const void *options, void *file_cb, void *binary_cb, void *hunk_cb,
                     void *line_cb, void *payload);

/* libgit2 counts its initialisations; 1 means "initialised once". */
int git_libgit2_init(void) {
    return 1;
}

/* The count after shutting down: 0, none left. */
int git_libgit2_shutdown(void) {
    return 0;
}

/* No diff: a negative value is libgit2's "error", which Criterion handles. */
int git_diff_buffers(const void *old_buffer, size_t old_len, const char *old_as_path,
                     const void *new_buffer, size_t new_len, const char *new_as_path,
                     const void *options, void *file_cb, void *binary_cb, void *hunk_cb,
                     void *line_cb, void *payload) {
    (void)old_buffer, (void)old_len, (void)old_as_path, (void)new_buffer, (void)new_len;
    (void)new_as_path, (void)options, (void)file_cb, (void)binary_cb, (void)hunk_cb;
    (void)line_cb, (void)payload;
    return -1;
}
