"""The protocol between the trusted side and a sandbox: the one module both import.

A graded run has two sides. The trusted side (``harness/_trusted``) owns the
virtual clock, the network, the persisters' bytes, the tester, the monitors and
the trace. Each server life runs in a sandbox (``harness/_sandbox``): the
student's ``Raft`` object, its asyncio tasks and its module, and nothing else.
The two exchange *frames*, in lockstep: the trusted side sends one command,
the sandbox does it, runs the server's code until nothing more is due at that
instant, and answers with one report. Nothing else crosses.

    trusted side                                sandbox (one server life)
    ["boot", now, me, n, number, seed, import_seed, lvl, S, P]
                                                ->  construct Raft(peers, me, persister, apply_ch)
    ["boot", ..., S, P, True]                   ->  the same, and report debug_state() after
                                                    every step (an "inspect" effect)
    ["call", now, "get_state"]                  ->  rf.get_state()
    ["call", now, "start", C]                   ->  rf.start(command)
    ["call", now, "snapshot", index, P]         ->  rf.snapshot(index, snapshot)
    ["call", now, "kill"]                       ->  rf.kill()
    ["deliver", now, cid, method, A]            ->  run the RPC handler on a copy of the args
    ["deliver", now, cid, method, A, True]      ->  the same, halted: the step ends when the
                                                    handler returns (nothing deferred runs)
    ["reply", now, lid, R | None]               ->  the call `lid` it made returns R (None: lost)
    ["taken", now, put_id]                      ->  the service took that ApplyMsg: put() returns
    ["run", now]                                ->  fire the timers due by `now`
    ["check"]                                   ->  load the module; is there a usable Raft?
                                               <-  ["report", result, effects, wake, state]

A frame is a list of plain values: None, bools, 64-bit ints, floats, strings,
bytes and lists (no dicts, no tuples). Capital letters stand for bytes: encoded arguments, replies,
commands and persisted state, which the trusted side passes on without
looking inside.

A report says what the server's code did, in order:

    result    ["ok", value] | ["raised", kind, message, details]
              | ["bad", what] (a malformed return value) | ["noload", message]
    effects   ["send", lid, dst, method, A]        it called peers[dst].call(method, args)
              ["replied", cid, R | None]           an async handler returned (None: cancelled)
              ["save", S, P]                       its last persister.save() of this step
              ["offer", put_id, cv, C | None, ci, sv, P, st, si]   await apply_ch.put(ApplyMsg)
              ["log", level, logger, message]      a logging record
              ["error", kind, message, details]    its code broke a rule or raised
              ["profile", [[function, samples], ...]]  where its CPU went (not traced)
              ["inspect", role, term, voted_for, commit, applied, snapshot, [[term, count], ...]]
                                                   its debug_state() after the step, when it
                                                   changed (any field may be null; the log's
                                                   terms after the snapshot, run-length coded)
    wake      when it next has something to do (its earliest timer), or null
    state     get_state() after the step, [term, is_leader], or null

``kind`` of an error is one of ``KINDS``; the trusted side turns it into the
matching StudentError, whatever the code raised (a submission raising
raftlab's own exception types gets no special treatment: its errors are its).

Trust: the sandbox runs student code, so every report is hostile until
``parse_report`` has checked it: types, ranges, sizes. A report that breaks the
protocol fails the run as the student's (``ProtocolError``). Bytes the trusted
side must look inside (a command in an ApplyMsg, a snapshot the tester
decodes) are read with ``_trusted.safe_decode``, never unpickled.

Framing, on a pipe: ``u32 size | body`` (little-endian, at most ``MAX_FRAME``
bytes). A command's body is a pickle of the list: it comes from the trusted
side, and the sandbox reads it with plain ``pickle.loads``. A report's body is
not a pickle, since the trusted side must never feed hostile bytes to an
unpickler (even one that resolves no global: its memo opcodes name an index,
and the C unpickler sizes and zeroes its memo by it, so 13 bytes could make
the grader touch gigabytes). A report is JSON with its bytes values cut out:

    u32 json size | JSON text (ASCII) | the bytes values, one after another

each bytes value standing in the JSON as ``{"b": length}``, in document order.
``load_report`` reads them back in that order and wants them to use up the
tail exactly. What the trusted side holds is then bounded by the frame's size:
the bytes values once, and the JSON's values up to ~45 times its own size
(``[[[]]]``: a list object for every two bytes), which ``MAX_REPORT_JSON``
caps. In-process mode skips the bytes and hands the same lists over directly.
"""

