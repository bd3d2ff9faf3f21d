"""The ``raftlab`` command.

    raftlab test [SELECT...] [--impl student|reference|PATH] [--seed N] [--runs K] [-j J]
                 [--json FILE]
    raftlab grade [--impl ...] [--runs K] [--rubric FILE] [--json FILE]
                  [--gradescope FILE] [--junit FILE] [--timeout SECONDS]
    raftlab replay TEST --seed N [--impl ...] [--check-determinism] [--full] [--jsonl FILE]
    raftlab batch DIR --csv FILE [--out DIR] [--rubric FILE] [-j J]
    raftlab gradescope-bundle OUT.zip [--rubric FILE]
    raftlab zoo [--seeds K] [--json FILE] [--only ID...] [--reference first|second|both]
    raftlab lint [PATH]
    raftlab handout OUT
    raftlab bench [--json FILE]

Student code runs only in worker processes (``grader.worker``), never here.

Exit codes (every command):
    0  everything ran and every test passed (grade: full marks, bonus included)
    1  some test failed (one of the optional part 2E too, when it ran), or the
       submission could not be loaded
    2  usage error (bad option, unknown test, unreadable rubric)
    3  raftlab itself failed, or the global time budget ran out before the end
  130  interrupted (Ctrl-C or SIGTERM): the runs that finished are reported and written
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from . import batch, bench, bundle, exports, handout, lint, report, traceview
from .budget import FIGURES_PATH, Machine, rewrite_table
from .impl import ImplError, resolve_impl
from .integrity import Fingerprint, protect_for_sandboxes
from .results import Results, TestRecord
from .rubric import Rubric, RubricError, load_rubric
from .runner import WorkerPool, default_workers
from .session import Plan, raftlab_version, replay_command, run_plan, unloadable
from .suite_index import SelectionError, all_tests, select

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line that cannot be carried out; exit status 2."""


def exit_status(results: Results) -> int:
    if results.interrupted:
        return EXIT_INTERRUPTED
    kinds = {r.kind for r in results.tests}
    if results.load_error or kinds & {"failed", "error"}:
        return EXIT_FAILED
    if kinds & {"harness-error", "not-run"} or not results.tests:
        return EXIT_INTERNAL
    return EXIT_OK


def _impl(spec: str) -> tuple[str, Path]:
    try:
        return spec, resolve_impl(spec)
    except ImplError as e:
        raise UsageError(str(e)) from None


def _selection(tokens: list[str], *, include_scenarios: bool = True) -> list[str]:
    try:
        return select(tokens, include_scenarios=include_scenarios)
    except SelectionError as e:
        raise UsageError(str(e)) from None


def _rubric(path: str | None) -> Rubric:
    """The rubric, checked against the suite (a part with points and no tests, a
    test that does not exist): a usage error rather than a grade that is wrong."""
    try:
        rubric = load_rubric(path)
        rubric.check_suite(list(all_tests()))
    except RubricError as e:
        raise UsageError(str(e)) from None
    return rubric


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _html_dir(folder: str | None) -> Path | None:
    """``--html-dir``: made if missing; a file there is a usage error."""
    if folder is None:
        return None
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--html-dir {folder}: that is a file; name a folder (it is made if "
                         "missing)")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def _command_line() -> str:
    return "raftlab " + " ".join(shlex.quote(a) for a in sys.argv[1:])


# ------------------------------------------------------------------ commands


