"""The persister: a server's "disk", as in MIT's persister.go (2023 API).

    p = Persister()
    p.save(raft_state, snapshot)   # atomic; snapshot None (or b"") erases it
    p.read_raft_state()            # b"" when nothing was saved
    p.read_snapshot()              # b"" when there is no snapshot
    p.raft_state_size(), p.snapshot_size()
    p2 = p.copy()                  # what crash/restart hands the next incarnation

"Save both Raft state and K/V snapshot as a single atomic action, to help
avoid them getting out of sync" (persister.go). Python ``bytes`` are
immutable, so storing and returning them never aliases a caller's buffer; a
``bytearray`` or ``memoryview`` argument is copied into ``bytes``.

The tester copies a server's persister when it crashes it, so anything a
crashed incarnation writes afterwards lands in a persister nobody reads:
"a fresh persister, in case old instance continues to update the Persister"
(config.go).
"""

from __future__ import annotations

from ._errors import StudentError


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
    """A server's stable storage: Raft state plus the service's snapshot."""

    __slots__ = ("_peak", "_raft_state", "_snapshot")

    def __init__(self) -> None:
        self._raft_state = b""
        self._snapshot = b""
        self._peak = 0  # largest raft state ever saved here (for reports)

    def copy(self) -> Persister:
        """A new persister holding the same bytes."""
        p = Persister()
        p._raft_state = self._raft_state
        p._snapshot = self._snapshot
        p._peak = len(self._raft_state)
        return p

    def save(self, raft_state: bytes, snapshot: bytes | None) -> None:
        """Store both atomically. ``None`` (or ``b""``) erases the snapshot."""
        state = _as_bytes(raft_state, "raft_state")
        snap = b"" if snapshot is None else _as_bytes(snapshot, "snapshot")
        self._raft_state = state
        self._snapshot = snap
        self._peak = max(self._peak, len(state))

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


def peak_raft_state_size(persisters: list[Persister]) -> int:
    """The largest Raft state any of these persisters ever held."""
    return max((p._peak for p in persisters), default=0)
