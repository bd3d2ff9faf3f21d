"""``raftlab handout``: build the student distribution, without the reference solution.

    raftlab handout dist/raftlab-lab2          # a folder
    raftlab handout raftlab-lab2.zip           # or a zip

It holds what students need - the harness, the grader and the lab suite,
the skeleton ``labs/raft/raft.py``, HANDOUT.md, the README and the project
file - and nothing instructors keep: no ``reference/``, no mutant zoo (its
mutants quote the reference), no raftlab tests (they run against the
reference), no CI. In it, ``--impl reference`` and ``raftlab zoo`` say they
are not part of the installation.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "grader", "labs")
FILES = ("pyproject.toml", "README.md", "HANDOUT.md", ".gitignore")
INSTRUCTORS_ONLY = ("grader/mutants.py", "grader/zoo.py")  # the mutants quote the reference


class HandoutError(ValueError):
    """The output location cannot be used."""


def _files() -> list[Path]:
    found = [ROOT / f for f in FILES if (ROOT / f).is_file()]
    for package in PACKAGES:
        found += sorted(p for p in (ROOT / package).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return found


def build_handout(out: Path) -> list[str]:
    """Write the distribution to ``out`` (a new folder, or a .zip); return its files."""
    files = [p for p in _files() if str(p.relative_to(ROOT)) not in INSTRUCTORS_ONLY]
    names = [str(p.relative_to(ROOT)) for p in files]
    if any(n.startswith("reference") for n in names):
        raise HandoutError("refusing to ship a file from reference/")
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for path, name in zip(files, names, strict=True):
                z.write(path, name)
        return names
    if out.exists() and any(out.iterdir()):
        raise HandoutError(f"{out} exists and is not empty; choose a new folder")
    for path, name in zip(files, names, strict=True):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return names
