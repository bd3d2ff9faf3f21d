"""Graded mode and in-process mode run the same run.

Graded runs put every server life in a sandbox process of its own; students'
own runs keep them in one process. For the same seed and code the trace is
the same, event for event, so a graded failure replays in either mode, and
the reference passes in both. (Determinism across processes and hash seeds in
graded mode: tests/grader/test_cli.py, ``replay --sandbox --check-determinism``.)
"""

from __future__ import annotations

import contextlib
import io

import pytest

from harness import SourceImpl, run_lab_test
from harness._trusted.sandboxes import Sandboxes
from harness._trusted.trace import _canonical

from .conftest import ALL_TESTS, sandboxed


@pytest.mark.parametrize(("name", "test"), ALL_TESTS, ids=[n for n, _ in ALL_TESTS])
def test_a_sandboxed_run_is_the_in_process_run(name: str, test: object, reference: SourceImpl,
                                               sandboxes: Sandboxes) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        local = run_lab_test(test, reference, 1)  # type: ignore[arg-type]
        graded = run_lab_test(test, sandboxed(sandboxes, "reference"), 1)  # type: ignore[arg-type]
    assert graded.passed, f"{graded.kind}: {graded.message}\n{graded.details}"
    if local.digest() != graded.digest():
        a, b = local.trace.events, graded.trace.events
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                     min(len(a), len(b)))
        pytest.fail(f"the runs differ from event {first} of {len(a)} / {len(b)}: in-process "
                    f"{_canonical(a[first]) if first < len(a) else '(end)'} / sandboxed "
                    f"{_canonical(b[first]) if first < len(b) else '(end)'}")
