"""An interactive HTML timeline of one run: a single self-contained page.

    page = render(records, meta)     # the whole page, a str
    nbytes = write(path, records, meta)
    records, meta = decode(page)     # the embedded data back (tests, tools)

``records`` are plain trace records (``{"t", "kind", "server", "inc", ...}``,
see ``harness.TRACE_KINDS``, ``state`` and ``inspect`` included), ordered by
time; ``meta`` describes the run (test, title, seed, impl, servers, passed,
failure, failure_t, digest, sim_time, replay, raftlab; any key may be missing).
This module takes plain data only: it imports nothing of the harness, of
pytest or of the rest of the grader. The page needs no network at all (no
CDN, no font, no fetch): its script and style are read from
``timeline_assets/`` and inlined, so it opens from a file:// URL or a download.

What the page shows
-------------------
* A header: the test and its title, PASS/FAIL, seed, implementation, servers,
  virtual time, events, digest, raftlab's version and the replay command (with
  a copy button); a failed run adds a red banner with the failure's message and
  time. Then a legend and a toolbar (buttons, filters, what is in view).
* An overview strip of the whole run (event density, the failure, the window
  in view: click or drag in it to move there), then the time axis.
* The tester's lane: the network settings as bands (unreliable, long
  reordering, long delays) and the tester's steps (``check`` records) as ticks
  with labels ("one → [12]", "check_one_leader 1", "crash1" ...).
* One lane per server, S0 .. Sn-1. The bar in its middle is coloured by role:
  leader (green) when ``state.leader`` is true, otherwise "follower / not
  leader" (blue-grey); with ``inspect`` records follower, candidate,
  pre-candidate or leader as the student's code says. Without either, the
  leader's spans are inferred from the monitor's "leader in term N" to the
  server's last AppendEntries before its next leadership or crash (hatched,
  "leader?"), and the rest is "role unknown" (grey). Term changes are ticks with
  "T3" labels, and a thin strip under the bar takes the term's colour (the same
  colours as the log cells below). The gutter tells the role, term and
  incarnation at the left edge of the view.
* A start is a green triangle, labelled S2#2 (the incarnation) when the server
  has several lives; a crash is a red cross; a dead server's lane is dark and
  hatched from its crash to its next start. A disconnected server's lane is
  shaded red; one-way link cuts (``link`` records, which partitions are made
  of) shade it orange, labelled with the peers it cannot send to (↛) and hear
  from (↚).
* Above the bar: the student's own log lines (dots coloured by level: grey
  DEBUG, blue INFO, orange WARNING, red ERROR) and the monitors' observations
  (gold stars). Below it: applies (green ticks) and snapshots (purple
  diamonds), and step lines of the applied index (green) and, with
  ``inspect``, the commit index (blue) and the last log index (grey dashes),
  on a scale of 0 to the run's highest index.
* RPCs as arrows from the sender's bar at the send time to the callee's at the
  delivery (its handler runs), and the reply's arrow back to the caller.
  Colour by method: RequestVote orange, AppendEntries blue (pale for
  heartbeats, "entries=[]"), InstallSnapshot purple, others grey. A request or
  reply that was dropped is dashed red, ending with an X just short of the lane
  it did not reach, where the caller gave up (at most 18 px on; hover for the
  times); "server dead" is dark, its X on the dead lane; "unreachable" and
  "disconnected" (partitions) are pale red dots. A leg that took more than
  100 ms (long delays, long reordering) is magenta: late. A request still in
  flight when the trace ends is a short dotted stub.
* The failure: a red vertical line over every lane at the failure time,
  labelled "failure" (the element ``#failure-marker``), and a red X on the
  tester's lane (or the server's) for the ``failure`` record.

How to read it
--------------
Hover anything for details: an arrow gives its method, call id, sender and
callee with incarnations, the send, delivery and reply times with latencies,
the arguments and the reply (``data``), and why it was lost; a tick gives its
event; a lane gives the server's state at that time (incarnation, role, term,
applied index; with ``inspect`` also voted_for, commit, snapshot and the log's
terms) and the log lines and monitor notes within 8 pixels of the cursor.
Click (without dragging) to pin a time: the detail panel under the timeline
shows every server at that time, its state, its log as cells coloured by term,
aligned by index across servers, with the snapshot greyed, the commit index as
a black bar and the applied prefix underlined green (with ``inspect``), and
its last five events. The page opens pinned at the failure, or at the end.

Wheel zooms around the cursor (a horizontal wheel pans), dragging pans,
shift+drag zooms to a range, double-click zooms in. Buttons and keys: fit all
(0 or F), zoom to the failure (X: the last 40 events or so before it), zoom
(+/-), pan (arrows). Checkboxes filter servers (lanes), each RPC method,
heartbeats, replies, lost RPCs, applies, index lines, log lines, monitors, the
tester's steps and the shading.

How it stays responsive
-----------------------
The data is columnar (see ``_encode``): times as integer deltas, a string
table, and per kind one array per field, so a page costs about 35 to 70 bytes
an event (plus about 90 kB of script and style), against 150 to 200 for the
JSON lines. The script turns it into typed arrays sorted by time and pairs the
legs of each RPC by call id, once. Then each frame (requestAnimationFrame,
only when something changed) draws the visible time window only: binary
searches find the first and last event of each sorted series in view, RPCs
through a prefix maximum of their end times. Level of detail: RPCs are drawn
one by one, in this order of priority, while their legs fit a budget of a third
of the plot's width in pixels: dropped or dead, RequestVote and
InstallSnapshot, late, unreachable, other methods, AppendEntries with entries,
heartbeats; the classes that do not fit are aggregated into density bins of
8 pixels per sender/callee lane pair (one faint slanted stroke each, darker
for more RPCs, red-tinted when some were lost). Dense ticks collapse to one per
pixel column, step lines to one step per pixel. Hover hit-testing looks up a
spatial grid of what the last frame drew, never every event. A run of
60,000 events loads in about a second and redraws in a few milliseconds.
``window.raftlabTimeline`` gives ``ready``, ``lanes``, ``events``, ``arrows``
(the arrows drawn in the first, fit-all view, a bin counting as one, so it
depends on the window's width), ``failure`` and ``errors``.

Safety: the data is JSON inside ``<script type="application/json">`` with
every ``<`` (and U+2028/U+2029) escaped as ``\\u003c``, and lone surrogates
escaped, so no string of a trace (log messages, arguments, the failure) can
end the script, open a comment or make the file invalid UTF-8; the header's
text is HTML-escaped, and the script only ever sets text, never HTML.
Unknown kinds are drawn as grey squares with their raw fields on hover;
fields of an unexpected type or missing are kept (``decode`` gives them back).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeGuard

__all__ = ["decode", "render", "write"]

FORMAT: Final = 1
"""Version of the embedded data's layout."""

