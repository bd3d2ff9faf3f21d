"""raftlab's HTML timeline (``raftlab replay TEST --seed N --html FILE``) in headless Chromium.

Three real runs, made with the CLI as a student makes them (in parallel, in a
session fixture), each opened in Chromium:

  passing   test_initial_election_2a, seed 1, the reference: passes
  failing   test_re_election_2a, seed 1, zoo mutant E7b (keeps voted_for when
            adopting a newer term): fails, deterministically, "expected one
            leader, got none"
  longest   test_snapshot_install_unreliable_2d, seed 1, the reference: the 2D
            test with the most trace events (5,553 when measured, with the
            inspect records --html adds, 4,055 without; the other 2D tests
            543-5,265)

Each run also writes its trace (``--jsonl``), to check the page against it.
The page's contract (grader/timeline.py): once drawn it sets
``window.raftlabTimeline = {ready, lanes, events, arrows, failure, errors}``;
``#failure-marker`` exists if and only if the run failed; the main canvas is
``#timeline-canvas``. Checked per page: no console error, uncaught exception or
failed load; ready; a lane per server (3 in all three tests); events and RPC
arrows drawn; the canvas not blank; nothing loaded from outside the file; the
failure marker and message iff the run failed.

Screenshots and ``timelines.json`` (per page: HTML size, trace events, time
from navigation start to ready, ...) go to a temporary folder, printed (``-s``),
and are copied to ``$RAFTLAB_SCREENSHOTS`` when it is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader.mutants import MUTANTS, build_source
from grader.zoo import first_reference
from tests.browser.cdp import Browser

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CLI: list[str] = [sys.executable, "-m", "grader.cli"]  # the `raftlab` console script
MUTANT = "E7b"
REPLAY_TIMEOUT = 180.0  # seconds per replay: a generous cap, they take about 1 s
READY_TIMEOUT = 30.0    # seconds for a page to draw itself


@dataclass(frozen=True)
class Run:
    name: str
    test: str
    impl: str           # "reference" or "mutant"
    servers: int        # from the test's source (make_config(servers, ...))
    fails: bool
    seed: int = 1


RUNS = (
    Run("passing", "test_initial_election_2a", "reference", servers=3, fails=False),
    Run("failing", "test_re_election_2a", "mutant", servers=3, fails=True),
    Run("longest", "test_snapshot_install_unreliable_2d", "reference", servers=3, fails=False),
)


@dataclass
class Timeline:
    run: Run
    html: Path
    trace: list[dict[str, Any]]
    replay_seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


# Runs in every document before its own scripts: stamps the moment (ms since
# navigation start) raftlabTimeline.ready is first seen true, then the end of
# the next frame (the first one painted once ready).
READY_STAMP = """
(() => {
  const look = () => {
    const t = window.raftlabTimeline;
    if (t && t.ready === true) {
      window.__raftlabReadyAt = performance.now();
      requestAnimationFrame(() => setTimeout(() => {
        window.__raftlabPaintedAt = performance.now();
      }, 0));
      return;
    }
    setTimeout(look, 1);
  };
  look();
})();
"""

PAGE_FACTS = """
(() => {
  const canvas = document.getElementById('timeline-canvas');
  let colours = null;
  if (canvas && canvas.width && canvas.height && canvas.getContext) {
    try {
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const seen = new Set();
      for (let i = 0; i < pixels.length && seen.size < 50; i += 4 * 97) {
        seen.add(pixels[i] << 24 | pixels[i + 1] << 16 | pixels[i + 2] << 8 | pixels[i + 3]);
      }
      colours = seen.size;
    } catch (e) { colours = null; }  // not a 2d canvas, or tainted: not checked
  }
  const marker = document.getElementById('failure-marker');
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    canvas: canvas ? {tag: canvas.tagName, width: canvas.width, height: canvas.height,
                      shown: canvas.getClientRects().length > 0} : null,
    colours,
    marker: marker ? {text: marker.textContent.trim(),
                      shown: marker.getClientRects().length > 0} : null,
    external: performance.getEntriesByType('resource').map(r => r.name)
                .filter(n => !n.startsWith('data:') && !n.startsWith('blob:')),
    readyAt: window.__raftlabReadyAt ?? null,
    paintedAt: window.__raftlabPaintedAt ?? null,
    domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
    loadEvent: nav ? nav.loadEventEnd : null,
  };
})()
"""


def _mutant_source() -> str:
    chosen = [m for m in MUTANTS if m.id == MUTANT]
    assert chosen, f"zoo mutant {MUTANT} is gone from grader/mutants.py: pick another 2A " \
                   "mutant that fails test_re_election_2a on seed 1"
    return build_source(chosen[0], first_reference().path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def timelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Timeline]:
    """The three runs' timelines, made by `raftlab replay ... --html` in parallel."""
    folder = tmp_path_factory.mktemp("timelines")
    mutant = folder / "mutant_raft.py"
    mutant.write_text(_mutant_source(), encoding="utf-8")
    started: dict[str, tuple[subprocess.Popen[str], float, list[str]]] = {}
    for run in RUNS:
        impl = str(mutant) if run.impl == "mutant" else run.impl
        args = ["replay", run.test, "--seed", str(run.seed), "--impl", impl,
                "--jsonl", str(folder / f"{run.name}.jsonl"),
                "--html", str(folder / f"{run.name}.html")]
        process = subprocess.Popen([*CLI, *args], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        started[run.name] = (process, time.monotonic(), args)
    made: dict[str, Timeline] = {}
    problems: list[str] = []
    for run in RUNS:
        process, t0, args = started[run.name]
        try:
            output, _ = process.communicate(timeout=REPLAY_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            problems.append(f"raftlab {' '.join(args)} took over {REPLAY_TIMEOUT:g} s")
            continue
        seconds = time.monotonic() - t0
        expected = 1 if run.fails else 0
        html = folder / f"{run.name}.html"
        if process.returncode == 2 and "unrecognized arguments: --html" in output:
            problems.append("raftlab replay does not accept --html FILE (exit 2: "
                            "'unrecognized arguments'): these tests open the timelines it "
                            "writes")
        elif process.returncode != expected:
            problems.append(f"raftlab {' '.join(args)} exited {process.returncode}, expected "
                            f"{expected} ({'a failing' if run.fails else 'a passing'} run):\n"
                            f"{output[-1500:]}")
        elif not html.is_file() or html.stat().st_size == 0:
            problems.append(f"raftlab {' '.join(args)} exited {process.returncode} but wrote "
                            f"no HTML at {html}:\n{output[-800:]}")
        else:
            trace_path = folder / f"{run.name}.jsonl"
            trace = [json.loads(line) for line in
                     trace_path.read_text(encoding="utf-8").splitlines()]
            made[run.name] = Timeline(run, html, trace, seconds)
    if problems:
        pytest.fail("\n\n".join(dict.fromkeys(problems)), pytrace=False)
    return made


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots and timelines.json go (copied to $RAFTLAB_SCREENSHOTS)."""
    return tmp_path_factory.mktemp("screenshots")


def _publish(shots: Path, timeline: Timeline) -> None:
    """Add this page's figures to timelines.json; copy everything out if asked."""
    summary = shots / "timelines.json"
    data = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else {}
    data[timeline.run.name] = {**asdict(timeline.run), **timeline.metrics}
    summary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    target = os.environ.get("RAFTLAB_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for path in (summary, shots / f"{timeline.run.name}.png"):
            shutil.copy2(path, Path(target) / path.name)


@pytest.mark.parametrize("run", RUNS, ids=[r.name for r in RUNS])
def test_timeline_page(run: Run, browser: Browser, timelines: dict[str, Timeline],
                       shots: Path) -> None:
    timeline = timelines[run.name]
    trace = timeline.trace
    failures = [r for r in trace if r.get("kind") == "failure"]
    assert bool(failures) == run.fails, f"the trace of {run.name} has failure records " \
                                        f"{failures}; expected {'some' if run.fails else 'none'}"
    servers = {r["server"] for r in trace if isinstance(r.get("server"), int)
               and r["server"] >= 0}
    assert len(servers) == run.servers, f"{run.test} ran servers {sorted(servers)}"

    started = time.monotonic()
    page = browser.open(timeline.html.as_uri(), init_scripts=[READY_STAMP])
    try:
        state = page.wait_for("window.raftlabTimeline && window.raftlabTimeline.ready === true"
                              " && window.raftlabTimeline", timeout=READY_TIMEOUT)
        wall = time.monotonic() - started
        page.wait_for("window.__raftlabPaintedAt !== undefined", timeout=5)
        facts = page.evaluate(PAGE_FACTS)
        browser.idle(0.2)  # an error right after ready still counts
        png = page.screenshot(shots / f"{run.name}.png")
        errors = page.errors()
    finally:
        page.close()

    timeline.metrics = {
        "html": str(timeline.html), "html_bytes": timeline.html.stat().st_size,
        "trace_events": len(trace), "replay_seconds": round(timeline.replay_seconds, 2),
        "ready_ms": facts["readyAt"] and round(facts["readyAt"], 1),
        "painted_ms": facts["paintedAt"] and round(facts["paintedAt"], 1),
        "dom_content_loaded_ms": facts["domContentLoaded"] and round(
            facts["domContentLoaded"], 1),
        "load_event_ms": facts["loadEvent"] and round(facts["loadEvent"], 1),
        "open_to_ready_seconds": round(wall, 3),
        "page": {k: state.get(k) for k in ("lanes", "events", "arrows", "failure")},
        "screenshot": str(png), "screenshot_bytes": png.stat().st_size,
    }
    _publish(shots, timeline)
    print(f"\n{run.name}: {run.test} seed {run.seed} ({run.impl}): "
          f"{timeline.metrics['html_bytes']:,} bytes of HTML, {len(trace):,} trace events, "
          f"ready {timeline.metrics['ready_ms']} ms after navigation start, first frame "
          f"painted at {timeline.metrics['painted_ms']} ms "
          f"({wall:.2f} s from open), screenshot {png}")

    assert errors == [], f"{run.name}: the page logged errors:\n" + "\n".join(errors)
    assert state.get("errors") == [], f"the page reports errors: {state.get('errors')}"
    assert state["lanes"] == run.servers, f"{state['lanes']} lanes for {run.servers} servers"
    assert 0 < state["events"] <= len(trace), \
        f"the page loaded {state['events']} events of the trace's {len(trace)}"
    assert state["arrows"] > 0, "no RPC arrow drawn in the initial view"
    assert facts["external"] == [], f"the page is not self-contained: it loaded " \
                                    f"{facts['external']}"
    canvas = facts["canvas"]
    assert canvas is not None and canvas["tag"] == "CANVAS", "no <canvas id=timeline-canvas>"
    assert canvas["width"] > 0 and canvas["height"] > 0 and canvas["shown"], canvas
    assert facts["colours"] is None or facts["colours"] > 2, "the canvas looks blank"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 0

    marker = facts["marker"]
    if run.fails:
        message = failures[-1]["message"]
        assert marker is not None, "a failing run's page has no #failure-marker"
        assert marker["shown"], "#failure-marker is not displayed"
        assert state["failure"], "raftlabTimeline.failure is empty for a failing run"
        assert message in f"{state['failure']}\n{marker['text']}", \
            f"the page does not say the failure {message!r}: failure={state['failure']!r}, " \
            f"marker={marker['text']!r}"
    else:
        assert marker is None, f"a passing run's page has a #failure-marker: {marker}"
        assert state["failure"] is None, f"a passing run's failure is {state['failure']!r}"
