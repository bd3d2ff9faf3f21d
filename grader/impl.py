"""Finding and loading the Raft implementation under test.

    path = resolve_impl("student")     # labs/raft/raft.py
    path = resolve_impl("reference")   # the reference solution (instructors' copy only)
    path = resolve_impl("sub/raft.py") # any file with a class Raft
    impl = load_impl(path)             # in-process: a checked SourceImpl
    text = read_source(path)           # the text a sandbox is given

``student`` is ``labs/raft/raft.py`` under the current directory when there is
one (a student's checkout), else the installed copy. The file is run as a
module named ``raftlab_impl``, afresh for every server life
(``harness._sandbox.loader``).

Every failure to load is an ImplError whose message says what is wrong and
how to fix it; the grader records it against every test of that submission
and carries on. Graded runs never load a submission in the grader's own
process: a sandbox does (``harness._trusted.sandboxes``).
"""

from __future__ import annotations

from pathlib import Path

from harness import LoadError, SourceImpl

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

_loaded: dict[Path, SourceImpl] = {}


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


def read_source(path: Path) -> str:
    """The file's text (ImplError if it cannot be read as UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImplError(f"{path.name} is not UTF-8 text") from None
    except OSError as e:
        raise ImplError(f"cannot read {path}: {e.strerror}") from None


def load_impl(path: Path) -> SourceImpl:
    """The implementation at ``path``, for this process (in-process mode), checked
    once: it compiles, its module runs, and it defines a usable class Raft."""
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    impl = SourceImpl(str(path), read_source(path))
    try:
        impl.load()
    except LoadError as e:
        raise ImplError(str(e)) from None
    _loaded[path] = impl
    return impl