from __future__ import annotations

import json
import json.encoder
import math
import pickle
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

MAX_FRAME: Final = 64 * 1024 * 1024
"""Largest frame either side accepts (a whole persisted log fits many times)."""

MAX_REPORT_JSON: Final = 8 * 1024 * 1024
"""Largest JSON part of a report (a hostile one makes the trusted side hold at most
~45 times this, for a moment). An honest one is far smaller: its bytes values are
outside the JSON, and a host reports at most ``MAX_STEP_LOG`` bytes of log a step."""

MAX_STEP_LOG: Final = 1_000_000
"""Bytes of JSON-escaped log text one report carries at most (the host drops the rest
of that step's records, and says so)."""

MAX_STEP_SENDS: Final = 10_000
"""RPCs one server may start in one step, one instant of virtual time: more is a loop
that never awaits, and fails the run as the server's (the reference starts a few)."""

MAX_TEXT: Final = 20_000
"""Longest message, log line or traceback kept from a report (longer ones are cut)."""

MAX_EFFECTS: Final = 50_000
"""Most effects one report may carry (a Raft's step makes a handful)."""

KINDS: Final = ("error", "spin", "livelock", "blocking", "exit", "memory", "api", "codec")
"""How a server's code failed: a plain exception, a CPU spin, a livelock, a blocking
call, sys.exit(), memory, misuse of the student API, data that cannot cross."""

CALLS: Final = ("get_state", "start", "snapshot", "kill")

INSPECT: Final = "debug_state"
"""The optional method that reports a server's internals (HANDOUT §3.9); like the
tester's calls, never an RPC handler."""

MAX_INSPECT_RUNS: Final = 100_000
"""Most runs of equal terms an "inspect" effect may carry."""

MAX_INSPECT_ENTRIES: Final = 10_000_000
"""Most log entries an "inspect" effect may describe (the monitors walk them)."""


@dataclass
class ApplyMsg:
    """What Raft puts on ``apply_ch``: a committed command or an installed snapshot."""

    command_valid: bool = False
    command: Any = None
    command_index: int = 0

    snapshot_valid: bool = False
    snapshot: bytes = b""
    snapshot_term: int = 0
    snapshot_index: int = 0


Frame = list[Any]


class ProtocolError(Exception):
    """A frame that does not follow this protocol (from the sandbox: the student's)."""


# ------------------------------------------------------------------ framing

_U32: Final = struct.Struct("<I")
_HEAD: Final = struct.Struct("<II")  # a report's frame size, then its JSON's


def pack(frame: Frame) -> bytes:
    """A command (trusted side to sandbox) as bytes, ready to write to a pipe."""
    return _framed(pickle.dumps(frame, 5))


def _framed(body: bytes) -> bytes:
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"a frame of {len(body):,} bytes is larger than the "
                            f"{MAX_FRAME:,} allowed")
    return _U32.pack(len(body)) + body


def read_size(prefix: bytes | bytearray) -> int:
    """The body size announced by a frame's first four bytes (checked)."""
    size: int = _U32.unpack(prefix)[0]
    if size > MAX_FRAME:
        raise ProtocolError(f"a frame of {size:,} bytes is larger than the {MAX_FRAME:,} allowed")
    return size


class _ReportEncoder:
    """JSON text plus the bytes values it stands for (see the module docstring)."""

    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
        if make is not None:  # CPython's C encoder, made once (json.dumps makes one a call)
            iterencode = make(None, self._cut, json.encoder.encode_basestring_ascii, None,
                              ":", ",", False, False, True)
            self._encode: Callable[[Frame], str] = lambda frame: "".join(iterencode(frame, 0))
        else:
            self._encode = json.JSONEncoder(separators=(",", ":"), check_circular=False,
                                            default=self._cut).encode

    def _cut(self, value: object) -> object:
        if type(value) is not bytes:
            raise TypeError(f"a report cannot carry a {type(value).__name__}")
        self.blobs.append(value)
        return {"b": len(value)}

    def encode(self, frame: Frame) -> bytes:
        blobs = self.blobs
        blobs.clear()
        text = self._encode(frame).encode("ascii")
        if text.count(b"{") != len(blobs) and _has_dict(frame):  # a "{" may be in a string
            raise TypeError("a report cannot carry a dict")
        tail = b"".join(blobs) if blobs else b""
        blobs.clear()
        size = 4 + len(text) + len(tail)
        if size > MAX_FRAME:
            raise ProtocolError(f"a frame of {size:,} bytes is larger than the "
                                f"{MAX_FRAME:,} allowed")
        return _HEAD.pack(size, len(text)) + text + tail


