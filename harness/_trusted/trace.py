"""The trace: every event of a run, in memory, with virtual time and owner.

    trace.add(t, "send", server, inc, call, to, method, nbytes, payload)
    trace.digest()            # sha256 hex: equal digests = identical runs
    trace.records()           # the events as dicts (for reports and JSON)
    trace.write_jsonl(path)   # one JSON object per line
    trace.tail(per_server=8)  # the last events of each server
    trace.records(full=True)  # arguments in full (raftlab replay --full-args)

Arguments are abridged by default: strings and long lists are cut, and a list
of log entries shows its terms, ``entries=[t2×3, t3]`` (three entries of term
2, one of term 3), whether an entry is a ``(term, command)`` pair or a record
or dict with a ``term`` field.

An event is a flat tuple ``(time, kind, server, incarnation, *fields)``;
``server`` is -1 for the tester and the network as a whole, ``incarnation`` 0
when not tied to a server life. ``KINDS`` names each kind's fields:

    send      a server called an RPC (payload: the encoded args, if small)
    deliver   the request reached the callee; its handler runs now
    reply     a reply reached the caller
    lost      the caller gets None: the request or the reply was dropped,
              the callee was unreachable, disconnected or dead (reason says)
    apply     a server applied a command (index, command)
    apply-snapshot   a server delivered a snapshot (index, term)
    start / crash / connect / disconnect        a server's life and links
    link      a one-way link was blocked or unblocked
    net       a network setting changed (reliable, long_reordering, ...)
    check     a tester checkpoint ("check_one_leader -> 2", "begin ...")
    log       a logging record from the code under test
    failure   the run's failure
    monitor   what the safety monitors observed (a new leader and its term)
    state     a server's get_state() after a step, when it changed
    inspect   a server's debug_state() after a step, when it changed (only in
              runs that ask for it: log = [[term, count], ...] after the snapshot)

Determinism: the digest covers every field. Payloads enter it by CRC-32 and
size; in log messages, memory addresses (``0x7f...``) are masked, since an
object's repr differs between processes even when the run does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from .safe_decode import Record, safe_decode

Event = tuple[Any, ...]

KINDS: Final[dict[str, tuple[str, ...]]] = {
    "send": ("call", "to", "method", "bytes", "payload"),
    "deliver": ("call", "from", "method"),
    "reply": ("call", "from", "method", "bytes", "payload"),
    "lost": ("call", "peer", "method", "reason"),
    "apply": ("index", "command"),
    "apply-snapshot": ("index", "term"),
    "start": (),
    "crash": (),
    "connect": (),
    "disconnect": (),
    "link": ("to", "blocked"),
    "net": ("setting", "value"),
    "check": ("what", "detail"),
    "log": ("level", "logger", "message"),
    "failure": ("message",),
    "monitor": ("what", "detail"),
    "state": ("term", "leader"),
    "inspect": ("role", "term", "voted_for", "commit", "applied", "snapshot", "log"),
}

PAYLOAD_LIMIT: Final = 2048
"""Payloads larger than this are not kept (only their size)."""

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


class Trace:
    """An append-only list of events. See the module docstring."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, t: float, kind: str, server: int, inc: int, *fields: Any) -> None:
        self.events.append((t, kind, server, inc, *fields))

    def __len__(self) -> int:
        return len(self.events)

    def digest(self) -> str:
        """A stable hash of the whole trace (same run -> same digest)."""
        h = hashlib.sha256()
        for ev in self.events:
            h.update(_canonical(ev).encode("utf-8", "backslashreplace"))
            h.update(b"\n")
        return h.hexdigest()

    def records(self, events: Iterable[Event] | None = None, *,
                full: bool = False) -> Iterator[dict[str, Any]]:
        """The events as dicts; ``full``: arguments and commands in full, not abridged."""
        for ev in self.events if events is None else events:
            yield to_record(ev, full=full)

    def write_jsonl(self, path: str | Path, *, full: bool = False) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for rec in self.records(full=full):
                f.write(json.dumps(rec, default=repr))
                f.write("\n")

    def tail(self, per_server: int = 8) -> list[Event]:
        """The last ``per_server`` events of each server (and of the tester), in order."""
        counts: dict[int, int] = {}
        picked: list[Event] = []
        for ev in reversed(self.events):
            n = counts.get(ev[2], 0)
            if n < per_server:
                counts[ev[2]] = n + 1
                picked.append(ev)
        picked.reverse()
        return picked


