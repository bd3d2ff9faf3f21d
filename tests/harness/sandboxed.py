"""Raft-shaped classes for the sandbox tests (tests/harness/test_sandboxes.py, test_jail.py).

A sandbox imports this module by name (``ModuleImpl("tests.harness.sandboxed",
"Probe")``), so it uses only the student API and the standard library. ``Probe``
is a Raft that does nothing but answer RPC handlers the tests deliver by hand:

    facts(None)             what the server life sees of itself (JSON text)
    attempt([name, scratch, other_pid])   one operation of ``ATTEMPTS``: "ok" or the error
    read(path)              "ok: <text>" or the error reading a file
    exit(code)              os._exit(code)
    burn(None)              spins on the CPU, swallowing every interrupt
    hoard(mb)               allocates ``mb`` MiB and keeps them
    stall(seconds)          blocks in select() without using CPU
    garbage(None)           writes bytes that are not a frame as its report
    evil(path)              writes a pickle that would mkdir(path) if unpickled
    setown(pid)             asks the kernel to SIGKILL ``pid`` at its next command

Replies are text (JSON for ``facts``), which the trusted side reads with ``safe_decode``.

``ExitsAtBoot`` ends its process in its constructor.

``ATTEMPTS`` (shared with the tests of the seccomp filter in a forked child)
each try one thing the filter refuses or allows; ``attempt`` turns the
outcome into "ok" or "<ExceptionType>:<errno>", and ``expected`` says which
outcome each should have under a filter.
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import fcntl
import json
import os
import pickle
import platform
import resource
import select
import signal
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

from harness import ClientEnd, Persister

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.syscall.restype = ctypes.c_long
_PTRACE_PEEKDATA = 2
_PR_GET_DUMPABLE = 3
_X32_BIT = 0x40000000
_SYS_GETPID_X86_64 = 39
_F_SETSIG = 10

RLIMITS = ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_AS",
           "RLIMIT_NPROC", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE")


def _c_call(result: int) -> None:
    """Raise OSError for a libc call that failed (ctypes does not)."""
    if result == -1:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _fork() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _thread_start() -> None:
    _thread.start_new_thread(lambda: None, ())


def _ptrace(other: int) -> None:
    # PEEKDATA of a process it does not trace: ESRCH when allowed, EPERM when refused.
    _c_call(_LIBC.ptrace(_PTRACE_PEEKDATA, other, 0, 0))


def _prctl() -> None:
    _c_call(_LIBC.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0))


def _x32_getpid() -> None:
    _c_call(_LIBC.syscall(_X32_BIT | _SYS_GETPID_X86_64))


def _pipe_roundtrip() -> None:
    r, w = os.pipe()
    try:
        os.write(w, b"ping")
        assert os.read(r, 4) == b"ping"
    finally:
        os.close(r)
        os.close(w)


def _compute() -> None:
    assert sum(i * i for i in range(10_000)) == 333283335000
    data = bytearray(1 << 20)  # anonymous memory (mmap) works
    data[-1] = 1


Attempt = Callable[[str, int], object]

ATTEMPTS: dict[str, Attempt] = {
    # ordinary work
    "compute": lambda scratch, other: _compute(),
    "pipe": lambda scratch, other: _pipe_roundtrip(),
    "read": lambda scratch, other: open(os.path.join(scratch, "file"), "rb").close(),
    "open_dir": lambda scratch, other: os.close(os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)),
    "stat": lambda scratch, other: os.stat(os.path.join(scratch, "file")),
    "getpid": lambda scratch, other: os.getpid(),
    "kill_self": lambda scratch, other: os.kill(os.getpid(), 0),
    # the file system
    "open_write": lambda scratch, other: os.open(os.path.join(scratch, "file"), os.O_WRONLY),
    "open_rdwr": lambda scratch, other: os.open(os.path.join(scratch, "file"), os.O_RDWR),
    "open_append": lambda scratch, other: os.open(os.path.join(scratch, "file"),
                                                  os.O_RDONLY | os.O_APPEND),
    "open_trunc": lambda scratch, other: os.open(os.path.join(scratch, "file"),
                                                 os.O_RDONLY | os.O_TRUNC),
    "create": lambda scratch, other: os.open(os.path.join(scratch, "new"),
                                             os.O_RDONLY | os.O_CREAT, 0o600),
    "unlink": lambda scratch, other: os.unlink(os.path.join(scratch, "victim")),
    "rename": lambda scratch, other: os.rename(os.path.join(scratch, "victim"),
                                               os.path.join(scratch, "renamed")),
    "mkdir": lambda scratch, other: os.mkdir(os.path.join(scratch, "newdir")),
    "rmdir": lambda scratch, other: os.rmdir(os.path.join(scratch, "dir")),
    "chmod": lambda scratch, other: os.chmod(os.path.join(scratch, "file"), 0o777),
    "symlink": lambda scratch, other: os.symlink("file", os.path.join(scratch, "link")),
    "truncate": lambda scratch, other: os.truncate(os.path.join(scratch, "file"), 0),
    "memfd": lambda scratch, other: os.memfd_create("x"),
    # sockets
    "socket": lambda scratch, other: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
    "socketpair": lambda scratch, other: socket.socketpair(),
    # processes and threads
    "fork": lambda scratch, other: _fork(),
    "thread": lambda scratch, other: _thread_start(),
    "exec": lambda scratch, other: os.execv("/bin/true", ["true"]),
    # other processes, sessions, identities
    "kill_other": lambda scratch, other: os.kill(other, 0),
    "kill_group": lambda scratch, other: os.kill(0, 0),
    "ptrace": lambda scratch, other: _ptrace(other),
    "setsid": lambda scratch, other: os.setsid(),
    "setpgid": lambda scratch, other: os.setpgid(0, 0),
    "prctl": lambda scratch, other: _prctl(),
    "setuid": lambda scratch, other: os.setuid(os.getuid()),
    "x32": lambda scratch, other: _x32_getpid(),
}


def attempt(name: str, scratch: str, other: int) -> str:
    """Try ``ATTEMPTS[name]``: "ok", or "<ExceptionType>:<errno>"."""
    try:
        ATTEMPTS[name](scratch, other)
    except Exception as e:
        return f"{type(e).__name__}:{getattr(e, 'errno', None)}"
    return "ok"


def expected(*, fork: bool, server_life: bool = False) -> dict[str, str]:
    """What each of ``ATTEMPTS`` gives under a filter: "ok" or the refusal.

    ``server_life``: under both filters, as in a server life (the zygote's filter
    names the zygote, so a life cannot signal even itself)."""
    refused = "PermissionError:1"
    outcome = dict.fromkeys(ATTEMPTS, refused)
    for name in ("compute", "pipe", "read", "open_dir", "stat", "getpid", "kill_self"):
        outcome[name] = "ok"
    if server_life:
        outcome["kill_self"] = refused
    if fork:
        outcome.update(fork="ok", thread="ok", prctl="ok")
    else:
        # pthread_create gets EPERM from clone3/clone; Python reports it so.
        outcome["thread"] = "RuntimeError:None"
    if platform.machine() != "x86_64":
        del outcome["x32"]
    return outcome


def open_fds() -> dict[int, str]:
    """This process's open descriptors and what each is (the listing's own is left out)."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return found


