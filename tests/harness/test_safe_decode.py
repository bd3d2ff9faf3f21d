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

Hostile pickles, opcode by opcode, through both unpicklers safe_decode uses
(the C one, and the pure-Python one for bytes holding a memo or extension
opcode's byte): os.system reached by GLOBAL, STACK_GLOBAL, INST, OBJ, NEWOBJ
and NEWOBJ_EX becomes an inert Record and runs nothing, a builtin is refused
(each payload first shown live with plain ``pickle.loads``); EXT1/2/4 are
refused even after ``copyreg.add_extension`` registered (and pickle cached)
os.system; persistent ids and out-of-band buffers are refused. Decoding stays
cheap: a 13-byte pickle whose LONG_BINPUT names memo index 2**30 (or a PUT
with a huge decimal index) decodes under 1 MiB (tracemalloc), huge announced
lengths are refused without touching memory, and any pickle allocates a
bounded multiple of its size. Every truncation of a hostile pickle and
random opcode soup give a plain value or SafeDecodeError only.
"""

from __future__ import annotations

import builtins
import contextlib
import copyreg
import dataclasses
import gc
import io
import math
import os
import pickle
import random
import re
import resource
import shutil
import struct
import subprocess
import sys
import tracemalloc
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
        # A cut inside a class's name reads as a shorter name (the pure-Python unpickler).
        assert refused(data[:cut]).startswith(("not a value made by harness.encode",
                                               "data that names a class by a strange name"))


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


# ------------------------------------------------- hostile pickles, by opcode


def text_arg(arg: str) -> bytes:
    """``arg`` as a SHORT_BINUNICODE (protocol 4+) or BINUNICODE (2+) opcode."""
    data = arg.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def hand_made(route: str, module: str, name: str, arg: str) -> bytes:
    """A pickle that calls ``module.name(arg)`` by ``route``."""
    m, n, a = module.encode(), name.encode(), arg.encode()
    short = b"\x8c" + bytes([len(m)]) + m + b"\x8c" + bytes([len(n)]) + n
    return {
        "GLOBAL-REDUCE-p0": b"c" + m + b"\n" + n + b"\n(V" + a + b"\ntR.",
        "GLOBAL-REDUCE-p2": b"\x80\x02c" + m + b"\n" + n + b"\n" + text_arg(arg) + b"\x85R.",
        "STACK_GLOBAL-p4": b"\x80\x04" + short + b"\x93" + text_arg(arg) + b"\x85R.",
        "STACK_GLOBAL-p5": b"\x80\x05\x95" + struct.pack("<Q", len(short) + len(a) + 8)
                           + short + b"\x93" + text_arg(arg) + b"\x85R.",
        "INST": b"(V" + a + b"\ni" + m + b"\n" + n + b"\n.",
        "OBJ": b"(c" + m + b"\n" + n + b"\nV" + a + b"\no.",
        "NEWOBJ": b"\x80\x02c" + m + b"\n" + n + b"\n" + text_arg(arg) + b"\x85\x81.",
        "NEWOBJ_EX": b"\x80\x04" + short + b"\x93" + text_arg(arg) + b"\x85}\x92.",
    }[route]


ROUTES = ["GLOBAL-REDUCE-p0", "GLOBAL-REDUCE-p2", "STACK_GLOBAL-p4", "STACK_GLOBAL-p5", "INST",
          "OBJ", "NEWOBJ", "NEWOBJ_EX"]
LIVE_ROUTES = ROUTES[:6]  # NEWOBJ wants cls.__new__: a function has none


def inert(data: bytes, name: str) -> None:
    """``safe_decode(data)`` refuses it, or rebuilds the call as an inert Record."""
    try:
        value = safe_decode(data)
    except SafeDecodeError:
        return
    assert isinstance(value, Record) and value.type_name == name, repr(value)
    check_plain(value)


RISKY = re.compile(rb"[pr\x82-\x84]")
"""Bytes of PUT, LONG_BINPUT and EXT1/2/4: safe_decode hands bytes holding one
to the pure-Python unpickler, and the rest to the C one."""


def through(data: bytes, unpickler: str) -> bytes:
    """``data`` as the chosen unpickler will read it: as is for the C one (it has
    none of the risky bytes), with a harmless PUT (``N p0 POP``) for the other."""
    if unpickler == "C":
        assert RISKY.search(data) is None, data
        return data
    at = 2 if data.startswith(b"\x80") else 0
    return data[:at] + b"Np0\n0" + data[at:]


def hidden(code: str) -> str:
    """Python source that runs ``code`` and spells it with none of the risky bytes."""
    return "exec('" + "".join(f"\\x{b:02x}" for b in code.encode()) + "')"


UNPICKLERS = ["C", "pure-Python"]


@pytest.mark.parametrize(("route", "module", "unpickler"), [
    (route, module, unpickler) for route in ROUTES for module in ("os", os.system.__module__)
    for unpickler in UNPICKLERS if unpickler != "C" or not RISKY.search(module.encode())
])  # ("posix" itself sends the bytes to the pure-Python unpickler)
def test_os_system_by_every_opcode_route_runs_nothing(
        route: str, module: str, unpickler: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    proof = tmp_path / "done"
    data = through(hand_made(route, module, "system", "touch done"), unpickler)
    if route in LIVE_ROUTES:  # the payload is live: plain pickle runs it ...
        assert pickle.loads(data) == 0 and proof.exists()
        proof.unlink()
    inert(data, "system")  # ... safe_decode does not
    assert not proof.exists()


@pytest.mark.parametrize("unpickler", UNPICKLERS)
@pytest.mark.parametrize("module", ["builtins", "__builtin__"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_builtin_by_every_opcode_route_is_refused(
        route: str, module: str, unpickler: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    proof = tmp_path / "done"
    data = through(hand_made(route, module, "exec", hidden(
        "__import__('pathlib').Path('done').touch()")), unpickler)
    # (pickle maps __builtin__ to builtins below protocol 3 only)
    if route in LIVE_ROUTES and (module == "builtins" or not route.startswith("STACK_GLOBAL")):
        pickle.loads(data)
        assert proof.exists()
        proof.unlink()
    assert refused(data) == f"data that names {module}.exec"
    assert not proof.exists()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_live_os_system_pickle_of_every_protocol_runs_nothing(protocol: int,
                                                                tmp_path: Path) -> None:
    proof = tmp_path / "pwned"
    data = pickle.dumps([1, CallsSystem(f"touch {proof}"), {"k": Calls(side_effect, 1)}],
                        protocol)
    CALLED.clear()
    pickle.loads(data)
    assert proof.exists() and CALLED == [(1,)]
    proof.unlink()
    CALLED.clear()
    value = safe_decode(data)
    assert not proof.exists() and CALLED == []
    assert value[1].type_name == "system" and value[2]["k"].type_name == "side_effect"


EXT_OPCODES = [  # (opcode, a code it can carry)
    (pickle.EXT1, 0xF1),
    (pickle.EXT2, 0xBEEF),
    (pickle.EXT4, 0x1234_5678),
]


def ext(opcode: bytes, code: int) -> bytes:
    return opcode + code.to_bytes({pickle.EXT1: 1, pickle.EXT2: 2, pickle.EXT4: 4}[opcode],
                                  "little")


@pytest.mark.parametrize(("opcode", "code"), EXT_OPCODES, ids=["EXT1", "EXT2", "EXT4"])
def test_an_extension_opcode_is_refused_even_when_registered(opcode: bytes, code: int,
                                                            tmp_path: Path) -> None:
    """copyreg's extension registry maps codes to globals, and the unpickler's
    cache of it skips find_class: safe_decode refuses the opcodes outright."""
    proof = tmp_path / "pwned"
    data = b"\x80\x02" + ext(opcode, code) + text_arg(f"touch {proof}") + b"\x85R."
    assert refused(data) == "data that names a registered extension"  # unregistered
    copyreg.add_extension(os.system.__module__, "system", code)
    try:
        made = pickle.dumps(CallsSystem(f"touch {proof}"), 2)
        assert ext(opcode, code) in made  # pickle itself now writes the code
        for payload in (data, made):
            assert pickle.loads(payload) == 0 and proof.exists()  # live, and now cached
            proof.unlink()
            assert refused(payload) == "data that names a registered extension"
            assert not proof.exists()
    finally:
        copyreg.remove_extension(os.system.__module__, "system", code)
    assert code not in copyreg._extension_cache  # type: ignore[attr-defined]


def test_a_registered_extension_naming_a_builtin_is_refused_too(tmp_path: Path) -> None:
    proof = tmp_path / "pwned"
    code = 0xF2
    copyreg.add_extension("builtins", "exec", code)
    try:
        data = pickle.dumps(Calls(builtins.exec,
                                  f"__import__('pathlib').Path({str(proof)!r}).touch()"), 3)
        assert ext(pickle.EXT1, code) in data
        assert refused(data) == "data that names a registered extension"
        assert not proof.exists()
    finally:
        copyreg.remove_extension("builtins", "exec", code)


class Persistent(pickle.Pickler):
    """Writes every str as a persistent id."""

    def persistent_id(self, obj: Any) -> Any:
        return obj if type(obj) is str else None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_ids_are_refused_in_every_protocol(protocol: int) -> None:
    buffer = io.BytesIO()
    Persistent(buffer, protocol).dump([1, "an id"])
    assert refused(buffer.getvalue()) == "data with a persistent reference"


@pytest.mark.parametrize("data", [
    b"Pid\n.", b"\x80\x02K\x01Q.", b"\x80\x02]P0\na.", b"\x80\x02]X\x02\x00\x00\x00idQa.",
], ids=["PERSID", "BINPERSID-int", "PERSID-in-list", "BINPERSID-str"])
def test_hand_made_persistent_ids_are_refused(data: bytes) -> None:
    assert refused(data) == "data with a persistent reference"


def test_out_of_band_buffers_are_refused() -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps([pickle.PickleBuffer(b"abc")], 5, buffer_callback=buffers.append)
    assert len(buffers) == 1 and b"\x97" in data
    assert "not a value made by harness.encode" in refused(data)
    for hand in (b"\x80\x05\x97.", b"\x80\x05\x97\x98.", b"\x80\x05]\x97a."):
        assert "not a value made by harness.encode" in refused(hand)
    # In band, a PickleBuffer is plain bytes.
    assert safe_decode(pickle.dumps(pickle.PickleBuffer(b"abc"), 5)) == b"abc"


# ----------------------------------------------------------- decoding is cheap


def decode_peak(data: bytes) -> tuple[int, int]:
    """(peak, retained) bytes tracemalloc saw while ``safe_decode(data)`` ran,
    refused or not, and after it returned."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with contextlib.suppress(SafeDecodeError):
            value = safe_decode(data)
            del value
        peak = tracemalloc.get_traced_memory()[1] - base
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak, retained


MEMO_BOMBS: list[tuple[str, bytes]] = [
    # [1], memoized at a huge index: the C unpickler would size and zero its memo to it
    ("LONG_BINPUT-2**30", b"\x80\x05](K\x01r" + struct.pack("<I", 1 << 30) + b"e."),
    ("LONG_BINPUT-2**32-1", b"\x80\x05](K\x01r" + struct.pack("<I", 2**32 - 1) + b"e."),
    ("PUT-10**18", b"(K\x01p" + b"9" * 18 + b"\nl."),
    ("PUT-10**4000", b"(K\x01p" + b"9" * 4000 + b"\nl."),
    ("PUT-5000-digits", b"(K\x01p" + b"9" * 5000 + b"\nl."),
    ("PUT-negative", b"(K\x01p-1\nl."),
    ("LONG_BINGET-missing", b"\x80\x05j" + struct.pack("<I", 1 << 30) + b"."),
    ("GET-missing", b"g" + b"9" * 30 + b"\n."),
    ("put-then-get", b"\x80\x05K\x01r" + struct.pack("<I", 1 << 30) + b"j"
     + struct.pack("<I", 1 << 30) + b"\x86."),
]

LENGTH_BOMBS: list[tuple[str, bytes]] = [
    ("LONG4", b"\x80\x02\x8b\xff\xff\xff\x7f."),
    ("BINSTRING", b"\x80\x02T\xff\xff\xff\x7fab."),
    ("BINBYTES-memo", b"\x80\x03B\xff\xff\xff\xffabr."),  # an "r": the pure-Python path
    ("BINBYTES8", b"\x80\x04\x8e" + struct.pack("<Q", 2**62) + b"ab."),
    ("BINUNICODE", b"\x80\x02X\xff\xff\xff\xffab."),
    ("BINUNICODE8", b"\x80\x04\x8d" + struct.pack("<Q", 2**62) + b"ab."),
    ("BYTEARRAY8", b"\x80\x05\x96" + struct.pack("<Q", 2**62) + b"ab."),
    ("FRAME", b"\x80\x04\x95" + struct.pack("<Q", 2**62) + b"N."),
    ("FRAME-over-maxsize", b"\x80\x04\x95" + struct.pack("<Q", 2**64 - 1) + b"N."),
    ("LONG-5000-digits", b"L" + b"9" * 5000 + b"L\n."),
    ("INT-5000-digits", b"I" + b"9" * 5000 + b"\n."),
]


@pytest.mark.parametrize(("name", "data"), MEMO_BOMBS + LENGTH_BOMBS,
                         ids=[name for name, _ in MEMO_BOMBS + LENGTH_BOMBS])
def test_a_small_pickle_naming_a_huge_index_or_length_stays_cheap(name: str,
                                                                  data: bytes) -> None:
    peak, retained = decode_peak(data)
    assert peak < 1 << 20, f"{peak:,} bytes allocated to read {len(data):,}"
    assert retained < 64 * 1024


@pytest.mark.parametrize("data", [
    b"\x80\x03B\xff\xff\xff\xffab.",  # BINBYTES: 4 GiB
    b"\x80\x05\x96" + struct.pack("<Q", 2**32) + b"ab.",  # BYTEARRAY8: 4 GiB
    b"\x80\x05\x96" + struct.pack("<Q", 2**62) + b"ab.",  # more than malloc gives
], ids=["BINBYTES", "BYTEARRAY8", "BYTEARRAY8-2**62"])
def test_a_huge_announced_length_reserves_memory_it_never_touches(data: bytes) -> None:
    """Bytes with no memo or extension opcode go to the C unpickler, which
    allocates a counted bytes value at the length it announces before reading
    into it: untouched pages, freed at once, and a MemoryError where the
    address space is limited. The frame is refused either way; what the
    process really holds (its peak RSS) does not grow."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(10):
        assert "not a value made by harness.encode" in refused(data)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB


def test_the_13_byte_memo_bomb_decodes_to_its_value() -> None:
    """The pure-Python unpickler keeps its memo in a dict: the index is just a key."""
    assert safe_decode(b"\x80\x05](K\x01r" + struct.pack("<I", 1 << 30) + b"e.") == [1]
    assert safe_decode(b"(K\x01p" + b"9" * 4000 + b"\nl.") == [1]
    assert "not a value made by harness.encode" in refused(b"(K\x01p" + b"9" * 5000 + b"\nl.")
    assert "not a value made by harness.encode" in refused(
        b"\x80\x05j" + struct.pack("<I", 1 << 30) + b".")


@pytest.mark.parametrize(("name", "data", "bound"), [
    ("empty-dicts", b"\x80\x04" + b"}" * 20_000 + b".", 100),
    ("empty-lists", b"\x80\x04" + b"]" * 20_000 + b".", 100),
    ("nones", b"\x80\x04" + b"N" * 20_000 + b".", 16),
    ("memo-puts", b"\x80\x04K\x01" + b"\x94" * 20_000 + b".", 100),
    ("shared-parts", b"\x80\x04]\x94" + b"h\x00" * 20_000 + b"\x90.", 16),
], ids=lambda v: v if isinstance(v, str) else "")
def test_any_pickle_allocates_a_bounded_multiple_of_its_size(name: str, data: bytes,
                                                             bound: int) -> None:
    """Unpickling makes objects as it goes (an empty dict: ~70 bytes of memory
    for one of pickle) and checks the value only at the end: linear, never more."""
    peak, retained = decode_peak(data)
    assert peak < bound * len(data) + (1 << 20), f"{peak:,} bytes to read {len(data):,}"
    assert retained < 64 * 1024


def test_a_pickle_naming_many_classes_does_not_make_the_grader_keep_them() -> None:
    tag = f"m{random.randrange(10**9)}"  # names no earlier run of this test made
    data = b"".join(b"c%s\nC%d\n0" % (tag.encode(), i) for i in range(5000)) + b"N."
    peak, retained = decode_peak(data)
    assert retained < 1 << 20, f"{retained:,} bytes kept after reading {len(data):,}"
    assert peak < 100 * len(data) + (1 << 20), f"{peak:,} bytes to read {len(data):,}"


# -------------------------------------------- truncated, random, crashing bytes

HOSTILE: list[bytes] = [
    *[hand_made(route, module, "system", "touch /nonexistent/pwned")
      for route in ROUTES for module in ("os", "builtins")],
    b"\x80\x02" + ext(pickle.EXT1, 0xF1) + text_arg("x") + b"\x85R.",
    b"\x80\x02K\x01Q.",
    b"\x80\x05]\x97a.",
    *[data for _, data in MEMO_BOMBS + LENGTH_BOMBS],
]


def test_every_truncation_of_a_hostile_pickle_is_a_safe_decode_error() -> None:
    for data in HOSTILE:
        for cut in range(min(len(data), 200)):
            with pytest.raises(SafeDecodeError):
                safe_decode(data[:cut])


OPCODES = bytes(sorted({op[0] for op in (
    pickle.MARK, pickle.STOP, pickle.POP, pickle.POP_MARK, pickle.DUP, pickle.NONE,
    pickle.NEWTRUE, pickle.NEWFALSE, pickle.EMPTY_LIST, pickle.EMPTY_DICT, pickle.EMPTY_TUPLE,
    pickle.EMPTY_SET, pickle.APPEND, pickle.APPENDS, pickle.SETITEM, pickle.SETITEMS,
    pickle.ADDITEMS, pickle.FROZENSET, pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2,
    pickle.TUPLE3, pickle.LIST, pickle.DICT, pickle.BUILD, pickle.REDUCE, pickle.NEWOBJ,
    pickle.NEWOBJ_EX, pickle.STACK_GLOBAL, pickle.MEMOIZE, pickle.BINPUT, pickle.BINGET,
    pickle.LONG_BINPUT, pickle.LONG_BINGET, pickle.BININT1, pickle.BININT, pickle.LONG1,
    pickle.SHORT_BINUNICODE, pickle.SHORT_BINBYTES, pickle.EXT1, pickle.BINPERSID,
    pickle.NEXT_BUFFER, pickle.PROTO, pickle.FRAME, pickle.GLOBAL, pickle.INST, pickle.OBJ,
)}))


def test_random_opcode_soup_gives_a_plain_value_or_a_safe_decode_error_only(
        tmp_path: Path) -> None:
    """Random sequences of the opcodes that build, call, memoize and look up,
    with random arguments (huge memo indexes included)."""
    rng = random.Random(2)
    CALLED.clear()
    outcomes = {"value": 0, "refused": 0}
    for _ in range(2000):
        data = b"\x80\x04" + bytes(rng.choice(OPCODES) if rng.random() < 0.7
                                   else rng.randrange(256) for _ in range(rng.randrange(1, 30)))
        try:
            check_plain(safe_decode(data + b"."))
            outcomes["value"] += 1
        except SafeDecodeError:
            outcomes["refused"] += 1
    assert CALLED == [] and outcomes["value"] >= 5 and outcomes["refused"] > 1000


@pytest.mark.parametrize("opcodes", [
    b"\x80\x02}K\x01" + b"\x85" * 400_000 + b"Ns.",  # a dict key
    b"\x80\x04\x8f(K\x01" + b"\x85" * 400_000 + b"\x90.",  # a set item
    b"\x80\x04(K\x01" + b"\x85" * 400_000 + b"\x91.",  # a frozenset item
], ids=["dict-key", "set-item", "frozenset-item"])
def test_a_deeply_nested_key_is_refused_not_a_crash(opcodes: bytes, tmp_path: Path) -> None:
    data = tmp_path / "deep.pickle"
    data.write_bytes(opcodes)
    script = ("import pathlib, sys\n"
              "from harness._trusted.safe_decode import SafeDecodeError, safe_decode\n"
              "try:\n"
              "    safe_decode(pathlib.Path(sys.argv[1]).read_bytes())\n"
              "except SafeDecodeError as e:\n"
              "    print('refused:', e)\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script, str(data)], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"the decoding process died: {done.returncode}"
    assert done.stdout.startswith("refused: "), done.stdout + done.stderr


def test_a_key_that_shares_its_parts_is_refused_before_it_is_hashed() -> None:
    """(x, x), nested 60 times over one memo slot: 431 bytes, but hashing it would visit
    2**60 tuples. Keys are walked (shared parts counted each time) before hashing."""
    key = b"K\x01\x85q\x00" + b"h\x00h\x00\x86q\x00" * 60  # BINGET 0 twice, TUPLE2, BINPUT 0
    data = b"\x80\x02}" + key + b"Ns."
    assert len(data) < 500
    assert refused(data) == "dict keys of more than 20,000 parts"