def _has_dict(frame: Frame) -> bool:
    stack: list[Any] = [frame]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            return True
        if type(value) is list or type(value) is tuple:
            stack.extend(value)
    return False


_coders = threading.local()  # an encoder and a decoder per thread: they hold state


def pack_report(frame: Frame) -> bytes:
    """A report (sandbox to trusted side) as bytes, ready to write to a pipe."""
    encoder = getattr(_coders, "encoder", None)
    if encoder is None:
        encoder = _coders.encoder = _ReportEncoder()
    return encoder.encode(frame)


class _ReportDecoder:
    """Reads a report's JSON, putting its bytes values back from the tail."""

    def __init__(self) -> None:
        self._scan = json.JSONDecoder(object_hook=self._blob).scan_once  # type: ignore[attr-defined]
        self._body = b""
        self._at = 0  # where the next bytes value starts in _body

    def _blob(self, obj: dict[str, Any]) -> bytes:
        size = obj.get("b")
        if len(obj) != 1 or type(size) is not int or size < 0:
            raise ProtocolError("a frame with an object that is not a bytes value")
        start = self._at
        end = self._at = start + size
        if end > len(self._body):
            raise ProtocolError("a frame whose bytes values overrun it")
        return self._body[start:end]

    def decode(self, body: bytes) -> Any:
        if len(body) < 4:
            raise ProtocolError("a frame too short to be a report")
        tail = 4 + _U32.unpack_from(body)[0]
        if tail > len(body):
            raise ProtocolError("a frame whose JSON overruns it")
        if tail - 4 > MAX_REPORT_JSON:
            raise ProtocolError(f"a report whose JSON is larger than the {MAX_REPORT_JSON:,} "
                                "bytes allowed")
        text = body[4:tail].decode("ascii")
        self._body, self._at = body, tail
        try:
            value, end = self._scan(text, 0)
        except StopIteration:
            raise ValueError("not JSON") from None
        finally:
            self._body = b""
        if end != len(text):
            raise ProtocolError("a frame with more than one JSON value")
        if self._at != len(body):
            raise ProtocolError("a frame with bytes that no value claims")
        return value


def load_report(body: bytes) -> Frame:
    """A frame from a sandbox (hostile until ``parse_report`` has checked it)."""
    decoder = getattr(_coders, "decoder", None)
    if decoder is None:
        decoder = _coders.decoder = _ReportDecoder()
    try:
        frame = decoder.decode(body)
    except ProtocolError:
        raise
    except (ValueError, RecursionError, MemoryError) as e:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"a frame that is not a report's JSON ({type(e).__name__})") from None
    if type(frame) is not list or not frame:
        raise ProtocolError("a frame that is not a non-empty list")
    return frame


def load_command(body: bytes) -> Frame:
    """A frame from the trusted side."""
    frame: Frame = pickle.loads(body)
    return frame


# ------------------------------------------------------------------ reports


class Report:
    """A checked report: its effects as tuples, in order."""

    __slots__ = ("effects", "result", "state", "wake")

    def __init__(self, result: list[Any], effects: list[tuple[Any, ...]], wake: float | None,
                 state: tuple[int, bool] | None) -> None:
        self.result = result
        self.effects = effects
        self.wake = wake
        self.state = state


def _fail(what: str) -> ProtocolError:
    return ProtocolError(f"a malformed report from the sandbox: {what}")


def _int(value: object, what: str) -> int:
    if type(value) is not int or not -(2 ** 63) <= value < 2 ** 63:
        raise _fail(f"{what} is not a 64-bit integer")
    return value


