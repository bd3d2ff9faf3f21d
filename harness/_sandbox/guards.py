"""Guards that stop student code from blocking or escaping the simulation.

    with Guards():              # while a run is in progress (in a sandbox: always)
        ...                     # time.sleep, threads and wall clocks refuse;
                                # a CPU spin is interrupted

What each guard catches (each error's message names the fix):
  * ``time.sleep`` anywhere: it would freeze every server, the network and
    the tester at once. BlockingCallError.
  * ``threading.Thread.start``: threads run outside virtual time and cannot be
    replayed. BlockingCallError. (Executors are refused by the loop itself.)
  * ``time.time`` / ``monotonic`` / ``perf_counter`` (and ``_ns``) called
    from student code (a module registered with ``register_student_module``):
    the wall clock differs on every run. BlockingCallError. The harness keeps
    its own references to the real functions.
  * code that runs on the CPU for ``spin_seconds`` of CPU time while no loop
    makes progress (a callback that does not return, a method the tester
    called that does not return, module code that runs on): ``SpinWatchdog``
    raises SpinInterrupt into it from a SIGVTALRM handler (CPU time, so a
    loaded machine does not trigger it, and a process waiting for its next
    command does not either).
    If the code swallows the interrupt and keeps spinning, after
    ``max_interrupts`` tries it prints what was running and ends the process
    with ``EXIT_SPIN`` (the grader runs each test in its own process).

Student modules are also rebound at load time (``guard_module_globals``) so
``from time import sleep`` cannot dodge the patch.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, ModuleType, TracebackType
from typing import Any, Final

from .._errors import BlockingCallError, SpinInterrupt
from .._loop import PROGRESS, SimLoop, _handle_label

EXIT_SPIN: Final = 86
"""Process exit status after a spin that ignored every interrupt."""

_student_modules: set[str] = set()


class _State:
    active = False  # True while a run is in progress
    spin_exit: Callable[[str], None] | None = None  # told before a spin ends the process


_state = _State()


def set_spin_exit(fn: Callable[[str], None] | None) -> None:
    """Call ``fn(message)`` just before a spin that ignored every interrupt ends the
    process (a sandbox tells the trusted side why it is going)."""
    _state.spin_exit = fn

_real_sleep: Final = time.sleep
_real_thread_start: Final = threading.Thread.start
_CLOCKS: Final = ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns",
                  "perf_counter_ns")
_real_clocks: Final[dict[str, Callable[[], float | int]]] = {
    name: getattr(time, name) for name in _CLOCKS}


def register_student_module(name: str) -> None:
    """Mark a module name as student code (its wall-clock reads are refused)."""
    _student_modules.add(name)


def _guarded_sleep(seconds: float) -> None:
    if _state.active:
        raise BlockingCallError(
            f"time.sleep({seconds!r}) blocks the whole simulation: every server, the network "
            "and the tester stop, and virtual time cannot move. Use "
            "`await asyncio.sleep(seconds)` instead.")
    _real_sleep(seconds)


def _make_guarded_clock(name: str) -> Callable[[], float | int]:
    real = _real_clocks[name]

    def guarded() -> float | int:
        if _state.active and sys._getframe(1).f_globals.get("__name__") in _student_modules:
            raise BlockingCallError(
                f"time.{name}() reads the wall clock, which differs on every run, so the run "
                "could not be replayed from its seed. Use "
                "`asyncio.get_running_loop().time()` for the (virtual) time.")
        return real()

    guarded.__name__ = name
    return guarded


_guarded_clocks: Final = {name: _make_guarded_clock(name) for name in _CLOCKS}


def _guarded_thread_start(self: threading.Thread) -> None:
    if _state.active:
        raise BlockingCallError(
            "threads are not allowed in the simulation: they run outside virtual time and "
            "make every run different. Use asyncio tasks (`asyncio.create_task(...)`).")
    _real_thread_start(self)


def guard_module_globals(module: ModuleType) -> None:
    """Rebind names a student module imported from ``time`` to the guarded versions."""
    register_student_module(module.__name__)
    for name, value in list(vars(module).items()):
        if value is _real_sleep:
            setattr(module, name, _guarded_sleep)
        else:
            for clock, real in _real_clocks.items():
                if value is real:
                    setattr(module, name, _guarded_clocks[clock])


class SpinWatchdog:
    """Interrupts a callback that spins on the CPU. See the module docstring."""

    def __init__(self, *, spin_seconds: float = 1.0, interval: float = 0.1,
                 max_interrupts: int = 3) -> None:
        self._spin = spin_seconds
        self._interval = interval
        self._max = max_interrupts
        self._last = -1
        self._stuck = 0.0
        self._interrupts = 0
        self._old: Any = None
        self._armed = False

    def start(self) -> None:
        if not hasattr(signal, "setitimer") or threading.current_thread() is not \
                threading.main_thread():
            return  # signals work only in the main thread; the wall-clock cap remains
        self._old = signal.signal(signal.SIGVTALRM, self._on_tick)
        signal.setitimer(signal.ITIMER_VIRTUAL, self._interval, self._interval)
        self._armed = True

    def stop(self) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0, 0)
            signal.signal(signal.SIGVTALRM, self._old)
            self._armed = False

    def _on_tick(self, signum: int, frame: FrameType | None) -> None:
        iterations = PROGRESS[0]
        if iterations != self._last:
            self._last = iterations
            self._stuck = 0.0
            return
        self._stuck += self._interval
        if self._stuck < self._spin:
            return
        self._stuck = 0.0
        self._interrupts += 1
        at = ""
        if frame is not None:
            at = (f" It was at {frame.f_code.co_filename.rsplit('/', 1)[-1]}:"
                  f"{frame.f_lineno} in {frame.f_code.co_name}.")
        # Whatever runs: a callback of a loop, or code a server life's command
        # called directly (its constructor, get_state, a handler), or a module.
        loop = asyncio.events._get_running_loop()
        handle = loop.current_handle if isinstance(loop, SimLoop) else None
        if handle is not None:
            subject = _handle_label(handle)
        elif isinstance(loop, SimLoop) and loop.student:
            subject = f"{loop.label} code"
        else:
            subject = "the code"
        detail = (
            f"ran for more than {self._spin:g} s of CPU time without returning to the event "
            f"loop.{at} A busy loop such as `while not self.ok: pass` freezes the whole "
            "simulation (every server, the network and the tester). Await something inside "
            "the loop (`await asyncio.sleep(0.01)`, an asyncio.Event) instead.")
        message = f"{subject} {detail}"
        if self._interrupts > self._max:
            # The process ends whatever this last step meets (sys.stderr may be a
            # capture with no descriptor, or the student's own object).
            try:
                if _state.spin_exit is not None:
                    _state.spin_exit(f"{message} The code caught every interrupt (a bare "
                                     "`except:` or `except BaseException:`?), so its process "
                                     "was ended.")
                os.write(2, (f"\nraftlab: {message}\nraftlab: the code caught every interrupt "
                             "(a bare `except:` or `except BaseException:`?), so the test "
                             "process is ended.\n").encode(errors="replace"))
                faulthandler.dump_traceback(file=2, all_threads=False)
            finally:
                os._exit(EXIT_SPIN)
        raise SpinInterrupt(subject, detail)


class Guards:
    """Installs every guard for the duration of a run (a context manager)."""

    def __init__(self, *, spin_seconds: float = 1.0) -> None:
        self._watchdog = SpinWatchdog(spin_seconds=spin_seconds)

    def __enter__(self) -> Guards:
        _state.active = True
        time.sleep = _guarded_sleep  # type: ignore[assignment]
        for name, fn in _guarded_clocks.items():
            setattr(time, name, fn)
        threading.Thread.start = _guarded_thread_start  # type: ignore[method-assign]
        self._watchdog.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._watchdog.stop()
        threading.Thread.start = _real_thread_start  # type: ignore[method-assign]
        for name, fn in _real_clocks.items():
            setattr(time, name, fn)
        time.sleep = _real_sleep
        _state.active = False
