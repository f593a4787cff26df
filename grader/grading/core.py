"""core.py - grade one student's submission, exercise by exercise.

Each exercise is graded on its own: only the files it declares are taken
from the submission, everything else comes from the kit, and the exercises
it depends on are linked from their reference solutions (kitbuild.py), so
one broken exercise cannot sink another.
"""

import os
import shutil

from . import build as B
from . import cache as C
from . import runner
from . import submissions as S
from . import verdict as V


# Every submission's tests run once as they are, then once under each of these seeds of the
# schedule explorer (runtime/testing/kt_explore.h: detours at the student's locks). The seeds are
# fixed, so every submission, and every regrading of it, meets the same detours.
EXPLORE_SEEDS = (1, 2)


def exercise_result(kx, status, messages=(), tests=()):
    return {"exercise": kx.name, "title": kx.decl.title, "status": status,
            "messages": list(messages), "tests": list(tests)}


def score(result, kx, flaky_pass=False):
    """Adds score, max and bonus to an exercise result from the declaration's points."""
    earned = bonus = maximum = 0.0
    by_id = {t["id"]: t for t in result["tests"]}
    for test in kx.tests:
        points = kx.decl.test_points(test.id)
        is_bonus = kx.decl.is_bonus(test.id)
        if not is_bonus:
            maximum += points
        t = by_id.get(test.id)
        passed = t is not None and (t["status"] == V.PASS or (flaky_pass and t["status"] == V.FLAKY))
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


def grade_exercise(ctx, kx, files, workdir, slot):
    """Builds and runs one exercise for one student: the cacheable part of a result."""
    b = B.build(kx, files, workdir, ctx.sandbox, ctx.taken[kx.name], slot, ctx.allowlists[kx.name])
    if not b.ok:
        status = {"compile": "compile error", "check": "rejected", "link": "link error"}[b.stage]
        tests = [_test_entry(t, "not run", "") for t in kx.tests]
        return exercise_result(kx, status, b.messages, tests)
    tests = []
    scratch = os.path.join(workdir, "scratch")
    passes, failed = runner.run_batch(b.binary, kx.tests, scratch, ctx.sandbox, ctx.limits, slot, ctx.seed)
    explored = {}  # test id -> the explorer seed it failed under (it passed without)
    for explore in EXPLORE_SEEDS:
        if not passes:
            break
        still, more_failed = runner.run_batch(b.binary, kx.tests, scratch, ctx.sandbox, ctx.limits, slot,
                                              ctx.seed, explore)
        for test_id in [i for i in passes if i not in still]:
            del passes[test_id]
            explored[test_id] = explore
            status, message = more_failed.get(test_id, ("CRASH", "the test crashed or hung"))
            failed[test_id] = (status, _explored_message(kx, test_id, explore, message))
    for t in kx.tests:
        if t.id in passes:
            tests.append(_test_entry(t, V.PASS, ""))
            tests[-1].update(attempts=1)
            continue
        if t.id in failed and ctx.reruns == 0:
            # No reruns asked for: the full run's failure is the verdict.
            status, message = failed[t.id]
            tests.append(_test_entry(t, V.FAIL if status == "FAILED" else V.CRASH, message))
            tests[-1].update(attempts=1)
            continue
        explore = explored.get(t.id)
        run = runner.run_test(b.binary, t, scratch, ctx.sandbox, ctx.limits,
                              slot, ctx.reruns, ctx.seed, t.id in failed, explore)
        message = _explored_message(kx, t.id, explore, run.message) if explore else run.message
        entry = _test_entry(t, run.status, message)
        entry.update(diagnosis=run.diagnosis, attempts=run.attempts)
        tests.append(entry)
    return exercise_result(kx, "graded", [], tests)


def _explored_message(kx, test_id, explore, message):
    """A failure seen only under the schedule explorer, with the command that replays it."""
    suite, name = test_id.split("/", 1)
    replay = (f"make test EX={kx.name} EXPLORE={explore} T={name}" if not suite.endswith("_hidden")
              else f"a hidden test; make explore EX={kx.name} looks for such schedules")
    return f"failed under the schedule explorer's seed {explore} (replay: {replay}): {message}"


def _test_entry(t, status, message):
    return {"id": t.id, "description": t.description, "hidden": t.hidden, "status": status,
            "message": message, "diagnosis": "", "attempts": 0}


def grade_student(ctx, name, path, slot):
    """{name, exercises: [...], total, max, notes} for one submission; never raises for bad input."""
    student = {"student": name, "notes": [], "exercises": []}
    try:
        sub = S.load(name, path)
        student["notes"] += sub.notes
    except S.SubmissionError as e:
        sub = None
        student["notes"].append(str(e))
    workroot = os.path.join(ctx.workspace, "students", f"{slot}")
    for ex_name in ctx.exercises:
        kx = ctx.kit[ex_name]
        files, found_paths, missing = {}, [], []
        for filename in kx.decl.student_files:
            rel, data = S.find_student_file(sub, ex_name, filename) if sub else (None, None)
            if rel is None:
                missing.append(filename)
            else:
                files[filename] = data
                found_paths.append(rel)
        notes = []
        if sub:
            ignored = [p for p in S.ignored_kit_files(sub, ctx.root, ex_name)
                       if not any(p.endswith(f"exercises/{ex_name}/{f}") for f in files)]
            if ignored:
                notes.append("the kit's own copies were used instead of your changed "
                             + ", ".join(f"`{p}`" for p in ignored))
        if missing:
            result = exercise_result(kx, "missing", [
                "no " + ", ".join(f"`exercises/{ex_name}/{f}`" for f in missing)
                + " found in the submission"], [_test_entry(t, "not run", "") for t in kx.tests])
        else:
            k = C.key(ctx.fingerprints[ex_name], files, ctx.cache_options)
            result = ctx.cache.get(k) if ctx.use_cache else None
            if result is None:
                workdir = os.path.join(workroot, ex_name)
                shutil.rmtree(workdir, ignore_errors=True)
                os.makedirs(workdir)
                try:
                    result = grade_exercise(ctx, kx, files, workdir, slot)
                except Exception as e:  # the grader's own fault: say so, keep grading the class
                    result = exercise_result(kx, "grader error", [f"{type(e).__name__}: {e}"],
                                             [_test_entry(t, "not run", "") for t in kx.tests])
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
