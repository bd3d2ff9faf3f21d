"""The sandbox's processes: a template per worker, a zygote per run, one per server life.

    template   started clean (``python -s -S``: no site-packages code runs) by a
               trusted worker, as the worker's user; imports only this side of
               the harness; forks a zygote for each run and ends the run's
               processes when told. It runs no student code.
    zygote     one per run: confined (its own session, limits, the run's user,
               a filter that forbids exec), compiles the submission once, and
               forks a server life for each "spawn".
    server     one per server life: confined further (no new processes, no
               signals but to itself), runs its module afresh and a ``Host``,
               and answers the trusted side's commands on its socket until the
               socket closes.

Control messages (template and zygote) are JSON objects on SOCK_SEQPACKET
sockets, with file descriptors passed beside them (SCM_RIGHTS):

    worker -> template   {"op": "run", ...limits}  [zygote socket, source file]
                         {"op": "end", "pgid": p, "uid": u}   kill a run's processes
    template -> worker   {"op": "ready", "seccomp": bool, "root": bool}, {"pid": p}, {"ok": true}
    worker -> zygote     {"op": "spawn", "server": s, "number": n}  [server socket]
                         {"op": "status", "pid": p}             how did it end?
    zygote -> worker     {"op": "ready", "error": str | null}, {"pid": p}, {"status": s | null}

A server life speaks ``harness._protocol`` frames on its stream socket. If its
code spins past every interrupt, it writes ``["died", kind, message]`` and
exits with ``EXIT_SPIN``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
import traceback
from typing import Any

from . import sealed
from .guards import Guards, set_spin_exit
from .host import Host, capture_logs
from .jail import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    Confinement,
    confine,
    kill_user,
    prctl,
    seccomp_works,
)
from .loader import LoadError, SourceImpl

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
    """Serve the worker until its socket closes."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)     # die with the worker
    prctl(PR_SET_CHILD_SUBREAPER, 1)            # orphans of a run come back here to be reaped
    _preload()
    ctl = socket.socket(fileno=control_fd)
    send(ctl, {"op": "ready", "seccomp": seccomp_works(), "root": os.geteuid() == 0})
    while True:
        _reap()
        message, fds = receive(ctl)
        if message is None:
            break
        op = message.get("op")
        if op == "run":
            pid = os.fork()
            if pid == 0:
                ctl.close()
                _zygote(fds[0], fds[1], message)  # never returns
            for fd in fds:
                os.close(fd)
            send(ctl, {"pid": pid})
        elif op == "end":
            _end_run(int(message["pgid"]), message.get("uid"))
            send(ctl, {"ok": True})
    os._exit(0)


def _end_run(pgid: int, uid: int | None) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    if uid is not None and os.geteuid() == 0:
        kill_user(uid)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if not _reap():
            break
        time.sleep(0.001)


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


def _zygote(control_fd: int, source_fd: int, settings: dict[str, Any]) -> None:
    code = 0
    try:
        conf = Confinement(uid=settings.get("uid"), memory_mb=int(settings["memory_mb"]),
                           cpu_seconds=int(settings["cpu_seconds"]),
                           processes=int(settings.get("processes", 0)))
        source = b""
        while chunk := os.read(source_fd, 1 << 20):
            source += chunk
        os.close(source_fd)
        confine(conf, keep=[control_fd], fork=True, session=True)
        sealed[0] = True
        ctl = socket.socket(fileno=control_fd)
        impl = SourceImpl(str(settings["path"]), source.decode("utf-8", "replace"))
        error = None
        try:
            impl.compile()
        except LoadError as e:
            error = str(e)
        send(ctl, {"op": "ready", "error": error})
        ended: dict[int, int] = {}  # pid -> status of server lives already reaped
        while True:
            message, fds = receive(ctl)
            if message is None:
                break
            _reap_into(ended)
            op = message.get("op")
            if op == "spawn":
                pid = os.fork()
                if pid == 0:
                    ctl.close()
                    _server(fds[0], impl, conf, int(settings["log_level"]))  # never returns
                for fd in fds:
                    os.close(fd)
                send(ctl, {"pid": pid})
            elif op == "status":
                pid = int(message["pid"])
                send(ctl, {"status": ended.pop(pid) if pid in ended else _status(pid)})
    except BaseException:
        code = 1
    os._exit(code)


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


def _server(fd: int, impl: SourceImpl, conf: Confinement, log_level: int) -> None:
    code = 0
    try:
        confine(Confinement(uid=None, memory_mb=conf.memory_mb, cpu_seconds=conf.cpu_seconds,
                            open_files=conf.open_files), keep=[fd], fork=False, session=False)
        serve(fd, impl, log_level)
    except BaseException as e:
        code = 1
        _died(fd, "error", f"the server's process failed: {type(e).__name__}: {e}\n"
              + "".join(traceback.format_exception(e))[-4000:])
    os._exit(code)


def _died(fd: int, kind: str, message: str) -> None:
    from .._protocol import pack  # noqa: PLC0415

    with contextlib.suppress(BaseException):
        _write(fd, pack(["died", kind, message[:20_000]], []))


def serve(fd: int, impl: Any, log_level: int) -> None:
    """Answer frames on ``fd`` with a Host until the trusted side closes it."""
    from .._protocol import pack, read_size, unpack  # noqa: PLC0415

    set_spin_exit(lambda message: _died(fd, "spin", message))
    capture_logs(log_level, None)
    Guards().__enter__()
    host = Host(impl, in_process=False)
    while True:
        prefix = _read(fd, 4)
        if prefix is None:
            return
        size = read_size(prefix)
        body = _read(fd, size)
        if body is None:
            return
        reply = host.handle(unpack(body))
        _write(fd, pack(*reply))


def _read(fd: int, n: int) -> bytes | None:
    parts = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


if __name__ == "__main__":
    template_main(int(sys.argv[1]))