_ASSETS: Final = Path(__file__).parent / "timeline_assets"

# Per known kind: its fields and how each is stored in its column.
#   i: an int          d: an int, stored as the delta to the previous row's
#   s: a str, as an index into the string table
#   b: a bool, as 0/1  j: any JSON value, as the index of its JSON text
#   r: a list of [int, int] pairs (inspect's run-length encoded log)
# A value of another type (or None) is kept in the row's extras instead, and
# its column holds null; null with no extras entry means the field is absent.
_SCHEMA: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "send": (("call", "d"), ("to", "i"), ("method", "s"), ("bytes", "i"), ("data", "s")),
    "deliver": (("call", "d"), ("from", "i"), ("method", "s")),
    "reply": (("call", "d"), ("from", "i"), ("method", "s"), ("bytes", "i"), ("data", "s")),
    "lost": (("call", "d"), ("peer", "i"), ("method", "s"), ("reason", "s")),
    "apply": (("index", "d"), ("command", "s")),
    "apply-snapshot": (("index", "i"), ("term", "i")),
    "start": (),
    "crash": (),
    "connect": (),
    "disconnect": (),
    "link": (("to", "i"), ("blocked", "b")),
    "net": (("setting", "s"), ("value", "j")),
    "check": (("what", "s"), ("detail", "s")),
    "log": (("level", "s"), ("logger", "s"), ("message", "s")),
    "failure": (("message", "s"),),
    "monitor": (("what", "s"), ("detail", "s")),
    "state": (("term", "i"), ("leader", "b")),
    "inspect": (("role", "s"), ("term", "i"), ("voted_for", "i"), ("commit", "i"),
                ("applied", "i"), ("snapshot", "i"), ("log", "r")),
}

