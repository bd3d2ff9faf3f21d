"""Reading bytes a sandbox produced, without running anything they ask for.

    value = safe_decode(data)        # plain data; dataclass instances become Records
    value = safe_decode(data, budget=10_000)

The trusted side needs to look inside a few blobs from sandboxes: the command
of an ApplyMsg (compared with what the tester submitted), a snapshot the
tester decodes, an RPC's arguments shown in a trace. They are pickles made by
``harness.encode`` - if the sandbox is honest. ``pickle.loads`` on hostile
bytes can call any function, so the trusted side never uses it: this
unpickler resolves no global at all. A class reference (a dataclass the
student defined) becomes a ``Record`` subclass named after it, holding the
fields it is given, with value equality; builtins and everything else are
refused. Nothing the data names is imported or called.

Three opcode families need care beyond ``find_class``. The C unpickler sizes
its memo by the index a PUT or LONG_BINPUT names, and zeroes it: a dozen
bytes could make the grader touch gigabytes. The EXT opcodes skip
``find_class`` for codes ``copyreg`` has cached. And dict keys and set items
are hashed as they are read, before any check: Python hashes a nested tuple
recursively with no guard, so a deep one (150 KB of TUPLE1) crashes the
process, and one that shares its parts takes exponential time. So bytes that
contain none of those opcodes' bytes anywhere (most small values: an int, a
short string, a list of them) go to the C unpickler; the rest go to the
pure-Python one, which keeps its memo in a dict, refuses EXT and sets (not
plain data anyway), and walks each dict key as ``check_plain`` walks a value
before hashing it. It is slower (3 µs for a small
command, 45 µs for a 100-entry snapshot, against 0.7 and 3).

A value names at most ``MAX_CLASSES`` classes; the Record classes made for
them are cached, up to a bound.

After decoding, the value is walked once (iteratively, shared parts counted
each time they are reached), so a value that is too deep or too large, or
that contains itself, is refused before anything compares, prints or hashes
it. Every refusal is a ``SafeDecodeError``.
"""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Callable
from typing import Any, ClassVar, Final

BUDGET: Final = 200_000
"""Most nodes a decoded value may have (counting shared parts each time)."""

MAX_DEPTH: Final = 100

_LEAF: Final = (type(None), bool, int, float, str, bytes)


class SafeDecodeError(ValueError):
    """Bytes that are not plain data made by ``harness.encode``."""


class Record:
    """A stand-in for an instance of a student's class, rebuilt from its pickle."""

    type_name: ClassVar[str] = "Record"
    __slots__ = ("_rl_fields", "_rl_values")
    _rl_fields: dict[str, Any]
    _rl_values: tuple[Any, ...]

    def __new__(cls, *values: Any) -> Record:
        self = object.__new__(cls)
        self._rl_fields = {}
        self._rl_values = values
        return self

    def __init__(self, *values: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        for part in (state, slots):
            if part is None:
                continue
            if isinstance(part, dict):
                for key, value in part.items():
                    if type(key) is not str:
                        raise SafeDecodeError("a field name that is not a string")
                    self._rl_fields[key] = value
            elif isinstance(part, (list, tuple)):
                self._rl_values = tuple(part)
            else:
                raise SafeDecodeError("an object state of an unknown shape")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_rl_"):
            raise AttributeError(name)
        try:
            return self._rl_fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def fields(self) -> dict[str, Any]:
        return dict(self._rl_fields)

    def values(self) -> tuple[Any, ...]:
        return self._rl_values

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Record) and other.type_name == self.type_name
                and other._rl_fields == self._rl_fields and other._rl_values == self._rl_values)

    def __hash__(self) -> int:
        """By value, as a frozen dataclass hashes (a TypeError if a field is not hashable)."""
        return hash((self.type_name, self._rl_values, tuple(sorted(self._rl_fields.items()))))

    def __repr__(self) -> str:
        inner = [repr(v) for v in self._rl_values]
        inner += [f"{k}={v!r}" for k, v in self._rl_fields.items()]
        return f"{self.type_name}({', '.join(inner)})"


_records: dict[str, type[Record]] = {}


def _record_class(module: str, name: str) -> type[Record]:
    key = f"{module}.{name}"
    cls = _records.get(key)
    if cls is None:
        short = name.rsplit(".", 1)[-1]
        cls = type(short, (Record,), {"__slots__": (), "type_name": short})
        _records[key] = cls
    return cls


MAX_CLASSES: Final = 100
"""Most distinct classes one value may name (a Raft's messages use a handful)."""

_MAX_CACHED: Final = 4096  # Record classes kept between decodes (then the cache starts over)


