"""The student skeleton: same public shape as the reference, and when unfilled it
runs under every test and fails each one cleanly, naming the missing part."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import re

import pytest

from harness import SourceImpl, run_lab_test

from .conftest import ALL_TESTS

API = ("__init__", "get_state", "start", "snapshot", "kill")


@pytest.mark.parametrize("method", API)
def test_skeleton_has_the_reference_signature(method: str, skeleton: SourceImpl,
                                              reference: SourceImpl) -> None:
    mine = inspect.signature(getattr(skeleton.load(), method))
    theirs = inspect.signature(getattr(reference.load(), method))
    assert [(p.name, p.kind, str(p.annotation)) for p in mine.parameters.values()] == \
        [(p.name, p.kind, str(p.annotation)) for p in theirs.parameters.values()]
    assert str(mine.return_annotation) == str(theirs.return_annotation)


def test_skeleton_rpc_examples_exist_in_the_reference(skeleton: SourceImpl,
                                                       reference: SourceImpl) -> None:
    for impl in (skeleton, reference):
        raft = impl.load()
        module = impl.module
        for name in ("RequestVoteArgs", "RequestVoteReply"):
            assert dataclasses.is_dataclass(getattr(module, name))
        assert callable(raft.request_vote)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "test"), ALL_TESTS, ids=[n for n, _ in ALL_TESTS])
def test_unfilled_skeleton_fails_cleanly_naming_the_part(name: str, test: object,
                                                         skeleton: SourceImpl) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        result = run_lab_test(test, skeleton, 1)  # type: ignore[arg-type]
    assert result.kind == "error", (result.kind, result.message)
    assert result.message is not None
    part = re.search(r"NotImplementedError: (2[ABCD]):", result.message)
    assert part, result.message
    assert result.sim_time < 5.0  # it fails at once; it does not run into a limit
