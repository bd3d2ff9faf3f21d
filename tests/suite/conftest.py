"""Shared fixtures for the tests of the lab suite: the implementations and the test list."""

from __future__ import annotations

import pytest

from grader.bench import lab_tests
from grader.impl import load_impl, resolve_impl
from grader.suite_index import all_tests

LAB_TESTS = lab_tests()            # MIT's 28
ALL_TESTS = list(all_tests().items())  # and the scripted scenarios


@pytest.fixture(scope="session")
def reference() -> type:
    return load_impl(resolve_impl("reference"))


@pytest.fixture(scope="session")
def skeleton() -> type:
    return load_impl(resolve_impl("student"))