def _find_class(unpickler: Any, module: str, name: str) -> type[Record]:
    if module in ("builtins", "__builtin__", "copyreg", "copy_reg"):
        raise SafeDecodeError(f"data that names {module}.{name}")
    if not all(part.isidentifier() for part in (*module.split("."), *name.split("."))):
        raise SafeDecodeError("data that names a class by a strange name")
    names: set[str] = unpickler.names
    names.add(f"{module}.{name}")
    if len(names) > MAX_CLASSES:
        raise SafeDecodeError(f"data that names more than {MAX_CLASSES} classes")
    if len(_records) >= _MAX_CACHED:
        _records.clear()  # Records compare by type name, so fresh classes are as good
    return _record_class(module, name)


def _refuse_persistent(unpickler: Any, pid: Any) -> Any:
    raise SafeDecodeError("data with a persistent reference")


def _refuse_extension(self: Any) -> None:
    raise SafeDecodeError("data that names a registered extension")


class _Unpickler(pickle._Unpickler):  # the pure-Python one: see the module docstring
    """Checks every dict key and set item before it is hashed: Python hashes a
    nested tuple recursively, with no guard (a deep one would crash the process),
    and a tuple sharing its parts can take exponential time to hash."""

    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)
    # the pure-Python unpickler's own state, which typeshed does not declare
    stack: list[Any]
    append: Callable[[Any], None]
    pop_mark: Callable[[], list[Any]]

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.names: set[str] = set()
        self.left = KEY_BUDGET  # parts of keys this decode may still walk

    find_class = _find_class
    persistent_load = _refuse_persistent

    def _keys(self, items: Any) -> Any:
        for item in items:
            self.left = _walk(item, self.left, _TOO_MANY_KEY_PARTS)
        return items

    def load_dict(self) -> None:
        items = self.pop_mark()  # first: pop_mark rebinds self.append
        self._keys(items[0::2])
        self.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._keys([key])
        self.stack[-1][key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        self._keys(items[0::2])
        target = self.stack[-1]
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_additems(self) -> None:
        raise SafeDecodeError("a value of type set")  # not plain data: refused unhashed

    def load_frozenset(self) -> None:
        raise SafeDecodeError("a value of type frozenset")

    for _code, _load in ((pickle.DICT, load_dict), (pickle.SETITEM, load_setitem),
                         (pickle.SETITEMS, load_setitems), (pickle.ADDITEMS, load_additems),
                         (pickle.FROZENSET, load_frozenset)):
        dispatch[_code[0]] = _load
    for _code in (pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_code[0]] = _refuse_extension


KEY_BUDGET: Final = 20_000
"""Parts of dict keys one decode may check (counting shared parts each time they
are reached)."""

_TOO_MANY_KEY_PARTS: Final = f"dict keys of more than {KEY_BUDGET:,} parts"


class _FastUnpickler(pickle.Unpickler):  # the C one, for bytes with no risky opcode
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.names: set[str] = set()

    find_class = _find_class
    persistent_load = _refuse_persistent


_RISKY: Final = re.compile(rb"[dprsu\x82-\x84\x90\x91]")
"""Bytes of opcodes the C unpickler must not meet: PUT and LONG_BINPUT (a memo
sized by their index; BINPUT's is one byte, harmless), EXT1/2/4, and those that
hash keys or items as they go (DICT, SETITEM, SETITEMS, ADDITEMS, FROZENSET)."""


def safe_decode(data: bytes, *, budget: int = BUDGET) -> Any:
    """Plain data from ``harness.encode``'s bytes, made by untrusted code."""
    unpickler = _Unpickler if _RISKY.search(data) else _FastUnpickler
    try:
        value = unpickler(io.BytesIO(data)).load()
    except SafeDecodeError:
        raise
    except Exception as e:  # truncated, corrupt, or an opcode used against its type
        raise SafeDecodeError(f"not a value made by harness.encode ({type(e).__name__})") \
            from None
    check_plain(value, budget)
    return value


def check_plain(value: Any, budget: int = BUDGET) -> None:
    """Refuse a value that is too deep, too large or not plain data."""
    _walk(value, budget, f"a value of more than {budget:,} parts")


def _walk(value: Any, left: int, too_many: str) -> int:
    """Walk ``value`` (iteratively, shared parts counted each time they are reached):
    refuse it if it is deeper than MAX_DEPTH, has more than ``left`` parts or holds
    anything but plain data. Returns the parts left."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        left -= 1
        if left < 0:
            raise SafeDecodeError(too_many)
        if depth > MAX_DEPTH:
            raise SafeDecodeError(f"a value nested more than {MAX_DEPTH} levels deep")
        t = type(v)
        if t in _LEAF:
            continue
        if t is list or t is tuple:
            stack.extend((x, depth + 1) for x in v)
        elif t is dict:
            for k, x in v.items():
                stack.append((k, depth + 1))
                stack.append((x, depth + 1))
        elif isinstance(v, Record):
            stack.extend((x, depth + 1) for x in v.values())
            stack.extend((x, depth + 1) for x in v.fields().values())
        else:
            raise SafeDecodeError(f"a value of type {t.__name__}")
    return left
