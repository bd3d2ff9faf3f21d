"""The sandbox's processes: a template per worker, a zygote per run, one per server life.

    template   forked by a trusted worker when it starts, before it has any job,
               as the worker's user; forks a zygote for each run and ends the
               run's processes when told. It runs no student code.
    zygote     one per run: confined (its own session, limits, the run's user,
               a filter that forbids exec), compiles the submission (or loads the
               code compiled by an earlier zygote: the worker keeps it, as bytes
               it never reads), and forks a server life for each "spawn". It runs
               none of the submission's code, so nothing can start a process but it.
    server     one per server life: confined further (no new processes or threads,
               no signals), runs the submission's module and a ``Host``, and
               answers the trusted side's commands on its pipe until the pipe
               closes.

Control messages (template and zygote) are JSON objects on SOCK_SEQPACKET
sockets, with file descriptors passed beside them (SCM_RIGHTS):

    worker -> template   {"op": "run", ...limits}  [zygote socket, source file, code pipe]
                         {"op": "end", "pgid": p, "uid": u}   kill a run's processes
    template -> worker   {"op": "ready", "seccomp": bool, "root": bool}, {"pid": p}
    worker -> zygote     {"op": "spawn", "server": s, "number": n}  [server socket]
                         {"op": "status", "pid": p}             how did it end?
    zygote -> worker     {"op": "ready", "error": str | null}, {"pid": p}, {"status": s | null}

A server life reads ``harness._protocol`` frames from one pipe and writes its
reports to another. If its code spins past every interrupt, it writes
``["died", kind, message]`` and exits with ``EXIT_SPIN``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import marshal
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any

from .._protocol import MAX_TEXT, load_command, pack_report, read_size
from . import sealed
from .guards import Guards, set_spin_exit
from .host import Host, capture_logs
from .jail import (
    LIFE_PROGRAM,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    Confinement,
    address_space_now,
    close_fds,
    confine,
    confine_life,
    keep_sys_path_reachable,
    kill_user,
    prctl,
    seccomp_works,
)
from .loader import LoadError, ModuleImpl, SourceImpl
from .profile import describe, start_sampling

MAX_CONTROL = 65536


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One control message and the descriptors beside it; (None, []) at EOF."""
    data, fds, _, _ = socket.recv_fds(sock, MAX_CONTROL, 4)
    if not data:
        return None, fds
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("a control message is not an object")
    return message, fds


def _preload() -> None:
    """Import what server lives commonly use, once, before any fork."""
    import asyncio  # noqa: F401, PLC0415
    import bisect  # noqa: F401, PLC0415
    import collections  # noqa: F401, PLC0415
    import dataclasses  # noqa: F401, PLC0415
    import enum  # noqa: F401, PLC0415
    import functools  # noqa: F401, PLC0415
    import heapq  # noqa: F401, PLC0415
    import itertools  # noqa: F401, PLC0415
    import logging  # noqa: F401, PLC0415
    import math  # noqa: F401, PLC0415
    import random  # noqa: F401, PLC0415
    import typing  # noqa: F401, PLC0415


# ------------------------------------------------------------------ template


def template_main(control_fd: int) -> None:
    """Serve the worker until its socket closes (in a process just forked from it)."""
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)     # die with the worker
        prctl(PR_SET_CHILD_SUBREAPER, 1)            # orphans of a run come back here to be reaped
        close_fds([control_fd])
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        _template(control_fd)
    finally:
        os._exit(0)


def _template(control_fd: int) -> None:
    # Forked from a trusted worker: forget its modules (the tester, the grader), so
    # that nothing of them is in reach of the runs' code.
    for name in list(sys.modules):
        if name.startswith(("grader", "harness._trusted", "rich", "pytest", "_pytest")):
            del sys.modules[name]
    facade = vars(sys.modules["harness"])  # and the trusted names it has already handed out
    for name in facade["_LAZY"]:
        facade.pop(name, None)
    _preload()
    space = address_space_now()
    ctl = socket.socket(fileno=control_fd)
    seccomp = seccomp_works()
    signal.signal(signal.SIGCHLD, lambda signum, frame: _reap())  # zombies never linger
    send(ctl, {"op": "ready", "seccomp": seccomp, "root": os.geteuid() == 0})
    runs: list[int] = []  # process groups of runs not yet ended
    while True:
        message, fds = receive(ctl)
        if message is None:
            break
        op = message.get("op")
        if op == "run":
            pid = os.fork()
            if pid == 0:
                ctl.close()
                _zygote(fds[0], fds[1], fds[2], {**message, "address_space": space})
            for fd in fds:
                os.close(fd)
            runs.append(pid)
            send(ctl, {"pid": pid})
        elif op == "end":  # no answer: the worker goes on while the processes die
            # The run's processes share its zygote's process group, and the
            # seccomp filter keeps them there; without it, as root, also kill
            # whatever of the run's user got out.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(message["pgid"]), signal.SIGKILL)
            with contextlib.suppress(ValueError):
                runs.remove(int(message["pgid"]))
            uid = message.get("uid")
            if uid is not None and os.geteuid() == 0 and not seccomp:
                kill_user(int(uid))
    # The worker is gone: end what is left, and wait for every process to be reaped.
    for pgid in runs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _reap():
        time.sleep(0.005)


