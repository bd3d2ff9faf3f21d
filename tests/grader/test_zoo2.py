"""The zoo on two references: the second reference's mutants
(tests/reference2/mutants.py) stay in step with it and use the first
reference's rule IDs, the zoo runs and kills them, and the first reference's
zoo is what it was.

Which IDs count: an ID of ``grader.mutants`` - one of its MUTANTS or
MASKED_BY_2E, or a catalog bug its docstring lists as left out of the first
reference (E1, R8, S4, ...). ``grader/mutants.py`` is where the catalog's IDs
are given a meaning (the catalog document itself is not in the repository),
and a bug the first reference left out is exactly what the second reference
is for; so a mutant of the second reference may not invent an ID, and one
that shares a mutant's ID with the first reference shares its part too.
"""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import grader.mutants
from grader import zoo
from grader.impl import PACKAGE_ROOT, resolve_impl
from grader.mutants import MASKED_BY_2E, MUTANTS, Mutant, build_source
from grader.results import CORE_PARTS, PARTS, part_of
from grader.suite_index import all_tests
from tests.reference2 import mutants as second

SECOND_RAFT = Path(__file__).resolve().parents[1] / "reference2" / "raft.py"
ALL_SECOND = second.MUTANTS + second.LEFT_OUT
ID = re.compile(r"\b[EPRS]\d+[a-z]?\b")


def catalog_ids() -> set[str]:
    """The IDs grader/mutants.py gives a meaning: its mutants and the bugs it left out."""
    named = {m.id for m in MUTANTS + MASKED_BY_2E}
    return named | set(ID.findall(grader.mutants.__doc__ or ""))


# ------------------------------------------------------- the mutants themselves


@pytest.mark.parametrize("mutant", ALL_SECOND, ids=[m.id for m in ALL_SECOND])
def test_each_mutant_applies_to_the_second_reference(mutant: Mutant) -> None:
    source = build_source(mutant, SECOND_RAFT.read_text(encoding="utf-8"))  # each edit once
    compile(source, f"{mutant.id}/raft.py", "exec")
    assert "assert " not in source  # the reference's self-checks are gone
    assert source != ast.unparse(ast.parse(SECOND_RAFT.read_text(encoding="utf-8")))
    assert mutant.part in second.PARTS and mutant.bug and mutant.source
    tests = all_tests()
    assert mutant.expected and all(t in tests for t in mutant.expected), mutant.expected
    assert all(part_of(t) in second.PARTS for t in mutant.expected), mutant.expected


def test_the_ids_are_the_first_references_rule_ids() -> None:
    ids = [m.id for m in ALL_SECOND]
    assert len(set(ids)) == len(ids)
    assert not set(ids) - catalog_ids(), sorted(set(ids) - catalog_ids())
    first = {m.id: m.part for m in MUTANTS + MASKED_BY_2E}
    assert not [(m.id, m.part) for m in ALL_SECOND if m.id in first and first[m.id] != m.part]


def test_every_core_part_is_covered_and_no_2e() -> None:
    assert second.PARTS == CORE_PARTS  # the second reference has no part 2E
    assert len(second.MUTANTS) >= 20
    counts = ", ".join(f"{sum(m.part == part for m in second.MUTANTS)} in {part}"
                       for part in CORE_PARTS)
    for part in CORE_PARTS:
        assert sum(m.part == part for m in second.MUTANTS) >= 2, part
    assert f"{len(second.MUTANTS)} mutants: {counts}." in " ".join((second.__doc__ or "").split())


def test_what_is_left_out_says_why() -> None:
    doc = second.__doc__ or ""
    left = doc[doc.index("left out here"):]
    for m in second.LEFT_OUT:
        assert re.search(rf"^  {m.id}\b", left, re.MULTILINE), f"{m.id}: no reason given"
    assert not {m.id for m in second.LEFT_OUT} & {m.id for m in second.MUTANTS}
    # every bug the first reference leaves out was tried here (P6 cannot be written
    # in this reference: its docstring says why)
    left_out_first = set(ID.findall(grader.mutants.__doc__ or "")) - {m.id for m in MUTANTS}
    assert not left_out_first - {m.id for m in ALL_SECOND} - {"P6"}
    assert re.search(r"^  P6\b", left, re.MULTILINE)


