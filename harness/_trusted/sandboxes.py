"""Running server lives in sandboxes: the trusted side's end of ``_sandbox.process``.

    sandboxes = Sandboxes()                    # forks the template process
    run = sandboxes.start_run(path, source, limits)   # a zygote for one run
    sim = Simulation(seed, run)                # every server life: its own process
    ...                                        # (the run is a ``Servers``)
    run.close()                                # every process of the run ends
    sandboxes.close()

One ``Sandboxes`` per trusted process that grades (a worker), made early:
the template is forked from it before any run, so it holds nothing of a job,
and the sandboxes share the interpreter's pages with the trusted process
(switching between them in lockstep then costs far less cache). When that
process is root, it takes a user id of its own for its sandboxes (61000 and
up, held by a lock file under ``/run/lock`` or the temporary folder for as
long as it lives), so that ending a run can kill every process of that user
without touching another worker's. Otherwise the run's processes share one
process group, which ``close`` kills; the seccomp filter keeps them from
leaving it (no setsid, no fork).

A ``SandboxTransport`` sends one frame and waits for the report, within the
run's wall-clock budget. However the sandbox fails - it closed its socket,
died, stalled, or sent something that is not a frame - the failure is a
``SandboxFailure`` with a message that says what happened (from its exit
status, which the zygote reports), and the run fails as the student's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from .._errors import WallClockLimitError
from .._protocol import KINDS, MAX_TEXT, Frame, ProtocolError, load_report, pack, read_size
from .._sandbox import jail
from .._sandbox.guards import EXIT_SPIN
from .._sandbox.loader import ModuleImpl
from .._sandbox.process import template_main
from .servers import SandboxFailure

HARNESS_ROOT: Final = Path(__file__).resolve().parent.parent.parent
UID_BASE: Final = 61000
UID_RANGE: Final = 1000
MAX_SOURCE: Final = 4 * 1024 * 1024



class SandboxError(Exception):
    """The sandbox machinery itself could not start (raftlab's problem, not the student's)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits of every sandbox process (see ``_sandbox.jail``)."""

    memory_mb: int = 1024
    cpu_seconds: int = 120
    wall_seconds: float = 60.0
    processes: int = 32
    log_level: int = 20


class Sandboxes:
    """A template process, and the runs it starts. See the module docstring."""

    def __init__(self, *, uid: int | None = None) -> None:
        self.root = os.geteuid() == 0
        self._lock: IO[bytes] | None = None
        self.uid = uid if uid is not None else (self._claim_uid() if self.root else None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:  # the template: never returns
            ours.close()
            template_main(theirs.fileno())
        theirs.close()
        self._ctl = ours
        ours.settimeout(60)
        hello = self._receive()
        if hello is None or hello.get("op") != "ready":
            raise SandboxError(f"the sandbox template did not start (it said {hello!r})")
        self.seccomp = bool(hello.get("seccomp"))
        self._compiled: dict[str, bytes] = {}  # the code of a submission (opaque bytes)

    def protections(self) -> dict[str, bool]:
        return jail.protections(root=self.uid is not None, seccomp=self.seccomp)

    def _claim_uid(self) -> int:
        folder = Path("/run/lock") if os.access("/run/lock", os.W_OK) else Path(
            tempfile.gettempdir())
        for uid in range(UID_BASE, UID_BASE + UID_RANGE):
            path = folder / f"raftlab-sandbox-{uid}.lock"
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            except OSError:
                continue
            f = os.fdopen(fd, "r+b")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            self._lock = f
            return uid
        raise SandboxError("no free sandbox user id: more than 1000 graders run at once")

    def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(self._ctl, [data], fds)
        else:
            self._ctl.send(data)

    def _receive(self) -> dict[str, Any] | None:
        data = self._ctl.recv(65536)
        if not data:
            return None
        message: dict[str, Any] = json.loads(data)
        return message

    def start_run_of(self, impl: ModuleImpl, limits: SandboxLimits, *,
                     import_seed: int = 0) -> SandboxRun:
        """A zygote for one run of trusted code the sandbox imports by name (raftlab's
        own tests and benchmarks)."""
        return self.start_run("", "", limits, import_seed=import_seed,
                              module=(impl.module_name, impl.qualname))

    def start_run(self, path: str, source: str, limits: SandboxLimits, *, import_seed: int,
                  clock: Callable[[], float] | None = None,
                  module: tuple[str, str] | None = None) -> SandboxRun:
        """A zygote for one run of ``source`` (the text of ``path``)."""
        data = source.encode()
        if len(data) > MAX_SOURCE:
            raise SandboxFailure(f"{Path(path).name} is {len(data):,} bytes long; a raft.py "
                                 f"may have at most {MAX_SOURCE:,}")
        key = hashlib.sha256(path.encode() + b"\0" + data).hexdigest()
        compiled = self._compiled.get(key)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code_r, code_w = os.pipe()
        with tempfile.TemporaryFile() as text:
            text.write(compiled if compiled is not None else data)
            text.seek(0)
            self._send({"op": "run", "uid": self.uid, "path": path, "module": module,
                        "compiled": compiled is not None, "import_seed": import_seed,
                        "memory_mb": limits.memory_mb, "cpu_seconds": limits.cpu_seconds,
                        "processes": limits.processes, "log_level": limits.log_level},
                       [theirs.fileno(), text.fileno(), code_w])
            theirs.close()
            os.close(code_w)
            reply = self._receive()
        if reply is None or "pid" not in reply:
            os.close(code_r)
            raise SandboxError("the sandbox template stopped answering")
        run = SandboxRun(self, ours, int(reply["pid"]), limits, clock, code_r)
        if compiled is None and run.compiled and run.load_error is None:
            self._compiled[key] = run.compiled
        return run

    def check(self, path: str, source: str, limits: SandboxLimits) -> str | None:
        """Does the submission load (compile, run its module, define a usable Raft)?
        None if so, else why not. Keeps its compiled code for the runs to come."""
        run = self.start_run(path, source, limits, import_seed=0)
        try:
            if run.load_error is not None:
                return run.load_error
            transport = run.spawn(0, 1)
            head = transport.request(["check"])
            result = head[1] if len(head) > 1 and isinstance(head[1], list) else None
            if result and result[0] == "noload" and len(result) > 1:
                return str(result[1])
            return None
        except (SandboxFailure, WallClockLimitError) as e:
            return str(e)
        finally:
            run.close()

    def end(self, pgid: int) -> None:
        """Kill a run's processes (the template does it; nothing to wait for)."""
        with contextlib.suppress(OSError):
            self._send({"op": "end", "pgid": pgid, "uid": self.uid})

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._ctl.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.005)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


