"""The reference solution passes every lab test, MIT's and the scenarios, with the
safety monitors on (CI runs two seeds; the notes report sweeps over many more)."""

from __future__ import annotations

import contextlib
import io

import pytest

from harness import SourceImpl, run_lab_test

from .conftest import ALL_TESTS, LAB_TESTS

SEEDS = (1, 2)


def test_there_are_28_lab_tests_in_mit_order() -> None:
    names = [name for name, _ in LAB_TESTS]
    assert len(names) == 28
    assert names[0] == "test_initial_election_2a"
    assert names[-1] == "test_snapshot_init_2d"
    assert [n[-2:] for n in names] == ["2a"] * 3 + ["2b"] * 10 + ["2c"] * 8 + ["2d"] * 7


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "test"), ALL_TESTS, ids=[n for n, _ in ALL_TESTS])
def test_reference_passes(name: str, test: object, seed: int, reference: SourceImpl) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        result = run_lab_test(test, reference, seed)  # type: ignore[arg-type]
    assert result.passed, f"{result.kind}: {result.message}\n{result.details}"
    assert result.stats is not None and result.stats.peers in (3, 5, 7)
