"""Part 2E's tests mean something: each of its two mechanisms is needed, and together they suffice.

The reference has two switches for part 2E (reference/raft/raft.py), both on as
shipped; tests/parts/make.py turns them off by name. Its four configurations:

    plain        Figure 2 Raft. Passes every 2A-2D test; fails the deaf follower
                 and the deaf leader tests on every seed, each failure naming
                 the mechanism that is missing ("(PreVote", "(CheckQuorum)").
    prevote      fails the deaf leader test: nothing replaces a leader that
                 cannot hear, so nothing commits (CheckQuorum).
    checkquorum  fails the deaf follower test: the server that cannot hear
                 raises its term again and again and deposes the leader (PreVote).
    both         the reference as shipped: passes every 2E test.

tests/suite/test_reference.py runs every test, 2E's included, on the reference
file itself (seeds 1-2), which is the ``both`` configuration (checked here), so
``both`` runs here on seeds 3-5 only.

Turning 2E on must not blunt the scenarios that pin a 2A-2D rule: mutants
R13 (late AppendEntries replies) and P1, P1b (a voter that forgets its vote
across a crash) fail their scenario with the switches off and on. E3, a bug
that CheckQuorum makes harmless (``grader.mutants.MASKED_BY_2E``, left out of
the zoo for that), is still killed in plain Raft.

Every run is in-process and cheap (well under a second); the figures over
seeds 1-100 are in the notes, not here.
"""

from __future__ import annotations

import contextlib
import functools
import io

import pytest

from grader.mutants import MASKED_BY_2E, MUTANTS, Mutant, build_source
from grader.results import CORE_PARTS, OPTIONAL_PARTS, part_of
from grader.suite_index import all_tests
from harness import LabResult, SourceImpl, run_lab_test
from tests.parts.make import (
    SWITCHES,
    PartError,
    reference_source,
    variant_impl,
    variant_source,
    with_switches,
)

TESTS = all_tests()
CORE_TESTS = [name for name in TESTS if part_of(name) in CORE_PARTS]
TESTS_2E = [name for name in TESTS if part_of(name) in OPTIONAL_PARTS]

PLAIN_SEEDS = (1, 2, 3)
"""Seeds on which plain Raft must fail, and one mechanism alone."""
CORE_SEEDS = (1, 2)
"""Seeds on which plain Raft must pass every 2A-2D test."""
BOTH_SEEDS = (3, 4, 5)
"""Seeds on which the two mechanisms must pass every 2E test (test_reference.py: 1-2)."""

PREVOTE = "(PreVote"           # the deaf follower's message: "(PreVote: ask whether ...)"
CHECK_QUORUM = "(CheckQuorum)"

PLAIN_FAILS = {
    "test_deaf_follower_2e": PREVOTE,
    "test_deaf_leader_2e": CHECK_QUORUM,
}
"""2E tests plain Raft fails on every seed, with the mechanism its message names."""

ONE_MECHANISM_FAILS = {
    "prevote": ("test_deaf_leader_2e", CHECK_QUORUM),
    "checkquorum": ("test_deaf_follower_2e", PREVOTE),
}
"""For each mechanism alone, a 2E test it fails and the mechanism the message names."""

SCENARIO_MUTANTS = (
    ("R13", "test_late_reply_scenario_2b"),
    ("P1", "test_voter_crash_scenario_2c"),
    ("P1b", "test_voter_crash_scenario_2c"),
    ("E4", "test_double_vote_scenario_2a"),
    ("E21", "test_double_vote_scenario_2a"),
    ("E8", "test_stale_vote_scenario_2a"),
    ("R15", "test_fast_backup_bound_2b"),
    ("R12b", "test_stale_append_reply_scenario_2b"),
    ("R1", "test_figure8_scenario_2c"),
    ("S3", "test_snapshot_keep_suffix_scenario_2d"),
    ("S5", "test_stale_snapshot_scenario_2d"),
)
"""2A-2D scenarios and a mutant each must kill, with 2E's switches off and on."""

CATALOG = {m.id: m for m in (*MUTANTS, *MASKED_BY_2E)}


