"""``raftlab batch``: grade a folder of submissions into a CSV and per-student JSON.

    DIR/alice/raft.py, DIR/bob/raft.py, ...  ->  grades.csv, grades-json/alice.json, ...

Every submission's jobs share one pool of workers, so the batch uses every core,
and go submission by submission: each submission's JSON and its CSV row are
written the moment its last run is in. A submission that does not load, hangs,
crashes or is missing costs only itself: it gets its row (zero points and the
reason) and the batch carries on; if the grader itself is killed, every
submission graded until then keeps its grade on disk. Graded in sandboxes, with
the code that grades checked before and after each submission
(``grader.integrity``).
"""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import exports, report
from .integrity import Fingerprint, IntegrityError, protect_for_sandboxes
from .results import CORE_PARTS, OPTIONAL_PARTS, PARTS, Results
from .rubric import Rubric
from .session import Plan, run_plan, unloadable
from .suite_index import select

CSV_FIELDS = ["student", "score", "max", *CORE_PARTS, "runs", "passed", "failed", "errors",
              "internal_errors", "not_run", "problem", *OPTIONAL_PARTS, "bonus", "bonus_max"]
"""Columns instructors' scripts read: new ones go at the end. ``score`` is the grade's
total, bonus points included (it may exceed ``max``, which leaves bonus parts out);
``bonus`` and ``bonus_max`` are the bonus points earned and available."""


class BatchError(ValueError):
    """The batch itself cannot run (no submissions found, unwritable output)."""


def discover(folder: Path) -> list[tuple[str, Path | None]]:
    """(student, raft.py or None if missing) for each subfolder, sorted by name."""
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    subs: list[tuple[str, Path | None]] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        direct = sub / "raft.py"
        found = direct if direct.is_file() else next(iter(sorted(sub.rglob("raft.py"))), None)
        subs.append((sub.name, found))
    if not subs:
        raise BatchError(f"no submissions in {folder}: expected one subfolder per student, "
                         "each holding raft.py")
    return subs


def csv_row(student: str, results: Results) -> dict[str, object]:
    grade = results.grade or {}
    summary = results.summary()
    parts = grade.get("parts", {})
    first = next((r for r in results.tests if r.counts_against), None)
    problem = results.stopped or results.load_error or (
        "interrupted before the end: grade again" if results.interrupted else "") or (
        "time budget ran out" if results.timed_out else "") or (
        f"{first.name}: {first.message}" if first and first.message else "")
    return {"student": student, "score": grade.get("total", 0), "max": grade.get("max", 0),
            **{p: parts.get(p, {}).get("score", 0) for p in PARTS},
            "runs": summary["runs"], "passed": summary["passed"], "failed": summary["failed"],
            "errors": summary["error"], "internal_errors": summary["harness_error"],
            "not_run": summary["not_run"], "problem": problem,
            "bonus": grade.get("bonus", 0), "bonus_max": grade.get("bonus_max", 0)}


def run_batch(folder: Path, csv_path: Path, out_dir: Path | None, rubric: Rubric, *,
              workers: int | None, console: Console, deadline: float | None) -> int:
    """Grade every submission; write each one's JSON and the CSV as soon as it is
    graded, so nothing that happens later (a hostile submission, a killed
    grader) can cost the others their grades. Returns the exit status."""
    subs = discover(folder)
    out_dir = out_dir or csv_path.with_name(csv_path.stem + "-json")
    tests = rubric.graded(select([]))
    try:
        notes = protect_for_sandboxes(private=[folder])
    except IntegrityError as e:
        raise BatchError(str(e)) from None
    for note in notes:
        console.print(note)
    fingerprint = Fingerprint.take(Path(rubric.source))
    present = [(student, path) for student, path in subs if path is not None]
    plan = Plan(impls=present, tests=tests, seeds=rubric.seeds(),
                wall_seconds=rubric.wall_seconds, memory_mb=rubric.memory_mb,
                command=f"raftlab batch {folder}", sandbox=True)
    console.print(f"grading {len(subs)} submissions: {len(tests)} tests x "
                  f"{len(rubric.seeds())} seeds each")
    rows: dict[str, dict[str, object]] = {}
    lock = threading.Lock()

    def write_csv() -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows[s] for s in sorted(rows))
        exports.write_atomically(csv_path, buffer.getvalue())

    def record(student: str, res: Results) -> None:
        res.grade = rubric.grade(res)
        with lock:
            exports.write_results_json(res, out_dir / f"{student}.json")
            rows[student] = csv_row(student, res)
            write_csv()

    for student, path in subs:
        if path is None:
            record(student, unloadable(student, tests, rubric.seeds(),
                                       "no raft.py in this submission", sandbox=True))
    graded: dict[str, Results] = {}
    try:
        graded = run_plan(plan, workers=workers, console=console, deadline=deadline,
                          on_submission=record, fingerprint=fingerprint)
    finally:
        for student, path in subs:
            if student not in rows:  # interrupted before its turn
                record(student, unloadable(str(path), tests, rubric.seeds(),
                                           "not graded (interrupted)", sandbox=True))
    table = Table(title=f"Batch: {folder}", title_justify="left")
    columns = ("student", "score", "max", *PARTS, "bonus", "problem")
    for name in columns:
        table.add_column(name, justify="left" if name in ("student", "problem") else "right")
    for student in sorted(rows):
        row = rows[student]
        table.add_row(*(f"{row[k]:g}" if isinstance(row[k], float) else str(row[k])
                        for k in columns))
    report.print_table(console, table)
    console.print(f"wrote {csv_path} and {len(rows)} JSON files in {out_dir}")
    stopped = next((r.stopped for r in graded.values() if r.stopped), None)
    if stopped:
        console.print(f"[bold red]{stopped}[/]")
        return 3
    return 0
