"""A busy, seeded toy world for the determinism tests (test_sim.py).

    python -c "from tests.harness.workload import main; main()" SEED
                                  # prints a JSON summary of one run

(Not ``python -m``: as ``__main__`` the class names in the log messages would
differ from an in-process run's.)

Three chatty servers and four outside clients on an unreliable network with
long reordering and long delays; a partition and a heal; a crash and a
restart. Each server life runs in its own host (``toys.cluster``) and is
shaped like a Raft (``Chatty(peers, me, persister, apply_ch)``). Server code
uses the module-level ``random`` functions (each life's own "student/S/N"
stream), ``logging`` (with object reprs that contain memory addresses) and
``asyncio.wait``, so the run exercises every source of nondeterminism the
harness has to tame.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import sys
from typing import Any

from harness import Simulation

from .toys import Args, Reply, client, cluster, life, serve

N = 3
log = logging.getLogger("toy.chatty")


class Chatty:
    """Echoes, and gossips to random peers every 50-150 ms."""

    def __init__(self, peers: list[Any], me: int, persister: Any, apply_ch: Any) -> None:
        self.peers = peers
        self.me, self.number = life()
        assert self.me == me
        self.seen = 0
        asyncio.get_running_loop().create_task(self.gossip())

    def echo(self, args: Args) -> Reply:
        self.seen += 1
        return Reply(args.value, self.me, self.number)

    async def ponder(self, args: Args) -> Reply:
        await asyncio.sleep(random.uniform(0, 0.3))
        return Reply({"sum": sum(args.value), "by": self.me}, self.me, self.number)

    async def gossip(self) -> None:
        while True:
            await asyncio.sleep(random.uniform(0.05, 0.15))
            others = [p for p in self.peers if p.dst != self.me]
            calls = [asyncio.create_task(p.call("echo", Args({"from": self.me, "n": self.seen})))
                     for p in others]
            done, _pending = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
            answered = [t.result() for t in done]  # set order: deterministic per run
            log.info("server %d got %s via %s", self.me, answered, self)

    # The tester's API (never RPC handlers).
    def get_state(self) -> tuple[int, bool]:
        return 0, False

    def kill(self) -> None:
        pass


def world(seed: int) -> Simulation:
    """Run the workload from ``seed``; return the finished simulation."""
    sim, handles, _ = cluster(seed, N, Chatty)
    net = sim.net

    async def outside_client(c: int) -> None:
        ends = [client(sim, j) for j in range(N)]
        for k in range(40):
            target = sim.rng.randrange(N)
            if k % 3:
                await ends[target].call("echo", Args([c, k, "x" * k]))
            else:
                await ends[target].call("ponder", Args(list(range(k))))
            await asyncio.sleep(sim.rng.random() * 0.2)

    async def scenario() -> None:
        net.set_reliable(False)
        net.set_long_reordering(True)
        net.set_long_delays(True)
        clients = [asyncio.create_task(outside_client(c)) for c in range(4)]
        await asyncio.sleep(3)
        net.partition([0], [1, 2])
        await asyncio.sleep(2)
        net.heal()
        await asyncio.sleep(1)
        sim.net.delete_server(1)
        sim.crash(handles[1])
        await asyncio.sleep(1)
        handles[1], _ = serve(sim, 1, Chatty)
        await asyncio.gather(*clients)
        await asyncio.sleep(1)

    outcome = sim.run(scenario())
    assert outcome.failure is None, outcome.failure
    return sim


def summary(sim: Simulation) -> dict[str, Any]:
    events = sim.trace.events
    return {
        "digest": sim.trace.digest(),
        "events": len(events),
        "sim_time": sim.now(),
        "kinds": dict(sorted(collections.Counter(ev[1] for ev in events).items())),
        "lost": dict(sorted(collections.Counter(ev[7] for ev in events
                                                if ev[1] == "lost").items())),
    }


def main() -> None:
    print(json.dumps(summary(world(int(sys.argv[1])))))
