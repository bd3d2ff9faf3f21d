"""``raftlab bench``: how fast the simulator and the suite run, in both modes.

    raftlab bench                  # print the figures
    raftlab bench --json out.json  # and save them
    raftlab bench --no-suite       # the quick figures only

Figures:
  * echo_rpc_per_sec  - the lossy echo workload (20 outside clients, 3 echo
    servers, unreliable network: labrpc's drops and 0-26 ms delays), trace on:
    simulated RPCs per wall-second, with the servers in this process
    (``in_process``) and each in its own sandbox process (``sandboxed``).
  * round_trip_us     - one command to a sandboxed server life and its report
    (``get_state``), the lockstep's unit cost, on one core.
  * idle_10min_wall   - wall seconds for an idle 3-server cluster (heartbeat
    tasks every 100 ms) to live 10 virtual minutes.
  * suite_in_process / suite_sandboxed - every lab test (MIT's and the
    scenarios) on the reference, seed 1, one after another in this process;
    and ``sandbox_ratio``, the graded mode's cost against the fast one.

Wall-clock figures vary with the machine and its load: they are measured
here, not asserted in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from harness import ClassImpl, Disk, ModuleImpl, Simulation, run_lab_test
from harness._trusted.sandboxes import Sandboxed, Sandboxes, SandboxLimits
from harness._trusted.servers import LocalServers, Servers

from .benchservers import BeatingServer, EchoArgs, EchoServer
from .impl import load_impl, read_source, resolve_impl
from .suite_index import all_tests, mit_tests

ROOT = Path(__file__).resolve().parent.parent
ECHO_CLIENTS = 20
ECHO_SERVERS = 3


def _cluster(seed: int, servers: Servers) -> Simulation:
    sim = Simulation(seed, servers)
    for s in range(ECHO_SERVERS):
        handle = sim.start_server(s, ECHO_SERVERS)
        handle.boot(Disk(), [sim.net.make_end(s, j, handle.number) for j in range(ECHO_SERVERS)])
        sim.net.add_server(s, handle)
    return sim


async def _echo_clients(sim: Simulation, calls_per_client: int) -> int:
    async def client(k: int) -> int:
        end = sim.net.make_end(-1, k % ECHO_SERVERS)
        sim.net.enable(end, True)
        ok = 0
        for i in range(calls_per_client):
            if await end.call("echo", EchoArgs(i, "x" * 16)) is not None:
                ok += 1
        return ok

    results = await asyncio.gather(*(client(k) for k in range(ECHO_CLIENTS)))
    return sum(results)


def echo(servers: Servers, calls_per_client: int, seed: int = 1) -> tuple[int, float]:
    """RPCs issued and wall seconds for the lossy echo workload."""
    sim = _cluster(seed, servers)
    sim.net.set_reliable(False)
    start = time.perf_counter()
    outcome = sim.run(_echo_clients(sim, calls_per_client))
    wall = time.perf_counter() - start
    if outcome.failure is not None:
        raise outcome.failure
    return sim.net.total_rpcs, wall


def idle_cluster(virtual_seconds: float = 600.0) -> float:
    sim = _cluster(1, LocalServers(ClassImpl(BeatingServer)))
    start = time.perf_counter()
    sim.run(asyncio.sleep(virtual_seconds))
    return time.perf_counter() - start


def round_trip(sandboxes: Sandboxes, calls: int = 2000) -> float:
    """Microseconds per command to a sandboxed server life."""
    sim = _cluster(1, sandboxes.start_run_of(ModuleImpl("grader.benchservers", "EchoServer"),
                                             SandboxLimits()))
    handle = sim.handles[0]
    start = time.perf_counter()
    for _ in range(calls):
        handle.call("get_state")
    elapsed = time.perf_counter() - start
    sim.servers.close()
    return elapsed / calls * 1e6


def lab_tests() -> list[tuple[str, Callable[..., Coroutine[Any, Any, None]]]]:
    """The 28 lab tests in MIT's order."""
    return list(mit_tests().items())


def suite_on_reference(impl: Any, seed: int = 1) -> tuple[float, list[tuple[str, float]], int]:
    timings = []
    failures = 0
    start = time.perf_counter()
    for name, fn in all_tests().items():
        with contextlib.redirect_stdout(io.StringIO()):
            r = run_lab_test(fn, impl, seed)
        failures += not r.passed
        timings.append((name, r.wall_time))
    total = time.perf_counter() - start
    timings.sort(key=lambda nt: -nt[1])
    return total, timings, failures


