"""Tests of the trace (harness/_trusted/trace.py).

The digest covers every field (payloads by CRC and size) and masks memory
addresses in log messages; records() names each kind's fields as KINDS says;
write_jsonl writes one record per line; tail() keeps the last events of each
server; a real run only emits kinds that KINDS describes. Payloads are the
bytes a server (a sandbox) encoded, so they are described through
``safe_decode``: a dataclass shows as a Record, and hostile bytes are shown,
never run.
"""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from harness import TRACE_KINDS, Trace, encode, safe_decode
from harness._trusted.trace import describe_payload, short_repr

from .toys import Args, Outer, Reply, client, cluster, run


def trace_of(*events: tuple[Any, ...]) -> Trace:
    trace = Trace()
    for ev in events:
        trace.add(*ev)
    return trace


SEND = (1.5, "send", 0, 1, 7, 2, "echo", 10, encode(Args(1)))


def test_equal_traces_have_equal_digests() -> None:
    assert trace_of(SEND).digest() == trace_of(SEND).digest()
    assert len(trace_of(SEND).digest()) == 64
    assert Trace().digest() == trace_of().digest()


@pytest.mark.parametrize("changed", [
    (1.5000001, "send", 0, 1, 7, 2, "echo", 10, SEND[8]),   # time
    (1.5, "send", 1, 1, 7, 2, "echo", 10, SEND[8]),         # server
    (1.5, "send", 0, 2, 7, 2, "echo", 10, SEND[8]),         # incarnation
    (1.5, "send", 0, 1, 8, 2, "echo", 10, SEND[8]),         # call id
    (1.5, "send", 0, 1, 7, 2, "slow", 10, SEND[8]),         # method
    (1.5, "send", 0, 1, 7, 2, "echo", 11, SEND[8]),         # size
    (1.5, "send", 0, 1, 7, 2, "echo", 10, encode(Args(2))),  # payload
    (1.5, "send", 0, 1, 7, 2, "echo", 10, None),            # payload not kept
])
def test_any_changed_field_changes_the_digest(changed: tuple[Any, ...]) -> None:
    assert trace_of(changed).digest() != trace_of(SEND).digest()


def test_the_order_of_events_is_part_of_the_digest() -> None:
    a = (1.0, "start", 0, 1)
    b = (1.0, "start", 1, 1)
    assert trace_of(a, b).digest() != trace_of(b, a).digest()


def test_memory_addresses_in_log_messages_do_not_change_the_digest() -> None:
    def log(message: str) -> Trace:
        return trace_of((2.0, "log", 1, 1, "INFO", "raft", message))

    assert log("peer <Raft object at 0x7f3a2c1b9d50> voted").digest() == \
        log("peer <Raft object at 0x7fffe0019a10> voted").digest()
    assert log("voted for 1").digest() != log("voted for 2").digest()
    failure = (3.0, "failure", -1, 0, "bad <Future at 0x7f00deadbeef>")
    assert trace_of(failure).digest() == \
        trace_of((3.0, "failure", -1, 0, "bad <Future at 0x7f11cafe0000>")).digest()


def test_records_name_each_kinds_fields() -> None:
    trace = trace_of(
        SEND,
        (1.6, "deliver", 2, 1, 7, 0, "echo"),
        (1.7, "lost", 0, 1, 8, 2, "echo", "reply dropped"),
        (2.0, "apply", 1, 2, 5, ["put", "x" * 30]),
        (2.5, "check", -1, 0, "one", "101 -> index 5"),
        (3.123456789, "crash", 1, 2),
    )
    records = list(trace.records())
    assert records[0] == {"t": 1.5, "kind": "send", "server": 0, "inc": 1, "call": 7, "to": 2,
                          "method": "echo", "bytes": 10, "data": "Args(value=1)"}
    assert records[1] == {"t": 1.6, "kind": "deliver", "server": 2, "inc": 1, "call": 7,
                          "from": 0, "method": "echo"}
    assert records[2]["reason"] == "reply dropped" and records[2]["peer"] == 2
    assert records[3]["command"] == "['put', 'xxxxxxxxxxxxxxxxxxxx'…(30 chars)]"
    assert records[4] == {"t": 2.5, "kind": "check", "server": -1, "inc": 0, "what": "one",
                          "detail": "101 -> index 5"}
    assert records[5] == {"t": 3.123457, "kind": "crash", "server": 1, "inc": 2}


