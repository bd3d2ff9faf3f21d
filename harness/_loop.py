"""A virtual-time asyncio event loop: the simulator's clock and scheduler.

    loop = SimLoop(limits)            # virtual clock at 0.0
    loop.run_until_complete(main())   # ordinary asyncio code runs on it
    loop.time()                       # virtual seconds since the start

Both sides of a run use it. The trusted side runs the tester on one (with the
network's events and each server's next wake-up as timers); each server life
runs its own, in its sandbox, stepped by the trusted side with
``run_until_idle(now)``: the clock is set to ``now`` and every callback due by
then runs, including those they schedule, until nothing more is due.

When nothing is runnable the clock jumps straight to the next timer, so a
``sleep(120)`` costs nothing. Everything asyncio offers (``sleep``,
``wait_for``, ``timeout``, ``Queue``, ``Event``, ``Lock``, ``TaskGroup``)
works unchanged, because only the clock and the one loop iteration
(``_run_once``) are replaced. CPython tests asyncio itself the same way.

Determinism:
  * timers due at the same instant run in the order they were scheduled
    (the heap is keyed by ``(when, sequence)``, never by handle identity);
  * the clock is set to exactly the due time of the head timer (no float
    accumulation);
  * tasks hash by creation order, so ``asyncio.wait``'s result sets iterate
    in the same order on every run;
  * no selector, no threads: nothing outside the simulation can wake it.
    ``run_in_executor`` raises with a message that names the fix.

Guards (each raises a StudentError subclass whose message names the fix):
  * deadlock   - nothing runnable and no timer pending;
  * livelock   - ``limits.same_instant_callbacks`` callbacks ran without the
                 clock moving (``while x: await asyncio.sleep(0)``);
  * wall clock - the run used more than ``limits.wall_seconds`` of real time;
  * virtual time past ``limits.virtual_seconds`` raises VirtualTimeLimit,
    which the caller words (MIT: "test took longer than 120 seconds").
A callback that spins without returning is caught by ``_sandbox.guards``'s
watchdog, which watches ``PROGRESS`` (every loop's iterations) move.

Failures: an exception escaping any task or callback is not logged and
forgotten, as asyncio's default handler does: the loop records it (``fail``)
and raises it out of ``run_until_complete`` / ``run_until_idle`` at once. On
a server's loop (``student`` set) every failure is the student's, whatever its
type; on the tester's, only Fatal and StudentError are on purpose, and
anything else is raftlab's own bug (HarnessError).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import ctypes
import heapq
import os
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from ._errors import (
    OUT_OF_MEMORY,
    BlockingCallError,
    DeadlockError,
    Fatal,
    HarnessError,
    LivelockError,
    SpinError,
    SpinInterrupt,
    StudentError,
    WallClockLimitError,
    limit_hint,
    student_traceback,
)

T = TypeVar("T")

_perf_counter: Final = time.perf_counter  # captured before any guard patches time
_ASYNCIO_DIR: Final = os.path.dirname(asyncio.__file__) + os.sep
_HARNESS_DIR: Final = os.path.dirname(__file__) + os.sep
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop

# Compact the timer heap when at least this many cancelled timers sit in it
# and they make up half of it.
_COMPACT_MIN: Final = 512

PROGRESS: Final = [0]
"""Loop iterations of every loop in this process; the spin watchdog watches it move."""


class _Teardown:
    """Stands for "closing a task's coroutine" while the loop tears down (diagnostics)."""

    _callback = None
    _context = None


_TEARDOWN: Any = _Teardown()


class _Halt(BaseException):
    """Stands in ``_fatal`` for "halt after this callback" (``SimLoop.halt``): the
    hot loop already checks that field after every callback."""


_HALT: Final = _Halt()


class VirtualTimeLimit(Exception):
    """The run's virtual clock passed its limit."""


@dataclass(frozen=True)
class Limits:
    """Per-run limits. The defaults suit a lab test.

    Attributes:
        virtual_seconds: stop the run when the virtual clock passes this.
        wall_seconds: stop the run after this much real time (None: no cap).
        same_instant_callbacks: callbacks allowed without the clock moving.
    """

    virtual_seconds: float = 120.0
    wall_seconds: float | None = 120.0
    same_instant_callbacks: int = 200_000


