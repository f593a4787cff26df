"""cli.py - `grader/grade`: grade a folder of submissions into an output folder."""

import argparse
import concurrent.futures
import fcntl
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from grader import kit

from . import cache as C
from . import canary, core, kitbuild, policy, progress, reports, slurm, submissions
from .kitbuild import KitExercise
from .sandbox import Limits, Sandbox
from .status import StudentResult
from .text import display

KIT_ROOT = kit.ROOT
GRADER = os.path.join(KIT_ROOT, "grader")


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="grader/grade",
        description="Grade a class's submissions against the kit's visible and hidden tests. "
                    "Each entry of SUBMISSIONS (a folder, .zip or .tar.gz) is one student, named "
                    "after the entry. Writes gradebook.csv, per-student feedback, report.html and "
                    "junit.xml into the output folder.")
    p.add_argument("submissions", nargs="?", help="folder with one entry per student")
    p.add_argument("--out", default=os.path.join(GRADER, "out"), help="output folder (default grader/out)")
    p.add_argument("-e", "--exercise", action="append", default=[],
                   help="grade only this exercise (repeat or comma-separate; default: all)")
    p.add_argument("-s", "--student", action="append", default=[],
                   help="regrade this student, ignoring cached results (others come from the cache)")
    p.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                   help="students graded in parallel (default: one more than the cores, so that a "
                        "student whose tests wait for their timeouts leaves the cores to the others)")
    p.add_argument("--reruns", type=int, default=0,
                   help="times a failing test is run again, to tell flaky from failing (default 0)")
    p.add_argument("--test-jobs", type=int, default=2,
                   help="runners of one student at once, each running a share of the tests (default 2: "
                        "a hung test waits without a core; more only crowd the cores)")
    p.add_argument("--no-tsan", action="store_true",
                   help="do not run the threaded tests once more under ThreadSanitizer")
    p.add_argument("--no-asan", action="store_true",
                   help="do not run the tests that passed once more under AddressSanitizer + LeakSanitizer")
    p.add_argument("--no-explore", action="store_true",
                   help="do not run the threaded tests under the schedule explorer's fixed seeds")
    p.add_argument("--flaky-pass", action="store_true",
                   help="give the points of a test that failed and then passed (default: graded as failed)")
    p.add_argument("--no-cache", action="store_true", help="regrade everything")
    p.add_argument("--canary-always", action="store_true",
                   help="grade the reference solutions again even when this machine's sandbox passed them "
                        "with the same kit and options recently")
    p.add_argument("--sandbox", choices=["auto", "bwrap", "unshare", "rlimits"], default="auto",
                   help="confinement of student code (default: the strongest that works here)")
    p.add_argument("--max-test-seconds", type=float, default=60.0,
                   help="wall-clock cap per test run, whatever the test's own timeout (default 60)")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per test (MiB)")
    p.add_argument("--processes", type=int, default=256, help="process/thread limit per test")
    p.add_argument("--seed", type=int, default=None, help="RT_SHAKE seed for every test run")
    p.add_argument("--kit", default=KIT_ROOT, help=argparse.SUPPRESS)
    p.add_argument("--gradescope-results", metavar="FILE",
                   help="with exactly one submission: also write its Gradescope results.json to FILE")
    p.add_argument("--gradescope-bundle", metavar="ZIP", help="write a Gradescope autograder bundle and exit")
    p.add_argument("--gradescope-hidden", default="after_published",
                   choices=["visible", "hidden", "after_due_date", "after_published"],
                   help="Gradescope's visibility of the hidden tests (default after_published)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    slurm.add_arguments(p)  # --slurm and its options: grading as a Slurm job array (slurm.py)
    args = p.parse_args(argv)
    args.exercise = [e for item in args.exercise for e in item.split(",") if e]
    if not args.submissions and not args.gradescope_bundle:
        p.error("name the folder of submissions")
    return args


Log = Callable[[str], None]


def default_jobs() -> int:
    """Students graded at once by default: one more than the cores."""
    return (os.cpu_count() or 1) + 1


@dataclass
class Context:
    """What every worker shares during one grading run (read-only once prepared)."""

    root: str  # the kit
    exercises: List[str]  # graded, in order
    sandbox: Sandbox
    limits: Limits  # of one test run, before the test's own timeout narrows it
    reruns: int
    flaky_pass: bool
    seed: Optional[int]
    use_cache: bool
    cache: C.Cache
    cache_options: Dict[str, Any]  # the options a cached result depends on
    workspace: str  # this run's scratch folder, removed at the end
    tsan: bool = True  # threaded tests run once more under ThreadSanitizer
    asan: bool = True  # tests that passed run once more under AddressSanitizer + LeakSanitizer
    explore: bool = True  # threaded tests run under the exercise's fixed explorer seeds
    test_jobs: int = 2  # runners of one student at once
    kit: Dict[str, KitExercise] = field(default_factory=dict)
    fingerprints: Dict[str, str] = field(default_factory=dict)  # the kit's side, per exercise
    allowlists: Dict[str, List[str]] = field(default_factory=dict)  # what a student file may call


def prepare(args: argparse.Namespace, log: Log) -> Context:
    root = os.path.abspath(args.kit)
    decls = kit.load_all(root)
    names = args.exercise or sorted(decls)
    for n in names:
        if n not in decls:
            raise SystemExit(f"grade: no exercise '{n}'; the kit has: {', '.join(sorted(decls))}")
    old = os.umask(0o022)
    workspace = tempfile.mkdtemp(prefix="grade-run-")
    os.umask(old)
    os.chmod(workspace, 0o755)
    ctx = Context(
        root=root, exercises=names, sandbox=Sandbox(args.sandbox),
        limits=Limits(cpu_seconds=10, wall_seconds=args.max_test_seconds,
                      memory_bytes=args.memory_mb << 20, processes=args.processes),
        reruns=args.reruns, flaky_pass=args.flaky_pass, seed=args.seed,
        use_cache=not args.no_cache,
        cache=C.Cache(os.path.join(os.path.abspath(args.out), ".cache")),
        cache_options={"reruns": args.reruns, "seed": args.seed, "memory": args.memory_mb,
                       "processes": args.processes, "cap": args.max_test_seconds, "format": 2,
                       "tsan": not args.no_tsan, "asan": not args.no_asan, "explore": not args.no_explore},
        workspace=workspace, tsan=not args.no_tsan, asan=not args.no_asan, explore=not args.no_explore,
        test_jobs=max(1, args.test_jobs))
    for n in names:
        ctx.fingerprints[n] = C.kit_fingerprint(root, decls[n])
    # The kit's objects are kept between runs, in a folder named after the kit's sources (the
    # kit's own build folder when it can be written: every output folder shares them), so a
    # restarted run, or a run into another output folder, does not compile them again.
    # A Slurm run keeps them in the output folder, which every node sees (slurm.py copies it).
    shared = not (getattr(args, "slurm", False) or getattr(args, "slurm_task", None)
                  or getattr(args, "slurm_merge", None))
    builds = kit_builds(root, os.path.abspath(args.out)) if shared else os.path.join(
        os.path.abspath(args.out), ".build")
    build = os.path.join(builds, C.kit_sources_fingerprint(root)[:16])
    os.makedirs(build, exist_ok=True)

    def canary_of(n: str) -> Optional[str]:
        """Grades exercise n's reference (or reuses a recent verdict); the reason it failed, if it did."""
        kx = ctx.kit[n]
        started = time.monotonic()
        record = os.path.join(build, f"canary-{n}-{canary_key(ctx, n, args)}.json")
        if not args.canary_always and canary.load(record, kx):
            log(f"[grade] the reference solution of {n} earned every point in this sandbox on this "
                f"machine within {canary.VALID_HOURS} h: its measurements are reused (--canary-always "
                "grades it again)")
            return None
        log(f"[grade] grading the reference solution of {n} first (the canary)")
        try:
            canary.check(root, kx, ctx.sandbox, ctx.limits, ctx.allowlists[n],
                         os.path.join(ctx.workspace, "canary", n), ctx.tsan, ctx.test_jobs * max(1, args.jobs),
                         ctx.seed, ctx.asan, ctx.explore)
        except canary.CanaryError as e:
            return str(e)
        canary.save(record, kx)
        log(f"[grade]   the canary of {n}: {time.monotonic() - started:.1f} s")
        return None

    # Each exercise's canary starts as soon as its kit's side is compiled, while the next one
    # compiles: a make leaves a core idle now and then, which a canary fills. Their runs mostly
    # wait too (for sanitizers, for the schedule explorer's pauses, for the sandbox to start), and
    # nobody is graded before all of them have passed.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        canaries = []
        with open(os.path.join(builds, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another grader may be compiling the same objects
            os.utime(build)
            for old_build in os.listdir(builds):
                path = os.path.join(builds, old_build)
                # An older kit's, unused for a day (a grader of that kit may still be running).
                if old_build not in (os.path.basename(build), ".lock") and \
                        time.time() - os.path.getmtime(path) > 24 * 3600:
                    shutil.rmtree(path, ignore_errors=True)
            # An exercise built on others first: its make compiles theirs too, and its canary, which
            # tests the most, takes longest (the chat's: nobody is graded before it has passed).
            for n in sorted(names, key=lambda n: (-len(decls[n].depends), n)):
                log(f"[grade] compiling the kit's side of {n} (once, kept for later runs)")
                started = time.monotonic()
                kx = kitbuild.prepare(root, decls[n], build, max(1, args.jobs),
                                      os.path.join(ctx.workspace, "include", n))
                ctx.kit[n] = kx
                log(f"[grade]   the kit's side of {n}: {time.monotonic() - started:.1f} s")
                # A student's file may call what the exercise's own kit files define.
                ctx.allowlists[n] = (policy.load_allowlist(n, root, kx.cc)
                                     + sorted(policy.taken_names(kx.exkit_objs, [])))
                canaries.append(pool.submit(canary_of, n))
        failures = [f for f in (c.result() for c in canaries) if f]
    if failures:
        shutil.rmtree(ctx.workspace, ignore_errors=True)
        raise SystemExit("grade: stopped before grading anyone: " + "\n".join(failures) + "\n"
                         "Every student would be graded the same way: fix the sandbox (or the kit) "
                         "first, or choose another with --sandbox.")
    return ctx


def kit_builds(root: str, out: str) -> str:
    """Where the kit's compiled objects are kept: the kit's build folder, else the output folder's."""
    kit_build = os.path.join(root, "build")
    if os.access(kit_build if os.path.isdir(kit_build) else root, os.W_OK):
        return os.path.join(kit_build, "grader-kit")
    return os.path.join(out, ".build")


def canary_key(ctx: Context, name: str, args: argparse.Namespace) -> str:
    """What a canary's verdict holds for: the kit and grader, the options, the sandbox, this boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    text = "\0".join([ctx.fingerprints[name], C.json.dumps(ctx.cache_options, sort_keys=True),
                      ctx.sandbox.kind, ctx.sandbox.describe(), boot,
                      " ".join(os.uname()), str(os.geteuid())])
    return C.hashlib.sha256(text.encode()).hexdigest()[:16]


def grade_all(ctx: Context, entries: List[Tuple[str, str]], args: argparse.Namespace,
              log: Log) -> Tuple[List[StudentResult], float]:
    bar = progress.Progress(len(entries), quiet=args.quiet)
    regrade = set(args.student)
    slots = list(range(max(1, args.jobs)))
    lock = threading.Lock()

    def work(entry: Tuple[str, str]) -> StudentResult:
        name, path = entry
        with lock:
            slot = slots.pop()
        try:
            use = ctx.use_cache and name not in regrade
            local = _with_cache(ctx, use)
            result = core.grade_student(local, name, path, slot)
        finally:
            with lock:
                slots.append(slot)
        bar.step(name)
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(slots)) as pool:
        results = list(pool.map(work, entries))
    return results, bar.elapsed()


def _with_cache(ctx: Context, use: bool) -> Context:
    return ctx if use == ctx.use_cache else replace(ctx, use_cache=use)


def _quiet(message: str) -> None:
    pass


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    args = parse_args(raw)
    log: Log = _quiet if args.quiet else _to_stderr
    if args.gradescope_bundle:
        from . import gradescope
        path = gradescope.bundle(os.path.abspath(args.kit), args.gradescope_bundle, args.gradescope_hidden)
        print(f"gradescope: wrote {path}")
        return 0
    if not os.path.isdir(args.submissions):
        print(f"grade: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    entries = submissions.discover(args.submissions)
    unknown = set(args.student) - {n for n, _ in entries}
    if unknown:
        print(f"grade: no submission named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not entries:
        print(f"grade: no submissions in {args.submissions}", file=sys.stderr)
        return 2
    clashes = submissions.duplicates(entries)
    if clashes:
        print("grade: these submissions would be graded as the same student; rename all but one "
              "and run again (nothing was graded):", file=sys.stderr)
        for group in clashes:
            print("  " + ", ".join(display(p) for p in group), file=sys.stderr)
        return 2
    if slurm.wanted(args):  # submit, one array task, or the merge (None: merge as a local run)
        code = slurm.run(args, raw, entries, log)
        if code is not None:
            return code
    ctx = prepare(args, log)
    try:
        log(f"[grade] {len(entries)} submissions, exercises: {', '.join(ctx.exercises)}, "
            f"{args.jobs} jobs, sandbox: {ctx.sandbox.describe()}")
        results, seconds = grade_all(ctx, entries, args, log)
    finally:
        shutil.rmtree(ctx.workspace, ignore_errors=True)
    out = os.path.abspath(args.out)
    # The reports' columns are the parts graded on their own (an exercise without EX_PARTS is one).
    parts = [(ctx.kit[n], p) for n in ctx.exercises for p in ctx.kit[n].decl.parts]
    meta = {"sandbox": ctx.sandbox.describe(), "exercises": [p.name for _, p in parts],
            "tests": {p.name: [t.__dict__ for t in core.part_tests(kx, p)] for kx, p in parts},
            "titles": {p.name: kx.decl.part_title(p) for kx, p in parts}}
    code = 0
    try:
        reports.write_all(out, results, meta)
    except reports.ReportError as e:
        print(f"grade: {e}", file=sys.stderr)
        code = 1
    flagged = [(r["student"], t["id"], t["flagged"]) for r in results for e in r["exercises"]
               for t in e["tests"] if t.get("flagged")]
    for student, test_id, why in flagged:
        print(f"[grade] flagged for review: {display(student)} {test_id}: {why}", file=sys.stderr)
    if args.gradescope_results:
        from . import gradescope
        gradescope.write_results(args.gradescope_results, results[0], args.gradescope_hidden)
    print(f"[grade] graded {len(results)} students in {seconds:.1f} s; gradebook: "
          f"{os.path.join(out, 'gradebook.csv')}")
    print(f"[grade] class report: {os.path.join(out, 'report.html')}")
    return code
