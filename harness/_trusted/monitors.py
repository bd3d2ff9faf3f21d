"""Always-on safety monitors: Raft's invariants, checked after every step.

    monitor = SafetyMonitor(sim)        # the tester makes one per cluster
    monitor.watch(handle)               # a new server life
    monitor.observe_apply(handle, msg)  # every ApplyMsg the tester takes
    monitor.observe_snapshot(handle, xlog)   # a snapshot the service loads

Black box: the monitors use only the student API (``get_state`` and what
arrives on ``apply_ch``), so they work on any submission. Every report of a
server life carries its ``get_state()`` after the step, so a leader is
observed whenever it exists between steps, not only when a test happens to
sample (MIT samples about every 0.5 s).

Rules (a violation fails the test at once, naming the rule, the servers,
terms, indices and virtual times):

  election safety        at most one leader per term, ever (§5.2; Figure 3)
  terms never decrease   within one server life (§5.1; Figure 2, All Servers)
  sequential apply       a server life applies index i + 1 after i, or after
                         a snapshot that ends at i (Figure 2, All Servers 1);
                         a snapshot never moves its state machine backwards (§7)
  state machine safety   every server and life applies the same command at the
                         same index (§5.4.3; Figure 3), snapshots included

A correct implementation cannot trip them.
"""

from __future__ import annotations

from typing import Any

from .._errors import Fatal
from .servers import ServerHandle
from .sim import Simulation


class SafetyMonitor:
    """See the module docstring."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._last_term: dict[ServerHandle, tuple[int, float]] = {}
        self._leaders: dict[int, tuple[int, int, float]] = {}  # term -> server, life, time
        self._applied: dict[ServerHandle, int] = {}             # last index each life applied
        self._chosen: dict[int, tuple[Any, int, int, float]] = {}  # index -> command, who, when

    # ----------------------------------------------------------------- hooks

    def watch(self, handle: ServerHandle, applied_through: int = 0) -> None:
        """A new server life: watch its state; it has applied through ``applied_through``."""
        self._applied[handle] = applied_through
        handle.on_state = self.observe_state

    # ------------------------------------------------------------- the rules

    def observe_state(self, handle: ServerHandle, term: int, is_leader: bool) -> None:
        """A server life's get_state() after one of its steps."""
        now = self._sim.now()
        last = self._last_term.get(handle)
        if last is not None and term < last[0]:
            self._violation(
                f"terms must never decrease (§5.1; Figure 2, All Servers): server "
                f"{handle.server} (incarnation {handle.number}) reported term {last[0]} at "
                f"{last[1]:.4f} s and term {term} at {now:.4f} s")
        if last is None or term != last[0]:
            self._last_term[handle] = (term, now)
        if is_leader:
            seen = self._leaders.get(term)
            if seen is None:
                self._leaders[term] = (handle.server, handle.number, now)
                self._sim.trace.add(now, "monitor", handle.server, handle.number, "leader",
                                    f"leader in term {term}")
            elif seen[0] != handle.server:
                self._violation(
                    f"election safety violated (§5.2; Figure 3: at most one leader per term): "
                    f"server {seen[0]} (incarnation {seen[1]}) was leader in term {term} at "
                    f"{seen[2]:.4f} s, and server {handle.server} (incarnation "
                    f"{handle.number}) is leader in term {term} at {now:.4f} s")

    def observe_apply(self, handle: ServerHandle, msg: Any) -> None:
        """Check an ApplyMsg a server life put on apply_ch (called in order)."""
        now = self._sim.now()
        last = self._applied.get(handle, 0)
        if msg.snapshot_valid:
            index = msg.snapshot_index
            if index < last:
                self._violation(
                    f"a snapshot must never move a state machine backwards (§7): server "
                    f"{handle.server} (incarnation {handle.number}) delivered a snapshot through "
                    f"index {index} at {now:.4f} s after applying index {last}")
            self._applied[handle] = max(last, index)
            return
        if not msg.command_valid:
            return
        index = msg.command_index
        if index != last + 1:
            self._violation(
                f"entries must be applied in order, each once (Figure 2, All Servers 1): server "
                f"{handle.server} (incarnation {handle.number}) applied index {index} at "
                f"{now:.4f} s right after index {last}")
        self._applied[handle] = index
        self._choose(handle, index, msg.command, now)

    def observe_snapshot(self, handle: ServerHandle, xlog: list[Any]) -> None:
        """Check the commands inside a snapshot against what was applied elsewhere."""
        now = self._sim.now()
        for index in range(1, len(xlog)):
            if self._sim.loop.failure is not None:
                return
            self._choose(handle, index, xlog[index], now, via_snapshot=True)

    def _choose(self, handle: ServerHandle, index: int, command: Any, now: float, *,
                via_snapshot: bool = False) -> None:
        seen = self._chosen.get(index)
        if seen is None:
            self._chosen[index] = (command, handle.server, handle.number, now)
        elif seen[0] != command:
            how = "holds in a snapshot" if via_snapshot else "applied"
            self._violation(
                f"state machine safety violated (§5.4.3; Figure 3): server {seen[1]} "
                f"(incarnation {seen[2]}) applied {seen[0]!r} at index {index} at "
                f"{seen[3]:.4f} s, but server {handle.server} (incarnation {handle.number}) "
                f"{how} {command!r} at index {index} at {now:.4f} s")

    def _violation(self, message: str) -> None:
        self._sim.loop.fail(Fatal(f"safety monitor: {message}"))
