"""Who owns a piece of running code: server incarnations and the current context.

Every server life (from ``start1`` to ``crash1``) is an ``Incarnation``. Code
runs "as" an incarnation when it runs inside that incarnation's
``contextvars.Context``: the constructor, the methods the tester calls, RPC
handlers, and - because asyncio copies the current context into every new task
and callback - everything those start. So ownership needs no cooperation from
student code:

    inc = Incarnation(server=2, number=1)
    raft = inc.run(Raft, peers, 2, persister, apply_ch)   # runs as server 2 #1
    owner_of_current_code()                               # -> inc, inside it
    inc.crash()     # cancel every task and timer the incarnation scheduled

The loop (``_loop``) registers tasks and timers with their owner as they are
created; ``crash`` cancels exactly those, and nothing of the tester's or of
other servers'. Code outside any incarnation (the tester, the network) has
owner ``None``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

T = TypeVar("T")

_owner: Final[contextvars.ContextVar[Incarnation | None]] = contextvars.ContextVar(
    "raftlab_owner", default=None
)

# Timers registered per incarnation are pruned of fired ones when the list
# grows past this many entries (amortised O(1) per timer).
_PRUNE_AT: Final = 256


def owner_of_current_code() -> Incarnation | None:
    """The incarnation whose code is running now, or None (tester, harness)."""
    return _owner.get()


def owner_of_context(ctx: contextvars.Context) -> Incarnation | None:
    """The incarnation a context belongs to, or None."""
    return ctx.get(_owner)


def harness_context() -> contextvars.Context:
    """A fresh context owned by nobody, for the harness's own callbacks."""
    ctx = contextvars.Context()
    ctx.run(_owner.set, None)
    return ctx


class Incarnation:
    """One life of one server.

    Attributes:
        server: the server's index (``me``).
        number: 1 for the first life, 2 after the first restart, ...
        alive: False once crashed; a dead incarnation never runs again.
        tasks: the live tasks it owns, in creation order.
    """

    __slots__ = ("_context", "_pruned_len", "_timers", "alive", "dirty", "dirty_list", "label",
                 "number", "server", "tasks")

    def __init__(self, server: int, number: int) -> None:
        self.server = server
        self.number = number
        self.alive = True
        self.label = f"server {server} (incarnation {number})"
        self.tasks: dict[asyncio.Task[Any], None] = {}
        self._timers: list[asyncio.TimerHandle] = []
        self._pruned_len = _PRUNE_AT
        self._context = contextvars.Context()
        self._context.run(_owner.set, self)
        # Set by a safety monitor: code of this life ran, so its state may have changed.
        self.dirty = False
        self.dirty_list: list[Incarnation] | None = None

    def __repr__(self) -> str:
        return f"<Incarnation S{self.server}#{self.number}{'' if self.alive else ' dead'}>"

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` synchronously as this incarnation."""
        if self.dirty_list is not None and not self.dirty:
            self.dirty = True
            self.dirty_list.append(self)
        return self._context.copy().run(fn, *args)

    def run_quietly(self, fn: Callable[..., T], *args: Any) -> T:
        """Like ``run``, for observers: does not mark the incarnation as changed."""
        return self._context.copy().run(fn, *args)

    def adopt_timer(self, timer: asyncio.TimerHandle) -> None:
        """Remember a timer this incarnation scheduled, so a crash can cancel it."""
        timers = self._timers
        timers.append(timer)
        if len(timers) > self._pruned_len:
            # Keep only timers still waiting in the heap (_scheduled is set
            # False by the loop when a timer leaves the heap).
            self._timers = [t for t in timers if t._scheduled]  # type: ignore[attr-defined]
            self._pruned_len = max(_PRUNE_AT, 2 * len(self._timers))

    def crash(self, ready: Iterable[asyncio.Handle]) -> list[asyncio.Task[Any]]:
        """Process death: cancel every task, timer and ready callback it owns.

        ``ready`` is the loop's queue of callbacks due now; those that run as
        this incarnation are cancelled too (e.g. a ``call_soon`` it made),
        except the steps of tasks: a cancelled task needs its next step to
        receive the CancelledError and end. Returns the cancelled tasks.
        """
        self.alive = False
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        for handle in ready:
            ctx = getattr(handle, "_context", None)
            if ctx is not None and ctx.get(_owner) is self and not isinstance(
                    getattr(getattr(handle, "_callback", None), "__self__", None), asyncio.Task):
                handle.cancel()
        doomed = list(self.tasks)
        for task in doomed:
            task.cancel()
        return doomed
