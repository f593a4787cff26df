# Makefile - the kit's single entry point. Run `make help` for the targets.
#
# Every exercise declares itself in exercises/<name>/exercise.mk (its title,
# the files a student edits, the exercises it builds on, its points); this
# file, the grader and the handout builder all read those declarations, so
# adding an exercise means adding a folder.

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
CONFIG_MK := $(BUILD)/config-1.mk
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
endif
# Build in parallel unless the caller chose a job count (sub-makes inherit it).
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(NPROC)
endif
endif

EXERCISES := $(sort $(patsubst exercises/%/exercise.mk,%,$(wildcard exercises/*/exercise.mk)))
PYTHON ?= python3

# ---- compiler flags (one place: the grader asks `make -s print-flags`) ----
CC ?= cc
SANITIZERS := address thread undefined
SAN_FLAGS_address := -fsanitize=address -fno-omit-frame-pointer
SAN_FLAGS_thread := -fsanitize=thread
SAN_FLAGS_undefined := -fsanitize=undefined -fno-sanitize-recover=undefined
VARIANT := $(if $(SAN),$(SAN),plain)
KIT_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(if $(WERROR),-Werror) \
              -O2 -g -pthread $(SAN_FLAGS_$(SAN))
KIT_LDFLAGS := -pthread $(KIT_LINKER) $(SAN_FLAGS_$(SAN))
# Students' files are compiled at -Og, GCC's level for the edit-compile-debug
# loop: about 40% faster to compile than -O2, and gdb shows every variable.
# The grader compiles them the same way. Benchmarks use -O2 copies.
STUDENT_CFLAGS := $(filter-out -O2,$(KIT_CFLAGS)) -Og

OUT := $(BUILD)/$(VARIANT)
RT_SRCS := $(wildcard runtime/rt_*.c)
KT_SRCS := $(filter-out runtime/testing/kt_mini_runner.c,$(wildcard runtime/testing/kt_*.c))
# Criterion cannot start under ThreadSanitizer (its shared arena wants the
# address range TSan's shadow memory takes), so SAN=thread builds the same
# tests against the kit's small stand-in: runtime/testing/mini/.
ifeq ($(SAN),thread)
CRITERION_CFLAGS := -Iruntime/testing/mini
CRITERION_LIBS :=
KT_SRCS += runtime/testing/kt_mini_runner.c
endif
RT_OBJS := $(RT_SRCS:%.c=$(OUT)/%.o)
KT_OBJS := $(KT_SRCS:%.c=$(OUT)/%.o)
INCLUDES := -Iruntime -Iruntime/testing

# ---- the exercise named by EX= ----
# ex_field(exercise, FIELD): one field of an exercise's declaration.
ex_field = $(shell sed -n 's/^$(2)[[:space:]]*=[[:space:]]*//p' exercises/$(1)/exercise.mk)

# Only a known exercise with a known sanitizer (or none) gets build rules.
SAN_OK := $(if $(SAN),$(filter $(SAN),$(SANITIZERS)),plain)
ifneq ($(and $(filter $(EX),$(EXERCISES)),$(SAN_OK)),)
EX_DIR := exercises/$(EX)
include $(EX_DIR)/exercise.mk
# Student files come from the exercise (the student's work), from the
# solution (SOLUTION=1), or from any folder (SRC=dir, used by the grader and
# the broken-variant check).
SRC ?= $(if $(SOLUTION),solutions/$(EX),$(EX_DIR))
TAG ?= $(if $(SOLUTION),solution,student)
EXB := $(OUT)/$(EX)/$(TAG)
# Exercises this one builds on: their student files come from their solution
# when grading or testing the solution (REF_DEPS=1), else from the student.
DEP_ROOT := $(if $(SOLUTION)$(REF_DEPS),solutions,exercises)
dep_srcs = $(foreach d,$(1),$(addprefix $(DEP_ROOT)/$(d)/,$(call ex_field,$(d),EX_STUDENT_FILES)) \
             $(addprefix exercises/$(d)/,$(call ex_field,$(d),EX_KIT_FILES)))
DEP_SRCS := $(call dep_srcs,$(EX_DEPENDS))
# Exercises only the benchmark uses (oneshot's bench sends requests on an mpsc).
BENCH_DEP_SRCS := $(call dep_srcs,$(filter-out $(EX_DEPENDS),$(EX_BENCH_DEPENDS)))
BENCH_DEP_OBJS := $(BENCH_DEP_SRCS:%.c=$(OUT)/%.o)
STUDENT_OBJS := $(EX_STUDENT_FILES:%.c=$(EXB)/%.o)
STUDENT_BENCH_OBJS := $(EX_STUDENT_FILES:%.c=$(EXB)/O2/%.o)
EXKIT_OBJS := $(addprefix $(OUT)/$(EX_DIR)/,$(EX_KIT_FILES:%.c=%.o)) $(DEP_SRCS:%.c=$(OUT)/%.o)
TEST_SRCS := $(wildcard $(EX_DIR)/tests/*.c) $(if $(HIDDEN),$(wildcard grader/hidden/$(EX)/*.c))
TEST_OBJS := $(TEST_SRCS:%.c=$(OUT)/%.o)
TEST_BIN := $(EXB)/test_$(EX)$(if $(HIDDEN),_with_hidden)
BENCH_BIN := $(EXB)/bench_$(EX)
INCLUDES += -I$(EX_DIR) -I$(EX_DIR)/kit \
            $(foreach d,$(EX_DEPENDS) $(EX_BENCH_DEPENDS),-Iexercises/$(d) -Iexercises/$(d)/kit)
endif

CRITERION_RUN_FLAGS := --short-filename $(if $(T),--filter='*/*$(T)*') $(CRITERION_FLAGS)

.PHONY: help deps check-deps test check stubs stubs-check soak bench bench-runtime \
        test-runtime build-test dist slides grade gradescope bench-grader clean print-flags \
        bench-loop format format-check ex-valid print-test-bin build-runtime-tests print-runtime-test-bin

help: ## list the targets
	@echo "Async channels in C - targets (EX is one of: $(EXERCISES))"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 26
	@echo "Options: EX=<exercise> SOLUTION=1 SAN=address|thread|undefined T=<test pattern> N=<runs> EXPLORE=<seed>"

deps: ## install what the kit needs (apt-get as root; else print the commands)
	@rm -f $(CONFIG_MK)
	@DEPS_FOR=instructor sh runtime/tools/deps.sh install

# Once config.sh has written its file, everything was there: no need to ask again.
check-deps:
ifeq ($(CONFIG_FOUND),)
	@sh runtime/tools/deps.sh check
endif

ex-valid:
ifeq ($(EX),)
	@echo "make: name an exercise with EX=<name>; one of: $(EXERCISES)" >&2; exit 2
else ifeq ($(filter $(EX),$(EXERCISES)),)
	@echo "make: there is no exercise '$(EX)'. Valid names: $(EXERCISES)" >&2; exit 2
endif
ifneq ($(SAN),)
ifeq ($(filter $(SAN),$(SANITIZERS)),)
	@echo "make: SAN=$(SAN) is not a sanitizer here; use one of: $(SANITIZERS)" >&2; exit 2
endif
endif

# ---- compiling ----
# One short line per file; V=1 shows the whole compiler command.
# Under -s (scripts that read make's output) nothing is printed at all.
SILENT := $(findstring s,$(firstword -$(MAKEFLAGS)))
QUIET_CC = $(if $(V),,@$(if $(SILENT),,echo "  CC    $<";))
QUIET_LD = $(if $(V),,@$(if $(SILENT),,echo "  LINK  $@";))

$(OUT)/%.o: %.c Makefile | check-deps
	$(QUIET_CC)mkdir -p $(@D) && $(CC) $(KIT_CFLAGS) $(INCLUDES) $(CRITERION_CFLAGS) -MMD -MP -c $< -o $@

ifneq ($(EXB),)
$(EXB)/%.o: $(SRC)/%.c Makefile | check-deps
	$(QUIET_CC)mkdir -p $(@D) && $(CC) $(STUDENT_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@ $(KT_RENAME)

$(EXB)/O2/%.o: $(SRC)/%.c Makefile | check-deps
	$(QUIET_CC)mkdir -p $(@D) && $(CC) $(KIT_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(TEST_BIN): $(TEST_OBJS) $(STUDENT_OBJS) $(EXKIT_OBJS) $(RT_OBJS) $(KT_OBJS)
	$(QUIET_LD)$(CC) $^ -o $@ $(KIT_LDFLAGS) $(CRITERION_LIBS)
endif



# ---- students ----
ifeq ($(EX),)
test: ## run the visible tests of EX (all exercises when EX is not given)
	+@$(PYTHON) runtime/tools/test_all.py $(EXERCISES) -- $(MAKE) $(if $(SOLUTION),SOLUTION=1) $(if $(SAN),SAN=$(SAN))
else
test: ex-valid $(TEST_BIN)
	@echo "== $(EX) ($(if $(SOLUTION),reference solution,$(SRC))$(if $(SAN), under $(SAN) sanitizer))"; \
	 $(TEST_BIN) $(CRITERION_RUN_FLAGS)
endif

# ---- the student's objects under test: leak count and schedule explorer ----
# The student's calls to malloc/free and to the pthread locks and condition
# variables are renamed in their test objects (not in the benchmark's) to
# the kit's counting allocator and schedule explorer: the list and why
# objcopy is in runtime/testing/kt_student.syms. Without objcopy the tests
# still run, without counting leaks. EXPLORE=<seed> runs the tests under
# the explorer; `make explore` walks seeds 1..N until one fails.
OBJCOPY ?= objcopy
KT_SYMS := runtime/testing/kt_student.syms
KT_RENAME = && if command -v $(OBJCOPY) >/dev/null; then $(OBJCOPY) --redefine-syms=$(KT_SYMS) $@; \
            else echo "  (no $(OBJCOPY): the tests cannot count your code's allocations)" >&2; fi
$(STUDENT_OBJS): $(KT_SYMS)
ifneq ($(EXPLORE),)
# What is left of EXPLORE with its digits taken out: anything means it is not a seed.
not_digits := $(EXPLORE)
$(foreach d,0 1 2 3 4 5 6 7 8 9,$(eval not_digits := $$(subst $(d),,$$(not_digits))))
ifneq ($(strip $(not_digits)),)
$(error EXPLORE=$(EXPLORE) is not a seed: give a whole number, e.g. EXPLORE=17 (0: off))
endif
export KT_EXPLORE := $(EXPLORE)
endif
.PHONY: explore
explore: ex-valid ## run EX's tests under explorer seeds 1..N (default 200) until one fails
	+@$(PYTHON) runtime/tools/explore.py --seeds $(or $(N),200) $(if $(HIDDEN),--hidden) \
	  -- $(MAKE) $(if $(SOLUTION),SOLUTION=1) $(if $(SAN),SAN=$(SAN)) EX=$(EX) $(if $(T),T=$(T))

build-test: $(TEST_BIN)

print-test-bin:
	@echo $(TEST_BIN)

ifneq ($(EXB),)
BENCH_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard $(EX_DIR)/kit/bench/*.c))
$(BENCH_BIN): $(BENCH_OBJS) $(STUDENT_BENCH_OBJS) $(EXKIT_OBJS) $(BENCH_DEP_OBJS) $(RT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS)
endif

ifeq ($(EX),)
bench: ## print the throughput of EX's channel (the student's, or SOLUTION=1)
	@echo "make bench: name an exercise with EX=<name>; one of: $(EXERCISES)" >&2; exit 2
else
bench: ex-valid
	@$(MAKE) -s --no-print-directory $(BENCH_BIN)
	@$(BENCH_BIN) $(BENCH_ARGS)
endif

RT_BENCH_BIN := $(OUT)/runtime/bench_runtime
RT_BENCH_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard runtime/bench/*.c))
$(RT_BENCH_BIN): $(RT_BENCH_OBJS) $(RT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS)

bench-runtime: ## print the cost of spawn, wake and block_on round trips
	@$(MAKE) -s --no-print-directory $(RT_BENCH_BIN)
	@$(RT_BENCH_BIN) $(BENCH_ARGS)

bench-loop: ## time the student's loop (edit one file, rebuild, run the tests) and a cold build
	@$(PYTHON) runtime/tools/bench_loop.py $(EX) $(BENCH_ARGS)

# ---- instructors ----
# Targets that need instructor material say so in the student handout.
instructor-only = @test -d grader || { echo "make $@: this target is for instructors; the handout does not include it." >&2; exit 2; }

dist: ## build the student handout in dist/ (no solutions, no hidden tests)
	$(instructor-only)
	@$(PYTHON) grader/handout.py --out dist

slides: ## build the lecture deck: build/slides/index.html
	@$(PYTHON) slides/build.py --out build/slides

grade: ## grade a class: SUBMISSIONS=<dir> (default: the sample class), OUT=<dir>
	$(instructor-only)
	@$(PYTHON) grader/grade $(or $(SUBMISSIONS),grader/samples/class) --out $(or $(OUT),grader/out) $(GRADE_ARGS)

gradescope: ## build the Gradescope autograder bundle in dist/
	$(instructor-only)
	@$(PYTHON) grader/grade --gradescope-bundle dist/gradescope-autograder.zip

bench-grader: ## grade a generated class of 100 students and print students per minute
	$(instructor-only)
	@$(PYTHON) grader/bench_grader.py $(BENCH_ARGS)

soak: ## run EX's tests (or the runtime's: EX=runtime) N times (default 1000), one shake seed per run
	+@$(PYTHON) runtime/tools/soak.py --runs $(or $(N),1000) $(if $(HIDDEN),--hidden) -- $(MAKE) $(if $(SOLUTION),SOLUTION=1) $(if $(SAN),SAN=$(SAN)) EX=$(EX)

RT_TEST_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard runtime/tests/*.c))
RT_TEST_BIN := $(OUT)/runtime/test_runtime
$(RT_TEST_BIN): $(RT_TEST_OBJS) $(RT_OBJS) $(KT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS) $(CRITERION_LIBS)

build-runtime-tests: $(RT_TEST_BIN)

print-runtime-test-bin:
	@echo $(RT_TEST_BIN)

test-runtime: ## run the runtime's own tests
	@$(MAKE) -s --no-print-directory $(RT_TEST_BIN)
	@echo "== runtime$(if $(SAN), under $(SAN) sanitizer)"
	@$(RT_TEST_BIN) $(CRITERION_RUN_FLAGS)

# ---- the kit's own checks ----
check: ## the kit's full test (what CI runs)
	$(instructor-only)
	@$(PYTHON) runtime/tools/vocab_check.py && $(PYTHON) runtime/tools/header_examples.py && \
	 $(PYTHON) tests/check.py

stubs: ## regenerate exercises/*/ stubs from solutions/
	$(instructor-only)
	@$(PYTHON) grader/stubgen.py write $(EXERCISES)

stubs-check: ## fail when a committed stub is stale against its solution
	$(instructor-only)
	@$(PYTHON) grader/stubgen.py check $(EXERCISES)

# The kit's C files: those git tracks, or (in the handout, not a git
# checkout) those on disk. The sample class is students' code, kept as they
# would write it.
FORMAT_FILES = $(shell { git ls-files '*.c' '*.h' 2>/dev/null || \
                         find . -name '*.[ch]' ! -path './build/*' ! -path './dist/*'; } | \
                       sed 's|^\./||' | grep -v '^grader/samples/')

format: ## reformat the kit's C sources with .clang-format
	@clang-format -i $(FORMAT_FILES)

format-check: ## fail when a C source is not formatted as .clang-format says
	@clang-format --dry-run --Werror $(FORMAT_FILES)

print-flags:
	@echo "CC=$(CC)"
	@echo "CFLAGS=$(KIT_CFLAGS) $(INCLUDES)"
	@echo "STUDENT_CFLAGS=$(STUDENT_CFLAGS) $(INCLUDES)"
	@echo "LDFLAGS=$(KIT_LDFLAGS) $(CRITERION_LIBS)"

clean: ## remove build outputs
	rm -rf build dist grader/out

# Header dependencies of the objects this invocation may build (not of every
# build ever made: a scratch source that is gone must not break the next run).
-include $(patsubst %.o,%.d,$(RT_OBJS) $(KT_OBJS) $(STUDENT_OBJS) $(STUDENT_BENCH_OBJS) \
           $(EXKIT_OBJS) $(TEST_OBJS) \
           $(BENCH_OBJS) $(BENCH_DEP_OBJS) $(RT_TEST_OBJS) $(RT_BENCH_OBJS))
