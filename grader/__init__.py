"""The kit's instructor tools, one package.

    python3 -m grader ...                 grade a class (also: grader/grade, make grade)
    python3 -m grader.release.stubs       the student stubs, made from the solutions
    python3 -m grader.release.handout     the student handout (make dist)
    python3 -m grader.checks.broken       do the tests catch the broken variants?
    python3 -m grader.samples.make_class  the sample class, made from the references
    python3 -m grader.grading.bench       students graded per minute (make bench-grader)

Shared by all of them: `kit` (the exercise declarations), `markers` (the
solution markers of the references) and `bugs` (the one format of "the
reference with one mistake").
"""
