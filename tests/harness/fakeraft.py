"""A fake "Raft" for the tester and lab-runner tests. It is not Raft.

Server ``LEADER`` (0) always claims leadership in term 1; ``start`` appends
the command to its log, persists it, hands it to its applier task and pushes
the whole log to every other server with a made-up ``push_log`` RPC, retrying
until each answers. A follower adopts a longer log and applies the new
entries in order. The applier task sends each ApplyMsg with ``await
apply_ch.put(msg)``, one at a time: apply_ch is unbuffered (Go's applyCh), so
each put returns only once the tester has taken the message. Subclasses
change one behaviour each, to provoke one tester failure.

Every class here runs in a server life's host (in this process, or imported
by name in a sandbox), so it uses only the student API.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from harness import (
    ApplyMsg,
    ClientEnd,
    Fatal,
    HarnessError,
    Persister,
    StudentError,
    decode,
    encode,
)


@dataclass
class PushArgs:
    log: list[Any]


@dataclass
class PushReply:
    ok: bool


class FakeRaft:
    LEADERS: frozenset[int] = frozenset({0})
    TERM = 1

    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        self.peers = peers
        self.me = me
        self.persister = persister
        self.apply_ch = apply_ch
        self.dead = False
        self.term = self.TERM
        self.snapshots: list[tuple[int, bytes]] = []
        # What happened around apply_ch, in order: ("put", i), ("snapshot", i), ("returned", i).
        self.events: list[tuple[str, int]] = []
        state = persister.read_raft_state()
        self.log: list[Any] = decode(state) if state else []
        self.snap = persister.read_snapshot()
        # The service has loaded the snapshot: apply only what follows it.
        self.applied = decode(self.snap)[0] if self.snap else 0
        self.to_apply: asyncio.Queue[Any] = asyncio.Queue()
        asyncio.create_task(self.applier())
        self.apply_new()

    # -- the tester's API

    def get_state(self) -> tuple[int, bool]:
        return self.term, self.me in self.LEADERS and not self.dead

    def start(self, command: Any) -> tuple[int, int, bool]:
        if self.dead or self.me not in self.LEADERS:
            return -1, -1, False
        self.log.append(command)
        self.persist()
        self.apply_new()
        for peer in self.peers:
            if peer.dst != self.me:
                asyncio.create_task(self.push(peer))
        return len(self.log), self.term, True

    def snapshot(self, index: int, snapshot: bytes) -> None:
        self.events.append(("snapshot", index))
        self.snapshots.append((index, snapshot))
        self.snap = snapshot
        self.persist()

    def kill(self) -> None:
        self.dead = True

    # -- the made-up replication

    def push_log(self, args: PushArgs) -> PushReply:
        if len(args.log) > len(self.log):
            self.log = args.log
            self.persist()
            self.apply_new()
        return PushReply(True)

    async def push(self, peer: ClientEnd) -> None:
        while not self.dead:
            if await peer.call("push_log", PushArgs(list(self.log))) is not None:
                return
            await asyncio.sleep(0.05)

    def persist(self) -> None:
        self.persister.save(encode(self.log), self.snap or None)

    def apply_new(self) -> None:
        while self.applied < len(self.log):
            self.applied += 1
            self.to_apply.put_nowait((self.applied, self.log[self.applied - 1]))

    async def applier(self) -> None:
        """Send the committed entries on apply_ch, one at a time, in order."""
        while True:
            index, command = await self.to_apply.get()
            self.events.append(("put", index))
            await self.apply_ch.put(self.message(index, command))
            self.events.append(("returned", index))

    def message(self, index: int, command: Any) -> Any:
        return ApplyMsg(command_valid=True, command=command, command_index=index)


class TwoLeaders(FakeRaft):
    LEADERS = frozenset({0, 1})


class NoLeader(FakeRaft):
    LEADERS = frozenset()


class StaleLeader(FakeRaft):
    """Server 1 still believes it leads term 1; server 0 leads term 2."""

    LEADERS = frozenset({0, 1})

    def get_state(self) -> tuple[int, bool]:
        return (2 if self.me == 0 else 1), not self.dead


class TermPerServer(FakeRaft):
    """Every server is in a different term (me + 1)."""

    def get_state(self) -> tuple[int, bool]:
        return self.me + 1, self.me in self.LEADERS


class Diverging(FakeRaft):
    """Server 1 applies a different command than the others."""

    def message(self, index: int, command: Any) -> Any:
        return ApplyMsg(command_valid=True, command=999 if self.me == 1 else command,
                        command_index=index)


class Skipping(FakeRaft):
    """Server 1 applies each entry one index too high."""

    def message(self, index: int, command: Any) -> Any:
        return ApplyMsg(command_valid=True, command=command,
                        command_index=index + (1 if self.me == 1 else 0))


class WrongMessage(FakeRaft):
    def message(self, index: int, command: Any) -> Any:
        return ("not an ApplyMsg", index)


class BuffersApplies(FakeRaft):
    """Treats apply_ch as a buffered queue (``put_nowait``), as the old harness allowed."""

    def apply_new(self) -> None:
        while self.applied < len(self.log):
            self.applied += 1
            self.apply_ch.put_nowait(self.message(self.applied, self.log[self.applied - 1]))


class BadGetState(FakeRaft):
    """``get_state`` returns ``GOT`` (a list, by default) instead of (term, is_leader)."""

    GOT: Any = "list"

    def get_state(self) -> Any:
        return [self.term, True] if self.GOT == "list" else self.GOT


class BadStart(FakeRaft):
    """``start`` returns ``GOT`` instead of (index, term, is_leader)."""

    GOT: Any = 1

    def start(self, command: Any) -> Any:
        return self.GOT


class BrokenConstructor(FakeRaft):
    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        if me == 1:
            raise ValueError("no log yet")
        super().__init__(peers, me, persister, apply_ch)


class KillWriter(FakeRaft):
    """Writes to its persister inside kill(), as a careless Raft might."""

    def kill(self) -> None:
        super().kill()
        self.persister.save(b"written in kill()", b"snapshot written in kill()")


class FailingTask(FakeRaft):
    """Server 1's background task raises one virtual second in."""

    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        super().__init__(peers, me, persister, apply_ch)
        if me == 1:
            asyncio.create_task(self.explode())

    async def explode(self) -> None:
        await asyncio.sleep(1)
        raise IndexError("log index out of range")


