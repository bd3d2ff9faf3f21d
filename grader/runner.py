"""Running many jobs on a pool of worker processes (see ``worker``).

    pool = WorkerPool(workers=4, sandbox=True)
    records = pool.run(jobs, on_start=..., on_done=..., deadline=None)
    pool.close()

One thread per worker feeds it jobs from a shared queue and reads its
records, so J runs proceed at once (``-j J``; default: the machine's cores).
Workers start with ``PYTHONHASHSEED=0`` so a run and its replay see the same
hash order even in code that iterates sets of strings. With ``sandbox``, each
worker runs the submission's server lives in sandboxes (``grader.worker``),
and worker k keeps itself and its sandboxes on the k-th core this process may
use: the lockstep between a worker and its sandboxes is cheapest on one core.

Robustness: a worker that dies (it should not: it never runs student code)
is replaced and its job recorded as a harness error. With a ``deadline``
(a global time budget, ``time.monotonic()`` based), jobs not finished by then
are recorded as ``not-run`` and their processes killed, so the caller can
always write partial results.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from .results import TestRecord, part_of

Job = dict[str, Any]


def default_workers() -> int:
    """Cores this process may use: CPU affinity, capped by a cgroup quota
    (containers such as Gradescope's report the host's cores otherwise)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def worker_env(hash_seed: int = 0) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = str(hash_seed)
    env.pop("PYTHONSTARTUP", None)
    return env


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return []


class _Worker:
    """One worker process and the pipe protocol to it."""

    def __init__(self, hash_seed: int = 0, *, sandbox: bool = False,
                 core: int | None = None) -> None:
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        argv = [sys.executable, "-m", "grader.worker"]
        if sandbox:
            argv.append("--sandbox")
        if core is not None:
            argv += ["--core", str(core)]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.errors, env=worker_env(hash_seed), text=True,
            bufsize=1)
        ready = self._readline(time.monotonic() + 60)
        if ready != "ready":
            raise RuntimeError(f"worker failed to start: {ready!r} {self._stderr()}")

    def _stderr(self) -> str:
        self.errors.seek(0)
        return self.errors.read()[-2000:].decode("utf-8", "replace")

    def _readline(self, deadline: float | None) -> str | None:
        assert self.proc.stdout is not None
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if ready:
                line = self.proc.stdout.readline()
                return line.rstrip("\n") if line else ""

    def run(self, job: Job, deadline: float | None) -> dict[str, Any] | None:
        """The job's record; None if the deadline passed first."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise RuntimeError(f"worker died: {self._stderr()}") from None
        line = self._readline(deadline)
        if line is None:
            return None
        if not line:
            raise RuntimeError(f"worker died: {self._stderr()}")
        record: dict[str, Any] = json.loads(line)
        return record

    def close(self, *, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                self.proc.terminate()  # the worker kills its child, then exits
            else:
                assert self.proc.stdin is not None
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errors.close()


class WorkerPool:
    """A pool of worker processes. See the module docstring."""

    def __init__(self, workers: int | None = None, *, hash_seed: int = 0,
                 sandbox: bool = False) -> None:
        self.size = max(1, workers or default_workers())
        self.hash_seed = hash_seed
        self.sandbox = sandbox
        self._cores = usable_cores() if sandbox else []
        self._workers: list[_Worker | None] = []
        self.protections: dict[str, bool] = {}  # what the sandboxes could apply (a check says)
        self._stopping = False  # kill() was called: serving threads leave quietly

    def run(self, jobs: list[Job], *, on_start: Callable[[Job], None] | None = None,
            on_done: Callable[[Job, TestRecord], None] | None = None,
            deadline: float | None = None,
            skip: Callable[[Job], bool] | None = None) -> list[TestRecord]:
        """Run every job; records come back in job order.

        ``skip(job)``, asked just before a job would start, lets the caller
        drop jobs that became pointless (the zoo: a mutant already killed);
        they come back as ``not-run`` records.
        """
        results: list[TestRecord | None] = [None] * len(jobs)
        todo: queue.Queue[int] = queue.Queue()
        for i in range(len(jobs)):
            todo.put(i)
        lock = threading.Lock()

        def finish(i: int, rec: TestRecord) -> None:
            with lock:
                results[i] = rec
            if on_done is not None:
                on_done(jobs[i], rec)

        def serve(slot: int) -> None:
            try:
                serve_jobs(slot)
            except Exception:
                if not self._stopping:  # after kill(), a worker dying under us is expected
                    raise

        def serve_jobs(slot: int) -> None:
            worker: _Worker | None = None
            while not self._stopping:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    break
                job = jobs[i]
                if deadline is not None and time.monotonic() >= deadline:
                    finish(i, not_run(job))
                    continue
                if skip is not None and skip(job):
                    finish(i, not_run(job, "skipped"))
                    continue
                try:
                    if worker is None:
                        worker = self._worker(slot)
                    if on_start is not None:
                        on_start(job)
                    record = worker.run(job, deadline)
                except RuntimeError as e:
                    finish(i, harness_error(job, str(e)))
                    if worker is not None:
                        worker.close(kill=True)
                    worker = None
                    self._workers[slot] = None
                    continue
                if record is None:  # the global deadline passed mid-run
                    worker.close(kill=True)
                    worker = None
                    self._workers[slot] = None
                    finish(i, not_run(job))
                    continue
                finish(i, TestRecord.from_dict(record))

        threads = [threading.Thread(target=serve, args=(slot,), daemon=True)
                   for slot in range(min(self.size, len(jobs)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [r if r is not None else not_run(jobs[i]) for i, r in enumerate(results)]

    def check_impl(self, impl: str, *, memory_mb: int = 1024, wall: float = 10.0) -> str | None:
        """Load the implementation in a worker (in a sandbox, or a child of the worker):
        None if fine, else why not."""
        job = {"check": True, "impl": impl, "memory_mb": memory_mb, "wall": wall}
        worker = self._worker(0)
        try:
            record = worker.run(job, None)
        except RuntimeError as e:
            return f"internal error while loading it: {e}"
        assert record is not None
        if record.get("check"):
            if isinstance(record.get("protections"), dict):
                self.protections = record["protections"]
            return None if record["ok"] else str(record["message"])
        return str(record.get("message"))  # the child died: a diagnosed record

    def _worker(self, slot: int) -> _Worker:
        while len(self._workers) <= slot:
            self._workers.append(None)
        worker = self._workers[slot]
        if worker is None or worker.proc.poll() is not None:
            core = self._cores[slot % len(self._cores)] if self._cores else None
            worker = _Worker(self.hash_seed, sandbox=self.sandbox, core=core)
            self._workers[slot] = worker
        return worker

    def close(self) -> None:
        for worker in self._workers:
            if worker is not None:
                worker.close()
        self._workers = []

    def kill(self) -> None:
        """Stop every worker now (each kills the run it has, with its sandboxes)."""
        self._stopping = True
        for worker in self._workers:
            if worker is not None:
                worker.close(kill=True)
        self._workers = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def not_run(job: Job, why: str = "the global time budget ran out first") -> TestRecord:
    return TestRecord(name=job["test"], part=part_of(job["test"]), seed=int(job["seed"]),
                      kind="not-run", replay=job.get("replay", ""), message=f"not run: {why}")


def harness_error(job: Job, why: str) -> TestRecord:
    return TestRecord(name=job["test"], part=part_of(job["test"]), seed=int(job["seed"]),
                      kind="harness-error", replay=job.get("replay", ""),
                      message=f"internal error in raftlab: {why}")
