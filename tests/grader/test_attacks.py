"""The tampering corpus (tests/grader/attacks/), graded end to end.

Each attack is appended to a base Raft named in its header: one that does
nothing (0 points honestly) or the reference (100). Graded by ``raftlab grade``,
by one ``raftlab batch`` beside correct submissions, and by the Gradescope
bundle in a temporary ``AUTOGRADER_ROOT``, every attack must get exactly its
honest points; no run may end as raftlab's own error (which would cost
nothing); raftlab's code and the results on disk must be as the grader left
them, also seconds after it exits; and no process of a sandbox may outlive
its run. Where the tests run as root, sandboxes run as users of their own and
that is checked too; elsewhere the protections that need root are skipped
(README, threat model).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.integrity import Fingerprint

from .test_cli import GRADESCOPE_SCHEMA, REFERENCE, RESULTS_SCHEMA, load, raftlab

ATTACKS = Path(__file__).with_name("attacks")
NAMES = sorted(p.stem for p in ATTACKS.glob("*.py") if p.stem != "base_nothing")
ROOT_ONLY = {"read_reference"}  # without root, a sandbox runs as the grader's user
IS_ROOT = os.geteuid() == 0
RUBRIC = """
[policy]
seeds = 1
wall_seconds = 60
memory_mb = 256
[parts.2A]
points = 20
[parts.2B]
points = 30
[parts.2C]
points = 30
[parts.2D]
points = 20
"""


def compose(name: str, folder: Path) -> tuple[Path, float]:
    """The attack ``name`` on its base, as a submission; and its honest score."""
    attack = (ATTACKS / f"{name}.py").read_text(encoding="utf-8")
    base = attack.splitlines()[0].removeprefix("# base:").strip()
    assert base in ("nothing", "reference"), f"{name}.py: its first line names its base"
    source = (REFERENCE if base == "reference" else ATTACKS / "base_nothing.py").read_text(
        encoding="utf-8")
    path = folder / name / "raft.py"
    path.parent.mkdir(parents=True)
    path.write_text(f"{source}\n\n# ---- the attack: {name}.py ----\n{attack}", encoding="utf-8")
    return path, 100.0 if base == "reference" else 0.0


def sandbox_processes() -> list[str]:
    """Processes of sandbox users (root: users 61000-61999), as 'pid uid cmdline'."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
                if 61000 <= uid < 62000:
                    found.append(f"{entry.name} {uid} {(entry / 'cmdline').read_bytes()[:80]!r}")
            except OSError:
                pass
    return found


def settle_and_check(results: list[Path], before: dict[Path, bytes], *, wait: bool) -> None:
    """Nothing of the submission lives on, and nothing rewrites the results later."""
    time.sleep(0.5)
    if IS_ROOT:
        assert sandbox_processes() == []
    if wait:
        time.sleep(2.5)  # a daemon would have struck by now
    for path in results:
        assert path.read_bytes() == before[path], f"{path} changed after the grader exited"
    assert not Path("/tmp/raftlab-pwned").exists()


@pytest.fixture(scope="module")
def code_before() -> Fingerprint:
    return Fingerprint.take()


@pytest.fixture(scope="module")
def rubric(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rubric") / "one-seed.toml"
    path.write_text(RUBRIC, encoding="utf-8")
    return path


def check_records(data: dict[str, Any], honest: float, name: str) -> None:
    kinds = {t["kind"] for t in data["tests"]}
    assert "harness-error" not in kinds and "not-run" not in kinds, name
    assert data["grade"]["total"] == honest, (name, data["grade"]["total"],
                                             [t["message"] for t in data["tests"]][:3])


@pytest.mark.parametrize("name", NAMES)
def test_raftlab_grade_gives_each_attack_only_its_honest_points(
        name: str, tmp_path: Path, rubric: Path, code_before: Fingerprint) -> None:
    if name in ROOT_ONLY and not IS_ROOT:
        pytest.skip("without root a sandbox runs as the grader's user and can read the "
                    "reference (README: threat model)")
    path, honest = compose(name, tmp_path / "subs")
    out, gradescope = tmp_path / "out" / "r.json", tmp_path / "out" / "gs.json"
    run = raftlab("grade", "--impl", str(path), "--rubric", str(rubric), "--json", str(out),
                  "--gradescope", str(gradescope), "-j", "2")
    assert run.returncode == (0 if honest == 100 else 1), run.stdout[-3000:] + run.stderr
    data = load(out, RESULTS_SCHEMA)
    check_records(data, honest, name)
    assert data["mode"] == "sandboxed"
    assert load(gradescope, GRADESCOPE_SCHEMA)["score"] == honest
    before = {p: p.read_bytes() for p in (out, gradescope)}
    settle_and_check([out, gradescope], before, wait=name == "daemon")
    assert code_before.changed(Fingerprint.take()) == []


def test_a_batch_with_every_attack_keeps_the_correct_submissions_whole(
        tmp_path: Path, rubric: Path, code_before: Fingerprint) -> None:
    subs = tmp_path / "subs"
    expected: dict[str, float] = {}
    for name in NAMES:
        if name in ROOT_ONLY and not IS_ROOT:
            continue
        _, expected[name] = compose(name, subs)
    for honest in ("alice", "zoe"):
        (subs / honest).mkdir()
        shutil.copy(REFERENCE, subs / honest / "raft.py")
        expected[honest] = 100.0
    subs.chmod(0o700)  # a batch folder others cannot read (grading refuses otherwise)
    csv_path = tmp_path / "out" / "grades.csv"
    run = raftlab("batch", str(subs), "--csv", str(csv_path), "--rubric", str(rubric),
                  "-j", "2", timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    rows = csv_path.read_text(encoding="utf-8").splitlines()[1:]
    scores = {r.split(",")[0]: float(r.split(",")[1]) for r in rows}
    assert scores == expected
    results = [csv_path, *sorted((tmp_path / "out" / "grades-json").glob("*.json"))]
    for path in results[1:]:
        check_records(load(path, RESULTS_SCHEMA), expected[path.stem], path.stem)
    settle_and_check(results, {p: p.read_bytes() for p in results}, wait=True)
    assert code_before.changed(Fingerprint.take()) == []


def test_the_gradescope_bundle_gives_each_attack_only_its_honest_points(
        tmp_path: Path, rubric: Path) -> None:
    bundle = tmp_path / "ag.zip"
    assert raftlab("gradescope-bundle", str(bundle), "--rubric", str(rubric)).returncode == 0
    for name in NAMES:
        if name in ROOT_ONLY and not IS_ROOT:
            continue
        root = tmp_path / name / "autograder"
        (root / "source").mkdir(parents=True)
        (root / "submission").mkdir()
        with zipfile.ZipFile(bundle) as z:
            z.extractall(root / "source")
        path, honest = compose(name, tmp_path / name / "subs")
        shutil.copy(path, root / "submission" / "raft.py")
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "RAFTLAB_PYTHON": sys.executable,
               "PYTHONPATH": str(root / "source" / "raftlab")}
        run = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr
        results = root / "results" / "results.json"
        data = load(results, GRADESCOPE_SCHEMA)
        assert data["score"] == honest, (name, data.get("output"))
        raftlab_json = json.loads((root / "results" / "raftlab.json").read_text())
        check_records(raftlab_json, honest, name)
        settle_and_check([results], {results: results.read_bytes()}, wait=name == "daemon")
        bundled = Fingerprint.take()
        assert bundled.changed(Fingerprint.take()) == []