def cmd_test(args: argparse.Namespace, console: Console) -> int:
    label, path = _impl(args.impl)
    tests = _selection(args.select)
    seeds = [args.seed + i for i in range(args.runs)]
    plan = Plan(impls=[(label, path)], tests=tests, seeds=seeds, wall_seconds=args.wall,
                command=_command_line(), log_level=args.log_level, sandbox=args.sandbox,
                html_dir=_html_dir(args.html_dir), inspect=args.inspect)
    mode = "sandboxed" if args.sandbox else "in-process"
    console.print(Text(f"raftlab {raftlab_version()}: {len(tests)} tests x {len(seeds)} "
                       f"seed(s) on {path} with {args.jobs} workers ({mode})", style="dim"))
    results = run_plan(plan, workers=args.jobs, console=console,
                       deadline=_deadline(args.timeout))[label]
    try:
        report.render_results(console, results)
        report.render_failures(console, results, limit=args.show)
        if plan.machine is not None:
            for warning in plan.machine.slow_runs(results.tests, sandboxed=args.sandbox):
                console.print(Text(f"warning: {warning}", style="yellow"))
    finally:
        if args.json:
            exports.write_results_json(results, args.json)
    return exit_status(results)


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    rubric = _rubric(args.rubric)
    if args.runs is not None:
        rubric.seed_list = [args.seed_base + i for i in range(args.runs)]
    if args.missing_ok and not Path(args.impl).exists():
        label, path = args.impl, Path(args.impl)
    else:
        label, path = _impl(args.impl)
    tests = rubric.graded(_selection([]))  # a part the rubric leaves out is not run
    started = time.monotonic()
    results = Results(impl=label, command=_command_line(), raftlab_version=raftlab_version(),
                      mode="sandboxed")
    try:
        for note in protect_for_sandboxes(private=[]):
            console.print(Text(note, style="dim"))
        fingerprint = Fingerprint.take(Path(rubric.source))
        if path.is_file():
            plan = Plan(impls=[(label, path)], tests=tests, seeds=rubric.seeds(),
                        wall_seconds=rubric.wall_seconds, memory_mb=rubric.memory_mb,
                        command=_command_line(), sandbox=True,
                        html_dir=_html_dir(args.html_dir))
            results = run_plan(plan, workers=args.jobs, console=console,
                               deadline=_deadline(args.timeout), fingerprint=fingerprint)[label]
        else:
            results = unloadable(label, tests, rubric.seeds(), f"no submission found at {path}: "
                                 "submit your raft.py (the file that defines class Raft)",
                                 command=_command_line(), sandbox=True)
    finally:
        results.grade = rubric.grade(results)
        _write_grade_outputs(args, results, elapsed=time.monotonic() - started)
    report.render_results(console, results)
    report.render_failures(console, results, limit=args.show)
    report.render_grade(console, results.grade)
    if results.stopped:
        console.print(Text(results.stopped, style="bold red"))
        return EXIT_INTERNAL
    return exit_status(results)


def _write_grade_outputs(args: argparse.Namespace, results: Results, *, elapsed: float) -> None:
    """Always write what was asked for, even after an interruption or a timeout."""
    assert results.grade is not None
    if args.json:
        exports.write_results_json(results, args.json)
    if args.gradescope:
        data = exports.gradescope(results, results.grade, elapsed)
        exports.write_atomically(args.gradescope, json.dumps(data, indent=1) + "\n")
    if args.junit:
        exports.write_atomically(args.junit, exports.junit_xml(results))


def cmd_replay(args: argparse.Namespace, console: Console) -> int:
    label, path = _impl(args.impl)
    names = _selection([args.test])
    if len(names) != 1:
        raise UsageError(f"{args.test!r} matches {len(names)} tests; name exactly one, e.g. "
                         f"{names[0]}")
    test = names[0]
    if args.wall is None:
        args.wall = round(Machine.measure().cap(test, sandboxed=args.sandbox), 1)
    inspect = bool(args.html) if args.inspect is None else args.inspect
    html = Path(args.html).resolve() if args.html else None
    if html is not None and html.is_dir():
        raise UsageError(f"--html {args.html}: that is a folder; name the file to write, "
                         "e.g. run.html")
    with tempfile.TemporaryDirectory() as tmp:
        first = _replay_once(label, path, test, args.seed, Path(tmp) / "a.jsonl", hash_seed=0,
                             wall=args.wall, log_level=args.log_level, sandbox=args.sandbox,
                             full_args=args.full_args, inspect=inspect, html=html)
        if first is None:
            return EXIT_INTERNAL
        record, trace = first
        if args.jsonl:
            Path(args.jsonl).write_text("".join(json.dumps(r) + "\n" for r in trace),
                                        encoding="utf-8")
        shown = trace if args.full else trace[-args.last:]
        if args.full:
            for rec in shown:
                console.print(traceview.line(rec), markup=False, highlight=False,
                              soft_wrap=True)
        else:
            if len(trace) > len(shown):
                console.print(Text(f"... {len(trace) - len(shown)} earlier events (use --full "
                                   "or --jsonl FILE for all)", style="dim"))
            console.print(report.trace_columns(shown) if args.columns
                          else report.trace_lines(shown))
        console.print(report.failure_panel(record) if not record.passed else Text(
            f"{test} passed on seed {args.seed} ({record.sim_time:.3f} s virtual, "
            f"{len(trace)} events, digest {record.digest})", style="green"))
        if html is not None:
            if html.is_file():
                how = ("with debug_state() after every step; --no-inspect for without"
                       if inspect else "black box: get_state() only")
                console.print(Text(f"timeline: {html} ({html.stat().st_size / 1e6:.1f} MB, "
                                   f"{len(trace)} events, {how}); open it in a browser",
                                   style="bold"))
            else:
                why = Path(str(html) + ".error.txt")
                console.print(Text(f"no timeline was written to {html}" + (
                    f": raftlab failed to draw it (its error, please report it: {why})"
                    if why.is_file() else ""), style="bold red"))
        if args.check_determinism:
            second = _replay_once(label, path, test, args.seed, Path(tmp) / "b.jsonl",
                                  hash_seed=1, wall=args.wall, log_level=args.log_level,
                                  sandbox=args.sandbox, full_args=args.full_args,
                                  inspect=inspect)
            if second is None:
                return EXIT_INTERNAL
            return _compare_runs(console, record.digest, trace, second[0].digest, second[1])
    return EXIT_OK if record.passed else (EXIT_INTERNAL if record.kind == "harness-error"
                                          else EXIT_FAILED)


