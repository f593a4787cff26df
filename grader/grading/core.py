"""core.py - grade one student's submission, exercise by exercise, part by part.

Each exercise is graded on its own: only the files it declares are taken
from the submission, everything else comes from the kit, and the exercises
it depends on are linked from their reference solutions (kitbuild.py), so
one broken exercise cannot sink another.

An exercise in parts (EX_PARTS: the chat's server and client) is graded
part by part the same way: a part's result is its own (a gradebook column,
its own cache entry), its tests are only those of its suites, and a part
that is missing, does not compile or is refused is replaced by the
reference's file for it, so the other part is still built and graded.
"""

import os
import shutil
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional

from grader.kit import Part

from . import build as B
from . import cache as C
from . import canary
from . import runner
from . import status as ST
from . import submissions as S
from .kitbuild import KitExercise
from .status import ExerciseResult, StudentResult, TestResult
from .testlist import TestInfo

if TYPE_CHECKING:  # cli imports this module; the type is only named here
    from .cli import Context


def exercise_result(kx: KitExercise, status: str, messages: Iterable[str] = (),
                    tests: Iterable[TestResult] = (), part: Optional[Part] = None) -> ExerciseResult:
    """A result of one part (the whole exercise when it has one): its column is the part's name."""
    part = part or kx.decl.parts[0]
    return {"exercise": part.name, "title": kx.decl.part_title(part), "status": status,
            "messages": list(messages), "tests": list(tests)}


def part_tests(kx: KitExercise, part: Part) -> List[TestInfo]:
    """The tests that grade one part, in run order."""
    if len(kx.decl.parts) == 1:
        return list(kx.tests)
    return [t for t in kx.tests if getattr(kx.decl.part_of(t.id), "name", None) == part.name]


def not_run(kx: KitExercise, part: Part, status: str, messages: Iterable[str]) -> ExerciseResult:
    """The result of a part whose tests could not run (missing, refused, not compiling...)."""
    return exercise_result(kx, status, messages, [_test_entry(t, ST.NOT_RUN, "") for t in part_tests(kx, part)],
                           part)


def score(result: ExerciseResult, kx: KitExercise, flaky_pass: bool = False,
          part: Optional[Part] = None) -> ExerciseResult:
    """Adds score, max and bonus to a part's result from the declaration's points."""
    earned = bonus = maximum = 0.0
    by_id = {t["id"]: t for t in result["tests"]}
    for test in part_tests(kx, part or kx.decl.parts[0]):
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


STAGE_STATUS = {"compile": ST.COMPILE_ERROR, "check": ST.REJECTED, "link": ST.LINK_ERROR}


def grade_exercise(ctx: "Context", kx: KitExercise, files: dict[str, bytes], workdir: str,
                   slot: int, parts: Optional[List[Part]] = None) -> Dict[str, ExerciseResult]:
    """Builds and runs the parts `parts` (default: all) of one exercise for one student, from
    `files`, their files: the cacheable part of each result, by part name.

    The exercise's other parts are built from the reference's files, and so
    is a part whose file does not compile or is refused (that part's result
    says why): the rest is still graded. A link that fails with several
    parts is tried part by part, so only the parts that do not link alone
    lose their points. Raises build.GraderError when the machine, not the
    submission, failed.
    """
    grading = list(parts or kx.decl.parts)
    results: Dict[str, ExerciseResult] = {}
    reference: Dict[str, bytes] = {}
    while True:
        build_files = {f: files[f] for p in grading for f in p.files}
        others = [f for p in kx.decl.parts if p not in grading for f in p.files]
        if others and not reference:
            reference = canary.reference_files(ctx.root, kx)
        build_files.update({f: reference[f] for f in others})
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        b = B.build(kx, build_files, workdir, ctx.sandbox, ctx.allowlists[kx.name])
        if b.ok:
            break
        status = STAGE_STATUS[b.stage]
        blamed = [p for p in grading if any(f in b.faults for f in p.files)]
        if len(kx.decl.parts) == 1 or (not blamed and len(grading) == 1 and not b.faults):
            for p in grading:
                results[p.name] = not_run(kx, p, status, b.messages)
            return results
        if not blamed and b.faults:
            raise RuntimeError(f"the reference's {', '.join(sorted(b.faults))} failed to build: "
                               + "\n".join(b.messages)[:2000])
        if not blamed:  # a link of several parts: which part does not link on its own?
            for p in grading:
                results.update(grade_exercise(ctx, kx, files, workdir, slot, [p]))
            return results
        for p in blamed:
            results[p.name] = not_run(kx, p, status, [m for f in p.files for m in b.faults.get(f, [])])
            grading.remove(p)
        if not grading:
            return results
    wanted = [t for p in grading for t in part_tests(kx, p)]
    runs = run_tests(ctx, kx, b, workdir, wanted)
    for p in grading:
        tests: List[TestResult] = []
        for t in part_tests(kx, p):
            run = runs[t.id]
            entry = _test_entry(t, run.status, run.message)
            entry.update(diagnosis=run.diagnosis, attempts=run.attempts, seconds=round(run.seconds, 3))
            if run.flagged:
                entry["flagged"] = run.flagged
            if t.hidden:
                # Nothing a hidden test's run printed reaches the student: not even its assertion.
                entry.update(message=_hidden_message(run), diagnosis="")
            tests.append(entry)
        results[p.name] = exercise_result(kx, ST.GRADED, [], tests, p)
    return results


