"""How much wall-clock time a run may take here: caps scaled to this machine.

    machine = Machine.measure()                  # this machine's speed, now (~0.3 s)
    machine.cap("test_reliable_churn_2c", sandboxed=True)       # seconds
    machine.typical("test_reliable_churn_2c", sandboxed=False)  # the reference's, here
    FIGURES["tests"]["test_backup_2b"]["rpcs"]   # the reference's figures per test

Virtual time does not charge for CPU, so a correct Raft that does more work
per event than the reference (encoding its whole log on every append, say)
takes longer in real time, and how much longer depends on the machine and its
load as much as on the code. A fixed cap fails correct code on a slow or busy
grader. So caps are derived from the machine: ``reference_figures.json``
records the reference's wall time per test on raftlab's development machine
together with the time that machine takes for a fixed workload (the
calibration); a grading session times the same workload where it runs, under
the load it has, and scales:

    cap(test) = max(FLOOR, MULTIPLE x reference wall(test) x (calibration here / there))

MULTIPLE is 30: a student's correct Raft measured at 5-8x the reference's time
on the heaviest test (reliable churn, quadratic persisting); FLOOR is 60 s,
the cap every run had before. On the development machine every cap is the
floor; on a machine four times slower the churn tests get about 200 s.
The figures are regenerated with ``raftlab bench --figures`` after the
reference or the suite changes (a test checks they cover every test).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIGURES_PATH = Path(__file__).with_name("reference_figures.json")
MULTIPLE = 30.0
FLOOR = 60.0
SLOW_WARNING = 5.0
"""``raftlab test`` warns when a run takes this many times the reference's time here."""


def load_figures() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(FIGURES_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"calibration": 0.0, "tests": {}}
    return data


FIGURES = load_figures()


def calibration_workload() -> float:
    """Seconds for a fixed piece of simulation in this process: 3 in-process echo
    servers, 20 clients, a lossy network, 3,000 calls."""
    from harness import ClassImpl, LocalServers  # noqa: PLC0415

    from .bench import echo  # noqa: PLC0415
    from .benchservers import EchoServer  # noqa: PLC0415

    start = time.perf_counter()
    echo(LocalServers(ClassImpl(EchoServer)), 150)
    return time.perf_counter() - start


@dataclass
class Machine:
    """This machine's speed relative to the one the figures were measured on."""

    factor: float = 1.0
    calibration: float = 0.0

    @classmethod
    def measure(cls) -> Machine:
        """Time the calibration workload (the median of three: the load it has now)."""
        there = float(FIGURES.get("calibration") or 0.0)
        here = statistics.median(calibration_workload() for _ in range(3))
        return cls(factor=here / there if there > 0 else 1.0, calibration=here)

    def typical(self, test: str, *, sandboxed: bool) -> float:
        """The reference's wall time for ``test`` on this machine, in seconds."""
        tests = FIGURES.get("tests", {})
        key = "wall_sandboxed" if sandboxed else "wall_in_process"
        figures = tests.get(test)
        if figures is None:  # a test the figures predate: assume the slowest
            walls = [float(t.get(key, 0.0)) for t in tests.values()] or [0.0]
            return max(walls) * self.factor
        return float(figures.get(key, 0.0)) * self.factor

    def slow_runs(self, records: list[Any], *, sandboxed: bool) -> list[str]:
        """Warnings for runs that took far longer than the reference's time here."""
        out = []
        for rec in records:
            typical = self.typical(rec.name, sandboxed=sandboxed)
            if typical <= 0 or rec.wall_time < 1.0 or rec.wall_time < SLOW_WARNING * typical:
                continue
            busiest = next((f"{name}() {share:.0%}".replace("%", " %")
                            for name, share in rec.profile if not name.startswith("(")), "")
            out.append(f"{rec.name} (seed {rec.seed}) took {rec.wall_time:.1f} s of real time, "
                       f"{rec.wall_time / typical:.0f}x the reference's {typical:.2f} s on this "
                       "machine" + (f"; your code's busiest function: {busiest}" if busiest else "")
                       + ". Not a failure, but a grader may be slower than this machine (see "
                       "HANDOUT.md, 'Speed').")
        return out

    def cap(self, test: str, *, sandboxed: bool) -> float:
        """Never below the development machine's cap, however fast this one is."""
        slower = max(1.0, self.factor) / self.factor if self.factor > 0 else 1.0
        return max(FLOOR, MULTIPLE * self.typical(test, sandboxed=sandboxed) * slower)
