"""The HTML timeline page (grader/timeline.py): self-contained, lossless data,
safe against hostile strings, tolerant of odd records, compact. No browser here:
the page's script is checked by the browser tests."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grader import timeline

Rec = dict[str, Any]


def _meta(**over: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "test": "test_backup_2b", "title": "Test (2B): leader backs up quickly", "seed": 7,
        "impl": "student", "servers": 3, "passed": True, "failure": None, "failure_t": None,
        "digest": "ab" * 32, "sim_time": 2.5,
        "replay": "raftlab replay test_backup_2b --seed 7", "raftlab": "0.1.0",
    }
    meta.update(over)
    return meta


def _sample() -> list[Rec]:
    """One record of every kind, the new state/inspect and link included."""
    return [
        {"t": 0.0, "kind": "net", "server": -1, "inc": 0, "setting": "reliable", "value": False},
        {"t": 0.0, "kind": "start", "server": 0, "inc": 1},
        {"t": 0.0, "kind": "start", "server": 1, "inc": 1},
        {"t": 0.0, "kind": "start", "server": 2, "inc": 1},
        {"t": 0.0, "kind": "connect", "server": 0, "inc": 1},
        {"t": 0.0, "kind": "check", "server": -1, "inc": 0, "what": "begin",
         "detail": "Test (2B): leader backs up quickly"},
        {"t": 0.1, "kind": "state", "server": 0, "inc": 1, "term": 1, "leader": False},
        {"t": 0.1, "kind": "inspect", "server": 0, "inc": 1, "role": "candidate", "term": 1,
         "voted_for": 0, "commit": 0, "applied": 0, "snapshot": 0, "log": []},
        {"t": 0.1, "kind": "log", "server": 0, "inc": 1, "level": "INFO", "logger": "raft",
         "message": "S0 becomes candidate in term 1"},
        {"t": 0.1, "kind": "send", "server": 0, "inc": 1, "call": 1, "to": 1,
         "method": "request_vote", "bytes": 140, "data": "RequestVoteArgs(term=1, candidate_id=0)"},
        {"t": 0.1, "kind": "send", "server": 0, "inc": 1, "call": 2, "to": 2,
         "method": "request_vote", "bytes": 140, "data": None},
        {"t": 0.1005, "kind": "deliver", "server": 1, "inc": 1, "call": 1, "from": 0,
         "method": "request_vote"},
        {"t": 0.101, "kind": "reply", "server": 0, "inc": 1, "call": 1, "from": 1,
         "method": "request_vote", "bytes": 79,
         "data": "RequestVoteReply(term=1, vote_granted=True)"},
        {"t": 0.12, "kind": "lost", "server": 0, "inc": 1, "call": 2, "peer": 2,
         "method": "request_vote", "reason": "request dropped"},
        {"t": 0.12, "kind": "state", "server": 0, "inc": 1, "term": 1, "leader": True},
        {"t": 0.12, "kind": "inspect", "server": 0, "inc": 1, "role": "leader", "term": 1,
         "voted_for": None, "commit": 1, "applied": 1, "snapshot": 0, "log": [[1, 2], [3, 1]]},
        {"t": 0.12, "kind": "monitor", "server": 0, "inc": 1, "what": "leader",
         "detail": "leader in term 1"},
        {"t": 0.2, "kind": "apply", "server": 0, "inc": 1, "index": 1, "command": "101"},
        {"t": 0.2, "kind": "apply-snapshot", "server": 1, "inc": 1, "index": 9, "term": 1},
        {"t": 0.3, "kind": "link", "server": 1, "inc": 0, "to": 2, "blocked": True},
        {"t": 0.3, "kind": "disconnect", "server": 2, "inc": 1},
        {"t": 0.4, "kind": "crash", "server": 2, "inc": 1},
        {"t": 0.5, "kind": "start", "server": 2, "inc": 2},
        {"t": 0.5, "kind": "net", "server": -1, "inc": 0, "setting": "long_reordering",
         "value": True},
        {"t": 0.6, "kind": "check", "server": -1, "inc": 0, "what": "one",
         "detail": "101 -> index 1"},
        {"t": 0.7, "kind": "failure", "server": -1, "inc": 0, "message": "apply error: boom"},
    ]


def _script_json(page: str) -> Any:
    found = re.search(r'<script type="application/json" id="raftlab-data">(.*?)</script>',
                      page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_page_is_one_self_contained_file() -> None:
    page = timeline.render(_sample(), _meta())
    assert page.startswith("<!DOCTYPE html>")
    low = page.lower()
    assert "<script src" not in low and "<link" not in low and "@import" not in low
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", low)
    assert "http://" not in low and "https://" not in low
    assert "fetch(" not in page and "xmlhttprequest" not in low
    assert low.count("<script") == 2 and low.count("</script") == 2
    assert 'id="timeline-canvas"' in page
    page.encode("utf-8")  # strict: no lone surrogate anywhere


def test_embedded_data_round_trips_every_event() -> None:
    records = _sample()
    page = timeline.render(records, _meta())
    data = _script_json(page)
    assert data["n"] == len(records)
    back, meta = timeline.decode(page)
    assert back == records
    assert meta["test"] == "test_backup_2b" and meta["seed"] == 7
    assert meta["_servers"] == 3


def test_unsorted_records_come_back_sorted_by_time() -> None:
    records = _sample()
    shuffled = records[5:] + records[:5]
    back, _ = timeline.decode(timeline.render(shuffled, _meta()))
    assert [r["t"] for r in back] == sorted(r["t"] for r in records)
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, records))


def test_times_that_are_not_whole_microseconds_survive() -> None:
    records = [{"t": 0.1 + i * 1e-9 * 3, "kind": "start", "server": 0, "inc": 1} for i in range(3)]
    records.append({"t": 1 / 3, "kind": "crash", "server": 0, "inc": 1})
    back, _ = timeline.decode(timeline.render(records, _meta()))
    assert back == records


HOSTILE = [
    "</script><script>alert(1)</script>",
    "<!-- <script>",
    "</SCRIPT >x",
    "line\u2028sep\u2029par",
    "lone \udcff surrogate \ud800",
    "nul \x00 and \x1b escape",
    "<img src=x onerror=alert(1)> & \" '",
]


def test_hostile_strings_cannot_break_out_of_the_script() -> None:
    records: list[Rec] = []
    for i, s in enumerate(HOSTILE):
        t = 0.01 * i
        records += [
            {"t": t, "kind": "log", "server": 0, "inc": 1, "level": s, "logger": s, "message": s},
            {"t": t, "kind": "send", "server": 0, "inc": 1, "call": i, "to": 1, "method": s,
             "bytes": 1, "data": s},
            {"t": t, "kind": "check", "server": -1, "inc": 0, "what": s, "detail": s},
            {"t": t, "kind": s, "server": 1, "inc": 1, s: s},
        ]
    hostile = " ".join(HOSTILE)
    meta = _meta(test=hostile, title=hostile, failure=hostile, passed=False, failure_t=0.05,
                 replay=hostile, digest=hostile, impl=hostile, **{hostile: hostile})
    page = timeline.render(records, meta)
    raw = page.encode("utf-8")  # no lone surrogate made it out raw
    low = page.lower()
    # exactly the page's own two scripts and its style: nothing opened or closed early
    assert low.count("<script") == 2 and low.count("</script") == 2
    assert low.count("<style") == 1 and low.count("</style") == 1
    assert "<!--" not in page
    assert "\u2028" not in page and "\u2029" not in page
    assert b"\x00" not in raw
    assert "<img" not in low
    # the data, parsed back, holds the strings exactly, surrogates included
    back, back_meta = timeline.decode(page)
    assert back == records
    assert back_meta["failure"] == hostile and back_meta["_failure"] == hostile
    assert 'id="failure-marker"' in page


def test_unknown_kinds_and_odd_fields_are_tolerated() -> None:
    records: list[Rec] = [
        {"t": 0.0, "kind": "start", "server": 0, "inc": 1},
        {"t": 0.1, "kind": "mystery", "server": 0, "inc": 1, "foo": [1, {"a": None}]},
        {"t": 0.2, "kind": "send", "server": 0, "inc": 1, "call": 5},  # no to/method
        {"t": 0.3, "kind": "deliver", "server": 1, "inc": 1, "call": 99, "from": 0,
         "method": "ghost"},  # no matching send
        {"t": 0.4, "kind": "reply", "server": 7, "inc": 1, "call": 5, "from": "S1",
         "method": 3, "bytes": 1.5, "data": {"not": "a string"}},
        {"t": 0.5, "kind": "apply", "server": 0, "inc": 1, "index": True, "command": 12},
        {"t": 0.6, "kind": "inspect", "server": 0, "inc": 1, "role": None, "term": "3",
         "log": [[1, "x"]], "extra_field": 1},
        {"t": 0.7, "kind": "state", "server": 0, "inc": 1},
        {"t": 0.8, "kind": "net", "server": -1, "inc": 0, "setting": "reliable",
         "value": {"weird": True}},
        {"t": 0.9, "server": 0, "inc": 1},  # no kind
        {"t": 1.0, "kind": "log", "inc": 1, "message": "no server"},
        {"t": 1.1, "kind": "link", "server": None, "inc": None, "to": 1, "blocked": "yes"},
        {"t": 1.2, "kind": "failure", "server": -1, "inc": 0, "message": None},
        {"t": 1.3, "kind": "check", "server": -1, "inc": 0, "what": "x", "detail": 10**30},
    ]
    page = timeline.render(records, {})
    back, meta = timeline.decode(page)
    assert back == records
    assert meta["_servers"] == 8  # server 7 seen
    assert meta["_failed"] is True  # no meta: a failure record says it failed
    assert 'id="failure-marker"' in page


def test_records_without_a_valid_time_are_kept() -> None:
    records: list[Rec] = [
        {"t": 0.5, "kind": "start", "server": 0, "inc": 1},
        {"kind": "crash", "server": 0, "inc": 1},
        {"t": math.nan, "kind": "log", "server": 0, "inc": 1, "message": "nan"},
        {"t": "soon", "kind": "log", "server": 0, "inc": 1, "message": "str"},
        {"t": 0.7, "kind": "crash", "server": 0, "inc": 1},
    ]
    page = timeline.render(records, _meta())
    data = _script_json(page)
    assert data["n"] == 5
    back, _ = timeline.decode(page)
    assert [r.get("kind") for r in back] == [r.get("kind") for r in records]
    assert "t" not in back[1] and back[3]["t"] == "soon" and back[2]["t"] == "nan"


def test_failure_marker_only_for_a_failed_run() -> None:
    passed = timeline.render(_sample()[:-1], _meta())
    assert 'id="failure-marker"' not in passed
    _, meta = timeline.decode(passed)
    assert meta["_failed"] is False and meta["_failure"] is None

    failed = timeline.render(_sample(), _meta(passed=False, failure="apply error: boom",
                                              failure_t=0.7))
    assert failed.count('id="failure-marker"') == 1
    assert "apply error: boom" in failed  # in the banner, escaped text
    _, meta = timeline.decode(failed)
    assert meta["_failed"] is True
    assert meta["_failure"] == "apply error: boom" and meta["_failure_t"] == 0.7

    # no failure_t: the failure record's time
    _, meta = timeline.decode(timeline.render(_sample(), _meta(passed=False, failure="x")))
    assert meta["_failure_t"] == 0.7


def test_header_shows_the_run() -> None:
    page = timeline.render(_sample(), _meta())
    for text in ("test_backup_2b", "raftlab replay test_backup_2b --seed 7", "PASS", "abababab",
                 "Test (2B): leader backs up quickly"):
        assert text in page


def test_write_returns_the_bytes_written(tmp_path: Path) -> None:
    path = tmp_path / "t.html"
    n = timeline.write(path, _sample(), _meta())
    assert n == path.stat().st_size > 0
    assert timeline.decode(path.read_text(encoding="utf-8"))[0] == _sample()


def _synthetic(n: int, servers: int = 5) -> list[Rec]:
    """A busy run: a leader's AppendEntries to every follower, replies, applies."""
    records: list[Rec] = []
    t = 0.0
    call = 0
    index = 0
    while len(records) < n:
        t = round(t + 0.000731, 6)
        leader = (len(records) // 20000) % servers
        for peer in range(servers):
            if peer == leader:
                continue
            call += 1
            entries = "[]" if call % 3 else f"[t{leader + 1}×2]"
            records.append({"t": t, "kind": "send", "server": leader, "inc": 1, "call": call,
                            "to": peer, "method": "append_entries", "bytes": 180,
                            "data": f"AppendEntriesArgs(term={leader + 1}, leader_id={leader}, "
                                    f"prev_log_index={index}, prev_log_term={leader + 1}, "
                                    f"entries={entries}, leader_commit={index})"})
            records.append({"t": round(t + 0.0004, 6), "kind": "deliver", "server": peer,
                            "inc": 1, "call": call, "from": leader, "method": "append_entries"})
            if call % 50 == 0:
                records.append({"t": round(t + 0.0009, 6), "kind": "lost", "server": leader,
                                "inc": 1, "call": call, "peer": peer,
                                "method": "append_entries", "reason": "reply dropped"})
            else:
                records.append({"t": round(t + 0.0008, 6), "kind": "reply", "server": leader,
                                "inc": 1, "call": call, "from": peer,
                                "method": "append_entries", "bytes": 80,
                                "data": f"AppendEntriesReply(term={leader + 1}, success=True)"})
        index += 1
        for s in range(servers):
            records.append({"t": round(t + 0.0009, 6), "kind": "apply", "server": s, "inc": 1,
                            "index": index, "command": str(10**18 + index * 7919)})
    records.sort(key=lambda r: r["t"])
    return records[:n]


def test_fifty_thousand_events_render_compactly() -> None:
    records = _synthetic(50_000)
    start = time.perf_counter()
    page = timeline.render(records, _meta(servers=5))
    elapsed = time.perf_counter() - start
    data = _script_json(page)
    assert data["n"] == 50_000
    per_event = len(page.encode("utf-8")) / 50_000
    raw_per_event = sum(len(json.dumps(r)) + 1 for r in records) / 50_000
    assert per_event < 50, per_event          # about 35 bytes an event
    assert per_event < raw_per_event / 2.5    # far smaller than the JSON lines
    assert elapsed < 3.0
    back, _ = timeline.decode(page)
    assert back[::997] == records[::997]


def test_module_imports_no_harness_and_no_pytest() -> None:
    code = ("import sys, grader.timeline\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('harness', 'pytest', '_pytest')"
            " or m.startswith('grader.') and m != 'grader.timeline']\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[2])
