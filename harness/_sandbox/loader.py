"""Loading the implementation under test: a submission's module and its Raft class.

    impl = SourceImpl(path, source)   # a raft.py: compiled once, run fresh per server life
    impl = ModuleImpl("package.module", "FakeRaft")   # trusted code, by import name
    impl = ClassImpl(SomeClass)        # in-process only: a class you already hold
    cls = impl.load()                  # the class; LoadError if unusable

A submission's module is executed afresh for every server life, under the
fixed name ``raftlab_impl``, so that servers share nothing but the network in
every mode (module-level state is per server life, as it is with one process
per life) and dataclasses defined in it cross the network by that name (the
encoded sizes the tests count do not depend on where the file lives). The
host seeds ``random`` with the run's "import" stream first, so every life's
module starts in the same state, in every mode.

Every failure to load is a LoadError whose message says what is wrong and
how to fix it.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import traceback
import types
from typing import Protocol

from .._errors import limit_hint
from .guards import guard_module_globals

MODULE_NAME = "raftlab_impl"
REQUIRED = ("get_state", "start", "snapshot", "kill")


class LoadError(Exception):
    """The implementation cannot be loaded or does not have the student API's shape."""


class Impl(Protocol):
    name: str

    def load(self) -> type: ...


class SourceImpl:
    """A raft.py given as its source text (the sandbox never needs to read the file)."""

    def __init__(self, path: str, source: str, code: types.CodeType | None = None) -> None:
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.source = source
        self.code: types.CodeType | None = code
        self.module: types.ModuleType | None = None

    def compile(self) -> types.CodeType:
        if self.code is None:
            try:
                self.code = compile(self.source, self.path, "exec", dont_inherit=True)
            except SyntaxError as e:
                raise LoadError(f"{self.name} does not parse: line {e.lineno}: {e.msg}. Fix the "
                                "syntax error; `python -m py_compile` on the file shows it "
                                "too.") from None
            except (ValueError, MemoryError, RecursionError) as e:  # e.g. a null byte
                raise LoadError(f"{self.name} cannot be compiled: {e}") from None
        return self.code

    def load(self) -> type:
        """Run the module afresh and return its Raft class."""
        code = self.compile()
        module = types.ModuleType(MODULE_NAME)
        module.__file__ = self.path
        sys.modules[MODULE_NAME] = module
        try:
            exec(code, module.__dict__)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"line {f.lineno}" for f in reversed(tb) if f.filename == self.path),
                         "")
            raise LoadError(f"importing {self.name} raised {type(e).__name__}: {e}"
                            f"{limit_hint(e)}{' at ' + where if where else ''}. Module-level "
                            "code must only define things; import only the standard library "
                            "and harness.") from None
        guard_module_globals(module)
        self.module = module
        return raft_class(module, self.name)


class ModuleImpl:
    """Trusted code that the sandbox imports by name (raftlab's own tests)."""

    def __init__(self, module: str, qualname: str = "Raft") -> None:
        self.module_name = module
        self.qualname = qualname
        self.name = f"{module}.{qualname}"

    def load(self) -> type:
        try:
            module = importlib.import_module(self.module_name)
        except Exception as e:
            raise LoadError(f"cannot import {self.module_name}: {type(e).__name__}: {e}") from None
        found: object = module
        for part in self.qualname.split("."):
            found = getattr(found, part, None)
        if not inspect.isclass(found):
            raise LoadError(f"{self.name} is not a class")
        return found


class ClassImpl:
    """A class already at hand (in-process mode only: it cannot cross to a sandbox)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__qualname__

    def load(self) -> type:
        return self.cls


def raft_class(module: types.ModuleType, filename: str) -> type:
    """The module's Raft class, checked to have the tester's methods."""
    raft = getattr(module, "Raft", None)
    if not inspect.isclass(raft):
        classes = sorted(name for name, value in vars(module).items()
                         if inspect.isclass(value) and value.__module__ == module.__name__)
        found = (f"it defines {', '.join(classes)}" if classes
                 else "it defines no classes at all")
        raise LoadError(f"{filename} defines no class named Raft ({found}): the grader creates "
                        "servers with Raft(peers, me, persister, apply_ch)")
    missing = [m for m in REQUIRED if not callable(getattr(raft, m, None))]
    if missing:
        raise LoadError(f"class Raft in {filename} lacks {', '.join(missing)}(); keep the "
                        "skeleton's method signatures (see labs/raft/raft.py)")
    return raft