class Sandboxed:
    """Where a graded run's server lives run: ``run_lab_test(test, Sandboxed(...), seed)``."""

    def __init__(self, sandboxes: Sandboxes, path: str, source: str,
                 limits: SandboxLimits) -> None:
        self.sandboxes = sandboxes
        self.path = path
        self.source = source
        self.limits = limits

    def servers(self, import_seed: int) -> SandboxRun:
        return self.sandboxes.start_run(self.path, self.source, self.limits,
                                        import_seed=import_seed)


class SandboxRun:
    """One run's zygote and its server lives (a ``Servers`` for ``Simulation``)."""

    sandboxed = True

    def __init__(self, sandboxes: Sandboxes, ctl: socket.socket, pid: int,
                 limits: SandboxLimits, clock: Callable[[], float] | None, code: int) -> None:
        self.sandboxes = sandboxes
        self.limits = limits
        self.pid = pid
        self.clock = clock
        self.deadline = time.monotonic() + limits.wall_seconds
        self.transports: list[SandboxTransport] = []
        self.closed = False
        self._ctl = ctl
        self.compiled = _drain(code, MAX_SOURCE * 4, self.deadline)
        ready = self._ask(None)
        self.load_error: str | None = None
        if ready is None:
            self.load_error = "the run's sandbox did not start"
        elif ready.get("error"):
            self.load_error = str(ready["error"])

    def _late(self) -> bool:
        return time.monotonic() >= self.deadline

    def _ask(self, message: dict[str, Any] | None, fds: list[int] | None = None) -> (
            dict[str, Any] | None):
        """Send a control message (None: just listen) and read the zygote's answer,
        within the run's wall-clock budget (a second more, for a status)."""
        remaining = self.deadline - time.monotonic()
        if message is not None and message.get("op") == "status":
            remaining = max(remaining, 1.0)
        if remaining <= 0:
            return None
        try:
            self._ctl.settimeout(remaining)
            if message is not None:
                data = json.dumps(message).encode()
                if fds:
                    socket.send_fds(self._ctl, [data], fds)
                else:
                    self._ctl.send(data)
            reply = self._ctl.recv(65536)
            if not reply:
                return None
            answer = json.loads(reply)
        except (OSError, ValueError):
            return None
        return answer if isinstance(answer, dict) else None

    def spawn(self, server: int, number: int) -> SandboxTransport:
        if self.load_error is not None:
            raise SandboxFailure(f"cannot load the implementation: {self.load_error}")
        commands_r, commands_w = os.pipe()
        reports_r, reports_w = os.pipe()
        reply = self._ask({"op": "spawn", "server": server, "number": number},
                          [commands_r, reports_w])
        os.close(commands_r)
        os.close(reports_w)
        pid = reply.get("pid") if reply else None
        if not isinstance(pid, int):
            os.close(commands_w)
            os.close(reports_r)
            if self._late():
                raise WallClockLimitError(
                    f"the run used more than {self.limits.wall_seconds:g} s of real time (limit: "
                    f"wall clock) before server {server} could start")
            raise SandboxFailure(
                "the process of a new server life could not be started: the run's sandbox "
                "has ended, or already has as many processes as it may "
                f"({self.limits.processes}; limit: processes)")
        transport = SandboxTransport(self, commands_w, reports_r, pid)
        self.transports.append(transport)
        return transport

    def status(self, pid: int | None) -> int | None:
        if pid is None:
            return None
        reply = self._ask({"op": "status", "pid": pid})
        status = reply.get("status") if reply else None
        return status if isinstance(status, int) else None

    def close(self) -> None:
        """End every process of the run."""
        if self.closed:
            return
        self.closed = True
        for transport in self.transports:
            transport.close()
        with contextlib.suppress(OSError):
            self._ctl.close()
        self.sandboxes.end(self.pid)


