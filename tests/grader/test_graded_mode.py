"""End-to-end tests of graded mode: sandboxed runs, their replays, and batches that keep
what they have.

Graded runs (``raftlab grade``, ``batch``, ``test --sandbox``, ``replay --sandbox``)
run every server life in a sandbox process. Checked here, through the command line:

  * a graded failure replays exactly: its recorded replay command carries
    ``--sandbox`` and reproduces the same kind, message and trace; a run replayed
    with ``--sandbox --check-determinism`` is deterministic across two fresh
    processes (different PYTHONHASHSEED) and has the digest of its in-process replay;
  * results say where the code ran (``mode``) and what protected it (``protections``);
  * a batch writes each student's JSON and CSV row as soon as that student is
    graded, so a grader killed mid-batch (SIGKILL) still leaves every finished
    grade on disk and a well-formed CSV;
  * the code that grades is fingerprinted: if a file of it changes during a
    batch (run on a copy of the repository), grading stops, the rest is left
    ungraded with the reason, and the exit status is 3;
  * as root: results are 0600 in 0700 folders, a batch folder others can read
    is refused with the fix, and ``protect_for_sandboxes`` hides a readable
    ``reference/`` (on temporary copies only: this checkout's modes are restored).

Every command runs on a copy of raftlab's code (harness/, grader/, labs/,
reference/) made for this module: a grader stops, by design, when its own code
changes while it grades, so it must not grade with a checkout being edited.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader import integrity, traceview
from grader.batch import CSV_FIELDS
from grader.exports import write_atomically
from grader.integrity import Fingerprint, IntegrityError, protect_for_sandboxes
from grader.session import Plan

from .test_cli import RESULTS_SCHEMA, ROOT, SUBS, load, raftlab

IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="as root only: sandboxes then run as "
                               "users of their own (README, threat model)")
REFERENCE = Path("reference", "raft", "raft.py")  # in a copy of raftlab
WRITE_LOG = SUBS / "write_log_in_init.py"  # refused only in a sandbox
CHANGED = "raftlab's own code changed"
COPIED = ("harness", "grader", "labs", "reference")
SECCOMP = "system-call filter"
TAMPERED = "# changed while grading"


# ------------------------------------------------------------------ helpers


@pytest.fixture(autouse=True)
def _keep_reference_mode() -> Iterator[None]:
    """Grading as root may chmod this checkout's reference/ (protect_for_sandboxes):
    whatever a test does, leave it with the mode it had."""
    reference = ROOT / "reference"
    mode = stat.S_IMODE(reference.stat().st_mode)
    try:
        yield
    finally:
        if stat.S_IMODE(reference.stat().st_mode) != mode:
            reference.chmod(mode)


def flat(text: str) -> str:
    """Console output without panel borders and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def digest_in(output: str) -> str:
    found = re.findall(r"digest ([0-9a-f]{64})", flat(output))
    assert found, output[-3000:]
    return str(found[-1])


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    """The batch CSV by student; fails unless it is well-formed."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows and rows[0] == CSV_FIELDS, rows[:1]
    assert all(len(r) == len(CSV_FIELDS) for r in rows[1:]), rows
    students = [r[0] for r in rows[1:]]
    assert len(set(students)) == len(students), students
    return {r[0]: dict(zip(CSV_FIELDS, r, strict=True)) for r in rows[1:]}


def make_subs(folder: Path, subs: dict[str, Path]) -> Path:
    for student, source in subs.items():
        (folder / student).mkdir(parents=True)
        shutil.copy(source, folder / student / "raft.py")
    folder.chmod(0o700)  # a batch folder others cannot read (grading refuses otherwise)
    return folder


def copy_of_raftlab(dest: Path) -> Path:
    for name in COPIED:
        shutil.copytree(ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """raftlab's code, copied: what the commands of this module run."""
    return copy_of_raftlab(tmp_path_factory.mktemp("frozen") / "raftlab")


