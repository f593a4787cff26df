"""core.py - grade one student's submission, exercise by exercise.

Each exercise is graded on its own: only the files it declares are taken
from the submission, everything else comes from the kit, and the exercises
it depends on are linked from their reference solutions (kitbuild.py), so
one broken exercise cannot sink another.
"""

import os
import shutil
from typing import TYPE_CHECKING, Iterable, List, Optional

from . import build as B
from . import cache as C
from . import runner
from . import status as ST
from . import submissions as S
from .kitbuild import KitExercise
from .status import ExerciseResult, StudentResult, TestResult
from .testlist import TestInfo

if TYPE_CHECKING:  # cli imports this module; the type is only named here
    from .cli import Context


def exercise_result(kx: KitExercise, status: str, messages: Iterable[str] = (),
                    tests: Iterable[TestResult] = ()) -> ExerciseResult:
    return {"exercise": kx.name, "title": kx.decl.title, "status": status,
            "messages": list(messages), "tests": list(tests)}


def score(result: ExerciseResult, kx: KitExercise, flaky_pass: bool = False) -> ExerciseResult:
    """Adds score, max and bonus to an exercise result from the declaration's points."""
    earned = bonus = maximum = 0.0
    by_id = {t["id"]: t for t in result["tests"]}
    for test in kx.tests:
        points = kx.decl.test_points(test.id)
        is_bonus = kx.decl.is_bonus(test.id)
        if not is_bonus:
            maximum += points
        t = by_id.get(test.id)
        passed = t is not None and (t["status"] == ST.PASS or (flaky_pass and t["status"] == ST.FLAKY))
        if t is not None:
            t["points"] = points if passed else 0.0
            t["points_possible"] = points
            t["bonus"] = is_bonus
        if passed:
            if is_bonus:
                bonus += points
            else:
                earned += points
    result.update(score=earned, bonus=bonus, max=maximum, total=earned + bonus)
    return result


def grade_exercise(ctx: "Context", kx: KitExercise, files: dict[str, bytes], workdir: str,
                   slot: int) -> ExerciseResult:
    """Builds and runs one exercise for one student: the cacheable part of a result."""
    b = B.build(kx, files, workdir, ctx.sandbox, ctx.taken[kx.name], slot, ctx.allowlists[kx.name])
    if not b.ok:
        status = {"compile": ST.COMPILE_ERROR, "check": ST.REJECTED, "link": ST.LINK_ERROR}[b.stage]
        return exercise_result(kx, status, b.messages, [_test_entry(t, ST.NOT_RUN, "") for t in kx.tests])
    tests: List[TestResult] = []
    scratch = os.path.join(workdir, "scratch")
    passes, failed = runner.run_batch(b.binary, kx.tests, scratch, ctx.sandbox, ctx.limits, slot, ctx.seed)
    for t in kx.tests:
        if t.id in passes:
            tests.append(_test_entry(t, ST.PASS, ""))
            tests[-1].update(attempts=1)
            continue
        if t.id in failed and ctx.reruns == 0:
            # No reruns asked for: the full run's failure is the verdict.
            criterion_status, message = failed[t.id]
            tests.append(_test_entry(t, ST.FAIL if criterion_status == "FAILED" else ST.CRASH, message))
            tests[-1].update(attempts=1)
            continue
        run = runner.run_test(b.binary, t, scratch, ctx.sandbox, ctx.limits,
                              slot, ctx.reruns, ctx.seed, t.id in failed)
        entry = _test_entry(t, run.status, run.message)
        entry.update(diagnosis=run.diagnosis, attempts=run.attempts)
        tests.append(entry)
    return exercise_result(kx, ST.GRADED, [], tests)


def _test_entry(t: TestInfo, status: str, message: str) -> TestResult:
    return {"id": t.id, "description": t.description, "hidden": t.hidden, "status": status,
            "message": message, "diagnosis": "", "attempts": 0}


def grade_student(ctx: "Context", name: str, path: str, slot: int) -> StudentResult:
    """{name, exercises: [...], total, max, notes} for one submission; never raises for bad input."""
    student: StudentResult = {"student": name, "notes": [], "exercises": []}
    sub: Optional[S.Submission]
    try:
        sub = S.load(name, path)
        student["notes"] += sub.notes
    except S.SubmissionError as e:
        sub = None
        student["notes"].append(str(e))
    workroot = os.path.join(ctx.workspace, "students", f"{slot}")
    for ex_name in ctx.exercises:
        kx = ctx.kit[ex_name]
        files: dict[str, bytes] = {}
        found_paths: List[str] = []
        missing: List[str] = []
        for filename in kx.decl.student_files:
            rel, data = S.find_student_file(sub, ex_name, filename) if sub else (None, None)
            if rel is None or data is None:
                missing.append(filename)
            else:
                files[filename] = data
                found_paths.append(rel)
        notes: List[str] = []
        if sub:
            ignored = [p for p in S.ignored_kit_files(sub, ctx.root, ex_name)
                       if not any(p.endswith(f"exercises/{ex_name}/{f}") for f in files)]
            if ignored:
                notes.append("the kit's own copies were used instead of your changed "
                             + ", ".join(f"`{p}`" for p in ignored))
        if missing:
            result = exercise_result(kx, ST.MISSING, [
                "no " + ", ".join(f"`exercises/{ex_name}/{f}`" for f in missing)
                + " found in the submission"], [_test_entry(t, ST.NOT_RUN, "") for t in kx.tests])
        else:
            k = C.key(ctx.fingerprints[ex_name], files, ctx.cache_options)
            cached = ctx.cache.get(k) if ctx.use_cache else None
            if cached is not None:
                result = cached
            else:
                workdir = os.path.join(workroot, ex_name)
                shutil.rmtree(workdir, ignore_errors=True)
                os.makedirs(workdir)
                try:
                    result = grade_exercise(ctx, kx, files, workdir, slot)
                except Exception as e:  # the grader's own fault: say so, keep grading the class
                    result = exercise_result(kx, ST.GRADER_ERROR, [f"{type(e).__name__}: {e}"],
                                             [_test_entry(t, ST.NOT_RUN, "") for t in kx.tests])
                else:
                    ctx.cache.put(k, result)
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
        result = dict(result)
        result["tests"] = [dict(t) for t in result["tests"]]
        result["notes"] = notes
        result["files"] = found_paths
        score(result, kx, ctx.flaky_pass)
        student["exercises"].append(result)
    student["total"] = sum(e["total"] for e in student["exercises"])
    student["max"] = sum(e["max"] for e in student["exercises"])
    return student
