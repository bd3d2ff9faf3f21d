"""Rubrics: point splits, per-test overrides, the multiple-seed policies, and that
raftlab's own errors never cost points."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.results import Results
from grader.rubric import RubricError, load_rubric

from .sample import record


def _results(*recs: object) -> Results:
    return Results(impl="student", tests=list(recs))  # type: ignore[arg-type]


def test_default_rubric_splits_each_part_equally() -> None:
    rubric = load_rubric(None)
    points = rubric.points_for(["test_a_2a", "test_b_2a", "test_c_2b"])
    assert points == {"test_a_2a": 10.0, "test_b_2a": 10.0, "test_c_2b": 30.0}
    assert rubric.seeds() == [1, 2, 3]


def test_all_seeds_policy_gives_nothing_for_a_flaky_test() -> None:
    res = _results(record("test_a_2a", 1), record("test_a_2a", 2, "failed", message="x"))
    grade = load_rubric(None).grade(res)
    (t,) = grade["tests"]
    assert (t["score"], t["status"], t["failing_seeds"]) == (0.0, "failed", [2])


def test_fraction_policy_and_test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[policy]\nmultiple_seeds = "fraction"\nseed_list = [7, 9]\n'
                    '[parts.2A]\npoints = 10\n[tests.test_b_2a]\npoints = 4\n')
    rubric = load_rubric(path)
    assert rubric.seeds() == [7, 9]
    res = _results(record("test_a_2a", 7), record("test_a_2a", 9, "error", message="x"),
                   record("test_b_2a", 7), record("test_b_2a", 9))
    grade = rubric.grade(res)
    scores = {t["name"]: t["score"] for t in grade["tests"]}
    assert scores == {"test_a_2a": 3.0, "test_b_2a": 4.0}  # 6 points x 1/2, and 4
    assert grade["total"] == 7.0 and grade["max"] == 10.0


def test_harness_errors_and_unrun_jobs_never_cost_points() -> None:
    res = _results(record("test_a_2a", 1), record("test_a_2a", 2, "harness-error"),
                   record("test_a_2a", 3, "not-run"))
    (t,) = load_rubric(None).grade(res)["tests"]
    assert t["status"] == "passed" and t["score"] == t["max_score"] == 20.0
    assert (t["runs"], t["ungraded_runs"]) == (1, 2)


@pytest.mark.parametrize(("text", "complaint"), [
    ("[parts.2Z]\npoints = 3\n", "unknown part"),
    ("[policy]\nmultiple_seeds = \"most\"\n", "multiple_seeds must be one of"),
    ("[parts.2A]\npoints = -1\n", "non-negative"),
    ("[policy]\nseed_list = []\n", "seed_list"),
    ("not toml [", "not valid TOML"),
])
def test_bad_rubrics_are_refused_with_the_key_and_the_fix(tmp_path: Path, text: str,
                                                          complaint: str) -> None:
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(RubricError, match=complaint):
        load_rubric(path)
