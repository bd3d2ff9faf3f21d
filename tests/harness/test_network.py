"""Tests of the simulated network, labrpc in virtual time (harness/_trusted/network.py).

Every server life runs in a host of its own (in-process here), so these tests
drive the network as its users do: an outside client's ``ClientEnd.call``
(encodes the args, ``safe_decode``s the reply) or a server's own code calling
``await self.peers[j].call(...)``.

Calls return a copy of the reply or None; the drop and delay rates match
labrpc's constants within statistical bounds (several standard deviations,
so they hold for any seed); flags are read once, at send time; a disabled
end, a blocked link or a missing server gives None after labrpc's delay; a
crashed or replaced server never answers; counting follows labrpc; misuse by
a server's code (unknown method, None reply, non-plain data, a raising
handler) fails the run as a StudentError with a message that names the fix;
a server that floods the network with calls or bytes fails the run, named;
a hostile reply never runs code on the trusted side; and a scenario's
interceptor can drop, hold, release, discard or delay messages.
"""

from __future__ import annotations

import asyncio
import math
import pickle
import statistics
from collections.abc import Callable
from typing import Any

import pytest

from harness import (
    DEFAULT_LATENCY,
    CodecError,
    Message,
    ServerHandle,
    Simulation,
    StudentError,
    encode,
    safe_decode,
)
from harness._protocol import Frame
from harness._sandbox.host import handler_table
from harness._trusted import network
from harness._trusted.safe_decode import Record

from .toys import (
    Args,
    EchoService,
    Reply,
    client,
    cluster,
    events,
    lost_reasons,
    restart,
    run,
    serve,
)

LO, HI = DEFAULT_LATENCY


def within(value: float, expected: float, sigma: float, k: float = 5.0) -> bool:
    """Is ``value`` within k standard deviations of ``expected``?"""
    return abs(value - expected) <= k * sigma


