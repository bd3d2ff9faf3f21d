"""Wall-clock caps scaled to the machine (grader/budget.py), and the reference's
figures they come from."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from grader import budget
from grader.budget import FIGURES, FLOOR, MULTIPLE, SEEDS, WARN_SHARE, Machine
from grader.suite_index import all_tests

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"sim_time", "rpcs", "commits", "wall_in_process", "wall_sandboxed",
        "wall_in_process_max", "wall_sandboxed_max"}


def test_the_figures_cover_every_test_with_every_figure() -> None:
    """Regenerate with `raftlab bench --figures` after the suite or the reference changes."""
    assert list(FIGURES["tests"]) == list(all_tests())
    assert FIGURES["seeds"] == SEEDS and FIGURES["calibration"] > 0
    for name, figures in FIGURES["tests"].items():
        assert set(figures) == KEYS, name
        assert 0 < figures["wall_in_process"] <= figures["wall_in_process_max"], name
        assert 0 < figures["wall_sandboxed"] <= figures["wall_sandboxed_max"], name


def test_the_handouts_table_is_made_from_the_figures() -> None:
    handout = (ROOT / "HANDOUT.md").read_text(encoding="utf-8")
    assert budget.figures_table(FIGURES) in handout, (
        "HANDOUT.md's reference figures table is stale: run `raftlab bench --figures`")
    assert budget.rewrite_table(handout, FIGURES) == handout
    for name in all_tests():
        assert f"| `{name}` |" in budget.figures_table(FIGURES)


def test_rewrite_table_replaces_only_the_table_and_needs_its_markers() -> None:
    text = f"before\n{budget.TABLE_BEGIN}\nold rows\n{budget.TABLE_END}\nafter\n"
    new = budget.rewrite_table(text, FIGURES)
    assert new.startswith("before\n") and new.endswith("\nafter\n") and "old rows" not in new
    with pytest.raises(ValueError, match="markers"):
        budget.rewrite_table("no table here", FIGURES)


def heaviest(test: str, *, sandboxed: bool) -> float:
    key = "wall_sandboxed_max" if sandboxed else "wall_in_process_max"
    return float(FIGURES["tests"][test][key])


@pytest.mark.parametrize("sandboxed", [False, True])
def test_a_cap_is_a_multiple_of_the_heaviest_seed_scaled_to_the_machine(sandboxed: bool) -> None:
    churn = "test_reliable_churn_2c"
    here = Machine(factor=1.0)
    assert here.cap(churn, sandboxed=sandboxed) == pytest.approx(
        max(FLOOR, MULTIPLE * heaviest(churn, sandboxed=sandboxed)))
    assert here.cap(churn, sandboxed=sandboxed) > FLOOR  # the heaviest test is above the floor
    assert here.cap("test_initial_election_2a", sandboxed=sandboxed) == FLOOR
    slower = Machine(factor=4.0)
    assert slower.cap(churn, sandboxed=sandboxed) == pytest.approx(
        4.0 * here.cap(churn, sandboxed=sandboxed))
    faster = Machine(factor=0.25)  # never below the development machine's caps
    assert faster.cap(churn, sandboxed=sandboxed) == here.cap(churn, sandboxed=sandboxed)


def test_the_cap_leaves_room_for_a_correct_but_quadratic_raft() -> None:
    """A correct Raft that encodes its whole log on every append was measured at 5-8x the
    reference on the same seed: even on the reference's heaviest seed it fits."""
    for sandboxed in (False, True):
        for test in FIGURES["tests"]:
            assert Machine().cap(test, sandboxed=sandboxed) >= 8 * heaviest(
                test, sandboxed=sandboxed)


def test_a_test_the_figures_predate_gets_the_slowest_tests_figures() -> None:
    machine = Machine(factor=2.0)
    slowest = max(t["wall_sandboxed_max"] for t in FIGURES["tests"].values())
    assert machine.heaviest("test_not_yet_measured", sandboxed=True) == pytest.approx(2 * slowest)


def record(name: str, wall: float, profile: list[tuple[str, float]] | None = None) -> object:
    return SimpleNamespace(name=name, seed=7, wall_time=wall, profile=profile or [])


def test_runs_warned_about_are_those_that_used_a_third_of_their_cap() -> None:
    machine = Machine(factor=1.0)
    cap = machine.cap("test_backup_2b", sandboxed=False)
    quiet = record("test_backup_2b", WARN_SHARE * cap * 0.99)
    loud = record("test_backup_2b", WARN_SHARE * cap * 1.01,
                  [("(outside your code)", 0.2), ("Raft.persist", 0.72)])
    warnings = machine.slow_runs([quiet, loud], sandboxed=False)
    assert len(warnings) == 1
    assert warnings[0].startswith("test_backup_2b (seed 7) took ")
    assert f"of its {cap:.0f} s cap on this machine" in warnings[0]
    assert "your code's busiest function: Raft.persist() 72 %" in warnings[0]


def test_the_reference_itself_is_never_warned_about() -> None:
    """Its heaviest seed, on a machine as fast as the one that measured it."""
    machine = Machine(factor=1.0)
    for sandboxed in (False, True):
        runs = [record(name, heaviest(name, sandboxed=sandboxed)) for name in FIGURES["tests"]]
        assert machine.slow_runs(runs, sandboxed=sandboxed) == []
