"""The servers ``raftlab bench`` measures with: Raft-shaped, so they run in a host like one.

Kept apart from ``grader.bench`` so that a sandbox can import them by name: a
sandbox may import nothing of the tester or the grader's other modules.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass
class EchoArgs:
    """The echo workload's message."""

    seq: int
    payload: str


class EchoServer:
    """Replies with its argument."""

    BEAT = False

    def __init__(self, peers: Any, me: int, persister: Any, apply_ch: Any) -> None:
        self.served = 0
        if self.BEAT:
            asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(0.1)

    def echo(self, args: EchoArgs) -> EchoArgs:
        self.served += 1
        return args

    def get_state(self) -> tuple[int, bool]:
        return 0, False

    def start(self, command: Any) -> tuple[int, int, bool]:
        return -1, -1, False

    def snapshot(self, index: int, snapshot: bytes) -> None:
        pass

    def kill(self) -> None:
        pass


class BeatingServer(EchoServer):
    """An echo server with a heartbeat task every 100 ms (the idle figure)."""

    BEAT = True
