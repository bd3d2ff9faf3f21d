"""The pytest plugin: --impl and --seed, MIT's numbers in the summary, and failures
that name the seed and the commands that replay them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from grader.suite_index import select

ROOT = Path(__file__).resolve().parents[2]


def pytest_suite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "grader/suite", "-p",
                           "no:cacheprovider", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "120"})


def test_reference_passes_part_2a_with_the_passed_numbers() -> None:
    run = pytest_suite("-k", "2a", "--impl", "reference", "--seed", "3")
    assert run.returncode == 0, run.stdout
    assert "raftlab: impl=reference seed=3" in run.stdout
    count = len(select(["2A"]))  # MIT's three and the 2A scenarios
    assert f"{count} passed" in run.stdout
    assert "test_initial_election_2a" in run.stdout and "RPCs" in run.stdout


def test_a_failure_names_the_seed_and_replay_commands() -> None:
    run = pytest_suite("-k", "initial_election", "--seed", "4")  # the unfilled skeleton
    assert run.returncode == 1
    out = run.stdout
    assert "NotImplementedError: 2A" in out
    assert "(seed 4)" in out
    assert "raftlab replay test_initial_election_2a --seed 4" in out
    assert "pytest grader/suite -k test_initial_election_2a --seed 4" in out


def test_a_bad_seed_is_a_usage_error_naming_its_source() -> None:
    run = pytest_suite("-k", "initial_election", "--seed", "seven")
    assert run.returncode != 0
    assert "Invalid seed 'seven' from --seed" in run.stdout + run.stderr
