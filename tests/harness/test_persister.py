"""Tests of the persister, MIT's persister.go (harness/_persister.py).

An empty persister reads b""; save() stores both parts atomically, None or
b"" erases the snapshot; stored bytes never alias a caller's buffer; copy()
is independent of the original in both directions, which is what lets a
restarted server see exactly the bytes saved before its crash.
"""

from __future__ import annotations

import pytest

from harness import Persister, StudentError, decode, encode
from harness._persister import peak_raft_state_size


def test_an_empty_persister_reads_empty_bytes() -> None:
    p = Persister()
    assert p.read_raft_state() == b"" and type(p.read_raft_state()) is bytes
    assert p.read_snapshot() == b"" and type(p.read_snapshot()) is bytes
    assert p.raft_state_size() == 0 and p.snapshot_size() == 0


def test_save_stores_state_and_snapshot_together() -> None:
    p = Persister()
    state = encode((3, 1, [(1, "x"), (3, "y")]))
    p.save(state, b"snap")
    assert p.read_raft_state() == state
    assert decode(p.read_raft_state()) == (3, 1, [(1, "x"), (3, "y")])
    assert p.read_snapshot() == b"snap"
    assert p.raft_state_size() == len(state) and p.snapshot_size() == 4
    p.save(b"newer", b"snap2")
    assert (p.read_raft_state(), p.read_snapshot()) == (b"newer", b"snap2")


@pytest.mark.parametrize("erase", [None, b""])
def test_saving_without_a_snapshot_erases_the_snapshot(erase: bytes | None) -> None:
    p = Persister()
    p.save(b"state", b"snapshot")
    p.save(b"state2", erase)
    assert p.read_snapshot() == b"" and p.snapshot_size() == 0
    assert p.read_raft_state() == b"state2"


def test_a_mutable_buffer_is_copied_when_saved() -> None:
    p = Persister()
    state, snap = bytearray(b"abc"), bytearray(b"xyz")
    p.save(state, memoryview(snap))  # type: ignore[arg-type]
    state[0] = ord("Z")
    snap[0] = ord("Z")
    assert p.read_raft_state() == b"abc" and type(p.read_raft_state()) is bytes
    assert p.read_snapshot() == b"xyz" and type(p.read_snapshot()) is bytes


@pytest.mark.parametrize(("state", "snapshot", "what", "kind"), [
    ("text", None, "raft_state", "str"),
    ([1, 2], None, "raft_state", "list"),
    (b"ok", (1, 2), "snapshot", "tuple"),
])
def test_saving_something_other_than_bytes_names_the_fix(state: object, snapshot: object,
                                                         what: str, kind: str) -> None:
    p = Persister()
    p.save(b"before", b"snap")
    with pytest.raises(StudentError) as info:
        p.save(state, snapshot)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"persister.save() needs bytes for {what}, not {kind}. Serialise your state first, e.g. "
        "`harness.encode((self.current_term, self.voted_for, self.log))`.")
    assert (p.read_raft_state(), p.read_snapshot()) == (b"before", b"snap")  # nothing half-saved


def test_a_copy_holds_the_same_bytes_and_is_independent_both_ways() -> None:
    original = Persister()
    original.save(b"term 3", b"snapshot at 10")
    copy = original.copy()
    assert (copy.read_raft_state(), copy.read_snapshot()) == (b"term 3", b"snapshot at 10")
    original.save(b"written by the dead incarnation", None)
    assert (copy.read_raft_state(), copy.read_snapshot()) == (b"term 3", b"snapshot at 10")
    copy.save(b"written by the new incarnation", b"s")
    assert original.read_raft_state() == b"written by the dead incarnation"
    assert original.read_snapshot() == b""


def test_the_peak_raft_state_size_is_remembered_across_saves_and_copies() -> None:
    a = Persister()
    a.save(b"x" * 100, None)
    a.save(b"x" * 10, None)
    b = a.copy()
    b.save(b"x" * 50, None)
    assert peak_raft_state_size([a, b]) == 100
    assert peak_raft_state_size([b]) == 50
    assert peak_raft_state_size([]) == 0


def test_a_persister_describes_its_sizes() -> None:
    p = Persister()
    p.save(b"abc", b"de")
    assert repr(p) == "<Persister raft_state=3B snapshot=2B>"
