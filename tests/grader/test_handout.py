"""The student distribution: everything students need, nothing of the reference
(not even the mutant zoo, whose edits quote it), and it works on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _raftlab(*args: str, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(pythonpath)})


def test_handout_folder_has_no_reference_and_runs_the_skeleton(tmp_path: Path) -> None:
    out = tmp_path / "lab2"
    made = _raftlab("handout", str(out), cwd=ROOT, pythonpath=ROOT)
    assert made.returncode == 0, made.stderr
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert "labs/raft/raft.py" in files and "HANDOUT.md" in files
    assert "grader/suite/test_2b.py" in files and "harness/_trusted/network.py" in files
    assert not any(f.startswith(("reference", "tests")) for f in files)
    assert "grader/mutants.py" not in files and "grader/zoo.py" not in files
    reference = (ROOT / "reference" / "raft" / "raft.py").read_text(encoding="utf-8")
    needle = "never commit an older term's entry by counting replicas"
    assert needle in reference
    assert not any(needle in (out / f).read_text(encoding="utf-8", errors="replace")
                   for f in files)

    run = _raftlab("test", "initial_election", cwd=out, pythonpath=out)
    assert run.returncode == 1 and "NotImplementedError: 2A" in run.stdout
    run = _raftlab("test", "--impl", "reference", cwd=out, pythonpath=out)
    assert run.returncode == 2 and "not part of this installation" in run.stderr
    run = _raftlab("zoo", cwd=out, pythonpath=out)
    # (In this checkout's dev environment an editable install can still find
    # grader/zoo.py; then the missing reference stops it instead.)
    assert run.returncode == 2
    assert "instructor tool" in run.stderr or "not part of this installation" in run.stderr


def test_handout_zip(tmp_path: Path) -> None:
    out = tmp_path / "lab2.zip"
    assert _raftlab("handout", str(out), cwd=ROOT, pythonpath=ROOT).returncode == 0
    names = zipfile.ZipFile(out).namelist()
    assert "labs/raft/raft.py" in names
    assert not any(n.startswith("reference") for n in names)
