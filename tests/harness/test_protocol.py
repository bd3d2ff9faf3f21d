"""Tests of the protocol between the trusted side and a sandbox (harness/_protocol.py).

On its own, without a host. Commands (trusted side to sandbox) are pickles:
every command builder's frame survives ``pack`` / ``read_size`` /
``load_command``. Reports (sandbox to trusted side) are not: ``pack_report``
writes ``u32 size | u32 json size | JSON text (ASCII) | bytes values``, each
bytes value standing in the JSON as ``{"b": length}`` in document order, and
every realistic report (each effect kind; empty, binary and JSON-looking
bytes; non-ASCII and lone-surrogate text; -0.0, 1e-300 and other floats;
ints up to the 4300 digits Python converts; nested lists) comes back from
``load_report`` exactly equal (types included), several to a stream, with
tuples crossing as lists. A frame larger than ``MAX_FRAME`` is refused when
it is packed and when its size prefix is read.

``load_report`` treats the bytes as hostile, and whatever they are it raises
ProtocolError and nothing else: a JSON size that overruns the body, bytes that
no value claims, ``{"b": n}`` overrunning the tail or malformed (negative, a
float, a bool, extra keys, any other object), non-ASCII or invalid JSON,
nesting deep enough to exhaust the stack, ints beyond 4300 digits, a frame
that is not a non-empty list, every truncation and extension of a real
report, and thousands of random and bit-flipped bodies. NaN and Infinity
load, and ``parse_report`` refuses them as a wake. Reading stays cheap: small
crafted bodies (a 13-byte pickle whose LONG_BINPUT names memo index 2**30,
thousands of ``{"b":0}``, the worst nesting) allocate at most a bounded
multiple of their size (tracemalloc), and a pickle, even one calling
os.system, is refused without anything unpickling it. (Hostile pickles as
such are safe_decode's business: tests/harness/test_safe_decode.py.)

``parse_report`` accepts every effect kind and result shape a Host produces,
converting them to tuples, refuses each malformed variant (arity, types -
``True`` is not an int and ``1`` is not a bool -, unknown kinds, a send to a
server that does not exist, a wake that is not a finite number or an int
beyond 2**53, a bad state, more than ``MAX_EFFECTS`` effects) with
ProtocolError, and cuts over-long texts to their limit instead of refusing
them. The ``checked=True`` fast path (a host in this very process) converts
well-formed reports the same way.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import pickle
import random
import struct
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from harness import encode
from harness._protocol import (
    KINDS,
    MAX_EFFECTS,
    MAX_FRAME,
    MAX_REPORT_JSON,
    MAX_TEXT,
    Frame,
    ProtocolError,
    Report,
    command_boot,
    command_call,
    command_check,
    command_deliver,
    command_reply,
    command_run,
    command_taken,
    cut,
    load_command,
    load_report,
    pack,
    pack_report,
    parse_report,
    read_size,
)

N = 3  # servers in the cluster the reports come from


def report(result: Any = None, effects: Any = (), wake: Any = None, state: Any = None) -> Frame:
    """A report frame (``result`` None: ["ok", None])."""
    return ["report", ["ok", None] if result is None else result,
            list(effects) if isinstance(effects, tuple) else effects, wake, state]


def body(frame: Any) -> bytes:
    """A report's body as it crosses a pipe (without the size prefix)."""
    packed = pack_report(frame)
    assert read_size(packed[:4]) == len(packed) - 4
    return packed[4:]


def raw(text: str | bytes, tail: bytes = b"", *, size: int | None = None) -> bytes:
    """A hand-made report body: ``u32 json size | text | tail`` (``size``: a lie)."""
    data = text.encode("ascii") if isinstance(text, str) else text
    return struct.pack("<I", len(data) if size is None else size) + data + tail


def bad_body(data: bytes) -> str:
    """``load_report`` refuses ``data`` with a ProtocolError (and nothing else)."""
    with pytest.raises(ProtocolError) as info:
        load_report(data)
    return str(info.value)


def refused(frame: Any, *, n: int = N) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_report(frame, n)
    return str(info.value)


def deep_tuples(value: Any) -> Any:
    return tuple(deep_tuples(v) for v in value) if type(value) in (list, tuple) else value


def as_tuples(parsed: Report) -> tuple[Any, ...]:
    """A parsed report as one comparable value (effects as tuples, whichever path)."""
    return (parsed.result, [deep_tuples(e) for e in parsed.effects], parsed.wake, parsed.state)


def typed(value: Any) -> Any:
    """``value`` as a tree that compares equal only to exactly the same value:
    True is not 1, 1 is not 1.0, -0.0 is not 0.0, a tuple is not a list, NaN is NaN."""
    if type(value) in (list, tuple):
        return (type(value).__name__, [typed(v) for v in value])
    if type(value) is float:
        return ("float", value.hex())
    if type(value) is dict:
        return ("dict", {k: typed(v) for k, v in value.items()})
    return (type(value).__name__, value)


LEAVES = (type(None), bool, int, float, str, bytes)


def plain(value: Any) -> bool:
    """Only what a JSON report can hold: lists and the leaves above."""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is list:
            stack.extend(v)
        elif type(v) not in LEAVES:
            return False
    return True


# Effects and results shaped as a Host makes them (harness/_sandbox/host.py).
ARGS = encode({"term": 3, "candidate": 1})
REPLY = encode({"term": 3, "granted": True})
VALID_EFFECTS: list[tuple[list[Any], tuple[Any, ...]]] = [
    (["send", 1, 2, "request_vote", ARGS], ("send", 1, 2, "request_vote", ARGS)),
    (["send", 2, 0, "append_entries", b""], ("send", 2, 0, "append_entries", b"")),
    (["replied", 7, REPLY], ("replied", 7, REPLY)),
    (["replied", 8, None], ("replied", 8, None)),
    (["save", b"state", b""], ("save", b"state", b"")),
    (["save", b"state", b"snap"], ("save", b"state", b"snap")),
    (["offer", 1, True, encode("x"), 1, False, b"", 0, 0],
     ("offer", 1, True, encode("x"), 1, False, b"", 0, 0)),
    (["offer", 2, False, None, 0, True, b"snap", 2, 10],
     ("offer", 2, False, None, 0, True, b"snap", 2, 10)),
    (["log", "INFO", "raft", "became leader"], ("log", "INFO", "raft", "became leader")),
    (["log", "DEBUG", "", ""], ("log", "DEBUG", "", "")),
    *[(["error", kind, f"a {kind} failure", "Traceback ..."],
       ("error", kind, f"a {kind} failure", "Traceback ...")) for kind in KINDS],
    (["profile", [["raft.py:ticker", 12], ["raft.py:<module>", 0]]],
     ("profile", [("raft.py:ticker", 12), ("raft.py:<module>", 0)])),
    (["profile", []], ("profile", [])),
    (["inspect", "leader", 3, 1, 5, 4, 2, [[1, 2], [3, 1]]],
     ("inspect", "leader", 3, 1, 5, 4, 2, [(1, 2), (3, 1)])),
    (["inspect", None, None, None, None, None, None, None],
     ("inspect", None, None, None, None, None, None, None)),
]
VALID_RESULTS: list[tuple[list[Any], list[Any]]] = [
    (["ok", None], ["ok", None]),
    (["ok", [3, True]], ["ok", (3, True)]),  # get_state
    (["ok", [0, False]], ["ok", (0, False)]),
    (["ok", [5, 3, False]], ["ok", (5, 3, False)]),  # start
    (["ok", [-1, 0, False]], ["ok", (-1, 0, False)]),
    (["ok", ["reply", REPLY]], ["ok", ("reply", REPLY)]),  # a handler's reply
    (["ok", ["pending"]], ["ok", ("pending",)]),  # an async handler started
    *[(["raised", kind, "start() raised ValueError: x", "Traceback ..."],
       ["raised", kind, "start() raised ValueError: x", "Traceback ..."]) for kind in KINDS],
    (["bad", "'not a tuple'"], ["bad", "'not a tuple'"]),
    (["noload", "raft.py does not parse"], ["noload", "raft.py does not parse"]),
]


