/*
 * lsan_suppressions.c - silence one leak that is not ours.
 *
 * Criterion's runner process (libcriterion 2.4) leaks a few small blocks
 * when it runs tests in parallel, which makes LeakSanitizer fail a run in
 * which every test passed. LeakSanitizer asks the program for this function
 * at exit; leaks in the kit's own code are still reported.
 */
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void) {
    return "leak:libcriterion.so\n";
}
