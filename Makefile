# Makefile - the kit's single entry point. Run `make help` for the targets.
#
# Every exercise declares itself in exercises/<name>/exercise.mk (its title,
# the files a student edits, the exercises it builds on, its points); make,
# the grader and the handout builder all read those declarations, so adding
# an exercise means adding a folder.
#
# Three parts, one concern each:
#   runtime/tools/config.mk   what this machine has; flags and folders
#   runtime/tools/build.mk    how the runtime, an exercise and its tests are built
#   this file                 the targets a student runs
# and, for instructors only, grader/instructor.mk (grading, the handout, the
# kit's own checks). The handout ships without grader/, so its `make help`
# lists only what a student can run.

# The chat's lab targets name their exercise themselves.
ifneq ($(filter run-server run-client,$(MAKECMDGOALS)),)
EX ?= chat
endif
include runtime/tools/config.mk
# The reference solutions stay with the instructor: the handout has none.
ifneq ($(SOLUTION),)
ifneq ($(EX),)
ifeq ($(wildcard solutions/$(EX)),)
$(error SOLUTION=1 runs the reference solution, and this copy of the kit has none (the handout \
  does not include them). Run the tests on your own files: make test EX=$(EX))
endif
endif
endif
include runtime/tools/build.mk

.PHONY: help deps check-deps ex-valid test build-test print-test-bin bench bench-runtime soak \
        bench-loop test-runtime build-runtime-tests print-runtime-test-bin hint status watch submit \
        test-kit run-server run-client \
        slides format format-check print-flags clean

help: ## list the targets
	@echo "Async channels in C - targets (EX is one of: $(EXERCISES))"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 26
	@echo "Options: EX=<exercise> $(if $(wildcard solutions),SOLUTION=1 )SAN=address|thread|undefined T=<test pattern> N=<runs> EXPLORE=<seed>"

deps: ## install what the kit needs (apt-get as root; else print the commands)
	@rm -f $(CONFIG_MK)
	@DEPS_FOR=$(DEPS_FOR) sh runtime/tools/deps.sh install

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

ifeq ($(EX),)
test: ## run the visible tests of EX (all exercises when EX is not given)
	+@$(PYTHON) runtime/tools/test_all.py $(EXERCISES) -- $(MAKE) $(if $(SOLUTION),SOLUTION=1) $(if $(SAN),SAN=$(SAN))
else
test: ex-valid $(TEST_BIN) $(EX_PROGRAM_BINS)
	@$(PYTHON) -S runtime/tools/run_tests.py --bin $(TEST_BIN) $(RUN_TESTS_FLAGS) \
	  --title "$(EX) ($(if $(SOLUTION),reference solution,$(SRC))$(if $(SAN), under $(SAN) sanitizer))" \
	  $(TEST_SRCS) -- $(CRITERION_FLAGS)
endif

# ---- the student's objects under test: leak count and schedule explorer ----
# The student's calls to malloc/free and to the pthread locks and condition
# variables are renamed in their test objects (not in the benchmark's) to
# the kit's counting allocator and schedule explorer: the list and why
# objcopy is in runtime/testing/kt_student.syms. Without objcopy the tests
# still run, without counting leaks. EXPLORE=<seed> runs the tests under
# the explorer; `make explore` walks seeds 1..N until one fails.
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

build-test: $(TEST_BIN) $(EX_PROGRAM_BINS)

print-test-bin:
	@echo $(TEST_BIN)

ifeq ($(EX),)
bench: ## print the throughput of EX's channel, beside a textbook queue timed in the same run
	@echo "make bench: name an exercise with EX=<name>; one of: $(EXERCISES)" >&2; exit 2
else
bench: ex-valid
	@$(MAKE) -s --no-print-directory $(BENCH_BIN)
	@$(BENCH_BIN) $(BENCH_ARGS)
endif

test-kit: ex-valid ## run the tests of EX's kit code (kit/tests/), if it has any
ifneq ($(KIT_TEST_OBJS),)
	@$(MAKE) -s --no-print-directory $(KIT_TEST_BIN)
	@echo "== $(EX) kit$(if $(SAN), under $(SAN) sanitizer)" && $(KIT_TEST_BIN) $(CRITERION_RUN_FLAGS)
else
	@echo "$(EX) has no kit tests"
endif

