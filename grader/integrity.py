"""Grading with code nobody changed, and outputs no submission can reach.

    fingerprint = Fingerprint.take(rubric_path)   # hashes of the code that grades
    fingerprint.check()                          # None, or what changed (then stop)
    protect_for_sandboxes(extra_private=[batch_dir])   # root: what sandboxes must not read
    write_private(path, text)                    # results: not readable by sandboxes

The code that grades - ``harness/``, ``grader/`` (the suite and the rubric
included) and the Python site files that run at interpreter start (``.pth``,
``sitecustomize``) - is hashed when a grading session starts, and checked again
before and after every submission. A submission has no way to change it when
sandboxes run as their own user, and none through the system-call filter; the
check is the last line: if the code changed anyway, grading stops with that
copy and says which files changed, rather than grade on with modified code.

As root, sandboxes run as an unprivileged user of their own. What it must not
read is made unreadable to it (``reference/``, and the second reference that
raftlab's own tests use: their modes lose "other" access, and the grader says
so), or grading refuses to start with the fix to apply (a folder of other
students' submissions). Results are written with mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import site
import stat
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADING_CODE = ("harness", "grader")
SUFFIXES = (".py", ".toml", ".json", ".pth")


class IntegrityError(Exception):
    """The code that grades changed during grading, or an input is exposed."""


def _site_files() -> list[Path]:
    """Files that run when any Python starts: .pth files and site/usercustomize."""
    folders = {Path(p) for p in site.getsitepackages() if p}
    with_user = site.getusersitepackages()
    if with_user:
        folders.add(Path(with_user))
    folders.add(Path(sysconfig.get_paths()["purelib"]))
    found: list[Path] = []
    for folder in sorted(folders):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir()
                            if p.suffix == ".pth" or p.stem in ("sitecustomize",
                                                                 "usercustomize"))
    return found


@dataclass
class Fingerprint:
    """SHA-256 of every file of the code that grades, by path."""

    hashes: dict[str, str] = field(default_factory=dict)
    extra: tuple[Path, ...] = ()

    @classmethod
    def take(cls, *extra: Path | None) -> Fingerprint:
        paths: list[Path] = []
        for package in GRADING_CODE:
            paths += sorted(p for p in (ROOT / package).rglob("*")
                            if p.is_file() and p.suffix in SUFFIXES
                            and "__pycache__" not in p.parts)
        paths += _site_files()
        more = tuple(p for p in extra if p is not None)
        paths += more
        hashes = {}
        for path in paths:
            try:
                hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                hashes[str(path)] = "unreadable"
        return cls(hashes, more)

    def changed(self, other: Fingerprint) -> list[str]:
        names = sorted(set(self.hashes) | set(other.hashes))
        return [n for n in names if self.hashes.get(n) != other.hashes.get(n)]

    def check(self) -> str | None:
        """None if the code is as it was; else a message naming what changed."""
        now = Fingerprint.take(*self.extra)
        changed = self.changed(now)
        if not changed:
            return None
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                          else "")
        return (f"raftlab's own code changed while it was grading ({shown}): grading stopped, "
                "and no grade was given with the changed copy. Reinstall raftlab (and check "
                "who could write to it), then grade again.")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _readable_by_others(path: Path) -> bool:
    """Can a user with no relation to the file (its own uid, no groups) list or read
    it? "Other" needs x on every folder above it and r on it."""
    try:
        for parent in [*reversed(path.parents)]:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


SOLUTIONS = (("reference",), ("tests", "reference2"))
"""Folders of the install (under ROOT) that hold a whole Raft solution: the
reference, and the second reference raftlab's own tests use (an instructor's
clone has it; a student handout has neither)."""


def protect_for_sandboxes(*, private: list[Path]) -> list[str]:
    """As root: make sure sandboxes (their own user) cannot read what they must not.

    The folders of SOLUTIONS lose "other" access (noted in the returned lines). A folder
    in ``private`` that others can read (other students' submissions) is an
    IntegrityError whose message names the fix. Not root: nothing to do here
    (the results' ``protections`` say what then holds)."""
    if not is_root():
        return []
    notes = []
    for parts in SOLUTIONS:
        reference = ROOT.joinpath(*parts)
        if reference.is_dir() and _readable_by_others(reference):
            mode = os.stat(reference).st_mode
            os.chmod(reference, mode & ~(stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH))
            notes.append(f"made {reference} unreadable to other users, so that sandboxes "
                         "cannot read a reference solution")
    for path in private:
        if path.is_dir() and _readable_by_others(path):
            raise IntegrityError(
                f"{path} can be read by every user, so a submission's sandbox could read the "
                f"other submissions in it. Run `chmod o-rwx {path}` and grade again.")
    return notes


def private_mode() -> int:
    """File mode for results: unreadable to sandboxes' users when grading as root."""
    return 0o600 if is_root() else 0o644

