"""The codec (labgob's role): plain data to bytes and back.

    data = encode(obj)      # bytes; raises CodecError naming the bad path
    obj2 = decode(data)     # a deep copy of obj

What may cross the network or be persisted: ``None``, ``bool``, ``int``,
``float``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict`` (with plain,
hashable keys), and instances of dataclasses defined at module level whose
attributes hold such data. Anything else is refused at the sender, with the
path to the offending value::

    AppendEntriesArgs.entries[3].command: a Raft object cannot cross the network

Why refuse instead of pickling anything: a reference to a live object (a
Raft, a Future, a lock) would smuggle shared state between "machines"; sets
iterate in hash order, which may differ between runs; a class defined inside a
function cannot be rebuilt by the receiver.

The bytes are a pickle (protocol 3) of the value, so the receiver always gets
a copy; sizes are the pickle's length (labrpc counts labgob bytes the same
way). Dataclasses are rebuilt by module and name, so the module must be
importable by that name (the grader keeps the submission's module in
``sys.modules``).

How the check costs almost nothing: at protocol 3 every value that is not
plain data reaches the pickler's ``reducer_override`` - an object of another
class as itself, and a set, frozenset or bytearray through its type, saved
as a global. Plain data needs no global but the classes of checked
dataclasses (and copyreg's helpers that rebuild them), so the C pickler's own
walk is the check; only a refusal walks the value again in Python, to name
the path. (One corner is let through: a checked dataclass's class object
sent as a value in the same message as an instance of it. Pickle sends the
class by reference; nothing is shared.)
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import pickle
import sys
import weakref
from typing import Any, Final

from ._errors import CodecError

_PROTOCOL: Final = 3  # see the module docstring: sets must reach reducer_override
_MAX_DEPTH: Final = 100
_LEAF: Final = frozenset({type(None), bool, int, float, str, bytes})
_SEQ: Final = frozenset({list, tuple})

# Dataclass types already checked: True if allowed; else the reason. Weak: a
# life's classes go with its module (in-process, each life execs its own).
_class_ok: weakref.WeakKeyDictionary[type, bool | str] = weakref.WeakKeyDictionary()

_dumps: Final = pickle.dumps
_loads: Final = pickle.loads


class _Refused(Exception):
    """Raised inside the pickler at the first value that is not plain data."""


_REBUILDERS: Final = (copyreg.__newobj__, copyreg.__newobj_ex__,  # type: ignore[attr-defined]
                      copyreg._reconstructor)  # type: ignore[attr-defined]


class _CheckingPickler(pickle.Pickler):
    _expect: type | None = None  # the class of the dataclass instance just approved

    def reducer_override(self, obj: Any) -> Any:
        if obj is _REBUILDERS[0] or obj is _REBUILDERS[1] or obj is _REBUILDERS[2]:
            return NotImplemented
        t = type(obj)
        if t is type:
            # A class saved as a global: pickle saves an instance's class right
            # after asking about the instance. Any other class is a value.
            if obj is self._expect:
                self._expect = None
                return NotImplemented
            raise _Refused
        ok = _class_ok.get(t)
        if ok is None:
            ok = _check_class(t)
        if ok is True:
            self._expect = t
            return NotImplemented
        raise _Refused


_buffer = io.BytesIO()
_pickler = _CheckingPickler(_buffer, _PROTOCOL)


def encode(obj: object) -> bytes:
    """Serialise plain data (see the module docstring); raise CodecError otherwise."""
    if type(obj) in _LEAF:
        return _dumps(obj, _PROTOCOL)
    try:
        _pickler.dump(obj)
        return _buffer.getvalue()
    except (_Refused, RecursionError):
        raise CodecError(_explain(obj)) from None
    except (pickle.PicklingError, TypeError, AttributeError, ValueError):
        raise CodecError(_explain(obj)) from None
    finally:
        _pickler._expect = None
        _pickler.clear_memo()
        _buffer.seek(0)
        _buffer.truncate()


def decode(data: bytes) -> Any:
    """Rebuild a value from ``encode``'s bytes (a fresh copy every time)."""
    return _loads(data)


def _check_class(t: type) -> bool | str:
    """Is ``t`` a dataclass the receiver can rebuild? Cache the verdict."""
    verdict: bool | str
    if not dataclasses.is_dataclass(t):
        verdict = f"not-dataclass:{t.__name__}"
    elif "<locals>" in t.__qualname__:
        verdict = f"local:{t.__qualname__}"
    else:
        module = sys.modules.get(t.__module__)
        found: Any = module
        for part in t.__qualname__.split("."):
            found = getattr(found, part, None)
        verdict = True if found is t else f"unreachable:{t.__module__}.{t.__qualname__}"
    _class_ok[t] = verdict
    return verdict


def _explain(root: object) -> str:
    """Slow path: find the first offending value and say why, with its path."""
    start = type(root).__name__ if dataclasses.is_dataclass(root) else "value"
    found = _find(root, start, 0)
    assert found is not None, "a value the pickler refused must have a culprit"
    path, reason = found
    return f"{path}: {reason}"


def _find(obj: object, path: str, depth: int) -> tuple[str, str] | None:
    if depth > _MAX_DEPTH:
        return path, (f"data nested more than {_MAX_DEPTH} levels deep (a list that contains "
                      "itself?) cannot cross the network")
    t = type(obj)
    if t in _LEAF:
        return None
    if t in _SEQ:
        seq: list[Any] | tuple[Any, ...] = obj  # type: ignore[assignment]
        for i, x in enumerate(seq):
            hit = _find(x, f"{path}[{i}]", depth + 1)
            if hit:
                return hit
        return None
    if t is dict:
        for k, v in obj.items():  # type: ignore[attr-defined]
            if type(k) not in _LEAF and not (type(k) is tuple and _find(k, "", depth + 1) is None):
                return f"{path}[{k!r}]", (
                    f"a dict key of type {type(k).__name__} cannot cross the network; "
                    "use str, int or a tuple of them")
            hit = _find(v, f"{path}[{k!r}]", depth + 1)
            if hit:
                return hit
        return None
    verdict = _class_ok.get(t) or _check_class(t)
    if verdict is True:
        d = getattr(obj, "__dict__", None)
        items = d.items() if d is not None else (
            (f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))  # type: ignore[arg-type]
        for name, v in items:
            hit = _find(v, f"{path}.{name}", depth + 1)
            if hit:
                return hit
        return None
    return path, _why_not(obj, str(verdict))


def _why_not(obj: object, verdict: str) -> str:
    name = type(obj).__name__
    if isinstance(obj, (set, frozenset)):
        return (f"a {name} cannot cross the network: its order depends on hashing and may "
                "differ between runs; send a sorted list instead")
    if isinstance(obj, (bytearray, memoryview)):
        return f"a {name} cannot cross the network; convert it with bytes(...)"
    kind, _, detail = verdict.partition(":")
    if kind == "local":
        return (f"class {detail} is defined inside a function, so the receiver cannot rebuild "
                "it; define the dataclass at module level")
    if kind == "unreachable":
        return (f"class {detail} cannot be found by its module and name, so the receiver "
                "cannot rebuild it; define the dataclass at module level")
    article = "an" if name[:1].lower() in "aeiou" else "a"
    hint = ("only None, bool, int, float, str, bytes, list, tuple, dict and module-level "
            "dataclasses can")
    for base in (int, float, str, bytes):
        if isinstance(obj, base):
            hint = f"send a plain {base.__name__} instead"
    return f"{article} {name} object cannot cross the network ({hint})"
