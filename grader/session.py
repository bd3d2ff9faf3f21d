"""One grading session: submissions x tests x seeds -> worker jobs -> Results.

    plan = Plan(impls=[("student", path)], tests=names, seeds=[1, 2, 3])
    results = run_plan(plan, workers=4, console=console)   # live progress
    results["student"]  -> Results

Used by ``raftlab test``, ``grade`` and ``batch``. Each implementation is
first loaded once in a worker (never in this process); if that fails, its
tests are recorded as errors carrying the load message, without running.
A global time budget (``deadline``) stops the session early: finished runs
are kept, the rest are recorded as ``not-run``, and the caller still writes
its result files.
"""

from __future__ import annotations

import platform
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .budget import Machine
from .integrity import Fingerprint
from .results import Results, TestRecord, part_of
from .runner import Job, WorkerPool, not_run


def raftlab_version() -> str:
    try:
        return metadata.version("raftlab")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class Plan:
    impls: list[tuple[str, Path]]   # (label shown in results and replay commands, file)
    tests: list[str]
    seeds: list[int]
    wall_seconds: float | None = None  # None: each test's cap, scaled to the machine
    memory_mb: int = 1024
    tail: int = 8
    command: str = ""
    log_level: str = "INFO"
    sandbox: bool = False  # graded runs: every server life in a sandbox
    html_dir: Path | None = None  # write the HTML timeline of every failed run here
    inspect: bool = False  # servers report debug_state() (extra monitors, richer timelines)
    machine: Machine | None = None  # this machine's speed, once run_plan measured it


def replay_command(test: str, seed: int, impl_label: str, *, sandbox: bool = False) -> str:
    """The command that reruns one run exactly, in the mode that ran it."""
    impl = "" if impl_label == "student" else f" --impl {shlex.quote(impl_label)}"
    return f"raftlab replay {test} --seed {seed}{impl}{' --sandbox' if sandbox else ''}"


def timeline_path(folder: Path, label: str, test: str, seed: int, *,
                  several: bool = False) -> Path:
    """Where ``--html-dir`` puts one run's timeline: FOLDER/test_x_seed3.html (in a
    subfolder per implementation when a plan has several)."""
    name = f"{test}_seed{seed}.html"
    if several:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "impl"
        return folder / safe / name
    return folder / name


def unloadable(label: str, tests: list[str], seeds: list[int], error: str, *,
               command: str = "", sandbox: bool = False) -> Results:
    """Results for a submission that cannot run: every test is an error with the reason."""
    res = Results(impl=label, python=platform.python_version(),
                  raftlab_version=raftlab_version(), command=command, load_error=error,
                  mode="sandboxed" if sandbox else "in-process")
    for seed in seeds:
        for test in tests:
            res.tests.append(TestRecord(name=test, part=part_of(test), seed=seed, kind="error",
                                        message=f"cannot load the implementation: {error}",
                                        replay=replay_command(test, seed, label,
                                                              sandbox=sandbox)))
    return res


