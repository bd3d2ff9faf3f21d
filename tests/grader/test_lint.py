"""raftlab lint: static determinism and API checks, each finding with its line."""

from __future__ import annotations

import pytest

from grader.impl import resolve_impl
from grader.lint import lint_file, lint_source

BAD = '''
import threading
import time as clock
from time import sleep
import random, asyncio, os

class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        self.r = random.Random()
        os.urandom(4)
    def get_state(self):
        return clock.time(), False
    async def start(self, command):
        sleep(1)
    def snapshot(self, index, data):
        for s in {"a", "b"}:
            print(s, id(self))
    async def ticker(self):
        while True:
            try:
                await asyncio.sleep(0)
            except BaseException:
                pass
        done, _ = await asyncio.wait([])
'''


def test_every_rule_is_found_with_its_line() -> None:
    found = {(f.line, f.level, f.message.split(":")[0]) for f in lint_source(BAD)}
    expected = {
        (2, "error", "import threading"), (9, "error", "random.Random() without a seed ignores "
                                                      "the run's seed; use the module-level "
                                                      "random functions"),
        (10, "error", "os.urandom()"), (12, "error", "time.time()"),
        (13, "error", "start() must be a plain method (def, not async def)"),
        (14, "error", "time.sleep()"), (16, "warning", "iterating over a set"),
        (17, "warning", "print()"), (17, "warning", "id()"),
        (21, "warning", "asyncio.sleep(0) in a loop lets no virtual time pass"),
        (22, "warning", "except catching BaseException"), (24, "warning", "asyncio.wait()"),
    }
    assert expected <= found, expected - found
    assert any(f.message.startswith("class Raft has no kill()") for f in lint_source(BAD))


def test_missing_class_and_syntax_errors() -> None:
    assert lint_source("x = 1")[0].message.startswith("no class Raft")
    assert lint_source("def (")[0].message.startswith("syntax error")


@pytest.mark.parametrize("impl", ["student", "reference"])
def test_the_skeleton_and_the_reference_lint_clean(impl: str) -> None:
    assert lint_file(resolve_impl(impl)) == []
