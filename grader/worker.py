"""Worker processes: where runs happen. Never in the grader's own process.

    python -m grader.worker [--sandbox] [--core K]
        a worker: prints "ready", then reads jobs (JSON lines) on stdin and
        writes one record (JSON line) per job on stdout

Two modes, chosen per worker:

    --sandbox   graded runs (``raftlab grade``, ``batch``, Gradescope, and
                ``raftlab test --sandbox``). The worker is trusted: it runs the
                tester, the network and the monitors, and never a line of the
                submission. Each server life runs in a sandbox process
                (``harness._trusted.sandboxes``): their template is forked from
                the worker as it starts, before it has read any job. With
                ``--core K`` the worker and its sandboxes stay on core K
                (lockstep switches between them are far cheaper on one core).
    (default)   in-process runs, for students' own fast runs (``raftlab test``):
                the submission runs in the job's process, beside the tester.

For each job the worker forks a child that runs one lab test on one seed and
writes its record to a pipe, so every run starts from the same fresh state
(the one a replay starts from), and whatever the child does costs that run
only:

    a hang          the worker kills the child's process group after the job's
                    wall-clock cap (plus a grace period)
    a CPU spin      the harness interrupts it; if the code swallows every
                    interrupt the process exits with EXIT_SPIN and we say so
    os._exit / a signal / a C crash   reported with the status
    memory          RLIMIT_AS caps the child (in-process mode; in a sandbox,
                    each server life's process is capped)

A job is ``{"impl", "test", "seed", "wall", "memory_mb", "tail", "replay",
"digest", "trace_path", "log_level"}``, and optionally ``"inspect"`` (servers
report debug_state()), ``"html_path"`` (write the run's HTML timeline there if
it failed; ``"html_always"``: whatever the outcome) and ``"label"`` (the
implementation's name, for the timeline); the record is ``TestRecord.to_dict()``.
A "check" job (``{"check": true, "impl"}``) says whether the implementation
loads. ``run_job`` is also what ``raftlab replay`` runs, so a replay is the run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness._trusted.sandboxes import Sandboxes

    from .results import TestRecord

KILL_GRACE = 5.0
"""Seconds past a job's wall-clock cap before the worker kills the child."""

FILE_LIMIT = 256 * 1024 * 1024
"""Largest file a child may write (its stderr, a replay's trace): output without
bound must not fill the disk. The result travels over a pipe, unaffected."""

EXIT_SPIN = 86  # harness._sandbox.guards.EXIT_SPIN (imported late, see main)


class _State:
    child: int | None = None           # the child running now, for the SIGTERM handler
    sandboxes: Sandboxes | None = None  # this worker's sandbox template (--sandbox)


_state = _State()
_checked: dict[str, dict[str, Any]] = {}


def base_record(job: dict[str, Any]) -> Any:
    from .results import TestRecord, part_of  # noqa: PLC0415

    name = job.get("test", "(load)")
    return TestRecord(name=name, part=part_of(name), seed=int(job.get("seed", 0)),
                      kind="harness-error", replay=job.get("replay", ""))


def _limits(job: dict[str, Any]) -> Any:
    from harness._trusted.sandboxes import SandboxLimits  # noqa: PLC0415

    wall = float(job.get("wall", 60.0))
    level = getattr(logging, str(job.get("log_level", "INFO")).upper(), logging.INFO)
    return SandboxLimits(memory_mb=int(job.get("memory_mb", 1024)) or 1024,
                         cpu_seconds=int(wall) + 10, wall_seconds=wall, log_level=level)


