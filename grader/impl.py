"""Finding and loading the Raft implementation under test.

    path = resolve_impl("student")     # labs/raft/raft.py
    path = resolve_impl("reference")   # reference/raft/raft.py
    path = resolve_impl("sub/raft.py") # any file with a class Raft
    Raft = load_impl(path)             # the class; ImplError if unusable

``student`` is ``labs/raft/raft.py`` under the current directory when there is
one (a student's checkout), else the installed copy. The module is imported
under a fixed name, ``raftlab_impl``, and kept in ``sys.modules``: dataclasses
defined in it can then cross the simulated network (they are rebuilt by
module and name), and the encoded sizes the tests count do not depend on
where the file lives. A second implementation loaded into the same process
(the mutant zoo) gets ``raftlab_impl_2`` and so on.

Every failure to load is an ImplError whose message says what is wrong and
how to fix it; the grader records it against every test of that submission
and carries on.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path
from types import CodeType, ModuleType

from harness import guard_module_globals

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("get_state", "start", "snapshot", "kill")

_loaded: dict[Path, type] = {}


class ImplError(Exception):
    """The implementation cannot be loaded or does not have the student API's shape."""


def resolve_impl(spec: str) -> Path:
    """Turn ``student`` / ``reference`` / a path into the file to load."""
    if spec == "student":
        local = Path.cwd() / "labs" / "raft" / "raft.py"
        path = local if local.is_file() else PACKAGE_ROOT / "labs" / "raft" / "raft.py"
    elif spec == "reference":
        path = PACKAGE_ROOT / "reference" / "raft" / "raft.py"
        if not path.is_file():
            raise ImplError("the reference solution is not part of this installation "
                            "(it is left out of the student handout); use --impl student "
                            "or a path to a raft.py")
    else:
        path = Path(spec)
        if path.is_dir():
            path = path / "raft.py"
    if not path.is_file():
        raise ImplError(f"no such file: {path}. Pass --impl student, --impl reference, or "
                        "the path of a raft.py that defines class Raft")
    return path.resolve()


def compile_impl(path: Path) -> CodeType | None:
    """The file's code object, compiled without running anything (None if it
    does not compile; loading it then reports why)."""
    try:
        return compile(_read(path), str(path.resolve()), "exec", dont_inherit=True)
    except (SyntaxError, ValueError, ImplError, MemoryError, RecursionError):
        return None


def load_impl(path: Path, *, module_name: str | None = None,
              code: CodeType | None = None) -> type:
    """Import ``path`` and return its ``Raft`` class (cached per path).

    ``code``, if given, is the file already compiled (the worker compiles a
    submission once, before forking the process that runs each test)."""
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    if code is None:
        try:
            code = compile(_read(path), str(path), "exec", dont_inherit=True)
        except SyntaxError as e:
            raise ImplError(f"{path.name} does not parse: line {e.lineno}: {e.msg}. Fix the "
                            "syntax error; `python -m py_compile` on the file shows it "
                            "too.") from None
        except ValueError as e:  # e.g. a null byte in the source
            raise ImplError(f"{path.name} cannot be compiled: {e}") from None
    name = module_name or _next_module_name()
    module = _import(path, name, code)
    raft = getattr(module, "Raft", None)
    if not inspect.isclass(raft):
        raise ImplError(f"{path.name} defines no class named Raft: the grader creates servers "
                        "with Raft(peers, me, persister, apply_ch)")
    missing = [m for m in REQUIRED if not callable(getattr(raft, m, None))]
    if missing:
        raise ImplError(f"class Raft in {path.name} lacks {', '.join(missing)}(); keep the "
                        "skeleton's method signatures (see labs/raft/raft.py)")
    _loaded[path] = raft
    return raft


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImplError(f"{path.name} is not UTF-8 text") from None
    except OSError as e:
        raise ImplError(f"cannot read {path}: {e.strerror}") from None


def _next_module_name() -> str:
    taken = sum(1 for n in sys.modules if n == "raftlab_impl" or n.startswith("raftlab_impl_"))
    return "raftlab_impl" if taken == 0 else f"raftlab_impl_{taken + 1}"


def _import(path: Path, name: str, code: CodeType) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImplError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException as e:
        del sys.modules[name]
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = traceback.extract_tb(e.__traceback__)
        where = next((f"line {f.lineno}" for f in reversed(tb) if f.filename == str(path)), "")
        raise ImplError(f"importing {path.name} raised {type(e).__name__}: {e}"
                        f"{' at ' + where if where else ''}. Module-level code must only "
                        "define things; import only the standard library and harness.") from e
    guard_module_globals(module)
    return module