def _hidden_message(run: runner.TestRun) -> str:
    if run.explore_seed and run.status != ST.PASS:
        return (f"a hidden test failed under the schedule explorer's seed {run.explore_seed} (its "
                "details are not shown; `make explore` walks such schedules over the visible tests)")
    if run.status == ST.FAIL and ("Sanitizer found" in run.message):
        return "a hidden test failed under " + run.message.split(" found", 1)[0] + " (its details are not shown)"
    return {ST.PASS: "", ST.FAIL: "a hidden test failed (its details are not shown)",
            ST.TIMEOUT: "a hidden test did not finish in time",
            ST.FLAKY: "a hidden test failed, then passed when run again"}.get(
                run.status, "a hidden test crashed (its details are not shown)")


def run_tests(ctx: "Context", kx: KitExercise, b: B.BuildResult, workdir: str,
              wanted: Optional[List[TestInfo]] = None) -> Dict[str, runner.TestRun]:
    """Every test of the exercise (or those `wanted`), several runners at once.

    Each test runs in a fresh process of its own, many of them to one
    sandboxed runner (runner.run_many); a runner may take the sum of its
    tests' timeouts, so a submission that makes every test run to its
    timeout still ends. The tests that passed are then checked (checks());
    the sanitizer binaries are built only now, when there is something to
    check.
    """
    tests = kx.tests if wanted is None else wanted
    timeouts = {t.id: runner.fitted_timeout(t, kx.reference.get(t.id), ctx.limits.wall_seconds)
                for t in tests}
    out = runner.run_plain(lambda hidden: b.binary("plain", hidden), tests, timeouts, ctx.sandbox, ctx.limits,
                           kx.reference, ctx.seed, ctx.test_jobs)
    if ctx.reruns:
        for t in tests:
            out[t.id] = runner.rerun(out[t.id], b.binary("plain", t.hidden), t, ctx.sandbox, ctx.limits,
                                     timeouts[t.id], kx.reference.get(t.id), ctx.reruns, ctx.seed)
    passed = [t for t in tests if out[t.id].status == ST.PASS]
    # A seed detours only at the student's own locks: without one, a seeded run is the same run.
    todo = runner.checks(kx.reference, kx.explore_seeds, passed, ctx.tsan, ctx.asan,
                         ctx.explore and b.explorable)
    for variant in ("thread", "address"):
        of_variant = [c for c in todo if c.variant == variant]
        if of_variant and not B.build_variant(kx, workdir, ctx.sandbox, b, variant,
                                              visible=any(not c.test.hidden for c in of_variant),
                                              hidden=any(c.test.hidden for c in of_variant)):
            # The plain verdicts stand; the canary showed the sanitizer builds here.
            todo = [c for c in todo if c.variant != variant]
    checked_runs = runner.run_checks(b.binary, todo, ctx.sandbox, ctx.limits, kx.reference, ctx.seed, kx.name,
                                     ctx.test_jobs)
    for c, checked in zip(todo, checked_runs):
        first = out[c.test.id]
        if checked.status == ST.PASS or first.status != ST.PASS:
            continue  # a check that passed, or a test an earlier check failed already
        if checked.status == ST.FAIL or c.explore:
            # A sanitizer's report, or a test that does not pass under an explorer seed. Any
            # other trouble of a sanitizer run (it slows threads down a lot) leaves the verdict.
            checked.seconds += first.seconds
            checked.diagnosis = checked.diagnosis.replace(workdir + "/src/", "").replace(
                ctx.root + "/", "")
            out[c.test.id] = checked
    return out


def _test_entry(t: TestInfo, status: str, message: str) -> TestResult:
    return {"id": t.id, "description": t.description, "hidden": t.hidden, "status": status,
            "message": message, "diagnosis": "", "attempts": 0}


