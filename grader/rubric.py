"""Rubrics: how many points each test is worth, and the policy for several seeds.

    rubric = load_rubric(None)            # the default, grader/rubric.toml
    rubric = load_rubric("course.toml")   # an instructor's
    rubric.seeds()                        # [1, 2, 3]
    rubric.check_suite(names)             # every part with points has tests, ...
    rubric.graded(names)                  # the tests worth points: the ones to run
    grade = rubric.grade(results)         # points per test, per part, total

A rubric is a TOML file; ``rubric.toml`` next to this module documents every
key. Errors in a rubric file are RubricError with the key and the fix.

Bonus parts (``bonus = true``; the default rubric's 2E) are added on top: a
grade's ``total`` counts every point earned, bonus included, and its ``max``
only the parts that are not bonus, so a total can exceed the maximum; ``bonus``
and ``bonus_max`` give the bonus points earned and available. A test worth no
points (its part is not in the rubric, or has no points) is not run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .results import PARTS, Results, part_of

DEFAULT_RUBRIC = Path(__file__).with_name("rubric.toml")
POLICIES = ("all", "fraction")


class RubricError(ValueError):
    """A rubric file that cannot be used."""


@dataclass
class Rubric:
    part_points: dict[str, float]
    test_points: dict[str, float] = field(default_factory=dict)
    bonus_parts: set[str] = field(default_factory=set)  # on top of the maximum
    seed_count: int = 3
    seed_base: int = 1
    seed_list: list[int] | None = None
    policy: str = "all"
    wall_seconds: float | None = None  # None: scaled to the machine (grader.budget)
    memory_mb: int = 1024
    source: str = str(DEFAULT_RUBRIC)

    def seeds(self) -> list[int]:
        if self.seed_list:
            return list(self.seed_list)
        return [self.seed_base + i for i in range(self.seed_count)]

    def points_for(self, tests: list[str]) -> dict[str, float]:
        """Maximum points of each test of a run (tests of a part share its points)."""
        out: dict[str, float] = {}
        for part in PARTS:
            in_part = [t for t in tests if part_of(t) == part]
            fixed = {t: self.test_points[t] for t in in_part if t in self.test_points}
            rest = [t for t in in_part if t not in fixed]
            share = max(0.0, self.part_points.get(part, 0.0) - sum(fixed.values()))
            out.update(fixed)
            for t in rest:
                out[t] = share / len(rest)
        for t in tests:
            out.setdefault(t, self.test_points.get(t, 0.0))
        return out

    def is_bonus(self, test: str) -> bool:
        """Is ``test`` in a bonus part (its points on top of the maximum)?"""
        return part_of(test) in self.bonus_parts

    def graded(self, tests: list[str]) -> list[str]:
        """The tests this rubric gives points to, in order: the ones grading runs.
        A part left out of the rubric (or given no points) is not run at all."""
        points = self.points_for(tests)
        return [t for t in tests if points[t] > 0]

    def check_suite(self, suite: list[str]) -> None:
        """RubricError unless the rubric fits the suite (every test name): each part
        with points has tests, each [tests.NAME] is a test, and some test has points."""
        for part, points in self.part_points.items():
            if points > 0 and not any(part_of(t) == part for t in suite):
                raise RubricError(
                    f"{self.source}: [parts.{part}] gives {points:g} points but this "
                    f"installation has no {part} tests (no test name ends in "
                    f"_{part.lower()}); remove the table or set its points to 0")
        for name in self.test_points:
            if name not in suite:
                raise RubricError(f"{self.source}: [tests.{name}] names no test of the suite; "
                                  f"test names look like test_backup_2b")
        if not self.graded(suite):
            raise RubricError(f"{self.source}: the rubric gives no test any points; give "
                              f"points to a part, e.g. [parts.2A] points = 20")

    def grade(self, results: Results) -> dict[str, Any]:
        """Points per test and part. Harness errors and not-run jobs are left out.
        Bonus parts' points count in ``total`` and ``bonus``, not in ``max``."""
        groups = results.by_test()
        maxima = self.points_for(list(groups))
        tests: list[dict[str, Any]] = []
        parts: dict[str, dict[str, float]] = {p: {"score": 0.0, "max": 0.0} for p in PARTS}
        for name, recs in groups.items():
            counted = [r for r in recs if r.counts_against or r.passed]
            passes = sum(r.passed for r in counted)
            top = maxima[name]
            if not counted:
                score = 0.0
                status = "not graded"
            elif self.policy == "fraction":
                score = top * passes / len(counted)
                status = "passed" if passes == len(counted) else "failed"
            else:
                score = top if passes == len(counted) else 0.0
                status = "passed" if passes == len(counted) else "failed"
            ungraded = sum(not (r.counts_against or r.passed) for r in recs)
            tests.append({"name": name, "part": part_of(name), "score": round(score, 4),
                          "max_score": round(top, 4), "bonus": self.is_bonus(name),
                          "status": status, "runs": len(counted),
                          "passes": passes, "ungraded_runs": ungraded,
                          "failing_seeds": [r.seed for r in counted if not r.passed]})
            part = parts.setdefault(part_of(name), {"score": 0.0, "max": 0.0})
            part["score"] += score
            part["max"] += top
        total = sum(t["score"] for t in tests)
        maximum = sum(t["max_score"] for t in tests if not t["bonus"])
        bonus = sum(t["score"] for t in tests if t["bonus"])
        bonus_max = sum(t["max_score"] for t in tests if t["bonus"])
        return {"rubric": self.source, "policy": self.policy, "seeds": self.seeds(),
                "total": round(total, 2), "max": round(maximum, 2),
                "bonus": round(bonus, 2), "bonus_max": round(bonus_max, 2),
                "parts": {p: {"score": round(v["score"], 2), "max": round(v["max"], 2),
                              "bonus": p in self.bonus_parts}
                          for p, v in parts.items() if v["max"] > 0},
                "tests": tests}


