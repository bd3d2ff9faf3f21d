"""Static checks as tests, so the one test command covers them: mypy (strict) on
the typed packages, ruff everywhere. Both tools are declared in the dev extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `pip install -e '.[dev]'`")
    return path


def test_mypy_strict_is_clean_on_harness_grader_and_reference() -> None:
    run = subprocess.run([_tool("mypy"), "harness", "grader", "reference"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_is_clean() -> None:
    run = subprocess.run([_tool("ruff"), "check", "harness", "grader", "reference", "labs",
                          "tests"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_harness_and_labs_never_import_the_reference() -> None:
    """The student handout ships without reference/."""
    for folder in ("harness", "labs"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "from reference" not in text and "import reference" not in text, path
