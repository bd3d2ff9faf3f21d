"""Small services and helpers shared by the harness tests (no Raft here).

    sim, incs, services = cluster(seed, n=3)   # n echo servers, registered
    end = client(sim, 0)                       # an enabled end from -1 to server 0
    reply = await end.call("echo", Args(5))    # Reply(value=5, server=0, number=1)

The argument and reply types are module-level dataclasses, so the codec can
rebuild them on the receiving side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import ClientEnd, Incarnation, Limits, Simulation


@dataclass
class Args:
    value: Any = None


@dataclass
class Reply:
    value: Any = None
    server: int = -1
    number: int = 0


@dataclass
class Inner:
    items: Any = None


@dataclass
class Outer:
    name: str = ""
    inner: Any = None


class EchoService:
    """Replies with what it got; counts its calls; ``slow`` sleeps first."""

    def __init__(self, me: int = 0, number: int = 1) -> None:
        self.me = me
        self.number = number
        self.calls = 0
        self.finished: list[Any] = []  # values whose slow handler returned
        self.received: list[Any] = []  # the argument objects as received

    def echo(self, args: Args) -> Reply:
        self.calls += 1
        self.received.append(args)
        return Reply(args.value, self.me, self.number)

    async def slow(self, args: Args) -> Reply:
        self.calls += 1
        await asyncio.sleep(args.value)
        self.finished.append(args.value)
        return Reply(args.value, self.me, self.number)

    def log(self, args: Args) -> Reply:
        logging.getLogger("toy").info("echo %s from server %d", args.value, self.me)
        return Reply(args.value, self.me, self.number)

    # Reserved names: never RPC handlers.
    def get_state(self) -> tuple[int, bool]:
        return 0, False

    def kill(self) -> None:
        pass

    def _private(self, args: Args) -> Reply:
        return Reply()


def cluster(seed: int = 1, n: int = 3, service: Callable[..., Any] = EchoService, *,
            limits: Limits | None = None, latency: tuple[float, float] | None = None,
            spin_seconds: float = 1.0) -> tuple[Simulation, list[Incarnation], list[Any]]:
    """A simulation with n servers (service(me, number)) registered on the network.

    The constructors run before the simulation does, so they must not start
    tasks; a service that does is started with ``serve`` from inside the run.
    """
    kwargs: dict[str, Any] = {"limits": limits, "spin_seconds": spin_seconds}
    if latency is not None:
        kwargs["latency"] = latency
    sim = Simulation(seed, **kwargs)
    incs: list[Incarnation] = []
    services: list[Any] = []
    for i in range(n):
        inc, svc = serve(sim, i, service)
        incs.append(inc)
        services.append(svc)
    return sim, incs, services


def serve(sim: Simulation, server: int,
          service: Callable[..., Any] = EchoService) -> tuple[Incarnation, Any]:
    """Start a new incarnation of ``server`` running ``service(me, number)``."""
    inc = sim.new_incarnation(server)
    svc = inc.run(service, server, inc.number)
    sim.net.add_server(server, svc, inc)
    return inc, svc


def restart(sim: Simulation, server: int, old: Incarnation,
            service: Callable[..., Any] = EchoService) -> tuple[Incarnation, Any]:
    """Crash ``old`` and register a new incarnation of ``server``."""
    sim.net.delete_server(server)
    sim.crash(old)
    return serve(sim, server, service)


def client(sim: Simulation, dst: int, src: int = -1, enabled: bool = True) -> ClientEnd:
    """An end from ``src`` (-1: an outside client) to server ``dst``."""
    end = sim.net.make_end(src, dst)
    sim.net.enable(end, enabled)
    return end


def events(sim: Simulation, kind: str) -> list[tuple[Any, ...]]:
    return [ev for ev in sim.trace.events if ev[1] == kind]


def lost_reasons(sim: Simulation) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ev in events(sim, "lost"):
        counts[ev[7]] = counts.get(ev[7], 0) + 1
    return counts


def run(sim: Simulation, main: Any) -> Any:
    """Run ``main`` and return its result, failing the test if the run failed."""
    outcome = sim.run(main)
    assert outcome.failure is None, f"{type(outcome.failure).__name__}: {outcome.failure}"
    return outcome.result
