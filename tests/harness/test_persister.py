"""Tests of the student's persister, the sandbox's stand-in (harness/_sandbox/api.py).

A server life reads and writes its ``Persister`` locally: it starts with the
bytes its disk held at boot (b"" when nothing was saved) and reads are bytes;
``save()`` stores both parts atomically, None or b"" erases the snapshot, a
bytearray or memoryview is copied into bytes, and anything else is refused
with a message that names ``harness.encode``, with nothing half-saved. Each
save is reported to the trusted side, which keeps the last save of each step
on the server's disk (``test_disk.py`` tests the disk itself).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness import Disk, Persister, Simulation, StudentError, decode, encode

from .toys import Args, EchoService, Reply, ToyServers, client, cluster, run, serve, service_of


class FakeHost:
    """Stands for the life's host: records what the persister reports."""

    def __init__(self) -> None:
        self.saves: list[tuple[bytes, bytes]] = []

    def saved(self, state: bytes, snapshot: bytes) -> None:
        self.saves.append((state, snapshot))


def persister(state: bytes = b"", snapshot: bytes = b"") -> tuple[Persister, FakeHost]:
    host = FakeHost()
    return Persister(host, state, snapshot), host  # type: ignore[arg-type]


# ----------------------------------------------------------- the stand-in


def test_an_empty_persister_reads_empty_bytes() -> None:
    p, host = persister()
    assert p.read_raft_state() == b"" and type(p.read_raft_state()) is bytes
    assert p.read_snapshot() == b"" and type(p.read_snapshot()) is bytes
    assert p.raft_state_size() == 0 and p.snapshot_size() == 0
    assert host.saves == []


def test_a_persister_starts_with_the_bytes_its_disk_held() -> None:
    state = encode((4, 2, [(1, "x")]))
    p, host = persister(state, b"snap")
    assert decode(p.read_raft_state()) == (4, 2, [(1, "x")])
    assert p.read_snapshot() == b"snap"
    assert (p.raft_state_size(), p.snapshot_size()) == (len(state), 4)
    assert host.saves == []  # reading asks nobody


def test_save_stores_state_and_snapshot_together_and_reports_them() -> None:
    p, host = persister()
    state = encode((3, 1, [(1, "x"), (3, "y")]))
    p.save(state, b"snap")
    assert p.read_raft_state() == state  # read back at once, locally
    assert decode(p.read_raft_state()) == (3, 1, [(1, "x"), (3, "y")])
    assert p.read_snapshot() == b"snap"
    assert p.raft_state_size() == len(state) and p.snapshot_size() == 4
    p.save(b"newer", b"snap2")
    assert (p.read_raft_state(), p.read_snapshot()) == (b"newer", b"snap2")
    assert host.saves == [(state, b"snap"), (b"newer", b"snap2")]


@pytest.mark.parametrize("erase", [None, b""])
def test_saving_without_a_snapshot_erases_the_snapshot(erase: bytes | None) -> None:
    p, host = persister(b"old", b"old snapshot")
    p.save(b"state", b"snapshot")
    p.save(b"state2", erase)
    assert p.read_snapshot() == b"" and type(p.read_snapshot()) is bytes
    assert p.snapshot_size() == 0
    assert p.read_raft_state() == b"state2"
    assert host.saves[-1] == (b"state2", b"")


def test_a_mutable_buffer_is_copied_when_saved() -> None:
    p, host = persister()
    state, snap = bytearray(b"abc"), bytearray(b"xyz")
    p.save(state, memoryview(snap))  # type: ignore[arg-type]
    state[0] = ord("Z")
    snap[0] = ord("Z")
    assert p.read_raft_state() == b"abc" and type(p.read_raft_state()) is bytes
    assert p.read_snapshot() == b"xyz" and type(p.read_snapshot()) is bytes
    assert host.saves == [(b"abc", b"xyz")]
    assert all(type(part) is bytes for part in host.saves[0])