def _bool(value: object, what: str) -> bool:
    if type(value) is not bool:
        raise _fail(f"{what} is not a boolean")
    return value


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` at most ``limit`` characters long (a cut one ends with "…"), its lone
    surrogates written out (``\\udc80``), since JSON cannot carry them one to one.

    The host passes its texts through this as it makes them, so that a report
    says the same in both modes; ``parse_report`` does it again for what a
    hostile sandbox did not."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: object, what: str, limit: int = MAX_TEXT) -> str:
    if type(value) is not str:
        raise _fail(f"{what} is not a string")
    return cut(value, limit)


def _time(value: object, what: str) -> float:
    if type(value) is int:
        if abs(value) > 2 ** 53:  # also too large for a float
            raise _fail(f"{what} is not a finite number")
        value = float(value)
    if type(value) is not float or not math.isfinite(value):
        raise _fail(f"{what} is not a finite number")
    return value


def _bytes(value: object, what: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if type(value) is not bytes:
        raise _fail(f"{what} is not bytes")
    return value


def _shape(item: object, size: int, what: str) -> list[Any]:
    if type(item) is not list or len(item) != size:
        raise _fail(f"{what} has the wrong shape")
    return item


def _send(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 5, "a send")
    dst = _int(e[2], "a send's destination")
    if not 0 <= dst < n:
        raise _fail(f"a send to server {dst}, which does not exist")
    return ("send", _int(e[1], "a call id"), dst, _text(e[3], "a method name", 200),
            _bytes(e[4], "a send's arguments"))


def _replied(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 3, "a reply")
    return ("replied", _int(e[1], "a call id"), _bytes(e[2], "a reply", optional=True))


def _save(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 3, "a save")
    return ("save", _bytes(e[1], "the raft state"), _bytes(e[2], "the snapshot"))


def _offer(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 9, "an offer")
    return ("offer", _int(e[1], "a put id"), _bool(e[2], "command_valid"),
            _bytes(e[3], "a command", optional=True), _int(e[4], "command_index"),
            _bool(e[5], "snapshot_valid"), _bytes(e[6], "a snapshot"),
            _int(e[7], "snapshot_term"), _int(e[8], "snapshot_index"))


def _log(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 4, "a log record")
    return ("log", _text(e[1], "a log level", 20), _text(e[2], "a logger name", 200),
            _text(e[3], "a log message"))


def _opt_int(value: object, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _inspect(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 8, "an inspect")
    runs = e[7]
    if runs is not None:
        if type(runs) is not list or len(runs) > MAX_INSPECT_RUNS:
            raise _fail("an inspect's log is not a list of runs")
        runs = [(_int(_shape(r, 2, "a run")[0], "a term"), _int(r[1], "a count"))
                for r in runs]
        if any(count < 1 for _, count in runs) or sum(
                count for _, count in runs) > MAX_INSPECT_ENTRIES:
            raise _fail("an inspect's log has a run of no entries, or too many entries")
    role = e[1]
    return ("inspect", None if role is None else _text(role, "a role", 20),
            _opt_int(e[2], "a term"), _opt_int(e[3], "voted_for"), _opt_int(e[4], "a commit index"),
            _opt_int(e[5], "last applied"), _opt_int(e[6], "a snapshot index"), runs)


def _error(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 4, "an error")
    kind = _text(e[1], "an error kind", 20)
    if kind not in KINDS:
        raise _fail(f"an error of unknown kind {kind!r}")
    return ("error", kind, _text(e[2], "an error message"), _text(e[3], "error details"))


def _profile(e: list[Any], n: int) -> tuple[Any, ...]:
    _shape(e, 2, "a profile")
    if type(e[1]) is not list or len(e[1]) > 100:
        raise _fail("a profile is not a short list")
    pairs = []
    for pair in e[1]:
        if type(pair) is not list or len(pair) != 2:
            raise _fail("a profile entry is not [function, samples]")
        count = _int(pair[1], "a sample count")
        if count < 0:
            raise _fail("a negative sample count")
        pairs.append((_text(pair[0], "a function name", 200), count))
    return ("profile", pairs)


_EFFECTS: Final[dict[str, Callable[[list[Any], int], tuple[Any, ...]]]] = {
    "send": _send, "replied": _replied, "save": _save, "offer": _offer, "log": _log,
    "error": _error, "profile": _profile, "inspect": _inspect,
}


def parse_report(frame: Frame, n: int, *, checked: bool = False) -> Report:
    """Check a report from a sandbox of a cluster of ``n`` servers. Raises ProtocolError.

    ``checked``: the report comes from a host in this very process (in-process
    mode, where nothing is hostile that could not do worse): only its shape is
    converted."""
    if checked:
        result = frame[1]
        if result[0] == "ok" and type(result[1]) is list:
            result = ["ok", tuple(result[1])]
        state = frame[4]
        return Report(result, frame[2], frame[3], None if state is None else (state[0], state[1]))
    if len(frame) != 5 or frame[0] != "report":
        raise _fail("not a report")
    result, raw_effects, wake, state = frame[1], frame[2], frame[3], frame[4]
    result = _result(result)
    if type(raw_effects) is not list or len(raw_effects) > MAX_EFFECTS:
        raise _fail("effects are not a list")
    effects = []
    for e in raw_effects:
        if type(e) is not list or not e or type(e[0]) is not str:
            raise _fail("an effect is not a list")
        parse = _EFFECTS.get(e[0])
        if parse is None:
            raise _fail(f"an effect of unknown kind {e[0]!r}")
        effects.append(parse(e, n))
    return Report(result, effects, None if wake is None else _time(wake, "wake"),
                  None if state is None else _state(state))


def _state(state: object) -> tuple[int, bool]:
    if type(state) is not list or len(state) != 2:
        raise _fail("a state is not [term, is_leader]")
    return _int(state[0], "a term"), _bool(state[1], "is_leader")


def _result(result: object) -> list[Any]:
    if type(result) is not list or not result:
        raise _fail("a result is not a list")
    status = result[0]
    if status == "ok" and len(result) == 2:
        return ["ok", _value(result[1])]
    if status == "raised" and len(result) == 4:
        kind = _text(result[1], "an error kind", 20)
        if kind not in KINDS:
            raise _fail(f"an error of unknown kind {kind!r}")
        return ["raised", kind, _text(result[2], "a message"), _text(result[3], "details")]
    if status in ("bad", "noload") and len(result) == 2:
        return [status, _text(result[1], "a message")]
    raise _fail("a result of unknown shape")


def _value(value: object) -> Any:
    """An "ok" value: null, [term, is_leader], [index, term, is_leader],
    ["reply", R] or ["pending"] (an async handler started)."""
    if value is None:
        return None
    if type(value) is not list or not value:
        raise _fail("a return value of unknown shape")
    if value[0] == "reply" and len(value) == 2:
        return ("reply", _bytes(value[1], "a reply"))
    if value[0] == "pending" and len(value) == 1:
        return ("pending",)
    if len(value) == 2:
        return (_int(value[0], "a term"), _bool(value[1], "is_leader"))
    if len(value) == 3:
        return (_int(value[0], "an index"), _int(value[1], "a term"),
                _bool(value[2], "is_leader"))
    raise _fail("a return value of unknown shape")


# ------------------------------------------------------------------ commands


def command_boot(now: float, me: int, n: int, number: int, seed: int, import_seed: int,
                 log_level: int, state: bytes, snapshot: bytes, inspect: bool = False) -> Frame:
    frame: Frame = ["boot", now, me, n, number, seed, import_seed, log_level, state, snapshot]
    return [*frame, True] if inspect else frame


def command_call(now: float, name: str, *args: Any) -> Frame:
    """get_state / kill: no args; start: (command_bytes,); snapshot: (index, bytes)."""
    return ["call", now, name, *args]


def command_deliver(now: float, cid: int, method: str, args: bytes, halt: bool = False) -> Frame:
    frame: Frame = ["deliver", now, cid, method, args]
    return [*frame, True] if halt else frame


def command_reply(now: float, lid: int, reply: bytes | None) -> Frame:
    return ["reply", now, lid, reply]


def command_taken(now: float, put_id: int) -> Frame:
    return ["taken", now, put_id]


def command_run(now: float) -> Frame:
    return ["run", now]


def command_check() -> Frame:
    return ["check"]
