"""``raftlab gradescope-bundle``: an autograder zip in Gradescope's format.

    raftlab gradescope-bundle autograder.zip [--rubric course.toml]

The zip holds, at its root (Gradescope's contract,
https://gradescope-autograders.readthedocs.io/en/latest/specs/):

    setup.sh         installs Python >= 3.11 if needed, then raftlab into a venv
    run_autograder   grades /autograder/submission/raft.py and writes
                     /autograder/results/results.json (always: a fallback
                     result is written if raftlab itself fails)
    raftlab/         raftlab's source: harness, grader, labs (no reference/)
    rubric.toml      the rubric to grade with

For testing outside Gradescope both scripts honour ``AUTOGRADER_ROOT``
(default ``/autograder``), and ``run_autograder`` honours ``RAFTLAB_PYTHON``
(default: the venv setup.sh made) and ``RAFTLAB_TIMEOUT`` (seconds of global
budget, default 540: Gradescope stops an autograder after 10 minutes).
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from .handout import INSTRUCTORS_ONLY
from .rubric import DEFAULT_RUBRIC

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "grader", "labs")
TOP_FILES = ("pyproject.toml", "README.md", "HANDOUT.md")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        PY="$candidate"; break
    fi
done
if [ -z "$PY" ]; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --upgrade pip
"$ROOT/venv/bin/python" -m pip install "$SRC/raftlab"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. It must always leave results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${RAFTLAB_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
SUBMISSION="$ROOT/submission/raft.py"
if [ ! -f "$SUBMISSION" ]; then
    FOUND="$(find "$ROOT/submission" -name raft.py -type f 2>/dev/null | sort | head -n 1)"
    [ -n "$FOUND" ] && SUBMISSION="$FOUND"
fi
cd "$ROOT/source" 2>/dev/null || true
"$PY" -m grader.cli grade --impl "$SUBMISSION" --missing-ok \\
    --rubric "$ROOT/source/rubric.toml" --gradescope "$RESULTS" \\
    --json "$ROOT/results/raftlab.json" --timeout "${RAFTLAB_TIMEOUT:-540}"
STATUS=$?
if [ ! -s "$RESULTS" ]; then
    cat > "$RESULTS" <<'JSON'
{"score": 0, "visibility": "visible", "tests": [],
 "output": "The autograder (raftlab) failed before it could grade this submission. This is not your fault: please tell your course staff."}
JSON
fi
exit 0
"""


def build_bundle(out: Path, *, rubric: Path | None = None) -> Path:
    """Write the zip; return its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        _add_script(z, "setup.sh", SETUP_SH)
        _add_script(z, "run_autograder", RUN_AUTOGRADER)
        z.write(rubric or DEFAULT_RUBRIC, "rubric.toml")
        for name in TOP_FILES:
            path = ROOT / name
            if path.is_file():
                z.write(path, f"raftlab/{name}")
        for package in PACKAGES:
            for path in sorted((ROOT / package).rglob("*")):
                name = str(path.relative_to(ROOT))
                if (path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
                        and name not in INSTRUCTORS_ONLY):
                    z.write(path, f"raftlab/{name}")
    return out


def _add_script(z: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)
