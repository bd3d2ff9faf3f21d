"""The rule table (grader/rules.py) names only tests, monitors and mutants that exist,
and HANDOUT.md's appendix "What the tests check" is the table as rendered now."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import rules
from grader.handout import heading_anchors
from grader.mutants import MASKED_BY_2E, MUTANTS
from grader.results import PARTS
from grader.suite_index import all_tests

ROOT = Path(__file__).resolve().parents[2]
MONITORS_SOURCE = (ROOT / "harness" / "_trusted" / "monitors.py").read_text(encoding="utf-8")
REGENERATE = "regenerate it with `python -m grader.rules` (grader.rules.rewrite_appendix)"


def test_ids_are_unique() -> None:
    ids = [r.id for r in rules.RULES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_check_names_a_test_or_a_monitor() -> None:
    tests = all_tests()
    for rule in rules.RULES:
        for check in rule.checks:
            assert check.name in tests or check.name in rules.MONITORS, (rule.id, check.name)


def test_every_monitor_exists() -> None:
    """Each monitor name is a rule of the safety monitors' docstring table."""
    for name in rules.MONITORS:
        assert re.search(rf"^  {re.escape(name)}\s{{2,}}", MONITORS_SOURCE, re.M), name


def test_every_mutant_exists() -> None:
    # a bug that part 2E's switches make harmless is proven on plain Raft
    # (tests/suite/test_2e_reference.py), so it may prove a rule too
    ids = {m.id for m in (*MUTANTS, *MASKED_BY_2E)}
    for rule in rules.RULES:
        for mutant in rule.mutants:
            assert mutant in ids, (rule.id, mutant)


def test_rows_are_complete() -> None:
    for rule in rules.RULES:
        assert rule.id and rule.source and rule.text and rule.heading, rule
        assert rule.part in PARTS, rule
        if rule.unobservable:
            assert not rule.mutants and not rule.gaps, rule.id
        else:
            assert rule.checks, f"{rule.id}: no check, and not said to be unobservable"
        for check in rule.checks:
            assert check.deterministic or not check.plain_only, (rule.id, check.name)


def test_every_numbered_rule_has_a_row() -> None:
    ids = {r.id for r in rules.RULES}
    wanted = {"PS1", "PS2", "PS3", "PS4", "VS1", "LS1", "LS2", "RV1", "RV2", "AE1", "AE2", "AE3",
              "AE4", "AE5", "ALL1", "ALL2", "FOL1", "FOL2", "CAN1a", "CAN1b", "CAN1c", "CAN1d",
              "CAN2", "CAN3", "CAN4", "LEAD1", "LEAD2", "LEAD3", "LEAD4", "COMMIT",
              "FB1", "FB2", "FB3", "FB4", "FB5", *(f"IS{i}" for i in range(1, 9))}
    assert wanted <= ids, sorted(wanted - ids)


def test_coverage_counts_deterministic_rules() -> None:
    checked, total = rules.coverage()
    assert total == len(rules.RULES)
    assert checked == sum(1 for r in rules.RULES
                          if r.checks and any(c.deterministic for c in r.checks)
                          and not r.gaps and not r.unobservable)
    assert 0 < checked < total


def test_markdown_is_stable_and_complete() -> None:
    text = rules.render_markdown()
    assert text == rules.render_markdown()
    checked, total = rules.coverage()
    assert f"{checked} of {total} rules" in text
    for rule in rules.RULES:
        assert f"| {rule.id} (" in text, rule.id
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| rule"):
            assert line.count(" | ") == 3, line  # no stray "|" inside a cell
    # for students: no mutant names, no code
    assert "self." not in text and "mutant" not in text.lower()
    assert not re.search(r"\b(?:E|R|P|S)\d+b?\b", text), re.findall(r"\b[ERPS]\d+b?\b", text)


# ------------------------------------------------------- the handout's appendix


def test_the_handouts_appendix_is_the_rendered_table() -> None:
    handout = (ROOT / "HANDOUT.md").read_text(encoding="utf-8")
    assert rules.HANDOUT == ROOT / "HANDOUT.md"
    assert handout.count(rules.RULES_BEGIN) == 1 and handout.count(rules.RULES_END) == 1, (
        f"HANDOUT.md has lost the rule table's markers: put back {rules.RULES_BEGIN!r} and "
        f"{rules.RULES_END!r}, then {REGENERATE}")
    assert rules.rewrite_section(handout) == handout, (
        f"HANDOUT.md's appendix \"What the tests check\" differs from grader/rules.py's "
        f"render_markdown(): {REGENERATE}")


def test_the_appendix_is_numbered_last_and_in_the_contents() -> None:
    handout = (ROOT / "HANDOUT.md").read_text(encoding="utf-8")
    numbered = re.findall(r"^## (\d+)\. ", handout, re.MULTILINE)
    assert numbered == [str(n) for n in range(1, int(rules.APPENDIX) + 1)], numbered
    anchor = f"{rules.APPENDIX}-appendix-what-the-tests-check"
    assert anchor in heading_anchors(handout)
    contents = handout.split("## Contents", 1)[1].split("\n---\n", 1)[0]
    assert f"(#{anchor})" in contents
    assert handout.rstrip().endswith(rules.RULES_END)  # the last appendix


def test_the_rendering_wraps_prose_like_the_handout() -> None:
    for line in rules.render_markdown().splitlines():
        if not line.startswith("|"):
            assert len(line) <= rules.WIDTH, line
    assert rules.render_markdown().endswith("|\n")


def test_rewrite_section_replaces_only_the_appendix_and_needs_its_markers() -> None:
    text = f"before\n\n{rules.RULES_BEGIN}\nold table\n{rules.RULES_END}\n\nafter\n"
    new = rules.rewrite_section(text)
    assert new == (f"before\n\n{rules.RULES_BEGIN}\n\n{rules.render_markdown()}\n"
                   f"{rules.RULES_END}\n\nafter\n")
    assert rules.rewrite_section(new) == new
    for broken in ("no appendix here", f"{rules.RULES_BEGIN}\nonly the start\n",
                   f"{rules.RULES_END}\nx\n{rules.RULES_BEGIN}\n",
                   f"{rules.RULES_BEGIN}\n{rules.RULES_END}\n{rules.RULES_END}\n"):
        with pytest.raises(ValueError, match=r"markers|comes before"):
            rules.rewrite_section(broken)


def test_rewrite_appendix_and_its_command(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    handout = tmp_path / "HANDOUT.md"
    handout.write_text(f"# Lab\n{rules.RULES_BEGIN}\nstale\n{rules.RULES_END}\n", encoding="utf-8")
    assert rules.main(["--check", str(handout)]) == 1
    assert rules.rewrite_appendix(handout) is True
    assert rules.rewrite_appendix(handout) is False  # up to date: nothing written
    assert rules.main(["--check", str(handout)]) == 0
    assert rules.main([str(handout)]) == 0
    assert rules.render_markdown() in handout.read_text(encoding="utf-8")
    handout.write_text("no markers\n", encoding="utf-8")
    assert rules.main([str(handout)]) == 2
    assert "markers" in capsys.readouterr().err
