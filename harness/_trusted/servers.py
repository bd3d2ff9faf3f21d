"""Server lives as the trusted side sees them: handles stepped in lockstep.

    servers = LocalServers(impl)           # in-process: hosts in this process
    servers = run_sandbox.servers()        # sandboxed: one process per server life
    handle = ServerHandle(sim, server, number, servers.spawn(server, number), n=3)
    handle.boot(disk, ends, seed)          # Raft(peers, me, persister, apply_ch)
    handle.call("get_state")               # (term, is_leader), checked
    msg = await handle.apply_queue.get()   # the tester takes the next ApplyMsg
    handle.crash()                         # the process is gone: nothing of it runs again

A handle sends its server one command at a time (``harness._protocol``) and
acts on the checked report: it hands the RPCs the server sent to the network,
the last save to the server's disk, the ApplyMsgs it offered to the tester's
queue, its log records to the trace, and a broken rule to the loop as the
run's failure. It then schedules the server's next wake-up as an event of the
trusted loop, at the time of the server's earliest timer; the event sends
"run". Everything a server does happens inside such a command, at a moment
the trusted loop chose, so the whole run is one deterministic sequence.

Failures of the sandbox itself - it died, it took too long, it sent garbage -
are the student's: a StudentError for the run, never a HarnessError.

A transport carries frames to a server life and back:
    LocalTransport     calls a Host in this process (fast; for pdb)
    (sandboxed)        a socket to the server's process (``sandboxes``)
"""

from __future__ import annotations

import asyncio
import collections
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .._errors import (
    BlockingCallError,
    HarnessError,
    LivelockError,
    SpinError,
    StudentError,
)
from .._loop import _Event
from .._protocol import (
    ApplyMsg,
    Frame,
    ProtocolError,
    Report,
    command_boot,
    command_call,
    command_deliver,
    command_reply,
    command_run,
    command_taken,
    parse_report,
)
from .._sandbox.host import Host
from .._sandbox.loader import Impl
from .disk import Disk
from .safe_decode import SafeDecodeError, safe_decode

if TYPE_CHECKING:
    from .network import ClientEnd
    from .sim import Simulation


MAX_OFFERS = 10_000
"""ApplyMsgs one server life may have waiting on apply_ch at once."""


class SandboxFailure(Exception):
    """A server's sandbox broke down: it died, stalled or broke the protocol.
    ``kind`` is a protocol error kind when the sandbox said why (a spin)."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class Transport(Protocol):
    def request(self, frame: Frame) -> Frame: ...

    def close(self) -> None: ...


class Servers(Protocol):
    """Makes the transport of each new server life of one run."""

    sandboxed: bool

    def spawn(self, server: int, number: int) -> Transport: ...

    def close(self) -> None: ...


class ServersFactory(Protocol):
    """Makes the ``Servers`` of a run, given the run's "import" seed (sandboxes)."""

    def servers(self, import_seed: int) -> Servers: ...


class LocalTransport:
    """A Host in this process."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def request(self, frame: Frame) -> Frame:
        return self.host.handle(frame)

    def close(self) -> None:
        pass  # the host is torn down with the run (LocalServers.close)

    trusted = True  # its reports are this process's own: parse_report may skip its checks


class LocalServers:
    """In-process mode: every server life is a Host in this process."""

    sandboxed = False

    def __init__(self, impl: Impl) -> None:
        self.impl = impl
        self.hosts: list[Host] = []

    def spawn(self, server: int, number: int) -> LocalTransport:
        host = Host(self.impl, in_process=True)
        self.hosts.append(host)
        return LocalTransport(host)

    def close(self) -> None:
        """End every server life's code, crashed ones too (after the verdict: nothing it
        does is recorded or reaches anything; a coroutine cannot be dropped without
        being closed, which runs its ``finally`` blocks)."""
        for host in self.hosts:
            loop = host.loop
            if loop is not None and not loop.is_closed():
                previous = host._enter()
                try:
                    loop.shutdown()
                finally:
                    host._leave(previous)
                    host.effects.clear()
        self.hosts = []


_ERRORS: dict[str, type[StudentError]] = {
    "spin": SpinError, "livelock": LivelockError, "blocking": BlockingCallError,
}


def student_error(kind: str, message: str, where: str, details: str = "") -> StudentError:
    return _ERRORS.get(kind, StudentError)(message, where=where, details=details)


class ApplyQueue:
    """The tester's end of one server life's ``apply_ch``: offers in order.

    ``get`` takes the oldest offer; the server's ``put`` returns after the
    tester's current callback (Go: the send completes when the receiver takes
    the message, and the receiver may act on it - call ``Snapshot`` - before
    the sender runs again).
    """

    def __init__(self, handle: ServerHandle) -> None:
        self._handle = handle
        self._offers: collections.deque[tuple[int, ApplyMsg]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, put_id: int, msg: ApplyMsg) -> None:
        self._offers.append((put_id, msg))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __len__(self) -> int:
        return len(self._offers)

    async def get(self) -> ApplyMsg:
        while not self._offers:
            loop = self._handle.sim.loop
            self._waiter = loop.create_future()
            await self._waiter
        put_id, msg = self._offers.popleft()
        self._handle.sim.loop.call_soon(self._handle.taken, put_id)
        return msg


class Inspected(NamedTuple):
    """A server's debug_state() after a step (HANDOUT §3.9); None: not reported."""

    role: str | None
    term: int | None
    voted_for: int | None
    commit: int | None
    applied: int | None
    snapshot: int | None
    log: tuple[tuple[int, int], ...] | None  # (term, count) runs after the snapshot


