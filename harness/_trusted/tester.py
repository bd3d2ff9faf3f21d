"""The tester: MIT's config.go for a cluster of Raft servers, in virtual time.

    cfg = Config(sim, n=3, unreliable=False, snapshot=False)   # sim.servers runs the Raft
    cfg.begin("Test (2A): initial election")
    leader = await cfg.check_one_leader()
    index = await cfg.one(cmd, expected_servers=3, retry=True)
    cfg.disconnect(i); cfg.connect(i); cfg.crash1(i); cfg.start1(i)
    cfg.end()                     # prints MIT's "  ... Passed --" line

Names are config.go's in snake_case; every failure raises ``Fatal`` with
config.go's message, word for word. Waits are virtual (``asyncio.sleep`` on the
simulator's clock), so MIT's timings carry over unchanged: ``check_one_leader``
sleeps 450-549 ms per try, ``one`` polls every 20 ms, and so on. Randomness
comes from the run's "tester" stream (``self.rand``), MIT's ``rand``.

Student code is only ever called through a server life's handle
(``servers.ServerHandle``): a command to its sandbox, whose failures and
malformed return values become a StudentError that says which method of which
server misbehaved. ``rafts[i]`` is server i's handle (None while it is down).

What config.go does that is kept (HANDOUT.md's appendix 9 lists where raftlab differs):
  * ``crash1`` disconnects, deletes the server, copies the persister before
    ``kill()`` and again after, so the next life gets exactly the bytes saved
    before the kill; after ``kill()`` nothing of that life runs again.
  * ``start1`` crashes first, makes new (disabled) ends, ingests the persisted
    snapshot (2D), and does not connect.
  * ``logs`` survives restarts; ``n_committed`` counts crashed servers too.
  * apply errors end the run at once ("apply error: ...").
  * the applier for 2D calls ``snapshot()`` synchronously from the task that
    reads ``apply_ch``, every ``SNAPSHOT_INTERVAL`` entries.
  * ``apply_ch`` is unbuffered: a server's ``put`` returns only after the
    applier has taken the message and acted on it (and perhaps called
    ``snapshot()``), as a send on Go's unbuffered applyCh may.
  * the 120 s limit is measured from the config's creation.
Messages a crashed incarnation left in its ``apply_ch`` are dropped.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any, Final

from .._codec import encode
from .._errors import Fatal, StudentError
from .._protocol import ApplyMsg
from .disk import Disk, peak_raft_state_size
from .monitors import SafetyMonitor
from .network import ClientEnd
from .safe_decode import SafeDecodeError, safe_decode
from .servers import ServerHandle
from .sim import Simulation

RAFT_ELECTION_TIMEOUT: Final = 1.0
"""Seconds: "The tester generously allows solutions to complete elections in one second"."""

SNAPSHOT_INTERVAL: Final = 10
"""The 2D applier asks for a snapshot at every index i with (i + 1) % 10 == 0."""

TIME_LIMIT: Final = 120.0
"""Seconds of (virtual) time a test may take, measured from the config's creation."""


@dataclass(frozen=True)
class PassedLine:
    """The five numbers of MIT's "Passed" line."""

    seconds: float
    peers: int
    rpcs: int
    bytes: int
    commits: int

    def __str__(self) -> str:
        return (f"  ... Passed --  {self.seconds:4.1f}  {self.peers} {self.rpcs:4d} "
                f"{self.bytes:7d} {self.commits:4d}")


_MISSING: Final = object()


