"""Tests of safe_decode, how the trusted side reads bytes a sandbox made
(harness/_trusted/safe_decode.py).

Plain data from ``harness.encode`` round-trips; an instance of a dataclass
becomes a ``Record`` named after its class, equal by value, with its fields
as attributes and a readable repr. Nothing a pickle names is ever imported or
called: os.system, builtins.eval, any function of any module (each proved by
a side effect that did not happen). Truncated, corrupt or garbage bytes,
values that contain themselves, are nested too deep or have too many parts,
and values that are not plain data are all refused with SafeDecodeError,
and nothing else ever escapes.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import os
import pickle
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import SafeDecodeError, encode, safe_decode
from harness._trusted.safe_decode import Record, check_plain

from .toys import Args, Inner, Outer, Reply


@dataclasses.dataclass(frozen=True)
class Frozen:
    term: int
    entries: tuple[Any, ...] = ()


@dataclasses.dataclass(slots=True)
class Slotted:
    term: int = 0
    log: Any = None


@dataclasses.dataclass
class Other:
    value: Any = None


def refused(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(SafeDecodeError) as info:
        safe_decode(data, **kwargs)
    return str(info.value)


def nested(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth - 1):
        node.append([])
        node = node[0]
    return root


# ---------------------------------------------------------------- plain data


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**100, 1.5, -0.0, math.inf, "", "héllo", b"", b"\x00\xff",
    [], (), {}, [1, "a", None], (1, (2, (3,))), {"k": [1, 2], 3: (4,), (5, "t"): None},
    [(1, "put x"), (1, "put y"), (2, 17)], [[1, 2], [3, [4, [5]]]],
])
def test_plain_data_round_trips_to_an_equal_value(value: object) -> None:
    copy = safe_decode(encode(value))
    assert copy == value
    assert type(copy) is type(value)


def test_nan_round_trips() -> None:
    assert math.isnan(safe_decode(encode(math.nan)))


def test_shared_parts_are_read_as_shared() -> None:
    part = [1, 2]
    copy = safe_decode(encode([part, part]))
    assert copy == [[1, 2], [1, 2]] and copy[0] is copy[1]


# --------------------------------------------------------------------- records


def test_a_dataclass_instance_becomes_a_record_named_after_its_class() -> None:
    record = safe_decode(encode(Args(5)))
    assert isinstance(record, Record) and not isinstance(record, Args)
    assert type(record).__name__ == "Args" and record.type_name == "Args"
    assert record.value == 5
    assert record.fields() == {"value": 5} and record.values() == ()


def test_records_are_equal_by_value_and_type_name() -> None:
    one = safe_decode(encode(Reply([1, "x"], 2, 3)))
    assert one == safe_decode(encode(Reply([1, "x"], 2, 3)))
    assert one != safe_decode(encode(Reply([1, "x"], 2, 4)))
    assert safe_decode(encode(Args(5))) != safe_decode(encode(Other(5)))  # same fields
    assert safe_decode(encode(Args(5))) != Args(5)  # a Record is not the class itself
    with pytest.raises(TypeError):
        hash(one)  # mutable, like the dataclass


@pytest.mark.parametrize(("value", "text"), [
    (Outer("n", Inner([(1, 2), {"a": None}])),
     "Outer(name='n', inner=Inner(items=[(1, 2), {'a': None}]))"),
    (Args([Args(1), Args({"x": b"y"})]), "Args(value=[Args(value=1), Args(value={'x': b'y'})])"),
    (Frozen(3, ((1, "c"),)), "Frozen(term=3, entries=((1, 'c'),))"),
    (Slotted(2, [1, 2, 3]), "Slotted(term=2, log=[1, 2, 3])"),
])
def test_nested_frozen_and_slotted_dataclasses_become_records(value: Any, text: str) -> None:
    record = safe_decode(encode(value))
    assert repr(record) == text == repr(value)
    assert record == safe_decode(encode(value))
    for name, field in record.fields().items():
        assert getattr(record, name) == safe_decode(encode(getattr(value, name))) == field


def test_a_records_attributes_are_its_fields_and_nothing_else() -> None:
    record = safe_decode(encode(Outer("n", Inner([1]))))
    assert record.name == "n" and record.inner.items == [1]
    with pytest.raises(AttributeError):
        _ = record.missing
    with pytest.raises(AttributeError):
        _ = record._rl_anything
    record.fields()["name"] = "changed"  # fields() is a copy
    assert record.name == "n"


def test_a_record_rebuilt_from_positional_values_shows_them() -> None:
    record = Record(1, "two")
    assert record.values() == (1, "two") and record.fields() == {}
    assert repr(record) == "Record(1, 'two')"


def test_a_dict_keyed_by_a_frozen_dataclass_round_trips() -> None:
    value = {(1, Frozen(2)): 3}
    copy = safe_decode(encode(value))
    assert list(copy.values()) == [3]


def test_a_record_hashes_by_value_as_a_frozen_dataclass_does() -> None:
    key = safe_decode(encode(Frozen(2)))
    assert hash(key) == hash(safe_decode(encode(Frozen(2))))
    assert safe_decode(encode({Frozen(2): 3})) == {key: 3}


# ------------------------------------------------------------ nothing runs


class CallsSystem:
    """Pickles as a call of os.system(command)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


