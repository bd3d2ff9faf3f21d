"""Rubrics: point splits, per-test overrides, the multiple-seed policies, that
raftlab's own errors never cost points, and the optional part 2E: a bonus on top
of the maximum by default, required with ``bonus = false``, not run when left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import suite_index
from grader.results import CORE_PARTS, OPTIONAL_PARTS, PARTS, Results, part_of
from grader.rubric import RubricError, load_rubric
from grader.suite_index import OPTIONAL_MODULES, all_tests, select

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


# ------------------------------------------------------------ the optional part 2E

CORE = ("test_a_2a", "test_b_2b", "test_c_2c", "test_d_2d")
OPTIONAL = ("test_deaf_leader_2e", "test_mute_leader_2e")
FIVE_PARTS = "".join(f"[parts.{p}]\npoints = {n}\n" for p, n in
                     (("2A", 20), ("2B", 30), ("2C", 30), ("2D", 20)))


def _every_part(failing: tuple[str, ...] = ()) -> Results:
    """One run of one test of each of 2A-2D and two of 2E, all passing but ``failing``."""
    return _results(*(record(name, 1, "failed" if name in failing else "passed",
                             message="x" if name in failing else None)
                      for name in (*CORE, *OPTIONAL)))


def _rubric(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


def test_2e_is_a_known_optional_part() -> None:
    assert (*CORE_PARTS, *OPTIONAL_PARTS) == PARTS and OPTIONAL_PARTS == ("2E",)
    assert part_of("test_x_2e") == "2E" and part_of("test_deaf_follower_unreliable_2e") == "2E"
    assert part_of("test_x_2f") == "?"


def test_the_default_rubric_grades_2e_as_a_10_point_bonus() -> None:
    rubric = load_rubric(None)
    assert rubric.part_points["2E"] == 10.0 and rubric.bonus_parts == {"2E"}
    assert sum(p for part, p in rubric.part_points.items() if part not in rubric.bonus_parts) \
        == 100.0
    assert rubric.points_for(list(OPTIONAL)) == {name: 5.0 for name in OPTIONAL}
    assert rubric.is_bonus("test_deaf_leader_2e") and not rubric.is_bonus("test_a_2a")
    assert rubric.graded([*CORE, *OPTIONAL]) == [*CORE, *OPTIONAL]  # 2E runs


def test_bonus_points_go_on_top_of_the_maximum() -> None:
    grade = load_rubric(None).grade(_every_part())
    assert (grade["total"], grade["max"], grade["bonus"], grade["bonus_max"]) == \
        (110.0, 100.0, 10.0, 10.0)
    assert grade["parts"]["2E"] == {"score": 10.0, "max": 10.0, "bonus": True}
    assert grade["parts"]["2A"] == {"score": 20.0, "max": 20.0, "bonus": False}
    assert {t["name"]: t["bonus"] for t in grade["tests"]} == {
        **{name: False for name in CORE}, **{name: True for name in OPTIONAL}}


def test_a_failed_bonus_costs_nothing_and_a_bonus_does_not_make_up_the_maximum() -> None:
    grade = load_rubric(None).grade(_every_part(failing=("test_mute_leader_2e",)))
    assert (grade["total"], grade["max"], grade["bonus"]) == (105.0, 100.0, 5.0)
    grade = load_rubric(None).grade(_every_part(failing=OPTIONAL))
    assert (grade["total"], grade["max"], grade["bonus"]) == (100.0, 100.0, 0.0)
    grade = load_rubric(None).grade(_every_part(failing=("test_a_2a",)))
    assert (grade["total"], grade["max"], grade["bonus"]) == (90.0, 100.0, 10.0)


def test_bonus_false_makes_2e_count_in_the_maximum(tmp_path: Path) -> None:
    rubric = load_rubric(_rubric(tmp_path, FIVE_PARTS + "[parts.2E]\npoints = 10\n"
                                           "bonus = false\n"))
    assert rubric.bonus_parts == set()
    grade = rubric.grade(_every_part(failing=("test_mute_leader_2e",)))
    assert (grade["total"], grade["max"], grade["bonus"], grade["bonus_max"]) == \
        (105.0, 110.0, 0.0, 0.0)
    assert grade["parts"]["2E"] == {"score": 5.0, "max": 10.0, "bonus": False}
    # no bonus key at all: the same
    rubric = load_rubric(_rubric(tmp_path, FIVE_PARTS + "[parts.2E]\npoints = 10\n"))
    assert rubric.grade(_every_part())["max"] == 110.0


@pytest.mark.parametrize("table", ["", "[parts.2E]\npoints = 0\nbonus = true\n",
                                   "[parts.2e]\npoints = 0\n"])
def test_a_rubric_without_2e_does_not_run_it(tmp_path: Path, table: str) -> None:
    rubric = load_rubric(_rubric(tmp_path, FIVE_PARTS + table))
    suite = [*CORE, *OPTIONAL]
    rubric.check_suite(suite)
    assert rubric.graded(suite) == list(CORE)
    grade = rubric.grade(_results(*(record(name, 1) for name in CORE)))
    assert (grade["total"], grade["max"], grade["bonus"], grade["bonus_max"]) == \
        (100.0, 100.0, 0.0, 0.0)
    assert "2E" not in grade["parts"]


def test_a_test_with_its_own_points_runs_even_if_its_part_has_none(tmp_path: Path) -> None:
    rubric = load_rubric(_rubric(tmp_path, "[parts.2A]\npoints = 20\n"
                                           "[tests.test_deaf_leader_2e]\npoints = 3\n"))
    assert rubric.graded([*CORE, *OPTIONAL]) == ["test_a_2a", "test_deaf_leader_2e"]


@pytest.mark.parametrize(("text", "complaint"), [
    ("[parts.2E]\npoints = 10\nbonus = \"yes\"\n", r"parts\.2E\.bonus must be true .* not 'yes'"),
    ("[parts.2E]\npoints = 10\nbonus = 1\n", r"parts\.2E\.bonus must be true .* not 1"),
    ("[tests.test_deaf_leader_2e]\npoints = 1\nbonus = true\n",
     r"tests\.test_deaf_leader_2e\.bonus: .*\[parts\.2E\]"),
    ("[parts]\n2E = 10\n", r"parts\.2E must be a table"),
    ("[parts.2F]\npoints = 10\nbonus = true\n", "unknown part .*2A, 2B, 2C, 2D, 2E"),
])
def test_bad_bonus_settings_are_refused(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(RubricError, match=complaint):
        load_rubric(_rubric(tmp_path, text))


@pytest.mark.parametrize(("text", "complaint"), [
    ("[parts.2E]\npoints = 10\nbouns = false\n", r"unknown key parts\.2E\.'bouns'"),
    ("[tests.test_backup_2b]\npoint = 5\n", r"unknown key tests\.test_backup_2b\.'point'"),
    ("[policy]\nseed = 5\n", r"unknown key policy\.'seed'; the keys here are seeds, "),
    ("[polcy]\nseeds = 5\n", r"unknown key 'polcy'"),
])
def test_misspelt_keys_are_refused(tmp_path: Path, text: str, complaint: str) -> None:
    """A typo must not silently change a grade (bouns = false would leave 2E a bonus)."""
    with pytest.raises(RubricError, match=complaint):
        load_rubric(_rubric(tmp_path, text))


@pytest.mark.parametrize(("text", "suite", "complaint"), [
    (FIVE_PARTS + "[parts.2E]\npoints = 10\nbonus = true\n", CORE,
     r"\[parts\.2E\] gives 10 points but this installation has no 2E tests"),
    (FIVE_PARTS + "[tests.test_no_such_2b]\npoints = 5\n", CORE,
     r"\[tests\.test_no_such_2b\] names no test"),
    ("[parts.2A]\npoints = 0\n", CORE, "gives no test any points"),
])
def test_a_rubric_that_does_not_fit_the_suite_is_refused(tmp_path: Path, text: str,
                                                        suite: tuple[str, ...],
                                                        complaint: str) -> None:
    rubric = load_rubric(_rubric(tmp_path, text))
    with pytest.raises(RubricError, match=complaint):
        rubric.check_suite(list(suite))


def test_the_default_rubric_fits_the_suite() -> None:
    load_rubric(None).check_suite(list(all_tests()) + list(OPTIONAL))
    assert OPTIONAL_MODULES == ("grader.suite.test_2e",)


def test_the_2e_module_is_indexed_and_selected_as_the_optional_part(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def lab_test(make_config: object) -> None:
        pass

    fake = {"grader.suite.test_2a": ["test_initial_election_2a"],
            "grader.suite.test_scenarios": ["test_stale_leader_2b"],
            "grader.suite.test_2e": ["test_deaf_follower_2e", "test_deaf_leader_2e",
                                     "test_deaf_leader_unreliable_2e"]}
    monkeypatch.setattr(suite_index, "_tests_of",
                        lambda module: [(n, lab_test) for n in fake.get(module, [])])
    index = suite_index._index.__wrapped__()  # type: ignore[attr-defined]
    monkeypatch.setattr(suite_index, "_index", lambda: index)
    assert suite_index.group_of("test_deaf_leader_2e") == "optional"
    assert select(["2E"]) == fake["grader.suite.test_2e"]
    assert select(["2e", "2A"]) == ["test_initial_election_2a", *fake["grader.suite.test_2e"]]
    assert select([]) == [*fake["grader.suite.test_2a"], *fake["grader.suite.test_scenarios"],
                          *fake["grader.suite.test_2e"]]  # everything: 2E last
    assert select(["deaf_leader"]) == ["test_deaf_leader_2e"]