def _replay_once(label: str, path: Path, test: str, seed: int, trace_path: Path, *,
                 hash_seed: int, wall: float, log_level: str, sandbox: bool,
                 full_args: bool, inspect: bool = False, html: Path | None = None,
                 ) -> tuple[TestRecord, list[dict[str, object]]] | None:
    job = {"impl": str(path), "test": test, "seed": seed, "wall": wall, "memory_mb": 2048,
           "tail": 8, "digest": True, "trace_path": str(trace_path), "log_level": log_level,
           "full_args": full_args, "replay": replay_command(test, seed, label, sandbox=sandbox),
           "inspect": inspect, "label": label}
    if html is not None:
        job.update(html_path=str(html), html_always=True)
    with WorkerPool(1, hash_seed=hash_seed, sandbox=sandbox) as pool:
        error = pool.check_impl(str(path))
        if error is not None:
            Console(stderr=True).print(Text(f"cannot load the implementation: {error}",
                                            style="bold red"))
            return None
        (record,) = pool.run([job])
    trace: list[dict[str, object]] = []
    if trace_path.exists():
        with open(trace_path, encoding="utf-8") as f:
            trace = [json.loads(line) for line in f]
    return record, trace


def _compare_runs(console: Console, d1: str | None, t1: list[dict[str, object]],
                  d2: str | None, t2: list[dict[str, object]]) -> int:
    if d1 == d2 and d1 is not None:
        console.print(Text(f"deterministic: two runs in fresh processes (PYTHONHASHSEED 0 and "
                           f"1) gave the same trace, digest {d1}", style="green"))
        return EXIT_OK
    for i, (a, b) in enumerate(zip(t1, t2, strict=False)):
        if a != b:
            console.print(Text(f"NOT deterministic: the runs differ from event {i}:",
                               style="bold red"))
            console.print(Text(f"  first run:  {traceview.line(a)}"))
            console.print(Text(f"  second run: {traceview.line(b)}"))
            break
    else:
        console.print(Text(f"NOT deterministic: one run has {len(t1)} events, the other "
                           f"{len(t2)}", style="bold red"))
    console.print("The code depends on something other than the seed: the wall clock, "
                  "os.urandom, id(), or the order of a set of strings (the second run used "
                  "another PYTHONHASHSEED). See HANDOUT.md, 'Time, randomness and "
                  "determinism'.")
    return EXIT_FAILED


def cmd_batch(args: argparse.Namespace, console: Console) -> int:
    rubric = _rubric(args.rubric)
    if args.runs is not None:
        rubric.seed_list = [args.seed_base + i for i in range(args.runs)]
    try:
        return batch.run_batch(Path(args.dir), Path(args.csv),
                               Path(args.out) if args.out else None, rubric,
                               workers=args.jobs, console=console,
                               deadline=_deadline(args.timeout))
    except batch.BatchError as e:
        raise UsageError(str(e)) from None


