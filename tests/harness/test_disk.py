"""Tests of a server's disk on the trusted side (harness/_trusted/disk.py).

A new disk reads b""; ``save`` replaces both parts together; ``copy`` holds
the same bytes and is independent of the original in both directions, which
is what lets a restarted server read exactly the bytes saved before its
crash while anything written to the old disk is never read (config.go's
"fresh persister"); the peak Raft-state size is remembered across saves and
over a list of disks. Through a run: a life's saves land on the disk it was
booted with, and a crash leaves that disk as the life last saved it.
"""

from __future__ import annotations

from typing import Any

from harness import Disk, Simulation
from harness._trusted.disk import peak_raft_state_size

from .toys import Args, EchoService, Reply, ToyServers, client, run, service_of


def test_a_new_disk_reads_empty_bytes() -> None:
    disk = Disk()
    assert disk.read_raft_state() == b"" and type(disk.read_raft_state()) is bytes
    assert disk.read_snapshot() == b"" and type(disk.read_snapshot()) is bytes
    assert (disk.raft_state, disk.snapshot) == (b"", b"")
    assert disk.raft_state_size() == 0 and disk.snapshot_size() == 0
    assert disk.peak == 0


def test_a_disk_can_start_with_bytes() -> None:
    disk = Disk(b"term 3", b"snap")
    assert (disk.read_raft_state(), disk.read_snapshot()) == (b"term 3", b"snap")
    assert (disk.raft_state_size(), disk.snapshot_size()) == (6, 4)
    assert disk.peak == 6


def test_save_replaces_state_and_snapshot_together() -> None:
    disk = Disk(b"old", b"old snapshot")
    disk.save(b"new state", b"")
    assert (disk.raft_state, disk.snapshot) == (b"new state", b"")
    disk.save(b"newer", b"snapshot at 10")
    assert (disk.read_raft_state(), disk.read_snapshot()) == (b"newer", b"snapshot at 10")
    assert (disk.raft_state_size(), disk.snapshot_size()) == (5, 14)


def test_a_copy_holds_the_same_bytes_and_is_independent_both_ways() -> None:
    original = Disk()
    original.save(b"term 3", b"snapshot at 10")
    copy = original.copy()
    assert copy is not original
    assert (copy.read_raft_state(), copy.read_snapshot()) == (b"term 3", b"snapshot at 10")
    original.save(b"written by the dead life", b"")
    assert (copy.read_raft_state(), copy.read_snapshot()) == (b"term 3", b"snapshot at 10")
    copy.save(b"written by the new life", b"s")
    assert original.read_raft_state() == b"written by the dead life"
    assert original.read_snapshot() == b""


def test_the_peak_raft_state_size_is_remembered_across_saves_and_over_disks() -> None:
    a = Disk()
    a.save(b"x" * 100, b"")
    a.save(b"x" * 10, b"big snapshot" * 100)  # snapshots do not count
    assert a.peak == 100 and a.raft_state_size() == 10
    b = a.copy()
    assert b.peak == 10  # a copy's peak is its own: what it holds
    b.save(b"x" * 50, b"")
    assert peak_raft_state_size([a, b]) == 100
    assert peak_raft_state_size([b]) == 50
    assert peak_raft_state_size([]) == 0


def test_a_disk_describes_its_sizes() -> None:
    disk = Disk()
    disk.save(b"abc", b"de")
    assert repr(disk) == "<Disk raft_state=3B snapshot=2B>"


# ------------------------------------------------------------ through a run


class Keeper(EchoService):
    """Saves what it is sent; remembers what it read at boot."""

    def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.persister = persister
        self.booted_with = persister.read_raft_state()
        persister.save(self.booted_with + b"+boot", b"")  # a save at boot is reported too

    def keep(self, args: Args) -> Reply:
        self.persister.save(args.value, b"snap " + args.value)
        return Reply(args.value, self.me, self.number)


def test_a_crash_leaves_the_disk_as_the_life_last_saved_it_and_the_copy_goes_on() -> None:
    servers = ToyServers(1)
    servers.use(Keeper)
    sim = Simulation(1, servers)

    def boot(disk: Disk) -> Any:
        handle = sim.start_server(0, 1)
        handle.boot(disk, [sim.net.make_end(0, 0, handle.number)])
        sim.net.add_server(0, handle)
        return handle

    async def main() -> tuple[Disk, Disk, list[bytes]]:
        first_disk = Disk()
        first = boot(first_disk)
        assert first.disk is first_disk
        assert first_disk.raft_state == b"+boot"
        await client(sim, 0).call("keep", Args(b"term 2"))
        sim.net.delete_server(0)
        sim.crash(first)
        second_disk = first_disk.copy()
        second = boot(second_disk)
        await client(sim, 0).call("keep", Args(b"term 3"))
        booted = [service_of(first).booted_with, service_of(second).booted_with]
        return first_disk, second_disk, booted

    first_disk, second_disk, booted = run(sim, main())
    assert booted == [b"", b"term 2"]
    assert (first_disk.raft_state, first_disk.snapshot) == (b"term 2", b"snap term 2")
    assert (second_disk.raft_state, second_disk.snapshot) == (b"term 3", b"snap term 3")
    assert peak_raft_state_size([first_disk, second_disk]) == 11  # b"term 2+boot"