@pytest.mark.parametrize(("state", "snapshot", "what", "kind"), [
    ("text", None, "raft_state", "str"),
    ([1, 2], None, "raft_state", "list"),
    (None, b"snap", "raft_state", "NoneType"),
    (b"ok", (1, 2), "snapshot", "tuple"),
    (b"ok", "text", "snapshot", "str"),
])
def test_saving_something_other_than_bytes_names_the_fix(state: object, snapshot: object,
                                                         what: str, kind: str) -> None:
    p, host = persister()
    p.save(b"before", b"snap")
    with pytest.raises(StudentError) as info:
        p.save(state, snapshot)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"persister.save() needs bytes for {what}, not {kind}. Serialise your state first, e.g. "
        "`harness.encode((self.current_term, self.voted_for, self.log))`.")
    assert (p.read_raft_state(), p.read_snapshot()) == (b"before", b"snap")  # nothing half-saved
    assert host.saves == [(b"before", b"snap")]  # and nothing reported


def test_a_persister_describes_its_sizes() -> None:
    p, _ = persister()
    p.save(b"abc", b"de")
    assert repr(p) == "<Persister raft_state=3B snapshot=2B>"


# ---------------------------------------------------------- in a server life


class Saver(EchoService):
    """Reads its persister at boot; ``save`` saves each value of a list in turn."""

    def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.persister = persister
        self.booted_with = (persister.read_raft_state(), persister.read_snapshot())

    def save(self, args: Args) -> Reply:
        for state, snapshot in args.value:
            self.persister.save(state, snapshot)
        return Reply(self.persister.raft_state_size(), self.me, self.number)


class CountingDisk(Disk):
    """A trusted disk that counts the saves it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    def save(self, raft_state: bytes, snapshot: bytes) -> None:
        self.saves += 1
        super().save(raft_state, snapshot)


def test_only_the_last_save_of_a_step_reaches_the_trusted_disk() -> None:
    servers = ToyServers(1)
    servers.use(Saver)
    sim = Simulation(1, servers)
    disk = CountingDisk()

    async def main() -> None:
        handle = sim.start_server(0, 1)
        ends = [sim.net.make_end(0, 0, handle.number)]
        handle.boot(disk, ends)
        sim.net.add_server(0, handle)
        reply = await client(sim, 0).call("save", Args([(b"a", b"1"), (b"bb", None),
                                                         (b"ccc", b"3")]))
        assert reply.value == 3
        await client(sim, 0).call("save", Args([(b"dddd", None)]))

    run(sim, main())
    assert disk.saves == 2  # one per step that saved
    assert (disk.raft_state, disk.snapshot) == (b"dddd", b"")
    assert disk.peak == 4  # the intermediate saves never reached it


def test_saving_non_bytes_in_a_server_fails_the_run_as_the_students() -> None:
    sim, _, _ = cluster(1, 1, Saver)

    async def main() -> None:
        await client(sim, 0).call("save", Args([(b"ok", None), ("text", None)]))
        await asyncio.sleep(1)

    failure = sim.run(main()).failure
    assert isinstance(failure, StudentError)
    assert failure.where == "server 0 (incarnation 1)"
    assert "persister.save() needs bytes for raft_state, not str" in failure.message
    assert "harness.encode" in failure.message


def test_a_new_life_reads_what_the_last_one_saved() -> None:
    sim = Simulation(1, ToyServers(1))

    async def main() -> tuple[Any, Any]:
        first, service = serve(sim, 0, Saver)
        await client(sim, 0).call("save", Args([(encode((2, 0)), b"snapshot at 5")]))
        sim.net.delete_server(0)
        sim.crash(first)
        second = sim.start_server(0, 1)
        second.boot(first.disk.copy(), [sim.net.make_end(0, 0, second.number)])
        return service.booted_with, service_of(second).booted_with

    before, after = run(sim, main())
    assert before == (b"", b"")
    assert after == (encode((2, 0)), b"snapshot at 5")
