#!/bin/sh
# config.sh - what the Makefile needs to know about this machine, found once.
#
#   config.sh        print make assignments on standard output, or print
#                    nothing and exit 1 when deps.sh finds something missing
#
# The Makefile writes the output to $(BUILD)/config-<version>.mk and includes
# that file from then on. Asking pkg-config and friends costs a process each
# time, and `make test` after a one-line edit should spend its time compiling
# and testing, not asking the same questions again. `make deps` and
# `make clean` remove the file, so installing a package is noticed.
set -u

sh "$(dirname "$0")/deps.sh" check >/dev/null 2>&1 || exit 1

nproc=$(nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
criterion_cflags=$(pkg-config --cflags criterion 2>/dev/null)
criterion_libs=$(pkg-config --libs criterion 2>/dev/null)
[ -n "$criterion_libs" ] || criterion_libs=-lcriterion

# Criterion starts a fresh process for every test. Linked as a shared
# library it loads libgit2 and some eighteen more libraries into each one;
# its static archives (Debian: libcriterion-dev and libnanopb-dev) do not,
# and runtime/testing/kt_nogit.c stands in for libgit2. A test process then
# starts in a few milliseconds instead of about twenty.
libdir=$(pkg-config --variable=libdir criterion 2>/dev/null)
if [ -n "$libdir" ] && [ -f "$libdir/libcriterion.a" ] && [ -f "$libdir/libboxfort.a" ] &&
    [ -f "$libdir/libprotobuf-nanopb.a" ]; then
    criterion_libs="$libdir/libcriterion.a $libdir/libboxfort.a $libdir/libprotobuf-nanopb.a"
    criterion_libs="$criterion_libs -lnanomsg -lffi -lrt -lm"
fi

# Libraries an exercise asks for (EX_LIBS in its exercise.mk): their flags.
# Debian's libcjson.pc says -I/usr/include/cjson, so sources include <cJSON.h>.
cjson_cflags=$(pkg-config --cflags libcjson 2>/dev/null)
cjson_libs=$(pkg-config --libs libcjson 2>/dev/null)
[ -n "$cjson_libs" ] || { cjson_cflags=-I/usr/include/cjson; cjson_libs=-lcjson; }

# gold links the test programs in about two thirds of the time of the
# default linker; use it where the compiler driver can.
linker=""
if printf 'int main(void){return 0;}\n' |
    ${CC:-cc} -fuse-ld=gold -x c - -o /dev/null >/dev/null 2>&1; then
    linker=-fuse-ld=gold
fi

echo "CONFIG_FOUND := 1"
echo "NPROC := $nproc"
echo "CRITERION_CFLAGS := $criterion_cflags"
echo "CRITERION_LIBS := $criterion_libs"
echo "KIT_LINKER := $linker"
echo "LIB_CFLAGS_cjson := $cjson_cflags"
echo "LIB_LIBS_cjson := $cjson_libs"