def grade_student(ctx: "Context", name: str, path: str, slot: int) -> StudentResult:
    """{name, exercises: [...], total, max, notes} for one submission; never raises.

    Bad input is the student's problem alone (a note, a zero); any failure of
    the grader itself while grading them becomes their "grader error" rows,
    and the class run goes on.
    """
    try:
        return _grade_student(ctx, name, path, slot)
    except Exception as e:  # noqa: BLE001 - the whole point: one student never stops the class run
        student: StudentResult = {"student": name, "notes": [f"the grader failed on this submission: "
                                                             f"{type(e).__name__}: {e}"], "exercises": []}
        for ex_name in ctx.exercises:
            kx = ctx.kit[ex_name]
            for part in kx.decl.parts:
                result = not_run(kx, part, ST.GRADER_ERROR, [f"{type(e).__name__}: {e}"])
                result.update(notes=[], files=[])
                student["exercises"].append(score(result, kx, ctx.flaky_pass, part))
        student["total"] = 0.0
        student["max"] = sum(e["max"] for e in student["exercises"])
        return student


def _grade_student(ctx: "Context", name: str, path: str, slot: int) -> StudentResult:
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
        student["exercises"] += _grade_parts(ctx, ctx.kit[ex_name], sub, workroot, slot)
    student["total"] = sum(e["total"] for e in student["exercises"])
    student["max"] = sum(e["max"] for e in student["exercises"])
    return student


def _grade_parts(ctx: "Context", kx: KitExercise, sub: Optional[S.Submission], workroot: str,
                 slot: int) -> List[ExerciseResult]:
    """One result per part of the exercise, each from the cache or graded now (together)."""
    ex_name = kx.name
    files: dict[str, bytes] = {}
    found_paths: Dict[str, str] = {}
    results: Dict[str, ExerciseResult] = {}
    keys: Dict[str, str] = {}
    todo: List[Part] = []
    for part in kx.decl.parts:
        missing: List[str] = []
        for filename in part.files:
            rel, data = S.find_student_file(sub, ex_name, filename) if sub else (None, None)
            if rel is None or data is None:
                missing.append(filename)
            else:
                files[filename] = data
                found_paths[filename] = rel
        if missing:
            results[part.name] = not_run(kx, part, ST.MISSING, [
                "no " + ", ".join(f"`exercises/{ex_name}/{f}`" for f in missing)
                + " found in the submission"])
            continue
        # A part's result depends on its own files only (the others come from the reference).
        own = {f: files[f] for f in part.files}
        fingerprint = ctx.fingerprints[ex_name] + ("" if len(kx.decl.parts) == 1 else f"/{part.name}")
        keys[part.name] = C.key(fingerprint, own, ctx.cache_options)
        cached = ctx.cache.get(keys[part.name]) if ctx.use_cache else None
        if cached is not None:
            results[part.name] = cached
        else:
            todo.append(part)
    if todo:
        results.update(_grade_uncached(ctx, kx, files, todo, workroot, slot, keys))
    notes: List[str] = []
    if sub:
        ignored = [p for p in S.ignored_kit_files(sub, ctx.root, ex_name)
                   if not any(p.endswith(f"exercises/{ex_name}/{f}") for f in files)]
        if ignored:
            notes.append("the kit's own copies were used instead of your changed "
                         + ", ".join(f"`{p}`" for p in ignored))
    out = []
    for i, part in enumerate(kx.decl.parts):
        result = dict(results[part.name])
        result["tests"] = [dict(t) for t in result["tests"]]
        result["notes"] = notes if i == 0 else []  # said once, with the exercise's first part
        result["files"] = [found_paths[f] for f in part.files if f in found_paths]
        out.append(score(result, kx, ctx.flaky_pass, part))
    return out


def _grade_uncached(ctx: "Context", kx: KitExercise, files: dict[str, bytes], parts: List[Part],
                    workroot: str, slot: int, keys: Dict[str, str]) -> Dict[str, ExerciseResult]:
    """Grades, retrying once when the machine failed; only a result of the student's own is cached."""
    workdir = os.path.join(workroot, kx.name)
    error: Optional[Exception] = None
    for _ in range(2):
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        try:
            results = grade_exercise(ctx, kx, files, workdir, slot, parts)
        except B.GraderError as e:  # out of space or memory: the machine's fault, try once more
            error = e
            continue
        except Exception as e:  # the grader's own fault: say so, keep grading the class
            error = e
            break
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        for part in parts:
            ctx.cache.put(keys[part.name], results[part.name])
        return results
    assert error is not None
    return {p.name: not_run(kx, p, ST.GRADER_ERROR, [f"{type(error).__name__}: {error}"]) for p in parts}