def _drain(fd: int, limit: int, deadline: float) -> bytes:
    """Everything written to a pipe until it closes (at most ``limit`` bytes, by then)."""
    parts: list[bytes] = []
    size = 0
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    try:
        while size <= limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poll.poll(max(1, int(remaining * 1000))):
                return b""
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
            size += len(chunk)
        return b""
    finally:
        os.close(fd)


class SandboxTransport:
    """Frames to one server life's process and back, over two pipes."""

    def __init__(self, run: SandboxRun, commands: int, reports: int, pid: int | None) -> None:
        self.run = run
        self.commands = commands
        self.reports = reports
        self.pid = pid
        self.closed = False
        self._buffer = bytearray()
        os.set_blocking(commands, False)
        os.set_blocking(reports, False)  # read first, poll only if nothing is there yet
        self._in = select.poll()
        self._in.register(reports, select.POLLIN)
        self._out = select.poll()
        self._out.register(commands, select.POLLOUT)

    def request(self, frame: Frame) -> Frame:
        if self.closed:
            raise SandboxFailure("the server's process is gone")
        try:
            self._write(pack(frame))
            body = self._read_frame()
            if body is not None:
                head = load_report(body)
                if head[0] == "died":
                    self.close()
                    kind = str(head[1]) if len(head) > 1 and head[1] in KINDS else "error"
                    raise SandboxFailure(str(head[2])[:MAX_TEXT] if len(head) > 2 else "it died",
                                         kind)
                return head
        except TimeoutError:
            raise self._timed_out() from None
        except BrokenPipeError:
            pass
        except ProtocolError as e:
            self.close()
            raise SandboxFailure(f"the sandbox broke the protocol: {e}") from None
        self.close()
        raise SandboxFailure(self._diagnose(self.run.status(self.pid)))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.commands, view)
            except BlockingIOError:
                self._wait(self._out)
                continue
            view = view[n:]

    def _read_frame(self) -> bytes | None:
        """The next frame's body (None at EOF). Reads in 64 KiB pieces: a report
        usually arrives whole in one."""
        buffer = self._buffer  # a bytearray: a large frame's pieces append in linear time
        while len(buffer) < 4 or len(buffer) < 4 + read_size(buffer[:4]):
            try:
                chunk = os.read(self.reports, 65536)
            except BlockingIOError:
                self._wait(self._in)
                continue
            if not chunk:
                return None
            buffer += chunk
        end = 4 + read_size(buffer[:4])
        body = bytes(buffer[4:end])
        del buffer[:end]
        return body

    def _wait(self, poll: select.poll) -> None:
        remaining = self.run.deadline - time.monotonic()
        if remaining <= 0 or not poll.poll(max(1, int(remaining * 1000))):
            raise TimeoutError

    def _timed_out(self) -> Exception:
        self.close()
        cap = self.run.limits.wall_seconds
        reached = f" and reached only {self.run.clock():.3f} s of virtual time" \
            if self.run.clock is not None else ""
        return WallClockLimitError(
            f"the run used more than {cap:g} s of real time (limit: wall clock){reached}. Your "
            "code does too much work per event: look for loops that poll with very short "
            "sleeps, RPCs sent in a tight loop, or work that grows with the log on every "
            "message.")

    def _diagnose(self, status: int | None) -> str:
        if status is None:
            return ("its process ended before answering (it was killed, or closed its "
                    "connection to the tester)")
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
            if code == EXIT_SPIN:
                return ("a callback spun on the CPU and caught every interrupt (a bare "
                        "`except:` or `except BaseException:` around a busy loop?), so its "
                        "process was ended")
            return (f"its process ended with exit status {code} before the test finished "
                    "(os._exit()? a crash in a C extension?)")
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() \
                else str(sig)
            if sig == signal.SIGKILL:
                return ("its process was killed by SIGKILL: the code killed its own process, "
                        "or it ran out of memory")
            if sig == signal.SIGXCPU:
                return (f"its process used more than its {self.run.limits.cpu_seconds} s of "
                        "CPU time (limit: CPU time) and was ended")
            if sig == signal.SIGXFSZ:
                return "its process tried to write a file (limit: file size 0) and was ended"
            if sig == signal.SIGSEGV:
                return "its process crashed (SIGSEGV: a crash in C code, or a stack overflow)"
            return f"its process was killed by signal {name}"
        return f"its process ended abnormally (status {status})"

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for fd in (self.commands, self.reports):
                with contextlib.suppress(OSError):
                    os.close(fd)

