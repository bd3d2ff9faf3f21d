"""The always-on safety monitors: each rule fires, at the moment of the violation,
naming the rule, the servers, terms or indices and times; a well-behaved
cluster never trips them.

The monitors watch server lives (their handles): every step's report carries
the life's get_state(), so a leader is seen even if no test samples it; terms
and sequential apply are checked within one life (a restarted life starts
from what it loaded: its snapshot), and state machine safety across every
server and life, snapshots included.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any, ClassVar

from harness import ApplyMsg, MakeConfig, ServerHandle, decode, encode, run_lab_test


class Quiet:
    """A fake Raft that never leads and never applies: trips nothing."""

    def __init__(self, peers: list[Any], me: int, persister: Any,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        self.me = me
        self.apply_ch = apply_ch
        self.term = 0

    def get_state(self) -> tuple[int, bool]:
        return self.term, False

    def start(self, command: object) -> tuple[int, int, bool]:
        return -1, -1, False

    def snapshot(self, index: int, snapshot: bytes) -> None:
        pass

    def kill(self) -> None:
        pass


class EveryoneLeads(Quiet):
    def get_state(self) -> tuple[int, bool]:
        return 1, True


class TermGoesBack(Quiet):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.term = 5
        asyncio.create_task(self.forget())

    async def forget(self) -> None:
        await asyncio.sleep(0.2)
        self.term = 3


class AppliesOutOfOrder(Quiet):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.create_task(self.apply())

    async def apply(self) -> None:
        await asyncio.sleep(0.1)
        await self.apply_ch.put(ApplyMsg(command_valid=True, command=1, command_index=1))
        await self.apply_ch.put(ApplyMsg(command_valid=True, command=3, command_index=3))


class Disagrees(AppliesOutOfOrder):
    async def apply(self) -> None:
        await asyncio.sleep(0.1 * (self.me + 1))
        await self.apply_ch.put(ApplyMsg(command_valid=True, command=100 + self.me,
                                         command_index=1))


class SnapshotBackwards(AppliesOutOfOrder):
    async def apply(self) -> None:
        await asyncio.sleep(0.1)
        for i in (1, 2, 3):
            await self.apply_ch.put(ApplyMsg(command_valid=True, command=i, command_index=i))
        data = encode((2, [None, 1, 2]))
        await self.apply_ch.put(ApplyMsg(snapshot_valid=True, snapshot=data, snapshot_term=1,
                                         snapshot_index=2))


class LeadsBriefly(Quiet):
    """Server s leads term 1 for one millisecond at 0.1 * (s + 1) s: two leaders in
    one term, never at once, and never while the test samples."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.term = 1
        self.leading = False
        asyncio.create_task(self.lead())

    async def lead(self) -> None:
        await asyncio.sleep(0.1 * (self.me + 1))
        self.leading = True
        await asyncio.sleep(0.001)
        self.leading = False

    def get_state(self) -> tuple[int, bool]:
        return self.term, self.leading


class SnapshotDisagrees(AppliesOutOfOrder):
    """Server 0 applies 100 at index 1; server 1 then installs a snapshot holding 999 there."""

    async def apply(self) -> None:
        await asyncio.sleep(0.1 * (self.me + 1))
        if self.me == 0:
            await self.apply_ch.put(ApplyMsg(command_valid=True, command=100, command_index=1))
        elif self.me == 1:
            await self.apply_ch.put(ApplyMsg(snapshot_valid=True, snapshot=encode((1, [None, 999])),
                                             snapshot_term=1, snapshot_index=1))


