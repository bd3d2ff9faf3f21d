"""A small headless-Chromium driver over the Chrome DevTools Protocol (CDP).

Standard library only: no playwright, selenium or websockets. Chromium is
started with ``--remote-debugging-pipe``: it reads protocol commands from its
file descriptor 3 and writes responses and events to its descriptor 4, each
message one JSON object followed by a NUL byte.

Usage::

    from tests.browser.cdp import Browser, find_chromium

    with Browser(find_chromium()) as browser:          # CDPError if it cannot start
        page = browser.open(path.as_uri())             # returns after the load event
        page.wait_for("window.app && window.app.ready", timeout=10)
        count = page.evaluate("document.querySelectorAll('li').length")
        page.screenshot(tmp_path / "page.png")
        assert page.errors() == [], page.errors()

What a :class:`Page` records from the moment it exists (before its navigation,
so nothing the page does while loading is missed):

  console      ``Runtime.consoleAPICalled``: ``{"type", "text", "url", "line"}``
               (type: "log", "error", "warning", "assert", ...)
  exceptions   ``Runtime.exceptionThrown``: uncaught exceptions and unhandled
               promise rejections, as text with their stack
  log_entries  ``Log.entryAdded``: ``{"level", "source", "text", "url"}``, e.g.
               "Failed to load resource: net::ERR_FILE_NOT_FOUND"

:meth:`Page.errors` gathers every error among them (console ``error`` and
``assert``, every exception, log entries of level ``error``), one string each.
:meth:`Page.evaluate` runs an expression in the page (promises awaited) and
returns its value as JSON carries it; an exception in it raises
:class:`JSError` and is not counted in ``exceptions``. :meth:`Page.wait_for`
polls an expression until it is truthy. ``Browser.open(url, init_scripts=...)``
runs scripts in the page before its own (to timestamp something, say). Each
page gets a ``window_size`` viewport at device scale 1, focused, so that
``requestAnimationFrame`` runs as in a visible tab.

Deadlines: every call has one (``Browser(timeout=...)`` by default, or the
call's own ``timeout``). A browser that stops answering raises
:class:`CDPTimeout`, one that dies raises :class:`BrowserDied`; both name the
command and end with the tail of Chromium's stderr (its harmless D-Bus
complaints left out). Nothing blocks without a deadline: the pipe is read with
``select()`` and written without blocking. Events that arrive while a call
waits for its response are dispatched to their page (flat sessions:
``Target.attachToTarget(flatten=True)``; an event names its ``sessionId``).

Processes: Chromium is not our direct child. ``subprocess`` starts a small
reaper (this Python, ``-I -S``, the code in ``_REAPER``) in a new session with
the two pipe ends passed by number (``pass_fds``); the reaper moves them to 3
and 4 (``subprocess`` itself can only remap 0-2, and a ``preexec_fn`` would run
Python in a forked child of a threaded pytest), makes itself the child
subreaper (Linux ``prctl``), starts Chromium and reaps every process until none
is left. Chromium exits before its zygote helpers do: without the reaper they
would become zombies of PID 1, which in a container may never reap them.
stdin is /dev/null; stdout and stderr go to ``stderr.log`` in the browser's
temporary folder, beside the profile.

Closing (``close()``, or leaving the ``with`` block; idempotent, never raises):
``Browser.close`` over the pipe, then up to ``close_timeout`` seconds for the
reaper to report that every process is gone; past that, SIGKILL to every
descendant of the reaper, which reaps them and exits (past ``close_timeout``
again, SIGKILL to the whole process group, the reaper included). The reaper,
the group's leader, stays unreaped until then, so neither the group id nor its
descendants' pids can have been reused. Then the temporary folder is removed.
If the Python process dies without closing, Chromium sees its pipe close and
exits by itself (the reaper with it); only the temporary folder stays behind.

Launch flags: :data:`DEFAULT_FLAGS` (headless, no sandbox since the tests run
as root, no GPU, no network services, ``/tmp`` instead of ``/dev/shm`` for
shared memory since a container's ``/dev/shm`` may be 64 MB), then
``--window-size``, ``--user-data-dir`` (a fresh temporary profile) and
``extra_flags``. Debian's build starts two crashpad handlers whatever the flags
(``--disable-crashpad-for-testing`` stops them but makes the network service
crash in a loop, "FD ownership violation"); they make their own sessions, so
the forced kill goes by descendants of the reaper, not only by process group.
``XDG_CONFIG_HOME`` and ``XDG_CACHE_HOME`` point into the temporary folder, so
their crash database (default ``~/.config/chromium/Crash Reports``) and any
cache go away with it.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_FLAGS", "Browser", "BrowserDied", "CDPError", "CDPTimeout", "JSError",
           "Page", "descendants", "find_chromium"]

DEFAULT_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",             # we run as root: Chromium's sandbox refuses root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",       # no crash reporter (older builds; crashpad still starts)
    "--disable-dev-shm-usage",  # shared memory in /tmp: a container's /dev/shm may be tiny
    "--mute-audio",
    "--remote-debugging-pipe",
)

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
              "google-chrome-stable")
"""Where :func:`find_chromium` looks, in order, after ``$RAFTLAB_CHROMIUM``."""

STDERR_TAIL = 2000  # characters of Chromium's stderr quoted in an error
NOISE = ("dbus/", "/run/dbus", "DBus")  # stderr lines left out of error messages

_REAPER = r"""
import ctypes, fcntl, os, signal, sys
given = [int(sys.argv[1]), int(sys.argv[2])]
moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in given]
os.dup2(moved[0], 3)
os.dup2(moved[1], 4)
for fd in set(given + moved) - {3, 4}:
    os.close(fd)
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except (OSError, AttributeError):
    pass