def cli(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``raftlab ARGS`` run from the copy ``copy`` (its workers too)."""
    return raftlab(*args, cwd=copy, env={"PYTHONPATH": str(copy)})


def start_batch(copy: Path, subs: Path, csv_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """``raftlab batch`` from ``copy``, in a session of its own (one group to kill),
    output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "grader.cli", "batch", str(subs), "--csv", str(csv_path),
             "--runs", "1", "-j", "2"], cwd=copy, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(copy), "COLUMNS": "120"},
            start_new_session=True)


def session_members(sid: int) -> list[int]:
    """Processes still in session ``sid`` (the batch's workers and their run children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid:
                found.append(int(entry.name))
    return found


def end_batch(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the batch's process group, then whatever of its session outlived it
    (a worker's run child has a group of its own); sandboxes die with their parents."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while (left := session_members(proc.pid)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def graded_so_far(out_dir: Path, csv_path: Path) -> tuple[set[str], set[str]]:
    """(students with a JSON, students with a CSV row), read while a batch runs."""
    jsons = {p.stem for p in out_dir.glob("*.json")} if out_dir.is_dir() else set()
    rows = set(read_csv(csv_path)) if csv_path.exists() else set()
    return jsons, rows


def wait_for_quick_ones(proc: subprocess.Popen[bytes], out_dir: Path, csv_path: Path,
                        quick: set[str], slow: str, timeout: float = 120) -> bool:
    """Poll until the quick students have their JSON and row while ``slow`` has
    neither and the batch still runs: True, or False if the batch ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        jsons, rows = graded_so_far(out_dir, csv_path)
        if quick <= jsons and quick <= rows and slow not in jsons | rows:
            return proc.poll() is None
        time.sleep(0.01)
    return False


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user can reach (mode 0755 under /tmp): pytest's are private."""
    folder = Path(tempfile.mkdtemp(prefix="raftlab-graded-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, frozen: Path) -> dict[str, Any]:
    """``raftlab grade`` of a submission that fails only in a sandbox, with every
    export written into a folder that does not exist yet."""
    out = tmp_path_factory.mktemp("graded") / "out"
    run = cli(frozen, "grade", "--impl", str(WRITE_LOG), "--runs", "1", "-j", "2",
              "--json", str(out / "r.json"), "--gradescope", str(out / "gs.json"),
              "--junit", str(out / "r.xml"))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr
    return {"out": out, "results": load(out / "r.json", RESULTS_SCHEMA)}


# ------------------------------------------------- 1. graded failures replay


def test_a_graded_failure_replays_exactly_with_its_recorded_command(
        graded: dict[str, Any], frozen: Path, tmp_path: Path) -> None:
    results = graded["results"]
    assert results["tests"] and all(t["kind"] == "error" for t in results["tests"])
    recorded = next(t for t in results["tests"] if t["name"] == "test_initial_election_2a")
    assert recorded["kind"] == "error"
    assert "PermissionError" in recorded["message"]
    assert recorded["replay"].endswith(" --sandbox"), recorded["replay"]
    assert f"--impl {WRITE_LOG}" in recorded["replay"]

    trace = tmp_path / "trace.jsonl"
    replay = cli(frozen, *shlex.split(recorded["replay"])[1:], "--jsonl", str(trace))
    assert replay.returncode == 1, replay.stdout[-3000:] + replay.stderr
    shown = flat(replay.stdout)
    assert f"ERROR at {recorded['sim_time']:.3f} s of virtual time, seed {recorded['seed']}" \
        in shown
    assert flat(recorded["message"]) in shown
    events = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    assert traceview.tail(events, Plan.tail) == recorded["trace_tail"]
    failures = [e for e in events if e["kind"] == "failure"]
    assert failures and failures[-1]["message"].endswith(recorded["message"])

    # The graded failure exists only in graded mode: in-process, opening a file
    # is allowed, so the same test fails differently. Hence --sandbox in the command.
    if any(held for name, held in results["protections"].items() if SECCOMP in name):
        in_process = cli(frozen, *[a for a in shlex.split(recorded["replay"])[1:]
                                   if a != "--sandbox"])
        assert in_process.returncode == 1
        assert "PermissionError" not in in_process.stdout
        assert flat(recorded["message"]) not in flat(in_process.stdout)
        assert "expected one leader" in flat(in_process.stdout)


def test_a_subtle_sandboxed_failure_replays_event_for_event_and_deterministically(
        tmp_path: Path, frozen: Path) -> None:
    # A reference whose heartbeats are ten times too frequent fails TestCount2B.
    buggy = tmp_path / "raft.py"
    buggy.write_text((frozen / REFERENCE).read_text(encoding="utf-8").replace(
        "HEARTBEAT_INTERVAL: Final = 0.1", "HEARTBEAT_INTERVAL: Final = 0.01"), encoding="utf-8")
    out = tmp_path / "r.json"
    run = cli(frozen, "test", "test_count_2b", "--impl", str(buggy), "--seed", "5",
              "--sandbox", "--json", str(out))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr
    results = load(out, RESULTS_SCHEMA)
    assert results["mode"] == "sandboxed"
    (recorded,) = results["tests"]
    assert recorded["kind"] == "failed" and recorded["message"].startswith("too many")
    assert recorded["replay"] == f"raftlab replay test_count_2b --seed 5 --impl {buggy} --sandbox"

    trace = tmp_path / "trace.jsonl"
    replay = cli(frozen, *shlex.split(recorded["replay"])[1:], "--jsonl", str(trace),
                 "--check-determinism")
    assert replay.returncode == 0, replay.stdout[-3000:] + replay.stderr
    shown = flat(replay.stdout)
    assert "FAILED at" in shown and flat(recorded["message"]) in shown
    assert "deterministic" in shown and "NOT deterministic" not in shown
    events = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    # the recorded tail is exactly the replayed trace's, event for event
    assert traceview.tail(events, Plan.tail) == recorded["trace_tail"]
    assert abs(events[-1]["t"] - recorded["sim_time"]) < 1e-6


def test_graded_mode_replays_are_deterministic_and_match_in_process_replays(
        frozen: Path) -> None:
    test, seed = "test_backup_2b", "3"
    sandboxed = cli(frozen, "replay", test, "--seed", seed, "--impl", "reference", "--sandbox",
                    "--check-determinism")
    assert sandboxed.returncode == 0, sandboxed.stdout[-3000:] + sandboxed.stderr
    shown = flat(sandboxed.stdout)
    assert "deterministic: two runs in fresh processes (PYTHONHASHSEED 0 and 1)" in shown
    assert "NOT deterministic" not in shown
    in_process = cli(frozen, "replay", test, "--seed", seed, "--impl", "reference")
    assert in_process.returncode == 0, in_process.stdout[-3000:] + in_process.stderr
    assert f"{test} passed on seed {seed}" in flat(in_process.stdout)
    assert digest_in(sandboxed.stdout) == digest_in(in_process.stdout)


# ------------------------------------------------------------- 2. the mode


def test_grade_records_sandboxed_mode_and_its_protections(graded: dict[str, Any]) -> None:
    results = graded["results"]
    assert results["mode"] == "sandboxed"
    protections = results["protections"]
    assert isinstance(protections, dict) and protections
    assert all(isinstance(v, bool) for v in protections.values())
    assert protections["separate process per server life"] is True
    assert protections["verdict made outside the sandbox"] is True
    if IS_ROOT:
        assert [v for k, v in protections.items() if k.startswith("unprivileged user")] == [True]
    assert all(t["replay"].endswith(" --sandbox") for t in results["tests"])


@pytest.mark.parametrize(("flags", "mode"), [((), "in-process"), (("--sandbox",), "sandboxed")])
def test_raftlab_test_records_where_the_code_ran(tmp_path: Path, frozen: Path,
                                                 flags: tuple[str, ...], mode: str) -> None:
    out = tmp_path / "r.json"
    run = cli(frozen, "test", "initial_election", "--impl", "reference", "-j", "1", *flags,
              "--json", str(out))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert f"({mode})" in run.stdout
    results = load(out, RESULTS_SCHEMA)
    assert results["mode"] == mode
    (record,) = results["tests"]
    assert record["passed"]
    assert record["replay"].endswith(" --sandbox") == (mode == "sandboxed")
    if mode == "sandboxed":
        assert results["protections"]["separate process per server life"] is True


# ------------------------------------------------ 3. a batch keeps what it has


def test_batch_writes_each_grade_as_soon_as_it_is_done(tmp_path: Path, frozen: Path) -> None:
    subs = make_subs(tmp_path / "subs", {"amy": SUBS / "raise_in_init.py",
                                         "bob": SUBS / "exit_process.py",
                                         "zed": frozen / REFERENCE})
    csv_path = tmp_path / "results" / "grades.csv"  # a new folder
    out_dir = tmp_path / "results" / "grades-json"
    proc = start_batch(frozen, subs, csv_path, tmp_path / "batch.log")
    try:
        early = wait_for_quick_ones(proc, out_dir, csv_path, {"amy", "bob"}, "zed")
        proc.wait(timeout=300)
    finally:
        end_batch(proc)
    log = (tmp_path / "batch.log").read_text(encoding="utf-8", errors="replace")
    assert early, "amy's and bob's grades were not on disk before the batch ended\n" + log
    assert proc.returncode == 0, log[-3000:]
    rows = read_csv(csv_path)
    # the reference also earns part 2E's bonus (10 in the default rubric)
    assert {s: float(r["score"]) for s, r in rows.items()} == {"amy": 0, "bob": 0, "zed": 110}
    assert {s: float(r["bonus"]) for s, r in rows.items()} == {"amy": 0, "bob": 0, "zed": 10}
    assert "oops in __init__" in rows["amy"]["problem"]
    for student in rows:
        data = load(out_dir / f"{student}.json", RESULTS_SCHEMA)
        assert data["mode"] == "sandboxed" and data["protections"]
        assert all(t["replay"].endswith(" --sandbox") for t in data["tests"])
        assert data["summary"]["stopped"] is None
    if IS_ROOT:
        for path in (csv_path, *out_dir.glob("*.json")):
            assert mode_of(path) == 0o600, path
        assert mode_of(out_dir) == 0o700
        # results/ itself, made as grades-json's parent, is not: see the xfail below
    assert not list(csv_path.parent.glob(".*")), "temporary files left behind"


def test_a_batch_killed_midway_keeps_every_grade_it_finished(tmp_path: Path,
                                                            frozen: Path) -> None:
    subs = make_subs(tmp_path / "subs", {"amy": SUBS / "raise_in_init.py",
                                         "bob": SUBS / "exit_process.py",
                                         "zed": frozen / REFERENCE})
    (subs / "dan").mkdir()  # submitted nothing: graded (zero) before any run
    csv_path = tmp_path / "grades.csv"
    out_dir = tmp_path / "grades-json"
    proc = start_batch(frozen, subs, csv_path, tmp_path / "batch.log")
    try:
        running = wait_for_quick_ones(proc, out_dir, csv_path, {"amy", "bob"}, "zed")
    finally:
        end_batch(proc)  # SIGKILL: no cleanup, no finally in the grader
    log = (tmp_path / "batch.log").read_text(encoding="utf-8", errors="replace")
    assert running, "the batch ended before it could be killed mid-way\n" + log[-3000:]
    assert proc.returncode == -signal.SIGKILL
    rows = read_csv(csv_path)
    assert set(rows) == {"amy", "bob", "dan"}, rows
    assert not (out_dir / "zed.json").exists()
    for student in ("amy", "bob", "dan"):
        data = load(out_dir / f"{student}.json", RESULTS_SCHEMA)
        assert data["grade"]["total"] == float(rows[student]["score"]) == 0
        assert data["summary"]["runs"] == int(rows[student]["runs"]) > 0
        assert data["summary"]["not_run"] == 0 and data["summary"]["harness_error"] == 0
    assert "no raft.py" in rows["dan"]["problem"]
    assert "process ended" in rows["bob"]["problem"]  # it calls os._exit(7)


# ------------------------------------------- 4. the code that grades is checked


def test_a_batch_stops_when_the_code_that_grades_changes(tmp_path: Path) -> None:
    copy = copy_of_raftlab(tmp_path / "raftlab")
    target = copy / "grader" / "rubric.py"
    subs = make_subs(tmp_path / "subs", {"amy": SUBS / "raise_in_init.py",
                                         "bob": copy / REFERENCE,
                                         "cat": SUBS / "raise_in_init.py"})
    csv_path = tmp_path / "out" / "grades.csv"
    out_dir = tmp_path / "out" / "grades-json"
    proc = start_batch(copy, subs, csv_path, tmp_path / "batch.log")
    changed_at: list[float] = []

    def tamper() -> None:
        """Independent of any submission: change the copy's grader/ once amy is graded."""
        deadline = time.monotonic() + 120
        while not (out_dir / "amy.json").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.005)
        with open(target, "a", encoding="utf-8") as f:
            f.write(f"\n{TAMPERED}\n")
        changed_at.append(time.monotonic())

    thread = threading.Thread(target=tamper, daemon=True)
    thread.start()
    try:
        proc.wait(timeout=300)
    finally:
        end_batch(proc)
        thread.join(timeout=10)
    log = (tmp_path / "batch.log").read_text(encoding="utf-8", errors="replace")
    assert changed_at, "amy was never graded\n" + log[-3000:]
    assert proc.returncode == 3, log[-3000:]
    assert CHANGED in flat(log)

    amy = load(out_dir / "amy.json", RESULTS_SCHEMA)
    assert amy["summary"]["stopped"] is None
    assert {t["kind"] for t in amy["tests"]} == {"error"}
    rows = read_csv(csv_path)
    assert set(rows) == {"amy", "bob", "cat"}
    for student in ("bob", "cat"):
        data = load(out_dir / f"{student}.json", RESULTS_SCHEMA)
        stopped = data["summary"]["stopped"]
        assert stopped and CHANGED in stopped and str(target) in stopped, stopped
        assert {t["kind"] for t in data["tests"]} == {"not-run"}
        assert all(CHANGED in t["message"] for t in data["tests"])
        assert data["grade"]["total"] == 0
        assert CHANGED in rows[student]["problem"]
        assert int(rows[student]["not_run"]) == int(rows[student]["runs"]) > 0
    assert TAMPERED in target.read_text(encoding="utf-8")
    assert TAMPERED not in (ROOT / "grader" / "rubric.py").read_text(encoding="utf-8")


def test_fingerprint_take_check_and_changed_on_a_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "raftlab"
    for name in integrity.GRADING_CODE:
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    rubric = tmp_path / "course.toml"
    rubric.write_text("[policy]\nseeds = 1\n", encoding="utf-8")
    monkeypatch.setattr(integrity, "ROOT", copy)

    before = Fingerprint.take(rubric)
    assert str(copy / "grader" / "rubric.py") in before.hashes
    assert str(copy / "harness" / "__init__.py") in before.hashes
    assert str(copy / "grader" / "rubric.toml") in before.hashes
    assert str(rubric) in before.hashes
    assert not any(str(ROOT / "grader") in name for name in before.hashes)
    assert before.check() is None
    assert before.changed(Fingerprint.take(rubric)) == []

    # Not code that grades: caches and other suffixes.
    (copy / "grader" / "__pycache__").mkdir(exist_ok=True)
    (copy / "grader" / "__pycache__" / "x.py").write_text("pass\n", encoding="utf-8")
    (copy / "grader" / "notes.txt").write_text("notes\n", encoding="utf-8")
    assert before.check() is None

    edited = copy / "grader" / "rubric.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    message = before.check()
    assert message is not None and CHANGED in message and str(edited) in message
    assert before.changed(Fingerprint.take(rubric)) == [str(edited)]

    added = copy / "harness" / "sitecustomize.py"
    added.write_text("pass\n", encoding="utf-8")
    removed = copy / "grader" / "lint.py"
    removed.unlink()
    rubric.write_text("[policy]\nseeds = 2\n", encoding="utf-8")
    assert sorted(before.changed(Fingerprint.take(rubric))) == sorted(
        str(p) for p in (edited, added, removed, rubric))

    for i in range(6):
        (copy / "harness" / f"extra{i}.py").write_text("pass\n", encoding="utf-8")
    message = before.check()
    assert message is not None and re.search(r"and \d+ more\)", message), message


def test_a_sandboxed_server_that_exits_is_reported_with_its_exit_status(
        tmp_path: Path, frozen: Path) -> None:
    out = tmp_path / "r.json"
    run = cli(frozen, "test", "initial_election", "--impl", str(SUBS / "exit_process.py"),
              "--sandbox", "-j", "1", "--wall", "5", "--json", str(out))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr
    (record,) = load(out, RESULTS_SCHEMA)["tests"]
    assert record["kind"] == "error"
    assert "exit status 7" in record["message"], record["message"]


# --------------------------------------------------------------- 5. as root


@root_only
def test_grade_results_are_private(graded: dict[str, Any]) -> None:
    out: Path = graded["out"]
    assert mode_of(out) == 0o700
    for name in ("r.json", "gs.json", "r.xml"):
        assert mode_of(out / name) == 0o600, name


@root_only
def test_every_new_result_folder_is_private(tmp_path: Path) -> None:
    write_atomically(tmp_path / "a" / "b" / "r.json", "{}\n")
    assert mode_of(tmp_path / "a" / "b" / "r.json") == 0o600
    assert mode_of(tmp_path / "a" / "b") == 0o700
    assert mode_of(tmp_path / "a") == 0o700


@root_only
def test_a_batch_folder_others_can_read_is_refused_with_the_fix(open_dir: Path,
                                                               frozen: Path) -> None:
    subs = open_dir / "subs"
    (subs / "amy").mkdir(parents=True)
    shutil.copy(SUBS / "raise_in_init.py", subs / "amy" / "raft.py")
    subs.chmod(0o755)
    csv_path = open_dir / "out" / "grades.csv"
    run = cli(frozen, "batch", str(subs), "--csv", str(csv_path), "--runs", "1", "-j", "1")
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr
    assert f"chmod o-rwx {subs}" in flat(run.stderr)
    assert not csv_path.exists() and not (open_dir / "out").exists()

    subs.chmod(0o750)  # the fix it names
    run = cli(frozen, "batch", str(subs), "--csv", str(csv_path), "--runs", "1", "-j", "1")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert set(read_csv(csv_path)) == {"amy"}
    assert mode_of(csv_path) == 0o600


@root_only
def test_protect_for_sandboxes_hides_a_readable_reference_of_a_copy(
        open_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = open_dir / "raftlab"
    shutil.copytree(ROOT / "reference", copy / "reference",
                    ignore=shutil.ignore_patterns("__pycache__"))
    copy.chmod(0o755)
    reference = copy / "reference"
    reference.chmod(0o755)
    real = mode_of(ROOT / "reference")
    monkeypatch.setattr(integrity, "ROOT", copy)

    notes = protect_for_sandboxes(private=[])
    assert mode_of(reference) == 0o750
    assert len(notes) == 1 and str(reference) in notes[0]
    assert protect_for_sandboxes(private=[]) == []  # nothing left to do
    assert mode_of(ROOT / "reference") == real  # this checkout: untouched

    # Readable, but under a folder others cannot enter: already out of reach.
    reference.chmod(0o755)
    copy.chmod(0o700)
    assert protect_for_sandboxes(private=[]) == []
    assert mode_of(reference) == 0o755
    copy.chmod(0o755)

    # A private folder (a batch's submissions) others can read: refused, fix named.
    subs = open_dir / "subs"
    subs.mkdir(mode=0o755)
    subs.chmod(0o755)
    with pytest.raises(IntegrityError, match=re.escape(f"chmod o-rwx {subs}")):
        protect_for_sandboxes(private=[subs])
    assert mode_of(reference) == 0o750  # hidden all the same
    subs.chmod(0o750)  # the fix it names
    assert protect_for_sandboxes(private=[subs]) == []
