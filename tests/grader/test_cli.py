"""End-to-end tests of every raftlab command, run as subprocesses.

Each grades real code: the reference (full marks), the unfilled skeleton
(zero, no crash) and small hostile submissions (tests/grader/subs/), which
must cost only their own tests, promptly, with a message that says what
happened. Every file a command writes must validate against its schema.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from grader.results import part_of
from grader.suite_index import all_tests

ROOT = Path(__file__).resolve().parents[2]
SUBS = Path(__file__).with_name("subs")
RESULTS_SCHEMA = json.loads((ROOT / "grader" / "results.schema.json").read_text())
GRADESCOPE_SCHEMA = json.loads((ROOT / "grader" / "gradescope.schema.json").read_text())
REFERENCE = ROOT / "reference" / "raft" / "raft.py"
HAS_2E = any(part_of(name) == "2E" for name in all_tests())
"""The optional part's tests (grader/suite/test_2e.py) are installed."""


def raftlab(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {}), "COLUMNS": "120"})


def load(path: Path, schema: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    return data


@pytest.mark.parametrize("command", ["test", "grade", "replay", "batch", "gradescope-bundle",
                                     "bench"])
def test_every_command_has_help_with_examples(command: str) -> None:
    run = raftlab(command, "--help")
    assert run.returncode == 0
    assert "examples:" in run.stdout


def test_usage_errors_exit_2_and_name_the_fix() -> None:
    run = raftlab("test", "no_such_test_anywhere")
    assert run.returncode == 2
    assert "matches no test" in run.stderr and "2A" in run.stderr
    run = raftlab("test", "--impl", "/nonexistent/raft.py")
    assert run.returncode == 2 and "no such file" in run.stderr


def test_grade_reference_gets_full_marks_and_valid_exports(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    gs = tmp_path / "gs.json"
    junit = tmp_path / "j.xml"
    run = raftlab("grade", "--impl", "reference", "--runs", "1", "--json", str(out),
                  "--gradescope", str(gs), "--junit", str(junit))
    assert run.returncode == 0, run.stdout + run.stderr
    results = load(out, RESULTS_SCHEMA)
    grade = results["grade"]
    # the default rubric: 100 points, and the optional part 2E's 10 on top
    assert grade["max"] == 100 and grade["bonus_max"] == (10 if HAS_2E else 0)
    assert grade["total"] == 100 + grade["bonus"] and grade["bonus"] == grade["bonus_max"]
    assert results["summary"]["all_passed"]
    assert all(t["replay"].startswith("raftlab replay test_") for t in results["tests"])
    gradescope = load(gs, GRADESCOPE_SCHEMA)
    assert gradescope["score"] == grade["total"]
    assert {t["status"] for t in gradescope["tests"]} == {"passed"}
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert ("100.00 + 10.00 bonus / 100.00" if HAS_2E else "100.00 / 100.00") in run.stdout


def test_grade_unfilled_skeleton_is_zero_without_crashing(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    gs = tmp_path / "gs.json"
    run = raftlab("grade", "--impl", "student", "--runs", "1", "--json", str(out),
                  "--gradescope", str(gs))
    assert run.returncode == 1, run.stdout + run.stderr
    results = load(out, RESULTS_SCHEMA)
    assert results["grade"]["total"] == 0
    assert results["summary"]["error"] == len(results["tests"])
    assert all("NotImplementedError: 2" in (t["message"] or "") for t in results["tests"])
    gradescope = load(gs, GRADESCOPE_SCHEMA)
    assert gradescope["score"] == 0
    assert "Replay exactly" in gradescope["tests"][0]["output"]


@pytest.mark.parametrize(("sub", "wall", "expected"), [
    ("raise_in_init.py", 3, "raised RuntimeError: oops in __init__"),
    ("exit_process.py", 3, "exit status 7"),
    # escalating a swallowed spin takes about 4 s of CPU: leave room on a busy machine
    ("spin_forever.py", 20, "caught every interrupt"),
    ("hang_in_c.py", 3, "wall-clock cap of 3 s"),
    ("eat_memory.py", 3, "ran out of memory"),
])
def test_hostile_submissions_cost_only_their_tests(tmp_path: Path, sub: str, wall: int,
                                                   expected: str) -> None:
    out = tmp_path / "r.json"
    started = time.monotonic()
    run = raftlab("test", "initial_election", "basic_agree", "--impl", str(SUBS / sub),
                  "--wall", str(wall), "--json", str(out))
    elapsed = time.monotonic() - started
    assert run.returncode == 1, run.stdout + run.stderr
    results = load(out, RESULTS_SCHEMA)
    assert [t["name"] for t in results["tests"]] == ["test_initial_election_2a",
                                                     "test_basic_agree_2b"]
    assert all(t["kind"] in ("failed", "error") for t in results["tests"])
    assert any(expected in (t["message"] or "") for t in results["tests"]), results["tests"]
    assert elapsed < 120  # a generous bound: the caps are a few seconds, not minutes


def test_replay_reproduces_a_recorded_failure_exactly(tmp_path: Path) -> None:
    # A reference whose heartbeats are ten times too frequent fails TestCount2B.
    buggy = tmp_path / "raft.py"
    buggy.write_text(REFERENCE.read_text(encoding="utf-8").replace(
        "HEARTBEAT_INTERVAL: Final = 0.1", "HEARTBEAT_INTERVAL: Final = 0.01"), encoding="utf-8")
    out = tmp_path / "r.json"
    run = raftlab("test", "test_count_2b", "--impl", str(buggy), "--seed", "5",
                  "--json", str(out))
    assert run.returncode == 1
    (recorded,) = load(out, RESULTS_SCHEMA)["tests"]
    assert recorded["kind"] == "failed"
    assert recorded["message"].startswith("too many")
    assert recorded["replay"] == f"raftlab replay test_count_2b --seed 5 --impl {buggy}"

    trace = tmp_path / "trace.jsonl"
    replay = raftlab(*recorded["replay"].split()[1:], "--jsonl", str(trace))
    assert replay.returncode == 1
    assert recorded["message"] in replay.stdout.replace("\n", " ") or \
        recorded["message"][:40] in replay.stdout
    events = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    # the recorded tail is exactly what the replayed trace ends with
    tail = recorded["trace_tail"]
    positions = [events.index(e) for e in tail]
    assert positions == sorted(positions) and positions[-1] == len(events) - 1
    assert abs(events[-1]["t"] - recorded["sim_time"]) < 1e-6


def test_replay_check_determinism_on_the_reference() -> None:
    run = raftlab("replay", "test_initial_election_2a", "--seed", "2", "--impl", "reference",
                  "--check-determinism")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "deterministic" in run.stdout and "NOT" not in run.stdout


def test_replay_check_determinism_catches_wall_clock_dependent_code(tmp_path: Path) -> None:
    sneaky = tmp_path / "raft.py"
    sneaky.write_text(REFERENCE.read_text(encoding="utf-8").replace(
        "timeout = random.uniform(*ELECTION_TIMEOUT)",
        "timeout = random.uniform(*ELECTION_TIMEOUT) + (os.urandom(1)[0] / 25600)").replace(
        "import asyncio\n", "import asyncio\nimport os\n", 1), encoding="utf-8")
    run = raftlab("replay", "test_initial_election_2a", "--seed", "1", "--impl", str(sneaky),
                  "--check-determinism")
    assert run.returncode == 1
    assert "NOT deterministic" in run.stdout


def test_batch_grades_every_submission_and_survives_broken_ones(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    for name, source in (("alice", REFERENCE), ("bob", SUBS / "raise_in_init.py"),
                         ("carol", SUBS / "exit_process.py")):
        (subs / name).mkdir(parents=True)
        shutil.copy(source, subs / name / "raft.py")
    (subs / "dave").mkdir()  # submitted nothing
    csv_path = tmp_path / "grades.csv"
    run = raftlab("batch", str(subs), "--csv", str(csv_path), "--runs", "1")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == ("student,score,max,2A,2B,2C,2D,runs,passed,failed,errors,"
                       "internal_errors,not_run,problem,2E,bonus,bonus_max")
    scores = {r.split(",")[0]: float(r.split(",")[1]) for r in rows[1:]}
    bonus = 10.0 if HAS_2E else 0.0  # the reference earns the default rubric's 2E bonus
    assert scores == {"alice": 100.0 + bonus, "bob": 0.0, "carol": 0.0, "dave": 0.0}
    for name in scores:
        data = load(tmp_path / "grades-json" / f"{name}.json", RESULTS_SCHEMA)
        assert "grade" in data
    assert "no raft.py" in (tmp_path / "grades-json" / "dave.json").read_text()


def test_grade_runs_only_the_parts_the_rubric_gives_points(tmp_path: Path) -> None:
    rubric = tmp_path / "r.toml"
    rubric.write_text("[policy]\nseeds = 1\n[parts.2A]\npoints = 20\n")  # no 2B-2E
    out = tmp_path / "r.json"
    gs = tmp_path / "gs.json"
    run = raftlab("grade", "--impl", "reference", "--rubric", str(rubric), "--json", str(out),
                  "--gradescope", str(gs))
    assert run.returncode == 0, run.stdout + run.stderr
    results = load(out, RESULTS_SCHEMA)
    assert results["tests"] and {t["part"] for t in results["tests"]} == {"2A"}
    grade = results["grade"]
    assert (grade["total"], grade["max"], grade["bonus"], grade["bonus_max"]) == (20, 20, 0, 0)
    assert "20.00 / 20.00" in run.stdout and "bonus" not in run.stdout
    assert "optional part" not in run.stdout
    assert load(gs, GRADESCOPE_SCHEMA)["score"] == 20


@pytest.mark.parametrize(("text", "complaint"), [
    ("[parts.2E]\npoints = 10\nbonus = \"yes\"\n", "parts.2E.bonus must be true"),
    ("[parts.2A]\npoints = 20\n[tests.test_no_such_2b]\npoints = 5\n", "names no test"),
    ("[parts.2F]\npoints = 5\n", "unknown part [parts.2F]"),
])
@pytest.mark.parametrize("command", ["grade", "batch", "gradescope-bundle"])
def test_a_bad_rubric_is_a_usage_error(tmp_path: Path, command: str, text: str,
                                       complaint: str) -> None:
    rubric = tmp_path / "r.toml"
    rubric.write_text(text)
    args = {"grade": ["grade", "--impl", "reference"],
            "batch": ["batch", str(tmp_path), "--csv", str(tmp_path / "g.csv")],
            "gradescope-bundle": ["gradescope-bundle", str(tmp_path / "ag.zip")]}[command]
    run = raftlab(*args, "--rubric", str(rubric))
    assert run.returncode == 2, run.stdout + run.stderr
    assert complaint in " ".join(run.stderr.split())
    assert not (tmp_path / "g.csv").exists() and not (tmp_path / "ag.zip").exists()


@pytest.mark.skipif(HAS_2E, reason="the 2E tests are installed")
def test_grade_refuses_a_rubric_with_points_for_a_part_without_tests(tmp_path: Path) -> None:
    run = raftlab("grade", "--impl", "reference")  # the default rubric gives 2E 10 points
    assert run.returncode == 2
    assert "no 2E tests" in " ".join(run.stderr.split())


@pytest.mark.skipif(not HAS_2E, reason="no 2E tests (grader/suite/test_2e.py) installed")
def test_test_2e_runs_the_optional_part_and_reports_it_apart(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run = raftlab("test", "initial_election_2a", "2E", "--impl", "reference", "--json", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    parts = [t["part"] for t in load(out, RESULTS_SCHEMA)["tests"]]
    assert parts[0] == "2A" and set(parts[1:]) == {"2E"}
    assert len(parts) - 1 == sum(part_of(n) == "2E" for n in all_tests())
    assert "  part 2A: 1 passed" in run.stdout and "optional part 2E" in run.stdout


@pytest.mark.skipif(not HAS_2E, reason="no 2E tests (grader/suite/test_2e.py) installed")
def test_pytest_k_2e_selects_the_optional_part() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "grader/suite", "-k", "2e",
                          "--impl", "reference", "-q", "-p", "no:cacheprovider",
                          "--collect-only"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    collected = [line for line in run.stdout.splitlines() if "::" in line]
    assert collected and all(line.endswith("_2e") for line in collected), collected
    assert len(collected) == sum(part_of(n) == "2E" for n in all_tests())


def _autograder(tmp_path: Path, submission: Path | None) -> dict[str, Any]:
    bundle = tmp_path / "ag.zip"
    assert raftlab("gradescope-bundle", str(bundle)).returncode == 0
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert "setup.sh" in names and "run_autograder" in names
        assert not any(n.startswith("raftlab/reference/") for n in names)
        z.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
        assert subprocess.run(["bash", "-n", str(root / "source" / script)]).returncode == 0
    if submission is not None:
        shutil.copy(submission, root / "submission" / "raft.py")
    # Run the bundled copy of raftlab (not this checkout) with this interpreter.
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "RAFTLAB_PYTHON": sys.executable,
           "PYTHONPATH": str(root / "source" / "raftlab")}
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return load(root / "results" / "results.json", GRADESCOPE_SCHEMA)


def test_gradescope_bundle_grades_the_reference_in_a_simulated_autograder(
        tmp_path: Path) -> None:
    results = _autograder(tmp_path, REFERENCE)
    bonus = [t for t in results["tests"] if "bonus" in t["tags"]]
    # 2E on top (its 10 points shared by 11 tests, each rounded to 4 places)
    assert results["score"] == pytest.approx(100 + sum(t["max_score"] for t in bonus), abs=1e-3)
    assert len(bonus) == sum(part_of(n) == "2E" for n in all_tests())
    assert len(results["tests"]) >= 28 + len(bonus)
    assert all(t["name"].startswith("2E (bonus): ") for t in bonus)


def test_gradescope_bundle_scores_a_missing_submission_zero_with_a_message(
        tmp_path: Path) -> None:
    results = _autograder(tmp_path, None)
    assert results["score"] == 0
    assert "no submission found" in results["output"] or "no submission found" in \
        results["tests"][0]["output"]
