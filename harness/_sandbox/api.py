"""What a student's Raft holds: its peers' ends, its persister, its apply channel.

    reply = await self.peers[j].call("request_vote", args)   # reply, or None
    self.persister.save(state, snapshot); self.persister.read_raft_state()
    await self.apply_ch.put(ApplyMsg(command_valid=True, command=c, command_index=i))

Each is a stand-in owned by the server life's ``Host``: a call becomes a
"send" in the host's report and returns when the trusted side says how it
ended; a save becomes a "save"; a put becomes an "offer" and returns once the
tester has taken the message, as a send on Go's unbuffered ``applyCh`` does.
Their behaviour is the student API's (HANDOUT.md, section 3), checked here so
a mistake fails at the line that made it, with a message that names the fix.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .._errors import StudentError
from .._protocol import ApplyMsg

if TYPE_CHECKING:
    from .host import Host


class ClientEnd:
    """One server's connection to another: ``await end.call(method, args)``."""

    __slots__ = ("_host", "dst", "src")

    def __init__(self, host: Host, src: int, dst: int) -> None:
        self._host = host
        self.src = src
        self.dst = dst

    async def call(self, method: str, args: object) -> Any:
        """Call ``method`` on the server at the other end with a copy of ``args``.

        Returns a copy of the handler's reply, or None if the request or the
        reply was lost or the server is down or unreachable (never raises for
        a network fault). Raises CodecError if ``args`` is not plain data.
        """
        return await self._host.start_call(self.dst, method, args)

    def __repr__(self) -> str:
        return f"<ClientEnd {self.src}->{self.dst}>"


def _as_bytes(value: object, what: str) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise StudentError(
        f"persister.save() needs bytes for {what}, not {type(value).__name__}. Serialise "
        "your state first, e.g. `harness.encode((self.current_term, self.voted_for, "
        "self.log))`.")


class Persister:
    """A server's stable storage: Raft state plus the service's snapshot.

    ``save`` is atomic; ``None`` (or ``b""``) erases the snapshot. Reads return
    ``b""`` when nothing was saved. The bytes live on the trusted side: what a
    crashed server saved last is what its next life reads.
    """

    __slots__ = ("_host", "_raft_state", "_snapshot")

    def __init__(self, host: Host, raft_state: bytes, snapshot: bytes) -> None:
        self._host = host
        self._raft_state = raft_state
        self._snapshot = snapshot

    def save(self, raft_state: bytes, snapshot: bytes | None) -> None:
        """Store both atomically. ``None`` (or ``b""``) erases the snapshot."""
        state = _as_bytes(raft_state, "raft_state")
        snap = b"" if snapshot is None else _as_bytes(snapshot, "snapshot")
        self._raft_state = state
        self._snapshot = snap
        self._host.saved(state, snap)

    def read_raft_state(self) -> bytes:
        return self._raft_state

    def read_snapshot(self) -> bytes:
        return self._snapshot

    def raft_state_size(self) -> int:
        return len(self._raft_state)

    def snapshot_size(self) -> int:
        return len(self._snapshot)

    def __repr__(self) -> str:
        return f"<Persister raft_state={len(self._raft_state)}B snapshot={len(self._snapshot)}B>"


_ONLY_PUT = ("apply_ch is Go's unbuffered applyCh: Raft only sends on it, with "
             "`await self.apply_ch.put(msg)`, which returns once the service has taken msg")


class ApplyChannel(asyncio.Queue[ApplyMsg]):
    """``apply_ch``: an ``asyncio.Queue`` whose ``put`` behaves like a send on Go's
    unbuffered channel. ``await put(msg)`` returns only once the service has
    taken ``msg``; meanwhile other tasks and RPC handlers run, and the service
    may call ``snapshot()``."""

    def __init__(self, host: Host) -> None:
        super().__init__()
        self._host = host

    async def put(self, item: ApplyMsg) -> None:
        await self._host.offer(item)

    def put_nowait(self, item: ApplyMsg) -> None:
        raise self._host.api_error(f"apply_ch.put_nowait(): {_ONLY_PUT}")

    async def get(self) -> ApplyMsg:
        raise self._host.api_error(f"apply_ch.get(): {_ONLY_PUT}")

    def get_nowait(self) -> ApplyMsg:
        raise self._host.api_error(f"apply_ch.get_nowait(): {_ONLY_PUT}")

    def qsize(self) -> int:
        return 0

    def empty(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "<apply_ch (unbuffered)>"
