"""Tests of running one lab test against one implementation (harness/_trusted/lab.py).

run_lab_test never raises for a failing run: it returns a LabResult whose
kind separates a failed check (Fatal, MIT's words), a student error and a
harness error; it reports the test's own line where the failure happened (or
where the test was waiting), maps the virtual-time limit to MIT's message,
cleans the cluster up, and replays the same run from the same seed.

The implementation may be a Raft class or a loader (``ModuleImpl``,
``SourceImpl``), run in this process, or a ``ServersFactory`` whose server
lives each run in a sandbox process: the run, and its verdict, are the same.
Whatever student code raises - raftlab's own Fatal, HarnessError or
StudentError included - and whatever garbage get_state or start return, the
verdict is "error", never "harness-error".
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import (
    Fatal,
    LabResult,
    MakeConfig,
    ModuleImpl,
    PassedLine,
    Simulation,
    SourceImpl,
    run_lab_test,
)
from harness._trusted.sandboxes import Sandboxed, Sandboxes, SandboxLimits, SandboxRun

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


def run(test: Any, impl: Any, seed: int = 1, **kw: Any) -> LabResult:
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(test, impl, seed, **kw)


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    """A sandbox template for this module's sandboxed runs."""
    sandboxes = Sandboxes()
    yield sandboxes
    sandboxes.close()


class SandboxedFake:
    """A ServersFactory: each server life of a run is a sandbox process that imports
    ``fakeraft.<name>`` by name (as graded runs run a submission)."""

    def __init__(self, sandboxes: Sandboxes, name: str) -> None:
        self.sandboxes = sandboxes
        self.impl = ModuleImpl(fakeraft.__name__, name)

    def servers(self, import_seed: int) -> SandboxRun:
        return self.sandboxes.start_run_of(self.impl, SandboxLimits(), import_seed=import_seed)


MODES = ("in-process", "sandboxed")


def fake(mode: str, name: str, request: pytest.FixtureRequest) -> Any:
    """The fake Raft ``fakeraft.<name>``: the class itself, or sandboxed."""
    if mode == "in-process":
        return getattr(fakeraft, name)
    return SandboxedFake(request.getfixturevalue("sandboxes"), name)


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


@pytest.mark.parametrize("mode", MODES)
def test_a_student_error_names_the_server_and_the_line_the_test_waited_at(
        mode: str, request: pytest.FixtureRequest) -> None:
    result = run(lab_waits, fake(mode, "FailingTask", request))
    assert result.kind == "error"
    assert result.where == "server 1 (incarnation 1)"
    assert result.message == (
        "IndexError: log index out of range (raised in task server 1 (incarnation 1) task "
        "FailingTask.explode; an exception escaping an RPC handler or any task a Raft created "
        "fails the run)")
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


# ------------------------------------------------- where the servers run


def test_a_class_a_loader_and_sandboxes_give_the_same_run(sandboxes: Sandboxes) -> None:
    by_class = run(lab_unreliable, FakeRaft, seed=3)
    by_name = run(lab_unreliable, ModuleImpl(fakeraft.__name__, "FakeRaft"), seed=3)
    sandboxed = run(lab_unreliable, SandboxedFake(sandboxes, "FakeRaft"), seed=3)
    assert by_class.passed and by_name.passed and sandboxed.passed
    assert by_class.digest() == by_name.digest() == sandboxed.digest()
    assert (by_class.sim_time, by_class.stats) == (sandboxed.sim_time, sandboxed.stats)


def test_a_submissions_source_runs_in_process_and_in_sandboxes(sandboxes: Sandboxes) -> None:
    path = fakeraft.__file__
    source = Path(path).read_text() + "\n\nRaft = FakeRaft\n"
    local = run(lab_agreement, SourceImpl(path, source))
    sandboxed = run(lab_agreement, Sandboxed(sandboxes, path, source, SandboxLimits()))
    assert local.passed and sandboxed.passed
    assert local.digest() == sandboxed.digest()


BROKEN_SOURCES = [
    ("def broken(:\n", "raft.py does not parse: line 1: invalid syntax."),
    ("raise ImportError('nope')\n", "importing raft.py raised ImportError: nope at line 1."),
    ("class Foo:\n    pass\n", "raft.py defines no class named Raft (it defines Foo)"),
]


@pytest.mark.parametrize(("source", "problem"), BROKEN_SOURCES)
def test_a_submission_that_does_not_load_is_an_error(source: str, problem: str) -> None:
    result = run(lab_agreement, SourceImpl("raft.py", source))
    assert result.kind == "error"
    assert result.where == "server 0 (incarnation 1)"
    assert result.message is not None
    assert result.message.startswith(f"cannot load the implementation: {problem}")


@pytest.mark.parametrize(("source", "problem"), BROKEN_SOURCES[:1])
def test_a_submission_that_does_not_load_is_an_error_in_sandboxes_too(
        source: str, problem: str, sandboxes: Sandboxes) -> None:
    result = run(lab_agreement, Sandboxed(sandboxes, "raft.py", source, SandboxLimits()))
    assert result.kind == "error"
    assert result.message is not None
    assert result.message.startswith(f"cannot load the implementation: {problem}")


# ------------------------------------- student code is the student's, always


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("place", fakeraft.PLACES)
@pytest.mark.parametrize("error", list(fakeraft.RAFTLAB_ERRORS))
def test_raftlabs_own_exceptions_raised_by_student_code_are_errors(
        error: str, place: str, mode: str, request: pytest.FixtureRequest) -> None:
    result = run(lab_agreement, fake(mode, fakeraft.raising(error, place), request))
    assert result.kind == "error"  # never "harness-error", never "failed"
    assert result.where == "server 1 (incarnation 1)"
    assert result.message is not None and "boom" in result.message
    if place == "get_state":  # the tester's call
        assert result.message == f"get_state() raised {error}: boom"
        assert result.line is not None
        assert result.line.endswith("in lab_agreement: await cfg.check_one_leader()")
    else:
        what = ("task server 1 (incarnation 1) task RaisesRaftlabErrors.explode"
                if place == "task" else "RPC handler push_log")
        assert result.message.startswith(f"{error}: boom (raised in {what}; ")
    assert "boom" in result.details
    assert {"task": "explode", "handler": "push_log",
            "get_state": "get_state"}[place] in result.details


@pytest.mark.parametrize("place", ["task", "handler"])
def test_a_studenterror_raised_by_student_code_is_reported_like_any_exception(
        place: str) -> None:
    result = run(lab_agreement, getattr(fakeraft, fakeraft.raising("StudentError", place)))
    assert result.kind == "error"
    assert result.message is not None
    assert result.message.startswith("StudentError: boom (raised in ")
    assert "explode" in result.details or "push_log" in result.details


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "where", "method", "message"), [
    ("BadGetState", "server 0 (incarnation 1)", "get_state(",
     ") returned [1, True]; it must return a tuple (current_term: int, is_leader: bool)"),
    ("BadStart", "server 1 (incarnation 1)", "start(",  # one() asks server 1 first
     ") returned 1; it must return a tuple (index: int, term: int, is_leader: bool)"),
])
def test_garbage_from_get_state_or_start_is_an_error_naming_the_method(
        name: str, where: str, method: str, message: str, mode: str,
        request: pytest.FixtureRequest) -> None:
    result = run(lab_agreement, fake(mode, name, request))
    assert result.kind == "error"
    assert result.where == where
    assert result.message is not None
    assert result.message.startswith(method)
    assert result.message.endswith(message)

