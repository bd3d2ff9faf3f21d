"""raftlab's pytest plugin: runs the lab suite on the simulator.

    pytest grader/suite -k 2a --impl student          # part 2A on your code
    pytest grader/suite --impl reference --seed 7     # everything, one seed
    pytest grader/suite -k test_backup_2b --seed 7    # replay one failure

Options (command line > environment > default):
  --impl   student | reference | PATH        env RAFTLAB_IMPL, default student
  --seed   an integer, or "random"           env RAFTLAB_SEED, default 1
  (env RAFTLAB_LOG_LEVEL=DEBUG keeps logging.debug records in the trace)

Every run of a lab test is a deterministic simulation: the same seed, code
and Python give the same run, so a failure replays exactly. A failure shows
MIT's message, where in the test it happened, the seed, the commands that
replay it, and the last events of each server. The summary lists each test's
virtual time and MIT's five "Passed" numbers (time, peers, RPCs, bytes,
commits).

Lab tests are ``async def test_x(make_config)`` functions; this plugin runs
them on the simulated loop instead of calling them (pytest_pyfunc_call), so
pytest itself needs no asyncio plugin.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from harness import LabResult, SourceImpl, run_lab_test

from . import traceview
from .impl import ImplError, load_impl, resolve_impl

IMPL_HELP = ("Raft implementation: student, reference (instructors' installation only), or a "
             "path to a raft.py (env RAFTLAB_IMPL)")
SEED_HELP = "seed of the simulation, or 'random' (env RAFTLAB_SEED; default 1)"


@dataclass
class _Settings:
    impl_spec: str
    seed: int
    raft: SourceImpl | None
    error: str | None


_SETTINGS = pytest.StashKey[_Settings]()
_RESULTS = pytest.StashKey[list[tuple[str, LabResult]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --impl and --seed."""
    group = parser.getgroup("raftlab", "raftlab: deterministic Raft lab tests")
    group.addoption("--impl", default=None, help=IMPL_HELP)
    group.addoption("--seed", default=None, help=SEED_HELP)


def _settings(config: pytest.Config) -> _Settings:
    if _SETTINGS in config.stash:
        return config.stash[_SETTINGS]
    spec = config.getoption("--impl") or os.environ.get("RAFTLAB_IMPL") or "student"
    seed_text, where = config.getoption("--seed"), "--seed"
    if seed_text is None:
        seed_text, where = os.environ.get("RAFTLAB_SEED", "1"), "RAFTLAB_SEED environment variable"
    if seed_text == "random":
        seed = random.SystemRandom().randrange(1, 1_000_000)
    else:
        try:
            seed = int(seed_text)
        except ValueError:
            raise pytest.UsageError(f"Invalid seed {seed_text!r} from {where}: "
                                    "use an integer or 'random'") from None
    raft: SourceImpl | None = None
    error = None
    try:
        raft = load_impl(resolve_impl(spec))
    except ImplError as e:
        error = str(e)
    settings = _Settings(spec, seed, raft, error)
    config.stash[_SETTINGS] = settings
    config.stash[_RESULTS] = []
    return settings


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Show the implementation and the seed."""
    s = _settings(config)
    lines = [f"raftlab: impl={s.impl_spec} seed={s.seed}"]
    if s.error:
        lines.append(f"raftlab: cannot load the implementation: {s.error}")
    if sys.flags.hash_randomization and not os.environ.get("PYTHONHASHSEED"):
        lines.append("raftlab: PYTHONHASHSEED is not set; runs replay exactly only if your code "
                     "never iterates a set of strings (raftlab test sets it for you)")
    return lines


@pytest.fixture
def make_config() -> object:
    """Placeholder: the plugin supplies the real factory when it runs the test."""
    return None


def _is_lab_test(item: pytest.Function) -> bool:
    return inspect.iscoroutinefunction(item.obj) and "make_config" in item.fixturenames


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run lab tests on the simulator."""
    if not _is_lab_test(pyfuncitem):
        return None
    s = _settings(pyfuncitem.config)
    if s.raft is None:
        pytest.fail(f"cannot load the implementation: {s.error}", pytrace=False)
    level = os.environ.get("RAFTLAB_LOG_LEVEL", "INFO").upper()
    result = run_lab_test(pyfuncitem.obj, s.raft, s.seed,
                          log_level=getattr(logging, level, logging.INFO))
    pyfuncitem.config.stash[_RESULTS].append((pyfuncitem.name, result))
    if not result.passed:
        pytest.fail(failure_text(result, s.impl_spec), pytrace=False)
    return True


def replay_commands(test: str, seed: int, impl_spec: str) -> list[str]:
    impl = f" --impl {impl_spec}" if impl_spec != "student" else ""
    return [f"raftlab replay {test} --seed {seed}{impl}",
            f"pytest grader/suite -k {test} --seed {seed}{impl}"]


def failure_text(r: LabResult, impl_spec: str) -> str:
    """What a student sees when a test fails."""
    head = {"failed": "FAILED", "error": "ERROR in the code under test",
            "harness-error": "INTERNAL ERROR in raftlab (not your fault; please report it)"}
    lines = [f"{r.description or r.name}",
             f"{head.get(r.kind, r.kind)} at {r.sim_time:.3f} s of virtual time (seed {r.seed}):",
             f"  {r.message}"]
    if r.where:
        lines.append(f"  in {r.where}")
    if r.line:
        lines.append(f"  test was at {r.line}")
    cmds = replay_commands(r.name, r.seed, impl_spec)
    lines += ["", f"Replay exactly:  {cmds[0]}", f"            or:  {cmds[1]}"]
    if r.details:
        lines += ["", r.details.rstrip()]
    lines += ["", "Last events of each server (virtual seconds):",
              traceview.tail_text(r.trace.records(), 6)]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """A per-test table: result, virtual time and MIT's five numbers."""
    results = config.stash.get(_RESULTS, [])
    if not results:
        return
    tr = terminalreporter
    tr.section("raftlab")
    tr.write_line(f"{'test':40} {'result':8} {'virtual':>8} {'wall':>6} {'peers':>5} "
                  f"{'RPCs':>6} {'bytes':>9} {'commits':>7}")
    for name, r in results:
        st = r.stats
        nums = (f"{st.peers:5d} {st.rpcs:6d} {st.bytes:9d} {st.commits:7d}" if st else "")
        tr.write_line(f"{name:40} {r.kind:8} {r.sim_time:7.1f}s {r.wall_time:5.2f}s {nums}")
    s = config.stash[_SETTINGS]
    tr.write_line(f"impl={s.impl_spec} seed={s.seed}")
