"""Rendering results with rich: tables, failure panels, per-server trace columns.

    render_results(console, results)          the per-test table (one seed or many)
    render_grade(console, results, grade)     points per test, per part, total
                                              (bonus parts apart: "100 + 10 bonus / 100")
    render_failures(console, results)         one panel per failing test
    failure_panel(record)                     what a student reads first
    to_text(renderable, width=100, ansi=True) a string, for golden tests and Gradescope

It takes plain results data (``grader.results``) and trace records (dicts)
only; it never imports the harness or pytest, so reports can be rendered from
a results JSON file anywhere.

The optional part (2E, ``results.OPTIONAL_PARTS``) is shown apart: its rows
come last, after a rule, and the summary counts it on a line of its own, so a
student who has not attempted it sees at once that the other parts pass.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import traceview
from .results import OPTIONAL_PARTS, PARTS, Results, TestRecord, TestSummary

KIND_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red",
              "harness-error": "yellow", "not-run": "dim"}
KIND_LABEL = {"passed": "passed", "failed": "FAILED", "error": "ERROR",
              "harness-error": "INTERNAL", "not-run": "not run"}
EVENT_STYLE = {"send": "cyan", "deliver": "blue", "reply": "green", "lost": "red",
               "apply": "magenta", "apply-snapshot": "magenta", "start": "bold yellow",
               "crash": "bold yellow", "connect": "yellow", "disconnect": "yellow",
               "link": "yellow", "net": "yellow", "check": "dim", "log": "white",
               "failure": "bold red", "monitor": "bold green"}


def _int(n: float) -> str:
    return f"{round(n):,}"


def _compact(n: float) -> str:
    """1234 -> "1,234"; 12345 -> "12k"; 12345678 -> "12.3M"."""
    if abs(n) >= 10_000_000:
        return f"{n / 1e6:.1f}M"
    if abs(n) >= 10_000:
        return f"{n / 1e3:.0f}k"
    return f"{n:,.0f}"


def _pm(mean: float, spread: float, fmt: str | None = None) -> str:
    """mean ±spread, compact; the spread is left out when it is zero."""
    show = fmt.format if fmt else _compact
    if show(spread) == show(0.0):
        return show(mean)
    return f"{show(mean)}±{show(spread)}"


def results_table(results: Results, *, title: str | None = None) -> Table:
    """The per-test table; with several seeds per test, dstest-style aggregates."""
    groups = results.by_test()
    multi = any(len(recs) > 1 for recs in groups.values())
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", collapse_padding=True,
                  pad_edge=False)
    table.add_column("test", no_wrap=True)
    for header in ("part", "passed" if multi else "result", "virtual s", "wall s", "peers",
                   "RPCs", "bytes", "commits"):
        table.add_column(header, justify="left" if header in ("part", "result") else "right",
                         no_wrap=True, min_width=len(header))
    last = "failing seeds" if multi else "seed"
    table.add_column(last, justify="right", min_width=len(last), overflow="fold")
    rows: list[TestSummary | TestRecord] = [
        *(results.test_summaries() if multi else [recs[0] for recs in groups.values()])]
    for i, row in enumerate(rows):
        if row.part in OPTIONAL_PARTS and i > 0 and rows[i - 1].part not in OPTIONAL_PARTS:
            table.add_section()  # the optional part apart, after the others
        if isinstance(row, TestSummary):
            _multi_row(table, row)
        else:
            _single_row(table, row)
    return table


def _single_row(table: Table, r: TestRecord) -> None:
    table.add_row(r.name, r.part, Text(KIND_LABEL[r.kind], style=KIND_STYLE[r.kind]),
                  f"{r.sim_time:.1f}", f"{r.wall_time:.2f}", str(r.peers or ""),
                  _int(r.rpcs), _int(r.bytes), _int(r.commits), str(r.seed))


def _multi_row(table: Table, s: TestSummary) -> None:
    style = "green" if s.all_passed else "bold red"
    passed = Text(f"{s.passes}/{s.runs}", style=style)
    if s.harness_errors:
        passed.append(f" +{s.harness_errors}!", style="yellow")
    seeds = ", ".join(map(str, s.failing_seeds[:8])) + (" …" if len(s.failing_seeds) > 8 else "")
    m, d = s.mean, s.spread
    table.add_row(s.name, s.part, passed, _pm(m["sim_time"], d["sim_time"], "{:.1f}"),
                  _pm(m["wall_time"], d["wall_time"], "{:.2f}"),
                  f"{m['peers']:.0f}" if m["peers"] else "", _pm(m["rpcs"], d["rpcs"]),
                  _pm(m["bytes"], d["bytes"]), _pm(m["commits"], d["commits"]),
                  Text(seeds, style="red") if seeds else "")


def _counts(text: Text, records: Sequence[TestRecord]) -> None:
    """"30 passed, 2 failed of 32 runs": kinds that occur, in a fixed order."""
    count = {kind: sum(r.kind == kind for r in records) for kind in KIND_STYLE}
    text.append(f"{count['passed']} passed", style="green")
    for kind, one, many in (("failed", "failed", "failed"), ("error", "error", "errors"),
                            ("harness-error", "internal error", "internal errors"),
                            ("not-run", "not run", "not run")):
        if count[kind]:
            text.append(f", {count[kind]} {one if count[kind] == 1 else many}",
                        style=KIND_STYLE[kind])
    text.append(f" of {len(records)} runs")


def part_span(parts: Iterable[str]) -> str:
    """["2A", "2B", "2C", "2D"] -> "2A-2D"; ["2A", "2C"] -> "2A, 2C"."""
    chosen = sorted(set(parts), key=lambda p: PARTS.index(p) if p in PARTS else len(PARTS))
    known = [p for p in chosen if p in PARTS]
    if len(known) == len(chosen) > 2 and \
            PARTS.index(known[-1]) - PARTS.index(known[0]) == len(known) - 1:
        return f"{known[0]}-{known[-1]}"
    return ", ".join(chosen)


def summary_line(results: Results) -> Text:
    """Counts of runs by outcome; when the optional part ran, a line each for it and
    for the other parts, so that its failures are not mistaken for theirs."""
    s = results.summary()
    text = Text()
    _counts(text, results.tests)
    text.append(f" ({s['tests']} tests)")
    if results.interrupted:
        text.append("; interrupted (Ctrl-C or SIGTERM): the rest were not run", style="yellow")
    elif results.timed_out:
        text.append("; the global time budget ran out", style="yellow")
    optional = [r for r in results.tests if r.part in OPTIONAL_PARTS]
    if optional:
        others = [r for r in results.tests if r.part not in OPTIONAL_PARTS]
        if others:
            parts = {r.part for r in others}
            text.append(f"\n  {'part' if len(parts) == 1 else 'parts'} {part_span(parts)}: ")
            _counts(text, others)
        text.append(f"\n  optional part {part_span(r.part for r in optional)} "
                    "(a bonus in the default rubric): ")
        _counts(text, optional)
    return text


def _points(score: float, top: float, bonus: float = 0.0, bonus_max: float = 0.0) -> str:
    """"95.00 / 100.00"; with bonus points available, "95.00 + 10.00 bonus / 100.00"."""
    if bonus_max:
        return f"{score - bonus:.2f} + {bonus:.2f} bonus / {top:.2f}"
    return f"{score:.2f} / {top:.2f}"


def grade_table(grade: dict[str, Any]) -> Table:
    """Points per test, per part and in total. Bonus parts (``bonus`` in the grade)
    say so in their rows, and the total shows their points apart, on top of the
    maximum: "100.00 + 10.00 bonus / 100.00"."""
    table = Table(box=box.SIMPLE_HEAD, title="Grade", title_justify="left")
    table.add_column("test", no_wrap=True)
    table.add_column("part")
    table.add_column("points", justify="right")
    table.add_column("runs", justify="right")
    table.add_column("failing seeds", justify="right")
    for t in grade["tests"]:
        style = "green" if t["status"] == "passed" else "bold red"
        note = f" (+{t['ungraded_runs']} not graded)" if t["ungraded_runs"] else ""
        table.add_row(t["name"], t["part"] + (" (bonus)" if t.get("bonus") else ""),
                      Text(f"{t['score']:.2f} / {t['max_score']:.2f}", style=style),
                      f"{t['passes']}/{t['runs']}{note}",
                      ", ".join(map(str, t["failing_seeds"])))
    table.add_section()
    for part, v in grade["parts"].items():
        bonus = " (bonus)" if v.get("bonus") else ""
        table.add_row(f"part {part}{bonus}", part, _points(v["score"], v["max"]), "", "")
    table.add_row(Text("total", style="bold"), "",
                  Text(_points(grade["total"], grade["max"], grade.get("bonus", 0.0),
                               grade.get("bonus_max", 0.0)), style="bold"), "", "")
    return table


SERVER_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan")


def trace_lines(records: Sequence[dict[str, Any]]) -> Group:
    """Events one per line, the server as a coloured prefix: reads at 100 columns
    whatever the number of servers (lines longer than the console are cut with
    an ellipsis; ``raftlab replay --full`` prints them whole)."""
    lines = []
    for rec in records:
        server = rec.get("server", -1)
        style = SERVER_STYLES[server % len(SERVER_STYLES)] if server >= 0 else "bold"
        line = Text(f"{rec.get('t', 0.0):8.4f} ", style="dim", no_wrap=True,
                    overflow="ellipsis")
        line.append(f"{traceview.who(rec):>6} ", style=style)
        line.append(traceview.describe(rec), style=EVENT_STYLE.get(rec.get("kind", ""), ""))
        lines.append(line)
    return Group(*lines)


def trace_columns(records: Sequence[dict[str, Any]]) -> Table:
    """Events in per-server columns (as dslogs -c does), with virtual times."""
    servers = sorted({r.get("server", -1) for r in records if r.get("server", -1) >= 0})
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, expand=True)
    table.add_column("time", justify="right", no_wrap=True, style="dim")
    table.add_column("tester", ratio=2)
    for s in servers:
        table.add_column(f"S{s}", ratio=2)
    for rec in records:
        cells: list[RenderableType] = [""] * (len(servers) + 1)
        server = rec.get("server", -1)
        column = servers.index(server) + 1 if server in servers else 0
        label = traceview.describe(rec)
        if rec.get("inc") and rec.get("kind") not in ("start",):
            label = f"#{rec['inc']} {label}"
        cells[column] = Text(label, style=EVENT_STYLE.get(rec.get("kind", ""), ""))
        table.add_row(f"{rec.get('t', 0.0):.4f}", *cells)
    return table


def failure_panel(r: TestRecord) -> Panel:
    """A failed run: MIT's message, where, the seed, how to replay, the trace tail."""
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"{KIND_LABEL[r.kind]} ", style=KIND_STYLE[r.kind])
    head.append(f"at {r.sim_time:.3f} s of virtual time, seed {r.seed}")
    parts.append(head)
    parts.append(Text(f"  {r.message or ''}", style="bold"))
    if r.where:
        parts.append(Text(f"  in {r.where}"))
    if r.line:
        parts.append(Text(f"  test was at {r.line}", style="dim"))
    if r.kind == "harness-error":
        parts.append(Text("  This is raftlab's fault, not yours: it costs no points. Please "
                          "report it with the replay command below.", style="yellow"))
    if r.replay:
        parts.append(Text.assemble("\nReplay exactly:  ", (r.replay, "bold cyan")))
        if r.timeline:
            parts.append(Text.assemble("See it drawn:    ", (r.timeline, "bold cyan"),
                                       " (open it in a browser)"))
        elif r.kind != "harness-error":
            parts.append(Text.assemble("See it drawn:    ", (f"{r.replay} --html run.html",
                                                             "cyan"),
                                       ", then open run.html in a browser"))
    if r.details:
        parts.append(Text("\n" + r.details.rstrip(), style="dim"))
    if r.trace_tail:
        parts.append(Text("\nLast events of each server (virtual seconds):"))
        parts.append(trace_lines(r.trace_tail))
    part = f"{r.part}, optional" if r.part in OPTIONAL_PARTS else r.part
    title = f"{r.name} ({part})" + (f" — {r.description}" if r.description else "")
    return Panel(Group(*parts), title=title, title_align="left", border_style=KIND_STYLE[r.kind])