class ServerHandle:
    """One server life on the trusted side. See the module docstring."""

    def __init__(self, sim: Simulation, server: int, number: int, transport: Transport, *,
                 n: int) -> None:
        self.sim = sim
        self.server = server
        self.number = number
        self.n = n
        self.label = f"server {server} (incarnation {number})"
        self.transport = transport
        self.alive = True
        self.failure: StudentError | None = None
        self.ends: list[ClientEnd] = []
        self.disk = Disk()
        self.apply_queue = ApplyQueue(self)
        self.on_state: Callable[[ServerHandle, int, bool], None] | None = None
        self.on_inspect: Callable[[ServerHandle, Inspected], None] | None = None
        self.state: tuple[int, bool] | None = None   # get_state() after its last step
        self._wake: _Event | None = None
        self._wake_at: float | None = None
        self.paused = False  # halted at a reply (network "halt"): runs nothing until resumed
        self._deferred: list[Callable[[], Frame]] = []

    def __repr__(self) -> str:
        return f"<ServerHandle S{self.server}#{self.number}{'' if self.alive else ' dead'}>"

    # ------------------------------------------------------------- commands

    def _request(self, frame: Frame) -> Report:
        """Send one command; act on the report. Raises StudentError if the server
        broke down or broke a rule (the run's failure is recorded either way)."""
        if self.failure is not None:
            raise self.failure
        if not self.alive:
            raise HarnessError(f"internal error in raftlab: a command to {self.label}, which "
                               "has crashed")
        try:
            report = parse_report(self.transport.request(frame), self.n,
                                  checked=getattr(self.transport, "trusted", False))
        except (SandboxFailure, ProtocolError) as e:
            self._fail(student_error(getattr(e, "kind", "error"), str(e), self.label))
            raise self.failure from None  # type: ignore[misc]
        except StudentError as e:  # the run's wall-clock budget ran out
            if not e.where:
                e.where = self.label
            self._fail(e)
            raise
        self._apply(report)
        if self.failure is not None:
            raise self.failure
        return report

    def _step(self, frame: Frame) -> Report | None:
        """A command from an event (delivery, reply, wake-up): failures are recorded."""
        if not self.alive:
            return None
        if self.paused:  # kept for resume(), at the time it resumes
            kind, args = frame[0], frame[2:]
            self._deferred.append(lambda: [kind, self.sim.now(), *args])
            return None
        try:
            return self._request(frame)
        except StudentError:
            return None

    def boot(self, disk: Disk, ends: list[ClientEnd]) -> None:
        """Construct the server's Raft; raises StudentError if that fails."""
        self.disk = disk
        self.ends = ends
        sim = self.sim
        report = self._request(command_boot(
            sim.now(), self.server, self.n, self.number, sim.student_seed(self.server, self.number),
            sim.import_seed, sim.log_level, disk.raft_state, disk.snapshot, sim.inspect))
        status = report.result[0]
        if status == "noload":
            self._fail(StudentError(f"cannot load the implementation: {report.result[1]}",
                                    where=self.label))
            raise self.failure  # type: ignore[misc]
        if status == "raised":
            self._fail(student_error(report.result[1], report.result[2], self.label,
                                     report.result[3]))
            raise self.failure  # type: ignore[misc]

    def call(self, name: str, *args: Any, shown: object = None) -> Any:
        """One of the tester's calls: get_state, start, snapshot or kill (``shown``:
        the command, as messages name it)."""
        what = f"{name}()"
        report = self._request(command_call(self.sim.now(), name, *args))
        status = report.result[0]
        if status == "ok":
            value = report.result[1]
            if name == "get_state" and not (isinstance(value, tuple) and len(value) == 2):
                raise self._broken(f"{what} returned nothing")
            if name == "start" and not (isinstance(value, tuple) and len(value) == 3):
                raise self._broken(f"{what} returned nothing")
            return value
        if status == "raised":
            raise student_error(report.result[1], report.result[2], self.label,
                                report.result[3])
        if status == "bad":
            if name == "get_state":
                raise StudentError(f"get_state() returned {report.result[1]}; it must return a "
                                   "tuple (current_term: int, is_leader: bool)", where=self.label)
            raise StudentError(f"start({shown!r}) returned {report.result[1]}; "
                               "it must return a tuple (index: int, term: int, is_leader: bool)",
                               where=self.label)
        raise self._broken(f"{what} got an answer of unknown kind")

    def _broken(self, what: str) -> StudentError:
        self._fail(StudentError(f"the sandbox broke the protocol: {what}", where=self.label))
        return self.failure  # type: ignore[return-value]

    def deliver(self, cid: int, method: str, data: bytes, halt: bool = False) -> Any:
        """An RPC request reaches the server: ("reply", bytes), ("pending",) or None.
        ``halt``: the server's step ends when the handler returns (``pause``)."""
        report = self._step(command_deliver(self.sim.now(), cid, method, data, halt))
        if report is None:
            return None
        value = report.result[1] if report.result[0] == "ok" else None
        if value is None or value[0] in ("reply", "pending"):
            return value
        self._broken("a delivery got an answer of unknown kind")
        return None

    def reply(self, lid: int, data: bytes | None) -> None:
        """The call ``lid`` the server made has ended: a reply, or None."""
        self._step(command_reply(self.sim.now(), lid, data))

    def taken(self, put_id: int) -> None:
        self._step(command_taken(self.sim.now(), put_id))

    def _wake_up(self) -> None:
        self._wake = None
        self._wake_at = None
        self._step(command_run(self.sim.now()))

    def pause(self) -> None:
        """Run nothing more of the server (no wake-ups; replies to its calls and
        ApplyMsgs taken wait) until ``resume``, or a crash."""
        self.paused = True
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self._wake_at = None

    def resume(self) -> None:
        """Go on from ``pause``: what waited runs now, in order."""
        if not self.paused:
            return
        self.paused = False
        waiting, self._deferred = self._deferred, []
        for make in waiting:
            self._step(make())
        if self.alive and self.failure is None:
            self._schedule_wake(self.sim.now())

    def crash(self) -> None:
        """The server's process is gone: nothing of it runs again."""
        if not self.alive:
            return
        self.alive = False
        self.paused = False
        self._deferred = []
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self.transport.close()

    # -------------------------------------------------------------- reports

    def _apply(self, report: Report) -> None:
        sim = self.sim
        sent = False
        for e in report.effects:
            kind = e[0]
            if kind == "send":
                sim.net.send(self.ends[e[2]], e[3], e[4], functools.partial(self.reply, e[1]))
                sent = True
            elif kind == "replied":
                sim.net.handler_returned(self, e[1], e[2])
            elif kind == "save":
                self.disk.save(e[1], e[2])
            elif kind == "offer":
                self._offer(e)
            elif kind == "log":
                sim.log(self.server, self.number, e[1], e[2], e[3])
            elif kind == "error":
                self._fail(student_error(e[1], e[2], self.label, e[3]))
            elif kind == "profile":
                samples = sim.samples
                for name, count in e[1]:
                    samples[name] = samples.get(name, 0) + count
            elif kind == "inspect":
                self._inspected(e)
        if sent:
            why = sim.net.overloaded() or sim.overloaded()
            if why is not None:
                self._fail(StudentError(why, where=self.label))
        if self.failure is None and self.alive:
            self._schedule_wake(report.wake)
            state = report.state
            if state is not None:
                if state != self.state:
                    self.state = state
                    sim.trace.add(sim.now(), "state", self.server, self.number, state[0],
                                  state[1])
                if self.on_state is not None:
                    self.on_state(self, state[0], state[1])

    def _inspected(self, e: tuple[Any, ...]) -> None:
        if not self.sim.inspect:
            return  # not asked for (a hostile sandbox may send one anyway)
        runs = None if e[7] is None else tuple((r[0], r[1]) for r in e[7])
        info = Inspected(e[1], e[2], e[3], e[4], e[5], e[6], runs)
        sim = self.sim
        sim.trace.add(sim.now(), "inspect", self.server, self.number, info.role, info.term,
                      info.voted_for, info.commit, info.applied, info.snapshot,
                      None if runs is None else [list(r) for r in runs])
        if self.on_inspect is not None:
            self.on_inspect(self, info)

    def _offer(self, e: tuple[Any, ...]) -> None:
        _, put_id, cv, command, ci, sv, snapshot, st, si = e
        try:
            value = None if command is None else safe_decode(command)
        except SafeDecodeError as err:
            self._fail(StudentError(f"apply_ch.put(): the command is not plain data: {err}",
                                    where=self.label))
            return
        if len(self.apply_queue) >= MAX_OFFERS:
            self._fail(StudentError(f"more than {MAX_OFFERS:,} ApplyMsgs were waiting on apply_ch "
                                    "at once; send them from one task, one at a time",
                                    where=self.label))
            return
        self.apply_queue.offer(put_id, ApplyMsg(cv, value, ci, sv, snapshot, st, si))

    def _schedule_wake(self, when: float | None) -> None:
        if self.paused:
            return
        if when is not None and when == self._wake_at:
            return
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self._wake_at = when
        if when is not None:
            loop = self.sim.loop
            self._wake = loop.schedule(max(when, loop.time()), self._wake_up)

    def _fail(self, err: StudentError) -> None:
        if self.failure is None:
            self.failure = err
        self.sim.loop.fail(err)
