"""The second reference (tests/reference2/raft.py) passes every 2A-2D test, and
really is a second Raft: different in structure from reference/raft/raft.py, and
never shipped.

Issue 11 asks that every rule be proven on two different Rafts: a mutant that
one reference makes equivalent (its structure hides the bug) must still be
caught on the other. That only works if the two differ where bugs hide, so the
structural differences the second reference promises are checked here from
its source (an offset ledger without a sentinel entry, replicators created
once per server life, votes counted inside the candidacy task), not taken on
trust. CI runs seed 1; the 200-seed sweep is in the issue's notes.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import functools
import io
import tomllib
from pathlib import Path

import pytest

from grader.impl import resolve_impl
from grader.results import part_of
from grader.suite_index import all_tests
from harness import LabResult, SourceImpl, run_lab_test

ROOT = Path(__file__).resolve().parents[2]
SECOND = ROOT / "tests" / "reference2" / "raft.py"
CORE = ("2A", "2B", "2C", "2D")
SEED = 1

TESTS = all_tests()
CORE_TESTS = [name for name in TESTS if part_of(name) in CORE]


@functools.cache
def second_source() -> str:
    return SECOND.read_text(encoding="utf-8")


@functools.cache
def second_impl() -> SourceImpl:
    impl = SourceImpl(str(SECOND), second_source())
    impl.load()  # compiles it once and checks the class has the tester's methods
    return impl


@functools.cache
def raft_class_ast() -> ast.ClassDef:
    tree = ast.parse(second_source())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)
               and node.name == "Raft"]
    assert len(classes) == 1
    return classes[0]


def method(name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in raft_class_ast().body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise AssertionError(f"class Raft of the second reference has no method {name}")


def self_calls(node: ast.AST) -> list[str]:
    """Names of the ``self.<name>(...)`` calls inside ``node``."""
    return [call.func.attr for call in ast.walk(node)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"]


def packages_under(root: Path) -> list[str]:
    """Every package below ``root`` (as setuptools' find_packages sees them)."""
    tops = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    return sorted(".".join(init.parent.relative_to(root).parts)
                  for top in tops for init in top.rglob("__init__.py"))


def run(name: str) -> LabResult:
    with contextlib.redirect_stdout(io.StringIO()):
        return run_lab_test(TESTS[name], second_impl(), SEED)


# ------------------------------------------------------------------ it passes


def test_every_core_part_has_tests() -> None:
    assert {part_of(name) for name in CORE_TESTS} == set(CORE)


@pytest.mark.parametrize("name", CORE_TESTS)
def test_second_reference_passes(name: str) -> None:
    result = run(name)
    assert result.passed, f"{result.kind}: {result.message}\n{result.details}"


# ------------------------------------------------------------ it is not shipped


def test_second_reference_is_not_shipped() -> None:
    """The wheel holds the packages pyproject.toml lists; tests/ is none of them,
    and no shipped file carries the second reference's code."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = [package for package in packages_under(ROOT)
               if any(fnmatch.fnmatchcase(package, pattern) for pattern in include)]
    assert "reference" in shipped and "harness" in shipped  # the lookup itself works
    assert not [p for p in shipped if p == "tests" or p.startswith("tests.")], shipped
    marker = "a second, independent reference solution, for tests only"
    assert marker in second_source()
    for package in shipped:
        for path in (ROOT / package.replace(".", "/")).glob("*.py"):
            assert marker not in path.read_text(encoding="utf-8"), path
    # and the grader's --impl names reach only the student's file and the first reference
    assert "reference2" not in str(resolve_impl("reference"))


# ----------------------------------------------------- it differs in structure


def test_an_offset_ledger_without_a_sentinel() -> None:
    source = second_source()
    assert "self.log" not in source  # no sentinel list: no self.log[0], no self.log_start
    for attr in ("self.base_index", "self.base_term", "self.entries"):
        assert attr in source, attr
    init = ast.unparse(method("__init__"))
    assert "self.entries: list[Entry] = []" in init  # empty: entries[0] is base_index + 1
    for helper in ("_last_index", "_term_at", "_entry", "_slice", "_compact"):
        method(helper)


def test_replicators_are_created_once_per_server_life() -> None:
    """One replicator per peer, started in __init__ and nowhere else; becoming
    leader only wakes them."""
    callers = [node.name for node in raft_class_ast().body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
               and "_replicator" in self_calls(node)]
    assert callers == ["__init__"], callers
    become_leader = ast.unparse(method("_become_leader"))
    assert "create_task" not in become_leader
    assert "self._wake[peer].set()" in become_leader
    assert "await wake.wait()" in ast.unparse(method("_replicator"))


def test_votes_are_counted_inside_the_candidacy_task() -> None:
    """No shared vote set: the candidacy task gathers its ballots and counts them;
    the ticker only starts it, and only it can win an election."""
    source = second_source()
    assert "self.votes" not in source
    candidacy = method("_candidacy")
    assert isinstance(candidacy, ast.AsyncFunctionDef)
    text = ast.unparse(candidacy)
    assert "asyncio.wait(" in text and "votes += 1" in text
    winners = [node.name for node in raft_class_ast().body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
               and "_become_leader" in self_calls(node)]
    assert winners == ["_candidacy"], winners
    assert "_candidacy" in ast.unparse(method("_election_clock"))


def test_no_part_2e_mechanisms() -> None:
    source = second_source().lower()
    assert "pre_vote" not in source and "check_quorum" not in source
