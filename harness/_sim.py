"""One run of the simulated world, from one seed.

    sim = Simulation(seed=7)
    inc = sim.new_incarnation(server=0)       # a server life
    outcome = sim.run(main())                  # run a coroutine to completion
    outcome.passed, outcome.failure, outcome.sim_time, sim.trace.digest()

The seed drives everything random, through independent streams derived from
it by SHA-256 (so they do not depend on ``PYTHONHASHSEED``):

    "network"   drops, delays and latencies (``sim.net``)
    "tester"    the test's own choices (``sim.rng``; MIT's ``rand``)
    "student"   the global ``random`` module, seeded just before ``main``
                starts, so code that calls ``random.random()`` is replayable

The global ``random`` state is restored afterwards. While ``run`` is in
progress the guards of ``_guards`` are active, ``logging`` records are captured
into the trace (stamped with virtual time, server and incarnation), and the
spin watchdog is armed. Same seed, same code, same Python -> the same trace,
bit for bit.

``crash`` ends an incarnation: it cancels its tasks, timers and callbacks, and
one virtual second later fails the run if one of its tasks caught the
cancellation and is still running.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from ._errors import StudentError
from ._guards import Guards
from ._loop import Limits, SimLoop, _perf_counter, classify
from ._network import DEFAULT_LATENCY, Network
from ._owner import Incarnation, owner_of_current_code
from ._trace import Trace

ZOMBIE_GRACE = 1.0
"""Virtual seconds a cancelled task of a crashed server may take to finish."""


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


class _LogCapture(logging.Handler):
    """Puts logging records into the trace, stamped with time and owner."""

    def __init__(self, sim: Simulation, level: int) -> None:
        super().__init__(level)
        self._sim = sim

    def emit(self, record: logging.LogRecord) -> None:
        owner = owner_of_current_code()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in the caller's log call
            message = f"{record.msg!r} % {record.args!r}"
        self._sim.trace.add(self._sim.loop.time(), "log",
                            owner.server if owner else -1, owner.number if owner else 0,
                            record.levelname, record.name, message)


class Simulation:
    """A simulated world: virtual clock, seeded randomness, network, trace."""

    def __init__(self, seed: int, *, limits: Limits | None = None,
                 latency: tuple[float, float] = DEFAULT_LATENCY,
                 log_level: int = logging.INFO, spin_seconds: float = 1.0) -> None:
        self.seed = seed
        self.loop = SimLoop(limits)
        self.trace = Trace()
        self.rng = random.Random(derive_seed(seed, "tester"))
        self.net = Network(self.loop, random.Random(derive_seed(seed, "network")), self.trace,
                           latency=latency)
        self._log_level = log_level
        self._spin_seconds = spin_seconds
        self._lives: dict[int, int] = {}
        self.loop.on_failure = self._record_failure

    def now(self) -> float:
        return self.loop.time()

    def new_incarnation(self, server: int) -> Incarnation:
        number = self._lives.get(server, 0) + 1
        self._lives[server] = number
        inc = Incarnation(server, number)
        self.trace.add(self.loop.time(), "start", server, number)
        return inc

    def crash(self, inc: Incarnation) -> None:
        """Kill an incarnation's tasks, timers and callbacks (after ``kill()``)."""
        if not inc.alive:
            return
        self.trace.add(self.loop.time(), "crash", inc.server, inc.number)
        doomed = inc.crash(self.loop._ready)
        if doomed:
            self.loop.call_internal(ZOMBIE_GRACE, self._check_zombies, inc, doomed)

    def _check_zombies(self, inc: Incarnation, doomed: list[asyncio.Task[Any]]) -> None:
        alive = [t for t in doomed if not t.done()]
        if alive:
            coro = alive[0].get_coro()
            name = getattr(coro, "__qualname__", None) or type(coro).__name__
            self.loop.fail(StudentError(
                f"task {name} kept running after its server crashed: it caught "
                "asyncio.CancelledError (perhaps with a bare `except:` or `except "
                "BaseException:`) instead of letting it end the task. Catch `Exception`, or "
                "re-raise CancelledError.", where=inc.label))

    def _record_failure(self, err: BaseException) -> None:
        self.trace.add(self.loop.time(), "failure", -1, 0, str(err))

    def run(self, main: Coroutine[Any, Any, Any]) -> Outcome:
        """Run ``main`` on the virtual loop until it returns or the run fails."""
        loop = self.loop
        saved_random = random.getstate()
        root = logging.getLogger()
        saved_level = root.level
        capture = _LogCapture(self, self._log_level)
        root.addHandler(capture)
        root.setLevel(min(self._log_level, saved_level or logging.WARNING))
        failure: BaseException | None = None
        result: Any = None
        start = _perf_counter()
        try:
            random.seed(derive_seed(self.seed, "student"))
            with Guards(loop, spin_seconds=self._spin_seconds):
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
                loop.shutdown()
        finally:
            root.removeHandler(capture)
            root.setLevel(saved_level)
            random.setstate(saved_random)
            if not loop.is_closed():
                loop.close()
        return Outcome(self.seed, failure, result, sim_time, wall, len(self.trace))
