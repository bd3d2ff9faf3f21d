"""Small services and helpers shared by the harness tests (no Raft here).

    sim, handles, services = cluster(seed, n=3)   # n echo servers, booted, registered
    end = client(sim, 0)                          # an enabled end from -1 to server 0
    reply = await end.call("echo", Args(5))       # a Record: value=5, server=0, number=1

Services are shaped like a Raft (``Service(peers, me, persister, apply_ch)``)
and run in hosts in this process (``LocalServers``), so a test can look at the
object itself (``services[i]``, ``service_of(handle)``). ``life()`` tells a
service which server life it is. The argument and reply types are module-level
dataclasses, so the codec can rebuild them on the receiving side; the trusted
side reads replies with ``safe_decode`` (fields by name, ``==`` by value).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import Disk, Limits, LocalServers, ServerHandle, Simulation
from harness._sandbox.host import current
from harness._sandbox.loader import ClassImpl
from harness._trusted.network import ClientEnd


def life() -> tuple[int, int]:
    """(server, incarnation number) of the server life whose code is running."""
    host = current.host
    assert host is not None, "life() is for code running in a server life"
    number = int(host.label.rsplit(" ", 1)[-1].rstrip(")"))
    return host.server, number


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

    def __init__(self, peers: Any = None, me: int = 0, persister: Any = None,
                 apply_ch: Any = None) -> None:
        self.peers = peers
        self.me, self.number = life()
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


class ToyServers(LocalServers):
    """In-process server lives whose class each ``serve`` chooses."""

    def __init__(self, n: int) -> None:
        super().__init__(ClassImpl(EchoService))
        self.n = n

    def use(self, service: Callable[..., Any]) -> None:
        self.impl = ClassImpl(service)  # type: ignore[arg-type]


def cluster(seed: int = 1, n: int = 3, service: Callable[..., Any] = EchoService, *,
            limits: Limits | None = None, latency: tuple[float, float] | None = None,
            spin_seconds: float = 1.0) -> tuple[Simulation, list[ServerHandle], list[Any]]:
    """A simulation with n servers of ``service`` booted and registered on the network
    (before the run starts: their constructors' tasks start when it does)."""
    kwargs: dict[str, Any] = {"limits": limits, "spin_seconds": spin_seconds}
    if latency is not None:
        kwargs["latency"] = latency
    sim = Simulation(seed, ToyServers(n), **kwargs)
    handles: list[ServerHandle] = []
    services: list[Any] = []
    for i in range(n):
        handle, svc = serve(sim, i, service)
        handles.append(handle)
        services.append(svc)
    return sim, handles, services


def serve(sim: Simulation, server: int,
          service: Callable[..., Any] = EchoService) -> tuple[ServerHandle, Any]:
    """Start, boot and register a new life of ``server`` running ``service``."""
    servers = sim.servers
    assert isinstance(servers, ToyServers)
    servers.use(service)
    handle = sim.start_server(server, servers.n)
    ends = [sim.net.make_end(server, j, handle.number) for j in range(servers.n)]
    for end in ends:
        sim.net.enable(end, True)
    handle.boot(Disk(), ends)
    sim.net.add_server(server, handle)
    return handle, service_of(handle)


def service_of(handle: ServerHandle) -> Any:
    """The object a server life runs (in-process hosts only)."""
    return handle.transport.host.raft  # type: ignore[attr-defined]


def restart(sim: Simulation, server: int, old: ServerHandle,
            service: Callable[..., Any] = EchoService) -> tuple[ServerHandle, Any]:
    """Crash ``old`` and register a new life of ``server``."""
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