@functools.cache
def impl(variant: str, mutant: str | None = None) -> SourceImpl:
    """The reference (or one of its mutants) in a 2E configuration, loaded once."""
    if mutant is None:
        return variant_impl(variant)
    source = build_source(CATALOG[mutant], reference_source())
    return variant_impl(variant, source, label=f"mutant {mutant}")


def run(name: str, implementation: SourceImpl, seed: int) -> LabResult:
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(TESTS[name], implementation, seed)


def test_the_reference_ships_with_both_switches_on() -> None:
    reference = reference_source()
    assert variant_source("both") == reference
    for name in SWITCHES:
        assert f"\n{name} = True\n" in reference
    plain = variant_source("plain").splitlines()
    changed = [b for a, b in zip(reference.splitlines(), plain, strict=True) if a != b]
    assert changed == [f"{name} = False" for name in SWITCHES]


def test_the_2e_tests_named_here_exist() -> None:
    assert len(TESTS_2E) >= 10
    assert set(PLAIN_FAILS) <= set(TESTS_2E)
    assert all(name in TESTS_2E for name, _ in ONE_MECHANISM_FAILS.values())


@pytest.mark.parametrize("switch", SWITCHES)
def test_with_switches_raises_if_a_switch_is_missing(switch: str) -> None:
    source = reference_source().replace(f"\n{switch} = True\n", f"\n{switch} = 1\n")
    with pytest.raises(PartError, match=switch):
        with_switches(source, pre_vote=True, check_quorum=True)
    doubled = reference_source() + f"\n{switch} = True\n"
    with pytest.raises(PartError, match=switch):
        with_switches(doubled, pre_vote=False, check_quorum=False)


@pytest.mark.parametrize(("name", "mechanism"), PLAIN_FAILS.items())
def test_plain_raft_fails_2e(name: str, mechanism: str) -> None:
    for seed in PLAIN_SEEDS:
        result = run(name, impl("plain"), seed)
        assert result.kind == "failed", f"seed {seed}: {result.kind}: {result.message}"
        assert mechanism in (result.message or ""), f"seed {seed}: {result.message}"


@pytest.mark.parametrize("variant", ONE_MECHANISM_FAILS)
def test_one_mechanism_alone_fails_2e(variant: str) -> None:
    name, missing = ONE_MECHANISM_FAILS[variant]
    for seed in PLAIN_SEEDS:
        result = run(name, impl(variant), seed)
        assert result.kind == "failed", f"seed {seed}: {result.kind}: {result.message}"
        assert missing in (result.message or ""), f"seed {seed}: {result.message}"


@pytest.mark.parametrize("name", TESTS_2E)
def test_both_mechanisms_pass_2e(name: str) -> None:
    for seed in BOTH_SEEDS:
        result = run(name, impl("both"), seed)
        assert result.passed, f"seed {seed}: {result.kind}: {result.message}"


@pytest.mark.parametrize("name", CORE_TESTS)
def test_plain_raft_passes_2a_to_2d(name: str) -> None:
    for seed in CORE_SEEDS:
        result = run(name, impl("plain"), seed)
        assert result.passed, f"seed {seed}: {result.kind}: {result.message}"


@pytest.mark.parametrize("variant", ["plain", "both"])
@pytest.mark.parametrize(("mutant", "scenario"), SCENARIO_MUTANTS,
                         ids=[m for m, _ in SCENARIO_MUTANTS])
def test_scenarios_check_their_rule_with_and_without_2e(mutant: str, scenario: str,
                                                        variant: str) -> None:
    assert scenario in CATALOG[mutant].expected
    result = run(scenario, impl(variant, mutant), 1)
    assert result.kind == "failed", (
        f"{scenario} no longer catches {mutant} ({variant}): {result.kind}: {result.message}")


@pytest.mark.parametrize("mutant", MASKED_BY_2E, ids=[m.id for m in MASKED_BY_2E])
def test_bugs_masked_by_2e_are_caught_in_plain_raft(mutant: Mutant) -> None:
    assert mutant.part in CORE_PARTS and mutant.id not in {m.id for m in MUTANTS}
    result = run(mutant.expected[0], impl("plain", mutant.id), 1)
    # failed, or an error the server's own code caused (E19's ticker spins)
    assert result.kind in ("failed", "error"), f"{result.kind}: {result.message}"
