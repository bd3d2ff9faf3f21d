"""Shared fixtures for the tests of the lab suite: the implementations and the test list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grader.bench import lab_tests
from grader.impl import load_impl, read_source, resolve_impl
from grader.suite_index import all_tests
from harness import SourceImpl
from harness._trusted.sandboxes import Sandboxed, Sandboxes, SandboxLimits

LAB_TESTS = lab_tests()            # MIT's 28
ALL_TESTS = list(all_tests().items())  # and the scripted scenarios


@pytest.fixture(scope="session")
def reference() -> SourceImpl:
    """The reference, to run in-process (its module runs afresh per server life)."""
    return load_impl(resolve_impl("reference"))


@pytest.fixture(scope="session")
def skeleton() -> SourceImpl:
    return load_impl(resolve_impl("student"))


@pytest.fixture(scope="session")
def sandboxes() -> Iterator[Sandboxes]:
    """A sandbox template for this test session (graded mode)."""
    sandboxes = Sandboxes()
    yield sandboxes
    sandboxes.close()


def sandboxed(sandboxes: Sandboxes, spec: str) -> Sandboxed:
    """``spec`` (reference, student, a path) as graded runs run it."""
    path = resolve_impl(spec)
    return Sandboxed(sandboxes, str(path), read_source(path), SandboxLimits())
