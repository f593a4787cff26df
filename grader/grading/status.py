"""status.py - the words a result is made of: a test's status and an exercise's.

They are strings because results are JSON (cached, and read by reports and
by other tools); every module names them by these constants, never by the
literal, so a misspelt status is an error mypy and Python both catch.
"""

from typing import Any, Dict

# What one test did.
PASS = "pass"
FAIL = "fail"
CRASH = "crash"
TIMEOUT = "timeout"
FLAKY = "flaky"  # failed, then passed when run again (graded as failed unless --flaky-pass)
NOT_RUN = "not run"  # the exercise stopped before its tests ran
TEST_STATUSES = (PASS, FAIL, CRASH, TIMEOUT, FLAKY, NOT_RUN)

# What happened to one exercise of one student.
GRADED = "graded"  # its tests ran; their statuses say the rest
MISSING = "missing"  # the submission has no copy of a file the exercise declares
COMPILE_ERROR = "compile error"
REJECTED = "rejected"  # the object check refused it (policy.py)
LINK_ERROR = "link error"
GRADER_ERROR = "grader error"  # the grader's fault, not the student's: never cached
EXERCISE_STATUSES = (GRADED, MISSING, COMPILE_ERROR, REJECTED, LINK_ERROR, GRADER_ERROR)

# A result as the reports read it: JSON-shaped, as cached.
TestResult = Dict[str, Any]
ExerciseResult = Dict[str, Any]
StudentResult = Dict[str, Any]