class ForgetsItsTerm(Quiet):
    """Term 5 in a server's first life, term 1 in every later one (it persists nothing else)."""

    def __init__(self, peers: list[Any], me: int, persister: Any,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.term = 1 if persister.read_raft_state() else 5
        persister.save(b"not my first life", None)


class AppliesTenPerLife(Quiet):
    """Each life applies ten commands (command i at index i) 0.1 s in, starting after
    the snapshot it loaded; it persists the snapshots the service asks for."""

    def __init__(self, peers: list[Any], me: int, persister: Any,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.persister = persister
        snap = persister.read_snapshot()
        self.first = decode(snap)[0] + 1 if snap else 1
        asyncio.create_task(self.apply())

    async def apply(self) -> None:
        await asyncio.sleep(0.1)
        for i in range(self.first, self.first + 10):
            await self.apply_ch.put(ApplyMsg(command_valid=True, command=i, command_index=i))

    def snapshot(self, index: int, snapshot: bytes) -> None:
        self.persister.save(b"", snapshot)


class ChangesItsMind(AppliesTenPerLife):
    """Like AppliesTenPerLife, but a server's second life applies -1 at index 1."""

    def __init__(self, peers: list[Any], me: int, persister: Any,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.again = bool(persister.read_raft_state())
        persister.save(b"not my first life", None)

    async def apply(self) -> None:
        await asyncio.sleep(0.1)
        await self.apply_ch.put(ApplyMsg(command_valid=True, command=-1 if self.again else 1,
                                         command_index=1))


async def _idle(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, False)
    cfg.begin("monitor check")
    await asyncio.sleep(2.0)
    cfg.end()


async def _idle_snapshots(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, True)
    cfg.begin("monitor check")
    await asyncio.sleep(2.0)
    cfg.end()


async def _restart(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, False)
    cfg.begin("monitor check")
    await asyncio.sleep(1.0)
    cfg.crash1(0)
    cfg.start1(0)
    cfg.connect(0)
    await asyncio.sleep(1.0)
    cfg.end()


async def _restart_snapshots(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, True)
    cfg.begin("monitor check")
    await asyncio.sleep(1.0)
    cfg.crash1(0)
    cfg.start1(0)
    cfg.connect(0)
    await asyncio.sleep(1.0)
    assert cfg.last_applied[0] == 19  # the new life applied 10..19, after its snapshot at 9
    cfg.end()


def _run(impl: type, test: Any = _idle, monitors: bool = True) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(test, impl, 1, monitors=monitors)


def test_a_quiet_cluster_trips_nothing() -> None:
    assert _run(Quiet).passed


def test_two_leaders_in_one_term_fail_at_once() -> None:
    r = _run(EveryoneLeads)
    assert r.kind == "failed"
    assert r.message.startswith("safety monitor: election safety violated (§5.2")
    assert "was leader in term 1" in r.message and "is leader in term 1" in r.message
    assert r.sim_time < 0.01  # when it happened, not when a test sampled (0.45 s)


def test_a_term_going_backwards_fails() -> None:
    r = _run(TermGoesBack)
    assert r.kind == "failed"
    assert "terms must never decrease (§5.1" in r.message
    assert "term 5" in r.message and "term 3" in r.message


def test_applying_out_of_order_fails() -> None:
    r = _run(AppliesOutOfOrder)
    assert r.kind == "failed"
    assert "applied index 3" in r.message and "right after index 1" in r.message


def test_different_commands_at_one_index_fail() -> None:
    r = _run(Disagrees)
    assert r.kind == "failed"
    assert "state machine safety violated (§5.4.3" in r.message
    assert "index 1" in r.message


def test_a_snapshot_that_moves_backwards_fails() -> None:
    r = _run(SnapshotBackwards, _idle_snapshots)
    assert r.kind == "failed"
    assert "must never move a state machine backwards (§7)" in r.message


def test_without_monitors_the_tests_own_checks_remain() -> None:
    r = _run(EveryoneLeads, monitors=False)
    assert r.passed  # nothing in _idle samples leadership: only the monitor sees it


def test_a_leader_between_the_tests_samples_is_seen() -> None:
    r = _run(LeadsBriefly)
    assert r.kind == "failed"
    assert r.message == (
        "safety monitor: election safety violated (§5.2; Figure 3: at most one leader per "
        "term): server 0 (incarnation 1) was leader in term 1 at 0.1000 s, and server 1 "
        "(incarnation 1) is leader in term 1 at 0.2000 s")
    assert r.sim_time == 0.2


def test_a_command_in_a_snapshot_that_differs_from_an_applied_one_fails() -> None:
    r = _run(SnapshotDisagrees, _idle_snapshots)
    assert r.kind == "failed"
    assert r.message == (
        "safety monitor: state machine safety violated (§5.4.3; Figure 3): server 0 "
        "(incarnation 1) applied 100 at index 1 at 0.1000 s, but server 1 (incarnation 1) "
        "holds in a snapshot 999 at index 1 at 0.2000 s")


def test_terms_are_watched_per_server_life() -> None:
    assert _run(ForgetsItsTerm, _restart).passed  # term 5, then 1 in a new life


def test_a_restarted_life_applies_from_the_snapshot_it_loaded() -> None:
    r = _run(AppliesTenPerLife, _restart_snapshots)
    assert r.passed, r.message


def test_state_machine_safety_spans_the_lives_of_one_server() -> None:
    r = _run(ChangesItsMind, _restart)
    assert r.kind == "failed"
    assert r.message == (
        "safety monitor: state machine safety violated (§5.4.3; Figure 3): server 0 "
        "(incarnation 1) applied 1 at index 1 at 0.1000 s, but server 0 (incarnation 2) "
        "applied -1 at index 1 at 1.1000 s")


# ------------------------------------------------ introspection (debug_state)


class Introspected(Quiet):
    """A fake Raft whose debug_state() reports ``LOGS[me]`` (its log's terms, a
    commit index, a role), switching to ``LATER[me]`` after 0.5 s."""

    LOGS: ClassVar[dict[int, tuple[list[int], int, str]]] = {}
    LATER: ClassVar[dict[int, tuple[list[int], int, str]]] = {}

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.now = self.LOGS.get(self.me, ([], 0, "follower"))
        asyncio.create_task(self.change())

    async def change(self) -> None:
        await asyncio.sleep(0.5)
        self.now = self.LATER.get(self.me, self.now)

    def debug_state(self) -> dict[str, Any]:
        terms, commit, role = self.now
        return {"role": role, "term": max(terms, default=0), "voted_for": None,
                "commit_index": commit, "last_applied": 0, "snapshot_index": 0,
                "log_terms": terms}


def _introspected(logs: dict[int, tuple[list[int], int, str]],
                  later: dict[int, tuple[list[int], int, str]] | None = None) -> Any:
    cls = type("Scripted", (Introspected,), {"LOGS": logs, "LATER": later or {}})
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(_idle, cls, 1, inspect=True)


def test_logs_that_match_trip_nothing_and_are_traced() -> None:
    r = _introspected({0: ([1, 1, 2], 2, "leader"), 1: ([1, 1], 2, "follower"),
                       2: ([1, 1, 2, 2], 0, "follower")})
    assert r.passed, r.message
    inspects = [rec for rec in r.trace.records() if rec["kind"] == "inspect"]
    assert {rec["server"] for rec in inspects} == {0, 1, 2}
    assert inspects[0]["log"] == [[1, 2], [2, 1]] and inspects[0]["role"] == "leader"


def test_log_matching_names_the_index_and_the_terms() -> None:
    r = _introspected({0: ([1, 1, 3], 0, "follower"), 1: ([1, 2, 3], 0, "follower")})
    assert r.kind == "failed"
    assert r.message.startswith("safety monitor: log matching violated (§5.3")
    assert "entry of term 3 at index 3" in r.message
    assert "differ at index 2 (term 2 on server 1, term 1 on server 0)" in r.message


def test_a_committed_entry_that_changes_fails() -> None:
    r = _introspected({0: ([1, 1], 2, "follower"), 1: ([1, 2], 2, "follower")})
    assert r.kind == "failed"
    assert "a committed entry changed" in r.message
    assert "index 2 committed with term 1" in r.message
    assert "index 2 committed with term 2" in r.message


def test_a_leader_without_a_committed_entry_fails_leader_completeness() -> None:
    r = _introspected({0: ([1, 1, 1], 3, "follower"), 1: ([1, 1], 0, "follower")},
                      later={1: ([1, 1], 0, "leader")})
    assert r.kind == "failed"
    assert "leader completeness violated (§5.4" in r.message
    assert "without the entry committed at index 3 (term 1" in r.message
    assert "its log ends at index 2" in r.message
    assert 0.5 <= r.sim_time < 0.6


def test_debug_state_is_asked_only_when_inspecting() -> None:
    logs = {0: ([1, 1, 3], 0, "follower"), 1: ([1, 2, 3], 0, "follower")}
    cls = type("Scripted", (Introspected,), {"LOGS": logs, "LATER": {}})
    with contextlib.redirect_stdout(io.StringIO()):
        r = run_lab_test(_idle, cls, 1)
    assert r.passed
    assert not [rec for rec in r.trace.records() if rec["kind"] == "inspect"]


def test_a_malformed_debug_state_names_the_fix() -> None:
    class Bad(Quiet):
        def debug_state(self) -> Any:
            return {"role": "leader", "log_terms": [1, "two"]}

    with contextlib.redirect_stdout(io.StringIO()):
        r = run_lab_test(_idle, Bad, 1, inspect=True)
    assert r.kind == "error"
    assert "debug_state() gave a log term 'two'" in r.message
    assert "It must return a dict with the keys role" in r.message


def test_an_inspect_report_that_was_not_asked_for_is_ignored() -> None:
    """A hostile sandbox may send "inspect" effects in any run: unless the run
    asked for them, they are neither traced nor checked."""
    async def main(make_config: MakeConfig) -> None:
        cfg = make_config(3, False, False)
        cfg.begin("monitor check")
        handle = cfg.rafts[0]
        assert isinstance(handle, ServerHandle)
        handle._inspected(("inspect", "leader", 1, None, 2**62, 0, 0, [(1, 2**62)]))
        await asyncio.sleep(0.1)
        cfg.end()

    with contextlib.redirect_stdout(io.StringIO()):
        r = run_lab_test(main, Quiet, 1)
    assert r.passed, r.message
    assert not [rec for rec in r.trace.records() if rec["kind"] == "inspect"]