pid = os.posix_spawn(sys.argv[3], sys.argv[3:], os.environ,
                     setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
os.close(3)
os.close(4)
code = 1
while True:
    try:
        done, status = os.wait()
    except ChildProcessError:
        break
    if done == pid:
        code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


class CDPError(RuntimeError):
    """The browser refused a command, or could not be started."""


class CDPTimeout(CDPError):
    """The browser did not answer in time (or a wait_for condition never held)."""


class BrowserDied(CDPError):
    """The browser process exited or closed its pipe, or the page crashed."""


class JSError(CDPError):
    """An expression given to :meth:`Page.evaluate` threw."""


def find_chromium() -> str | None:
    """The Chromium executable: ``$RAFTLAB_CHROMIUM``, else the first of
    :data:`CANDIDATES` that exists (None if none does)."""
    explicit = os.environ.get("RAFTLAB_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def descendants(root: int) -> list[int]:
    """The pids of every live descendant of ``root`` (Linux ``/proc``; [] elsewhere)."""
    parents: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue  # it just exited
                parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    found: list[int] = []
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found += sorted(frontier)
    return found


def _remote_value(obj: dict[str, Any]) -> Any:
    """The Python value of a CDP RemoteObject returned by value."""
    if "value" in obj:
        return obj["value"]
    special = obj.get("unserializableValue")
    if special is not None:
        return int(special[:-1]) if special.endswith("n") else float(special)  # BigInt, NaN...
    return None  # undefined, or a value with no JSON form


def _describe(obj: dict[str, Any]) -> str:
    """A console argument as text, as the DevTools console shows it."""
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return str(obj.get("unserializableValue") or obj.get("description") or obj.get("type", ""))


class Browser:
    """A headless Chromium process driven over its DevTools pipe."""

    def __init__(self, executable: str | None = None, *, timeout: float = 30.0,
                 startup_timeout: float = 30.0, close_timeout: float = 5.0,
                 window_size: tuple[int, int] = (1600, 1000),
                 extra_flags: Sequence[str] = ()) -> None:
        exe = executable or find_chromium()
        if not exe:
            raise CDPError("Chromium not found (set RAFTLAB_CHROMIUM, or install chromium)")
        self.executable = exe
        self.timeout = timeout
        self.close_timeout = close_timeout
        self.window_size = window_size
        self.tmp = Path(tempfile.mkdtemp(prefix="raftlab-chromium-"))
        self.stderr_path = self.tmp / "stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.version: dict[str, Any] = {}
        self._pages: dict[str, Page] = {}
        self._responses: dict[int, dict[str, Any]] = {}
        self._next_id = 0
        self._buffer = bytearray()
        self._eof = False
        self._closed = False
        self._read_fd = self._write_fd = -1
        try:
            self._spawn([exe, *DEFAULT_FLAGS, f"--window-size={window_size[0]},{window_size[1]}",
                         f"--user-data-dir={self.tmp / 'profile'}", *extra_flags, "about:blank"])
            self.version = self.call("Browser.getVersion", timeout=startup_timeout)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """The reaper's pid: the id of the session and process group of every
        browser process."""
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        """Chromium's exit status once closed, 128 + N if signal N killed it
        (None while it runs)."""
        return self.process.returncode if self.process else None

    # ------------------------------------------------------------ process

    def _spawn(self, argv: list[str]) -> None:
        commands_r, commands_w = os.pipe()   # we write, Chromium reads on its fd 3
        events_r, events_w = os.pipe()       # Chromium writes on its fd 4, we read
        try:
            with open(self.stderr_path, "wb") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _REAPER, str(commands_r),
                     str(events_w), *argv],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(commands_r, events_w), start_new_session=True,
                    env={**os.environ, "XDG_CONFIG_HOME": str(self.tmp / "config"),
                         "XDG_CACHE_HOME": str(self.tmp / "cache")})
        except BaseException:
            for fd in (commands_w, events_r):
                os.close(fd)
            raise
        finally:
            for fd in (commands_r, events_w):
                os.close(fd)
        self._write_fd, self._read_fd = commands_w, events_r
        os.set_blocking(self._write_fd, False)
        os.set_blocking(self._read_fd, False)

    def stderr_tail(self, chars: int = STDERR_TAIL) -> str:
        """The end of Chromium's stderr so far, without its D-Bus noise."""
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        lines = [line for line in text.splitlines() if not any(n in line for n in NOISE)]
        return "\n".join(lines)[-chars:]

    def _explain(self, message: str) -> str:
        tail = self.stderr_tail().strip()
        return f"{message}\n--- Chromium stderr (tail) ---\n{tail}" if tail else message

    # ------------------------------------------------------------ protocol

    def send(self, method: str, params: dict[str, Any] | None = None,
             session_id: str | None = None, *, timeout: float | None = None) -> int:
        """Send a command without waiting for its response; returns its id."""
        if self._closed or self._write_fd < 0:
            raise CDPError(f"{method}: the browser is closed")
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        data = json.dumps(message).encode() + b"\0"
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CDPTimeout(self._explain(f"Chromium did not read the command {method}"))
            _, writable, _ = select.select([], [self._write_fd], [], remaining)
            if not writable:
                continue
            try:
                data = data[os.write(self._write_fd, data):]
            except BlockingIOError:
                continue
            except OSError as e:  # BrokenPipeError: it exited
                raise BrowserDied(self._explain(f"Chromium closed its pipe ({e}) while "
                                                f"sending {method}")) from None
        return self._next_id

    def call(self, method: str, params: dict[str, Any] | None = None,
             session_id: str | None = None, *, timeout: float | None = None) -> dict[str, Any]:
        """Send a command and return its result; events that arrive meanwhile
        are dispatched. CDPError if the browser answers with an error."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        call_id = self.send(method, params, session_id, timeout=limit)
        self.pump(lambda: call_id in self._responses, deadline,
                  what=f"the answer to {method} (timeout {limit:g} s)")
        response = self._responses.pop(call_id)
        if "error" in response:
            error = response["error"]
            raise CDPError(f"{method} failed: {error.get('message')} "
                           f"{error.get('data', '')}".rstrip())
        result: dict[str, Any] = response.get("result", {})
        return result

    def pump(self, done: Callable[[], bool], deadline: float, *, what: str) -> None:
        """Read and dispatch messages until ``done()`` holds. CDPTimeout at the
        deadline (``time.monotonic()``), BrowserDied if the pipe closes; ``what``
        completes their messages ("timed out waiting for <what>")."""
        while not done():
            if self._eof:
                raise BrowserDied(self._explain(f"Chromium exited ({self._exit_note()}) while "
                                                f"waiting for {what}"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CDPTimeout(self._explain(f"timed out waiting for {what}"))
            readable, _, _ = select.select([self._read_fd], [], [], remaining)
            if readable:
                self._read_available()

    def _exit_note(self) -> str:
        """How the browser ended, once its pipe closed."""
        if self.process is None:
            return "not started"
        try:
            code = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return "still running"
        if code > 128:  # the reaper's status for a signal
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(code - 128).name}"
        return f"exit status {code}"

    def idle(self, seconds: float) -> None:
        """Dispatch whatever arrives during ``seconds``."""
        deadline = time.monotonic() + seconds
        while not self._eof and (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self._read_fd], [], [], remaining)
            if readable:
                self._read_available()

    def _read_available(self) -> None:
        try:
            chunk = os.read(self._read_fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            chunk = b""
        if not chunk:
            self._eof = True
            return
        start = len(self._buffer)  # the bytes before it hold no NUL
        self._buffer += chunk
        while (end := self._buffer.find(b"\0", start)) >= 0:
            raw = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            start = 0
            if raw.strip():
                self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            self._responses[message["id"]] = message
            return
        params = message.get("params", {})
        page = self._pages.get(message.get("sessionId", ""))
        if page is not None:
            page._on_event(message.get("method", ""), params)
        elif message.get("method") == "Target.detachedFromTarget":
            detached = self._pages.get(params.get("sessionId", ""))
            if detached is not None and not detached.gone:
                detached.gone = "detached from its target"

    # ------------------------------------------------------------ pages

    def open(self, url: str, *, timeout: float | None = None,
             init_scripts: Sequence[str] = ()) -> Page:
        """A new tab showing ``url``; returns once its load event fired.
        ``init_scripts`` run in every document of the tab before its own scripts."""
        limit = self.timeout if timeout is None else timeout
        target_id = self.call("Target.createTarget", {"url": "about:blank"},
                              timeout=limit)["targetId"]
        session_id = self.call("Target.attachToTarget", {"targetId": target_id,
                                                         "flatten": True},
                               timeout=limit)["sessionId"]
        page = Page(self, target_id, session_id)
        self._pages[session_id] = page
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable", timeout=limit)
        width, height = self.window_size
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  timeout=limit)
        page.call("Emulation.setFocusEmulationEnabled", {"enabled": True}, timeout=limit)
        for script in init_scripts:
            page.call("Page.addScriptToEvaluateOnNewDocument", {"source": script},
                      timeout=limit)
        page.navigate(url, timeout=limit)
        return page

    # ------------------------------------------------------------ closing

    def close(self) -> None:
        """Stop the browser and every helper process, reap them all and remove
        the temporary folder. Idempotent; never raises."""
        if self._closed:
            return
        try:
            process = self.process
            if process is not None and process.poll() is None:
                if not self._eof:
                    with contextlib.suppress(CDPError, OSError):
                        self.send("Browser.close", timeout=1.0)
                self._closed = True
                try:
                    process.wait(timeout=self.close_timeout)
                except subprocess.TimeoutExpired:
                    self._kill(process)
        finally:
            self._closed = True
            for fd in (self._read_fd, self._write_fd):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._read_fd = self._write_fd = -1
            for _ in range(3):  # a dying helper may still write into the profile
                shutil.rmtree(self.tmp, ignore_errors=True)
                if not self.tmp.exists():
                    break
                time.sleep(0.1)

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL every descendant of the reaper (a helper that made its own
        session is one too), let the reaper reap them and exit; past
        ``close_timeout``, SIGKILL the whole group, the reaper included. The
        reaper is unreaped all along, so no pid or group id here can have been
        reused."""
        for _ in range(2):  # a process started while the first round ran
            for pid in descendants(process.pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(process.pid, signal.SIGCONT)  # in case it was stopped
        try:
            process.wait(timeout=self.close_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=self.close_timeout)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One tab, attached in its own flat session."""

    def __init__(self, browser: Browser, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.console: list[dict[str, Any]] = []
        self.exceptions: list[str] = []
        self.log_entries: list[dict[str, Any]] = []
        self.gone: str | None = None  # why the page can no longer be used
        self._loads = 0

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             timeout: float | None = None) -> dict[str, Any]:
        """A CDP command in this page's session."""
        if self.gone:
            raise BrowserDied(f"{method}: the page is gone ({self.gone})")
        return self.browser.call(method, params, self.session_id, timeout=timeout)

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled":
            frame = ((params.get("stackTrace") or {}).get("callFrames") or [{}])[0]
            self.console.append({
                "type": params.get("type", ""),
                "text": " ".join(_describe(a) for a in params.get("args", [])),
                "url": frame.get("url", ""),
                "line": frame.get("lineNumber", -1) + 1,
            })
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = ((details.get("exception") or {}).get("description")
                    or details.get("text", "exception"))
            if details.get("url"):
                text += f" (at {details['url']}:{details.get('lineNumber', -1) + 1})"
            self.exceptions.append(text)
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.log_entries.append({k: entry.get(k, "") for k in
                                     ("level", "source", "text", "url")})
        elif method == "Page.loadEventFired":
            self._loads += 1
        elif method == "Inspector.targetCrashed":
            self.gone = "its renderer crashed"
        elif method == "Inspector.detached":
            self.gone = f"detached: {params.get('reason', '')}"

    def navigate(self, url: str, *, timeout: float | None = None) -> None:
        """Go to ``url`` and wait for its load event."""
        limit = self.browser.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        before = self._loads
        result = self.call("Page.navigate", {"url": url}, timeout=limit)
        if result.get("errorText"):
            raise CDPError(f"cannot load {url}: {result['errorText']}")
        self.browser.pump(lambda: self._loads > before or bool(self.gone), deadline,
                          what=f"the load event of {url} (timeout {limit:g} s)")
        if self.gone:
            raise BrowserDied(f"{url}: the page is gone ({self.gone})")

    def evaluate(self, js: str, *, timeout: float | None = None) -> Any:
        """The value of a JavaScript expression (promises awaited) as JSON
        carries it; JSError if it throws."""
        result = self.call("Runtime.evaluate", {"expression": js, "returnByValue": True,
                                                "awaitPromise": True}, timeout=timeout)
        details = result.get("exceptionDetails")
        if details:
            exception = details.get("exception") or {}
            raise JSError(f"{js!r} threw: "
                          f"{exception.get('description') or details.get('text', '')}")
        return _remote_value(result.get("result", {}))

    def wait_for(self, js: str, timeout: float = 10.0, *, interval: float = 0.02) -> Any:
        """Evaluate ``js`` until its value is truthy and return that value;
        CDPTimeout after ``timeout`` seconds, saying the last value and the
        page's errors so far."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(js, timeout=max(deadline - time.monotonic(), 1.0))
            if value:
                return value
            if time.monotonic() + interval > deadline:
                errors = self.errors()
                raise CDPTimeout(f"wait_for: {js!r} was still {value!r} after {timeout:g} s"
                                 + (f"; page errors: {errors}" if errors else ""))
            self.browser.idle(interval)  # events are dispatched meanwhile

    def screenshot(self, path: str | os.PathLike[str], *, full_page: bool = False,
                   timeout: float | None = None) -> Path:
        """Write a PNG of the viewport (or of the whole page) to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.call("Page.getLayoutMetrics", timeout=timeout)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": size["height"], "scale": 1}
        data = self.call("Page.captureScreenshot", params, timeout=timeout)["data"]
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out

    def errors(self) -> list[str]:
        """Every error seen: console.error and console.assert calls, uncaught
        exceptions and unhandled rejections, and log entries of level error."""
        found = [f"console.{c['type']}: {c['text']}"
                 + (f" ({c['url']}:{c['line']})" if c["url"] else "")
                 for c in self.console if c["type"] in ("error", "assert")]
        found += [f"uncaught: {e}" for e in self.exceptions]
        found += [f"{e['source']} error: {e['text']}" + (f" ({e['url']})" if e["url"] else "")
                  for e in self.log_entries if e["level"] == "error"]
        return found

    def close(self, *, timeout: float | None = None) -> None:
        """Close this tab."""
        with contextlib.suppress(CDPError):
            self.browser.call("Target.closeTarget", {"targetId": self.target_id},
                              timeout=timeout)
        self.browser._pages.pop(self.session_id, None)
        self.gone = self.gone or "closed"
