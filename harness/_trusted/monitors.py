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

With introspection (a run with ``inspect``, where each server reports its
``debug_state()`` after every step: HANDOUT §3.9), three more, which name the
index and the terms:

  log matching           two live servers' logs that hold an entry of the same
                         term at an index are identical up to it (§5.3; Figure 3)
  committed entries stay an index that some server reported committed keeps
                         that entry's term on every server that reports it
                         committed (§5.4; Figure 3, State Machine Safety)
  leader completeness    a server that becomes leader holds every entry
                         committed so far (§5.4; Figure 3); entries inside its
                         snapshot count as held

A server that reports None for a field is not checked on what needs it.

A correct implementation cannot trip them.
"""

from __future__ import annotations

from typing import Any

from .._errors import Fatal
from .servers import Inspected, ServerHandle
from .sim import Simulation

Span = tuple[int, int, int]  # first index, last index, term


class SafetyMonitor:
    """See the module docstring."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._last_term: dict[ServerHandle, tuple[int, float]] = {}
        self._leaders: dict[int, tuple[int, int, float]] = {}  # term -> server, life, time
        self._applied: dict[ServerHandle, int] = {}             # last index each life applied
        self._chosen: dict[int, tuple[Any, int, int, float]] = {}  # index -> command, who, when
        # introspection (debug_state): each life's latest log, as spans of equal terms
        self._logs: dict[ServerHandle, tuple[Inspected, list[Span]]] = {}
        self._committed: dict[int, tuple[int, int, int, float]] = {}  # index -> term, who, when
        self._commit_seen: dict[ServerHandle, int] = {}  # highest committed index checked
        self._led: set[tuple[ServerHandle, int]] = set()  # (life, term) checked as leader

    # ----------------------------------------------------------------- hooks

    def watch(self, handle: ServerHandle, applied_through: int = 0) -> None:
        """A new server life: watch its state; it has applied through ``applied_through``."""
        self._applied[handle] = applied_through
        handle.on_state = self.observe_state
        handle.on_inspect = self.observe_inspect

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

    def observe_inspect(self, handle: ServerHandle, info: Inspected) -> None:
        """A server life's debug_state() after one of its steps (when it changed)."""
        if info.log is None:
            self._logs.pop(handle, None)
            return
        now = self._sim.now()
        base = info.snapshot or 0
        spans = _spans(base, info.log)
        self._logs[handle] = (info, spans)
        if info.commit is not None:
            self._check_committed(handle, info, spans, now)
        self._check_matching(handle, spans, now)
        if (info.role is not None and info.role.lower() == "leader" and info.term is not None
                and (handle, info.term) not in self._led):
            self._led.add((handle, info.term))
            self._check_complete(handle, info, spans, now)

    def _check_committed(self, handle: ServerHandle, info: Inspected, spans: list[Span],
                         now: float) -> None:
        base = info.snapshot or 0
        last = spans[-1][1] if spans else base
        top = min(info.commit or 0, last)
        start = max(self._commit_seen.get(handle, 0), base) + 1
        if top < start:
            return
        self._commit_seen[handle] = top
        for first, end, term in spans:
            for index in range(max(first, start), min(end, top) + 1):
                seen = self._committed.get(index)
                if seen is None:
                    self._committed[index] = (term, handle.server, handle.number, now)
                elif seen[0] != term:
                    self._violation(
                        f"a committed entry changed (§5.4; Figure 3, State Machine Safety): "
                        f"server {seen[1]} (incarnation {seen[2]}) reported index {index} "
                        f"committed with term {seen[0]} at {seen[3]:.4f} s, and server "
                        f"{handle.server} (incarnation {handle.number}) reports index {index} "
                        f"committed with term {term} at {now:.4f} s")
                    return

    def _check_matching(self, handle: ServerHandle, spans: list[Span], now: float) -> None:
        for other, (_, other_spans) in self._logs.items():
            if other is handle or not other.alive or other.server == handle.server:
                continue
            clash = _mismatch(spans, other_spans)
            if clash is not None:
                same, term, differ, mine, theirs = clash
                self._violation(
                    f"log matching violated (§5.3; Figure 3): server {handle.server} "
                    f"(incarnation {handle.number}) and server {other.server} (incarnation "
                    f"{other.number}) both hold an entry of term {term} at index {same}, but "
                    f"their logs differ at index {differ} (term {mine} on server "
                    f"{handle.server}, term {theirs} on server {other.server}) at {now:.4f} s")
                return

    def _check_complete(self, handle: ServerHandle, info: Inspected, spans: list[Span],
                        now: float) -> None:
        base = info.snapshot or 0
        last = spans[-1][1] if spans else base
        for index in sorted(self._committed):
            if index <= base:
                continue
            term, who, number, when = self._committed[index]
            held = _term_at(spans, index) if index <= last else None
            if held != term:
                has = (f"its log ends at index {last}" if held is None
                       else f"it holds term {held} there")
                self._violation(
                    f"leader completeness violated (§5.4; Figure 3): server {handle.server} "
                    f"(incarnation {handle.number}) became leader of term {info.term} at "
                    f"{now:.4f} s without the entry committed at index {index} (term {term}, "
                    f"reported by server {who}, incarnation {number}, at {when:.4f} s): {has}")
                return

    def _violation(self, message: str) -> None:
        self._sim.loop.fail(Fatal(f"safety monitor: {message}"))


def _spans(base: int, runs: tuple[tuple[int, int], ...]) -> list[Span]:
    """Runs of (term, count) after index ``base`` as (first, last, term) spans."""
    spans: list[Span] = []
    index = base
    for term, count in runs:
        if count > 0:
            spans.append((index + 1, index + count, term))
            index += count
    return spans


def _term_at(spans: list[Span], index: int) -> int | None:
    for first, last, term in spans:
        if first <= index <= last:
            return term
    return None


def _mismatch(a: list[Span], b: list[Span]) -> tuple[int, int, int, int, int] | None:
    """Where two logs break log matching: (an index where both hold the same term,
    that term, an earlier index where they differ, a's term there, b's), or None.
    Compares the indexes both logs hold (after both snapshots)."""
    i = j = 0
    differ: tuple[int, int, int] | None = None
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            ta, tb = a[i][2], b[j][2]
            if ta != tb:
                if differ is None:
                    differ = (lo, ta, tb)
            elif differ is not None:
                return (hi, ta, differ[0], differ[1], differ[2])
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return None
