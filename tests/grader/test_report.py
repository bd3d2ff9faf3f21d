"""Golden tests of the rich report, rendered to text at a fixed width.

Regenerate after a deliberate format change with
    RAFTLAB_UPDATE_GOLDEN=1 python -m pytest tests/grader/test_report.py
and review the diff of tests/grader/golden/.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from grader import report
from grader.rubric import load_rubric

from .sample import many_seeds, single_seed

GOLDEN = Path(__file__).with_name("golden")
WIDTH = 100


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("RAFTLAB_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with RAFTLAB_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_single_seed_table_matches_golden() -> None:
    res = single_seed()
    _check("single_seed", report.to_text([report.results_table(res), report.summary_line(res)],
                                         width=WIDTH, ansi=False))


def test_many_seed_table_shows_passes_spread_and_failing_seeds() -> None:
    res = many_seeds()
    text = report.to_text(report.results_table(res), width=WIDTH, ansi=False)
    _check("many_seeds", text)
    assert "2/3" in text and "3/3" in text


def test_failure_panel_matches_golden() -> None:
    rec = single_seed().tests[1]
    text = report.to_text(report.failure_panel(rec), width=WIDTH, ansi=False)
    _check("failure_panel", text)
    for must in ("FAILED", "one(106) failed to reach agreement", "seed 1",
                 "raftlab replay test_fail_agree_2b --seed 1", "S0", "S1", "S2", "tester",
                 "dropped → None"):
        assert must in text


def test_internal_errors_say_they_cost_no_points() -> None:
    rec = single_seed().tests[3]
    text = report.to_text(report.failure_panel(rec), width=WIDTH, ansi=False)
    assert "costs no points" in text


def test_grade_table_matches_golden() -> None:
    res = many_seeds()
    grade = load_rubric(None).grade(res)
    _check("grade", report.to_text(report.grade_table(grade), width=WIDTH, ansi=False))


def test_ansi_rendering_has_colours() -> None:
    text = report.to_text(report.failure_panel(single_seed().tests[1]), width=WIDTH)
    assert "\x1b[" in text


@pytest.mark.parametrize("module", ["report", "results", "traceview", "exports"])
def test_renderer_never_imports_the_harness_or_pytest(module: str) -> None:
    source = (Path(report.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & {"harness", "pytest"}, imported