def load_rubric(path: str | Path | None) -> Rubric:
    source = Path(path) if path else DEFAULT_RUBRIC
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"rubric file not found: {source}") from None
    except tomllib.TOMLDecodeError as e:
        raise RubricError(f"{source} is not valid TOML: {e}") from None
    def known(table: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
        """A misspelt key (``bouns``) must not silently change a grade."""
        for key in table:
            if key not in keys:
                raise RubricError(f"{source}: unknown key {where}{key!r}; the keys here are "
                                  f"{', '.join(keys)} (grader/rubric.toml documents each)")

    known(data, ("policy", "parts", "tests"), "")
    policy = data.get("policy", {})
    parts = data.get("parts", {})
    tests = data.get("tests", {})
    if isinstance(policy, dict):
        known(policy, ("seeds", "seed_base", "seed_list", "multiple_seeds", "wall_seconds",
                       "memory_mb"), "policy.")

    def number(table: dict[str, Any], key: str, where: str, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise RubricError(f"{source}: {where}.{key} must be a non-negative number, "
                              f"not {value!r}")
        return float(value)

    def table_of(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise RubricError(f"{source}: {where} must be a table, e.g. [{where}] "
                              f"points = 10, not {value!r}")
        return value

    part_points = {}
    bonus_parts = set()
    for part, value in parts.items():
        if part.upper() not in PARTS:
            raise RubricError(f"{source}: unknown part [parts.{part}]; parts are "
                              f"{', '.join(PARTS)}")
        table = table_of(value, f"parts.{part}")
        known(table, ("points", "bonus"), f"parts.{part}.")
        part_points[part.upper()] = number(table, "points", f"parts.{part}", 0)
        bonus = table.get("bonus", False)
        if not isinstance(bonus, bool):
            raise RubricError(f"{source}: parts.{part}.bonus must be true (points on top of "
                              f"the maximum) or false (points in the maximum), not {bonus!r}")
        if bonus:
            bonus_parts.add(part.upper())
    test_points = {}
    for name, value in tests.items():
        table = table_of(value, f"tests.{name}")
        if "bonus" in table:
            raise RubricError(f"{source}: tests.{name}.bonus: a test is a bonus when its part "
                              f"is; set bonus = true in its part's table "
                              f"([parts.{part_of(name)}])")
        known(table, ("points",), f"tests.{name}.")
        test_points[name] = number(table, "points", f"tests.{name}", 0)
    rule = policy.get("multiple_seeds", "all")
    if rule not in POLICIES:
        raise RubricError(f"{source}: policy.multiple_seeds must be one of "
                          f"{', '.join(POLICIES)}, not {rule!r}")
    seed_list = policy.get("seed_list")
    if seed_list is not None and (not isinstance(seed_list, list) or not seed_list
                                  or not all(type(s) is int for s in seed_list)):
        raise RubricError(f"{source}: policy.seed_list must be a non-empty list of integers")
    seeds = int(number(policy, "seeds", "policy", 3))
    if seeds < 1:
        raise RubricError(f"{source}: policy.seeds must be at least 1")
    return Rubric(part_points=part_points, test_points=test_points, bonus_parts=bonus_parts,
                  seed_count=seeds,
                  seed_base=int(number(policy, "seed_base", "policy", 1)),
                  seed_list=seed_list, policy=rule,
                  wall_seconds=None if policy.get("wall_seconds", "auto") == "auto"
                  else number(policy, "wall_seconds", "policy", 60),
                  memory_mb=int(number(policy, "memory_mb", "policy", 1024)),
                  source=str(source))