def run_plan(plan: Plan, *, workers: int | None = None, console: Console | None = None,
             deadline: float | None = None,
             on_submission: Callable[[str, Results], None] | None = None,
             fingerprint: Fingerprint | None = None) -> dict[str, Results]:
    """Run every (implementation, test, seed); never raises for a bad submission.

    Jobs go submission by submission, so each finishes as early as it can:
    ``on_submission(label, results)`` is called as soon as a submission's last
    run is in (a batch writes its grade then). With a ``fingerprint``, the code
    that grades is checked before each submission's first run and after its
    last; if it changed, that submission and every one after it are left
    ungraded (``Results.stopped`` says why) and the rest of the jobs skipped.
    """
    out: dict[str, Results] = {}
    jobs: list[Job] = []
    order: dict[tuple[str, str, int], int] = {}  # a record's place: as its job's
    remaining: dict[str, int] = {}
    interrupted: list[bool] = []
    lock = threading.Lock()
    stopped: list[str] = []

    def verify() -> None:
        if fingerprint is not None and not stopped:
            problem = fingerprint.check()
            if problem is not None:
                stopped.append(problem)

    def finish(label: str) -> None:
        res = out[label]
        res.tests.sort(key=lambda r: order.get((label, r.name, r.seed), 0))
        if stopped:
            res.stopped = stopped[0]
            res.tests = [not_run_record(r, stopped[0]) for r in res.tests]
        res.interrupted = bool(interrupted)
        res.timed_out = (any(r.kind == "not-run" for r in res.tests)
                         and not stopped and not interrupted)
        if on_submission is not None:
            on_submission(label, res)

    with WorkerPool(workers, sandbox=plan.sandbox) as pool:
        for label, path in plan.impls:
            out[label] = Results(impl=label if label in ("student", "reference") else str(path),
                                 python=platform.python_version(),
                                 raftlab_version=raftlab_version(), command=plan.command,
                                 mode="sandboxed" if plan.sandbox else "in-process")
            error = pool.check_impl(str(path), memory_mb=plan.memory_mb)
            out[label].protections = dict(pool.protections)
            if error is not None:
                out[label] = unloadable(out[label].impl, plan.tests, plan.seeds, error,
                                        command=plan.command, sandbox=plan.sandbox)
                out[label].protections = dict(pool.protections)
                finish(label)
                continue
            spec = label if label in ("student", "reference") else str(path)
            remaining[label] = len(plan.seeds) * len(plan.tests)
            for seed in plan.seeds:
                for test in plan.tests:
                    order[(label, test, seed)] = len(jobs)
                    job: Job = {"impl": str(path), "label": label, "test": test,
                                "seed": seed, "memory_mb": plan.memory_mb,
                                "tail": plan.tail, "log_level": plan.log_level,
                                "inspect": plan.inspect,
                                "replay": replay_command(test, seed, spec,
                                                         sandbox=plan.sandbox)}
                    if plan.html_dir is not None:
                        job["html_path"] = str(timeline_path(plan.html_dir, label, test, seed,
                                                             several=len(plan.impls) > 1))
                    jobs.append(job)
        machine = plan.machine = Machine.measure() if jobs else None
        for job in jobs:
            job["wall"] = plan.wall_seconds or (
                round(machine.cap(job["test"], sandboxed=plan.sandbox), 1) if machine else 60.0)
        started: set[str] = set()

        def on_start(job: Job) -> None:
            with lock:
                if job["label"] not in started:
                    started.add(job["label"])
                    verify()

        def on_done(job: Job, rec: TestRecord) -> None:
            with lock:
                if interrupted:
                    return
                label = job["label"]
                html = job.get("html_path")
                if html and Path(html).is_file():
                    rec.timeline = html
                out[label].tests.append(rec)
                remaining[label] -= 1
                if remaining[label] == 0:
                    verify()
                    finish(label)

        def skip(job: Job) -> bool:
            return bool(stopped)

        try:
            _run_with_progress(pool, jobs, console, deadline, on_start, on_done, skip)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (cli): keep what is in
            with lock:
                interrupted.append(True)
                for job in jobs:
                    res = out[job["label"]]
                    if remaining.get(job["label"], 0) > 0 and not any(
                            r.name == job["test"] and r.seed == job["seed"] for r in res.tests):
                        res.tests.append(not_run(job, "interrupted"))
            pool.kill()
    with lock:
        for label, left in remaining.items():  # interrupted, or the global budget ran out
            if left > 0:
                remaining[label] = 0
                finish(label)
    return out


def not_run_record(rec: TestRecord, why: str) -> TestRecord:
    return TestRecord(name=rec.name, part=rec.part, seed=rec.seed, kind="not-run",
                      replay=rec.replay, message=f"not graded: {why}")


def _run_with_progress(pool: WorkerPool, jobs: list[Job], console: Console | None,
                       deadline: float | None, on_start: Callable[[Job], None],
                       on_done: Callable[[Job, TestRecord], None],
                       skip: Callable[[Job], bool]) -> list[TestRecord]:
    if console is None or not jobs:
        return pool.run(jobs, deadline=deadline, on_start=on_start, on_done=on_done, skip=skip)
    failures = 0
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), console=console, transient=True)
    with progress:
        task = progress.add_task("running", total=len(jobs), status="")

        def done(job: Job, rec: TestRecord) -> None:
            nonlocal failures
            on_done(job, rec)
            failures += rec.counts_against
            status = f"[red]{failures} failing[/]" if failures else "[green]all passing[/]"
            progress.update(task, advance=1, status=f"{status}  last: {rec.name} "
                            f"seed {rec.seed} {rec.kind}")

        return pool.run(jobs, on_start=on_start, on_done=done, deadline=deadline, skip=skip)
