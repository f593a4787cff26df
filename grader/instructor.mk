# instructor.mk - the instructor's targets: grading, the handout, the kit's own checks.
# Included by the top-level Makefile when it is there; the student handout
# leaves grader/ out, and with it these targets.

.PHONY: play-student timeouts dist gradescope grade grade-slurm sample-class bench-grader check stubs stubs-check

# An instructor's `make deps` also installs the grader's tools (bubblewrap, binutils, mypy...).
DEPS_FOR := instructor
# Where `make grade` writes the gradebook (OUT=<dir> to choose another folder).
GRADE_OUT = $(or $(OUT),grader/out)
# The sample class is generated from the references, into the build folder.
SAMPLE_CLASS := $(BUILD)/samples/class

dist: ## build the student handout in dist/ (no solutions, no hidden tests)
	@$(PYTHON) -m grader.release.handout --out dist

sample-class: ## make the sample class from the references: build/samples/class
	@$(PYTHON) -m grader.samples.make_class --out $(SAMPLE_CLASS)

# Grading and checking install what is missing first (as root with apt-get; else
# they say what and how), so that a fresh machine needs no step before them.
# In the recipe, not as a prerequisite: make -j would run the two side by side.
grade: ## grade a class: SUBMISSIONS=<dir> (default: the sample class), OUT=<dir> (default grader/out)
	@DEPS_FOR=grader sh runtime/tools/deps.sh ensure
	@$(if $(SUBMISSIONS),,$(PYTHON) -m grader.samples.make_class --out $(SAMPLE_CLASS) && )\
	 $(PYTHON) -m grader $(or $(SUBMISSIONS),$(SAMPLE_CLASS)) --out $(GRADE_OUT) $(GRADE_ARGS)

# On a Slurm cluster's login node: the same grading as one job array (grader/README.md, Slurm).
# The output folder must be one every node sees.
grade-slurm: $(if $(SUBMISSIONS),,sample-class) ## grade a class as a Slurm job array: as grade, plus SLURM_ARGS="--partition P --array-size N --wait"
	@$(PYTHON) -m grader $(or $(SUBMISSIONS),$(SAMPLE_CLASS)) --out $(GRADE_OUT) --slurm $(SLURM_ARGS) $(GRADE_ARGS)

gradescope: ## build the Gradescope autograder bundle in dist/ (GRADESCOPE_HIDDEN=<visibility> of hidden tests)
	@$(PYTHON) -m grader --gradescope-bundle dist/gradescope-autograder.zip $(if $(GRADESCOPE_HIDDEN),--gradescope-hidden $(GRADESCOPE_HIDDEN))

bench-grader: ## students per minute: the sample class's mix scaled to 100, 200, 400 (BENCH_ARGS="--sizes 100 --slurm")
	@$(PYTHON) -m grader.grading.bench $(BENCH_ARGS)

check: ## the kit's full test (what CI runs)
	@DEPS_FOR=instructor sh runtime/tools/deps.sh ensure
	@$(PYTHON) runtime/tools/vocab_check.py && $(PYTHON) runtime/tools/header_examples.py && \
	 $(PYTHON) -m tests.check

stubs: ## regenerate exercises/*/ stubs from solutions/
	@$(PYTHON) -m grader.release.stubs write $(EXERCISES)

play-student: ## play the student on every broken variant, from the handout: first diagnosis and time of each
	@$(PYTHON) -m tests.play_student $(if $(EX),$(EX))

timeouts: ## fit the student-loop timeouts of the visible tests to the reference (exercises/*/tests/timeouts)
	@$(PYTHON) -m grader.release.timeouts write $(if $(EX),$(EX),$(EXERCISES))

stubs-check: ## fail when a committed stub is stale against its solution
	@$(PYTHON) -m grader.release.stubs check $(EXERCISES)
