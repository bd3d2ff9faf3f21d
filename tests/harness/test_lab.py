"""Tests of running one lab test against one implementation (harness/_lab.py).

run_lab_test never raises for a failing run: it returns a LabResult whose
kind separates a failed check (Fatal, MIT's words), a student error and a
harness error; it reports the test's own line where the failure happened (or
where the test was waiting), maps the virtual-time limit to MIT's message,
cleans the cluster up, and replays the same run from the same seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

from harness import Fatal, LabResult, MakeConfig, PassedLine, Simulation, run_lab_test

from . import fakeraft
from .fakeraft import FakeRaft

KILLED: list[Any] = []


class Recorded(FakeRaft):
    """Remembers every instance, to check that cleanup killed them."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        KILLED.append(self)


class Burner(FakeRaft):
    """Server 0 burns real CPU in many small callbacks."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if self.me == 0:
            asyncio.create_task(self.burn())

    async def burn(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            sum(range(20_000))


async def lab_agreement(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, False)
    cfg.begin("Test (2B): fake agreement")
    await cfg.check_one_leader()
    for i in range(5):
        await cfg.one(100 + i, 3, retry=False)
    cfg.end()


async def lab_unreliable(make_config: MakeConfig) -> None:
    cfg = make_config(3, True, False)
    cfg.begin("Test (2C): fake unreliable agreement")
    for i in range(10):
        await cfg.one(i, 3, retry=True)
    cfg.end()


async def lab_needs_a_leader(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, False)
    cfg.begin("Test (2A): fake election")
    await cfg.check_one_leader()
    cfg.end()


async def lab_waits(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, False)
    cfg.begin("Test (2A): fake waiting")
    await asyncio.sleep(5)
    cfg.end()


async def lab_forever(make_config: MakeConfig) -> None:
    make_config(3, False, False)
    await asyncio.sleep(200)


async def lab_with_a_bug_in_the_test(make_config: MakeConfig) -> None:
    make_config(3, False, False)
    await asyncio.sleep(0.5)
    raise RuntimeError("bug in the lab test itself")


def run(test: Any, impl: type, seed: int = 1, **kw: Any) -> LabResult:
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(test, impl, seed, **kw)


def test_a_passing_lab_test_reports_mits_figures() -> None:
    result = run(lab_agreement, FakeRaft)
    assert result.passed and result.kind == "passed"
    assert (result.name, result.seed) == ("lab_agreement", 1)
    assert result.message is None and result.where == "" and result.line is None
    assert result.description == "Test (2B): fake agreement"
    assert isinstance(result.stats, PassedLine)
    assert (result.stats.peers, result.stats.commits) == (3, 5)
    assert result.stats.rpcs > 0 and result.stats.bytes > 0
    assert result.log_size > 0
    assert result.sim_time > 0.45


def test_the_passed_line_is_printed_as_mit_prints_it() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = run_lab_test(lab_agreement, FakeRaft, 1)
    assert out.getvalue() == f"Test (2B): fake agreement ...\n{result.stats}\n"


def test_a_failed_check_is_failed_with_mits_message_and_the_tests_line() -> None:
    result = run(lab_needs_a_leader, fakeraft.NoLeader)
    assert result.kind == "failed" and not result.passed
    assert result.message == "expected one leader, got none"
    assert result.line is not None
    assert result.line.startswith("test_lab.py:")
    assert result.line.endswith("in lab_needs_a_leader: await cfg.check_one_leader()")
    assert result.description == "Test (2A): fake election"


def test_the_safety_monitors_can_be_turned_off() -> None:
    with_monitors = run(lab_needs_a_leader, fakeraft.TwoLeaders)
    assert with_monitors.kind == "failed"
    assert with_monitors.message is not None
    assert with_monitors.message.startswith("safety monitor: election safety violated")
    without = run(lab_needs_a_leader, fakeraft.TwoLeaders, monitors=False)
    assert without.message == "term 1 has 2 (>1) leaders"


def test_a_student_error_names_the_server_and_the_line_the_test_waited_at() -> None:
    result = run(lab_waits, fakeraft.FailingTask)
    assert result.kind == "error"
    assert result.where == "server 1 (incarnation 1)"
    assert result.message is not None
    assert result.message.startswith("IndexError: log index out of range (raised in task ")
    assert "in explode" in result.details
    assert result.line is not None
    assert result.line.endswith("in lab_waits: await asyncio.sleep(5)")
    assert result.sim_time == 1.0


def test_a_broken_constructor_is_a_student_error() -> None:
    result = run(lab_waits, fakeraft.BrokenConstructor)
    assert result.kind == "error"
    assert result.where == "server 1 (incarnation 1)"
    assert result.message == "Raft(...) (the constructor) raised ValueError: no log yet"


def test_a_bug_in_the_lab_test_is_a_harness_error() -> None:
    result = run(lab_with_a_bug_in_the_test, FakeRaft)
    assert result.kind == "harness-error"
    assert result.message == "internal error in raftlab: RuntimeError: bug in the lab test itself"
    assert "RuntimeError: bug in the lab test itself" in result.details


def test_the_virtual_time_limit_is_mits_120_second_failure() -> None:
    result = run(lab_forever, FakeRaft)
    assert result.kind == "failed"
    assert result.message == "test took longer than 120 seconds"
    assert result.sim_time == 120.0
    assert result.line is not None and result.line.endswith("await asyncio.sleep(200)")


def test_the_wall_clock_limit_is_a_student_error() -> None:
    result = run(lab_forever, Burner, wall_seconds=0.3)
    assert result.kind == "error"
    assert result.message is not None
    assert result.message.startswith("the run used more than 0.3 s of real time")


def test_every_server_is_killed_when_the_test_ends() -> None:
    KILLED.clear()
    assert run(lab_agreement, Recorded).passed
    assert len(KILLED) == 3 and all(r.dead for r in KILLED)


def test_the_setup_hook_sees_the_simulation_before_the_run() -> None:
    seen: list[Simulation] = []

    def setup(sim: Simulation) -> None:
        assert sim.now() == 0.0 and len(sim.trace) == 0
        seen.append(sim)

    result = run(lab_agreement, FakeRaft, setup=setup)
    assert result.passed
    assert len(seen) == 1 and seen[0].trace is result.trace


def test_the_same_seed_replays_the_same_run_and_another_seed_does_not() -> None:
    first = run(lab_unreliable, FakeRaft, seed=3)
    again = run(lab_unreliable, FakeRaft, seed=3)
    other = run(lab_unreliable, FakeRaft, seed=4)
    assert first.passed and again.passed and other.passed
    assert first.digest() == again.digest() == first.trace.digest()
    assert first.digest() is first.digest()  # computed once
    assert other.digest() != first.digest()
    assert (first.sim_time, first.stats) == (again.sim_time, again.stats)


def test_a_fatal_raised_by_the_test_itself_is_a_failure_at_its_line() -> None:
    async def lab_checks(make_config: MakeConfig) -> None:
        cfg = make_config(3, False, False)
        if await cfg.check_one_leader() == 0:
            raise Fatal("leader 0 is not allowed")

    result = run(lab_checks, FakeRaft)
    assert result.kind == "failed"
    assert result.message == "leader 0 is not allowed"
    assert result.line is not None and result.line.endswith('raise Fatal("leader 0 is not '
                                                            'allowed")')