def first_failures(results: Results) -> list[TestRecord]:
    """The first failing run of each test (the lowest seed)."""
    out = []
    for recs in results.by_test().values():
        bad = [r for r in recs if r.kind in ("failed", "error", "harness-error")]
        if bad:
            out.append(bad[0])
    return out


def print_table(console: Console, table: Table) -> None:
    """A table whole: in a terminal at its width; piped (``| tee``, CI logs), at the
    table's own width, so that no column (the failing seeds) is cut."""
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
    console.print(table, width=max(console.width, natural))


def render_results(console: Console, results: Results, *, title: str | None = None) -> None:
    if results.load_error:
        console.print(Panel(Text(results.load_error, style="bold red"),
                            title="cannot load the implementation", border_style="red"))
    print_table(console, results_table(results, title=title))
    console.print(summary_line(results))


def render_failures(console: Console, results: Results, *, limit: int | None = None) -> None:
    failures = first_failures(results)
    for r in failures[:limit]:
        console.print(failure_panel(r))
    if limit is not None and len(failures) > limit:
        console.print(Text(f"... and {len(failures) - limit} more failing tests "
                           "(see the JSON results)", style="dim"))


def render_grade(console: Console, grade: dict[str, Any]) -> None:
    print_table(console, grade_table(grade))


def to_text(renderables: RenderableType | Iterable[RenderableType], *, width: int = 100,
            ansi: bool = True) -> str:
    """Render to a string: ANSI colours for Gradescope, plain for golden tests."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=ansi, color_system=(
        "standard" if ansi else None), no_color=not ansi, legacy_windows=False,
        emoji=False, highlight=False)
    items = [renderables] if isinstance(renderables, (str, Text, Table, Panel, Group)) else \
        list(renderables)  # type: ignore[arg-type]
    for item in items:
        console.print(item)
    return buffer.getvalue()