def _status_fields() -> dict[str, str]:
    fields = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def facts() -> dict[str, Any]:
    """What a process sees of itself (for the tests of confinement)."""
    try:
        from harness import Config  # noqa: F401, PLC0415
        trusted_import = "imported"
    except ImportError as e:
        trusted_import = f"ImportError: {e}"
    status = _status_fields()
    return {
        "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
        "uid": os.getresuid(), "gid": os.getresgid(), "groups": os.getgroups(),
        "environ": dict(os.environ), "argv": sys.argv, "cwd": os.getcwd(),
        "umask": status.get("Umask"), "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "seccomp": status.get("Seccomp"), "no_new_privs": status.get("NoNewPrivs"),
        "fds": open_fds(), "sys_path": sys.path,
        "rlimits": {name: list(resource.getrlimit(getattr(resource, name)))
                    for name in RLIMITS if hasattr(resource, name)},
        "trusted_import": trusted_import,
        "trusted_modules": sorted(m for m in sys.modules
                                  if m.startswith(("harness._trusted", "grader"))),
        "dont_write_bytecode": sys.dont_write_bytecode,
    }


def reports_fd() -> int:
    """The pipe a server life writes its reports to (its only write end of a pipe)."""
    for fd, what in open_fds().items():
        if what.startswith("pipe:") and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE \
                == os.O_WRONLY:
            return fd
    raise RuntimeError("no reports pipe")


def commands_fd() -> int:
    """The pipe a server life reads its commands from."""
    for fd, what in open_fds().items():
        if what.startswith("pipe:") and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE \
                == os.O_RDONLY:
            return fd
    raise RuntimeError("no commands pipe")


class Mkdir:
    """Pickles as a call of os.mkdir(path): what a hostile report would make run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.path,))


HOARD: list[bytearray] = []


class Probe:
    """A Raft that does nothing; its RPC handlers are the tests' probes."""

    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: Any) -> None:
        self.me = me

    def get_state(self) -> tuple[int, bool]:
        return 0, False

    def start(self, command: Any) -> tuple[int, int, bool]:
        return -1, -1, False

    def snapshot(self, index: int, snapshot: bytes) -> None:
        pass

    def kill(self) -> None:
        pass

    # -- the probes (RPC handlers)

    def facts(self, args: Any) -> str:
        return json.dumps(facts())

    def attempt(self, args: list[Any]) -> str:
        name, scratch, other = args
        return attempt(name, scratch, other)

    def read(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8") as f:
                return f"ok: {f.read()}"
        except OSError as e:
            return f"{type(e).__name__}:{e.errno}"

    def exit(self, code: int) -> str:
        os._exit(code)

    def burn(self, args: Any) -> str:
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass

    def hoard(self, mb: int) -> str:
        HOARD.append(bytearray(mb * 1024 * 1024))
        return "kept"

    def stall(self, seconds: float) -> str:
        select.select([], [], [], seconds)
        return "woke"

    def garbage(self, args: Any) -> str:
        os.write(reports_fd(), struct.pack("<I", 11) + b"not pickle!")
        return "sent"

    def evil(self, path: str) -> str:
        body = pickle.dumps(["report", Mkdir(path)], 2)
        os.write(reports_fd(), struct.pack("<I", len(body)) + body)
        return "sent"

    def setown(self, pid: int) -> str:
        """Arrange, with fcntl alone, for the kernel to SIGKILL ``pid`` when the trusted
        side writes its next command to this life."""
        fd = commands_fd()
        try:
            fcntl.fcntl(fd, fcntl.F_SETOWN, pid)
        except PermissionError:
            return "refused"
        fcntl.fcntl(fd, _F_SETSIG, signal.SIGKILL)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
        return "armed"



class ExitsAtBoot(Probe):
    """Ends its own process while it is being constructed."""

    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: Any) -> None:
        os._exit(3)
