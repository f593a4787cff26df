# config.mk - what this machine has, and the flags and folders every build uses.
# Included by the top-level Makefile (which says what each part holds).

SHELL := /bin/bash
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
# Build outputs go under $(BUILD)/<variant>/: plain, address, thread or undefined.
BUILD ?= build
# What this machine has (job count, Criterion's flags, the linker), found by
# runtime/tools/config.sh once and kept in the build folder: each question
# asked here would cost a process on every `make test`. Not written while
# something is missing, so a later run asks again. Bump the version when
# config.sh changes what it writes.
CONFIG_MK := $(BUILD)/config-2.mk
write-config = $(shell mkdir -p $(BUILD) && sh runtime/tools/config.sh > $(CONFIG_MK).$$$$ \
                 && mv -f $(CONFIG_MK).$$$$ $(CONFIG_MK); rm -f $(CONFIG_MK).$$$$)
ifeq ($(wildcard $(CONFIG_MK)),)
CONFIG_WRITE := $(write-config)
endif
-include $(CONFIG_MK)
# The files it names must still exist (a package may have been removed since);
# else ask again. $(wildcard) costs no process.
CONFIG_PATHS := $(filter /%,$(CRITERION_LIBS))
ifneq ($(sort $(wildcard $(CONFIG_PATHS))),$(sort $(CONFIG_PATHS)))
CONFIG_FOUND :=
CONFIG_WRITE := $(shell rm -f $(CONFIG_MK))$(write-config)
-include $(CONFIG_MK)
endif
ifeq ($(CONFIG_FOUND),)
NPROC := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
CRITERION_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRITERION_LIBS := $(or $(shell pkg-config --libs criterion 2>/dev/null),-lcriterion)
LIB_CFLAGS_cjson := $(shell pkg-config --cflags libcjson 2>/dev/null)
LIB_LIBS_cjson := $(or $(shell pkg-config --libs libcjson 2>/dev/null),-lcjson)
endif
# Build in parallel unless the caller chose a job count (sub-makes inherit it).
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(NPROC)
endif
endif

EXERCISES := $(sort $(patsubst exercises/%/exercise.mk,%,$(wildcard exercises/*/exercise.mk)))
PYTHON ?= python3
# What `make deps` installs: a student's tools (the instructor part adds its own).
DEPS_FOR ?= student

# ---- compiler flags (one place: the grader asks `make -s print-flags`) ----
CC ?= cc
SANITIZERS := address thread undefined
SAN_FLAGS_address := -fsanitize=address -fno-omit-frame-pointer
SAN_FLAGS_thread := -fsanitize=thread
SAN_FLAGS_undefined := -fsanitize=undefined -fno-sanitize-recover=undefined
VARIANT := $(if $(SAN),$(SAN),plain)
# The kit's own files (the runtime, the exercises' kit files) at -O2; under a
# sanitizer at -O1, the level the sanitizers' documentation recommends: the
# checks see the same code, and a third less time goes to compiling it (which
# a fresh grading of a class spends most of its first 20 seconds on).
# Debug information: all of it for gdb. The grader, whose builds nobody steps
# through, asks for line tables only (DEBUG_FLAGS=-g1: sanitizer reports still
# name files and lines), which compiles a sixth faster.
DEBUG_FLAGS ?= -g
KIT_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(if $(WERROR),-Werror) \
              $(if $(SAN),-O1,-O2) $(DEBUG_FLAGS) -pthread $(SAN_FLAGS_$(SAN))
KIT_LDFLAGS := -pthread $(KIT_LINKER) $(SAN_FLAGS_$(SAN))
# Students' files are compiled at -Og, GCC's level for the edit-compile-debug
# loop: about 40% faster to compile than -O2, and gdb shows every variable.
# The grader compiles them the same way. Benchmarks use -O2 copies.
STUDENT_CFLAGS := $(filter-out -O1 -O2,$(KIT_CFLAGS)) -Og
# The tests (visible and hidden) likewise: they are the biggest files to compile
# (every assertion expands in place), their own code is never what a run waits
# for, and a student stepping through a failing test in gdb sees every variable.
TEST_CFLAGS := $(STUDENT_CFLAGS)

# The object folder of this variant (not OUT: that names the grader's output folder).
OBJ := $(BUILD)/$(VARIANT)
# What the objects depend on besides their sources: the flags above.
FLAGS_MK := runtime/tools/config.mk
