"""Run one lab test against one Raft implementation from one seed.

    result = run_lab_test(test_initial_election_2a, impl, seed=1)
        # impl: a Raft class, a loader (``SourceImpl``...) - in this process -
        # or a sandbox run's ``servers()`` - one sandboxed process per server life
    result.passed, result.message, result.kind, result.line, result.sim_time

A lab test is ``async def test_x(make_config) -> None`` (MIT's test body);
``make_config(n, unreliable, snapshot)`` builds the cluster. The runner gives
every run a fresh Simulation, cleans the cluster up afterwards (MIT's
``defer cfg.cleanup()``), maps the virtual-time limit to MIT's "test took
longer than 120 seconds", and reports where in the test the failure happened:
the test's own line that raised, or, when the failure came from elsewhere (an
apply error, a student task), the line the test was waiting at.

``kind`` is one of:
    "passed"         the test ran to the end
    "failed"         a check failed (Fatal, with MIT's message)
    "error"          the code under test broke a rule or raised (StudentError)
    "harness-error"  a bug in raftlab; it must never cost a student points
"""

from __future__ import annotations

import asyncio
import contextlib
import linecache
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from .._errors import Fatal, HarnessError, SpinError, StudentError, WallClockLimitError
from .._loop import Limits, VirtualTimeLimit
from .._sandbox.loader import ClassImpl, Impl
from .._sandbox.profile import describe, top
from .network import DEFAULT_LATENCY
from .servers import LocalServers, Servers, ServersFactory
from .sim import Simulation, derive_seed
from .tester import TIME_LIMIT, Config, PassedLine
from .trace import Trace


class MakeConfig(Protocol):
    def __call__(self, n: int, unreliable: bool, snapshot: bool) -> Config: ...


LabTest = Callable[[MakeConfig], Awaitable[None]]


@dataclass
class LabResult:
    """The verdict and figures of one run of one lab test."""

    name: str
    seed: int
    kind: str
    message: str | None
    details: str
    where: str
    line: str | None
    description: str
    sim_time: float
    wall_time: float
    stats: PassedLine | None
    log_size: int
    trace: Trace
    profile: list[tuple[str, float]] = field(default_factory=list)  # where server code's CPU went
    digest_cache: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.kind == "passed"

    def digest(self) -> str:
        if not self.digest_cache:
            self.digest_cache.append(self.trace.digest())
        return self.digest_cache[0]


Where = Impl | type | ServersFactory


def servers_for(impl: Where, seed: int) -> Servers:
    """Where server lives run: in sandboxes (a ``ServersFactory``), or in this process."""
    if isinstance(impl, type):
        return LocalServers(ClassImpl(impl))
    if hasattr(impl, "servers"):
        return impl.servers(derive_seed(seed, "student/import"))
    return LocalServers(impl)


def run_lab_test(test: LabTest, impl: Where, seed: int, *,
                 wall_seconds: float | None = 120.0,
                 latency: tuple[float, float] = DEFAULT_LATENCY,
                 log_level: int = logging.INFO, monitors: bool = True,
                 inspect: bool = False,
                 setup: Callable[[Simulation], None] | None = None) -> LabResult:
    """Run ``test`` against ``impl`` from ``seed``; never raises for a failing run.
    ``inspect``: servers report debug_state() after each step (traced, and checked
    by the monitors that need it: log matching, leader completeness)."""
    limits = Limits(virtual_seconds=TIME_LIMIT, wall_seconds=wall_seconds)
    servers = servers_for(impl, seed)
    sim = Simulation(seed, servers, limits=limits, latency=latency, log_level=log_level,
                     inspect=inspect)
    if hasattr(servers, "clock"):
        servers.clock = sim.now  # a sandbox run says how far a stopped run got
    if setup is not None:
        setup(sim)
    configs: list[Config] = []
    test_file = getattr(getattr(test, "__code__", None), "co_filename", "")
    waiting_at: list[str] = []

    def make_config(n: int, unreliable: bool, snapshot: bool) -> Config:
        cfg = Config(sim, n, unreliable, snapshot, monitors=monitors)
        configs.append(cfg)
        return cfg

    async def main() -> None:
        try:
            await test(make_config)
        except BaseException:
            for cfg in configs:  # MIT's `defer cfg.cleanup()` runs on failure too
                cfg.failed = True
                with contextlib.suppress(Exception):
                    cfg.cleanup()
            raise
        for cfg in configs:
            cfg.cleanup()
            cfg.check_timeout()

    def on_failure(err: BaseException) -> None:
        task = sim.loop._main
        if isinstance(task, asyncio.Task) and not task.done():
            waiting_at.append(_frame_in(task, test_file))

    sim.loop.on_failure = _chain(sim.loop.on_failure, on_failure)
    outcome = sim.run(main())

    failure = outcome.failure
    if isinstance(failure, VirtualTimeLimit):
        failure = Fatal("test took longer than 120 seconds")
    cfg0 = configs[0] if configs else None
    kind, message, details = _verdict(failure)
    if isinstance(failure, (WallClockLimitError, SpinError)) and message is not None:
        where = describe(sim.samples)
        if where:
            message = f"{message} Where the servers' CPU went: {where}."
    line = None
    if failure is not None:
        line = _line_in_traceback(failure.__traceback__, test_file) or (
            waiting_at[0] if waiting_at else None)
    return LabResult(
        name=getattr(test, "__name__", "test"), seed=seed, kind=kind, message=message,
        details=details, where=getattr(failure, "where", "") or "", line=line,
        description=cfg0.description if cfg0 else "", sim_time=outcome.sim_time,
        wall_time=outcome.wall_time,
        stats=(cfg0.passed_line or cfg0.stats()) if cfg0 else None,
        log_size=cfg0.peak_log_size() if cfg0 else 0, trace=sim.trace,
        profile=top(sim.samples, 5))


def _verdict(failure: BaseException | None) -> tuple[str, str | None, str]:
    if failure is None:
        return "passed", None, ""
    if isinstance(failure, Fatal):
        return "failed", str(failure), ""
    if isinstance(failure, StudentError):
        return "error", failure.message, failure.details
    if isinstance(failure, HarnessError):
        cause = failure.__cause__ or failure
        return "harness-error", str(failure), "".join(traceback.format_exception(cause))
    return "harness-error", f"{type(failure).__name__}: {failure}", "".join(
        traceback.format_exception(failure))


def _line_in_traceback(tb: TracebackType | None, test_file: str) -> str | None:
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == test_file:
            found = _describe(code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    return found


def _frame_in(task: asyncio.Task[Any], test_file: str) -> str:
    coro: Any = task.get_coro()
    found = ""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            break
        if frame.f_code.co_filename == test_file:
            found = _describe(test_file, frame.f_lineno, frame.f_code.co_name)
        coro = getattr(coro, "cr_await", None)
    return found


def _describe(filename: str, lineno: int, function: str) -> str:
    source = linecache.getline(filename, lineno).strip()
    short = filename.rsplit("/", 1)[-1]
    return f"{short}:{lineno} in {function}: {source}" if source else f"{short}:{lineno}"


def _chain(first: Callable[[BaseException], None] | None,
           second: Callable[[BaseException], None]) -> Callable[[BaseException], None]:
    def both(err: BaseException) -> None:
        if first is not None:
            first(err)
        second(err)
    return both
