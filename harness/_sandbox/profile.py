"""Where a server life's CPU goes: a sampling profile of the submission's functions.

    start_sampling()          # SIGPROF every 5 ms of CPU time, for this process
    host.samples              # {"Raft.persist": 81, "Raft.append_entries": 12}

On every tick, the frame that was running is walked out to the innermost frame
of the submission's own file, and that function is counted: time spent in the
codec under ``persist()`` counts as ``persist()``, which is what the student
can act on. Ticks while no server life runs (the tester, in-process) or in no
function of the submission count as "(outside your code)".

Samples travel to the trusted side in reports ("profile" effects) and never
enter the trace: they measure this machine, not the run. They explain runs
stopped by a wall-clock or CPU cap, and ``raftlab test``'s warnings about slow
tests. A tick costs microseconds; one every 5 ms of CPU is noise.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .host import Host

INTERVAL: Final = 0.005
ELSEWHERE: Final = "(outside your code)"


class _State:
    on = False
    running: Host | None = None  # the server life whose code runs now (set by the host)


state = _State()


def start_sampling() -> None:
    """Sample this process's CPU from now on (main thread only; idempotent)."""
    if state.on or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGPROF, _tick)
    signal.setitimer(signal.ITIMER_PROF, INTERVAL, INTERVAL)
    state.on = True


def stop_sampling() -> None:
    if state.on:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        state.on = False


def _tick(signum: int, frame: FrameType | None) -> None:
    host = state.running
    if host is None:
        return
    target = host.source_file
    name = ELSEWHERE
    while frame is not None:
        code = frame.f_code
        if code.co_filename == target:  # a comprehension or a nested function: its caller's
            name = code.co_qualname.split(".<", 1)[0]
            break
        frame = frame.f_back
    samples = host.samples
    samples[name] = samples.get(name, 0) + 1


def top(samples: dict[str, int], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` functions with the most samples, with their share (0-1)."""
    total = sum(samples.values())
    if not total:
        return []
    ranked = sorted(samples.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [(name, count / total) for name, count in ranked]


def describe(samples: dict[str, int], n: int = 3) -> str:
    """'Raft.persist() 81 %, Raft.append_entries() 12 %', or ''."""
    return ", ".join(f"{name}{'' if name == ELSEWHERE else '()'} {share:.0%}".replace("%", " %")
                     for name, share in top(samples, n))
