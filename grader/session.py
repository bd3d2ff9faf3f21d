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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .results import Results, TestRecord, part_of
from .runner import Job, WorkerPool


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
    wall_seconds: float = 60.0
    memory_mb: int = 1024
    tail: int = 8
    command: str = ""
    log_level: str = "INFO"
    sandbox: bool = False  # graded runs: every server life in a sandbox


def replay_command(test: str, seed: int, impl_label: str, *, sandbox: bool = False) -> str:
    """The command that reruns one run exactly, in the mode that ran it."""
    impl = "" if impl_label == "student" else f" --impl {shlex.quote(impl_label)}"
    return f"raftlab replay {test} --seed {seed}{impl}{' --sandbox' if sandbox else ''}"


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
             deadline: float | None = None) -> dict[str, Results]:
    """Run every (implementation, test, seed); never raises for a bad submission."""
    out: dict[str, Results] = {}
    jobs: list[Job] = []
    with WorkerPool(workers, sandbox=plan.sandbox) as pool:
        for label, path in plan.impls:
            out[label] = Results(impl=label if label in ("student", "reference") else str(path),
                                 python=platform.python_version(),
                                 raftlab_version=raftlab_version(), command=plan.command,
                                 mode="sandboxed" if plan.sandbox else "in-process")
            error = pool.check_impl(str(path), memory_mb=plan.memory_mb)
            if error is not None:
                out[label] = unloadable(out[label].impl, plan.tests, plan.seeds, error,
                                        command=plan.command, sandbox=plan.sandbox)
                continue

            spec = label if label in ("student", "reference") else str(path)
            for seed in plan.seeds:
                for test in plan.tests:
                    jobs.append({"impl": str(path), "label": label, "test": test, "seed": seed,
                                 "wall": plan.wall_seconds, "memory_mb": plan.memory_mb,
                                 "tail": plan.tail, "log_level": plan.log_level,
                                 "replay": replay_command(test, seed, spec,
                                                          sandbox=plan.sandbox)})
        records = _run_with_progress(pool, jobs, console, deadline)
    for job, rec in zip(jobs, records, strict=True):
        out[job["label"]].tests.append(rec)
    for res in out.values():
        res.timed_out = any(r.kind == "not-run" for r in res.tests)
    return out


def _run_with_progress(pool: WorkerPool, jobs: list[Job], console: Console | None,
                       deadline: float | None) -> list[TestRecord]:
    if console is None or not jobs:
        return pool.run(jobs, deadline=deadline)
    failures = 0
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), console=console, transient=True)
    with progress:
        task = progress.add_task("running", total=len(jobs), status="")

        def done(job: Job, rec: TestRecord) -> None:
            nonlocal failures
            failures += rec.counts_against
            status = f"[red]{failures} failing[/]" if failures else "[green]all passing[/]"
            progress.update(task, advance=1, status=f"{status}  last: {rec.name} "
                            f"seed {rec.seed} {rec.kind}")

        return pool.run(jobs, on_done=done, deadline=deadline)
