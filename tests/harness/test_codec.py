"""Tests of the codec, labgob's role (harness/_codec.py).

Plain data round-trips as a fresh copy; anything else (sets, bytearrays,
arbitrary objects, dataclasses the receiver cannot rebuild, bad dict keys,
over-deep nesting) is refused at the sender with a CodecError that names the
path to the offending value and what to send instead. ``decode`` is how a
server life reads what another sent; the trusted side reads the same bytes
without running anything (safe_decode, tested in test_safe_decode.py).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

import pytest

from harness import CodecError, decode, encode

from .toys import Args, Inner, Outer


@dataclasses.dataclass(frozen=True)
class Frozen:
    term: int
    entries: tuple[Any, ...] = ()


@dataclasses.dataclass(slots=True)
class Slotted:
    term: int = 0
    log: Any = None


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


def refusal(value: object) -> str:
    with pytest.raises(CodecError) as info:
        encode(value)
    return str(info.value)


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**100, 1.5, -0.0, math.inf, "", "héllo", b"", b"\x00\xff",
    [], (), {}, [1, "a", None], (1, (2, (3,))), {"k": [1, 2], 3: (4,), (5, "t"): None},
    [(1, "put x"), (1, "put y"), (2, 17)], [[1, 2], [3, [4, [5]]]],
    Args(5), Args([Args(1), Args({"x": b"y"})]), Outer("n", Inner([(1, 2), {"a": None}])),
    Frozen(3, ((1, "c"),)), Slotted(2, [1, 2, 3]),
])
def test_plain_data_round_trips_to_an_equal_value(value: object) -> None:
    data = encode(value)
    assert isinstance(data, bytes)
    copy = decode(data)
    assert copy == value
    assert type(copy) is type(value)


def test_nan_round_trips() -> None:
    assert math.isnan(decode(encode(math.nan)))


def test_decode_returns_a_fresh_copy_every_time() -> None:
    original = Outer("o", Inner([1, [2, 3], {"k": [4]}]))
    data = encode(original)
    first, second = decode(data), decode(data)
    assert first == second == original
    assert first is not original and first.inner is not original.inner
    first.inner.items[1].append(99)
    first.inner.items[2]["k"].clear()
    first.name = "changed"
    assert original == Outer("o", Inner([1, [2, 3], {"k": [4]}]))
    assert second == original


def test_mutating_the_sender_after_encoding_does_not_change_the_bytes() -> None:
    log = [(1, "a")]
    data = encode(Args(log))
    log.append((2, "b"))
    assert decode(data) == Args([(1, "a")])


def test_equal_values_encode_to_equal_bytes() -> None:
    assert encode(Args([1, "x", (2, None)])) == encode(Args([1, "x", (2, None)]))
    assert encode({"a": 1, "b": 2}) == encode({"a": 1, "b": 2})


# ------------------------------------------------------------------ refusals


def test_codec_error_is_a_type_error() -> None:
    assert issubclass(CodecError, TypeError)


@pytest.mark.parametrize("kind", [set, frozenset])
def test_sets_are_refused_with_the_path_and_the_fix(kind: type) -> None:
    message = refusal(Args([1, (2, kind([3]))]))
    assert message == (f"Args.value[1][1]: a {kind.__name__} cannot cross the network: its order "
                       "depends on hashing and may differ between runs; send a sorted list "
                       "instead")


def test_a_set_deep_inside_nested_dataclasses_and_dicts_is_found_by_its_path() -> None:
    message = refusal(Outer("n", Inner({"k": [1, 2, {5}]})))
    assert message.startswith("Outer.inner.items['k'][2]: a set cannot cross the network")


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_mutable_byte_buffers_are_refused_with_the_fix(kind: type) -> None:
    message = refusal(Args(kind(b"abc")))
    assert message == (f"Args.value: a {kind.__name__} cannot cross the network; convert it with "
                       "bytes(...)")


def test_arbitrary_objects_are_refused_with_the_list_of_what_can_cross() -> None:
    class Raft:
        pass

    message = refusal(Outer("n", Inner([Raft()])))
    assert message == ("Outer.inner.items[0]: a Raft object cannot cross the network (only None, "
                       "bool, int, float, str, bytes, list, tuple, dict and module-level "
                       "dataclasses can)")
    assert refusal(object()).startswith("value: an object object cannot cross the network")


def test_subclasses_of_plain_types_are_refused_with_the_plain_type_to_send() -> None:
    assert refusal(Args(Color.RED)) == ("Args.value: a Color object cannot cross the network "
                                        "(send a plain int instead)")
    assert refusal([Text("x")]) == ("value[0]: a Text object cannot cross the network "
                                    "(send a plain str instead)")


def test_a_dataclass_defined_inside_a_function_is_refused() -> None:
    @dataclasses.dataclass
    class LocalArgs:
        term: int = 0

    message = refusal(Args([LocalArgs()]))
    assert message == (
        "Args.value[0]: class test_a_dataclass_defined_inside_a_function_is_refused.<locals>."
        "LocalArgs is defined inside a function, so the receiver cannot rebuild it; define the "
        "dataclass at module level")


def test_a_dataclass_the_receiver_cannot_find_by_name_is_refused() -> None:
    ghost = dataclasses.make_dataclass("Ghost", [("x", int)])
    ghost.__module__ = __name__  # claims this module, which has no Ghost
    message = refusal(Args(ghost(1)))
    assert message == (f"Args.value: class {__name__}.Ghost cannot be found by its module and "
                       "name, so the receiver cannot rebuild it; define the dataclass at module "
                       "level")


def test_a_dataclass_class_object_itself_is_refused() -> None:
    assert "a type object cannot cross the network" in refusal(Args)


def test_bad_dict_keys_are_refused_with_the_path() -> None:
    assert refusal({"ok": 1, frozenset(): 2}) == (
        "value[frozenset()]: a dict key of type frozenset cannot cross the network; use str, int "
        "or a tuple of them")
    assert refusal(Args({(1, frozenset()): 2})).startswith(
        "Args.value[(1, frozenset())]: a dict key of type tuple cannot cross")
    assert decode(encode({(1, Frozen(2)): 3})) == {(1, Frozen(2)): 3}


def test_a_bad_value_in_a_dict_is_found_by_its_key() -> None:
    assert refusal({"a": [1], "b": [2, {3}]}).startswith("value['b'][1]: a set cannot cross")


def test_a_list_that_contains_itself_is_copied_without_recursing_forever() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    copy = decode(encode(Args(loop)))
    assert copy.value is not loop and copy.value[1] is copy.value


def test_data_nested_too_deep_is_refused_with_the_path() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    message = refusal(Args(deep))
    assert message.startswith("Args.value[0][0][0]")
    assert message.endswith("data nested more than 100 levels deep (a list that contains itself?) "
                            "cannot cross the network")


def test_a_bad_field_of_a_slotted_or_frozen_dataclass_is_found() -> None:
    assert refusal(Slotted(1, [{2}])).startswith("Slotted.log[0]: a set cannot cross")
    assert refusal(Frozen(1, ((1, bytearray()),))).startswith(
        "Frozen.entries[0][1]: a bytearray cannot cross")


def test_a_refused_class_stays_refused_and_an_allowed_one_stays_allowed() -> None:
    """Verdicts per class are cached: the second encode must agree with the first."""
    for _ in range(2):
        assert decode(encode(Args(Inner(1)))) == Args(Inner(1))
        with pytest.raises(CodecError):
            encode(Args(Color.RED))
