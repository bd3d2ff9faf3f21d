"""Writing results for other tools: our JSON, Gradescope's results.json, JUnit XML.

    write_results_json(results, path)
    gradescope(results, grade, execution_time) -> dict   (Gradescope's format)
    junit_xml(results) -> str
    write_atomically(path, text)                          never a half-written file

Gradescope's format (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
a top level ``score``, ``execution_time``, ``output`` (+ ``output_format``),
``test_output_format``, ``visibility``, ``stdout_visibility`` and ``tests``,
each with ``name``, ``number``, ``score``, ``max_score``, ``status``,
``output``, ``tags`` and ``visibility``. Outputs use the ``ansi`` format, so
rich's colours show on Gradescope as in a terminal.

Bonus parts (the default rubric's 2E): the top-level ``score`` is the grade's
total, bonus included, so it may exceed the assignment's maximum (Gradescope
shows it as extra credit); a bonus test's entry keeps its ``max_score``, says
"(bonus)" in its name and output, and is tagged ``bonus``.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rich.text import Text

from . import report
from .integrity import is_root, private_mode
from .results import PARTS, Results

GRADESCOPE_SCHEMA_PATH = Path(__file__).with_name("gradescope.schema.json")


def write_atomically(path: str | Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file.
    As root, results are private (0600, new folders 0700): sandboxes run as
    another user and must not read them."""
    path = Path(path)
    _make_folders(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            os.fchmod(f.fileno(), private_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make_folders(folder: Path) -> None:
    """``mkdir -p``, each new folder private as root (0700)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(mode=0o700 if is_root() else 0o777, exist_ok=True)


def write_results_json(results: Results, path: str | Path) -> None:
    write_atomically(path, results.to_json() + "\n")


def gradescope(results: Results, grade: dict[str, Any], execution_time: float) -> dict[str, Any]:
    """Gradescope's results.json for a graded run."""
    failures = {r.name: r for r in report.first_failures(results)}
    tests = []
    within: dict[str, int] = {}
    for t in grade["tests"]:
        within[t["part"]] = within.get(t["part"], 0) + 1
        section = PARTS.index(t["part"]) + 1 if t["part"] in PARTS else len(PARTS) + 1
        recs = results.by_test().get(t["name"], [])
        description = next((r.description for r in recs if r.description), "")
        lines = [f"{description}\n" if description else "",
                 f"passed on {t['passes']} of {t['runs']} seeds"
                 + (f" (failing seeds: {', '.join(map(str, t['failing_seeds']))})"
                    if t["failing_seeds"] else "")]
        if t["ungraded_runs"]:
            lines.append(f"\n{t['ungraded_runs']} runs not graded (raftlab internal error or "
                         "time budget); they cost no points")
        output = "".join(lines) + "\n"
        bonus = bool(t.get("bonus"))
        if bonus:
            output = (f"(bonus) part {t['part']} is a bonus: its points are added on top of "
                      f"the maximum of {grade['max']:g}\n") + output
        if t["name"] in failures:
            output += report.to_text(report.failure_panel(failures[t["name"]]), width=110)
        tests.append({
            "name": f"{t['part']}{' (bonus)' if bonus else ''}: {t['name']}",
            "number": f"{section}.{within[t['part']]}",
            "score": t["score"],
            "max_score": t["max_score"],
            "status": "passed" if t["status"] == "passed" else "failed",
            "output": output,
            "output_format": "ansi",
            "tags": [t["part"], "bonus"] if bonus else [t["part"]],
            "visibility": "visible",
        })
    head = [report.summary_line(results)]
    if results.load_error:
        head.insert(0, Text(f"cannot load raft.py: {results.load_error}", style="bold red"))
    summary = report.to_text([*head, report.grade_table(grade)], width=110)
    return {
        "score": grade["total"],
        "execution_time": round(execution_time, 2),
        "output": summary,
        "output_format": "ansi",
        "test_output_format": "ansi",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def junit_xml(results: Results) -> str:
    """JUnit XML: one testcase per run (test and seed)."""
    suite = ET.Element("testsuite", name="raftlab", tests=str(len(results.tests)))
    failures = errors = skipped = 0
    total_time = 0.0
    for r in results.tests:
        total_time += r.wall_time
        case = ET.SubElement(suite, "testcase", classname=f"raftlab.{r.part}",
                             name=f"{r.name}[seed={r.seed}]", time=f"{r.wall_time:.3f}")
        body = "\n".join(x for x in (r.where, r.line, r.replay and f"replay: {r.replay}",
                                     r.details) if x)
        if r.kind == "failed":
            failures += 1
            ET.SubElement(case, "failure", message=r.message or "").text = body
        elif r.kind == "error":
            errors += 1
            ET.SubElement(case, "error", message=r.message or "").text = body
        elif r.kind in ("harness-error", "not-run"):
            skipped += 1
            ET.SubElement(case, "skipped", message=r.message or r.kind).text = body
        props = ET.SubElement(case, "properties")
        for key in ("seed", "sim_time", "peers", "rpcs", "bytes", "commits"):
            ET.SubElement(props, "property", name=key, value=str(getattr(r, key)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{total_time:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
