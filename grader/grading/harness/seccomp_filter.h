/*
 * seccomp_filter.h - the system-call filter the runner installs in each test process.
 *
 * Defined by a file seccomp_gen.c writes for each build variant and
 * profile (kitbuild.py compiles it beside the runner): one runner object
 * per variant serves every profile.
 */
#ifndef SECCOMP_FILTER_H
#define SECCOMP_FILTER_H

#include <linux/filter.h>

/* The filter's program, and how many instructions it has. */
extern const struct sock_filter kt_grade_filter[];
extern const unsigned short kt_grade_filter_length;

#endif
