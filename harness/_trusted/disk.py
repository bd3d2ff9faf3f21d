"""A server's disk: the bytes its persister last saved, kept on the trusted side.

    disk = Disk()
    disk.save(raft_state, snapshot)   # from a server's "save" (the last of a step)
    disk.raft_state, disk.snapshot    # b"" when nothing was saved
    disk.raft_state_size(), disk.snapshot_size()
    d2 = disk.copy()                  # what crash/restart hands the next life

A server life reads and writes its ``Persister`` (``harness._sandbox.api``)
in its sandbox; every step that saved reports the last save, and the trusted
side keeps the bytes here. So what a crashed server saved is known without
asking it, and a restarted server starts from exactly those bytes (MIT's
persister.go, whose ``Save`` is atomic: state and snapshot together).

The tester copies a server's disk when it crashes it, so anything a crashed
life writes afterwards lands on a disk nobody reads: "a fresh persister, in
case old instance continues to update the Persister" (config.go).
"""

from __future__ import annotations


class Disk:
    """Raft state plus the service's snapshot, as last saved."""

    __slots__ = ("peak", "raft_state", "snapshot")

    def __init__(self, raft_state: bytes = b"", snapshot: bytes = b"") -> None:
        self.raft_state = raft_state
        self.snapshot = snapshot
        self.peak = len(raft_state)  # largest raft state ever saved here (for reports)

    def copy(self) -> Disk:
        """A new disk holding the same bytes."""
        return Disk(self.raft_state, self.snapshot)

    def save(self, raft_state: bytes, snapshot: bytes) -> None:
        self.raft_state = raft_state
        self.snapshot = snapshot
        self.peak = max(self.peak, len(raft_state))

    def read_raft_state(self) -> bytes:
        return self.raft_state

    def read_snapshot(self) -> bytes:
        return self.snapshot

    def raft_state_size(self) -> int:
        return len(self.raft_state)

    def snapshot_size(self) -> int:
        return len(self.snapshot)

    def __repr__(self) -> str:
        return f"<Disk raft_state={len(self.raft_state)}B snapshot={len(self.snapshot)}B>"


def peak_raft_state_size(disks: list[Disk]) -> int:
    """The largest Raft state any of these disks ever held."""
    return max((d.peak for d in disks), default=0)
