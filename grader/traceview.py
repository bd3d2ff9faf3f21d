"""Human-readable trace lines from plain trace records (dicts), no rich, no harness.

    describe(rec)                 "→ S0 append_entries #41 AppendEntriesArgs(term=3, …)"
    who(rec)                      "S2#1" or "tester"
    tail_text(records, 6)         the last 6 events of each server, one per line

A record is what ``harness.Trace.records()`` yields and what the results JSON
stores: ``{"t", "kind", "server", "inc", ...fields}`` (see ``harness.TRACE_KINDS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Record = dict[str, Any]


def who(rec: Record) -> str:
    server = rec.get("server", -1)
    if server is None or server < 0:
        return "tester"
    inc = rec.get("inc", 0)
    return f"S{server}#{inc}" if inc else f"S{server}"


def describe(rec: Record) -> str:
    kind = rec.get("kind", "?")
    data = f" {rec['data']}" if rec.get("data") else ""
    if kind == "send":
        return f"→ S{rec['to']} {rec['method']} #{rec['call']}{data}"
    if kind == "deliver":
        return f"← from S{rec['from']}: {rec['method']} #{rec['call']} (handler runs)"
    if kind == "reply":
        return f"⇐ reply from S{rec['from']}: {rec['method']} #{rec['call']}{data}"
    if kind == "lost":
        return f"✗ {rec['method']} #{rec['call']} to S{rec['peer']}: {rec['reason']} → None"
    if kind == "apply":
        return f"applied [{rec['index']}] {rec['command']}"
    if kind == "apply-snapshot":
        return f"delivered snapshot through [{rec['index']}] (term {rec['term']})"
    if kind == "start":
        return f"started (incarnation {rec.get('inc', '?')})"
    if kind in ("crash", "connect", "disconnect"):
        return {"crash": "crashed", "connect": "connected", "disconnect": "disconnected"}[kind]
    if kind == "link":
        return f"link → S{rec['to']} {'blocked' if rec['blocked'] else 'unblocked'}"
    if kind == "net":
        return f"network: {rec['setting']} = {rec['value']}"
    if kind == "check":
        return f"{rec['what']}: {rec['detail']}"
    if kind == "monitor":
        return f"★ {rec['detail']}"
    if kind == "log":
        return f"{rec['level']} {rec['logger']}: {rec['message']}"
    if kind == "failure":
        return f"FAILURE: {rec['message']}"
    if kind == "state":
        return f"get_state: term {rec['term']}, {'leader' if rec['leader'] else 'not leader'}"
    if kind == "inspect":
        runs = rec.get("log")
        log = "?" if runs is None else "[" + ", ".join(
            f"t{t}×{n}" if n > 1 else f"t{t}" for t, n in runs) + "]"
        snap = f" after snapshot [{rec['snapshot']}]" if rec.get("snapshot") else ""
        return (f"debug_state: {rec.get('role')} term {rec.get('term')} voted_for "
                f"{rec.get('voted_for')} commit {rec.get('commit')} applied "
                f"{rec.get('applied')} log {log}{snap}")
    return str({k: v for k, v in rec.items() if k not in ("t", "kind", "server", "inc")})


def line(rec: Record) -> str:
    return f"{rec.get('t', 0.0):9.4f}  {who(rec):>7}  {describe(rec)}"


def tail(records: Sequence[Record], per_server: int) -> list[Record]:
    """The last ``per_server`` records of each server (and of the tester), in order."""
    counts: dict[Any, int] = {}
    picked: list[Record] = []
    for rec in reversed(records):
        key = rec.get("server")
        n = counts.get(key, 0)
        if n < per_server:
            counts[key] = n + 1
            picked.append(rec)
    picked.reverse()
    return picked


def tail_text(records: Iterable[Record], per_server: int = 6) -> str:
    return "\n".join(line(r) for r in tail(list(records), per_server))
