"""The always-on safety monitors: each rule fires, at the moment of the violation,
naming the rule, the servers, terms or indices and times; a well-behaved
cluster never trips them."""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

from harness import ApplyMsg, MakeConfig, encode, run_lab_test


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
