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
records, per test, the reference's wall time on raftlab's development machine
over ``SEEDS`` seeds (the median and the heaviest seed) together with the time
that machine takes for a fixed workload (the calibration); a grading session
times the same workload where it runs, under the load it has, and scales:

    cap(test) = max(FLOOR, MULTIPLE x heaviest reference seed(test) x (calibration here / there))

How the numbers were chosen. Seeds differ far more than machines: on reliable
churn the reference's median over 20 seeds is 2.1 s and its heaviest seed 12.1 s
(in-process, one core), so the cap starts from the heaviest seed, not the median. A correct
Raft written as students write it (committing fast, encoding the whole log on
every append) measured 5-8x the reference on the same seed. MULTIPLE is 15:
8x, times 1.3 for a seed heavier than the ones measured, times 1.4 for load
the calibration did not see. FLOOR is 60 s, the cap every run had before. On
the development machine reliable churn gets about 180 s (in-process) and 200 s
(sandboxed); every other test gets the floor.

``raftlab test`` warns (without failing) about a run that used more than a
third of its cap: a grader three times slower would stop it.

The figures are regenerated with ``raftlab bench --figures`` after the
reference or the suite changes (raftlab's own tests check that they cover
every test and match HANDOUT.md's table).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIGURES_PATH = Path(__file__).with_name("reference_figures.json")
SEEDS = 20
"""Seeds per test the figures are measured on."""
MULTIPLE = 15.0
FLOOR = 60.0
WARN_SHARE = 1 / 3
"""``raftlab test`` warns about a run that used this share of its cap."""


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
        """The reference's median wall time for ``test`` on this machine, in seconds."""
        return self._figure(test, "wall_sandboxed" if sandboxed else "wall_in_process")

    def heaviest(self, test: str, *, sandboxed: bool) -> float:
        """The reference's wall time on its heaviest measured seed, on this machine."""
        return self._figure(test, "wall_sandboxed_max" if sandboxed else "wall_in_process_max")

    def _figure(self, test: str, key: str) -> float:
        tests = FIGURES.get("tests", {})
        figures = tests.get(test)
        if figures is None:  # a test the figures predate: assume the slowest
            return max([float(t.get(key, 0.0)) for t in tests.values()] or [0.0]) * self.factor
        return float(figures.get(key, 0.0)) * self.factor

    def slow_runs(self, records: list[Any], *, sandboxed: bool) -> list[str]:
        """Warnings for runs that used much of their cap (see the module docstring)."""
        out = []
        for rec in records:
            cap = self.cap(rec.name, sandboxed=sandboxed)
            if rec.wall_time < WARN_SHARE * cap:
                continue
            busiest = next((f"{name}() {share:.0%}".replace("%", " %")
                            for name, share in rec.profile if not name.startswith("(")), "")
            typical = self.typical(rec.name, sandboxed=sandboxed)
            out.append(f"{rec.name} (seed {rec.seed}) took {rec.wall_time:.1f} s of real time, "
                       f"{rec.wall_time / cap:.0%} of its {cap:.0f} s cap on this machine (the "
                       f"reference takes about {typical:.1f} s here)"
                       + (f"; your code's busiest function: {busiest}" if busiest else "")
                       + ". Not a failure, but a grader a few times slower than this machine "
                       "would stop it (see HANDOUT.md, 'Speed').")
        return out

    def cap(self, test: str, *, sandboxed: bool) -> float:
        """Never below the development machine's cap, however fast this one is."""
        slower = max(1.0, self.factor) / self.factor if self.factor > 0 else 1.0
        return max(FLOOR, MULTIPLE * self.heaviest(test, sandboxed=sandboxed) * slower)


TABLE_BEGIN = "<!-- reference figures: begin (raftlab bench --figures rewrites this table) -->"
TABLE_END = "<!-- reference figures: end -->"


def figures_table(figures: dict[str, Any]) -> str:
    """HANDOUT.md's table of the reference's figures per test, in Markdown."""
    seeds = figures.get("seeds", "?")
    lines = [TABLE_BEGIN, "",
             f"| test | virtual s | RPCs | commits | wall s, typical | wall s, heaviest of "
             f"{seeds} seeds |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, t in figures.get("tests", {}).items():
        lines.append(f"| `{name}` | {t['sim_time']:.1f} | {t['rpcs']:,} | {t['commits']:,} | "
                     f"{t['wall_in_process']:.2f} | {t.get('wall_in_process_max', 0.0):.2f} |")
    lines += ["", TABLE_END]
    return "\n".join(lines)


def rewrite_table(text: str, figures: dict[str, Any]) -> str:
    """``text`` (HANDOUT.md) with its figures table replaced by one made from ``figures``."""
    start, end = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError("HANDOUT.md has no reference figures table (its markers are missing)")
    return text[:start] + figures_table(figures) + text[end + len(TABLE_END):]