def realistic_report() -> Frame:
    """What a step of a leader might report."""
    return report(["ok", ["reply", REPLY]], [
        ["log", "INFO", "raft", "S0 term 3: became leader"],
        ["send", 1, 1, "append_entries", ARGS],
        ["send", 2, 2, "append_entries", ARGS],
        ["replied", 4, REPLY],
        ["offer", 3, True, encode((1, "put x")), 7, False, b"", 0, 0],
        ["save", encode((3, 0, [(1, "put x")])), b""],
        ["profile", [["raft.py:ticker", 3]]],
    ], 12.345, [3, True])


# ------------------------------------------------------------------ commands

COMMANDS: list[tuple[str, Frame]] = [
    ("boot", command_boot(0.0, 1, 3, 2, 123456789, 987654321, 20, b"state", b"snap")),
    ("boot-empty-disk", command_boot(1.5, 0, 5, 1, 2**63 - 1, 0, 10, b"", b"")),
    ("get_state", command_call(2.0, "get_state")),
    ("start", command_call(2.25, "start", encode([1, "put x"]))),
    ("snapshot", command_call(3.0, "snapshot", 10, encode((10, [None, 1, 2])))),
    ("kill", command_call(4.0, "kill")),
    ("deliver", command_deliver(5.0, 17, "request_vote", ARGS)),
    ("reply", command_reply(5.5, 3, REPLY)),
    ("reply-lost", command_reply(5.75, 4, None)),
    ("taken", command_taken(6.0, 2)),
    ("run", command_run(7.125)),
    ("check", command_check()),
]