def cmd_bundle(args: argparse.Namespace, console: Console) -> int:
    _rubric(args.rubric)
    out = bundle.build_bundle(Path(args.out), rubric=Path(args.rubric) if args.rubric else None)
    console.print(f"wrote {out} ({out.stat().st_size:,} bytes): upload it as the Gradescope "
                  "autograder (setup.sh and run_autograder at the root)")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace, console: Console) -> int:
    _, path = _impl(args.path)
    findings = lint.lint_file(path)
    for f in findings:
        console.print(Text(f"{path.name}:{f.line}: ", style="bold") +
                      Text(f"{f.level}: ", style="red" if f.level == "error" else "yellow") +
                      Text(f.message))
    errors = sum(f.level == "error" for f in findings)
    console.print(Text(f"{errors} errors, {len(findings) - errors} warnings in {path}",
                       style="red" if errors else "green"))
    return EXIT_FAILED if errors else EXIT_OK


def cmd_handout(args: argparse.Namespace, console: Console) -> int:
    try:
        names = handout.build_handout(Path(args.out))
    except handout.HandoutError as e:
        raise UsageError(str(e)) from None
    console.print(f"wrote {len(names)} files to {args.out} (no reference solution). Students "
                  "run: pip install -e . && raftlab test 2A")
    return EXIT_OK


def cmd_zoo(args: argparse.Namespace, console: Console) -> int:
    try:
        from . import zoo  # noqa: PLC0415 - instructors only: absent from the student handout
    except ImportError:
        raise UsageError("the mutant zoo is an instructor tool; it is not part of the student "
                         "handout") from None
    try:
        return zoo.main(seeds=args.seeds, json_path=args.json, only=args.only, workers=args.jobs,
                        console=console, reference=args.reference)
    except (ValueError, ImplError) as e:
        raise UsageError(str(e)) from None


def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    if args.figures:
        try:
            figures = bench.reference_figures()
        except ImplError as e:  # a student's installation has no reference solution
            raise UsageError(str(e)) from None
        handout_md = FIGURES_PATH.parent.parent / "HANDOUT.md"  # source files, not results:
        handout = rewrite_table(handout_md.read_text(encoding="utf-8"), figures)  # not private
        FIGURES_PATH.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
        handout_md.write_text(handout, encoding="utf-8")
        console.print(f"wrote {FIGURES_PATH} ({len(figures['tests'])} tests, calibration "
                      f"{figures['calibration']:.3f} s) and its table in {handout_md}")
        return EXIT_OK
    bench.run(args.json, calls_per_client=args.calls, suite=not args.no_suite)
    return EXIT_OK


# -------------------------------------------------------------------- parser


def _add_impl(p: argparse.ArgumentParser) -> None:
    p.add_argument("--impl", default=os.environ.get("RAFTLAB_IMPL", "student"),
                   help="student (labs/raft/raft.py, the default), reference (instructors' "
                        "installation only, not the student handout), or a path to a raft.py")


