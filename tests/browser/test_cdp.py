"""The headless-Chromium driver itself (tests/browser/cdp.py), on tiny pages."""

from __future__ import annotations

import os
import signal
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.cdp import (
    Browser,
    BrowserDied,
    CDPError,
    CDPTimeout,
    JSError,
    Page,
    descendants,
)

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def page_of(browser: Browser, tmp_path: Path) -> Iterator[Callable[[str], Page]]:
    """Open a page made of an HTML body, in the shared browser."""
    opened: list[Page] = []

    def make(body: str) -> Page:
        path = tmp_path / f"page{len(opened)}.html"
        path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head>"
                        f"<body>{body}</body></html>", encoding="utf-8")
        opened.append(browser.open(path.as_uri()))
        return opened[-1]

    yield make
    for page in opened:
        page.close()


def session_processes(sid: int) -> list[tuple[int, str, int]]:
    """(pid, state, ppid) of every process in session ``sid``, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            found.append((int(entry), fields[0], int(fields[1])))
    return found


def test_console_error_is_caught(page_of: Callable[[str], Page]) -> None:
    page = page_of("<script>console.log('fine', 1); console.error('bad', {n: 2});"
                   "console.assert(1 === 2, 'one is not two')</script>")
    page.browser.idle(0.1)
    assert {"type": "log", "text": "fine 1"}.items() <= page.console[0].items()
    errors = page.errors()
    assert len(errors) == 2, errors
    assert errors[0].startswith("console.error: bad"), errors
    assert "one is not two" in errors[1], errors


def test_uncaught_exceptions_and_rejections_are_caught(page_of: Callable[[str], Page]) -> None:
    page = page_of("<script>Promise.reject(new Error('nobody waits for me'));"
                   "function draw() { throw new TypeError('boom'); } draw();</script>")
    page.browser.idle(0.1)
    assert len(page.exceptions) == 2, page.exceptions
    text = "\n".join(page.errors())
    assert "TypeError: boom" in text and "at draw" in text, text
    assert "nobody waits for me" in text, text


def test_failed_resource_load_is_an_error(page_of: Callable[[str], Page]) -> None:
    page = page_of("<img src='no-such-image.png'>")
    page.browser.idle(0.1)
    assert any("ERR_FILE_NOT_FOUND" in e and "no-such-image.png" in e
               for e in page.errors()), page.log_entries


def test_a_clean_page_has_no_errors(page_of: Callable[[str], Page]) -> None:
    page = page_of("<p>quiet</p><script>console.log('hello'); console.warn('careful')</script>")
    page.browser.idle(0.1)
    assert page.errors() == []
    assert [c["type"] for c in page.console] == ["log", "warning"]


def test_evaluate_returns_values(page_of: Callable[[str], Page]) -> None:
    page = page_of("<p id='p'>hi</p>")
    assert page.evaluate("1 + 2") == 3
    assert page.evaluate("document.getElementById('p').textContent") == "hi"
    assert page.evaluate("({a: [1, 'x', null], b: true})") == {"a": [1, "x", None], "b": True}
    assert page.evaluate("undefined") is None
    assert page.evaluate("new Promise(r => setTimeout(() => r('later'), 50))") == "later"
    assert page.evaluate("2n ** 70n") == 2 ** 70
    assert page.evaluate("[innerWidth, innerHeight]") == [1600, 1000]


def test_evaluate_raises_what_the_expression_throws(page_of: Callable[[str], Page]) -> None:
    page = page_of("")
    with pytest.raises(JSError, match="nope"):
        page.evaluate("(() => { throw new Error('nope') })()")
    with pytest.raises(JSError, match="ReferenceError"):
        page.evaluate("noSuchName")
    assert page.exceptions == []  # an evaluate's exception is not the page's


def test_wait_for_returns_the_value_once_truthy(page_of: Callable[[str], Page]) -> None:
    page = page_of("<script>let frames = 0; (function tick() { if (++frames < 10) "
                   "requestAnimationFrame(tick); else window.ready = {frames}; })()</script>")
    assert page.wait_for("window.ready", timeout=5) == {"frames": 10}  # rAF runs headless


def test_wait_for_times_out_with_a_clear_error(page_of: Callable[[str], Page]) -> None:
    page = page_of("<script>console.error('the page broke')</script>")
    started = time.monotonic()
    with pytest.raises(CDPTimeout) as caught:
        page.wait_for("window.neverSet", timeout=0.5)
    assert 0.4 < time.monotonic() - started < 3
    message = str(caught.value)
    assert "window.neverSet" in message and "0.5 s" in message, message
    assert "the page broke" in message, message  # the page's errors, as a hint


def test_screenshot_is_a_png(page_of: Callable[[str], Page], tmp_path: Path) -> None:
    page = page_of("<div style='width:300px;height:200px;background:#c00'></div>")
    out = page.screenshot(tmp_path / "shots" / "red.png")
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 100
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert (width, height) == (1600, 1000)
    tall = page_of("<div style='height:2500px'>tall</div>")
    width, height = struct.unpack(">II", tall.screenshot(tmp_path / "tall.png",
                                                         full_page=True).read_bytes()[16:24])
    assert height >= 2500


def test_navigating_to_a_missing_file_fails(browser: Browser, tmp_path: Path) -> None:
    with pytest.raises(CDPError, match="ERR_FILE_NOT_FOUND"):
        browser.open((tmp_path / "missing.html").as_uri())


def test_closing_leaves_no_process_and_no_folder(chromium: str, tmp_path: Path) -> None:
    page_file = tmp_path / "p.html"
    page_file.write_text("<p>x</p>", encoding="utf-8")
    with Browser(chromium) as b:
        b.open(page_file.as_uri())
        assert b.pid is not None
        sid, folder, pids = b.pid, b.tmp, [b.pid, *descendants(b.pid)]
        assert len(pids) >= 3  # the reaper, Chromium and its helpers
    assert session_processes(sid) == []  # none alive, no zombie either
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    assert not folder.exists()
    assert b.returncode == 0
    b.close()  # idempotent


def test_a_hung_browser_times_out_and_is_killed(chromium: str) -> None:
    b = Browser(chromium, timeout=1.0, close_timeout=0.5)
    assert b.pid is not None
    pids = [b.pid, *descendants(b.pid)]
    os.killpg(b.pid, signal.SIGSTOP)  # it hangs: stops reading its pipe
    try:
        with pytest.raises(CDPTimeout, match=r"timed out waiting for the answer to "
                                             r"Browser.getVersion \(timeout 1 s\)"):
            b.call("Browser.getVersion")
    finally:
        b.close()  # Browser.close goes unread: SIGKILL for all, after 0.5 s
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    assert b.returncode == 128 + signal.SIGKILL  # Chromium's status, as the reaper saw it
    assert not b.tmp.exists()


def test_a_dead_browser_is_reported(chromium: str) -> None:
    with Browser(chromium) as b:
        assert b.pid is not None
        main = next(pid for pid, _, ppid in session_processes(b.pid) if ppid == b.pid)
        os.kill(main, signal.SIGKILL)
        with pytest.raises(BrowserDied, match=r"Chromium exited \(killed by SIGKILL\)"):
            b.call("Browser.getVersion", timeout=10)
        sid = b.pid
    assert session_processes(sid) == []