RAFTLAB_ERRORS: dict[str, type[Exception]] = {
    "HarnessError": HarnessError, "Fatal": Fatal, "StudentError": StudentError}
"""raftlab's own exception types, which a submission's code may raise like any other."""


class RaisesRaftlabErrors(FakeRaft):
    """Server 1 raises ``ERROR("boom")`` (one of raftlab's own exception types) in
    ``PLACE``: "task" (a background task, 0.1 s in), "handler" (its push_log RPC
    handler) or "get_state" (whenever it is asked)."""

    ERROR = "HarnessError"
    PLACE = "task"

    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        super().__init__(peers, me, persister, apply_ch)
        if me == 1 and self.PLACE == "task":
            asyncio.create_task(self.explode())

    def boom(self) -> Exception:
        return RAFTLAB_ERRORS[self.ERROR]("boom")

    async def explode(self) -> None:
        await asyncio.sleep(0.1)
        raise self.boom()

    def push_log(self, args: PushArgs) -> PushReply:
        if self.me == 1 and self.PLACE == "handler":
            raise self.boom()
        return super().push_log(args)

    def get_state(self) -> tuple[int, bool]:
        if self.me == 1 and self.PLACE == "get_state":
            raise self.boom()
        return super().get_state()


PLACES = ("task", "handler", "get_state")


def raising(error: str, place: str) -> str:
    """The name of the RaisesRaftlabErrors subclass that raises ``error`` in ``place``."""
    return f"Raises{error}In{place.title().replace('_', '')}"


for _error in RAFTLAB_ERRORS:
    for _place in PLACES:
        globals()[raising(_error, _place)] = type(
            raising(_error, _place), (RaisesRaftlabErrors,),
            {"ERROR": _error, "PLACE": _place, "__module__": __name__})