def test_write_jsonl_writes_one_json_record_per_line(tmp_path: Path) -> None:
    sim, _, _ = cluster(1, 2)

    async def main() -> None:
        sim.net.set_reliable(False)
        for i in range(20):
            await client(sim, i % 2).call("echo", Args({"i": i}))

    run(sim, main())
    path = tmp_path / "trace.jsonl"
    sim.trace.write_jsonl(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(sim.trace)
    assert [json.loads(line) for line in lines] == json.loads(
        json.dumps(list(sim.trace.records())))
    kinds = {json.loads(line)["kind"] for line in lines}
    assert {"start", "net", "send", "deliver", "reply"} <= kinds


def test_tail_keeps_the_last_events_of_each_server_in_order() -> None:
    trace = Trace()
    for i in range(30):
        trace.add(float(i), "start", i % 3 - 1, 0)  # servers -1, 0, 1 in turn
    tail = trace.tail(per_server=2)
    assert [ev[0] for ev in tail] == [24.0, 25.0, 26.0, 27.0, 28.0, 29.0]
    assert trace.tail(per_server=0) == []


def test_a_run_only_emits_event_kinds_the_trace_describes() -> None:
    sim, handles, _ = cluster(3, 3)

    async def main() -> None:
        net = sim.net
        net.set_reliable(False)
        net.set_long_reordering(True)
        net.set_long_delays(True)
        net.partition([0], [1, 2])
        await asyncio.gather(*(client(sim, i % 3, src=(i + 1) % 3).call("log", Args(i))
                               for i in range(30)))
        net.heal()
        sim.crash(handles[2])

    run(sim, main())
    kinds = {ev[1] for ev in sim.trace.events}
    assert kinds <= set(TRACE_KINDS)
    for ev in sim.trace.events:
        assert len(ev) == 4 + len(TRACE_KINDS[ev[1]]), ev


def test_payloads_are_described_briefly_and_undecodable_ones_by_size() -> None:
    assert describe_payload(None) is None
    assert describe_payload(encode(Reply([1, 2], 0, 1))) == \
        "Reply(value=[1, 2], server=0, number=1)"
    assert describe_payload(b"not a pickle") == "<12 bytes>"
    assert describe_payload(encode(Outer("o", [Args(1)]))) == \
        "Outer(name='o', inner=[Args(value=1)])"
    assert short_repr(list(range(100))) == "[…100]"
    assert short_repr({"a": b"xyz"}) == "{'a': <3 bytes>}"
    assert len(short_repr("y" * 10, limit=5)) == 5


def test_large_payloads_are_not_kept_but_their_size_is() -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> None:
        await client(sim, 0).call("echo", Args("z" * 5000))

    run(sim, main())
    send = next(r for r in sim.trace.records() if r["kind"] == "send")
    assert send["data"] is None
    assert send["bytes"] == len(encode(Args("z" * 5000)))


CALLED: list[Any] = []


def _called(*args: Any) -> None:
    CALLED.append(args)


class _Exploit:
    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.fn, self.args


def test_hostile_payloads_are_described_without_running_anything() -> None:
    CALLED.clear()
    named = pickle.dumps(_Exploit(_called, "x"), 3)  # pickle.loads would call _called("x")
    builtin = pickle.dumps(_Exploit(print, "x"), 3)
    loop: list[Any] = []
    loop.append(loop)
    cyclic = pickle.dumps(loop, 3)  # a list that contains itself
    assert describe_payload(named) == "_called('x')"  # a Record, built, not called
    assert describe_payload(builtin) == f"<{len(builtin)} bytes>"
    assert describe_payload(cyclic) == f"<{len(cyclic)} bytes>"  # refused, not walked forever
    trace = trace_of((1.0, "send", 0, 1, 1, 2, "echo", len(named), named),
                     (1.1, "reply", 2, 1, 1, 0, "echo", len(builtin), builtin))
    assert [r["data"] for r in trace.records()] == ["_called('x')", f"<{len(builtin)} bytes>"]
    assert len(trace.digest()) == 64
    assert CALLED == []


def test_a_record_renders_its_positional_values_then_its_fields() -> None:
    record = safe_decode(pickle.dumps(_Exploit(_called, 1, [2]), 3))
    assert short_repr(record) == "_called(1, [2])"
    assert short_repr(safe_decode(encode(Reply("v", 1, 2)))) == \
        "Reply(value='v', server=1, number=2)"
    assert CALLED == []