def _one_core() -> None:
    """Run as a graded worker does: this process and its sandboxes on one core (a
    sandbox on another core would make every round trip cross cores)."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def reference_figures(seeds: int | None = None) -> dict[str, Any]:
    """The reference's figures per test over seeds 1..``seeds`` (means; wall times: the
    median and the heaviest seed), in both modes, with this machine's calibration:
    what ``grader.budget`` scales caps from."""
    from .budget import SEEDS, calibration_workload  # noqa: PLC0415

    seeds = seeds or SEEDS
    _one_core()
    path = resolve_impl("reference")
    local = load_impl(path)
    sandboxes = Sandboxes()
    tests: dict[str, Any] = {}
    try:
        calibration = statistics.median(calibration_workload() for _ in range(5))
        for name, fn in all_tests().items():
            rows = []
            for seed in range(1, seeds + 1):
                with contextlib.redirect_stdout(io.StringIO()):
                    a = run_lab_test(fn, local, seed)
                    b = run_lab_test(fn, Sandboxed(sandboxes, str(path), read_source(path),
                                                   SandboxLimits()), seed)
                if not (a.passed and b.passed):
                    raise RuntimeError(f"the reference fails {name} on seed {seed}")
                stats = a.stats
                rows.append((a.sim_time, stats.rpcs if stats else 0,
                             stats.commits if stats else 0, a.wall_time, b.wall_time))
            tests[name] = {
                "sim_time": round(statistics.fmean(r[0] for r in rows), 1),
                "rpcs": round(statistics.fmean(r[1] for r in rows)),
                "commits": round(statistics.fmean(r[2] for r in rows)),
                "wall_in_process": round(statistics.median(r[3] for r in rows), 3),
                "wall_sandboxed": round(statistics.median(r[4] for r in rows), 3),
                "wall_in_process_max": round(max(r[3] for r in rows), 3),
                "wall_sandboxed_max": round(max(r[4] for r in rows), 3),
            }
    finally:
        sandboxes.close()
    return {"python": platform.python_version(), "machine": platform.machine(),
            "seeds": seeds, "calibration": round(calibration, 4), "tests": tests}


def run(json_path: str | None = None, *, calls_per_client: int = 1000,
        suite: bool = True) -> dict[str, Any]:
    """Measure everything and print it; return the figures."""
    def best(measure: Callable[[], float]) -> float:
        return min(measure() for _ in range(3))

    _one_core()
    sandboxes = Sandboxes()
    try:
        def local() -> Servers:
            return LocalServers(ClassImpl(EchoServer))

        def sandboxed() -> Servers:
            return sandboxes.start_run_of(ModuleImpl("grader.benchservers", "EchoServer"),
                                          SandboxLimits())

        rpcs, _ = echo(local(), calls_per_client)
        figures: dict[str, Any] = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "echo_rpcs": rpcs,
            "echo_rpc_per_sec": {
                "in_process": round(rpcs / best(lambda: echo(local(), calls_per_client)[1])),
                "sandboxed": round(rpcs / best(lambda: echo(sandboxed(), calls_per_client)[1])),
            },
            "round_trip_us": round(best(lambda: round_trip(sandboxes)), 1),
            "idle_10min_wall": round(best(idle_cluster), 4),
            "protections": sandboxes.protections(),
        }
        rate = figures["echo_rpc_per_sec"]
        print(f"lossy echo, servers in-process:           {rate['in_process']:>9,} RPC/s")
        print(f"lossy echo, servers sandboxed:            {rate['sandboxed']:>9,} RPC/s")
        print(f"one command to a sandbox and its report:  {figures['round_trip_us']:>9.1f} µs")
        print(f"idle 3-server cluster, 10 virtual minutes: {figures['idle_10min_wall']:>8.3f} s")
        if suite and not (ROOT / "reference" / "raft" / "raft.py").is_file():
            print("(the reference solution is not installed: no suite timing)")
            suite = False
        if suite:
            path = resolve_impl("reference")
            local_total, timings, failures = suite_on_reference(load_impl(path))
            sandbox_total, _, sandbox_failures = suite_on_reference(
                Sandboxed(sandboxes, str(path), read_source(path), SandboxLimits()))
            figures["suite_in_process"] = round(local_total, 3)
            figures["suite_sandboxed"] = round(sandbox_total, 3)
            figures["sandbox_ratio"] = round(sandbox_total / local_total, 2)
            figures["suite_failures"] = failures + sandbox_failures
            figures["slowest"] = [[n, round(t, 3)] for n, t in timings[:5]]
            print(f"every lab test on the reference, seed 1, one process: {local_total:.2f} s "
                  f"in-process, {sandbox_total:.2f} s sandboxed "
                  f"({figures['sandbox_ratio']:.2f}x; {failures + sandbox_failures} failures)")
            for name, t in timings[:5]:
                print(f"    {name:40s} {t:6.2f} s")
    finally:
        sandboxes.close()
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return figures