def binomial_sigma(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def times_by_call(sim: Simulation, kind: str) -> dict[int, float]:
    return {ev[4]: ev[0] for ev in events(sim, kind)}


async def call_many(end: Any, n: int, method: str = "echo") -> list[Any]:
    return await asyncio.gather(*(end.call(method, Args(i)) for i in range(n)))


def as_received(value: Any) -> Any:
    """What an outside client gets for a reply ``value`` (a Record for a dataclass)."""
    return safe_decode(encode(value))


# -------------------------------------------------------------- basic calls


def test_a_call_returns_a_copy_of_the_handlers_reply() -> None:
    sim, _, services = cluster(1, 2)

    async def main() -> list[Any]:
        sent = Args([1, [2]])
        reply = await client(sim, 1).call("echo", sent)
        received = services[1].received[0]
        received.value[1].append("server changed it")
        return [reply, sent, received is sent]

    reply, sent, same = run(sim, main())
    assert reply == as_received(Reply([1, [2]], server=1, number=1))
    assert (reply.value, reply.server, reply.number) == ([1, [2]], 1, 1)
    assert reply != Reply([1, [2]], server=1, number=1)  # a Record, not the dataclass
    assert sent == Args([1, [2]])  # the sender's object is untouched
    assert not same


def test_a_call_between_servers_returns_a_copy_of_the_reply_as_the_callers_class() -> None:
    class Asker(EchoService):
        def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
            super().__init__(peers, me, persister, apply_ch)
            self.got: list[Any] = []
            if me == 0:
                self.task = asyncio.get_running_loop().create_task(self._ask())

        async def _ask(self) -> None:
            self.got.append(await self.peers[1].call("echo", Args([1, [2]])))

    sim, _, services = cluster(1, 2, Asker)

    async def main() -> None:
        await asyncio.sleep(1)

    run(sim, main())
    [reply] = services[0].got
    assert reply == Reply([1, [2]], server=1, number=1)  # a student gets real dataclasses
    assert services[1].received == [Args([1, [2]])]


def test_mutating_a_reply_does_not_change_the_servers_state() -> None:
    class Holder:
        def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
            self.state = [1, 2]

        def get(self, args: Args) -> Reply:
            return Reply(self.state)

    sim, _, services = cluster(1, 1, Holder)

    async def main() -> None:
        reply = await client(sim, 0).call("get", Args())
        reply.value.append(3)

    run(sim, main())
    assert services[0].state == [1, 2]


def test_every_message_takes_the_default_small_latency() -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> None:
        await call_many(client(sim, 0), 200)

    run(sim, main())
    sent, delivered, replied = (times_by_call(sim, k) for k in ("send", "deliver", "reply"))
    requests = [delivered[c] - sent[c] for c in sent]
    replies = [replied[c] - delivered[c] for c in sent]
    for hops in (requests, replies):
        assert min(hops) >= LO and max(hops) <= HI
        assert max(hops) - min(hops) > (HI - LO) / 2  # drawn, not constant


def test_zero_latency_gives_labrpcs_instant_delivery() -> None:
    sim, _, _ = cluster(1, 1, latency=(0, 0))

    async def main() -> float:
        await client(sim, 0).call("slow", Args(0.25))
        await client(sim, 0).call("echo", Args(1))
        return asyncio.get_running_loop().time()

    assert run(sim, main()) == 0.25


def test_async_handlers_run_concurrently_and_reply_when_they_finish() -> None:
    sim, _, services = cluster(1, 1)

    async def main() -> list[Any]:
        end = client(sim, 0)
        return await asyncio.gather(*(end.call("slow", Args(d)) for d in (3, 1, 2)))

    replies = run(sim, main())
    assert [r.value for r in replies] == [3, 1, 2]
    assert services[0].finished == [1, 2, 3]
    assert 3 < sim.now() < 3.01


class QuickAsync(EchoService):
    """An async handler that never awaits: it returns in its delivery's own step."""

    async def quick(self, args: Args) -> Reply:
        return Reply(args.value, self.me, self.number)


def test_an_async_handler_that_returns_at_once_replies() -> None:
    """Its reply used to be lost: the "replied" effect came in the delivery's own
    report, before the network had marked the call pending (student-api.md
    allows async handlers, and a Raft with `async def request_vote` never
    elected a leader)."""
    sim, _, _ = cluster(1, 1, QuickAsync)

    async def main() -> list[Any]:
        end = client(sim, 0)
        return await asyncio.gather(*(end.call("quick", Args(v)) for v in (1, 2)))

    replies = run(sim, main())
    assert [r.value for r in replies] == [1, 2]
    assert sim.now() < 0.01


def test_handlers_are_the_public_methods_except_the_testers_api() -> None:
    assert handler_table(EchoService) == {"echo": False, "log": False, "slow": True}


# ------------------------------------------------------ labrpc's statistics


def test_an_unreliable_network_delivers_81_percent_and_drops_10_percent_each_way() -> None:
    n = 4000
    sim, _, services = cluster(11, 1)

    async def main() -> int:
        sim.net.set_reliable(False)
        replies = await call_many(client(sim, 0), n)
        return sum(r is not None for r in replies)

    ok = run(sim, main())
    reasons = lost_reasons(sim)
    dispatched = len(events(sim, "deliver"))
    assert set(reasons) == {"request dropped", "reply dropped"}
    assert within(ok / n, 0.81, binomial_sigma(0.81, n))
    assert within(reasons["request dropped"] / n, 0.1, binomial_sigma(0.1, n))
    assert within(reasons["reply dropped"] / dispatched, 0.1, binomial_sigma(0.1, dispatched))
    # A dropped reply's handler did run; a dropped request's did not.
    assert services[0].calls == dispatched == n - reasons["request dropped"]
    assert ok == dispatched - reasons["reply dropped"]


def test_an_unreliable_network_delays_requests_uniformly_by_0_to_26_ms() -> None:
    n = 4000
    sim, _, _ = cluster(12, 1)

    async def main() -> None:
        sim.net.set_reliable(False)
        await call_many(client(sim, 0), n)

    run(sim, main())
    sent, delivered = times_by_call(sim, "send"), times_by_call(sim, "deliver")
    delays = [delivered[c] - sent[c] for c in delivered]
    # The short delay is a whole number of ms in 0..26, plus one hop of latency.
    assert LO <= min(delays) < 0.001 + HI
    assert 0.026 + LO <= max(delays) <= 0.026 + HI
    sigma = math.sqrt((27**2 - 1) / 12) / 1000 / math.sqrt(len(delays))
    assert within(statistics.mean(delays), 0.013 + (LO + HI) / 2, sigma)


def test_the_short_delay_takes_each_of_its_27_values_equally_often() -> None:
    n = 5400
    sim, _, _ = cluster(13, 1, latency=(0, 0))

    async def main() -> None:
        sim.net.set_reliable(False)
        await call_many(client(sim, 0), n)

    run(sim, main())
    sent, delivered = times_by_call(sim, "send"), times_by_call(sim, "deliver")
    counts = [0] * 27
    for c, t in delivered.items():
        ms = (t - sent[c]) * 1000
        assert abs(ms - round(ms)) < 1e-6  # whole milliseconds
        counts[round(ms)] += 1
    expected = len(delivered) / 27
    sigma = math.sqrt(expected * (1 - 1 / 27))
    assert all(within(c, expected, sigma) for c in counts), counts


def test_long_reordering_delays_two_thirds_of_replies_by_200_to_2200_ms() -> None:
    n = 3000
    sim, _, _ = cluster(14, 1)

    async def main() -> list[Any]:
        sim.net.set_long_reordering(True)
        return await call_many(client(sim, 0), n)

    replies = run(sim, main())
    assert all(r is not None for r in replies)  # reordering loses nothing
    delivered, replied = times_by_call(sim, "deliver"), times_by_call(sim, "reply")
    waits = [replied[c] - delivered[c] for c in replied]
    delayed = [w for w in waits if w > 0.1]
    prompt = [w for w in waits if w <= 0.1]
    assert all(LO <= w <= HI for w in prompt)
    assert all(0.2 + LO <= w <= 2.2 + HI for w in delayed)
    delayed = [w - (LO + HI) / 2 for w in delayed]
    assert within(len(delayed) / n, 2 / 3, binomial_sigma(2 / 3, n))
    # 200 + rand(1 + rand(2000)) ms: mean about 700 ms, skewed towards short delays.
    spread = [1 + x for x in range(2000)]
    mean = 0.2 + statistics.mean((s - 1) / 2 for s in spread) / 1000
    variance = (statistics.mean((s * s - 1) / 12 for s in spread)
                + statistics.pvariance([(s - 1) / 2 for s in spread])) / 1e6
    assert within(statistics.mean(delayed), mean, math.sqrt(variance / len(delayed)))
    assert statistics.median(delayed) < statistics.mean(delayed)
    assert max(delayed) > 2.0  # the spread reaches 2000 ms


def test_long_reordering_delivers_concurrent_replies_out_of_order() -> None:
    sim, _, _ = cluster(15, 1)
    arrived: list[int] = []

    async def one(end: Any, i: int) -> None:
        reply = await end.call("echo", Args(i))
        arrived.append(reply.value)

    async def main() -> None:
        sim.net.set_long_reordering(True)
        end = client(sim, 0)
        await asyncio.gather(*(one(end, i) for i in range(50)))

    run(sim, main())
    assert sorted(arrived) == list(range(50))
    assert arrived != sorted(arrived)


def test_a_disabled_end_returns_none_after_0_to_7_s_with_long_delays() -> None:
    n = 1000
    sim, _, services = cluster(16, 1)

    async def main() -> list[Any]:
        sim.net.set_long_delays(True)
        return await call_many(client(sim, 0, enabled=False), n)

    assert run(sim, main()) == [None] * n
    assert services[0].calls == 0
    assert lost_reasons(sim) == {"unreachable": n}
    sent, lost = times_by_call(sim, "send"), times_by_call(sim, "lost")
    waits = [lost[c] - sent[c] for c in lost]
    assert 0 <= min(waits) < 0.1 and 6.9 < max(waits) <= 6.999
    assert all(abs(w * 1000 - round(w * 1000)) < 1e-6 for w in waits)  # whole ms, as labrpc
    assert within(statistics.mean(waits), 3.4995, 7 / math.sqrt(12) / math.sqrt(n))


def test_a_disabled_end_returns_none_within_100_ms_without_long_delays() -> None:
    n = 1000
    sim, _, _ = cluster(17, 1)

    async def main() -> list[Any]:
        return await call_many(client(sim, 0, enabled=False), n)

    assert run(sim, main()) == [None] * n
    sent, lost = times_by_call(sim, "send"), times_by_call(sim, "lost")
    waits = [lost[c] - sent[c] for c in lost]
    assert 0 <= min(waits) < 0.005 and 0.095 < max(waits) <= 0.099
    assert within(statistics.mean(waits), 0.0495, 0.1 / math.sqrt(12) / math.sqrt(n))


def test_a_missing_or_deleted_server_is_unreachable() -> None:
    sim, _, services = cluster(1, 1)

    async def main() -> list[Any]:
        nowhere = await client(sim, 5).call("echo", Args(1))
        sim.net.delete_server(0)
        gone = await client(sim, 0).call("echo", Args(2))
        return [nowhere, gone]

    assert run(sim, main()) == [None, None]
    assert lost_reasons(sim) == {"unreachable": 2}
    assert services[0].calls == 0


# ------------------------------------------------- flags are read at send time


def test_network_settings_apply_to_calls_sent_after_the_change_only() -> None:
    sim, _, _ = cluster(18, 1)

    async def main() -> tuple[int, int]:
        end = client(sim, 0)
        reliable_calls = asyncio.gather(*(end.call("echo", Args(i)) for i in range(300)))
        await asyncio.sleep(0)
        sim.net.set_reliable(False)  # before any of them is delivered
        unreliable_calls = asyncio.gather(*(end.call("echo", Args(i)) for i in range(300)))
        await asyncio.sleep(0)
        sim.net.set_reliable(True)
        first, second = await reliable_calls, await unreliable_calls
        return sum(r is None for r in first), sum(r is None for r in second)

    lost_first, lost_second = run(sim, main())
    assert lost_first == 0
    assert lost_second > 20


def test_disabling_an_end_after_sending_runs_the_handler_but_loses_the_reply() -> None:
    sim, _, services = cluster(1, 1)

    async def main() -> Any:
        end = client(sim, 0)
        pending = asyncio.ensure_future(end.call("echo", Args(1)))
        await asyncio.sleep(0)
        sim.net.enable(end, False)
        return await pending

    assert run(sim, main()) is None
    assert services[0].calls == 1  # labrpc: the handler ran; its reply is suppressed
    assert lost_reasons(sim) == {"disconnected": 1}


def test_a_caller_of_a_disconnected_async_handler_gets_none_within_100_ms() -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> tuple[Any, float]:
        end = client(sim, 0)
        pending = asyncio.ensure_future(end.call("slow", Args(5)))
        await asyncio.sleep(1.01)  # just after one of labrpc's 100 ms polls
        sim.net.enable(end, False)
        reply = await pending
        return reply, asyncio.get_running_loop().time()

    reply, when = run(sim, main())
    assert reply is None
    assert 1.01 < when <= 1.11 + HI
    assert lost_reasons(sim) == {"server dead": 1}


def test_a_crashed_servers_pending_handler_never_finishes_and_its_caller_gets_none() -> None:
    sim, handles, services = cluster(1, 1)

    async def main() -> tuple[Any, float]:
        pending = asyncio.ensure_future(client(sim, 0).call("slow", Args(2)))
        await asyncio.sleep(1.01)
        sim.crash(handles[0])  # the process is gone: its handler never returns
        reply = await pending
        when = asyncio.get_running_loop().time()
        await asyncio.sleep(5)
        return reply, when

    reply, when = run(sim, main())
    assert reply is None
    assert 1.01 < when <= 1.11 + HI  # labrpc's poll notices within 100 ms
    assert services[0].calls == 1 and services[0].finished == []
    assert lost_reasons(sim) == {"server dead": 1}
    assert events(sim, "reply") == []


def test_a_request_to_a_server_replaced_before_delivery_does_not_run_the_handler() -> None:
    sim, handles, services = cluster(1, 1)

    async def main() -> Any:
        pending = asyncio.ensure_future(client(sim, 0).call("echo", Args(1)))
        await asyncio.sleep(0)
        restart(sim, 0, handles[0])
        return await pending

    assert run(sim, main()) is None
    assert services[0].calls == 0
    assert lost_reasons(sim) == {"server dead": 1}
    assert sim.net.rpc_count(0) == 0


def test_a_reply_from_a_replaced_server_is_never_delivered() -> None:
    sim, handles, services = cluster(1, 1)

    async def main() -> Any:
        end = client(sim, 0)
        pending = asyncio.ensure_future(end.call("slow", Args(0.5)))
        await asyncio.sleep(0.1)
        # Register a new life of server 0 without crashing the old one: the old
        # life's handler finishes, but the network must not deliver its reply.
        serve(sim, 0)
        reply = await pending
        await asyncio.sleep(1)
        assert handles[0].alive  # the old life ran on
        return reply

    assert run(sim, main()) is None
    assert services[0].finished == [0.5]
    assert events(sim, "reply") == []
    assert lost_reasons(sim) == {"server dead": 1}


# ------------------------------------------------------------------ counting


def test_rpc_counts_and_bytes_follow_labrpc() -> None:
    sim, handles, _ = cluster(19, 2)

    async def main() -> dict[str, Any]:
        sim.net.set_reliable(False)
        to0, to1 = client(sim, 0), client(sim, 1)
        await call_many(to0, 200)
        await call_many(to1, 50)
        await call_many(client(sim, 1, enabled=False), 30)  # counted in the total too
        before_restart = sim.net.rpc_count(1)
        restart(sim, 1, handles[1])
        after_restart = sim.net.rpc_count(1)
        await call_many(to1, 40)
        return {"before": before_restart, "after": after_restart}

    counts = run(sim, main())
    net = sim.net
    sends = events(sim, "send")
    delivers = events(sim, "deliver")
    assert net.total_rpcs == len(sends) == 200 + 50 + 30 + 40
    assert net.rpc_count(0) == sum(1 for ev in delivers if ev[2] == 0)
    assert counts["before"] == sum(1 for ev in delivers if ev[2] == 1 and ev[3] == 1)
    assert counts["after"] == 0
    assert net.rpc_count(1) == sum(1 for ev in delivers if ev[2] == 1 and ev[3] == 2)
    # Dispatched requests only: neither dropped requests nor the disabled end's calls.
    reasons = lost_reasons(sim)
    assert len(delivers) == 200 + 50 + 40 - reasons["request dropped"]
    assert reasons["unreachable"] == 30 and reasons["request dropped"] > 0
    request_bytes = sum(ev[7] for ev in sends)
    reply_bytes = sum(ev[7] for ev in events(sim, "reply"))
    assert net.total_bytes == request_bytes + reply_bytes
    # The size counted is the encoded request's, and the payload is those bytes.
    assert all(ev[7] == len(ev[8]) == len(encode(Args(safe_decode(ev[8]).value)))
               for ev in sends)
    assert net.pending_calls == 0 and net.pending_bytes == 0  # every call has ended


def test_bytes_of_a_delayed_reply_are_counted_when_it_is_delivered() -> None:
    sim, _, _ = cluster(20, 1)

    async def main() -> list[int]:
        sim.net.set_long_reordering(True)
        end = client(sim, 0)
        seen = []
        for _ in range(30):
            before = sim.net.total_bytes
            pending = asyncio.ensure_future(end.call("echo", Args("x" * 100)))
            await asyncio.sleep(0.1)
            seen.append(sim.net.total_bytes - before)
            await pending
        return seen

    seen = run(sim, main())
    request = len(encode(Args("x" * 100)))
    reply = len(encode(Reply("x" * 100, 0, 1)))
    assert set(seen) == {request, request + reply}  # some replies were still on their way


def test_pending_calls_and_bytes_count_the_calls_not_yet_ended() -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> list[tuple[int, int]]:
        net = sim.net
        end = client(sim, 0)
        seen = [(net.pending_calls, net.pending_bytes)]
        slow = [asyncio.ensure_future(end.call("slow", Args(d))) for d in (1, 2, 3)]
        lost = asyncio.ensure_future(client(sim, 0, enabled=False).call("echo", Args("y")))
        await asyncio.sleep(0)
        seen.append((net.pending_calls, net.pending_bytes))
        await lost
        seen.append((net.pending_calls, net.pending_bytes))
        await slow[0]
        seen.append((net.pending_calls, net.pending_bytes))
        await asyncio.gather(*slow)
        seen.append((net.pending_calls, net.pending_bytes))
        assert net.overloaded() is None
        return seen

    size = {d: len(encode(Args(d))) for d in (1, 2, 3, "y")}
    assert run(sim, main()) == [
        (0, 0),
        (4, size[1] + size[2] + size[3] + size["y"]),
        (3, size[1] + size[2] + size[3]),  # a lost call has ended too
        (2, size[2] + size[3]),
        (0, 0),
    ]


# -------------------------------------------------------- blocking and partitions


def test_blocking_a_link_drops_its_requests_and_the_replies_that_travel_on_it() -> None:
    sim, _, services = cluster(1, 3)

    async def main() -> dict[str, Any]:
        sim.net.block(0, 1)
        results = {
            "0->1": await client(sim, 1, src=0).call("echo", Args("a")),
            "1->0": await client(sim, 0, src=1).call("echo", Args("b")),
            "0->2": await client(sim, 2, src=0).call("echo", Args("c")),
            "2->0": await client(sim, 0, src=2).call("echo", Args("d")),
        }
        sim.net.unblock(0, 1)
        results["0->1 unblocked"] = await client(sim, 1, src=0).call("echo", Args("e"))
        return results

    results = run(sim, main())
    assert results["0->1"] is None and services[1].calls == 1  # only the unblocked call
    assert results["1->0"] is None  # the request arrived; the reply 0->1 was dropped
    assert [a.value for a in services[0].received] == ["b", "d"]
    assert results["0->2"].value == "c" and results["2->0"].value == "d"
    assert results["0->1 unblocked"].value == "e"
    assert lost_reasons(sim) == {"unreachable": 1, "reply blocked": 1}
    assert [ev[2:] for ev in events(sim, "link")] == [(0, 0, 1, True), (0, 0, 1, False)]


def test_a_blocked_link_stops_a_servers_own_calls_too() -> None:
    class Pinger(EchoService):
        def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
            super().__init__(peers, me, persister, apply_ch)
            self.got: list[Any] = []
            if me == 0:
                self.task = asyncio.get_running_loop().create_task(self._ping())

        async def _ping(self) -> None:
            for i in range(4):
                reply = await self.peers[1 + i % 2].call("echo", Args(i))
                self.got.append(None if reply is None else reply.value)

    sim, _, services = cluster(1, 3, Pinger)
    sim.net.block(0, 1)

    async def main() -> None:
        await asyncio.sleep(1)

    run(sim, main())
    assert services[0].got == [None, 1, None, 3]
    assert services[1].calls == 0 and services[2].calls == 2
    assert lost_reasons(sim) == {"unreachable": 2}


def test_partition_blocks_every_link_across_groups_and_heal_unblocks_them() -> None:
    sim, _, _ = cluster(1, 4)
    net = sim.net

    async def main() -> None:
        net.block(0, 1)
        net.partition([0, 1], [2], [3])
        assert not net.is_blocked(0, 1)  # a partition replaces earlier blocks
        for a in range(4):
            for b in range(4):
                across = a != b and not {a, b} <= {0, 1}
                assert net.is_blocked(a, b) == across, (a, b)
        replies = {(a, b): await client(sim, b, src=a).call("echo", Args(0))
                   for a in range(4) for b in range(4) if a != b}
        assert {k for k, r in replies.items() if r is not None} == {(0, 1), (1, 0)}
        net.heal()
        assert not any(net.is_blocked(a, b) for a in range(4) for b in range(4))
        assert await client(sim, 3, src=2).call("echo", Args(0)) is not None

    run(sim, main())


# ------------------------------------------------------------------- misuse


class Misbehaving:
    def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
        self.peers = peers

    def nothing(self, args: Args) -> None:
        return None

    def unsendable(self, args: Args) -> Reply:
        return Reply({1, 2})

    def broken(self, args: Args) -> Reply:
        raise ValueError("handler bug")


def calling(method: Any, make_args: Callable[[], Any], *, base: type = Misbehaving,
            catch: bool = False) -> type:
    """A ``base`` service whose server 0 calls server 1 once, when the run starts
    (its own code, in its host). ``catch``: keep a CodecError's message as the outcome."""

    class Caller(base):  # type: ignore[valid-type,misc]
        def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
            super().__init__(peers, me, persister, apply_ch)
            self.outcome: Any = "not called"
            if me == 0:
                self.task = asyncio.get_running_loop().create_task(self._call())

        async def _call(self) -> None:
            try:
                self.outcome = await self.peers[1].call(method, make_args())
            except CodecError as e:
                if not catch:
                    raise
                self.outcome = f"CodecError: {e}"

    return Caller


def failure_of_call(method: Any, make_args: Callable[[], Any] = Args, *,
                    via: str = "peer") -> tuple[BaseException | None, Simulation]:
    """Call ``method`` on server 1 of two Misbehaving servers, from server 0's code
    (``via="peer"``) or from an outside client (``via="client"``)."""
    sim, _, _ = cluster(1, 2, calling(method, make_args) if via == "peer" else Misbehaving)

    async def main() -> None:
        if via == "client":
            await client(sim, 1).call(method, make_args())
        await asyncio.sleep(5)

    return sim.run(main()).failure, sim


@pytest.mark.parametrize("via", ["peer", "client"])
def test_a_handler_that_returns_none_fails_the_run(via: str) -> None:
    failure, _ = failure_of_call("nothing", via=via)
    assert isinstance(failure, StudentError)
    assert failure.where == "server 1 (incarnation 1)"
    assert failure.message == (
        "RPC handler nothing() returned None. A handler must return a reply object (the caller "
        "could not tell a None reply from a lost message).")


@pytest.mark.parametrize("via", ["peer", "client"])
def test_a_reply_that_is_not_plain_data_fails_the_run_with_its_path(via: str) -> None:
    failure, _ = failure_of_call("unsendable", via=via)
    assert isinstance(failure, StudentError)
    assert failure.where == "server 1 (incarnation 1)"
    assert failure.message.startswith(
        "the reply of RPC handler unsendable(): Reply.value: a set cannot cross the network")


@pytest.mark.parametrize("via", ["peer", "client"])
def test_an_exception_in_a_handler_fails_the_run_as_the_servers_fault(via: str) -> None:
    failure, sim = failure_of_call("broken", via=via)
    assert isinstance(failure, StudentError)
    assert failure.where == "server 1 (incarnation 1)"
    assert failure.message.startswith("ValueError: handler bug (raised in RPC handler broken;")
    assert "handler bug" in failure.details  # the student's traceback
    assert events(sim, "failure")


def test_an_unknown_method_name_fails_the_run_names_the_caller_and_lists_the_handlers() -> None:
    failure, sim = failure_of_call("append_entries")
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message == (
        "peers[1].call('append_entries', ...): the server has no RPC handler named "
        "'append_entries'; its handlers are: broken, nothing, unsendable")
    assert sim.net.total_rpcs == 0  # refused before sending


def test_an_unknown_method_fails_the_run_even_if_the_caller_catches_the_error() -> None:
    class Catcher(EchoService):
        def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
            super().__init__(peers, me, persister, apply_ch)
            if me == 0:
                self.task = asyncio.get_running_loop().create_task(self._call())

        async def _call(self) -> None:
            self.caught = ""
            try:
                await self.peers[1].call("request_vote", Args())
            except Exception as e:
                self.caught = type(e).__name__

    sim, _, services = cluster(1, 2, Catcher)

    async def main() -> None:
        await asyncio.sleep(5)

    failure = sim.run(main()).failure
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith("peers[1].call('request_vote', ...): the server has no RPC "
                                      "handler named 'request_vote'; its handlers are: echo, "
                                      "log, slow")
    assert services[0].caught == "StudentError"  # it was caught, and still counts


@pytest.mark.parametrize(("method", "problem"), [
    ("_private", "'_private' starts with '_', and private methods cannot be called over the "
                 "network"),
    ("kill", "'kill' is part of the tester's API, not an RPC handler; write a separate handler "
             "method for the RPC"),
    ("get_state", "'get_state' is part of the tester's API"),
    (42, "the method name must be a str, not int"),
])
def test_private_reserved_and_non_string_method_names_are_refused(method: Any,
                                                                  problem: str) -> None:
    failure, sim = failure_of_call(method)
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith(f"peers[1].call({method!r}, ...): {problem}")
    assert sim.net.total_rpcs == 0


@pytest.mark.parametrize("method", ["append_entries", "_private", "kill", "__init__"])
def test_the_callee_refuses_a_method_that_is_not_a_handler_whoever_sent_it(method: str) -> None:
    # A caller's own check can be bypassed (a sandbox can forge its sends, an
    # outside client has none): the callee's host checks the name again.
    failure, sim = failure_of_call(method, via="client")
    assert isinstance(failure, StudentError)
    assert failure.where == "server 1 (incarnation 1)"
    assert failure.message == (
        f"a call of {method!r} arrived, but the server has no RPC handler of that name; its "
        "handlers are: broken, nothing, unsendable")
    assert events(sim, "reply") == []


def test_a_non_plain_argument_raises_codec_error_into_the_caller_with_its_path() -> None:
    sim, _, services = cluster(1, 2, calling("echo", lambda: Args([1, {"k": {2}}]),
                                             base=EchoService, catch=True))

    async def main() -> str:
        await asyncio.sleep(1)
        with pytest.raises(CodecError) as info:  # an outside client's call, likewise
            await client(sim, 1).call("echo", Args([1, {"k": {2}}]))
        return str(info.value)

    outside = run(sim, main())
    assert services[0].outcome.startswith(
        "CodecError: call('echo'): Args.value[1]['k']: a set cannot cross the network")
    assert outside.startswith("Args.value[1]['k']: a set cannot cross the network")
    assert sim.net.total_rpcs == 0 and services[1].calls == 0  # refused before sending


def test_a_codec_error_escaping_a_servers_task_fails_the_run_as_its_fault() -> None:
    sim, _, services = cluster(1, 2, calling("echo", lambda: Args(bytearray(b"x")),
                                             base=EchoService))

    async def main() -> None:
        await asyncio.sleep(5)

    failure = sim.run(main()).failure
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith("CodecError: call('echo'): Args.value: a bytearray cannot "
                                      "cross the network; convert it with bytes(...)")
    assert sim.net.total_rpcs == 0 and services[1].calls == 0


# ------------------------------------------------------ caps on what a server holds


class Flooder(EchoService):
    """Server 0 calls server 1's ``hold`` handler (which never returns) ``batch``
    times a millisecond, forever, with ``Args(value)``."""

    batch = 100
    value: Any = None

    def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.tasks: list[Any] = []
        if me == 0:
            self.tasks.append(asyncio.get_running_loop().create_task(self._flood()))

    async def _flood(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for _ in range(self.batch):
                self.tasks.append(loop.create_task(self.peers[1].call("hold", Args(self.value))))
            await asyncio.sleep(0.001)

    async def hold(self, args: Args) -> Reply:
        await asyncio.sleep(1000)
        return Reply()


def test_a_server_that_floods_the_network_with_calls_fails_the_run_naming_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_PENDING_CALLS", 1000)  # 100,000 would be slow
    sim, _, _ = cluster(1, 2, Flooder)

    async def main() -> None:
        await asyncio.sleep(10)

    outcome = sim.run(main())
    failure = outcome.failure
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith("more than 1,000 RPCs were in flight at once")
    assert 1000 < sim.net.total_rpcs <= 1000 + Flooder.batch  # it stopped at the cap
    assert outcome.sim_time < 0.02


def test_a_server_that_floods_the_network_with_bytes_fails_the_run_naming_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_PENDING_BYTES", 2 * 2**20)

    class BigFlooder(Flooder):
        batch = 5
        value = "x" * 100_000

    sim, _, _ = cluster(1, 2, BigFlooder)

    async def main() -> None:
        await asyncio.sleep(10)

    failure = sim.run(main()).failure
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith("more than 2 MB of RPC arguments were in flight at once")
    assert sim.net.pending_calls < 30


# ------------------------------------------------------------ hostile replies

RAN: list[str] = []


def _ran(*args: Any) -> None:
    """Would record that a hostile pickle ran code (it must never be called)."""
    RAN.append(repr(args))


class _Exploit:
    """Pickles as a call of ``fn(*args)``: what a hostile sandbox could send."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.fn, self.args


HOSTILE = {
    "a function": pickle.dumps(_Exploit(_ran, "boom"), 3),
    "a builtin": pickle.dumps(_Exploit(exec, "from tests.harness import test_network as m; "
                                             "m.RAN.append('exec')"), 3),
    "garbage": b"\x80\x03not a pickle",
}


def test_the_hostile_replies_would_run_code_if_unpickled() -> None:
    RAN.clear()
    pickle.loads(HOSTILE["a function"])  # the control: what safe_decode must never do
    assert RAN == ["('boom',)"]
    RAN.clear()


class ForgingTransport:
    """A sandbox that forges its reports: every reply it sends is ``data``."""

    def __init__(self, inner: Any, data: bytes) -> None:
        self.inner = inner
        self.host = inner.host
        self.data = data

    def request(self, frame: Frame) -> Frame:
        report = self.inner.request(frame)
        result = report[1]
        if result[0] == "ok" and isinstance(result[1], list) and result[1][0] == "reply":
            report[1] = ["ok", ["reply", self.data]]
        return report

    def close(self) -> None:
        self.inner.close()


def forge(handle: ServerHandle, data: bytes) -> None:
    handle.transport = ForgingTransport(handle.transport, data)


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_an_outside_client_reading_a_hostile_reply_never_runs_code(what: str) -> None:
    RAN.clear()
    sim, handles, services = cluster(1, 1)
    forge(handles[0], HOSTILE[what])

    async def main() -> Any:
        return await client(sim, 0).call("echo", Args(1))

    reply = run(sim, main())
    assert RAN == []
    assert services[0].calls == 1
    if what == "a function":
        # The class it names becomes a Record; "calling" it builds one, nothing more.
        assert isinstance(reply, Record)
        assert reply.type_name == "_ran" and reply.values() == ("boom",)
    else:
        assert reply is None  # refused: to the caller, as if lost
    [ev] = events(sim, "reply")
    assert ev[8] == HOSTILE[what]  # the trace keeps the bytes, as sent
    assert list(sim.trace.records())  # and describing them runs nothing either
    assert RAN == []


# ------------------------------------------------------- interception (scenarios)


def test_an_interceptor_sees_each_request_and_reply_in_its_own_direction() -> None:
    sim, _, _ = cluster(1, 2)
    seen: list[tuple[str, int, int, str]] = []

    def watch(msg: Message) -> None:
        seen.append((msg.kind, msg.src, msg.dst, msg.method))

    async def main() -> None:
        sim.net.intercept(watch)
        await client(sim, 1, src=0).call("echo", Args(1))
        await client(sim, 0, src=1, enabled=False).call("echo", Args(2))  # not on a live link
        sim.net.intercept(None)
        await client(sim, 1, src=0).call("echo", Args(3))

    run(sim, main())
    assert seen == [("request", 0, 1, "echo"), ("reply", 1, 0, "echo")]


def test_an_interceptor_can_drop_a_request_or_a_reply() -> None:
    sim, _, services = cluster(1, 1)

    async def main() -> list[Any]:
        end = client(sim, 0)
        sim.net.intercept(lambda m: "drop" if m.kind == "request" else None)
        first = await end.call("echo", Args(1))
        sim.net.intercept(lambda m: "drop" if m.kind == "reply" else None)
        second = await end.call("echo", Args(2))
        return [first, second]

    assert run(sim, main()) == [None, None]
    assert [a.value for a in services[0].received] == [2]  # the dropped reply's handler ran
    assert lost_reasons(sim) == {"request dropped (scenario)": 1, "reply dropped (scenario)": 1}


def test_held_messages_wait_for_release_or_discard() -> None:
    sim, _, services = cluster(1, 1)

    async def main() -> dict[str, Any]:
        net = sim.net
        end = client(sim, 0)
        net.intercept(lambda m: "hold")
        first = asyncio.ensure_future(end.call("echo", Args("first")))
        second = asyncio.ensure_future(end.call("echo", Args("second")))
        await asyncio.sleep(5)
        held = [repr(m) for m in net.held()]
        calls_while_held = services[0].calls
        released = net.release(lambda m: m.call == 1)  # the first request ...
        await asyncio.sleep(1)
        held_replies = [(m.kind, m.call) for m in net.held()]  # ... whose reply is held too
        discarded = net.discard()
        net.intercept(None)
        return {"held": held, "calls_while_held": calls_while_held, "released": released,
                "held_replies": held_replies, "discarded": discarded,
                "results": [await first, await second]}

    result = run(sim, main())
    assert result["held"] == ["<request #1 echo S-1->S0 @0.0000>",
                              "<request #2 echo S-1->S0 @0.0000>"]
    assert result["calls_while_held"] == 0 and result["released"] == 1
    assert result["held_replies"] == [("request", 2), ("reply", 1)]
    assert result["discarded"] == 2
    assert result["results"] == [None, None]
    assert services[0].calls == 1
    assert lost_reasons(sim) == {"discarded (scenario)": 2}


def test_an_interceptor_sees_and_can_hold_a_servers_own_calls() -> None:
    class Pinger(EchoService):
        def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
            super().__init__(peers, me, persister, apply_ch)
            self.got: list[Any] = []
            if me == 0:
                self.task = asyncio.get_running_loop().create_task(self._ping())

        async def _ping(self) -> None:
            reply = await self.peers[1].call("echo", Args("ping"))
            self.got.append((asyncio.get_running_loop().time(), reply.value))

    sim, _, services = cluster(1, 2, Pinger)
    sim.net.intercept(lambda m: "hold")

    async def main() -> list[str]:
        await asyncio.sleep(2)
        held = [repr(m) for m in sim.net.held()]
        sim.net.intercept(None)
        sim.net.release()
        await asyncio.sleep(1)
        return held

    assert run(sim, main()) == ["<request #1 echo S0->S1 @0.0000>"]
    [(when, value)] = services[0].got
    assert value == "ping" and 2 < when < 2 + 2 * HI


def test_an_interceptor_can_delay_a_message_by_a_number_of_seconds() -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> float:
        sim.net.intercept(lambda m: 2.5 if m.kind == "reply" else None)
        await client(sim, 0).call("echo", Args(1))
        return asyncio.get_running_loop().time()

    assert 2.5 + 2 * LO <= run(sim, main()) <= 2.5 + 2 * HI


def test_an_interceptor_returning_something_else_is_refused() -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> None:
        sim.net.intercept(lambda m: "later")
        await client(sim, 0).call("echo", Args(1))

    failure = sim.run(main()).failure
    assert failure is not None
    assert ("an interceptor returned 'later'; return None, 'drop', 'hold', 'halt' or a delay "
            "in seconds") in str(failure)


class Deferring(EchoService):
    """Handlers that put work off: to the next callback, or to a task."""

    def __init__(self, peers: Any = None, me: int = 0, persister: Any = None,
                 apply_ch: Any = None) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.deferred: list[Any] = []

    def later(self, args: Args) -> Reply:
        loop = asyncio.get_running_loop()
        loop.call_soon(self.deferred.append, ("soon", args.value))
        loop.create_task(self._note(args.value))
        return Reply(args.value, self.me, self.number)

    async def later_async(self, args: Args) -> Reply:
        await asyncio.sleep(0.01)
        asyncio.get_running_loop().call_soon(self.deferred.append, ("soon", args.value))
        return Reply(args.value, self.me, self.number)

    async def _note(self, value: Any) -> None:
        self.deferred.append(("task", value))


@pytest.mark.parametrize("method", ["later", "later_async"])
def test_a_halted_request_pauses_its_server_at_the_reply_until_resumed(method: str) -> None:
    sim, _, services = cluster(1, 1, Deferring)
    net = sim.net
    at_halt: list[Any] = []

    def on_halt(m: Message) -> None:
        at_halt.append((m.kind, m.method, list(services[0].deferred)))
        net.resume(m.dst)

    async def main() -> list[Any]:
        net.on_halt = on_halt
        net.intercept(lambda m: "halt" if m.kind == "request" and m.method == method else None)
        end = client(sim, 0)
        return [await end.call(method, Args(1)), await end.call("echo", Args(2))]

    first, second = run(sim, main())
    assert first.value == 1 and second.value == 2
    assert at_halt == [("request", method, [])]  # nothing deferred had run
    assert sorted(services[0].deferred) == (
        [("soon", 1), ("task", 1)] if method == "later" else [("soon", 1)])


@pytest.mark.parametrize("method", ["later", "later_async"])
def test_a_server_crashed_at_a_halt_sends_its_reply_and_runs_nothing_deferred(
        method: str) -> None:
    sim, handles, services = cluster(1, 2, Deferring)
    net = sim.net
    before_crash: list[Any] = []

    def on_halt(m: Message) -> None:
        before_crash.extend(services[0].deferred)
        net.delete_server(m.dst)
        sim.crash(handles[m.dst])  # (in-process, closing the loop may still run them)

    async def main() -> list[Any]:
        net.on_halt = on_halt
        net.intercept(lambda m: "halt" if m.kind == "request" and m.method == method else None)
        end = client(sim, 0)
        late = asyncio.ensure_future(end.call("echo", Args("waits")))
        first = await end.call(method, Args(1))
        net.intercept(None)
        return [first, await late]

    first, late = run(sim, main())
    assert first.value == 1  # the reply had left
    assert before_crash == []
    assert late is None or late.value == "waits"


def test_requests_to_a_paused_server_wait_and_are_lost_if_it_crashes() -> None:
    sim, handles, services = cluster(1, 1, Deferring)
    net = sim.net
    paused: list[int] = []

    def on_halt(m: Message) -> None:
        paused.append(m.dst)  # decided later, by main()

    async def main() -> list[Any]:
        net.on_halt = on_halt
        net.intercept(lambda m: "halt" if m.kind == "request" and m.method == "later" else None)
        end = client(sim, 0)
        first = await end.call("later", Args(1))
        net.intercept(None)
        waiting = asyncio.ensure_future(end.call("echo", Args(2)))
        await asyncio.sleep(1)
        calls_while_paused = services[0].calls
        net.resume(0)
        resumed = await waiting
        net.intercept(lambda m: "halt" if m.kind == "request" and m.method == "later" else None)
        await end.call("later", Args(3))
        net.intercept(None)
        lost = asyncio.ensure_future(end.call("echo", Args(4)))
        await asyncio.sleep(1)
        net.delete_server(0)
        sim.crash(handles[0])
        return [first.value, calls_while_paused, resumed.value, await lost]

    assert run(sim, main()) == [1, 0, 2, None]  # "later" does not count its calls
    assert paused == [0, 0]
    assert ("task", 3) not in services[0].deferred


def test_halt_is_for_requests_and_needs_on_halt() -> None:
    def failure(verdict_for: str, on_halt: Any) -> str:
        sim, _, _ = cluster(1, 1)
        sim.net.on_halt = on_halt

        async def main() -> Any:
            sim.net.intercept(lambda m: "halt" if m.kind == verdict_for else None)
            return await client(sim, 0).call("echo", Args(1))

        return str(sim.run(main()).failure)

    assert "network.on_halt is not set" in failure("request", None)
    assert "only a request can be halted" in failure("reply", lambda m: None)
