"""Golden tests of the rich report, rendered to text at a fixed width.

Regenerate after a deliberate format change with
    RAFTLAB_UPDATE_GOLDEN=1 python -m pytest tests/grader/test_report.py
and review the diff of tests/grader/golden/.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import jsonschema
import pytest

from grader import exports, report
from grader.batch import CSV_FIELDS, csv_row
from grader.exports import GRADESCOPE_SCHEMA_PATH
from grader.results import SCHEMA_PATH, Results
from grader.rubric import load_rubric
from harness import TRACE_KINDS

from .sample import many_seeds, record, single_seed

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


# ------------------------------------------------------------ the optional part 2E


def _with_2e(*, failing_2e: bool) -> Results:
    """Every core part passing (one test each, three seeds) and two 2E tests."""
    tests = []
    for seed in (1, 2, 3):
        for name in ("test_initial_election_2a", "test_backup_2b", "test_persist1_2c",
                     "test_snapshot_basic_2d", "test_deaf_leader_2e", "test_mute_leader_2e"):
            bad = failing_2e and name.endswith("_2e") and seed == 2
            tests.append(record(name, seed, "failed" if bad else "passed",
                                message="expected one leader, got none" if bad else None))
    return Results(impl="student", python="3.11.7", raftlab_version="0.1.0", tests=tests)


def test_bonus_grade_table_matches_golden() -> None:
    grade = load_rubric(None).grade(_with_2e(failing_2e=False))
    text = report.to_text(report.grade_table(grade), width=WIDTH, ansi=False)
    _check("grade_bonus", text)
    assert "part 2E (bonus)" in text and "2E (bonus)" in text
    assert "100.00 + 10.00 bonus / 100.00" in text


def test_a_failed_bonus_shows_zero_bonus_on_top_of_full_marks() -> None:
    grade = load_rubric(None).grade(_with_2e(failing_2e=True))
    text = report.to_text(report.grade_table(grade), width=WIDTH, ansi=False)
    assert "100.00 + 0.00 bonus / 100.00" in text
    assert "0.00 / 10.00" in text  # part 2E (bonus)


def test_a_required_2e_is_graded_like_any_part(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text("".join(f"[parts.{p}]\npoints = 20\n" for p in ("2A", "2B", "2C", "2D",
                                                                     "2E")) + "bonus = false\n")
    grade = load_rubric(path).grade(_with_2e(failing_2e=True))
    text = report.to_text(report.grade_table(grade), width=WIDTH, ansi=False)
    assert "bonus" not in text
    assert "80.00 / 100.00" in text


def test_the_optional_part_is_counted_apart_in_the_summary() -> None:
    res = _with_2e(failing_2e=True)
    text = report.to_text(report.summary_line(res), width=WIDTH, ansi=False)
    assert text.splitlines() == [
        "16 passed, 2 failed of 18 runs (6 tests)",
        "  parts 2A-2D: 12 passed of 12 runs",
        "  optional part 2E (a bonus in the default rubric): 4 passed, 2 failed of 6 runs"]
    only = Results(impl="student", tests=[r for r in res.tests if r.part == "2E"])
    text = report.to_text(report.summary_line(only), width=WIDTH, ansi=False)
    assert text.splitlines() == [
        "4 passed, 2 failed of 6 runs (2 tests)",
        "  optional part 2E (a bonus in the default rubric): 4 passed, 2 failed of 6 runs"]


def test_the_optional_part_comes_last_in_the_table_after_a_rule() -> None:
    for res in (_with_2e(failing_2e=False),
                Results(impl="student", tests=[r for r in _with_2e(failing_2e=False).tests
                                               if r.seed == 1])):
        lines = report.to_text(report.results_table(res), width=WIDTH, ansi=False).splitlines()
        d = next(i for i, line in enumerate(lines) if "test_snapshot_basic_2d" in line)
        e = next(i for i, line in enumerate(lines) if "test_deaf_leader_2e" in line)
        assert e == d + 2 and not lines[d + 1].strip()


def test_part_span_names_a_run_of_parts_as_a_range() -> None:
    assert report.part_span(["2D", "2A", "2B", "2C", "2A"]) == "2A-2D"
    assert report.part_span(["2A", "2C"]) == "2A, 2C"
    assert report.part_span(["2B", "2C"]) == "2B, 2C"
    assert report.part_span(["2E"]) == "2E"


def test_csv_keeps_its_columns_and_adds_the_bonus_at_the_end() -> None:
    assert CSV_FIELDS[:14] == ["student", "score", "max", "2A", "2B", "2C", "2D", "runs",
                               "passed", "failed", "errors", "internal_errors", "not_run",
                               "problem"]
    assert CSV_FIELDS[14:] == ["2E", "bonus", "bonus_max"]
    res = _with_2e(failing_2e=False)
    res.grade = load_rubric(None).grade(res)
    row = csv_row("alice", res)
    assert set(row) == set(CSV_FIELDS)
    assert (row["score"], row["max"], row["2A"], row["2E"], row["bonus"], row["bonus_max"]) == \
        (110.0, 100.0, 20.0, 10.0, 10.0, 10.0)
    res = many_seeds()  # no 2E tests: the bonus columns are zero
    res.grade = load_rubric(None).grade(res)
    row = csv_row("bob", res)
    assert (row["2E"], row["bonus"], row["bonus_max"]) == (0, 0.0, 0.0)


def test_gradescope_score_may_exceed_the_maximum_and_bonus_tests_say_so() -> None:
    res = _with_2e(failing_2e=True)
    res.grade = load_rubric(None).grade(res)
    data = exports.gradescope(res, res.grade, 1.5)
    jsonschema.validate(data, json.loads(GRADESCOPE_SCHEMA_PATH.read_text(encoding="utf-8")))
    jsonschema.validate(res.to_dict(), json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert data["score"] == 100.0  # the 2E tests failed on seed 2: no bonus
    res = _with_2e(failing_2e=False)
    res.grade = load_rubric(None).grade(res)
    data = exports.gradescope(res, res.grade, 1.5)
    assert data["score"] == 110.0
    assert "100.00 + 10.00 bonus / 100.00" in data["output"]
    by_name = {t["name"]: t for t in data["tests"]}
    core = by_name["2A: test_initial_election_2a"]
    assert "bonus" not in core["output"] and core["tags"] == ["2A"]
    bonus = by_name["2E (bonus): test_deaf_leader_2e"]
    assert (bonus["score"], bonus["max_score"], bonus["number"]) == (5.0, 5.0, "5.1")
    assert bonus["tags"] == ["2E", "bonus"]
    assert bonus["output"].startswith("(bonus) part 2E is a bonus: its points are added on "
                                      "top of the maximum of 100")
    assert sum(t["max_score"] for t in data["tests"]) == 110.0


def test_the_results_schema_names_every_kind_of_trace_event() -> None:
    """A trace tail in the results JSON may hold any event the trace records."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    kinds = schema["$defs"]["event"]["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(TRACE_KINDS)
