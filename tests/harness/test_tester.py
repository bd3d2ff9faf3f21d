"""Tests of the tester, MIT's config.go (harness/_trusted/tester.py), against a fake Raft.

Each helper (check_one_leader, check_no_leader, check_terms, n_committed,
wait, one, crash1/start1, ingest_snap, the appliers, begin/end) behaves as
config.go does and fails with config.go's message, word for word; a restarted
server sees exactly the bytes persisted before kill(), and after a crash
nothing of the dead life runs again; apply_ch is unbuffered (a Raft's put
returns only once the tester has taken the message, after the 2D applier's
snapshot() call); student misbehaviour (garbage from get_state or start,
misuse of apply_ch, a raising constructor) is a StudentError that names the
method and the server.

Every server life runs in a host in this process (``LocalServers``), so a
test can look at the fake Raft object itself (``raft(handle)``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from harness import (
    SNAPSHOT_INTERVAL,
    TIME_LIMIT,
    ClassImpl,
    Config,
    Disk,
    Fatal,
    Limits,
    LocalServers,
    Outcome,
    PassedLine,
    ServerHandle,
    Simulation,
    StudentError,
    decode,
    encode,
    format_v,
)

from . import fakeraft
from .fakeraft import FakeRaft
from .toys import service_of

Body = Callable[[Config], Awaitable[Any]]


def with_config(body: Body, impl: type = FakeRaft, n: int = 3, *, snapshot: bool = False,
                unreliable: bool = False, seed: int = 1, limits: Limits | None = None,
                monitors: bool = False) -> tuple[Outcome, Config | None]:
    """Run ``body(cfg)`` on a fresh cluster of ``impl``; clean up as MIT's defer does.

    The safety monitors are off unless asked for: these tests check config.go's
    own checks and messages, which the monitors would often pre-empt.
    """
    sim = Simulation(seed, LocalServers(ClassImpl(impl)), limits=limits)
    made: list[Config] = []

    async def main() -> Any:
        cfg = Config(sim, n, unreliable, snapshot, monitors=monitors)
        made.append(cfg)
        try:
            return await body(cfg)
        finally:
            cfg.cleanup()

    outcome = sim.run(main())
    return outcome, (made[0] if made else None)


def passes(body: Body, impl: type = FakeRaft, **kw: Any) -> tuple[Any, Config]:
    outcome, cfg = with_config(body, impl, **kw)
    assert outcome.failure is None, f"{type(outcome.failure).__name__}: {outcome.failure}"
    assert cfg is not None
    return outcome.result, cfg


def fatal(body: Body, impl: type = FakeRaft, **kw: Any) -> tuple[str, Outcome]:
    outcome, _ = with_config(body, impl, **kw)
    assert isinstance(outcome.failure, Fatal), repr(outcome.failure)
    return str(outcome.failure), outcome


def student_error(body: Body, impl: type, **kw: Any) -> StudentError:
    outcome, _ = with_config(body, impl, **kw)
    assert isinstance(outcome.failure, StudentError), repr(outcome.failure)
    return outcome.failure


def raft(handle: ServerHandle | None) -> Any:
    """The fake Raft object a server life runs (its host is in this process)."""
    assert handle is not None
    return service_of(handle)


def checkpoints(cfg: Config, what: str) -> list[tuple[float, str]]:
    return [(ev[0], ev[5]) for ev in cfg.sim.trace.events if ev[1] == "check" and ev[4] == what]


# ------------------------------------------------------------ leader checks


def test_check_one_leader_finds_the_leader_after_450_to_549_ms() -> None:
    async def body(cfg: Config) -> tuple[int, float]:
        return await cfg.check_one_leader(), cfg.sim.now()

    (leader, when), cfg = passes(body)
    assert leader == 0
    assert 0.45 <= when < 0.55
    assert checkpoints(cfg, "check_one_leader") == [(when, "0")]


def test_check_one_leader_fails_on_two_leaders_in_one_term() -> None:
    async def body(cfg: Config) -> None:
        await cfg.check_one_leader()

    message, _ = fatal(body, fakeraft.TwoLeaders)
    assert message == "term 1 has 2 (>1) leaders"


def test_the_safety_monitors_are_on_by_default_and_catch_two_leaders_at_once() -> None:
    async def body(cfg: Config) -> None:
        await cfg.check_one_leader()

    message, outcome = fatal(body, fakeraft.TwoLeaders, monitors=True)
    assert message.startswith("safety monitor: election safety violated")
    assert outcome.sim_time == 0.0
    assert Config.__init__.__kwdefaults__ == {"monitors": True}


def test_check_one_leader_ignores_disconnected_servers() -> None:
    async def body(cfg: Config) -> int:
        cfg.disconnect(1)
        return await cfg.check_one_leader()

    assert passes(body, fakeraft.TwoLeaders)[0] == 0


def test_check_one_leader_returns_the_leader_of_the_newest_term() -> None:
    async def body(cfg: Config) -> int:
        return await cfg.check_one_leader()

    assert passes(body, fakeraft.StaleLeader, n=2)[0] == 0


def test_check_one_leader_gives_up_after_ten_tries() -> None:
    async def body(cfg: Config) -> None:
        await cfg.check_one_leader()

    message, outcome = fatal(body, fakeraft.NoLeader)
    assert message == "expected one leader, got none"
    assert 4.5 <= outcome.sim_time < 5.5


def test_check_no_leader_fails_when_a_connected_server_claims_to_lead() -> None:
    async def body(cfg: Config) -> None:
        cfg.check_no_leader()

    message, _ = fatal(body)
    assert message == "expected no leader among connected servers, but 0 claims to be leader"

    async def leader_gone(cfg: Config) -> None:
        cfg.disconnect(0)
        cfg.check_no_leader()

    passes(leader_gone)


def test_check_terms_returns_the_common_term_or_fails_on_disagreement() -> None:
    async def agree(cfg: Config) -> int:
        return cfg.check_terms()

    assert passes(agree)[0] == 1

    async def disagree(cfg: Config) -> None:
        cfg.check_terms()

    assert fatal(disagree, fakeraft.TermPerServer)[0] == "servers disagree on term"

    async def only_one_connected(cfg: Config) -> int:
        cfg.disconnect(0)
        cfg.disconnect(2)
        return cfg.check_terms()

    assert passes(only_one_connected, fakeraft.TermPerServer)[0] == 2

    async def nobody_connected(cfg: Config) -> int:
        for i in range(3):
            cfg.disconnect(i)
        return cfg.check_terms()

    assert passes(nobody_connected)[0] == -1


# ------------------------------------------------------------- agreement


def test_one_reaches_agreement_and_returns_the_index() -> None:
    async def body(cfg: Config) -> list[int]:
        return [await cfg.one(100 + i, 3, retry=False) for i in range(3)]

    indices, cfg = passes(body)
    assert indices == [1, 2, 3]
    assert cfg.n_committed(2) == (3, 101)
    assert [d for _, d in checkpoints(cfg, "one")] == ["100 -> index 1", "101 -> index 2",
                                                       "102 -> index 3"]


def test_one_without_retry_fails_after_one_two_second_window() -> None:
    async def body(cfg: Config) -> None:
        cfg.disconnect(2)
        await cfg.one(102, 3, retry=False)

    message, outcome = fatal(body)
    assert message == "one(102) failed to reach agreement"
    assert 2.0 <= outcome.sim_time < 2.1


def test_one_with_retry_gives_up_after_about_ten_seconds() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one([1, "x"], 1, retry=True)

    message, outcome = fatal(body, fakeraft.NoLeader)
    assert message == "one([1 x]) failed to reach agreement"
    assert 10.0 <= outcome.sim_time < 10.1


def test_one_returns_minus_one_quietly_once_the_test_has_finished() -> None:
    async def body(cfg: Config) -> int:
        cfg.finished = True
        return await cfg.one(7, 3, retry=True)

    assert passes(body, fakeraft.NoLeader)[0] == -1


def test_n_committed_counts_every_server_and_checks_the_values_agree() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(101, 3, retry=False)
        assert cfg.n_committed(1) == (3, 101)
        assert cfg.n_committed(2) == (0, None)
        cfg.crash1(2)
        assert cfg.n_committed(1) == (3, 101)  # crashed servers still count (cfg.logs)
        cfg.logs[2][1] = 999
        cfg.n_committed(1)

    message, _ = fatal(body)
    assert message == "committed values do not match: index 1, 101, 999"


def test_n_committed_reports_an_earlier_apply_error() -> None:
    async def body(cfg: Config) -> None:
        cfg.apply_err[1] = "commit index=3 server=1 7 != server=0 8"
        cfg.n_committed(3)

    assert fatal(body)[0] == "commit index=3 server=1 7 != server=0 8"


def test_wait_returns_the_command_once_enough_servers_commit() -> None:
    async def body(cfg: Config) -> Any:
        index, _, _ = cfg.start_cmd(0, "cmd")
        return await cfg.wait(index, 3, -1)

    assert passes(body)[0] == "cmd"


def test_wait_gives_up_after_thirty_doubling_sleeps() -> None:
    async def body(cfg: Config) -> None:
        await cfg.wait(5, 1, -1)

    message, outcome = fatal(body)
    assert message == "only 0 decided for index 5; wanted 1"
    # 10, 20, ..., 640 ms, then 23 times 1280 ms (MIT's worst case, about 30.7 s)
    assert outcome.sim_time == pytest.approx(sum(10 * 2**k for k in range(7)) / 1000 + 23 * 1.28)


def test_wait_returns_minus_one_when_a_server_moved_to_a_newer_term() -> None:
    async def body(cfg: Config) -> Any:
        raft(cfg.rafts[2]).term = 2
        return await cfg.wait(5, 1, 1)

    result, _ = passes(body)
    assert result == -1


# ---------------------------------------------------------------- appliers


def test_an_applied_command_that_differs_between_servers_is_an_apply_error() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(101, 3, retry=False)

    message, _ = fatal(body, fakeraft.Diverging)
    # config.go compares with every server and reports the last mismatch
    assert message == "apply error: commit index=1 server=1 999 != server=2 101"


def test_an_apply_out_of_order_is_an_apply_error() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(101, 3, retry=False)

    assert fatal(body, fakeraft.Skipping)[0] == "apply error: server 1 apply out of order 2"


def test_the_snapshot_applier_wants_consecutive_indices() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(101, 3, retry=False)

    message, _ = fatal(body, fakeraft.Skipping, snapshot=True)
    assert message == "apply error: server 1 apply out of order, expected index 1, got 2"


def test_something_other_than_an_apply_msg_on_apply_ch_is_a_student_error() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(101, 3, retry=False)

    error = student_error(body, fakeraft.WrongMessage)
    assert error.where == "server 0 (incarnation 1)"
    assert error.message == ("apply_ch.put() got ('not an ApplyMsg', 1); put ApplyMsg(...) "
                             "objects on it")


def test_apply_ch_is_not_a_buffered_queue_put_nowait_is_a_student_error() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(101, 3, retry=False)

    error = student_error(body, fakeraft.BuffersApplies)
    assert error.where == "server 0 (incarnation 1)"
    assert error.message == (
        "apply_ch.put_nowait(): apply_ch is Go's unbuffered applyCh: Raft only sends on it, "
        "with `await self.apply_ch.put(msg)`, which returns once the service has taken msg")


def test_apply_ch_is_unbuffered_a_put_returns_only_after_the_tester_took_the_message() -> None:
    sim = Simulation(1, LocalServers(ClassImpl(FakeRaft)))
    handle = sim.start_server(0, 1)
    handle.boot(Disk(encode(["a", "b"])), [sim.net.make_end(0, 0, handle.number)])
    rf = raft(handle)  # its log on disk holds two entries: it applies both

    async def main() -> dict[str, Any]:
        await asyncio.sleep(1)  # nobody takes: the first put stays suspended
        waiting = (list(rf.events), len(handle.apply_queue))
        first = await handle.apply_queue.get()
        when = sim.now()
        at_take = list(rf.events)
        await asyncio.sleep(0)  # the server's next step: its put returns
        after = (list(rf.events), len(handle.apply_queue), sim.now())
        second = await handle.apply_queue.get()
        return {"waiting": waiting, "first": first, "at_take": at_take, "when": when,
                "after": after, "second": second}

    outcome = sim.run(main())
    assert outcome.failure is None, repr(outcome.failure)
    result = outcome.result
    assert result["waiting"] == ([("put", 1)], 1)
    assert (result["first"].command, result["first"].command_index) == ("a", 1)
    assert result["at_take"] == [("put", 1)]  # taken, but the put has not returned yet
    assert result["after"] == ([("put", 1), ("returned", 1), ("put", 2)], 1, result["when"])
    assert (result["second"].command, result["second"].command_index) == ("b", 2)


def test_the_snapshot_appliers_snapshot_call_comes_before_the_put_returns() -> None:
    async def body(cfg: Config) -> list[list[tuple[str, int]]]:
        for i in range(SNAPSHOT_INTERVAL + 1):
            await cfg.one(100 + i, 3, retry=False)
        return [raft(r).events for r in cfg.rafts]

    per_server, _ = passes(body, snapshot=True)
    index = SNAPSHOT_INTERVAL - 1
    for events in per_server:
        at = events.index(("put", index))
        assert events[at:at + 4] == [("put", index), ("snapshot", index), ("returned", index),
                                     ("put", index + 1)]
        assert [e for e in events if e[0] == "snapshot"] == [("snapshot", index)]


def test_the_snapshot_applier_asks_for_a_snapshot_every_ten_entries() -> None:
    async def body(cfg: Config) -> list[list[tuple[int, Any]]]:
        for i in range(12):
            await cfg.one(100 + i, 3, retry=False)
        return [[(index, decode(data)) for index, data in raft(r).snapshots]
                for r in cfg.rafts]

    per_server, _ = passes(body, snapshot=True)
    expected = (SNAPSHOT_INTERVAL - 1, [None, *range(100, 109)])
    assert per_server == [[(9, expected)]] * 3


# ------------------------------------------------------- crash and restart


def test_a_restarted_server_sees_exactly_the_bytes_persisted_before_kill() -> None:
    async def body(cfg: Config) -> dict[str, Any]:
        await cfg.one(101, 3, retry=False)
        await cfg.one(102, 3, retry=False)
        old = cfg.rafts[1]
        assert old is not None and old.disk is cfg.saved[1]
        before = (cfg.saved[1].raft_state, cfg.saved[1].snapshot)
        cfg.crash1(1)  # KillWriter.kill() writes to its persister now
        saved = cfg.saved[1]
        assert saved is not None
        after_crash = (saved.raft_state, saved.snapshot)
        in_kill = (old.disk.raft_state, old.disk.snapshot)
        cfg.start1(1)
        new = cfg.rafts[1]
        assert new is not None and new is not old
        assert new.disk is cfg.saved[1] and new.disk is not old.disk
        restarted = (raft(new).persister.read_raft_state(), raft(new).persister.read_snapshot())
        new_log = list(raft(new).log)
        cfg.connect(1)
        await cfg.one(103, 3, retry=False)  # the new life adopts and persists [101, 102, 103]
        return {"before": before, "after_crash": after_crash, "in_kill": in_kill,
                "restarted": restarted, "new_log": new_log,
                "new_saved": cfg.saved[1].raft_state,  # type: ignore[union-attr]
                "old_disk": old.disk.raft_state}

    result, _ = passes(body, fakeraft.KillWriter)
    assert result["before"] == (encode([101, 102]), b"")
    assert result["after_crash"] == result["before"]
    assert result["restarted"] == result["before"]
    assert result["new_log"] == [101, 102]
    # what kill() wrote went to the dead life's disk, which nobody reads
    assert result["in_kill"] == (b"written in kill()", b"snapshot written in kill()")
    assert result["new_saved"] == encode([101, 102, 103])
    assert result["old_disk"] == b"written in kill()"  # the new life's writes are its own


def test_crash1_ends_the_server_life_and_start1_does_not_connect() -> None:
    async def body(cfg: Config) -> dict[str, Any]:
        cfg.disconnect(2)
        await cfg.one(101, 2, retry=False)  # server 0 keeps pushing to server 2
        old = cfg.rafts[0]
        assert old is not None
        pushing = sum(not t.done() and "push" in repr(t.get_coro())
                      for t in asyncio.all_tasks(old.transport.host.loop))  # type: ignore[attr-defined]
        cfg.crash1(0)
        crashed_at = cfg.sim.now()
        crashed = (cfg.rafts[0], cfg.connected[0], cfg.net.server(0), old.alive)
        cfg.start1(0)
        new = cfg.rafts[0]
        assert new is not None
        restarted = (cfg.connected[0], new.number,
                     [e.enabled for e in cfg.ends[0]])  # type: ignore[union-attr]
        cfg.connect(0)
        # server 0's old push to server 2 is lost within 7 s (long delays): its
        # life would retry then, had it not ended
        await asyncio.sleep(8)
        old_sends = [ev for ev in cfg.sim.trace.events
                     if ev[1] == "send" and ev[2] == 0 and ev[3] == 1 and ev[0] > crashed_at]
        return {"pushing": pushing, "crashed": crashed, "restarted": restarted,
                "enabled": [e.enabled for e in cfg.ends[0]],  # type: ignore[union-attr]
                "count": cfg.rpc_count(0), "old_sends": old_sends}

    result, cfg = passes(body)
    assert result["pushing"] >= 1
    assert result["crashed"] == (None, False, None, False)
    assert result["old_sends"] == []  # nothing of the dead life ran again
    assert result["restarted"] == (False, 2, [False, False, False])
    assert result["enabled"] == [True, True, False]  # server 2 is still disconnected
    assert result["count"] == 0  # a new life's RPC count starts at 0
    kinds = [(ev[1], ev[2], ev[3]) for ev in cfg.sim.trace.events
             if ev[1] in ("crash", "start", "connect", "disconnect") and ev[2] == 0]
    assert kinds == [("start", 0, 1), ("connect", 0, 1), ("disconnect", 0, 1), ("crash", 0, 1),
                     ("start", 0, 2), ("connect", 0, 2), ("crash", 0, 2)]


def test_a_restart_ingests_the_persisted_snapshot_before_the_constructor_runs() -> None:
    async def body(cfg: Config) -> tuple[int, dict[int, Any], list[Any]]:
        for i in range(10):
            await cfg.one(200 + i, 3, retry=False)
        cfg.crash1(1)
        cfg.logs[1] = {}
        cfg.start1(1)
        cfg.connect(1)
        await cfg.one(210, 3, retry=False)
        return cfg.last_applied[1], cfg.logs[1], raft(cfg.rafts[1]).log

    (last_applied, logs, log), _ = passes(body, snapshot=True)
    assert last_applied == 11
    assert logs == {0: None, **{i: 199 + i for i in range(1, 12)}}
    assert log == list(range(200, 211))


def test_ingest_snap_checks_the_snapshot_and_installs_its_log() -> None:
    async def body(cfg: Config) -> list[Any]:
        ok = cfg.ingest_snap(0, encode((3, [None, "a", "b", "c"])), 3)
        installed = (cfg.logs[0], cfg.last_applied[0])
        mismatch = cfg.ingest_snap(0, encode((3, [None, "a", "b", "c"])), 4)
        errors = []
        for bad in (None, "text", b"not an encoding", encode("no index"), encode((1, "x"))):
            try:
                cfg.ingest_snap(0, bad, 1)
            except Fatal as e:
                errors.append(str(e))
        return [ok, installed, mismatch, errors]

    (ok, installed, mismatch, errors), _ = passes(body)
    assert ok == ""
    assert installed == ({0: None, 1: "a", 2: "b", 3: "c"}, 3)
    assert mismatch == "server 0 snapshot doesn't match m.SnapshotIndex"
    assert errors == ["nil snapshot", "nil snapshot", "snapshot decode error",
                      "snapshot decode error", "snapshot decode error"]


# ---------------------------------------------------- student misbehaviour


GET_STATE_MUST = "; it must return a tuple (current_term: int, is_leader: bool)"
START_MUST = "; it must return a tuple (index: int, term: int, is_leader: bool)"


@pytest.mark.parametrize(("got", "shown"), [
    ("list", "[1, True]"), (None, "None"), ((1,), "(1,)"), (("1", True), "('1', True)"),
    ((1, True, 0), "(1, True, 0)"), ((1.0, True), "(1.0, True)"), ((1, None), "(1, None)"),
])
def test_a_malformed_get_state_result_is_a_student_error(got: Any, shown: str) -> None:
    async def body(cfg: Config) -> None:
        await cfg.check_one_leader()

    impl = type("BadGetState", (fakeraft.BadGetState,), {"GOT": got})
    error = student_error(body, impl)
    assert error.where == "server 0 (incarnation 1)"
    assert error.message == f"get_state() returned {shown}{GET_STATE_MUST}"


@pytest.mark.parametrize(("got", "shown"), [
    (1, "1"), (None, "None"), ((1, 1), "(1, 1)"), (("1", 1, True), "('1', 1, True)"),
    ((1, 1, None), "(1, 1, None)"), ([1, 1, True], "[1, 1, True]"),
])
def test_a_malformed_start_result_is_a_student_error(got: Any, shown: str) -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(5, 3, retry=False)

    impl = type("BadStart", (fakeraft.BadStart,), {"GOT": got})
    error = student_error(body, impl)
    assert error.where == "server 1 (incarnation 1)"  # one() tries server 1 first
    assert error.message.startswith("start(")
    assert error.message.endswith(f") returned {shown}{START_MUST}")


def test_a_malformed_start_result_names_the_command_as_given() -> None:
    async def body(cfg: Config) -> None:
        await cfg.one(5, 3, retry=False)

    error = student_error(body, fakeraft.BadStart)
    assert error.message == f"start(5) returned 1{START_MUST}"


def test_an_exception_in_the_constructor_names_the_constructor_and_the_server() -> None:
    async def body(cfg: Config) -> None:
        pass

    error = student_error(body, fakeraft.BrokenConstructor)
    assert error.where == "server 1 (incarnation 1)"
    assert error.message == "Raft(...) (the constructor) raised ValueError: no log yet"
    assert "no log yet" in error.details


# ----------------------------------------------------------- begin and end


def test_begin_and_end_print_mits_lines_with_the_figures_since_begin(
        capsys: pytest.CaptureFixture[str]) -> None:
    async def body(cfg: Config) -> tuple[int, int]:
        await cfg.one(1, 3, retry=False)
        cfg.begin("Test (2B): fake agreement")
        rpcs, nbytes = cfg.rpc_total(), cfg.bytes_total()
        await asyncio.sleep(1)
        for i in range(3):
            await cfg.one(10 + i, 3, retry=False)
        cfg.end()
        return cfg.rpc_total() - rpcs, cfg.bytes_total() - nbytes

    (rpcs, nbytes), cfg = passes(body)
    line = cfg.passed_line
    assert line is not None
    assert (line.peers, line.rpcs, line.bytes, line.commits) == (3, rpcs, nbytes, 3)
    assert 1.0 < line.seconds < 1.1
    out = capsys.readouterr().out
    assert out == f"Test (2B): fake agreement ...\n{line}\n"
    assert [d for _, d in checkpoints(cfg, "begin")] == ["Test (2B): fake agreement"]


def test_the_passed_line_has_mits_format() -> None:
    assert str(PassedLine(3.5, 3, 58, 16840, 0)) == "  ... Passed --   3.5  3   58   16840    0"
    assert str(PassedLine(121.04, 5, 12345, 1234567, 10000)) == \
        "  ... Passed --  121.0  5 12345 1234567 10000"


def test_end_fails_a_test_that_took_longer_than_120_seconds() -> None:
    async def body(cfg: Config) -> None:
        cfg.begin("Test (2A): slow")
        await asyncio.sleep(TIME_LIMIT + 0.5)
        cfg.end()

    message, _ = fatal(body, limits=Limits(virtual_seconds=300))
    assert message == "test took longer than 120 seconds"


def test_cleanup_kills_every_server_and_marks_the_test_finished() -> None:
    async def body(cfg: Config) -> list[ServerHandle]:
        return [r for r in cfg.rafts if r is not None]

    handles, cfg = passes(body)
    assert cfg.finished
    assert [raft(h).dead for h in handles] == [True, True, True]
    assert [h.alive for h in handles] == [False, False, False]


def test_log_size_is_the_largest_persisted_raft_state() -> None:
    async def body(cfg: Config) -> tuple[int, int]:
        for i in range(4):
            await cfg.one("x" * 50 + str(i), 3, retry=False)
        return cfg.log_size(), cfg.peak_log_size()

    (size, peak), _ = passes(body)
    assert size == peak == len(encode(["x" * 50 + str(i) for i in range(4)]))


# --------------------------------------------------------------- utilities


def test_format_v_prints_values_as_gos_percent_v() -> None:
    assert format_v(None) == "<nil>"
    assert format_v(42) == "42"
    assert format_v("abc") == "abc"
    assert format_v([1, [2, "x"], (3,)]) == "[1 [2 x] [3]]"
    assert format_v("y" * 50, 10) == "yyyyyyyyy…"


def test_rand_int_and_randstring_come_from_the_testers_seeded_stream() -> None:
    async def body(cfg: Config) -> tuple[list[int], list[str]]:
        return [cfg.rand_int() for _ in range(5)], [cfg.randstring(12) for _ in range(3)]

    (ints, strings), _ = passes(body, seed=3)
    assert passes(body, seed=3)[0] == (ints, strings)
    assert passes(body, seed=4)[0] != (ints, strings)
    assert all(0 <= x < 2**63 for x in ints)
    assert all(len(s) == 12 and s.replace("-", "").replace("_", "").isalnum() for s in strings)
