"""The mutant zoo: every mutant still applies to the reference, its metadata is
sound, and a fast subset - at least one mutant per part, each against the test
expected to kill it, on seed 1 - is killed on every change, so a change that
weakens the suite fails CI. (The full zoo, ``raftlab zoo``, runs every mutant
against every test on up to three seeds; the notes report its figures.)"""

from __future__ import annotations

import pytest

from grader.impl import resolve_impl
from grader.mutants import MUTANTS, Mutant, build_source
from grader.results import PARTS
from grader.suite_index import all_tests
from grader.zoo import run_zoo, summary

CI_SUBSET = ("E4", "R15", "R4", "P1", "S12", "V7")


def test_the_zoo_has_at_least_40_mutants_covering_every_part() -> None:
    assert len(MUTANTS) >= 40
    assert {m.part for m in MUTANTS} == set(PARTS)
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_each_mutant_applies_to_the_reference(mutant: Mutant) -> None:
    source = build_source(mutant, resolve_impl("reference").read_text(encoding="utf-8"))
    assert "assert " not in source  # the reference's self-checks are gone
    assert mutant.part in PARTS
    assert mutant.bug and mutant.source
    tests = all_tests()
    assert mutant.expected and all(t in tests for t in mutant.expected), mutant.expected


def test_a_fast_subset_of_the_zoo_is_killed() -> None:
    chosen = [m for m in MUTANTS if m.id in CI_SUBSET]
    assert {m.part for m in chosen} == set(PARTS)
    outcomes = []
    for m in chosen:  # each against its first expected killer only
        outcomes += run_zoo([m], seeds=1, tests=[m.expected[0]], workers=2)
    stats = summary(outcomes, 1)
    survivors = [o.mutant.id for o in outcomes if o.killed_at is None]
    assert not survivors, f"the suite no longer kills {survivors}"
    assert stats["killed"] == len(chosen)