def _add_jobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=default_workers(),
                   help=f"worker processes (default: the number of cores, {default_workers()})")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="raftlab", formatter_class=fmt,
        description="A deterministic-simulation Raft lab (MIT 6.5840 parts 2A-2D, and the "
                    "optional part 2E: PreVote and CheckQuorum).",
        epilog=__doc__.split("Exit codes", 1)[1].join(["Exit codes", ""]) if __doc__ else "")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("test", help="run lab tests with live progress and a per-test table",
                       formatter_class=fmt, description=(
                           "Run lab tests against an implementation. SELECT is a part (2A ... "
                           "2E), a test name (test_backup_2b or backup_2b), part of a name, "
                           "'mit' or 'scenarios'; nothing selects every test, the optional "
                           "part 2E's included (reported apart: a bonus in the default "
                           "rubric)."),
                       epilog="examples:\n  raftlab test 2A\n  raftlab test backup --seed 7\n"
                              "  raftlab test 2B 2C --runs 20 -j 4 --json out.json\n"
                              "  raftlab test --impl reference    # instructors' copy only")
    p.add_argument("select", nargs="*", metavar="SELECT")
    _add_impl(p)
    p.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    p.add_argument("--runs", type=_positive_int, default=1,
                   help="seeds per test: SEED, SEED+1, ... (default 1)")
    _add_jobs(p)
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--wall", type=float, default=None,
                   help="wall-clock cap per run, seconds (default: scaled to this machine, "
                        "at least 60)")
    p.add_argument("--timeout", type=float, help="global time budget, seconds")
    p.add_argument("--show", type=int, default=5, help="failure panels to show (default 5)")
    p.add_argument("--log-level", default="INFO", choices=LOG_LEVELS,
                   help="lowest level of logging records kept in traces (default INFO)")
    p.add_argument("--sandbox", action="store_true",
                   help="run every server life in a sandbox process, as grading does "
                        "(slower; the same traces)")
    p.add_argument("--html-dir", metavar="DIR",
                   help="write an HTML timeline of every failed run into DIR (open one in a "
                        "browser)")
    p.add_argument("--inspect", action="store_true",
                   help="ask each server for debug_state() after every step (HANDOUT 3.9): "
                        "timelines then draw logs and commit indices, and three more monitors "
                        "check log matching, committed entries and leader completeness "
                        "(slower)")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("grade", help="points per test and per part from a rubric",
                       formatter_class=fmt, description=(
                           "Grade an implementation: every test the rubric gives points to "
                           "(MIT's, the scenarios and, in the default rubric, the optional part "
                           "2E as a bonus) on the rubric's seeds; points per test, per part and "
                           "in total, bonus points on top of the maximum."),
                       epilog="examples:\n  raftlab grade\n"
                              "  raftlab grade --impl reference   # instructors' copy only\n"
                              "  raftlab grade --impl sub/raft.py --json r.json --junit r.xml\n"
                              "  raftlab grade --rubric course.toml --runs 5 "
                              "--gradescope results.json --timeout 540")
    _add_impl(p)
    p.add_argument("--runs", type=_positive_int,
                   help="seeds per test (overrides the rubric's seeds)")
    p.add_argument("--seed-base", type=int, default=1, help="first seed with --runs")
    p.add_argument("--rubric", metavar="FILE", help="a rubric TOML (default: grader/rubric.toml)")
    p.add_argument("--json", metavar="FILE", help="write the results and the grade as JSON")
    p.add_argument("--gradescope", metavar="FILE", help="write Gradescope's results.json")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--timeout", type=float,
                   help="global time budget, seconds (partial results are still written)")
    p.add_argument("--missing-ok", action="store_true",
                   help="grade a missing file as zero instead of failing (Gradescope)")
    p.add_argument("--show", type=int, default=5, help="failure panels to show (default 5)")
    p.add_argument("--html-dir", metavar="DIR",
                   help="write an HTML timeline of every failed run into DIR")
    _add_jobs(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("replay", help="rerun one exact run and print its trace",
                       formatter_class=fmt, description=(
                           "Rerun one test on one seed exactly as the grader ran it (in a fresh "
                           "worker process) and print its trace."),
                       epilog="examples:\n  raftlab replay test_backup_2b --seed 7\n"
                              "  raftlab replay figure8_2c --seed 3 --full > trace.txt\n"
                              "  raftlab replay test_count_2b --seed 1 --check-determinism\n"
                              "  raftlab replay test_backup_2b --seed 7 --html run.html")
    p.add_argument("test")
    p.add_argument("--seed", type=int, required=True)
    _add_impl(p)
    p.add_argument("--last", type=int, default=60,
                   help="events to show in per-server columns (default 60)")
    p.add_argument("--full", action="store_true", help="print every event, one per line")
    p.add_argument("--full-args", action="store_true",
                   help="show RPC arguments and commands whole (by default they are abridged, "
                        "and log entries shown by term: entries=[t2×3, t3])")
    p.add_argument("--columns", action="store_true",
                   help="show the events in one column per server instead of one per line")
    p.add_argument("--jsonl", metavar="FILE", help="write the whole trace as JSON lines")
    p.add_argument("--check-determinism", action="store_true",
                   help="run it twice in fresh processes and compare the traces")
    p.add_argument("--wall", type=float, default=None,
                   help="wall-clock cap, seconds (default: scaled to this machine, at least "
                        "60; a graded report's command for a run it stopped gives its cap)")
    p.add_argument("--log-level", default="DEBUG", choices=LOG_LEVELS,
                   help="lowest level of logging records in the trace (default DEBUG)")
    p.add_argument("--sandbox", action="store_true",
                   help="replay with every server life in a sandbox, as grading ran it")
    p.add_argument("--html", metavar="FILE",
                   help="write the run as an HTML timeline (one self-contained file: open it "
                        "in a browser)")
    p.add_argument("--inspect", action=argparse.BooleanOptionalAction, default=None,
                   help="ask each server for debug_state() after every step (HANDOUT 3.9; "
                        "default: on with --html, so the timeline draws logs)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("batch", help="grade a folder of submissions into a CSV",
                       formatter_class=fmt, description=(
                           "Grade every submission in DIR (one subfolder per student holding "
                           "raft.py) into a CSV and one JSON per student; a broken submission "
                           "never stops the batch."),
                       epilog="examples:\n  raftlab batch submissions/ --csv grades.csv\n"
                              "  raftlab batch subs/ --csv g.csv --out json/ --runs 5 -j 8")
    p.add_argument("dir")
    p.add_argument("--csv", required=True, metavar="FILE")
    p.add_argument("--out", metavar="DIR", help="per-student JSON (default: beside the CSV)")
    p.add_argument("--rubric", metavar="FILE")
    p.add_argument("--runs", type=_positive_int, help="seeds per test (overrides the rubric)")
    p.add_argument("--seed-base", type=int, default=1)
    p.add_argument("--timeout", type=float, help="global time budget, seconds")
    _add_jobs(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("gradescope-bundle", help="build a Gradescope autograder zip",
                       formatter_class=fmt, description=(
                           "Write an autograder zip in Gradescope's format (setup.sh and "
                           "run_autograder at the root) that installs raftlab, grades "
                           "/autograder/submission/raft.py and writes "
                           "/autograder/results/results.json. The reference solution is not "
                           "included."),
                       epilog="examples:\n  raftlab gradescope-bundle autograder.zip\n"
                              "  raftlab gradescope-bundle ag.zip --rubric course.toml")
    p.add_argument("out", metavar="OUT.zip")
    p.add_argument("--rubric", metavar="FILE")
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("lint", help="static determinism and API checks of a raft.py",
                       formatter_class=fmt, description=lint.__doc__,
                       epilog="examples:\n  raftlab lint\n  raftlab lint sub/raft.py")
    p.add_argument("path", nargs="?", default="student", metavar="PATH",
                   help="student (default), reference (instructors' installation only), or a "
                        "path to a raft.py")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("handout", help="build the student distribution (no reference)",
                       formatter_class=fmt, description=handout.__doc__,
                       epilog="examples:\n  raftlab handout dist/lab2\n"
                              "  raftlab handout lab2.zip")
    p.add_argument("out", metavar="OUT", help="a new folder, or a path ending in .zip")
    p.set_defaults(func=cmd_handout)

    p = sub.add_parser("zoo", help="run the suite against known-buggy mutants (instructors' "
                                   "installation only)",
                       formatter_class=fmt, description=(
                           "Run every lab test against each mutant of the reference (a known "
                           "Raft bug put in), seed by seed, stopping a mutant at its first "
                           "kill, and print the kill matrix. An instructor tool: the zoo and "
                           "the reference are not part of the student handout."),
                       epilog="examples:\n  raftlab zoo\n  raftlab zoo --seeds 5 --json zoo.json\n"
                              "  raftlab zoo --only E3 R4 P1\n  raftlab zoo --reference second")
    p.add_argument("--seeds", type=_positive_int, default=3,
                   help="seeds to try before a mutant counts as surviving (default 3)")
    p.add_argument("--json", metavar="FILE", help="write the outcome as JSON")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these mutants")
    p.add_argument("--reference", choices=("first", "second", "both"),
                   help="whose mutants: the reference's, the second reference's (raftlab's "
                        "own tests hold it: an instructor's clone has it), or both (the "
                        "default, where the second reference is present)")
    _add_jobs(p)
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("bench", help="measure the simulator and the suite", formatter_class=fmt,
                       description=bench.__doc__,
                       epilog="examples:\n  raftlab bench\n  raftlab bench --json bench.json")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--calls", type=int, default=2000,
                   help="echo calls per client (20 clients; default 2000)")
    p.add_argument("--no-suite", action="store_true", help="skip the suite timing")
    p.add_argument("--figures", action="store_true",
                   help=f"measure the reference per test (3 seeds, both modes) and write "
                        f"{FIGURES_PATH.name}, which caps and warnings scale from "
                        "(instructors' installation only)")
    p.set_defaults(func=cmd_bench)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: commands write what they have, then stop


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if e.code in (0, None) else EXIT_USAGE
    # Logs and CI get 120 columns; a terminal keeps its own width.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    try:
        code: int = args.func(args, console)
    except UsageError as e:
        Console(stderr=True).print(Text(f"raftlab {args.command}: {e}", style="bold red"))
        return EXIT_USAGE
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(main())