def check_impl(job: dict[str, Any]) -> dict[str, Any]:
    """A "check" job: can the implementation be loaded at all?"""
    from .impl import ImplError, load_impl, read_source  # noqa: PLC0415

    path = Path(job["impl"])
    try:
        if _state.sandboxes is None:
            load_impl(path)
            return {"check": True, "ok": True, "message": None}
        source = read_source(path)
    except ImplError as e:
        return {"check": True, "ok": False, "message": str(e)}
    error = _state.sandboxes.check(str(path), source, _limits(job))
    return {"check": True, "ok": error is None, "message": error,
            "protections": _state.sandboxes.protections()}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this process and return its record (as a dict)."""
    from harness import run_lab_test  # noqa: PLC0415

    from . import traceview  # noqa: PLC0415
    from .impl import ImplError, load_impl, read_source  # noqa: PLC0415
    from .suite_index import all_tests  # noqa: PLC0415

    if job.get("check"):
        return check_impl(job)
    rec = base_record(job)
    tests = all_tests()
    if job["test"] not in tests:
        rec.message = f"no lab test named {job['test']}"
        unknown: dict[str, Any] = rec.to_dict()
        return unknown
    path = Path(job["impl"])
    try:
        if _state.sandboxes is not None:
            from harness._trusted.sandboxes import Sandboxed  # noqa: PLC0415

            impl: Any = Sandboxed(_state.sandboxes, str(path), read_source(path), _limits(job))
        else:
            impl = load_impl(path)
    except ImplError as e:
        rec.kind = "error"
        rec.message = f"cannot load the implementation: {e}"
        unloaded: dict[str, Any] = rec.to_dict()
        return unloaded
    level = getattr(logging, str(job.get("log_level", "INFO")).upper(), logging.INFO)
    with contextlib.redirect_stdout(io.StringIO()):
        result = run_lab_test(tests[job["test"]], impl, int(job["seed"]),
                              wall_seconds=float(job.get("wall", 60.0)), log_level=level,
                              inspect=bool(job.get("inspect")))
    rec.kind = result.kind
    rec.message = result.message
    if result.message and "(limit: wall clock)" in result.message and rec.replay:
        rec.replay += f" --wall {float(job.get('wall', 60.0)):g}"  # replays the same cap
    rec.profile = [[name, round(share, 3)] for name, share in result.profile]
    rec.description = result.description
    rec.where = result.where
    rec.line = result.line
    rec.details = result.details
    rec.sim_time = round(result.sim_time, 6)
    rec.wall_time = round(result.wall_time, 6)
    rec.log_size = result.log_size
    if result.stats is not None:
        rec.peers, rec.rpcs, rec.bytes, rec.commits = (
            result.stats.peers, result.stats.rpcs, result.stats.bytes, result.stats.commits)
    tail = int(job.get("tail", 8))
    if tail and (not result.passed or job.get("tail_always")):
        rec.trace_tail = traceview.tail(list(result.trace.records()), tail)
    if job.get("digest"):
        rec.digest = result.digest()
    if job.get("trace_path"):
        result.trace.write_jsonl(job["trace_path"], full=bool(job.get("full_args")))
    if job.get("html_path") and (not result.passed or job.get("html_always")):
        try:
            _write_timeline(job, rec, list(result.trace.records()))
        except Exception:  # raftlab's own fault: the verdict stands, the reason is kept
            Path(job["html_path"] + ".error.txt").write_text(traceback.format_exc(),
                                                            encoding="utf-8")
    out: dict[str, Any] = rec.to_dict()
    return out


def _write_timeline(job: dict[str, Any], rec: TestRecord,
                    records: list[dict[str, Any]]) -> None:
    """The run's HTML timeline at job["html_path"] (grader/timeline.py)."""
    from . import timeline  # noqa: PLC0415
    from .session import raftlab_version  # noqa: PLC0415

    title = next((r.get("detail") for r in records
                  if r.get("kind") == "check" and r.get("what") == "begin"), None)
    servers = 1 + max((int(r["server"]) for r in records if int(r.get("server", -1)) >= 0),
                      default=-1)
    failure_t = next((r["t"] for r in records if r.get("kind") == "failure"), None)
    meta = {"test": rec.name, "title": title, "seed": rec.seed, "impl": job.get("label", ""),
            "servers": servers, "passed": rec.kind == "passed", "failure": rec.message or None,
            "failure_t": failure_t, "digest": rec.digest, "sim_time": rec.sim_time,
            "replay": rec.replay, "raftlab": raftlab_version()}
    path = Path(job["html_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    timeline.write(path, records, meta)


# ------------------------------------------------------------------ isolation


def run_isolated(job: dict[str, Any],
                 run: Callable[[dict[str, Any]], dict[str, Any]] = run_job) -> dict[str, Any]:
    """Run ``run(job)`` in a forked child; diagnose however the child ends."""
    if _state.sandboxes is not None and "impl" in job:
        # Checked here, not in a child: the worker keeps the submission's compiled
        # code (opaque bytes from a sandbox) for every run that follows.
        if job.get("check") or job["impl"] not in _checked:
            _checked[job["impl"]] = check_impl({**job, "check": True})
        if job.get("check"):
            return _checked[job["impl"]]
    cap = float(job.get("wall", 60.0))
    read_fd, write_fd = os.pipe()
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed on every path below
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        _become_child(errors.fileno(), 0 if _state.sandboxes is not None else
                      int(job.get("memory_mb", 0)))
        try:
            payload = json.dumps(run(job), default=str).encode()
        except BaseException as e:
            payload = json.dumps(_failure_record(job, e)).encode()
        try:
            _write_all(write_fd, payload)
        finally:
            os._exit(0)
    _state.child = pid
    os.close(write_fd)
    try:
        data, status, timed_out = _collect(pid, read_fd, started + cap + KILL_GRACE)
    finally:
        _state.child = None
        os.close(read_fd)
    wall = time.perf_counter() - started
    if not timed_out and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and data:
        try:
            record: dict[str, Any] = json.loads(data)
            errors.close()
            return record
        except ValueError:
            pass
    errors.seek(0)
    stderr_tail = errors.read()[-4000:].decode("utf-8", "replace")
    errors.close()
    return _diagnose(job, status, timed_out, wall, stderr_tail)


def _become_child(stderr_fd: int, memory_mb: int) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # own process group: a kill reaches anything it started
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(stderr_fd, 2)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    if memory_mb > 0:
        with contextlib.suppress(ValueError, OSError):
            limit = _address_space_now() + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _address_space_now() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.close(fd)


def _collect(pid: int, fd: int, deadline: float) -> tuple[bytes, int, bool]:
    chunks: list[bytes] = []
    timed_out = False
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    if timed_out:
        _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), status, timed_out


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _failure_record(job: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    if job.get("check"):
        return {"check": True, "ok": False,
                "message": f"importing it ended with {type(exc).__name__}: {exc}"}
    rec = base_record(job)
    if isinstance(exc, SystemExit) and _state.sandboxes is None:
        from harness._sandbox.host import _exit_message  # noqa: PLC0415

        rec.kind = "error"
        rec.message = _exit_message(exc)
    elif isinstance(exc, MemoryError) and _state.sandboxes is None:
        rec.kind = "error"
        rec.message = "the code ran out of memory (the test process is limited)"
    else:
        rec.message = f"internal error in raftlab's worker: {type(exc).__name__}: {exc}"
        rec.details = "".join(traceback.format_exception(exc))
    out: dict[str, Any] = rec.to_dict()
    return out


def _diagnose(job: dict[str, Any], status: int, timed_out: bool, wall: float,
              stderr_tail: str) -> dict[str, Any]:
    rec = base_record(job)
    if job.get("check"):
        rec.name = "(load)"
    rec.wall_time = round(wall, 3)
    cap = float(job.get("wall", 60.0))
    if _state.sandboxes is not None:
        # The child ran only raftlab's code: however it ended, it is not the student's.
        rec.message = (f"internal error in raftlab: the process that ran the tester ended "
                       f"abnormally (status {status}{', timed out' if timed_out else ''})")
        rec.details = stderr_tail.strip()
        out: dict[str, Any] = rec.to_dict()
        return out
    rec.kind = "error"
    if timed_out:
        rec.message = (f"the run did not finish within its wall-clock cap of {cap:g} s and was "
                       "stopped. The code hangs, or does far too much work per event.")
    elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_SPIN:
        rec.message = ("a callback spun on the CPU and caught every interrupt (a bare `except:` "
                       "or `except BaseException:` around a busy loop?), so its test process "
                       "was ended")
    elif os.WIFEXITED(status):
        rec.message = (f"the test process ended with exit status {os.WEXITSTATUS(status)} "
                       "before the test finished (os._exit()? a crash in a C extension?)")
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name: object = signal.Signals(sig).name
        except ValueError:
            name = sig
        if sig == signal.SIGKILL:
            rec.message = ("the test process was killed by SIGKILL: the code killed its own "
                           "process, or it ran out of memory")
        elif sig == signal.SIGXFSZ:
            rec.message = ("the test process was killed by SIGXFSZ: it wrote more output than "
                           "the 256 MB allowed (limit: file size)")
        else:
            rec.message = f"the test process was killed by signal {name}"
    else:
        rec.message = f"the test process ended abnormally (status {status})"
    rec.details = stderr_tail.strip()
    out = rec.to_dict()
    return out


# ------------------------------------------------------------------- worker


def _on_term(signum: int, frame: object) -> None:
    if _state.child is not None:
        _kill_group(_state.child)
    os._exit(1)


def main(argv: list[str] | None = None) -> None:
    """Serve jobs from stdin until it closes."""
    parser = argparse.ArgumentParser(prog="python -m grader.worker")
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--core", type=int)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    if args.core is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.core})
    if args.sandbox:
        # First, before any job and before the tester is even imported.
        from harness._trusted.sandboxes import Sandboxes  # noqa: PLC0415

        _state.sandboxes = Sandboxes()
    from .suite_index import all_tests  # noqa: PLC0415

    all_tests()  # preload the suite
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        record = run_isolated(job) if hasattr(os, "fork") else run_job(job)
        out.write(json.dumps(record, default=str) + "\n")
        out.flush()
    if _state.sandboxes is not None:
        _state.sandboxes.close()


if __name__ == "__main__":
    main()
