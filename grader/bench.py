"""``raftlab bench``: how fast the simulator and the suite run.

    raftlab bench                  # print the figures
    raftlab bench --json out.json  # and save them

Figures:
  * sim_rpc_per_sec   - the lossy echo workload (20 clients, 3 servers,
    unreliable network: labrpc's drops and 0-26 ms delays) on the virtual-time
    loop, with the trace on: simulated RPCs per wall-second.
  * plain_rpc_per_sec - the same workload and network code on a plain asyncio
    loop with every delay zero: the baseline, what asyncio itself costs.
    The ratio is the simulator's overhead.
  * idle_10min_wall   - wall seconds for an idle 3-server cluster (heartbeat
    tasks every 100 ms) to live 10 virtual minutes.
  * suite_wall / slowest - the 28 lab tests against the reference on one seed,
    in this process (the grader adds process start-up on top).

Wall-clock figures vary with the machine and its load: they are measured
here, not asserted in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import platform
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Incarnation, Network, Simulation, Trace, run_lab_test

from .impl import load_impl, resolve_impl
from .suite_index import mit_tests

ROOT = Path(__file__).resolve().parent.parent
ECHO_CLIENTS = 20
ECHO_SERVERS = 3


@dataclass
class EchoArgs:
    """The echo workload's message."""

    seq: int
    payload: str


class EchoServer:
    """Replies with its argument."""

    def __init__(self) -> None:
        self.served = 0

    def echo(self, args: EchoArgs) -> EchoArgs:
        self.served += 1
        return args


async def _echo_clients(net: Network, calls_per_client: int) -> int:
    async def client(k: int) -> int:
        end = net.make_end(-1, k % ECHO_SERVERS)
        net.enable(end, True)
        ok = 0
        for i in range(calls_per_client):
            if await end.call("echo", EchoArgs(i, "x" * 16)) is not None:
                ok += 1
        return ok

    results = await asyncio.gather(*(client(k) for k in range(ECHO_CLIENTS)))
    return sum(results)


def _add_echo_servers(net: Network, incarnation: Callable[[int], Incarnation]) -> None:
    for s in range(ECHO_SERVERS):
        inc = incarnation(s)
        net.add_server(s, inc.run(EchoServer), inc)


def echo_simulated(calls_per_client: int, seed: int = 1) -> tuple[int, float]:
    """RPCs issued and wall seconds for the lossy echo workload, simulated."""
    sim = Simulation(seed)
    _add_echo_servers(sim.net, sim.new_incarnation)
    sim.net.set_reliable(False)
    start = time.perf_counter()
    outcome = sim.run(_echo_clients(sim.net, calls_per_client))
    wall = time.perf_counter() - start
    if outcome.failure is not None:
        raise outcome.failure
    return sim.net.total_rpcs, wall


def echo_plain_asyncio(calls_per_client: int, seed: int = 1) -> tuple[int, float]:
    """The same workload on a plain asyncio loop with zero delays (baseline)."""
    loop = asyncio.new_event_loop()
    try:
        net = Network(loop, random.Random(seed), Trace(), delays=False)
        _add_echo_servers(net, lambda s: Incarnation(s, 1))
        net.set_reliable(False)
        start = time.perf_counter()
        loop.run_until_complete(_echo_clients(net, calls_per_client))
        return net.total_rpcs, time.perf_counter() - start
    finally:
        loop.close()


async def _idle(seconds: float) -> None:
    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(heartbeat()) for _ in range(ECHO_SERVERS)]
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()


def idle_cluster(virtual_seconds: float = 600.0) -> float:
    sim = Simulation(1)
    start = time.perf_counter()
    sim.run(_idle(virtual_seconds))
    return time.perf_counter() - start


def lab_tests() -> list[tuple[str, Callable[..., Coroutine[Any, Any, None]]]]:
    """The 28 lab tests in MIT's order."""
    return list(mit_tests().items())


def suite_on_reference(seed: int = 1) -> tuple[float, list[tuple[str, float]], int]:
    raft = load_impl(resolve_impl("reference"))
    timings = []
    failures = 0
    start = time.perf_counter()
    for name, fn in lab_tests():
        with contextlib.redirect_stdout(io.StringIO()):
            r = run_lab_test(fn, raft, seed)
        failures += not r.passed
        timings.append((name, r.wall_time))
    total = time.perf_counter() - start
    timings.sort(key=lambda nt: -nt[1])
    return total, timings, failures


def run(json_path: str | None = None, *, calls_per_client: int = 2000,
        suite: bool = True) -> dict[str, Any]:
    """Measure everything and print it; return the figures."""
    def best(measure: Callable[[], float]) -> float:
        return min(measure() for _ in range(3))

    sim_rpcs, _ = echo_simulated(calls_per_client)
    sim_wall = best(lambda: echo_simulated(calls_per_client)[1])
    plain_rpcs, _ = echo_plain_asyncio(calls_per_client)
    plain_wall = best(lambda: echo_plain_asyncio(calls_per_client)[1])
    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "sim_rpcs": sim_rpcs,
        "sim_rpc_per_sec": round(sim_rpcs / sim_wall),
        "plain_rpc_per_sec": round(plain_rpcs / plain_wall),
        "idle_10min_wall": round(best(idle_cluster), 4),
    }
    print(f"lossy echo, simulated (virtual time, trace on): "
          f"{figures['sim_rpc_per_sec']:>9,} RPC/s")
    print(f"lossy echo, plain asyncio loop, zero delays:    "
          f"{figures['plain_rpc_per_sec']:>9,} RPC/s")
    print(f"idle 3-server cluster, 10 virtual minutes:      "
          f"{figures['idle_10min_wall']:>9.3f} s")
    if suite and not (ROOT / "reference" / "raft" / "raft.py").is_file():
        print("(the reference solution is not installed: no suite timing)")
        suite = False
    if suite:
        total, timings, failures = suite_on_reference()
        figures["suite_wall"] = round(total, 3)
        figures["suite_failures"] = failures
        figures["slowest"] = [[n, round(t, 3)] for n, t in timings[:5]]
        print(f"28 lab tests on the reference, seed 1, one process: {total:.2f} s "
              f"({failures} failures)")
        for name, t in timings[:5]:
            print(f"    {name:40s} {t:6.2f} s")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return figures
