"""Always-on safety monitors: Raft's invariants, checked after every event.

    monitor = SafetyMonitor(sim)        # the tester makes one per cluster
    monitor.watch(inc, raft)            # a new server life
    monitor.observe_apply(inc, msg)     # every ApplyMsg the tester reads
    monitor.observe_snapshot(inc, index, xlog)   # a snapshot the service loads

Black box: the monitors use only the student API (``get_state`` and what
arrives on ``apply_ch``), so they work on any submission. They run after
every callback of the simulated loop (an "event"): each server whose code ran
in that callback - its tasks, its RPC handlers, or a method the tester called
- has its ``get_state()`` read, so a leader is observed whenever it exists,
not only when a test happens to sample (MIT samples about every 0.5 s).

Rules (a violation fails the test at once, naming the rule, the servers,
terms, indices and virtual times):

  election safety        at most one leader per term, ever (§5.2; Figure 3)
  terms never decrease   within one server life (§5.1; Figure 2, All Servers)
  sequential apply       a server life applies index i + 1 after i, or after
                         a snapshot that ends at i (Figure 2, All Servers 1);
                         a snapshot never moves its state machine backwards (§7)
  state machine safety   every server and life applies the same command at the
                         same index (§5.4.3; Figure 3), snapshots included

A correct implementation cannot trip them. They cost one ``get_state`` call
per server whose code ran, per callback.
"""

from __future__ import annotations

import contextvars
from typing import Any, Final

from ._errors import Fatal
from ._owner import Incarnation, _owner
from ._sim import Simulation

_UNSET: Final = object()


class SafetyMonitor:
    """See the module docstring."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._dirty: list[Incarnation] = []
        self._rafts: dict[Incarnation, Any] = {}
        self._last_term: dict[Incarnation, tuple[int, float]] = {}
        self._leaders: dict[int, tuple[int, int, float]] = {}  # term -> server, life, time
        self._applied: dict[Incarnation, int] = {}             # last index each life applied
        self._chosen: dict[int, tuple[Any, int, int, float]] = {}  # index -> command, who, when
        self._checking = False
        sim.loop.after_callback = self._after_callback

    # ----------------------------------------------------------------- hooks

    def watch(self, inc: Incarnation, raft: Any, applied_through: int = 0) -> None:
        """A new server life: watch its state; it has applied through ``applied_through``."""
        self._rafts[inc] = raft
        self._applied[inc] = applied_through
        inc.dirty_list = self._dirty
        self._mark(inc)

    def _mark(self, inc: Incarnation) -> None:
        if not inc.dirty:
            inc.dirty = True
            self._dirty.append(inc)

    def _after_callback(self, ctx: contextvars.Context) -> None:
        owner = ctx.get(_owner)
        if owner is not None and not owner.dirty:
            owner.dirty = True
            self._dirty.append(owner)
        if self._dirty:
            self.check_dirty()

    def check_dirty(self) -> None:
        if self._checking:
            return
        self._checking = True
        try:
            while self._dirty:
                inc = self._dirty.pop(0)
                inc.dirty = False
                if inc.alive and inc in self._rafts:
                    self._check_state(inc)
        finally:
            self._checking = False

    # ------------------------------------------------------------- the rules

    def _check_state(self, inc: Incarnation) -> None:
        raft = self._rafts[inc]
        try:
            got = inc.run_quietly(raft.get_state)
        except BaseException:  # the tester reports a broken get_state when it calls it
            return
        if not (isinstance(got, tuple) and len(got) == 2 and type(got[0]) is int):
            return
        term, is_leader = got[0], bool(got[1])
        now = self._sim.now()
        last = self._last_term.get(inc)
        if last is not None and term < last[0]:
            self._violation(
                f"terms must never decrease (§5.1; Figure 2, All Servers): server "
                f"{inc.server} (incarnation {inc.number}) reported term {last[0]} at "
                f"{last[1]:.4f} s and term {term} at {now:.4f} s")
        if last is None or term != last[0]:
            self._last_term[inc] = (term, now)
        if is_leader:
            seen = self._leaders.get(term)
            if seen is None:
                self._leaders[term] = (inc.server, inc.number, now)
                self._sim.trace.add(now, "monitor", inc.server, inc.number, "leader",
                                    f"leader in term {term}")
            elif seen[0] != inc.server:
                self._violation(
                    f"election safety violated (§5.2; Figure 3: at most one leader per term): "
                    f"server {seen[0]} (incarnation {seen[1]}) was leader in term {term} at "
                    f"{seen[2]:.4f} s, and server {inc.server} (incarnation {inc.number}) is "
                    f"leader in term {term} at {now:.4f} s")

    def observe_apply(self, inc: Incarnation, msg: Any) -> None:
        """Check an ApplyMsg a server life put on apply_ch (called in order)."""
        now = self._sim.now()
        last = self._applied.get(inc, 0)
        if msg.snapshot_valid:
            index = msg.snapshot_index
            if index < last:
                self._violation(
                    f"a snapshot must never move a state machine backwards (§7): server "
                    f"{inc.server} (incarnation {inc.number}) delivered a snapshot through index "
                    f"{index} at {now:.4f} s after applying index {last}")
            self._applied[inc] = max(last, index)
            return
        if not msg.command_valid:
            return
        index = msg.command_index
        if index != last + 1:
            self._violation(
                f"entries must be applied in order, each once (Figure 2, All Servers 1): server "
                f"{inc.server} (incarnation {inc.number}) applied index {index} at {now:.4f} s "
                f"right after index {last}")
        self._applied[inc] = index
        self._choose(inc, index, msg.command, now)

    def observe_snapshot(self, inc: Incarnation, xlog: list[Any]) -> None:
        """Check the commands inside a snapshot against what was applied elsewhere."""
        now = self._sim.now()
        for index in range(1, len(xlog)):
            if self._sim.loop.failure is not None:
                return
            self._choose(inc, index, xlog[index], now, via_snapshot=True)

    def _choose(self, inc: Incarnation, index: int, command: Any, now: float, *,
                via_snapshot: bool = False) -> None:
        seen = self._chosen.get(index)
        if seen is None:
            self._chosen[index] = (command, inc.server, inc.number, now)
        elif seen[0] != command:
            how = "holds in a snapshot" if via_snapshot else "applied"
            self._violation(
                f"state machine safety violated (§5.4.3; Figure 3): server {seen[1]} "
                f"(incarnation {seen[2]}) applied {seen[0]!r} at index {index} at "
                f"{seen[3]:.4f} s, but server {inc.server} (incarnation {inc.number}) {how} "
                f"{command!r} at index {index} at {now:.4f} s")

    def _violation(self, message: str) -> None:
        self._sim.loop.fail(Fatal(f"safety monitor: {message}"))
