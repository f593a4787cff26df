#!/bin/sh
# deps.sh - checks, or installs, what the kit needs to build and test.
#
#   deps.sh check     exit 0 when everything is there; otherwise say what is
#                     missing and the command that installs it, exit 1
#   deps.sh install   install what is missing with apt-get when run as root;
#                     otherwise print the commands to run
#   deps.sh ensure    what `make grade` and `make check` do first: check, and
#                     when something is missing, install it as `install` does
#                     (as root with apt-get), else say what and how, exit 1
#
# DEPS_FOR says for whom: student (the default), grader (the student's tools
# and the grader's sandbox), instructor (all: the grader's, the deck's, and
# what the kit's own checks run).
#
# Students need a C compiler, make, pkg-config, Criterion, cJSON (the chat
# exercise's JSON library), python3 (the test
# runner and the student targets), binutils (objcopy: the tests count the
# student's allocations) and clang-format; instructors also want bubblewrap
# (the grader's sandbox), git, mypy (make check types the grader's code) and
# libseccomp-dev (the grader's system-call filter for test processes).
# libnanopb-dev is optional: with it the Makefile links Criterion statically
# and each test process starts several times faster (see the Makefile).
# Instructors may add Debian's rustc, cargo and librust-*-dev crates: the chat's
# test against Rust peers (tests/test_rust_peers.py) builds with them offline.
set -u
mode=${1:-check}
for_whom=${DEPS_FOR:-student}
case $for_whom in
student | grader | instructor) ;;
*) echo "deps: DEPS_FOR=$for_whom is not one of: student grader instructor" >&2; exit 2 ;;
esac
grading() { [ "$for_whom" != student ]; }
if [ "$mode" = ensure ]; then
    # Quiet when all is there: this runs before every grading and every check.
    DEPS_FOR=$for_whom sh "$0" check 2>/dev/null && exit 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps: something the kit needs is missing; installing it first (as make deps does)"
        exec env DEPS_FOR="$for_whom" sh "$0" install
    fi
    exec env DEPS_FOR="$for_whom" sh "$0" check
fi

# Debian/Ubuntu package names, and the Homebrew ones for macOS.
APT_PACKAGES="build-essential make pkg-config libcriterion-dev libcjson-dev libnanopb-dev python3 binutils clang-format"
if grading; then
    APT_PACKAGES="$APT_PACKAGES bubblewrap libseccomp-dev"
fi
if [ "$for_whom" = instructor ]; then
    APT_PACKAGES="$APT_PACKAGES git mypy"
fi
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
need "binutils (objcopy, nm, readelf)" have_cmd objcopy
need "cJSON (the chat exercise reads and writes JSON with it)" have_cjson
if grading; then
    need "bubblewrap (bwrap, the grader's sandbox)" have_cmd bwrap
    need "libseccomp-dev (the grader's system-call filter)" test -f /usr/include/seccomp.h
fi
if [ "$for_whom" = instructor ]; then
    need "mypy (type check of the grader)" have_cmd mypy
fi

# The lecture deck's tool chain (instructors only: the handout carries the
# built deck): Node.js and npm run Marp and Mermaid, which drive Chromium;
# pdfinfo counts the PDF's pages. Only what is missing is installed, so a
# Node.js from elsewhere is left alone.
SLIDES_APT=""
have_chromium() { [ -n "${CHROME_PATH:-}" ] && [ -x "$CHROME_PATH" ] || have_cmd chromium || have_cmd chromium-browser; }
if [ "$for_whom" = instructor ]; then
    have_cmd node >/dev/null 2>&1 || SLIDES_APT="$SLIDES_APT nodejs"
    have_cmd npm >/dev/null 2>&1 || SLIDES_APT="$SLIDES_APT npm"
    have_chromium >/dev/null 2>&1 || SLIDES_APT="$SLIDES_APT chromium"
    have_cmd pdfinfo >/dev/null 2>&1 || SLIDES_APT="$SLIDES_APT poppler-utils"
    [ -z "$SLIDES_APT" ] || missing="$missing slides:$SLIDES_APT"
fi

# Optional, Debian only: the archive that lets Criterion be linked statically.
optional=""
if command -v apt-get >/dev/null 2>&1 &&
    ! [ -f "$(pkg-config --variable=libdir criterion 2>/dev/null)/libprotobuf-nanopb.a" ]; then
    optional=" libnanopb-dev"
fi
# Optional for instructors, Debian only: Slurm, for the grader's one-machine cluster test.
if [ "$for_whom" = instructor ] && command -v apt-get >/dev/null 2>&1 &&
    ! command -v slurmctld >/dev/null 2>&1 && ! [ -x /usr/sbin/slurmctld ]; then
    optional="$optional slurmctld slurmd slurm-client munge"
fi
# Optional for instructors, Debian only: Debian's Rust and its packaged crates, for the
# chat's test against Rust peers in the course's shape (tests/test_rust_peers.py, which
# says SKIPPED without them). Only the missing ones are installed.
if [ "${DEPS_FOR:-student}" = instructor ] && command -v dpkg >/dev/null 2>&1; then
    for p in rustc cargo librust-tokio-dev librust-serde-dev librust-serde-derive-dev \
        librust-serde-json-dev; do
        dpkg -s "$p" >/dev/null 2>&1 || optional="$optional $p"
    done
fi

if [ -z "$missing" ]; then
    if [ "$mode" = install ] && [ -n "$optional" ]; then
        if [ "$(id -u)" = 0 ]; then
            echo "deps: installing the optional$optional (faster test starts; the grader's Slurm test; the chat's Rust peer test)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $optional >/dev/null ||
                echo "deps: could not install$optional; the kit works without them." >&2
        else
            echo "deps: optional (faster test starts; the grader's Slurm test; the chat's Rust peer test): sudo apt-get install -y$optional"
        fi
    fi
    [ "$mode" = install ] && echo "deps: everything the kit needs is installed."
    exit 0
fi

print_commands() {
    echo "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y $APT_PACKAGES$SLIDES_APT"
    echo "  macOS:          brew install $BREW_PACKAGES"
    [ -z "$SLIDES_APT" ] || echo "  macOS, slides:  brew install node poppler; brew install --cask chromium (then set CHROME_PATH)"
}

if [ "$mode" = install ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps: installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq $APT_PACKAGES $SLIDES_APT >/dev/null || {
            echo "deps: apt-get failed; see its message above." >&2
            exit 1
        }
        [ -n "$optional" ] && { apt-get install -y -qq $optional >/dev/null ||
            echo "deps: could not install$optional; the kit works without them." >&2; }
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