def _reap() -> bool:
    """Reap every finished child; True while some child still runs."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


# -------------------------------------------------------------------- zygote


def _zygote(control_fd: int, text_fd: int, code_fd: int, settings: dict[str, Any]) -> None:
    """Compile the submission (or load its compiled code), then fork server lives. It
    runs none of the submission's code: each server life runs the module itself."""
    code = 0
    try:
        # The template's handler reaps any child at once; the zygote reaps its own,
        # keeping their exit statuses for the trusted side's questions.
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        conf = Confinement(uid=settings.get("uid"), memory_mb=int(settings["memory_mb"]),
                           cpu_seconds=int(settings["cpu_seconds"]),
                           processes=int(settings.get("processes", 0)),
                           address_space=int(settings.get("address_space", 0)))
        text = _read_all(text_fd)
        os.close(text_fd)
        conf = dataclasses.replace(conf, paths=tuple(keep_sys_path_reachable()))
        confine(conf, keep=[control_fd, code_fd], fork=True, session=True)
        sealed[0] = True
        ctl = socket.socket(fileno=control_fd)
        path = str(settings["path"])
        error = None
        impl: Any = None
        try:
            if settings.get("module"):
                impl = ModuleImpl(*settings["module"])
            elif settings.get("compiled"):
                impl = SourceImpl(path, "", code=marshal.loads(text))
            else:
                impl = SourceImpl(path, text.decode("utf-8", "replace"))
                compiled = marshal.dumps(impl.compile())
                with contextlib.suppress(OSError):
                    _write(code_fd, compiled)
        except LoadError as e:
            error = str(e)
            impl = None
        finally:
            with contextlib.suppress(OSError):
                os.close(code_fd)  # the worker reads the compiled code until it closes
        send(ctl, {"op": "ready", "error": error})
        ended: dict[int, int] = {}  # pid -> status of server lives already reaped
        while True:
            message, fds = receive(ctl)
            if message is None:
                break
            _reap_into(ended)
            op = message.get("op")
            if op == "spawn" and impl is None:
                for fd in fds:
                    os.close(fd)
                send(ctl, {"error": error})
            elif op == "spawn":
                pid = os.fork()
                if pid == 0:
                    ctl.close()
                    _server(fds[0], fds[1], impl, conf,
                            int(settings["log_level"]))  # never returns
                for fd in fds:
                    os.close(fd)
                send(ctl, {"pid": pid})
            elif op == "status":
                pid = int(message["pid"])
                send(ctl, {"status": ended.pop(pid) if pid in ended else _status(pid)})
    except BaseException:
        code = 1
    os._exit(code)


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _reap_into(ended: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = status


def _status(pid: int) -> int | None:
    deadline = time.monotonic() + 1.0
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return status
        if time.monotonic() > deadline:
            return None
        time.sleep(0.002)


# -------------------------------------------------------------- server life


def _server(commands: int, reports: int, impl: Any, conf: Confinement,
            log_level: int) -> None:
    code = 0
    try:
        confine_life(keep=[commands, reports], paths=conf.paths, program=LIFE_PROGRAM)
        serve(commands, reports, impl, log_level)
    except BaseException as e:
        code = 1
        _died(reports, "error", f"the server's process failed: {type(e).__name__}: {e}\n"
              + "".join(traceback.format_exception(e))[-4000:])
    os._exit(code)


def _with_profile(message: str, host: Host) -> str:
    where = describe(host.samples)
    return f"{message} Where its CPU went: {where}." if where else message


def _died(fd: int, kind: str, message: str) -> None:
    with contextlib.suppress(BaseException):
        _write(fd, pack_report(["died", kind, message[:MAX_TEXT]]))


def serve(commands: int, reports: int, impl: Any, log_level: int) -> None:
    """Answer the frames read from ``commands`` with a Host, on ``reports``, until
    the trusted side closes its end."""
    capture_logs(log_level, None)
    Guards().__enter__()
    host = Host(impl, in_process=False)
    set_spin_exit(lambda message: _died(reports, "spin", _with_profile(message, host)))
    start_sampling()
    buffer = bytearray()
    while True:
        while len(buffer) < 4 or len(buffer) < 4 + read_size(buffer[:4]):
            chunk = os.read(commands, 65536)
            if not chunk:
                return
            buffer += chunk
        end = 4 + read_size(buffer[:4])
        body = bytes(buffer[4:end])
        del buffer[:end]
        _write(reports, pack_report(host.handle(load_command(body))))


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