class Config:
    """A cluster of ``n`` servers of one Raft implementation (config.go)."""

    def __init__(self, sim: Simulation, n: int, unreliable: bool, snapshot: bool, *,
                 monitors: bool = True) -> None:
        self.sim = sim
        self.net = sim.net
        self.rand = sim.rng
        self.n = n
        self.snapshot = snapshot
        self.finished = False
        self.failed = False
        self.rafts: list[ServerHandle | None] = [None] * n
        self.apply_err: list[str] = [""] * n
        self.connected: list[bool] = [False] * n
        self.saved: list[Disk | None] = [None] * n
        self.ends: list[list[ClientEnd] | None] = [None] * n
        self.logs: list[dict[int, Any]] = [{} for _ in range(n)]
        self.last_applied: list[int] = [0] * n
        self._appliers: list[asyncio.Task[None] | None] = [None] * n
        self._taking = [asyncio.Event() for _ in range(n)]  # cleared: the service is busy
        for taking in self._taking:
            taking.set()
        self.start_time = sim.now()
        self.description = ""
        self.t0 = self.start_time
        self.rpcs0 = 0
        self.bytes0 = 0
        self.max_index = 0
        self.max_index0 = 0
        self.passed_line: PassedLine | None = None
        self.disks: list[Disk] = []  # every disk handed to a server
        self.monitor = SafetyMonitor(sim) if monitors else None

        self.set_unreliable(unreliable)
        self.net.set_long_delays(True)
        for i in range(n):
            self.start1(i)
        for i in range(n):
            self.connect(i)

    # ------------------------------------------------------ calling students

    def _handle(self, i: int) -> ServerHandle:
        rf = self.rafts[i]
        assert rf is not None, f"server {i} is not running"
        return rf

    def get_state(self, i: int) -> tuple[int, bool]:
        """Server i's ``get_state()`` (MIT: ``cfg.rafts[i].GetState()``), checked to
        return ``(term, is_leader)``."""
        term, is_leader = self._handle(i).call("get_state")
        return term, is_leader

    def start_cmd(self, i: int, cmd: Any) -> tuple[int, int, bool]:
        """Server i's ``start(cmd)`` (MIT: ``cfg.rafts[i].Start(cmd)``), checked to
        return ``(index, term, is_leader)``."""
        index, term, ok = self._handle(i).call("start", encode(cmd), shown=cmd)
        return index, term, ok

    # ------------------------------------------------------------ lifecycle

    def crash1(self, i: int) -> None:
        """Shut down a Raft server but save its persistent state."""
        self.disconnect(i)
        self.net.delete_server(i)  # disable client connections to the server

        # a fresh persister, in case old instance continues to update the
        # Persister. but copy old persister's content so that we always pass
        # the constructor the last persisted state.
        saved = self.saved[i]
        if saved is not None:
            self.saved[i] = saved = saved.copy()

        rf = self.rafts[i]
        if rf is not None:
            self.rafts[i] = None
            applier = self._appliers[i]
            if applier is not None:
                applier.cancel()  # messages the dead server left are dropped
                self._appliers[i] = None
            try:
                rf.call("kill")
            finally:
                self.sim.crash(rf)

        if saved is not None:
            self.saved[i] = Disk(saved.raft_state, saved.snapshot)

    def start1(self, i: int) -> None:
        """Start or re-start a Raft. If one already exists, "kill" it first."""
        self.crash1(i)

        rf = self.sim.start_server(i, self.n)
        # new ends, so that the old crashed instance's ends can't send.
        ends = [self.net.make_end(i, j, rf.number) for j in range(self.n)]
        self.ends[i] = ends

        self.last_applied[i] = 0
        saved = self.saved[i]
        if saved is not None:
            self.saved[i] = saved = saved.copy()
            snapshot = saved.snapshot
            if snapshot:
                # mimic KV server and process snapshot now. ideally Raft
                # should send it up on apply_ch...
                err = self.ingest_snap(i, snapshot, -1, rf)
                if err:
                    raise Fatal(err)
        else:
            self.saved[i] = saved = Disk()

        self.disks.append(saved)
        if self.monitor is not None:
            self.monitor.watch(rf, applied_through=self.last_applied[i])
        try:
            rf.boot(saved, ends)
        except StudentError:
            self.sim.crash(rf)
            raise
        self.rafts[i] = rf
        applier = self.applier_snap if self.snapshot else self.applier
        self._appliers[i] = self.sim.loop.create_task(applier(i, rf))
        self.net.add_server(i, rf)

    def cleanup(self) -> None:
        """Kill every server (the run ends right after)."""
        self.finished = True
        for i in range(self.n):
            rf = self.rafts[i]
            if rf is not None:
                try:
                    rf.call("kill")
                finally:
                    self.sim.crash(rf)

    def check_timeout(self) -> None:
        """Enforce a two minute real-time limit on each test (virtual here)."""
        if not self.failed and self.sim.now() - self.start_time > TIME_LIMIT:
            raise Fatal("test took longer than 120 seconds")

    # --------------------------------------------------------- connectivity

    def connect(self, i: int) -> None:
        """Attach server i to the net."""
        if not self.connected[i]:
            self.sim.trace.add(self.sim.now(), "connect", i, self._number(i))
        self.connected[i] = True
        # outgoing ClientEnds
        ends_i = self.ends[i]
        for j in range(self.n):
            if self.connected[j] and ends_i is not None:
                self.net.enable(ends_i[j], True)
        # incoming ClientEnds
        for j in range(self.n):
            ends_j = self.ends[j]
            if self.connected[j] and ends_j is not None:
                self.net.enable(ends_j[i], True)

    def disconnect(self, i: int) -> None:
        """Detach server i from the net."""
        if self.connected[i]:
            self.sim.trace.add(self.sim.now(), "disconnect", i, self._number(i))
        self.connected[i] = False
        ends_i = self.ends[i]
        for j in range(self.n):
            if ends_i is not None:
                self.net.enable(ends_i[j], False)
        for j in range(self.n):
            ends_j = self.ends[j]
            if ends_j is not None:
                self.net.enable(ends_j[i], False)

    def _number(self, i: int) -> int:
        rf = self.rafts[i]
        return rf.number if rf is not None and rf.alive else 0

    def rpc_count(self, server: int) -> int:
        return self.net.rpc_count(server)

    def rpc_total(self) -> int:
        return self.net.total_rpcs

    def bytes_total(self) -> int:
        return self.net.total_bytes

    def set_unreliable(self, unrel: bool) -> None:
        self.net.set_reliable(not unrel)

    def set_long_reordering(self, longrel: bool) -> None:
        self.net.set_long_reordering(longrel)

    def log_size(self) -> int:
        """Maximum persisted Raft-state size over all servers (crashed ones too)."""
        return max((d.raft_state_size() for d in self.saved if d is not None), default=0)

    def peak_log_size(self) -> int:
        """The largest persisted Raft state any server had during the test."""
        return peak_raft_state_size(self.disks)

    # -------------------------------------------------------------- appliers

    def check_logs(self, i: int, m: ApplyMsg) -> tuple[str, bool]:
        """Check that what server i applies agrees with every other server."""
        err_msg = ""
        v = m.command
        for j, log in enumerate(self.logs):
            old = log.get(m.command_index, _MISSING)
            if old is not _MISSING and old != v:
                # some server has already committed a different value for this entry!
                err_msg = (f"commit index={m.command_index} server={i} {format_v(v)} != "
                           f"server={j} {format_v(old)}")
        prevok = (m.command_index - 1) in self.logs[i]
        self.logs[i][m.command_index] = v
        self.max_index = max(self.max_index, m.command_index)
        return err_msg, prevok

    def pause_apply(self, i: int) -> None:
        """Server i's service stops taking ApplyMsgs (as a busy service would): its
        Raft's ``await apply_ch.put(...)`` stays suspended until ``resume_apply``.
        (Beyond config.go: for scenarios.)"""
        self._taking[i].clear()
        self._checkpoint("pause_apply", i)

    def resume_apply(self, i: int) -> None:
        self._taking[i].set()
        self._checkpoint("resume_apply", i)

    async def _receive(self, i: int, rf: ServerHandle) -> ApplyMsg:
        await self._taking[i].wait()
        m = await rf.apply_queue.get()
        if self.monitor is not None:
            self.monitor.observe_apply(rf, m)
        if m.command_valid:
            self.sim.trace.add(self.sim.now(), "apply", i, rf.number, m.command_index,
                               m.command)
        elif m.snapshot_valid:
            self.sim.trace.add(self.sim.now(), "apply-snapshot", i, rf.number,
                               m.snapshot_index, m.snapshot_term)
        return m

    async def applier(self, i: int, rf: ServerHandle) -> None:
        """Read apply_ch and check that the values match the other servers' (2A-2C)."""
        while True:
            m = await self._receive(i, rf)
            if not m.command_valid:
                continue  # ignore other types of ApplyMsg
            err_msg, prevok = self.check_logs(i, m)
            if m.command_index > 1 and not prevok:
                err_msg = f"server {i} apply out of order {m.command_index}"
            if err_msg:
                self.apply_err[i] = err_msg
                raise Fatal(f"apply error: {err_msg}")

    def ingest_snap(self, i: int, snapshot: Any, index: int,
                    rf: ServerHandle | None = None) -> str:
        """Install a snapshot the service received (2D); return an error or ""."""
        if snapshot is None or not isinstance(snapshot, (bytes, bytearray)):
            raise Fatal("nil snapshot")
        try:
            last_included_index, xlog = safe_decode(bytes(snapshot))
            if type(last_included_index) is not int or not isinstance(xlog, list):
                raise ValueError
        except (SafeDecodeError, ValueError, TypeError):
            raise Fatal("snapshot decode error") from None
        if index not in (-1, last_included_index):
            return f"server {i} snapshot doesn't match m.SnapshotIndex"
        owner = rf or self.rafts[i]
        if self.monitor is not None and owner is not None:
            self.monitor.observe_snapshot(owner, xlog)
        self.logs[i] = dict(enumerate(xlog))
        self.last_applied[i] = last_included_index
        return ""

    async def applier_snap(self, i: int, rf: ServerHandle) -> None:
        """Periodically snapshot Raft state (2D)."""
        while True:
            m = await self._receive(i, rf)
            err_msg = ""
            if m.snapshot_valid:
                err_msg = self.ingest_snap(i, m.snapshot, m.snapshot_index, rf)
            elif m.command_valid:
                if m.command_index != self.last_applied[i] + 1:
                    err_msg = (f"server {i} apply out of order, expected index "
                               f"{self.last_applied[i] + 1}, got {m.command_index}")
                if not err_msg:
                    err_msg, prevok = self.check_logs(i, m)
                    if m.command_index > 1 and not prevok:
                        err_msg = f"server {i} apply out of order {m.command_index}"
                self.last_applied[i] = m.command_index
                if not err_msg and (m.command_index + 1) % SNAPSHOT_INTERVAL == 0:
                    xlog = [self.logs[i].get(j) for j in range(m.command_index + 1)]
                    data = encode((m.command_index, xlog))
                    rf.call("snapshot", m.command_index, data)
            if err_msg:
                self.apply_err[i] = err_msg
                raise Fatal(f"apply error: {err_msg}")

    # ---------------------------------------------------------------- checks

    async def check_one_leader(self) -> int:
        """Check that one of the connected servers thinks it is the leader,
        and that no other connected server thinks otherwise. Try a few times
        in case re-elections are needed."""
        for _ in range(10):
            ms = 450 + self.rand.randrange(100)
            await asyncio.sleep(ms / 1000)

            leaders: dict[int, list[int]] = {}
            for i in range(self.n):
                if self.connected[i] and self.rafts[i] is not None:
                    term, is_leader = self.get_state(i)
                    if is_leader:
                        leaders.setdefault(term, []).append(i)

            last_term_with_leader = -1
            for term, ls in leaders.items():
                if len(ls) > 1:
                    raise Fatal(f"term {term} has {len(ls)} (>1) leaders")
                last_term_with_leader = max(last_term_with_leader, term)

            if leaders:
                leader = leaders[last_term_with_leader][0]
                self._checkpoint("check_one_leader", leader)
                return leader
        raise Fatal("expected one leader, got none")

    def check_terms(self) -> int:
        """Check that everyone agrees on the term."""
        term = -1
        for i in range(self.n):
            if self.connected[i] and self.rafts[i] is not None:
                xterm, _ = self.get_state(i)
                if term == -1:
                    term = xterm
                elif term != xterm:
                    raise Fatal("servers disagree on term")
        return term

    def check_no_leader(self) -> None:
        """Check that none of the connected servers thinks it is the leader."""
        for i in range(self.n):
            if self.connected[i] and self.rafts[i] is not None:
                _, is_leader = self.get_state(i)
                if is_leader:
                    raise Fatal(f"expected no leader among connected servers, but {i} claims "
                                "to be leader")

    def n_committed(self, index: int) -> tuple[int, Any]:
        """How many servers think a log entry is committed?"""
        count = 0
        cmd: Any = None
        for i in range(self.n):
            if self.apply_err[i]:
                raise Fatal(self.apply_err[i])
            cmd1 = self.logs[i].get(index, _MISSING)
            if cmd1 is not _MISSING:
                if count > 0 and cmd != cmd1:
                    raise Fatal(f"committed values do not match: index {index}, {format_v(cmd)}, "
                                f"{format_v(cmd1)}")
                count += 1
                cmd = cmd1
        return count, cmd

    async def wait(self, index: int, n: int, start_term: int) -> Any:
        """Wait for at least n servers to commit, but don't wait forever."""
        to_ms = 10
        for _ in range(30):
            nd, _ = self.n_committed(index)
            if nd >= n:
                break
            await asyncio.sleep(to_ms / 1000)
            if to_ms < 1000:
                to_ms *= 2
            if start_term > -1:
                for i, r in enumerate(self.rafts):
                    if r is not None:
                        t, _ = self.get_state(i)
                        if t > start_term:
                            # someone has moved on; can no longer guarantee that we'll "win"
                            return -1
        nd, cmd = self.n_committed(index)
        if nd < n:
            raise Fatal(f"only {nd} decided for index {index}; wanted {n}")
        return cmd

    async def one(self, cmd: Any, expected_servers: int, retry: bool) -> int:
        """Do a complete agreement.

        It might choose the wrong leader initially, and have to re-submit after
        giving up. Entirely gives up after about 10 seconds. Indirectly checks
        that the servers agree on the same value, since n_committed() checks
        this, as do the appliers that read from apply_ch. Returns the index.
        If retry is true, may submit the command multiple times, in case a
        leader fails just after start(). If retry is false, calls start() only
        once, in order to simplify the early Lab 2B tests.
        """
        t0 = self.sim.now()
        starts = 0
        while self.sim.now() - t0 < 10 and not self.finished:
            # try all the servers, maybe one is the leader.
            index = -1
            for _ in range(self.n):
                starts = (starts + 1) % self.n
                if self.connected[starts] and self.rafts[starts] is not None:
                    index1, _, ok = self.start_cmd(starts, cmd)
                    if ok:
                        index = index1
                        break

            if index != -1:
                # somebody claimed to be the leader and to have submitted our
                # command; wait a while for agreement.
                t1 = self.sim.now()
                while self.sim.now() - t1 < 2:
                    nd, cmd1 = self.n_committed(index)
                    if nd > 0 and nd >= expected_servers and cmd1 == cmd:
                        # and it was the command we submitted.
                        self._checkpoint("one", f"{format_v(cmd, 40)} -> index {index}")
                        return index
                    await asyncio.sleep(0.020)
                if not retry:
                    raise Fatal(f"one({format_v(cmd)}) failed to reach agreement")
            else:
                await asyncio.sleep(0.050)
        if not self.finished:
            raise Fatal(f"one({format_v(cmd)}) failed to reach agreement")
        return -1

    # ------------------------------------------------------------ begin/end

    def begin(self, description: str) -> None:
        """Start a test; print the test message."""
        print(f"{description} ...")
        self.description = description
        self._checkpoint("begin", description)
        self.t0 = self.sim.now()
        self.rpcs0 = self.rpc_total()
        self.bytes0 = self.bytes_total()
        self.max_index0 = self.max_index

    def stats(self) -> PassedLine:
        """The five numbers of the "Passed" line, as of now."""
        return PassedLine(self.sim.now() - self.t0, self.n, self.rpc_total() - self.rpcs0,
                          self.bytes_total() - self.bytes0, self.max_index - self.max_index0)

    def end(self) -> None:
        """End a test: check the time limit, print the Passed line."""
        self.check_timeout()
        self.passed_line = self.stats()
        self._checkpoint("end", str(self.passed_line).strip())
        print(self.passed_line)

    def warning(self, text: str) -> None:
        """Print a warning that does not fail the test (and keep it in the trace)."""
        print(text)
        self._checkpoint("warning", text)

    def _checkpoint(self, what: str, detail: object) -> None:
        self.sim.trace.add(self.sim.now(), "check", -1, 0, what, str(detail))

    # ------------------------------------------------------------ utilities

    def rand_int(self) -> int:
        """Go's ``rand.Int()``: a non-negative 63-bit integer."""
        return self.rand.getrandbits(63)

    def randstring(self, n: int) -> str:
        """n random base64url characters (MIT's randstring)."""
        return base64.urlsafe_b64encode(self.rand.randbytes(2 * n)).decode()[:n]


def format_v(value: Any, limit: int | None = None) -> str:
    """Go's %v for the values the tests use: ints and strings print bare,
    lists as ``[1 2 3]``."""
    if isinstance(value, (list, tuple)):
        text = "[" + " ".join(format_v(x) for x in value) + "]"
    else:
        text = "<nil>" if value is None else str(value)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text