_BASE: Final = ("t", "kind", "server", "inc")
_ABSENT: Final = "!absent"   # extras key: base fields the record did not have
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_DATA_RE: Final = re.compile(
    r'<script type="application/json" id="raftlab-data">(.*?)</script>', re.S)


class _Strings:
    """The string table: each distinct string once, referred to by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []

    def __call__(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.items)
            self.items.append(s)
        return i


def _jsonable(value: Any) -> Any:
    """``value`` made plain JSON (NaN and infinities as strings, others by repr)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _is_int(v: Any) -> TypeGuard[int]:
    return type(v) is int


def _is_time(v: Any) -> TypeGuard[float]:
    return type(v) in (int, float) and math.isfinite(v)


def _time_scale(times: Sequence[float]) -> int:
    """The smallest of 10^3, 10^6, 10^9 at which every time is an exact integer
    (so the page stores integers and decode gives the very same floats), or 0:
    store the floats themselves."""
    for scale in (1_000, 1_000_000, 1_000_000_000):
        if all(abs(t) * scale < 2**53 and round(t * scale) / scale == t for t in times):
            return scale
    return 0


def _encode(records: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The page's data: columnar, with a string table.

    ``t``: times, as integer deltas at ``tscale`` (floats when tscale is 0);
    ``k``: kind (index into ``kinds``); ``s``: server; ``i``: incarnation;
    ``cols[kind][field]``: that kind's rows, in order; ``x``: sparse extras,
    ``[event, string index of a JSON object]`` for what the columns could not
    hold (unknown kinds' fields, unexpected types, None, absent base fields).
    Events are sorted by time (stably; a record without a valid time takes
    its predecessor's)."""
    strings = _Strings()
    prepared: list[tuple[float, int, Mapping[str, Any]]] = []
    last_t = 0.0
    for n, rec in enumerate(records):
        t = rec.get("t")
        if _is_time(t):
            last_t = float(t)
        prepared.append((last_t, n, rec))
    if any(prepared[j][0] < prepared[j - 1][0] for j in range(1, len(prepared))):
        prepared.sort(key=lambda p: (p[0], p[1]))
    times = [p[0] for p in prepared]
    scale = _time_scale(times)

    kinds: list[str] = []
    kind_index: dict[str, int] = {}
    col_t: list[float | int] = []
    col_k: list[int] = []
    col_s: list[int] = []
    col_i: list[int] = []
    cols: dict[str, dict[str, list[Any]]] = {}
    prev: dict[tuple[str, str], int] = {}
    extras: list[list[int]] = []
    prev_scaled = 0
    for n, (t, _, rec) in enumerate(prepared):
        extra: dict[str, Any] = {}
        absent: list[str] = []
        if scale:
            scaled = round(t * scale)
            col_t.append(scaled - prev_scaled)
            prev_scaled = scaled
        else:
            col_t.append(t)
        raw_t = rec.get("t")
        if "t" not in rec:
            absent.append("t")
        elif not _is_time(raw_t) or raw_t != t:
            extra["t"] = raw_t
        kind = rec.get("kind")
        if "kind" not in rec:
            absent.append("kind")
        if not isinstance(kind, str):
            if "kind" in rec:
                extra["kind"] = kind
            kind = "?"
        if kind not in kind_index:
            kind_index[kind] = len(kinds)
            kinds.append(kind)
        col_k.append(kind_index[kind])
        for name, column, default in (("server", col_s, -1), ("inc", col_i, 0)):
            value = rec.get(name)
            if _is_int(value) and abs(value) < 2**31:
                column.append(value)
            else:
                column.append(default)
                if name in rec:
                    extra[name] = value
                else:
                    absent.append(name)
        schema = _SCHEMA.get(kind, ())
        table = cols.setdefault(kind, {name: [] for name, _ in schema}) if schema else {}
        for name, typ in schema:
            value = rec.get(name)
            stored: Any = None
            if name not in rec:
                pass
            elif typ in "id" and _is_int(value) and abs(value) < 2**53:
                if typ == "d":
                    stored = value - prev.get((kind, name), 0)
                    prev[kind, name] = value
                else:
                    stored = value
            elif typ == "s" and isinstance(value, str):
                stored = strings(value)
            elif typ == "b" and type(value) is bool:
                stored = int(value)
            elif typ == "j":
                stored = strings(_dumps(value))
            elif typ == "r" and isinstance(value, list) and all(
                    isinstance(p, list) and len(p) == 2 and all(_is_int(x) for x in p)
                    for p in value):
                stored = value
            if stored is None and name in rec:
                extra[name] = value
            table[name].append(stored)
        known = set(_BASE).union(name for name, _ in schema)
        for key, value in rec.items():
            if key not in known:
                extra[str(key)] = value
        if absent:
            extra[_ABSENT] = absent
        if extra:
            extras.append([n, strings(_dumps(extra))])

    return {
        "format": FORMAT,
        "n": len(prepared),
        "tscale": scale,
        "kinds": kinds,
        "strings": strings.items,
        "t": col_t, "k": col_k, "s": col_s, "i": col_i,
        "schema": {kind: _SCHEMA[kind] for kind in cols},
        "cols": cols,
        "x": extras,
        "meta": _page_meta(prepared, meta),
    }


def _page_meta(prepared: Sequence[tuple[float, int, Mapping[str, Any]]],
               meta: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` made plain JSON, plus what the page needs worked out: whether it
    failed, the failure's message and time, the number of servers."""
    out: dict[str, Any] = {str(k): _jsonable(v) for k, v in meta.items()}
    first_failure = next((rec for _, _, rec in prepared if rec.get("kind") == "failure"), None)
    passed = meta.get("passed")
    message = meta.get("failure")
    if not isinstance(message, str) or not message:
        message = first_failure.get("message") if first_failure is not None else None
        if not isinstance(message, str):
            message = None
    failed = (not passed) if isinstance(passed, bool) else (message is not None
                                                              or first_failure is not None)
    failure_t = meta.get("failure_t")
    if not _is_time(failure_t):
        failure_t = None
        if first_failure is not None and _is_time(first_failure.get("t")):
            failure_t = first_failure.get("t")
        elif failed and prepared:
            failure_t = prepared[-1][0]
    servers = meta.get("servers")
    most = -1
    for _, _, rec in prepared:
        for key in ("server", "to", "from", "peer"):
            value = rec.get(key)
            if _is_int(value) and value > most:
                most = value
    nservers = max(servers if _is_int(servers) and 0 <= servers <= 1000 else 0,
                   min(most + 1, 1000))
    out["_failed"] = failed
    out["_failure"] = (message or "the run failed") if failed else None
    out["_failure_t"] = failure_t if failed else None
    out["_servers"] = nservers
    return out


def _json_for_script(data: Any) -> str:
    """JSON that is safe inside a <script> element: no ``<`` (so no ``</script>``
    and no ``<!--``), no raw U+2028/U+2029, no lone surrogates (not UTF-8)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _text(value: Any) -> str:
    """Plain text for the header, HTML-escaped (lone surrogates and control
    characters replaced)."""
    s = value if isinstance(value, str) else str(value)
    s = s.encode("utf-8", "replace").decode("utf-8")
    return html.escape(_CONTROL.sub("\ufffd", s))


def _asset(name: str) -> str:
    """An asset's text, inlined. The script loses its indentation and its
    whole-line ``//`` comments (lines stay lines: no change of meaning)."""
    text = (_ASSETS / name).read_text(encoding="utf-8")
    if name.endswith(".js"):
        lines = (line.strip() for line in text.splitlines())
        text = "\n".join(line for line in lines if line and not line.startswith("//"))
    low = text.lower()
    if "</script" in low or "</style" in low or "<!--" in low:
        raise ValueError(f"timeline asset {name} would end its element early")
    return text


def _fmt_time(t: Any) -> str:
    return f"{t:.6f}".rstrip("0").rstrip(".") + " s" if _is_time(t) else "?"


def _header(data: Mapping[str, Any]) -> str:
    meta: Mapping[str, Any] = data["meta"]
    failed = bool(meta["_failed"])
    test = meta.get("test") or "trace"
    title = meta.get("title")
    badge = ('<span class="badge fail">FAIL</span>' if failed
             else '<span class="badge pass">PASS</span>' if meta.get("passed") is True
             else '<span class="badge">?</span>')
    facts = []
    for label, key in (("seed", "seed"), ("impl", "impl"), ("servers", "_servers")):
        if meta.get(key) is not None:
            facts.append(f'<span><b>{label}</b> {_text(meta[key])}</span>')
    if _is_time(meta.get("sim_time")):
        facts.append(f'<span><b>virtual time</b> {_text(_fmt_time(meta["sim_time"]))}</span>')
    facts.append(f'<span><b>events</b> {data["n"]:,}</span>')
    digest = meta.get("digest")
    if isinstance(digest, str) and digest:
        facts.append(f'<span title="{_text(digest)}"><b>digest</b> '
                     f'<code>{_text(digest[:16])}{"…" if len(digest) > 16 else ""}</code></span>')
    if meta.get("raftlab") is not None:
        facts.append(f'<span><b>raftlab</b> {_text(meta["raftlab"])}</span>')
    parts = [
        '<header id="tl-header">',
        f'<h1>{badge} <span class="test">{_text(test)}</span>'
        + (f' <span class="title">{_text(title)}</span>' if title else "") + "</h1>",
        '<div class="facts">' + "".join(facts) + "</div>",
    ]
    replay = meta.get("replay")
    if isinstance(replay, str) and replay:
        parts.append('<div class="replay"><b>replay</b> <code id="tl-replay">'
                     f'{_text(replay)}</code> '
                     '<button type="button" id="tl-copy">copy</button></div>')
    if failed:
        parts.append(
            '<div id="tl-failure" class="failure-banner"><b>Failure at '
            f'{_text(_fmt_time(meta.get("_failure_t")))}</b> '
            '<button type="button" id="tl-failure-zoom">zoom to failure</button>'
            f'<pre>{_text(meta.get("_failure") or "")}</pre></div>')
    parts.append("</header>")
    return "\n".join(parts)


def _arrow(cls: str, label: str) -> str:
    line = f'<line x1="2" y1="10" x2="30" y2="2" class="{cls}"/>'
    if cls == "a-lost":
        line = ('<line x1="2" y1="10" x2="24" y2="4" class="a-lost"/>'
                '<path d="M21 1l6 6M27 1l-6 6" class="a-lost x"/>')
    return f'<span><svg width="34" height="12">{line}</svg>{label}</span>'


_LEGEND: Final = "\n".join([
    '<details id="tl-legend" open><summary>Legend</summary><div class="legend">',
    *(f'<span><i class="sw {cls}"></i>{label}</span>' for cls, label in (
        ("role-leader", "leader"), ("role-candidate", "candidate"),
        ("role-precandidate", "pre-candidate"), ("role-follower", "follower / not leader"),
        ("role-unknown", "role unknown"), ("role-inferred", "leader (inferred)"),
        ("dead", "dead (crashed)"), ("disc", "disconnected"),
        ("cut", "link cut (↛ cannot send to, ↚ cannot hear from)"))),
    *(_arrow(cls, label) for cls, label in (
        ("a-rv", "RequestVote"), ("a-ae", "AppendEntries"), ("a-hb", "heartbeat"),
        ("a-is", "InstallSnapshot"), ("a-late", "late (&gt;100 ms)"),
        ("a-lost", "lost (X: caller gave up)"), ("a-cut", "unreachable"),
        ("a-bin", "many RPCs (density bin)"))),
    *(f'<span><i class="mk {cls}">{glyph}</i>{label}</span>' for cls, glyph, label in (
        ("apply", "", "apply"), ("snap", "", "snapshot"), ("log", "", "log line"),
        ("star", "★", "monitor"), ("start", "▶", "start S#inc"), ("crash", "✕", "crash"))),
    *(f'<span><i class="ln {cls}"></i>{label}</span>' for cls, label in (
        ("applied", "applied index"), ("commit", "commit index"),
        ("loglen", "last log index"))),
    '<span class="keys">wheel: zoom · drag: pan · shift+drag: zoom to a range · '
    "click: pin a time · keys 0 fit, x failure, +/- zoom, ←/→ pan · hover for details</span>",
    "</div></details>",
])


def render(records: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """The whole self-contained HTML page for ``records`` of a run described by
    ``meta`` (see the module docstring)."""
    data = _encode(records, meta)
    m = data["meta"]
    name = m.get("test") or "trace"
    verdict = "FAIL" if m["_failed"] else "PASS" if m.get("passed") is True else "?"
    marker = ('<div id="failure-marker" title="failure"></div>' if m["_failed"] else "")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(verdict)} {_text(name)} (seed {_text(m.get('seed', '?'))})"
        " - raftlab timeline</title>",
        "<style>", _asset("timeline.css"), "</style>",
        "</head><body>",
        _header(data),
        _LEGEND,
        '<div id="tl-toolbar"></div>',
        '<div id="tl-main"><canvas id="timeline-canvas"></canvas>'
        '<canvas id="tl-overlay"></canvas>' + marker + '<div id="tl-tip" hidden></div></div>',
        '<section id="tl-detail"></section>',
        '<noscript><p class="noscript">The timeline needs JavaScript (no network access: '
        "everything is in this file).</p></noscript>",
        '<script type="application/json" id="raftlab-data">' + _json_for_script(data)
        + "</script>",
        "<script>", _asset("timeline.js"), "</script>",
        "</body></html>",
        "",
    ])


def write(path: str | Path, records: Sequence[Mapping[str, Any]],
          meta: Mapping[str, Any]) -> int:
    """Write the page to ``path`` (UTF-8); returns the number of bytes written."""
    raw = render(records, meta).encode("utf-8")
    Path(path).write_bytes(raw)
    return len(raw)


def decode(page: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The records and meta embedded in a page made by :func:`render` (records
    sorted by time; meta with the page's own ``_failed``, ``_failure``,
    ``_failure_t`` and ``_servers``)."""
    found = _DATA_RE.search(page)
    if found is None:
        raise ValueError("no raftlab timeline data in this page")
    data = json.loads(found.group(1))
    strings: list[str] = data["strings"]
    extras = {n: json.loads(strings[j]) for n, j in data["x"]}
    scale = data["tscale"]
    rows: dict[str, int] = {}
    prev: dict[tuple[str, str], int] = {}
    records: list[dict[str, Any]] = []
    acc = 0
    for n in range(data["n"]):
        if scale:
            acc += data["t"][n]
            t: float = acc / scale
        else:
            t = data["t"][n]
        kind = data["kinds"][data["k"][n]]
        rec: dict[str, Any] = {"t": t, "kind": kind, "server": data["s"][n],
                               "inc": data["i"][n]}
        row = rows.get(kind, 0)
        rows[kind] = row + 1
        for name, typ in _SCHEMA.get(kind, ()):
            value = data["cols"][kind][name][row]
            if value is None:
                continue
            if typ == "d":
                value += prev.get((kind, name), 0)
                prev[kind, name] = value
            elif typ == "s":
                value = strings[value]
            elif typ == "b":
                value = bool(value)
            elif typ == "j":
                value = json.loads(strings[value])
            rec[name] = value
        extra = extras.get(n)
        if extra is not None:
            for key in extra.pop(_ABSENT, ()):
                rec.pop(key, None)
            rec.update(extra)
        records.append(rec)
    return records, data["meta"]
