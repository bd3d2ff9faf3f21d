"""Every test graded in a part uses only what that part and the earlier ones implement.

A student who has finished part P and nothing after it must be able to pass
every test graded in P and before (issue 9): a 2A test may not call start(),
a 2B test may not crash and restart a server (a 2B Raft persists nothing), a
2C test may not need snapshots. The partial references (tests/parts/make.py:
the reference cut down to 2A, 2B and 2C) stand in for that student: each must
pass every test graded up to its part, on several seeds, and fail a test of
the next part, which shows that the cut really removed that part.

A partial reference may survive a feature it lacks by luck (a 2B Raft that
restarts empty can catch up again), so the tester calls each test makes are
checked directly too: start() from 2B on, a crash or restart of a running
server from 2C on, a snapshotting applier in 2D only.
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import Any

import pytest

from grader.results import PARTS, part_of
from grader.suite_index import all_tests
from harness import Config, LabResult, SourceImpl, run_lab_test
from tests.parts.make import CUTS, PartError, cut, part_impl, part_source, reference_source

PARTIAL = ("2A", "2B", "2C")
SEEDS = (1, 2, 3)

NEXT_PART_PROBES = {
    "2A": "test_basic_agree_2b",     # one() never reaches agreement: start() refuses
    "2B": "test_persist1_2c",        # servers restart empty, at term 0
    "2C": "test_snapshot_basic_2d",  # the log is never trimmed
}
"""For each partial reference, a light test of the next part it must fail."""

FEATURES = {
    "2A": frozenset(),
    "2B": frozenset({"start()"}),
    "2C": frozenset({"start()", "crash/restart"}),
    "2D": frozenset({"start()", "crash/restart", "snapshots"}),
    "2E": frozenset({"start()", "crash/restart", "snapshots"}),  # optional, after 2D
}
"""The tester features a test graded in each part may use."""

TESTS = all_tests()

_impl = functools.cache(part_impl)


def graded_up_to(part: str) -> list[str]:
    """The tests graded in ``part`` or an earlier part, in suite order."""
    allowed = PARTS[:PARTS.index(part) + 1]
    return [name for name in TESTS if part_of(name) in allowed]


def run(name: str, impl: SourceImpl, seed: int) -> LabResult:
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(TESTS[name], impl, seed)


CASES = [(part, name) for part in PARTIAL for name in graded_up_to(part)]


def test_every_lab_test_is_graded_in_a_part() -> None:
    assert all(part_of(name) in PARTS for name in TESTS), [
        name for name in TESTS if part_of(name) not in PARTS]
    assert len(graded_up_to(PARTS[-1])) == len(TESTS)


def test_each_cut_removes_its_part_and_keeps_the_earlier_ones() -> None:
    sources = {part: part_source(part) for part in PARTIAL}
    snapshot_rpc = "self.send_install_snapshot(peer,"
    save = "self.persister.save("
    append = "self.log.append((self.current_term, command))"
    reference = reference_source()
    assert all(snippet in reference for snippet in (snapshot_rpc, save, append))
    assert snapshot_rpc not in sources["2C"] and save in sources["2C"]
    assert save not in sources["2B"] and append in sources["2B"]
    assert append not in sources["2A"]


def test_a_cut_that_no_longer_matches_the_reference_fails_loudly() -> None:
    old, _ = CUTS["2A"][-1]
    with pytest.raises(PartError, match="matches the reference 0 times"):
        cut(reference_source().replace(old, "", 1), "2A")


@pytest.mark.parametrize("name", list(TESTS))
def test_a_test_uses_only_its_parts_features(name: str, reference: SourceImpl,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    used: set[str] = set()
    init, crash1, start_cmd = Config.__init__, Config.crash1, Config.start_cmd

    def spy_init(self: Config, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self.snapshot:
            used.add("snapshots")

    def spy_crash1(self: Config, i: int) -> None:
        if self.rafts[i] is not None:  # (start1 of a server that is down calls it too)
            used.add("crash/restart")
        crash1(self, i)

    def spy_start_cmd(self: Config, i: int, cmd: Any) -> tuple[int, int, bool]:
        used.add("start()")
        return start_cmd(self, i, cmd)

    monkeypatch.setattr(Config, "__init__", spy_init)
    monkeypatch.setattr(Config, "crash1", spy_crash1)
    monkeypatch.setattr(Config, "start_cmd", spy_start_cmd)
    result = run(name, reference, 1)
    assert result.passed, f"{result.kind}: {result.message}"
    part = part_of(name)
    beyond = sorted(used - FEATURES[part])
    assert not beyond, f"{name} is graded in {part} but uses {', '.join(beyond)}"


@pytest.mark.parametrize(("part", "name"), CASES, ids=[f"{p}-{n}" for p, n in CASES])
def test_a_partial_reference_passes_every_test_up_to_its_part(part: str, name: str) -> None:
    impl = _impl(part)
    failures = []
    for seed in SEEDS:
        result = run(name, impl, seed)
        if not result.passed:
            failures.append(f"seed {seed}: {result.kind}: {result.message}")
    assert not failures, (f"{name} (graded in {part_of(name)}) fails on the reference cut "
                          f"down to {part}: it needs a later part\n" + "\n".join(failures))


@pytest.mark.parametrize("part", PARTIAL)
def test_a_partial_reference_fails_the_next_part(part: str) -> None:
    name = NEXT_PART_PROBES[part]
    assert part_of(name) == PARTS[PARTS.index(part) + 1]
    impl = _impl(part)
    for seed in SEEDS:
        result = run(name, impl, seed)
        assert not result.passed, f"the reference cut down to {part} passes {name} on seed {seed}"
        assert result.kind == "failed", (result.kind, result.message)  # the test's check failed