class Calls:
    """Pickles as a call of ``fn(*args)``."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)


CALLED: list[Any] = []


def side_effect(*args: Any) -> None:
    CALLED.append(args)


PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_pickle_that_calls_os_system_never_runs_it(protocol: int, tmp_path: Path) -> None:
    proof = tmp_path / "pwned"
    data = pickle.dumps(CallsSystem(f"touch {proof}"), protocol)
    assert b"system" in data
    record = safe_decode(data)
    assert not proof.exists()
    assert isinstance(record, Record) and record.type_name == "system"
    assert record.values() == (f"touch {proof}",)  # inert: what the call would have got


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("fn", [builtins.eval, builtins.exec, builtins.getattr,
                                builtins.__import__, builtins.compile])
def test_a_pickle_that_names_a_builtin_is_refused_before_anything_runs(
        fn: Any, protocol: int, tmp_path: Path) -> None:
    proof = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(proof)!r}).touch()"
    message = refused(pickle.dumps(Calls(fn, code), protocol))
    assert not proof.exists()
    module = "builtins" if protocol >= 3 else "__builtin__"
    assert message == f"data that names {module}.{fn.__name__}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_pickle_that_names_any_function_never_calls_it(protocol: int, tmp_path: Path) -> None:
    CALLED.clear()
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_text("still here")
    created = tmp_path / "created"
    calls = [Calls(side_effect, "boom"), Calls(os.remove, str(keep / "file")),
             Calls(shutil.rmtree, str(keep)), Calls(open, str(created), "w")]
    value = safe_decode(pickle.dumps(calls, protocol))
    assert CALLED == []
    assert (keep / "file").read_text() == "still here" and not created.exists()
    assert [r.type_name for r in value] == ["side_effect", "remove", "rmtree", "open"]


def test_a_pickle_that_names_a_module_never_imports_it(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    proof = tmp_path / "imported"
    (tmp_path / "booby_trap.py").write_text(
        f"import pathlib\npathlib.Path({str(proof)!r}).touch()\ndef go(*a): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = b"\x80\x03cbooby_trap\ngo\nq\x00X\x03\x00\x00\x00nowq\x01\x85q\x02Rq\x03."
    record = safe_decode(data)
    assert "booby_trap" not in sys.modules and not proof.exists()
    assert record.type_name == "go" and record.values() == ("now",)


@pytest.mark.parametrize(("data", "message"), [
    (b"ccopyreg\n_reconstructor\n.", "data that names copyreg._reconstructor"),
    (b"ccopy_reg\n_reconstructor\n.", "data that names copy_reg._reconstructor"),
    (b"cos;x\nsystem\n.", "data that names a class by a strange name"),
    (b"cos\nsystem()\n.", "data that names a class by a strange name"),
    (b"Pid\n.", "data with a persistent reference"),
])
def test_globals_it_must_not_touch_and_persistent_references_are_refused(
        data: bytes, message: str) -> None:
    assert refused(data) == message


# -------------------------------------------------------------- bad bytes


def test_every_truncation_of_a_value_is_refused() -> None:
    data = encode(Outer("n", Inner([(1, "put x"), {"k": b"v" * 40}, 2**70, 1.5])))
    assert safe_decode(data) is not None
    for cut in range(len(data)):
        assert "not a value made by harness.encode" in refused(data[:cut])


@pytest.mark.parametrize("data", [
    b"", b"\x00", b".", b"hello world", b"\x80\x05garbage", b"\xff" * 64,
    b"}K\x01a.",   # APPEND to a dict: an opcode used against its type
    b"K\x01K\x02s.",  # SETITEM on an int
])
def test_garbage_is_refused(data: bytes) -> None:
    assert "not a value made by harness.encode" in refused(data)


def test_garbage_that_happens_to_hold_a_pickle_opcode_is_refused_too() -> None:
    # "P" is PERSID: a PNG header reads as a persistent reference.
    assert refused(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == "data with a persistent reference"


def test_random_and_corrupted_bytes_give_a_value_or_a_safe_decode_error_only() -> None:
    rng = random.Random(1)
    good = encode(Outer("n", Inner([(1, "put x"), {"k": [b"v", None]}, 3.5])))
    blobs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(2000)]
    for _ in range(2000):
        corrupt = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        blobs.append(bytes(corrupt))
    refusals = 0
    for blob in blobs:
        try:
            value = safe_decode(blob)
        except SafeDecodeError:
            refusals += 1
        else:
            check_plain(value)  # whatever came out is plain data
    assert refusals > len(blobs) // 2


# ------------------------------------------------------ shape and size limits


def test_a_list_that_contains_itself_is_refused() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert refused(pickle.dumps(loop, 3)) == "a value nested more than 100 levels deep"


def test_a_record_or_a_dict_that_contains_itself_is_refused() -> None:
    args = Args()
    args.value = [args]
    assert refused(encode(args)) == "a value nested more than 100 levels deep"
    table: dict[str, Any] = {}
    table["me"] = table
    assert refused(pickle.dumps(table, 3)) == "a value nested more than 100 levels deep"


def test_a_value_nested_too_deep_is_refused() -> None:
    assert safe_decode(encode(nested(50))) == nested(50)
    assert refused(encode(nested(150))) == "a value nested more than 100 levels deep"
    assert refused(encode(Args(nested(150)))) == "a value nested more than 100 levels deep"


def test_a_value_of_too_many_parts_is_refused() -> None:
    assert safe_decode(encode(list(range(99))), budget=100) == list(range(99))
    assert refused(encode(list(range(100))), budget=100) == "a value of more than 100 parts"
    assert refused(encode(Args(list(range(100)))), budget=100) == "a value of more than 100 parts"


def test_a_small_pickle_of_a_huge_shared_value_is_refused() -> None:
    laughs: list[Any] = ["lol"] * 10
    for _ in range(8):
        laughs = [laughs] * 10  # 10**9 parts, each shared part counted each time it is reached
    data = encode(laughs)
    assert len(data) < 1000
    assert refused(data) == "a value of more than 200,000 parts"


@pytest.mark.parametrize(("value", "protocol", "kind"), [
    ({1, 2}, 4, "set"), (frozenset({1}), 4, "frozenset"), (bytearray(b"x"), 5, "bytearray"),
])
def test_values_that_are_not_plain_data_are_refused_even_without_a_global(
        value: object, protocol: int, kind: str) -> None:
    data = pickle.dumps([1, value], protocol)
    assert b"builtins" not in data  # built by opcodes of their own
    assert refused(data) == f"a value of type {kind}"


class Shaped:
    """Pickles as an instance whose state is ``state``."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (Shaped, (), self.state)


@pytest.mark.parametrize(("state", "message"), [
    ({1: "x"}, "a field name that is not a string"),
    (5, "an object state of an unknown shape"),
    (({"a": 1}, {2: "b"}), "a field name that is not a string"),
])
def test_an_object_state_of_a_strange_shape_is_refused(state: Any, message: str) -> None:
    assert refused(pickle.dumps(Shaped(state), 3)) == message


def test_an_object_state_of_a_known_shape_fills_the_record() -> None:
    record = safe_decode(pickle.dumps(Shaped(({"a": 1}, {"b": 2})), 3))
    assert record.type_name == "Shaped" and (record.a, record.b) == (1, 2)
    record = safe_decode(pickle.dumps(Shaped([1, 2]), 3))
    assert record.values() == (1, 2)