# --------------------------------------------------------------- the zoo


def test_the_zoo_finds_both_references_here() -> None:
    refs = zoo.choose_references(None)
    assert [r.label for r in refs] == ["first", "second"]
    assert refs[1].path == SECOND_RAFT.resolve()
    assert [m.id for m in refs[1].mutants] == [m.id for m in second.MUTANTS]
    assert refs[1].parts == CORE_PARTS
    assert refs[1].name(second.MUTANTS[0]) == f"{second.MUTANTS[0].id} (ref2)"


def test_without_the_second_reference_the_zoo_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo, "SECOND_FOLDER", tmp_path / "reference2")  # as in a handout
    out = io.StringIO()
    refs = zoo.choose_references(None, note=Console(file=out, width=200))
    assert [r.label for r in refs] == ["first"]
    assert len(out.getvalue().strip().splitlines()) == 1 and "second" in out.getvalue()
    with pytest.raises(ValueError, match="second reference"):
        zoo.choose_references("second")
    with pytest.raises(ValueError, match="--reference"):
        zoo.choose_references("third")


def test_one_sided_ids() -> None:
    def ref(label: str, ids: list[str]) -> zoo.Reference:
        return zoo.Reference(label, SECOND_RAFT, tuple(
            Mutant(i, "2A", "b", "s", ("test_initial_election_2a",), ()) for i in ids))
    assert zoo.one_sided([ref("first", ["E4", "S3"]), ref("second", ["E4", "R8"])]) == {
        "first": ["S3"], "second": ["R8"]}


def _zoo_cli(*args: str, json_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.zoo", "--seeds", "1", "-j", "1",
                           "--json", str(json_path), *args], cwd=PACKAGE_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_zoo_kills_a_mutant_of_the_second_reference(tmp_path: Path) -> None:
    """One mutant, seed 1: its first expected killer kills it; the rest are skipped."""
    run = _zoo_cli("--reference", "second", "--only", "E4", json_path=tmp_path / "z.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "E4 (ref2)" in run.stdout and "killed 1 of 1" in run.stdout
    data = json.loads((tmp_path / "z.json").read_text(encoding="utf-8"))
    [m] = data["mutants"]
    assert (m["id"], m["name"], m["reference"]) == ("E4", "E4 (ref2)", "second")
    assert m["killed_at_seed"] == 1 and m["killers"] == ["test_double_vote_scenario_2a"]
    assert data["summary"]["references"] == {"second": {
        "mutants": 1, "killed": 1, "kill_rate": 1.0, "seeds_needed": {"1": 1, "survived": 0},
        "harness_errors": 0}}
    assert [r["label"] for r in data["references"]] == ["second"]
    assert data["references"][0]["parts"] == list(CORE_PARTS)


def test_the_first_references_zoo_is_unchanged(tmp_path: Path) -> None:
    [first] = zoo.choose_references("first")
    assert first.path == resolve_impl("reference") and first.mutants == MUTANTS
    assert first.parts == PARTS and first.tag == "" and first.name(MUTANTS[0]) == MUTANTS[0].id
    # run_zoo with plain mutants is the first reference's zoo, as before
    [out] = zoo.run_zoo([next(m for m in MUTANTS if m.id == "E4")], seeds=1,
                        tests=["test_double_vote_scenario_2a"], workers=1)
    assert (out.name, out.reference, out.killed_at) == ("E4", "first", 1)
    # and so is the command, with the JSON it wrote before (plus the new keys)
    run = _zoo_cli("--reference", "first", "--only", "E4", json_path=tmp_path / "z.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(ref2)" not in run.stdout and "killed 1 of 1" in run.stdout
    data = json.loads((tmp_path / "z.json").read_text(encoding="utf-8"))
    assert {"seeds", "summary", "wall_seconds", "tests", "mutants"} <= set(data)
    assert data["tests"] == list(all_tests())
    [m] = data["mutants"]
    assert (m["id"], m["name"], m["reference"], m["killed_at_seed"]) == ("E4", "E4", "first", 1)
    assert {"mutants", "killed", "kill_rate", "seeds_needed", "harness_errors"} <= set(
        data["summary"])
    assert list(data["summary"]["references"]) == ["first"]