@pytest.mark.parametrize(("name", "frame"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_round_trips_through_a_pipe_frame(name: str, frame: Frame) -> None:
    packed = pack(frame)
    assert read_size(packed[:4]) == len(packed) - 4
    assert typed(load_command(packed[4:])) == typed(frame)
    assert packed[4:5] == b"\x80"  # a pickle (protocol 5), for the sandbox's pickle.loads
    # A command is plain values too: the report encoding carries it just as well.
    assert typed(load_report(body(frame))) == typed(frame)


def test_the_command_builders_make_the_documented_frames() -> None:
    assert command_boot(1.0, 2, 3, 4, 5, 6, 7, b"S", b"P") == [
        "boot", 1.0, 2, 3, 4, 5, 6, 7, b"S", b"P"]
    assert command_call(1.0, "get_state") == ["call", 1.0, "get_state"]
    assert command_call(1.0, "start", b"C") == ["call", 1.0, "start", b"C"]
    assert command_call(1.0, "snapshot", 9, b"P") == ["call", 1.0, "snapshot", 9, b"P"]
    assert command_deliver(1.0, 5, "m", b"A") == ["deliver", 1.0, 5, "m", b"A"]
    assert command_reply(1.0, 6, None) == ["reply", 1.0, 6, None]
    assert command_taken(1.0, 7) == ["taken", 1.0, 7]
    assert command_run(1.0) == ["run", 1.0]
    assert command_check() == ["check"]


def test_several_commands_on_one_stream_split_by_their_size_prefixes() -> None:
    frames = [frame for _, frame in COMMANDS]
    stream = b"".join(pack(frame) for frame in frames)
    got = []
    while stream:
        size = read_size(stream[:4])
        got.append(load_command(stream[4:4 + size]))
        stream = stream[4 + size:]
    assert typed(got) == typed(frames)


# ------------------------------------------------------------------- reports

BIG = int("9" * 4300)  # the most digits Python converts to and from text by default

ROUND_TRIPS: list[tuple[str, Frame]] = [
    ("realistic", realistic_report()),
    ("empty", report()),
    ("every-effect", report(effects=[raw for raw, _ in VALID_EFFECTS], wake=3.0,
                            state=[2, False])),
    *[(f"result-{i}", report(result, wake=0.5, state=[1, True]))
      for i, (result, _) in enumerate(VALID_RESULTS)],
    ("bytes", report(["ok", ["reply", b""]], [
        ["send", 1, 0, "m", b""],
        ["send", 2, 1, "m", b'{"b":1}'],
        ["send", 3, 2, "m", b'{"b":100}]}'],
        ["save", bytes(range(256)), b"\0" * 1000],
        ["replied", 4, b"]"],
        ["replied", 5, None],
        ["offer", 6, True, b"\xff\xfe", 1, True, b"\x80\x05K\x01.", 2, 3],
        ["save", b"", b""],
    ])),
    ("text", report(["raised", "error", "héllo wörld ✓ 日本 🦀", "\x00\x1f\x7f\"\\/\n\t\r"], [
        ["log", "INFO", "raft", "lone \ud800 surrogates \udfff, \udc80\ud800 and \ud800"],
        ["log", "WARNING", "r\u2028a\u2029ft", '{"b":1}'],
        ["error", "codec", "\ufeff\uffff\U0010ffff", "é" * 1000],
        ["send", 1, 1, "méthode", b"A"],
    ])),
    ("floats", ["report", ["ok", None], [], -0.0,
                [0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3,
                 2.0**53 + 2, 1e16, 12.345]]),
    ("wakes-and-times", command_run(1e-300)),
    ("non-finite", ["report", ["ok", None], [], math.nan, [math.inf, -math.inf, math.nan]]),
    ("ints", report(["ok", [2**63 - 1, -(2**63), True]], [
        ["send", 2**64, 0, "m", b""], ["offer", BIG, True, None, -BIG, False, b"", 0, 2**53 + 1],
    ], state=[BIG, False])),
    ("bools-and-nulls", [True, False, None, [True, [False, [None]]], 0, 1]),
    ("nested", ["report", [[[[]]], []], [[1, [2, [3, [b"x", None, [b"", [b"yz"]]]]]]],
                None, [[[[[[[[[[b"deep"]]]]]]]]]]]),
    ("died", ["died", "spin", "it spun for 10 s"]),
    ("many-bytes", ["report", ["ok", None],
                    [["save", bytes([i]) * i, b""] for i in range(200)], None, None]),
]


@pytest.mark.parametrize(("name", "frame"), ROUND_TRIPS, ids=[name for name, _ in ROUND_TRIPS])
def test_every_report_round_trips_exactly(name: str, frame: Frame) -> None:
    packed = pack_report(frame)
    assert read_size(packed[:4]) == len(packed) - 4
    loaded = load_report(packed[4:])
    assert typed(loaded) == typed(frame)
    assert pack_report(loaded) == packed  # and the same bytes again


@pytest.mark.parametrize(("name", "frame"), ROUND_TRIPS, ids=[name for name, _ in ROUND_TRIPS])
def test_a_report_is_ascii_json_with_its_bytes_values_cut_out_in_document_order(
        name: str, frame: Frame) -> None:
    packed = pack_report(frame)
    size, json_size = struct.unpack_from("<II", packed)
    assert size == len(packed) - 4 and 8 + json_size <= len(packed)
    text = packed[8:8 + json_size]
    assert text.isascii()

    blobs: list[bytes] = []

    def cut(value: Any) -> Any:
        if type(value) is list:
            return [cut(v) for v in value]
        if type(value) is bytes:
            blobs.append(value)
            return {"b": len(value)}
        return value

    assert typed(json.loads(text)) == typed(cut(frame))
    assert packed[8 + json_size:] == b"".join(blobs)


def test_the_layout_of_a_small_report_byte_by_byte() -> None:
    frame = report(["ok", ["reply", b"R"]], [["send", 1, 2, "m", b"A1"], ["save", b"", b"P\xff"]],
                   1.5, [1, True])
    text = (b'["report",["ok",["reply",{"b":1}]],[["send",1,2,"m",{"b":2}],'
            b'["save",{"b":0},{"b":2}]],1.5,[1,true]]')
    tail = b"R" + b"A1" + b"" + b"P\xff"
    assert pack_report(frame) == struct.pack("<II", 4 + len(text) + len(tail), len(text)) + \
        text + tail


def test_a_hand_made_body_in_the_documented_format_is_read() -> None:
    """JSON spelled otherwise (whitespace inside, escapes, exponents) will do: the
    trusted side does not rely on pack_report's own spelling."""
    text = '[ "report" , ["ok" , null] , [ ["save" , { "b" : 2 } , {"b":1}] ,\n' \
           '["log","INFO","r\\u00e9ft","\\ud800"] ] , 1E2 , [ 1 , false ] ]'
    frame = load_report(raw(text, b"SSP"))
    assert typed(frame) == typed(["report", ["ok", None],
                                  [["save", b"SS", b"P"], ["log", "INFO", "réft", "\ud800"]],
                                  100.0, [1, False]])
    parsed = parse_report(frame, N)
    assert parsed.effects[0] == ("save", b"SS", b"P") and parsed.wake == 100.0


def test_tuples_cross_as_lists_the_host_sends_lists() -> None:
    frame = ["report", ("ok", (3, True)), [("log", "INFO", "raft", "x")], None, (1, True)]
    loaded = load_report(body(frame))
    assert typed(loaded) == typed(["report", ["ok", [3, True]], [["log", "INFO", "raft", "x"]],
                                   None, [1, True]])


@pytest.mark.parametrize("value", [
    bytearray(b"x"), memoryview(b"x"), {1, 2}, frozenset(), object(), type("B", (bytes,), {})(b"x"),
    1j, range(3),
], ids=lambda v: type(v).__name__)
def test_pack_report_refuses_a_value_a_report_cannot_carry(value: Any) -> None:
    with pytest.raises(TypeError, match="a report cannot carry a "):
        pack_report(report(effects=[["send", 1, 2, "m", value]]))


def test_pack_report_refuses_a_dict_too() -> None:
    silent = []
    for value in [{"b": 0}, {"b": 2}, {}, {"x": 1}, {1: 2}]:
        try:
            packed = pack_report(["report", value, b"AB"])
        except TypeError:
            continue
        with contextlib.suppress(ProtocolError):
            silent.append((value, load_report(packed[4:])))
    assert silent == []


def test_lone_surrogates_are_written_out_by_cut_so_texts_read_the_same_in_both_modes() -> None:
    """JSON cannot carry lone surrogates one to one ("\\ud83e\\udd80", two characters, reads
    back as one). The host passes every text through ``cut``, which writes them out, so a
    report reads the same in-process and sandboxed; parse_report does it again."""
    text = cut("crab \ud83e\udd80 é")
    assert text == "crab \\ud83e\\udd80 é"
    frame = report(effects=[["log", "INFO", "raft", text]])
    assert typed(load_report(body(frame))) == typed(frame)
    raw = report(effects=[["log", "INFO", "raft", "\udc80"]])
    assert parse_report(load_report(body(raw)), N).effects == [("log", "INFO", "raft", "\\udc80")]


def test_several_reports_on_one_stream_split_by_their_size_prefixes() -> None:
    frames = [frame for _, frame in ROUND_TRIPS]
    stream = b"".join(pack_report(frame) for frame in frames)
    got = []
    while stream:
        size = read_size(stream[:4])
        got.append(load_report(stream[4:4 + size]))
        stream = stream[4 + size:]
    assert typed(got) == typed(frames)


def test_reports_read_in_several_threads_at_once_do_not_mix() -> None:
    """load_report keeps the tail it reads bytes from: one per thread."""
    frames = [frame for _, frame in ROUND_TRIPS]
    bodies = [body(frame) for frame in frames]
    wrong: list[Any] = []

    def reader() -> None:
        for _ in range(20):
            for frame, data in zip(frames, bodies, strict=True):
                if typed(load_report(data)) != typed(frame):
                    wrong.append(frame)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_a_realistic_report_round_trips_and_parses() -> None:
    frame = realistic_report()
    loaded = load_report(body(frame))
    assert loaded == frame
    parsed = parse_report(loaded, N)
    assert parsed.result == ["ok", ("reply", REPLY)]
    assert parsed.effects == [
        ("log", "INFO", "raft", "S0 term 3: became leader"),
        ("send", 1, 1, "append_entries", ARGS),
        ("send", 2, 2, "append_entries", ARGS),
        ("replied", 4, REPLY),
        ("offer", 3, True, encode((1, "put x")), 7, False, b"", 0, 0),
        ("save", encode((3, 0, [(1, "put x")])), b""),
        ("profile", [("raft.py:ticker", 3)]),
    ]
    assert parsed.wake == 12.345 and parsed.state == (3, True)


# ----------------------------------------------------------------- MAX_FRAME


def test_a_command_of_exactly_max_frame_bytes_passes_and_one_more_is_refused() -> None:
    overhead = len(pickle.dumps([b"x" * 2**20], 5)) - 2**20  # as for any large bytes
    data = b"\0" * (MAX_FRAME - overhead)
    packed = pack([data])
    assert len(packed) - 4 == MAX_FRAME and read_size(packed[:4]) == MAX_FRAME
    del packed
    with pytest.raises(ProtocolError, match="larger than the 67,108,864 allowed"):
        pack([data + b"\0"])


def test_a_report_of_exactly_max_frame_bytes_passes_and_one_more_is_refused() -> None:
    size = MAX_FRAME - 4 - len('[{"b":}]')
    while 4 + len(f'[{{"b":{size}}}]') + size > MAX_FRAME:
        size -= 1
    data = b"\1" * size
    packed = pack_report([data])
    assert len(packed) - 4 == MAX_FRAME and read_size(packed[:4]) == MAX_FRAME
    loaded = load_report(packed[4:])
    del packed
    assert loaded == [data]
    del loaded
    with pytest.raises(ProtocolError, match="larger than the 67,108,864 allowed"):
        pack_report([data + b"\1"])
    with pytest.raises(ProtocolError, match="larger than the 67,108,864 allowed"):
        pack_report([data[:-10], "x" * 10])  # the JSON counts too


def test_a_report_whose_json_is_larger_than_max_report_json_is_refused_unread() -> None:
    """The JSON of tiny values builds objects many times its size: it has a cap
    of its own, checked before anything is decoded."""
    text = '["' + "x" * (MAX_REPORT_JSON - 4) + '"]'
    assert len(text) == MAX_REPORT_JSON
    assert load_report(raw(text)) == ["x" * (MAX_REPORT_JSON - 4)]
    over = raw("[" + text + "]")
    assert f"larger than the {MAX_REPORT_JSON:,} bytes allowed" in bad_body(over)
    assert peak_to_load(over) < 64 * 1024
    assert "larger than" in bad_body(raw("[" + "[" * MAX_REPORT_JSON))  # not a RecursionError
    assert "JSON overruns" in bad_body(raw("[1]", size=MAX_REPORT_JSON + 1))


@pytest.mark.parametrize("size", [MAX_FRAME + 1, 2 * MAX_FRAME, 2**32 - 1])
def test_a_size_prefix_over_max_frame_is_refused_before_anything_is_read(size: int) -> None:
    with pytest.raises(ProtocolError, match="larger than"):
        read_size(struct.pack("<I", size))


@pytest.mark.parametrize("size", [0, 1, 4096, MAX_FRAME])
def test_a_size_prefix_up_to_max_frame_is_read_little_endian(size: int) -> None:
    assert read_size(struct.pack("<I", size)) == size
    assert read_size(bytearray(struct.pack("<I", size))) == size


# ------------------------------------------------------- hostile report bodies

MALFORMED_BODIES: list[tuple[str, bytes]] = [
    # the JSON size
    ("empty", b""),
    ("one-byte", b"\0"),
    ("three-bytes", b"\0\0\0"),
    ("json-size-zero", raw("")),
    ("json-size-overruns-by-one", raw("[1]", size=4)),
    ("json-size-overruns-empty", raw("", size=1)),
    ("json-size-huge", raw("[1]", size=2**32 - 1)),
    ("json-size-short", raw('[1,"x"]', size=3)),  # the rest is an unclaimed tail
    # the tail
    ("unclaimed-tail", raw("[1]", b"x")),
    ("unclaimed-tail-after-bytes", raw('[{"b":1}]', b"xy")),
    ("b-overruns-tail", raw('[{"b":2}]', b"x")),
    ("b-overruns-empty-tail", raw('[{"b":1}]')),
    ("second-b-overruns", raw('[{"b":1},{"b":1}]', b"x")),
    ("b-huge", raw('[{"b":4611686018427387904}]', b"x")),
    ("b-beyond-int-limit", raw('[{"b":' + "9" * 5000 + "}]")),
    # objects that are not bytes values
    ("b-negative", raw('[{"b":-1}]', b"x")),
    ("b-negative-then-claims", raw('[{"b":2},{"b":-1}]', b"xy")),
    ("b-float", raw('[{"b":1.0}]', b"x")),
    ("b-exponent", raw('[{"b":1e0}]', b"x")),
    ("b-true", raw('[{"b":true}]', b"x")),
    ("b-false", raw('[{"b":false}]')),
    ("b-null", raw('[{"b":null}]')),
    ("b-string", raw('[{"b":"1"}]', b"x")),
    ("b-list", raw('[{"b":[1]}]', b"x")),
    ("b-object", raw('[{"b":{"b":1}}]', b"x")),
    ("b-nan", raw('[{"b":NaN}]')),
    ("b-and-x", raw('[{"b":1,"x":2}]', b"x")),
    ("x-and-b", raw('[{"x":2,"b":1}]', b"x")),
    ("empty-object", raw("[{}]")),
    ("x-object", raw('[{"x":1}]')),
    ("capital-b", raw('[{"B":1}]', b"x")),
    ("bytes-key", raw('[{"bytes":1}]', b"x")),
    ("object-frame", raw('{"report":1}')),
    ("object-holding-a-bytes-value", raw('[{"x":{"b":1}}]', b"x")),
    # not ASCII, not JSON
    ("utf8-string", raw('["report","é"]'.encode())),
    ("latin1-string", raw(b'["report","\xe9"]')),
    ("high-byte", raw(b"[1]\x80")),
    ("nul-in-json", raw(b'["a\0"]')),
    ("raw-newline-in-string", raw('["a\nb"]')),
    ("single-quotes", raw("['report']")),
    ("trailing-comma", raw("[1,]")),
    ("leading-zero", raw("[01]")),
    ("bad-escape", raw('["\\x41"]')),
    ("short-unicode-escape", raw('["\\u12"]')),
    ("lowercase-nan", raw("[nan]")),
    ("python-none", raw("[None]")),
    ("unclosed", raw("[1")),
    ("unclosed-string", raw('["report]')),
    ("extra-data", raw("[1][2]")),
    ("two-values", raw("[1] 2")),
    ("comment", raw("[1] // x")),
    ("hex", raw("[0x10]")),
    ("plus", raw("[+1]")),
    ("dot", raw("[.5]")),
    ("only-space", raw("   ")),
    ("pickle-as-json", raw(pickle.dumps(["report"], 0))),
    # ints beyond the digits Python converts
    ("int-4301-digits", raw("[" + "9" * 4301 + "]")),
    ("negative-int-4301-digits", raw("[-" + "1" * 4301 + "]")),
    ("int-100000-digits", raw('["report",' + "1" * 100_000 + "]")),
    # deep nesting: the decoder recurses
    ("deep-unclosed", raw("[" * 100_000)),
    ("deep-closed", raw("[" * 100_000 + "]" * 100_000)),
    ("deep-objects", raw('{"a":' * 100_000 + "1" + "}" * 100_000)),
    ("deep-in-a-report", raw('["report",["ok",' + "[" * 50_000 + "]" * 50_000 + "],[],null,null]")),
    # not a non-empty list
    ("null", raw("null")),
    ("zero", raw("0")),
    ("string", raw('"report"')),
    ("float", raw("1.5")),
    ("true", raw("true")),
    ("empty-list", raw("[]")),
    ("empty-list-spaced", raw(" [ ] ")),
    ("a-bytes-value", raw('{"b":6}', b"report")),
    ("nan", raw("NaN")),
]


@pytest.mark.parametrize(("name", "data"), MALFORMED_BODIES,
                         ids=[name for name, _ in MALFORMED_BODIES])
def test_a_malformed_body_is_a_protocol_error(name: str, data: bytes) -> None:
    bad_body(data)


def test_the_refusals_say_what_is_wrong() -> None:
    assert "too short" in bad_body(b"\0\0")
    assert "JSON overruns" in bad_body(raw("[1]", size=4))
    assert "bytes that no value claims" in bad_body(raw("[1]", b"x"))
    assert "bytes values overrun" in bad_body(raw('[{"b":2}]', b"x"))
    assert "not a bytes value" in bad_body(raw('[{"b":-1}]', b"x"))
    assert "not a bytes value" in bad_body(raw('[{"b":true}]', b"x"))
    assert "(UnicodeDecodeError)" in bad_body(raw('["é"]'.encode()))
    assert "not a report's JSON" in bad_body(raw("[1,]"))
    assert "not a report's JSON" in bad_body(raw("[1"))
    assert "(RecursionError)" in bad_body(raw("[" * 100_000))
    assert "(ValueError)" in bad_body(raw("[" + "9" * 4301 + "]"))
    assert "not a non-empty list" in bad_body(raw("[]"))
    assert "not a non-empty list" in bad_body(raw('{"b":1}', b"x"))


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_nan_and_infinity_load_but_are_not_a_wake(text: str) -> None:
    frame = load_report(raw(f'["report",["ok",null],[],{text},null]'))
    assert type(frame[3]) is float and not math.isfinite(frame[3])
    assert "wake is not a finite number" in refused(frame)
    # ... nor anything else a report holds: ints, bools and bytes are what they must be.
    for where in ('["report",["ok",[{x},true]],[],null,null]',
                  '["report",["ok",null],[["send",1,{x},"m",{{"b":0}}]],null,null]',
                  '["report",["ok",null],[],null,[{x},true]]'):
        refused(load_report(raw(where.format(x=text))))


def test_ints_load_up_to_4300_digits_and_parse_only_within_64_bits() -> None:
    frame = load_report(raw(f'["report",["ok",null],[],null,[{"9" * 4300},true]]'))
    assert "a term is not a 64-bit integer" in refused(frame)
    assert load_report(raw(f"[-{'9' * 4300}]")) == [-BIG]
    top = load_report(raw(f'["report",["ok",null],[],null,[{2**63 - 1},true]]'))
    assert parse_report(top, N).state == (2**63 - 1, True)
    assert "a term is not a 64-bit integer" in refused(report(state=[2**63, True]))
    assert "a term is not a 64-bit integer" in refused(report(state=[-(2**63) - 1, True]))


def test_an_object_inside_a_bytes_value_claims_before_its_parent_is_refused() -> None:
    """The decoder calls its hook innermost first: a nested ``{"b": n}`` is a
    bytes value, and the object holding it is refused."""
    assert "not a bytes value" in bad_body(raw('[{"x":{"b":1}}]', b"x"))
    assert load_report(raw('[[{"b":1}],[[{"b":2}]]]', b"xyz")) == [[b"x"], [[b"yz"]]]


def test_every_truncation_and_extension_of_a_real_report_is_a_protocol_error() -> None:
    data = body(realistic_report())
    assert load_report(data) == realistic_report()
    for end in range(len(data)):
        bad_body(data[:end])
    for extra in (b"\0", b" ", b"x", b"]", data):
        bad_body(data + extra)


def test_a_json_size_off_by_any_amount_is_a_protocol_error() -> None:
    data = body(realistic_report())
    size = struct.unpack_from("<I", data)[0]
    for lie in range(len(data) + 8):
        if lie != size:
            bad_body(struct.pack("<I", lie) + data[4:])


JSON_ALPHABET = b'[]{}",:0123456789-+.eEbtrufalsnNIy \\'


def test_random_and_corrupted_bodies_give_a_plain_list_or_a_protocol_error_only() -> None:
    rng = random.Random(1)
    good = body(realistic_report())
    json_size = struct.unpack_from("<I", good)[0]
    loaded = 0
    for i in range(2000):
        kind = i % 4
        if kind == 0:  # random bytes
            data = rng.randbytes(rng.randrange(0, 40))
        elif kind == 1:  # random JSON-ish text, a plausible size and a random tail
            text = bytes(rng.choice(JSON_ALPHABET) for _ in range(rng.randrange(0, 30)))
            data = raw(text, rng.randbytes(rng.randrange(0, 4)))
        elif kind == 2:  # a real report with a few bits flipped
            flipped = bytearray(good)
            for _ in range(rng.randrange(1, 4)):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            data = bytes(flipped)
        else:  # a real report with a few bytes of its JSON replaced
            replaced = bytearray(good)
            for _ in range(rng.randrange(1, 3)):
                replaced[4 + rng.randrange(json_size)] = rng.choice(JSON_ALPHABET)
            data = bytes(replaced)
        try:
            frame = load_report(data)
        except ProtocolError:
            continue
        assert type(frame) is list and frame and plain(frame)
        loaded += 1
        with contextlib.suppress(ProtocolError):
            parse_report(frame, N)
    assert 50 < loaded < 1000  # both outcomes were exercised


# ------------------------------------------------------------ reading is cheap


def peak_to_load(data: bytes) -> int:
    """Bytes tracemalloc saw allocated at most while ``load_report(data)`` ran."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            frame = load_report(data)
        except ProtocolError:
            frame = None
        peak = tracemalloc.get_traced_memory()[1] - base
        del frame
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak


def long_binput(index: int) -> bytes:
    """[1] as a 13-byte pickle that memoizes it at ``index``: the C unpickler
    (``pickle.loads``) grows its memo to that index, zeroed - never try it here."""
    data = b"\x80\x05](K\x01r" + struct.pack("<I", index) + b"e."
    assert len(data) == 13 and pickle._loads(data) == [1]  # the pure-Python one: a dict
    return data


CRAFTED: list[tuple[str, bytes]] = [
    ("pickle-long-binput-2**22", long_binput(1 << 22)),
    ("pickle-long-binput-2**30", long_binput(1 << 30)),
    ("pickle-long-binput-2**32-1", long_binput(2**32 - 1)),
    ("pickle-put-huge", b"(K\x01p" + b"9" * 18 + b"\nl."),
    ("json-size-2**32-1", raw("", size=2**32 - 1)),
    ("b-2**62", raw('[{"b":4611686018427387904}]')),
    ("many-b0", raw("[" + ",".join(['{"b":0}'] * 5_000) + "]")),
    ("many-b1", raw("[" + ",".join(['{"b":1}'] * 5_000) + "]", b"x" * 5_000)),
    ("many-b0-then-overrun", raw("[" + '{"b":0},' * 5_000 + '{"b":1}]')),
    ("many-empty-lists", raw("[" + ",".join(["[]"] * 5_000) + "]")),
    ("nested-chains", raw("[" + ",".join(["[" * 40 + "]" * 40] * 500) + "]")),
    ("deep-unclosed", raw("[" * 100_000)),
    ("many-strings", raw("[" + ",".join(['"ab"'] * 5_000) + "]")),
    ("many-floats", raw("[" + ",".join(["0.5"] * 5_000) + "]")),
    ("big-ints", raw("[" + ",".join(["9" * 4300] * 20) + "]")),
    ("escapes", raw('["' + "\\ud800" * 5_000 + '"]')),
]


@pytest.mark.parametrize(("name", "data"), CRAFTED, ids=[name for name, _ in CRAFTED])
def test_a_small_crafted_body_allocates_a_bounded_multiple_of_its_size(name: str,
                                                                        data: bytes) -> None:
    """The trusted side holds at most a bounded multiple of what a sandbox wrote.
    The worst is nested lists (a one-item list is ~80 bytes for two of text):
    about 45 times; everything else is far less."""
    peak = peak_to_load(data)
    assert peak < 64 * len(data) + 64 * 1024, \
        f"{peak:,} bytes allocated to read a {len(data):,}-byte frame"


def test_a_tiny_report_cannot_make_the_reader_allocate_far_more_than_its_size() -> None:
    """The 13 bytes that made the old pickle reader zero gigabytes: refused, for free."""
    for index in (1 << 22, 1 << 30, 2**32 - 1):
        data = long_binput(index)
        assert "JSON overruns" in bad_body(data)
        assert peak_to_load(data) < 16 * 1024


# ------------------------------------------------------ a pickle is not a report

TRIPPED: list[Any] = []


def trip(*args: Any) -> str:
    """A payload's target: records that it ran."""
    TRIPPED.append(args)
    return "tripped"


class Call:
    """Pickles as ``fn(*args)``: the classic malicious pickle."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.fn, self.args


def forbid_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any unpickler the reader might reach for explodes."""
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("something unpickled a report")

    for name in ("loads", "load", "Unpickler", "_Unpickler", "_loads", "_load"):
        monkeypatch.setattr(pickle, name, explode)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_pickle_fed_to_load_report_is_refused_and_runs_nothing(
        protocol: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    payloads = [
        report(effects=[Call(os.system, f"touch {marker}")]),
        report(["ok", Call(trip, "from a report")]),
        realistic_report(),
        ["report"],
        *[frame for _, frame in COMMANDS],
    ]
    bodies = [pickle.dumps(frame, protocol) for frame in payloads]
    # The payloads are live: plain pickle runs them ...
    TRIPPED.clear()
    for data in bodies[:2]:
        pickle.loads(data)
    assert marker.exists() and TRIPPED
    marker.unlink()
    TRIPPED.clear()
    # ... the report reader refuses every one, and never unpickles anything.
    forbid_unpickling(monkeypatch)
    for data in bodies:
        bad_body(data)
        bad_body(data + b"\0" * 100)
    assert not marker.exists() and TRIPPED == []


def test_a_pickle_with_a_plausible_json_size_is_refused_too(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """Even when its first four bytes happen to announce a size that fits."""
    marker = tmp_path / "ran"
    data = pickle.dumps(Call(os.system, f"touch {marker}"), 0)
    forbid_unpickling(monkeypatch)
    for size in (0, 1, len(data) // 2, len(data)):
        bad_body(struct.pack("<I", size) + data)
        bad_body(struct.pack("<I", size) + data[4:])
    assert not marker.exists()
# ------------------------------------------------------- parse_report: accepts


@pytest.mark.parametrize(("raw", "parsed"), VALID_EFFECTS,
                         ids=[f"{raw[0]}-{i}" for i, (raw, _) in enumerate(VALID_EFFECTS)])
def test_every_effect_the_host_makes_is_accepted_as_a_tuple(raw: list[Any],
                                                            parsed: tuple[Any, ...]) -> None:
    got = parse_report(load_report(body(report(effects=[raw]))), N)
    assert got.effects == [parsed]
    assert type(got.effects[0]) is tuple


@pytest.mark.parametrize(("raw", "parsed"), VALID_RESULTS,
                         ids=[f"{raw[0]}-{i}" for i, (raw, _) in enumerate(VALID_RESULTS)])
def test_every_result_the_host_makes_is_accepted(raw: list[Any], parsed: list[Any]) -> None:
    got = parse_report(load_report(body(report(raw))), N)
    assert got.result == parsed
    assert type(got.result) is list


def test_effects_keep_their_order_and_each_kind_may_repeat() -> None:
    raws = [raw for raw, _ in VALID_EFFECTS]
    got = parse_report(report(effects=raws + raws[::-1]), N)
    expected = [parsed for _, parsed in VALID_EFFECTS]
    assert got.effects == expected + expected[::-1]


@pytest.mark.parametrize(("wake", "expected"), [
    (None, None), (0, 0.0), (7, 7.0), (1.25, 1.25), (-0.5, -0.5), (1e300, 1e300),
    (-0.0, -0.0), (1e-300, 1e-300), (2**53, 2.0**53), (2.0**60, 2.0**60),
])
def test_a_wake_is_null_or_a_finite_number_read_as_a_float(wake: Any,
                                                             expected: float | None) -> None:
    got = parse_report(report(wake=wake), N).wake
    assert got == expected
    assert got is None or type(got) is float


@pytest.mark.parametrize(("state", "expected"), [
    (None, None), ([0, False], (0, False)), ([7, True], (7, True)),
    ([2**63 - 1, True], (2**63 - 1, True)), ([-(2**63), True], (-(2**63), True)),
])
def test_a_state_is_null_or_term_and_is_leader(state: Any, expected: Any) -> None:
    assert parse_report(report(state=state), N).state == expected


def test_a_send_may_go_to_every_server_of_the_cluster() -> None:
    for n in (1, 3, 7):
        for dst in range(n):
            assert parse_report(report(effects=[["send", 1, dst, "m", b""]]), n).effects == [
                ("send", 1, dst, "m", b"")]


def test_exactly_max_effects_effects_are_accepted() -> None:
    effects = [["log", "INFO", "raft", "x"]] * MAX_EFFECTS
    assert len(parse_report(report(effects=effects), N).effects) == MAX_EFFECTS


# -------------------------------------------------------- parse_report: refuses

MALFORMED_REPORTS: list[tuple[str, Any]] = [
    ("died", ["died", "error", "it died"]),
    ("four-items", ["report", ["ok", None], [], None]),
    ("six-items", ["report", ["ok", None], [], None, None, None]),
    ("one-item", ["report"]),
    ("wrong-head", ["Report", ["ok", None], [], None, None]),
    ("effects-none", report(effects=None)),
    ("effects-tuple", ["report", ["ok", None], (), None, None]),
    ("effects-dict", report(effects={})),
    ("effects-str", report(effects="send")),
    ("too-many-effects", report(effects=[["log", "INFO", "raft", "x"]] * (MAX_EFFECTS + 1))),
]

MALFORMED_EFFECTS: list[tuple[str, Any]] = [
    # not an effect
    ("tuple", ("log", "INFO", "raft", "x")),
    ("dict", {"log": "x"}),
    ("empty", []),
    ("str", "log"),
    ("none", None),
    ("kind-not-str", [1, "INFO", "raft", "x"]),
    ("kind-bytes", [b"log", "INFO", "raft", "x"]),
    ("unknown-kind", ["sleep", 1.0]),
    ("unknown-kind-case", ["Send", 1, 2, "m", b""]),
    ("died", ["died", "error", "x"]),
    # wrong arity, each kind
    ("send-4", ["send", 1, 2, "m"]),
    ("send-6", ["send", 1, 2, "m", b"", b""]),
    ("replied-2", ["replied", 1]),
    ("replied-4", ["replied", 1, b"", b""]),
    ("save-2", ["save", b"s"]),
    ("save-4", ["save", b"s", b"", b""]),
    ("offer-8", ["offer", 1, True, None, 1, False, b"", 0]),
    ("offer-10", ["offer", 1, True, None, 1, False, b"", 0, 0, 0]),
    ("log-3", ["log", "INFO", "raft"]),
    ("log-5", ["log", "INFO", "raft", "x", "y"]),
    ("error-3", ["error", "error", "x"]),
    ("error-5", ["error", "error", "x", "", ""]),
    # send
    ("send-lid-bool", ["send", True, 2, "m", b""]),
    ("send-lid-float", ["send", 1.0, 2, "m", b""]),
    ("send-lid-str", ["send", "1", 2, "m", b""]),
    ("send-lid-none", ["send", None, 2, "m", b""]),
    ("send-dst-bool", ["send", 1, True, "m", b""]),
    ("send-dst-float", ["send", 1, 2.0, "m", b""]),
    ("send-dst-negative", ["send", 1, -1, "m", b""]),
    ("send-dst-n", ["send", 1, N, "m", b""]),
    ("send-dst-huge", ["send", 1, 2**80, "m", b""]),
    ("send-method-int", ["send", 1, 2, 5, b""]),
    ("send-method-bytes", ["send", 1, 2, b"m", b""]),
    ("send-method-none", ["send", 1, 2, None, b""]),
    ("send-args-str", ["send", 1, 2, "m", "args"]),
    ("send-args-none", ["send", 1, 2, "m", None]),
    ("send-args-bytearray", ["send", 1, 2, "m", bytearray(b"x")]),
    ("send-args-list", ["send", 1, 2, "m", [1]]),
    # replied
    ("replied-cid-bool", ["replied", False, b""]),
    ("replied-cid-float", ["replied", 1.5, b""]),
    ("replied-reply-str", ["replied", 1, "r"]),
    ("replied-reply-bytearray", ["replied", 1, bytearray(b"r")]),
    ("replied-reply-false", ["replied", 1, False]),
    # save
    ("save-state-none", ["save", None, b""]),
    ("save-snapshot-none", ["save", b"s", None]),
    ("save-state-str", ["save", "s", b""]),
    ("save-snapshot-list", ["save", b"s", []]),
    # offer
    ("offer-put-bool", ["offer", True, True, None, 1, False, b"", 0, 0]),
    ("offer-put-str", ["offer", "1", True, None, 1, False, b"", 0, 0]),
    ("offer-cv-int", ["offer", 1, 1, None, 1, False, b"", 0, 0]),
    ("offer-cv-none", ["offer", 1, None, None, 1, False, b"", 0, 0]),
    ("offer-command-str", ["offer", 1, True, "put x", 1, False, b"", 0, 0]),
    ("offer-command-int", ["offer", 1, True, 5, 1, False, b"", 0, 0]),
    ("offer-ci-bool", ["offer", 1, True, None, True, False, b"", 0, 0]),
    ("offer-ci-float", ["offer", 1, True, None, 1.0, False, b"", 0, 0]),
    ("offer-sv-int", ["offer", 1, False, None, 0, 0, b"", 0, 0]),
    ("offer-snapshot-none", ["offer", 1, False, None, 0, True, None, 0, 0]),
    ("offer-snapshot-str", ["offer", 1, False, None, 0, True, "snap", 0, 0]),
    ("offer-st-bool", ["offer", 1, False, None, 0, True, b"", True, 0]),
    ("offer-si-str", ["offer", 1, False, None, 0, True, b"", 0, "5"]),
    ("offer-si-none", ["offer", 1, False, None, 0, True, b"", 0, None]),
    # log
    ("log-level-int", ["log", 20, "raft", "x"]),
    ("log-logger-none", ["log", "INFO", None, "x"]),
    ("log-message-bytes", ["log", "INFO", "raft", b"x"]),
    # error
    ("error-kind-unknown", ["error", "fatal", "x", ""]),
    ("error-kind-harness", ["error", "harness", "x", ""]),
    ("error-kind-case", ["error", "Error", "x", ""]),
    ("error-kind-int", ["error", 1, "x", ""]),
    ("error-kind-long", ["error", "error" + " " * 30, "x", ""]),
    ("error-message-none", ["error", "error", None, ""]),
    ("error-details-int", ["error", "error", "x", 5]),
    # profile
    ("profile-1", ["profile"]),
    ("profile-3", ["profile", [], []]),
    ("profile-none", ["profile", None]),
    ("profile-str", ["profile", "f"]),
    ("profile-tuple", ["profile", (("f", 1),)]),
    ("profile-101", ["profile", [["f", 1]] * 101]),
    ("profile-pair-tuple", ["profile", [("f", 1)]]),
    ("profile-pair-1", ["profile", [["f"]]]),
    ("profile-pair-3", ["profile", [["f", 1, 2]]]),
    ("profile-name-int", ["profile", [[1, 1]]]),
    ("profile-name-bytes", ["profile", [[b"f", 1]]]),
    ("profile-count-negative", ["profile", [["f", -1]]]),
    ("profile-count-bool", ["profile", [["f", True]]]),
    ("profile-count-float", ["profile", [["f", 1.0]]]),
    ("profile-count-none", ["profile", [["f", None]]]),
    # inspect: debug_state()'s fields
    ("inspect-short", ["inspect", "leader", 3, 1, 5, 4, 2]),
    ("inspect-role-int", ["inspect", 1, 3, 1, 5, 4, 2, []]),
    ("inspect-term-str", ["inspect", "leader", "3", 1, 5, 4, 2, []]),
    ("inspect-commit-big", ["inspect", "leader", 3, 1, 2**64, 4, 2, []]),
    ("inspect-log-dict", ["inspect", "leader", 3, 1, 5, 4, 2, {"1": 2}]),
    ("inspect-run-short", ["inspect", "leader", 3, 1, 5, 4, 2, [[1]]]),
    ("inspect-run-float", ["inspect", "leader", 3, 1, 5, 4, 2, [[1, 2.0]]]),
    ("inspect-runs-too-many", ["inspect", "leader", 3, 1, 5, 4, 2, [[1, 1]] * 100_001]),
    ("inspect-run-empty", ["inspect", "leader", 3, 1, 5, 4, 2, [[1, 0]]]),
    ("inspect-run-negative", ["inspect", "leader", 3, 1, 5, 4, 2, [[1, -5], [2, 9]]]),
    ("inspect-log-huge", ["inspect", "leader", 3, 1, 2**62, 4, 2, [[1, 2**62]]]),
]

MALFORMED_RESULTS: list[tuple[str, Any]] = [
    ("none", None),
    ("str", "ok"),
    ("tuple", ("ok", None)),
    ("empty", []),
    ("unknown-status", ["fine", None]),
    ("status-not-str", [1, None]),
    ("ok-1", ["ok"]),
    ("ok-3", ["ok", None, None]),
    ("raised-3", ["raised", "error", "x"]),
    ("raised-5", ["raised", "error", "x", "", ""]),
    ("raised-kind-unknown", ["raised", "fatal", "x", ""]),
    ("raised-kind-none", ["raised", None, "x", ""]),
    ("raised-message-int", ["raised", "error", 1, ""]),
    ("raised-details-none", ["raised", "error", "x", None]),
    ("bad-1", ["bad"]),
    ("bad-int", ["bad", 1]),
    ("bad-3", ["bad", "x", "y"]),
    ("noload-none", ["noload", None]),
    ("noload-3", ["noload", "x", "y"]),
    # "ok" values
    ("value-tuple", ["ok", (3, True)]),
    ("value-int", ["ok", 3]),
    ("value-str", ["ok", "reply"]),
    ("value-empty", ["ok", []]),
    ("value-one", ["ok", [3]]),
    ("value-four", ["ok", [1, 2, 3, 4]]),
    ("reply-alone", ["ok", ["reply"]]),
    ("reply-str", ["ok", ["reply", "r"]]),
    ("reply-none", ["ok", ["reply", None]]),
    ("reply-3", ["ok", ["reply", b"r", b"r"]]),
    ("pending-2", ["ok", ["pending", 1]]),
    ("state-term-bool", ["ok", [True, True]]),
    ("state-term-float", ["ok", [3.0, True]]),
    ("state-leader-int", ["ok", [3, 1]]),
    ("state-leader-none", ["ok", [3, None]]),
    ("start-index-bool", ["ok", [True, 1, False]]),
    ("start-term-bool", ["ok", [1, False, False]]),
    ("start-leader-int", ["ok", [1, 2, 0]]),
    ("start-index-str", ["ok", ["1", 2, False]]),
]

MALFORMED_WAKES: list[Any] = [
    math.nan, math.inf, -math.inf, "1.0", b"1", True, False, [1.0], (1.0,), {},
]

MALFORMED_STATES: list[tuple[str, Any]] = [
    ("empty", []),
    ("one", [3]),
    ("three", [3, True, 1]),
    ("tuple", (3, True)),
    ("term-bool", [True, True]),
    ("term-float", [3.0, True]),
    ("term-str", ["3", True]),
    ("leader-int", [3, 1]),
    ("leader-none", [3, None]),
    ("int", 3),
    ("str", "leader"),
]


@pytest.mark.parametrize(("name", "frame"), MALFORMED_REPORTS,
                         ids=[name for name, _ in MALFORMED_REPORTS])
def test_a_frame_that_is_not_a_report_is_refused(name: str, frame: Any) -> None:
    assert refused(frame).startswith("a malformed report from the sandbox: ")


@pytest.mark.parametrize(("name", "effect"), MALFORMED_EFFECTS,
                         ids=[name for name, _ in MALFORMED_EFFECTS])
def test_a_malformed_effect_is_refused(name: str, effect: Any) -> None:
    assert refused(report(effects=[effect])).startswith("a malformed report from the sandbox: ")
    # ... wherever it is among good ones.
    good = [raw for raw, _ in VALID_EFFECTS]
    refused(report(effects=[*good, effect, *good]))


@pytest.mark.parametrize(("name", "result"), MALFORMED_RESULTS,
                         ids=[name for name, _ in MALFORMED_RESULTS])
def test_a_malformed_result_is_refused(name: str, result: Any) -> None:
    refused(["report", result, [], None, None])


@pytest.mark.parametrize("wake", MALFORMED_WAKES, ids=repr)
def test_a_wake_that_is_not_a_finite_number_is_refused(wake: Any) -> None:
    assert "wake is not a finite number" in refused(report(wake=wake))


@pytest.mark.parametrize("wake", [2**53 + 1, -(2**53 + 1), 2**64, 10**400, -(10**400), BIG],
                         ids=["2**53+1", "-(2**53+1)", "2**64", "huge", "-huge", "4300-digits"])
def test_an_int_wake_beyond_2_53_is_refused_not_an_overflow(wake: int) -> None:
    """Ints a float cannot hold exactly (and those it cannot hold at all, which
    once raised OverflowError: raftlab's own error, not the sandbox's)."""
    assert "wake is not a finite number" in refused(report(wake=wake))
    frame = load_report(body(report(wake=wake)))  # as it crosses a pipe
    assert "wake is not a finite number" in refused(frame)


@pytest.mark.parametrize("wake", [2**53, -(2**53), 2**53 - 1])
def test_an_int_wake_up_to_2_53_is_read_exactly(wake: int) -> None:
    got = parse_report(load_report(body(report(wake=wake))), N).wake
    assert type(got) is float and got == wake


@pytest.mark.parametrize(("name", "state"), MALFORMED_STATES,
                         ids=[name for name, _ in MALFORMED_STATES])
def test_a_malformed_state_is_refused(name: str, state: Any) -> None:
    refused(report(state=state))


def test_the_messages_say_what_is_wrong() -> None:
    assert "a send to server 3, which does not exist" in refused(
        report(effects=[["send", 1, 3, "m", b""]]))
    assert "a send to server 1, which does not exist" in refused(
        report(effects=[["send", 1, 1, "m", b""]]), n=1)
    assert "a call id is not a 64-bit integer" in refused(
        report(effects=[["send", True, 0, "m", b""]]))
    assert "command_valid is not a boolean" in refused(
        report(effects=[["offer", 1, 1, None, 1, False, b"", 0, 0]]))
    assert "an effect of unknown kind 'sleep'" in refused(report(effects=[["sleep"]]))
    assert "an error of unknown kind 'fatal'" in refused(
        report(effects=[["error", "fatal", "x", ""]]))
    assert "an error of unknown kind 'fatal'" in refused(report(["raised", "fatal", "x", ""]))
    assert "effects are not a list" in refused(report(effects=[["log", "I", "r", "x"]] * (
        MAX_EFFECTS + 1)))
    assert "a state is not [term, is_leader]" in refused(report(state=[1]))
    assert "is_leader is not a boolean" in refused(report(state=[1, 1]))
    assert "a term is not a 64-bit integer" in refused(report(state=[True, True]))
    assert "not a report" in refused(["died", "x"])


# ------------------------------------------------------------- long texts

TEXT_SLOTS: list[tuple[str, Any, Any, int]] = [
    # (name, frame for a text t, how to read it back from the parsed report, limit)
    ("log-message", lambda t: report(effects=[["log", "INFO", "raft", t]]),
     lambda r: r.effects[0][3], MAX_TEXT),
    ("log-level", lambda t: report(effects=[["log", t, "raft", "x"]]),
     lambda r: r.effects[0][1], 20),
    ("logger", lambda t: report(effects=[["log", "INFO", t, "x"]]),
     lambda r: r.effects[0][2], 200),
    ("method", lambda t: report(effects=[["send", 1, 2, t, b""]]),
     lambda r: r.effects[0][3], 200),
    ("error-message", lambda t: report(effects=[["error", "error", t, ""]]),
     lambda r: r.effects[0][2], MAX_TEXT),
    ("error-details", lambda t: report(effects=[["error", "error", "x", t]]),
     lambda r: r.effects[0][3], MAX_TEXT),
    ("raised-message", lambda t: report(["raised", "error", t, ""]),
     lambda r: r.result[2], MAX_TEXT),
    ("raised-details", lambda t: report(["raised", "error", "x", t]),
     lambda r: r.result[3], MAX_TEXT),
    ("bad", lambda t: report(["bad", t]), lambda r: r.result[1], MAX_TEXT),
    ("noload", lambda t: report(["noload", t]), lambda r: r.result[1], MAX_TEXT),
    ("profile-function", lambda t: report(effects=[["profile", [[t, 1]]]]),
     lambda r: r.effects[0][1][0][0], 200),
]


@pytest.mark.parametrize(("name", "make", "read", "limit"), TEXT_SLOTS,
                         ids=[slot[0] for slot in TEXT_SLOTS])
def test_an_over_long_text_is_cut_to_its_limit_not_refused(name: str, make: Any, read: Any,
                                                           limit: int) -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(limit + 1000))
    cut = read(parse_report(make(text), N))
    assert len(cut) == limit
    assert cut == text[: limit - 1] + "…"
    one_over = read(parse_report(make(text[: limit + 1]), N))
    assert one_over == text[: limit - 1] + "…"
    assert read(parse_report(make(text[:limit]), N)) == text[:limit]  # at the limit: kept
    assert read(parse_report(make(""), N)) == ""


# --------------------------------------------------------- the checked path


WELL_FORMED: list[tuple[str, Frame]] = [
    ("realistic", realistic_report()),
    ("empty", report()),
    ("every-effect", report(effects=[raw for raw, _ in VALID_EFFECTS], wake=3, state=[2, False])),
    *[(f"result-{i}", report(raw, wake=0.5, state=[1, True]))
      for i, (raw, _) in enumerate(VALID_RESULTS)],
]


@pytest.mark.parametrize(("name", "frame"), WELL_FORMED, ids=[name for name, _ in WELL_FORMED])
def test_the_checked_fast_path_converts_a_well_formed_report_the_same_way(
        name: str, frame: Frame) -> None:
    slow = parse_report(load_report(body(frame)), N)
    fast = parse_report(frame, N, checked=True)
    assert as_tuples(fast) == as_tuples(slow)
    assert type(fast.result) is list
    assert fast.result[0] != "ok" or fast.result[1] is None or type(fast.result[1]) is tuple
    assert fast.state is None or type(fast.state) is tuple


def test_the_checked_fast_path_does_not_check() -> None:
    """In-process only: a host of this very process could do worse than a bad report."""
    parsed = parse_report(report(effects=[["send", 1, 99, "m", b""]], wake=math.inf), N,
                          checked=True)
    assert parsed.effects == [["send", 1, 99, "m", b""]] and parsed.wake == math.inf