class SimTask(asyncio.Task[Any]):
    """An asyncio Task that hashes by creation order."""

    __slots__ = ("_rl_seq",)

    def __init__(self, coro: Coroutine[Any, Any, Any], *, loop: SimLoop,
                 name: str | None, context: contextvars.Context | None, seq: int) -> None:
        # Set before Task.__init__, which already hashes the task.
        self._rl_seq = seq
        super().__init__(coro, loop=loop, name=name, context=context)

    def __hash__(self) -> int:
        return self._rl_seq


class _Event:
    """A harness-internal timer: cheaper than a TimerHandle.

    It has the attributes ``_run_once`` reads from handles. Harness code does
    not raise; if it does, that is a HarnessError (on the tester's loop).
    """

    __slots__ = ("_args", "_callback", "_cancelled", "_context", "_loop", "_scheduled")

    def __init__(self, loop: SimLoop, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._loop = loop
        self._callback = fn
        self._args = args
        self._cancelled = False
        self._scheduled = True
        self._context = None

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            if self._scheduled:
                self._loop._timer_cancelled_count += 1

    def _run(self) -> None:
        try:
            self._callback(*self._args)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self._loop.fail(exc, what=f"harness callback {self._callback.__qualname__}")


class SimLoop(asyncio.BaseEventLoop):
    """The virtual-time loop. See the module docstring.

    ``label`` names whose code runs on it ("server 2 (incarnation 1)" for a
    server's loop, "tester" for the trusted side's); ``student`` says whether
    every failure on it is the student's.
    """

    # BaseEventLoop's private state that this loop drives (CPython 3.11-3.13).
    _ready: collections.deque[Any]
    _scheduled: list[Any]
    _stopping: bool
    _timer_cancelled_count: int
    _thread_id: int | None
    _check_closed: Callable[[], None]

    def __init__(self, limits: Limits | None = None, *, label: str = "tester",
                 student: bool = False) -> None:
        super().__init__()
        self.limits = limits or Limits()
        self.label = label
        self.student = student
        self._time_limit = self.limits.virtual_seconds
        self._instant_limit = self.limits.same_instant_callbacks
        self._now = 0.0
        self._timer_seq = 0
        self._task_seq = 0
        self._clock_resolution = 1e-9
        # The run's first failure, raised out of _run_once after the callback
        # that caused it. Later failures are consequences and are dropped.
        self._fatal: BaseException | None = None
        self._halted = False
        self._main: asyncio.Future[Any] | None = None
        self._instant_callbacks = 0
        self._iterations = 0
        self._wall_start = _perf_counter()
        self._current: asyncio.Handle | None = None
        self._tearing_down = False
        self._live: dict[asyncio.Task[Any], None] = {}  # strong references until done
        # Told about every failure recorded (the trace).
        self.on_failure: Callable[[BaseException], None] | None = None
        self.set_exception_handler(_exception_handler)

    # ---------------------------------------------------------------- clock

    def time(self) -> float:
        return self._now

    @property
    def iterations(self) -> int:
        return self._iterations

    @property
    def current_handle(self) -> asyncio.Handle | None:
        """The callback running right now (for diagnostics)."""
        return self._current

    # ----------------------------------------------------------- scheduling

    def call_at(self, when: float, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        timer = asyncio.TimerHandle(when, callback, args, self, context)
        seq = self._timer_seq
        self._timer_seq = seq + 1
        _heappush(self._scheduled, (when, seq, timer))
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def call_internal(self, delay: float, callback: Callable[..., object], *args: Any) -> _Event:
        """Schedule a harness callback ``delay`` s from now."""
        return self.schedule(self._now + delay, callback, *args)

    def schedule(self, when: float, callback: Callable[..., object], *args: Any) -> _Event:
        """Schedule a harness callback at time ``when`` (the network's hot path:
        no TimerHandle, no context switch)."""
        event = _Event(self, callback, args)
        seq = self._timer_seq
        self._timer_seq = seq + 1
        _heappush(self._scheduled, (when, seq, event))
        return event

    def create_task(self, coro: Coroutine[Any, Any, T] | Generator[Any, None, T], *,
                    name: object = None,
                    context: contextvars.Context | None = None) -> asyncio.Task[T]:
        self._check_closed()
        seq = self._task_seq
        self._task_seq = seq + 1
        task = SimTask(coro, loop=self, name=None if name is None else str(name),  # type: ignore[arg-type]
                       context=context, seq=seq)
        self._live[task] = None  # fire-and-forget tasks are safe: the loop holds them
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._live.pop(task, None)
        if task.cancelled() or task is self._main:
            return
        exc = task.exception()
        if exc is not None:
            self.fail(exc, what=f"task {_task_label(task)}")

    # ------------------------------------------------------------- failures

    def fail(self, exc: BaseException, *, what: str = "") -> None:
        """Record a failure of the run; the loop raises it after this callback."""
        if self._tearing_down:
            return
        err = classify(exc, self.label if self.student else None, what)
        if self._fatal is None or self._fatal is _HALT:
            self._fatal = err
            if self.on_failure is not None:
                self.on_failure(err)

    @property
    def failure(self) -> BaseException | None:
        return None if self._fatal is _HALT else self._fatal

    def halt(self) -> None:
        """End ``run_until_idle`` after the running callback: what is still ready
        stays ready (``next_wake`` is then now). A failure wins over a halt."""
        if self._fatal is None:
            self._fatal = _HALT

    # ------------------------------------------------------ the loop itself

    def _run_once(self) -> None:
        ready = self._ready
        heap: list[tuple[float, int, Any]] = self._scheduled

        if not ready and not self._stopping:
            # Nothing runnable: jump the clock to the next live timer.
            while heap and heap[0][2]._cancelled:
                _heappop(heap)[2]._scheduled = False
                self._timer_cancelled_count -= 1
            if not heap:
                raise self._deadlock()
            when = heap[0][0]
            if when > self._now:
                if when > self._time_limit:
                    self._now = self._time_limit
                    raise VirtualTimeLimit(f"virtual time passed {self._time_limit:g} s")
                self._now = when
                self._instant_callbacks = 0
        self._run_due()

    def set_time(self, now: float) -> None:
        """Move the clock to ``now`` (never backwards) without running anything."""
        if now > self._now:
            self._now = now
            self._instant_callbacks = 0

    def next_wake(self) -> float | None:
        """When this loop next has something to run: now if a callback is ready,
        else its earliest timer, else None."""
        if self._ready:
            return self._now
        heap = self._scheduled
        while heap and heap[0][2]._cancelled:
            _heappop(heap)[2]._scheduled = False
            self._timer_cancelled_count -= 1
        return heap[0][0] if heap else None

    def run_until_idle(self, now: float) -> float | None:
        """Set the clock to ``now`` (never backwards) and run every callback due by
        then, and those they schedule, until nothing more is due. Returns the time
        of the next timer, or None. A failure is raised out of here."""
        if now > self._now:
            self._now = now
            self._instant_callbacks = 0
        heap: list[tuple[float, int, Any]] = self._scheduled
        ready = self._ready
        self._halted = False
        while ready or (heap and heap[0][0] <= self._now):
            self._run_due()
            if self._halted:
                break
            heap = self._scheduled  # compaction may have replaced it
        return self.next_wake()

    def _run_due(self) -> None:
        """One iteration: move due timers to the ready queue, then run the callbacks
        that were ready at its start."""
        ready = self._ready
        heap: list[tuple[float, int, Any]] = self._scheduled
        if (self._timer_cancelled_count > _COMPACT_MIN
                and 2 * self._timer_cancelled_count > len(heap)):
            heap = self._compact_heap()
        now = self._now
        while heap and heap[0][0] <= now:
            handle = _heappop(heap)[2]
            handle._scheduled = False
            if handle._cancelled:
                self._timer_cancelled_count -= 1
            else:
                ready.append(handle)

        ntodo = len(ready)
        iterations = self._iterations = self._iterations + 1
        PROGRESS[0] += 1
        instant = self._instant_callbacks = self._instant_callbacks + ntodo
        if instant > self._instant_limit:
            raise self._livelock()
        if not iterations & 0x3FF:
            self._check_wall_clock()

        popleft = ready.popleft
        for _ in range(ntodo):
            handle = popleft()
            if handle._cancelled:
                continue
            self._current = handle
            handle._run()
            if self._fatal is not None:
                self._current = None
                if self._fatal is _HALT:  # halt(): stop here, the rest stays ready
                    self._fatal = None
                    self._halted = True
                    return
                raise self._fatal
        self._current = None

    def _compact_heap(self) -> list[tuple[float, int, asyncio.TimerHandle]]:
        live = []
        for entry in self._scheduled:
            if entry[2]._cancelled:
                entry[2]._scheduled = False
            else:
                live.append(entry)
        heapq.heapify(live)
        self._scheduled = live
        self._timer_cancelled_count = 0
        return live

    # --------------------------------------------------------------- guards

    def _check_wall_clock(self) -> None:
        cap = self.limits.wall_seconds
        if cap is not None and _perf_counter() - self._wall_start > cap:
            raise WallClockLimitError(
                f"the run used more than {cap:g} s of real time (limit: wall clock) and "
                f"reached only {self._now:.3f} s of virtual time. Your code does too much work per "
                "event: look for loops that poll with very short sleeps, RPCs sent in a "
                "tight loop, or work that grows with the log on every message.")

    def _deadlock(self) -> DeadlockError:
        waiting = [t for t in _tasks_in_order(self) if not t.done()]
        lines = [f"  - {_task_label(t)} waiting at {_where_waiting(t)}" for t in waiting[:12]]
        if len(waiting) > 12:
            lines.append(f"  ... and {len(waiting) - 12} more")
        return DeadlockError(
            f"deadlock at virtual time {self._now:.3f} s: no callback can run and no timer "
            "is pending, so every task waits forever. Something awaits an Event, Future, "
            "Queue or Lock that nothing will ever set or release. Waiting tasks:\n"
            + "\n".join(lines))

    def _livelock(self) -> LivelockError:
        busiest: dict[str, int] = {}
        for handle in list(self._ready)[:2000]:
            label = _handle_label(handle)
            busiest[label] = busiest.get(label, 0) + 1
        top = sorted(busiest.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        names = "; ".join(label for label, _ in top) or "unknown"
        return LivelockError(
            f"virtual time is stuck at {self._now:.3f} s: "
            f"{self.limits.same_instant_callbacks:,} callbacks ran without the clock moving. "
            f"Busy: {names}. A loop such as `while not done: await asyncio.sleep(0)` never "
            "lets time pass, so nothing else can happen. Sleep for a real interval "
            "(`await asyncio.sleep(0.01)`) or wait on an asyncio.Event / Condition instead.",
            where=self.label if self.student else "")

    # ------------------------------------------------------- refused features

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> Any:  # type: ignore[override]
        raise BlockingCallError(
            "run_in_executor / asyncio.to_thread would run code on another thread, which the "
            "simulation cannot control or replay. Do the work directly in the coroutine; "
            "it is all in memory and fast.")

    def set_default_executor(self, executor: Any) -> None:
        raise BlockingCallError("executors are not available in the simulation")

    def _write_to_self(self) -> None:
        pass  # no self-pipe: nothing outside the simulation can wake the loop

    def _process_events(self, event_list: Any) -> None:
        pass

    # -------------------------------------------------------------- teardown

    def shutdown(self, max_iterations: int = 1_000) -> None:
        """Cancel every task, let them unwind briefly, and close the loop.

        Failures during teardown are ignored: the run's verdict is already in.
        A task that keeps running after its cancellation (it swallows
        CancelledError) gets at most ``max_iterations`` loop iterations; then
        its coroutine is closed directly.
        """
        self._tearing_down = True
        pending = [t for t in _tasks_in_order(self) if not t.done()]
        for task in pending:
            task.cancel()
        previous = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(self)  # tasks may call asyncio while unwinding
        try:
            with contextlib.suppress(BaseException):  # a limit, or a task that will not die
                for _ in range(max_iterations):
                    if not self._ready and all(t.done() for t in pending):
                        break
                    if not self._ready and not self._scheduled:
                        break
                    self._fatal = None
                    self._run_once()
            # Close what still runs, with the loop still "running": the next
            # await of a coroutine that swallowed GeneratorExit then ends it
            # ("coroutine ignored GeneratorExit") instead of spinning on
            # "no running event loop". The spin watchdog still watches.
            for task in _tasks_in_order(self):
                if not task.done():
                    self._current = _TEARDOWN
                    coro: Any = task.get_coro()
                    with contextlib.suppress(BaseException):
                        coro.close()
                    self._current = None
                    if getattr(coro, "cr_frame", None) is not None:
                        _bury(coro)  # it ignored GeneratorExit: it cannot be closed
        finally:
            asyncio.events._set_running_loop(previous)
        self._fatal = None
        self._ready.clear()
        self.close()


# --------------------------------------------------------------------- helpers

def _bury(coro: Any) -> None:
    """Keep a coroutine that refuses to close from ever being finalized.

    Python finalizes a suspended coroutine by closing it, running its code.
    One that swallows GeneratorExit would then run with no loop (and spin),
    inside another run's loop (and break that run's determinism), or at
    interpreter exit (and keep the process from exiting). So it gets one
    reference that is never released: it is never freed, and never runs again.
    """
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(coro))


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Exceptions in callbacks fail the run instead of being logged and lost."""
    assert isinstance(loop, SimLoop)
    exc = context.get("exception")
    if exc is None:
        return  # asyncio's warnings ("Task was destroyed ..."): not failures
    handle = context.get("handle")
    loop.fail(exc, what=f"callback {_handle_label(handle)}" if handle else "")


def classify(exc: BaseException, where: str | None, what: str = "") -> BaseException:
    """Turn an exception that ended a run into Fatal / StudentError / HarnessError.

    ``where`` is the server life whose code raised it (every exception is then
    the student's, whatever its type), or None for the tester's own code.
    """
    if where is None:
        if isinstance(exc, (Fatal, HarnessError, VirtualTimeLimit, StudentError)):
            return exc
        if isinstance(exc, SpinInterrupt):  # the tester's own code spun: raftlab's bug
            err = HarnessError(f"internal error in raftlab: {exc}")
            err.__cause__ = exc
            return err
        if isinstance(exc, Exception):
            err = HarnessError(f"internal error in raftlab: {type(exc).__name__}: {exc}")
            err.__cause__ = exc
            return err
        return exc  # KeyboardInterrupt, SystemExit: let them through
    if isinstance(exc, StudentError) and _raised_by_harness(exc):
        if not exc.where:
            exc.where = where
        return exc
    if isinstance(exc, SpinInterrupt):
        return SpinError(str(exc), where=where)
    if isinstance(exc, MemoryError):
        return StudentError(f"{what or 'the code'} ran out of memory: {OUT_OF_MEMORY}",
                            where=where)
    return StudentError(
        f"{type(exc).__name__}: {exc}{limit_hint(exc)} (raised in {what or 'its code'}; an "
        "exception escaping an RPC handler or any task a Raft created fails the run)",
        where=where, details=student_traceback(exc))


def _raised_by_harness(exc: BaseException) -> bool:
    """Was it raised by the harness (a guard, a check of the student API), not by the
    code under test? The one place it passes through is the frame that raised it."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last is not None and last.tb_frame.f_code.co_filename.startswith(_HARNESS_DIR)


def _tasks_in_order(loop: SimLoop) -> list[asyncio.Task[Any]]:
    tasks = [t for t in asyncio.all_tasks(loop)]
    tasks.sort(key=lambda t: getattr(t, "_rl_seq", 0))
    return tasks


def _task_label(task: asyncio.Task[Any]) -> str:
    loop = task.get_loop()
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or type(coro).__name__
    who = loop.label if isinstance(loop, SimLoop) else "tester"
    return f"{who} task {name}"


def _handle_label(handle: asyncio.Handle | None) -> str:
    if handle is None:
        return "?"
    cb = getattr(handle, "_callback", None)
    task = getattr(cb, "__self__", None)
    if isinstance(task, asyncio.Task):
        return _task_label(task)
    loop = getattr(handle, "_loop", None)
    who = loop.label if isinstance(loop, SimLoop) else "harness"
    return f"{who} callback {getattr(cb, '__qualname__', repr(cb))}"


def _where_waiting(task: asyncio.Task[Any]) -> str:
    """file:line of the innermost frame a task is suspended in, outside asyncio
    and the harness (the line the student can act on)."""
    coro: Any = task.get_coro()
    frame = None
    hidden = (_ASYNCIO_DIR, _HARNESS_DIR)
    while coro is not None:
        f = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if f is None:
            break
        if frame is None or not f.f_code.co_filename.startswith(hidden):
            frame = f
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if frame is None:
        return "?"
    code = frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} in {code.co_name}"
