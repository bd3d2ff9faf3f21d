# base: nothing
"""Raise raftlab's own exception types, hoping a failure becomes a "harness error"
that costs nothing: from get_state, from start, from a task and from a handler."""
import asyncio as _asyncio

import harness as _harness
from harness import _errors as _raftlab_errors
from harness import _protocol as _raftlab_protocol

_KINDS = [_raftlab_errors.HarnessError, _raftlab_errors.Fatal, _raftlab_errors.StudentError,
          _raftlab_protocol.ProtocolError, SystemError, KeyError]


def _error(n):
    kind = _KINDS[n % len(_KINDS)]
    return kind("internal error in raftlab: please regrade (not your fault)")


class Raft(Raft):
    def __init__(self, peers, me, persister, apply_ch):
        super().__init__(peers, me, persister, apply_ch)
        self.calls = 0
        _asyncio.create_task(self._later())

    async def _later(self):
        await _asyncio.sleep(0.2 + self.me / 10)
        raise _error(self.me)

    def get_state(self):
        self.calls += 1
        raise _error(self.calls + self.me)

    def start(self, command):
        raise _harness.HarnessError("internal error in raftlab")

    def request_vote(self, args):
        raise _raftlab_errors.HarnessError("internal error in raftlab")
