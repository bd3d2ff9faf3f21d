"""The lab tests by name, in MIT's order, and how a command line selects them.

    all_tests()                  {"test_initial_election_2a": fn, ...} (ordered)
    select(["2A", "backup"])     names: a part, an exact name (with or without
                                 ``test_`` and its part), or a substring
    group_of(name)               "mit" for MIT's 28 tests, "scenario" for our
                                 scripted scenarios, "optional" for the tests
                                 of the optional part 2E

Suite modules are ``grader/suite/test_2a.py`` ... ``test_2d.py`` (MIT's tests),
``test_scenarios.py`` when present (scripted scenarios) and ``test_2e.py`` when
present (the optional part 2E, one-way network failures; ``results.OPTIONAL_PARTS``).
A lab test is an ``async def test_...(make_config)`` at module level; its part
is the suffix of its name (``_2b``). Selecting nothing selects every test, the
optional part's too: the reports show that part apart, as optional.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from .results import PARTS, part_of

MIT_MODULES = ("grader.suite.test_2a", "grader.suite.test_2b", "grader.suite.test_2c",
               "grader.suite.test_2d")
SCENARIO_MODULE = "grader.suite.test_scenarios"
OPTIONAL_MODULES = ("grader.suite.test_2e",)

LabFunction = Callable[..., Coroutine[Any, Any, None]]


class SelectionError(ValueError):
    """A command-line selection that matches no test."""


def _tests_of(module_name: str) -> list[tuple[str, LabFunction]]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            return []
        raise
    return [(name, fn) for name, fn in vars(module).items()
            if name.startswith("test_") and inspect.iscoroutinefunction(fn)]


@functools.cache
def _index() -> tuple[dict[str, LabFunction], dict[str, str]]:
    tests: dict[str, LabFunction] = {}
    groups: dict[str, str] = {}
    for module in MIT_MODULES:
        for name, fn in _tests_of(module):
            tests[name] = fn
            groups[name] = "mit"
    for name, fn in _tests_of(SCENARIO_MODULE):
        tests[name] = fn
        groups[name] = "scenario"
    for module in OPTIONAL_MODULES:
        for name, fn in _tests_of(module):
            tests[name] = fn
            groups[name] = "optional"
    return tests, groups


def all_tests() -> dict[str, LabFunction]:
    return dict(_index()[0])


def mit_tests() -> dict[str, LabFunction]:
    tests, groups = _index()
    return {n: f for n, f in tests.items() if groups[n] == "mit"}


def group_of(name: str) -> str:
    return _index()[1].get(name, "?")


def _core(name: str) -> str:
    """A test's name without ``test_`` and its part: ``reliable_churn``."""
    core = name.removeprefix("test_")
    head, _, tail = core.rpartition("_")
    return head if tail.upper() in PARTS else core


def select(tokens: Iterable[str], *, include_scenarios: bool = True) -> list[str]:
    """Test names for a selection, in suite order. No tokens: every test (the
    optional part 2E's too)."""
    tests, groups = _index()
    names = [n for n in tests if include_scenarios or groups[n] == "mit"]
    tokens = [t for t in tokens if t]
    if not tokens:
        return names
    chosen: set[str] = set()
    for token in tokens:
        t = token.lower()
        if t.upper() in PARTS:
            hits = [n for n in names if part_of(n) == t.upper()]
        elif t in ("mit", "scenario", "scenarios"):
            hits = [n for n in names if groups[n] == t.rstrip("s")]
        elif t in names or f"test_{t}" in names:
            hits = [t if t in names else f"test_{t}"]
        elif any(_core(n) == t for n in names):  # reliable_churn: not unreliable_churn
            hits = [n for n in names if _core(n) == t]
        else:
            hits = [n for n in names if t in n]
        if not hits:
            raise SelectionError(
                f"{token!r} matches no test. Select a part ({', '.join(PARTS)}), 'mit', "
                "'scenarios', a test name such as test_backup_2b, or part of one.")
        chosen.update(hits)
    return [n for n in names if n in chosen]
