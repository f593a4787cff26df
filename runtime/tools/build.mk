# build.mk - how the runtime, an exercise (named by EX=) and its tests are built.
# Included by the top-level Makefile, after config.mk.

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
RT_OBJS := $(RT_SRCS:%.c=$(OBJ)/%.o)
KT_OBJS := $(KT_SRCS:%.c=$(OBJ)/%.o)
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
EXB := $(OBJ)/$(EX)/$(TAG)
# Exercises this one builds on: their student files come from their solution
# when grading or testing the solution (REF_DEPS=1), else from the student.
DEP_ROOT := $(if $(SOLUTION)$(REF_DEPS),solutions,exercises)
dep_srcs = $(foreach d,$(1),$(addprefix $(DEP_ROOT)/$(d)/,$(call ex_field,$(d),EX_STUDENT_FILES)) \
             $(addprefix exercises/$(d)/,$(call ex_field,$(d),EX_KIT_FILES)))
DEP_SRCS := $(call dep_srcs,$(EX_DEPENDS))
# Exercises only the benchmark uses (oneshot's bench sends requests on an mpsc).
BENCH_DEP_SRCS := $(call dep_srcs,$(filter-out $(EX_DEPENDS),$(EX_BENCH_DEPENDS)))
BENCH_DEP_OBJS := $(BENCH_DEP_SRCS:%.c=$(OBJ)/%.o)
STUDENT_OBJS := $(EX_STUDENT_FILES:%.c=$(EXB)/%.o)
STUDENT_BENCH_OBJS := $(EX_STUDENT_FILES:%.c=$(EXB)/O2/%.o)
EXKIT_OBJS := $(addprefix $(OBJ)/$(EX_DIR)/,$(EX_KIT_FILES:%.c=%.o)) $(DEP_SRCS:%.c=$(OBJ)/%.o)
TEST_SRCS := $(wildcard $(EX_DIR)/tests/*.c) $(if $(HIDDEN),$(wildcard grader/hidden/$(EX)/*.c))
TEST_OBJS := $(TEST_SRCS:%.c=$(OBJ)/%.o)
$(TEST_OBJS): KIT_CFLAGS := $(TEST_CFLAGS)
TEST_BIN := $(EXB)/test_$(EX)$(if $(HIDDEN),_with_hidden)
BENCH_BIN := $(EXB)/bench_$(EX)
INCLUDES += -I$(EX_DIR) -I$(EX_DIR)/kit \
            $(foreach d,$(EX_DEPENDS) $(EX_BENCH_DEPENDS),-Iexercises/$(d) -Iexercises/$(d)/kit)
# Libraries the exercise declares (EX_LIBS = cjson): flags found by config.sh.
INCLUDES += $(foreach l,$(EX_LIBS),$(LIB_CFLAGS_$(l)))
KIT_LDFLAGS += $(foreach l,$(EX_LIBS),$(LIB_LIBS_$(l)))
endif

CRITERION_RUN_FLAGS := --short-filename $(if $(T),--filter='*/*$(T)*') $(CRITERION_FLAGS)
# How `make test` runs an exercise's tests (runtime/tools/run_tests.py). In the
# student's loop (their own files, no sanitizer, visible tests only) each test
# gets the timeout fitted to the reference (exercises/<ex>/tests/timeouts).
STUDENT_LOOP := $(if $(SOLUTION)$(SAN)$(HIDDEN),,1)
RUN_TESTS_FLAGS = --work $(TEST_BIN).out $(if $(T),--filter '$(T)') $(if $(SUMMARY),--summary '$(SUMMARY)') \
                  $(if $(STUDENT_LOOP),--timeouts $(EX_DIR)/tests/timeouts)

# ---- compiling ----
# One short line per file; V=1 shows the whole compiler command.
# Under -s (scripts that read make's output) nothing is printed at all.
SILENT := $(findstring s,$(firstword -$(MAKEFLAGS)))
QUIET_CC = $(if $(V),,@$(if $(SILENT),,echo "  CC    $<";))
QUIET_LD = $(if $(V),,@$(if $(SILENT),,echo "  LINK  $@";))

$(OBJ)/%.o: %.c $(FLAGS_MK) | check-deps
	$(QUIET_CC)mkdir -p $(@D) && $(CC) $(KIT_CFLAGS) $(INCLUDES) $(CRITERION_CFLAGS) -MMD -MP -c $< -o $@

ifneq ($(EXB),)
$(EXB)/%.o: $(SRC)/%.c $(FLAGS_MK) | check-deps
	$(QUIET_CC)mkdir -p $(@D) && $(CC) $(STUDENT_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@ $(KT_RENAME)

# The student's test objects get the kit's allocator and lock detours
# (runtime/testing/kt_student.syms says which and why objcopy).
OBJCOPY ?= objcopy
KT_SYMS := runtime/testing/kt_student.syms
KT_RENAME = && if command -v $(OBJCOPY) >/dev/null; then $(OBJCOPY) --redefine-syms=$(KT_SYMS) $@; \
            else echo "  (no $(OBJCOPY): the tests cannot count your code's allocations)" >&2; fi
$(STUDENT_OBJS): $(KT_SYMS)

$(EXB)/O2/%.o: $(SRC)/%.c $(FLAGS_MK) | check-deps
	$(QUIET_CC)mkdir -p $(@D) && $(CC) $(KIT_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

# Kit files that allocate for the student's channel (EX_COUNTED_KIT_FILES: the
# mpsc queue's slots) are linked into the tests as a renamed copy, so their
# blocks count as the student's: a channel that never frees its queue leaks
# in the count of the default loop, not only under SAN=address.
COUNTED_KIT_OBJS := $(addprefix $(OBJ)/$(EX_DIR)/counted/,$(EX_COUNTED_KIT_FILES:%.c=%.o))
TEST_EXKIT_OBJS := $(filter-out $(addprefix $(OBJ)/$(EX_DIR)/,$(EX_COUNTED_KIT_FILES:%.c=%.o)),\
                     $(EXKIT_OBJS)) $(COUNTED_KIT_OBJS)
$(COUNTED_KIT_OBJS): $(OBJ)/$(EX_DIR)/counted/%.o: $(OBJ)/$(EX_DIR)/%.o $(KT_SYMS)
	$(QUIET_CC)mkdir -p $(@D) && cp $< $@ $(KT_RENAME)

$(TEST_BIN): $(TEST_OBJS) $(STUDENT_OBJS) $(TEST_EXKIT_OBJS) $(RT_OBJS) $(KT_OBJS)
	$(QUIET_LD)$(CC) $^ -o $@ $(KIT_LDFLAGS) $(CRITERION_LIBS)

# The exercise's programs (EX_PROGRAMS = name:kit/main.c ...): the kit's
# main linked with the student's files, next to the test binary, where the
# process-level tests look for them.
ex_program_name = $(firstword $(subst :, ,$(1)))
ex_program_main = $(lastword $(subst :, ,$(1)))
EX_PROGRAM_BINS := $(foreach p,$(EX_PROGRAMS),$(EXB)/$(call ex_program_name,$(p)))
define ex_program_rule
$(EXB)/$(call ex_program_name,$(1)): $(OBJ)/$(EX_DIR)/$(patsubst %.c,%.o,$(call ex_program_main,$(1))) \
    $(STUDENT_OBJS) $(EXKIT_OBJS) $(RT_OBJS) $(PROGRAM_KT_OBJS)
	$$(QUIET_LD)$$(CC) $$^ -o $$@ $$(KIT_LDFLAGS)
endef
# The student's objects call the kit's allocation count and explorer (their
# malloc and locks are renamed, as in the tests); a program needs those, and
# nothing of Criterion (whose start-up in a child of a test would abort).
PROGRAM_KT_OBJS := $(filter %/kt_alloc.o %/kt_explore.o %/kt_symbols.o %/kt_gate.o %/kt_latch.o,$(KT_OBJS))
$(foreach p,$(EX_PROGRAMS),$(eval $(call ex_program_rule,$(p))))
PROGRAM_MAIN_OBJS := $(foreach p,$(EX_PROGRAMS),$(OBJ)/$(EX_DIR)/$(patsubst %.c,%.o,$(call ex_program_main,$(p))))

# The kit's own code in an exercise (the chat's message codec) has tests of
# its own in kit/tests/. They test no student file, so they are not graded:
# `make check` runs them. The kit's objects go through an archive, so that
# a test links only what it uses (not, say, a main() that needs the student).
KIT_TEST_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(EX_DIR)/kit/tests/*.c))
KIT_TEST_BIN := $(OBJ)/$(EX)/test_$(EX)_kit
KIT_ARCHIVE := $(OBJ)/$(EX)/libkit_$(EX).a
$(KIT_ARCHIVE): $(addprefix $(OBJ)/$(EX_DIR)/,$(EX_KIT_FILES:%.c=%.o))
	$(QUIET_LD)mkdir -p $(@D) && rm -f $@ && ar rcs $@ $^
$(KIT_TEST_BIN): $(KIT_TEST_OBJS) $(KIT_ARCHIVE) $(RT_OBJS) $(KT_OBJS)
	$(QUIET_LD)$(CC) $^ -o $@ $(KIT_LDFLAGS) $(CRITERION_LIBS)

BENCH_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(EX_DIR)/kit/bench/*.c))
$(BENCH_BIN): $(BENCH_OBJS) $(STUDENT_BENCH_OBJS) $(EXKIT_OBJS) $(BENCH_DEP_OBJS) $(RT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS)
endif

RT_BENCH_BIN := $(OBJ)/runtime/bench_runtime
RT_BENCH_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(filter-out %/bench_io.c,$(wildcard runtime/bench/*.c)))
$(RT_BENCH_BIN): $(RT_BENCH_OBJS) $(RT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS)
# The loopback I/O figures are a program of their own (bench_io.c has its main).
RT_IO_BENCH_BIN := $(OBJ)/runtime/bench_io
$(RT_IO_BENCH_BIN): $(OBJ)/runtime/bench/bench_io.o $(RT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS)

# The runtime's own tests (the kit's, not in the handout: their sources are not there).
RT_TEST_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard runtime/tests/*.c))
RT_TEST_BIN := $(OBJ)/runtime/test_runtime
$(RT_TEST_BIN): $(RT_TEST_OBJS) $(RT_OBJS) $(KT_OBJS)
	$(CC) $^ -o $@ $(KIT_LDFLAGS) $(CRITERION_LIBS)