def to_record(ev: Event, *, full: bool = False) -> dict[str, Any]:
    """An event as a JSON-ready dict; payloads are decoded to short text (``full``:
    to their whole repr)."""
    t, kind, server, inc, *fields = ev
    rec: dict[str, Any] = {"t": round(t, 6), "kind": kind, "server": server, "inc": inc}
    for name, value in zip(KINDS.get(kind, ()), fields, strict=False):
        if name == "payload":
            rec["data"] = describe_payload(value, full=full)
        elif name == "command":
            rec["command"] = _ADDRESS.sub("0x…", repr(value)) if full else short_repr(value)
        else:
            rec[name] = value
    return rec


def describe_payload(payload: bytes | None, *, full: bool = False) -> str | None:
    if payload is None:
        return None
    try:
        value = safe_decode(payload, budget=10_000)
        return _ADDRESS.sub("0x…", repr(value)) if full else short_repr(value)
    except Exception:  # not plain data (a hostile sandbox's bytes): show the size only
        return f"<{len(payload)} bytes>"


def short_repr(value: Any, limit: int = 160) -> str:
    """A compact, deterministic rendering of plain data for traces."""
    text = _short(value, 0)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _term_of(entry: Any) -> int | None:
    """The term of something that looks like a log entry: (term, command), or a
    record or dict with a ``term`` field."""
    if isinstance(entry, (tuple, list)) and entry and type(entry[0]) is int:
        return entry[0]
    if isinstance(entry, dict):
        term = entry.get("term", entry.get("Term"))
        return term if type(term) is int else None
    if isinstance(entry, Record) or (dataclasses.is_dataclass(entry)
                                      and not isinstance(entry, type)):
        for name in ("term", "Term"):
            term = getattr(entry, name, None)
            if type(term) is int:
                return term
    return None


def entries_by_term(entries: Any) -> str | None:
    """``[t2×3, t3]`` for a list of log entries (three of term 2, one of term 3),
    or None if the items do not look like entries."""
    if not isinstance(entries, (list, tuple)):
        return None
    terms = [_term_of(e) for e in entries]
    if any(t is None for t in terms):
        return None
    runs: list[list[int]] = []
    for term in terms:
        if runs and runs[-1][0] == term:
            runs[-1][1] += 1
        else:
            runs.append([term, 1])  # type: ignore[list-item]
    return "[" + ", ".join(f"t{t}×{n}" if n > 1 else f"t{t}" for t, n in runs) + "]"


def _field(name: str, value: Any, depth: int) -> str:
    lowered = name.lower()
    if "entr" in lowered or lowered in ("log", "logs"):
        compact = entries_by_term(value)
        if compact is not None:
            return f"{name}={compact}"
    return f"{name}={_short(value, depth + 1)}"


def _short(v: Any, depth: int) -> str:
    if isinstance(v, str):
        return repr(v) if len(v) <= 24 else repr(v[:20]) + f"…({len(v)} chars)"
    if isinstance(v, bytes):
        return f"<{len(v)} bytes>"
    if isinstance(v, (list, tuple)):
        if depth >= 2 or len(v) > 6:
            return f"[…{len(v)}]"
        inner = ", ".join(_short(x, depth + 1) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    if isinstance(v, dict):
        return f"{{…{len(v)}}}" if depth >= 2 or len(v) > 6 else "{" + ", ".join(
            f"{_short(k, depth + 1)}: {_short(x, depth + 1)}" for k, x in v.items()) + "}"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        fields = ", ".join(_field(f.name, getattr(v, f.name, None), depth)
                           for f in dataclasses.fields(v))
        return f"{type(v).__name__}({fields})"
    if isinstance(v, Record):
        parts = [_short(x, depth + 1) for x in v.values()]
        parts += [_field(k, x, depth) for k, x in v.fields().items()]
        return f"{v.type_name}({', '.join(parts)})"
    return _ADDRESS.sub("0x…", repr(v))


def _canonical(ev: Event) -> str:
    t, kind, server, inc, *fields = ev
    parts = [repr(t), kind, str(server), str(inc)]
    for name, value in zip(KINDS.get(kind, ()), fields, strict=False):
        if name == "payload":
            parts.append("-" if value is None else f"{zlib.crc32(value):08x}")
        elif name == "message":
            parts.append(_ADDRESS.sub("0x?", str(value)))
        else:
            parts.append(repr(value))
    return "|".join(parts)
