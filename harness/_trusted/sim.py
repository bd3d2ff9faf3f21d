"""One run of the simulated world, from one seed.

    sim = Simulation(seed=7, servers=LocalServers(impl))
    handle = sim.start_server(0, n=3)          # a new server life (not yet booted)
    outcome = sim.run(main())                   # run a coroutine to completion
    outcome.passed, outcome.failure, outcome.sim_time, sim.trace.digest()

The seed drives everything random, through independent streams derived from
it by SHA-256 (so they do not depend on ``PYTHONHASHSEED``):

    "network"            drops, delays and latencies (``sim.net``)
    "tester"             the test's own choices (``sim.rng``; MIT's ``rand``)
    "student/S/N"        the ``random`` module as server S's life N sees it,
                         seeded when that life starts, so code that calls
                         ``random.random()`` is replayable
    "student/import"     ``random`` while the submission's module runs (the
                         same for every life: each module starts alike)

``servers`` decides where server lives run: ``LocalServers`` (in this process)
or a sandbox run's (one process each, ``harness._trusted.sandboxes``). The
trace is the same either way.

In-process, while ``run`` is in progress the guards of ``_sandbox.guards`` are
active, the spin watchdog is armed, and ``logging`` records of the code under
test go to the trace (stamped with virtual time, server and life); the global
``random`` functions are restored afterwards. Same seed, same code, same
Python -> the same trace, bit for bit.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from .._errors import StudentError
from .._loop import Limits, SimLoop, _perf_counter, classify
from .._sandbox.guards import Guards
from .._sandbox.host import capture_logs
from .._sandbox.profile import start_sampling, stop_sampling
from .network import DEFAULT_LATENCY, Network
from .servers import SandboxFailure, ServerHandle, Servers
from .trace import Trace

MAX_EVENTS = 5_000_000
"""Events a run may record; past this the run fails (the trusted side's memory is
not the code under test's to fill). The longest lab test records about 200,000."""

MAX_LOG_BYTES = 64 * 1024 * 1024
"""Log text a run keeps in its trace; later records are dropped (and the drop noted)."""


def derive_seed(seed: int, stream: str) -> int:
    """An independent 64-bit seed for one named stream of a run."""
    digest = hashlib.sha256(f"raftlab/{seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass
class Outcome:
    """How a run ended.

    Attributes:
        failure: None if ``main`` returned; else a Fatal, StudentError,
            HarnessError or VirtualTimeLimit.
        result: what ``main`` returned (None on failure).
        sim_time: virtual seconds when the run ended.
        wall_time: real seconds the run took.
    """

    seed: int
    failure: BaseException | None
    result: Any
    sim_time: float
    wall_time: float
    events: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.failure is None


class Simulation:
    """A simulated world: virtual clock, seeded randomness, network, trace, servers."""

    def __init__(self, seed: int, servers: Servers, *, limits: Limits | None = None,
                 latency: tuple[float, float] = DEFAULT_LATENCY,
                 log_level: int = logging.INFO, spin_seconds: float = 1.0,
                 inspect: bool = False) -> None:
        self.seed = seed
        self.inspect = inspect  # server lives report debug_state() after each step
        self.servers = servers
        self.loop = SimLoop(limits)
        self.trace = Trace()
        self.rng = random.Random(derive_seed(seed, "tester"))
        self.net = Network(self.loop, random.Random(derive_seed(seed, "network")), self.trace,
                           latency=latency)
        self.log_level = log_level
        self._spin_seconds = spin_seconds
        self._lives: dict[int, int] = {}
        self._log_bytes = 0
        self.handles: list[ServerHandle] = []
        self.samples: dict[str, int] = {}  # where server code spent CPU (never traced)
        self.loop.on_failure = self._record_failure

    def now(self) -> float:
        return self.loop.time()

    def start_server(self, server: int, n: int) -> ServerHandle:
        """A new life of ``server`` in a cluster of ``n`` (boot it with ``handle.boot``)."""
        number = self._lives.get(server, 0) + 1
        self._lives[server] = number
        self.trace.add(self.loop.time(), "start", server, number)
        where = f"server {server} (incarnation {number})"
        try:
            transport = self.servers.spawn(server, number)
        except SandboxFailure as e:  # e.g. the submission does not load
            raise StudentError(str(e), where=where) from None
        except StudentError as e:  # the run's wall-clock budget ran out
            e.where = e.where or where
            raise
        handle = ServerHandle(self, server, number, transport, n=n)
        self.handles.append(handle)
        return handle

    @property
    def import_seed(self) -> int:
        return derive_seed(self.seed, "student/import")

    def student_seed(self, server: int, number: int) -> int:
        return derive_seed(self.seed, f"student/{server}/{number}")

    def crash(self, handle: ServerHandle) -> None:
        """End a server life: nothing of it runs again (after ``kill()``)."""
        if handle.alive:
            self.trace.add(self.loop.time(), "crash", handle.server, handle.number)
            handle.crash()

    def overloaded(self) -> str | None:
        if len(self.trace) > MAX_EVENTS:
            return (f"the run recorded more than {MAX_EVENTS:,} events (RPCs, replies, "
                    "applies); the longest lab test needs about 200,000")
        return None

    def log(self, server: int, number: int, level: str, logger: str, message: str) -> None:
        """A log record of server ``server``'s life ``number`` (of the tester: -1, 0)."""
        self._log_bytes += len(message) + len(logger) + 16
        if self._log_bytes > MAX_LOG_BYTES:
            if self._log_bytes - len(message) - len(logger) - 16 <= MAX_LOG_BYTES:
                self.trace.add(self.loop.time(), "log", -1, 0, "WARNING", "raftlab",
                               f"more than {MAX_LOG_BYTES // 2**20} MB of log records: the "
                               "rest of this run's are dropped")
            return
        self.trace.add(self.loop.time(), "log", server, number, level, logger, message)

    def _record_failure(self, err: BaseException) -> None:
        self.trace.add(self.loop.time(), "failure", -1, 0, str(err))

    def _tester_log(self, record: logging.LogRecord, message: str) -> None:
        self.log(-1, 0, record.levelname, record.name, message)

    def run(self, main: Coroutine[Any, Any, Any]) -> Outcome:
        """Run ``main`` on the virtual loop until it returns or the run fails."""
        loop = self.loop
        failure: BaseException | None = None
        result: Any = None
        start = _perf_counter()
        local = not self.servers.sandboxed
        undo_logs = capture_logs(self.log_level, self._tester_log) if local else None
        guards = Guards(spin_seconds=self._spin_seconds) if local else None
        if local:
            start_sampling()
        try:
            if guards is not None:
                guards.__enter__()
            task = loop.create_task(main)
            loop._main = task
            try:
                result = loop.run_until_complete(task)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                failure = classify(exc, None, "the test")
                if loop.failure is None and loop.on_failure is not None:
                    loop.on_failure(failure)  # the trace, and whoever chained onto it
            wall = _perf_counter() - start
            sim_time = loop.time()
            for handle in self.handles:
                handle.crash()
            loop.shutdown()
            self.servers.close()
        finally:
            if local:
                stop_sampling()
            if guards is not None:
                guards.__exit__(None, None, None)
            if undo_logs is not None:
                undo_logs()
            if not loop.is_closed():
                loop.close()
        return Outcome(self.seed, failure, result, sim_time, wall, len(self.trace))

