#!/bin/sh
# deps.sh - checks, or installs, what the kit needs to build and test.
#
#   deps.sh check     exit 0 when everything is there; otherwise say what is
#                     missing and the command that installs it, exit 1
#   deps.sh install   install what is missing with apt-get when run as root;
#                     otherwise print the commands to run
#
# Students need a C compiler, make, pkg-config, Criterion and cJSON (the chat
# exercise's JSON library); instructors
# also want python3 (grader, stub generator), bubblewrap (the grader's
# sandbox) and binutils (nm/readelf for the grader's symbol check).
# libnanopb-dev is optional: with it the Makefile links Criterion statically
# and each test process starts several times faster (see the Makefile).
set -u
mode=${1:-check}

# Debian/Ubuntu package names, and the Homebrew ones for macOS.
APT_PACKAGES="build-essential make pkg-config libcriterion-dev libcjson-dev libnanopb-dev python3 bubblewrap binutils clang-format git"
BREW_PACKAGES="criterion cjson pkg-config python3 clang-format"

missing=""
need() { # need <what> <test command...>
    what=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $what"; fi
}
have_cmd() { command -v "$1"; }
have_criterion() {
    pkg-config --exists criterion 2>/dev/null && return 0
    # Some installs ship no pkg-config file: look for the header and library.
    printf '#include <criterion/criterion.h>\nTest(a,b){}\n' |
        ${CC:-cc} -x c - -o /dev/null -lcriterion
}

have_cjson() {
    pkg-config --exists libcjson 2>/dev/null && return 0
    printf '#include <cjson/cJSON.h>\nint main(void){return cJSON_Parse("1")==0;}\n' |
        ${CC:-cc} -x c - -o /dev/null -lcjson
}

need "a C compiler (cc)" have_cmd "${CC:-cc}"
need "make" have_cmd make
need "pkg-config" have_cmd pkg-config
need "Criterion (the test framework)" have_criterion
need "python3" have_cmd python3
need "cJSON (the chat exercise reads and writes JSON with it)" have_cjson
if [ "${DEPS_FOR:-student}" = instructor ]; then
    need "bubblewrap (bwrap, the grader's sandbox)" have_cmd bwrap
    need "binutils (nm, readelf)" have_cmd nm
fi

# Optional, Debian only: the archive that lets Criterion be linked statically.
optional=""
if command -v apt-get >/dev/null 2>&1 &&
    ! [ -f "$(pkg-config --variable=libdir criterion 2>/dev/null)/libprotobuf-nanopb.a" ]; then
    optional="libnanopb-dev"
fi

if [ -z "$missing" ]; then
    if [ "$mode" = install ] && [ -n "$optional" ]; then
        if [ "$(id -u)" = 0 ]; then
            echo "deps: installing $optional (tests start faster with it)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $optional >/dev/null ||
                echo "deps: could not install $optional; the kit works without it, only slower." >&2
        else
            echo "deps: optional, for faster tests: sudo apt-get install -y $optional"
        fi
    fi
    [ "$mode" = install ] && echo "deps: everything the kit needs is installed."
    exit 0
fi

print_commands() {
    echo "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y $APT_PACKAGES"
    echo "  macOS:          brew install $BREW_PACKAGES"
}

if [ "$mode" = install ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps: installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq $APT_PACKAGES >/dev/null || {
            echo "deps: apt-get failed; see its message above." >&2
            exit 1
        }
        exec "$0" check
    fi
    echo "deps: missing:$missing"
    echo "Run as root to install with apt-get, or run:"
    print_commands
    exit 1
fi

echo "deps: missing:$missing" >&2
echo "Install with 'make deps' (as root on Debian/Ubuntu), or:" >&2
print_commands >&2
exit 1