# ---- a chat lab: one server, clients in other terminals (or `nc 127.0.0.1 8000`) ----
run-server: ex-valid ## start the chat server of EX=chat: PORT=8000 (default)
	@$(MAKE) -s --no-print-directory $(EXB)/chat-server
	@exec $(EXB)/chat-server $(if $(PORT),--port $(PORT)) $(ARGS)

run-client: ex-valid ## start a chat client of EX=chat: NAME=you (else asked), PORT=8000
	@$(MAKE) -s --no-print-directory $(EXB)/chat-client
	@exec $(EXB)/chat-client $(if $(PORT),--port $(PORT)) $(if $(NAME),--user '$(NAME)') $(ARGS)

bench-loop: ## time the loop (touch a file of EX, default mpsc, rebuild, run its tests) and a cold build
	@$(PYTHON) runtime/tools/bench_loop.py $(EX) $(BENCH_ARGS)

build-runtime-tests: $(RT_TEST_BIN)

print-runtime-test-bin:
	@echo $(RT_TEST_BIN)

test-runtime: ## run the runtime's own tests (soak them with make soak EX=runtime)
	@$(MAKE) -s --no-print-directory $(RT_TEST_BIN)
	@$(PYTHON) runtime/tools/run_tests.py --bin $(RT_TEST_BIN) $(if $(T),--filter '$(T)') \
	  --title "runtime$(if $(SAN), under $(SAN) sanitizer)" $(wildcard runtime/tests/*.c) -- $(CRITERION_FLAGS)

bench-runtime: ## print the cost of spawn, wake, block_on and loopback I/O round trips
	@$(MAKE) -s --no-print-directory $(RT_BENCH_BIN) $(RT_IO_BENCH_BIN)
	@$(RT_BENCH_BIN) $(BENCH_ARGS)
	@$(RT_IO_BENCH_BIN) $(BENCH_ARGS)

soak: ## run EX's tests N times (default 1000), one shake seed per run
	+@$(PYTHON) runtime/tools/soak.py --runs $(or $(N),1000) $(if $(HIDDEN),--hidden) -- $(MAKE) $(if $(SOLUTION),SOLUTION=1) $(if $(SAN),SAN=$(SAN)) EX=$(EX)

hint: ex-valid ## show the next hint for EX, one at a time (N=<n>: hint n)
	@$(PYTHON) runtime/tools/hint.py $(EX) $(N)

status: ## a table of every exercise: stars, tests passing, what to do next
	+@$(PYTHON) runtime/tools/status.py -- $(MAKE)

watch: ex-valid ## rerun EX's tests each time you save its files (Ctrl-C stops)
	+@$(PYTHON) runtime/tools/watch.py $(EX) -- $(MAKE) $(if $(SAN),SAN=$(SAN)) $(if $(T),T=$(T))

submit: ## check your work and pack the files the grader takes: <STUDENT>.tar.gz
	+@$(PYTHON) runtime/tools/submit.py $(if $(STUDENT),--student '$(STUDENT)') -- $(MAKE)


# The lecture deck's rules live beside it; the handout carries the built deck instead.
-include slides/slides.mk
ifeq ($(wildcard slides/slides.mk),)
slides: ## say where the lecture deck is, HTML and PDF (built first where its sources are)
	@echo "slides: slides/index.html"; echo "slides: slides/slides.pdf"
endif

# The kit's C files: those git tracks in a git checkout of the kit, else (the
# handout, a release archive) those on disk. The sample class is students'
# code, kept as they would write it.
FORMAT_FILES = $(shell { $(if $(wildcard .git),git ls-files '*.c' '*.h' 2>/dev/null ||) \
                         find . -name '*.[ch]' ! -path './build/*' ! -path './dist/*' \
                           ! -path '*/node_modules/*'; } | \
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

# Build outputs only: a gradebook (grader/out/ by default) is never a build output.
clean: ## remove build outputs (grades are kept)
	rm -rf $(BUILD) dist

# The instructor's targets: not in the student handout.
-include grader/instructor.mk

# Header dependencies of the objects this invocation may build (not of every
# build ever made: a scratch source that is gone must not break the next run).
-include $(patsubst %.o,%.d,$(RT_OBJS) $(KT_OBJS) $(STUDENT_OBJS) $(STUDENT_BENCH_OBJS) \
           $(EXKIT_OBJS) $(TEST_OBJS) $(PROGRAM_MAIN_OBJS) \
           $(BENCH_OBJS) $(BENCH_DEP_OBJS) $(RT_TEST_OBJS) $(RT_BENCH_OBJS) $(KIT_TEST_OBJS))
