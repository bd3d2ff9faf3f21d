"""Tests of the guards against blocking and escaping the simulation (harness/_sandbox/guards.py).

During a run, time.sleep, threads and (from student modules) wall-clock reads
are refused with a BlockingCallError that names the fix and the server whose
code made the call. Code that runs on the CPU while no loop makes progress
(``PROGRESS`` stands still) is interrupted with a SpinError naming what spun:
a server's callback or task, an RPC handler, a method the tester called;
code that swallows every interrupt ends the process with EXIT_SPIN.
Everything is restored after the run, even a failed one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import (
    EXIT_SPIN,
    BlockingCallError,
    HarnessError,
    SimLoop,
    Simulation,
    SpinError,
    encode,
)
from harness._errors import SpinInterrupt
from harness._sandbox.guards import Guards, guard_module_globals

from .toys import Args, EchoService, Reply, ToyServers, client, cluster, run, serve

ROOT = Path(__file__).resolve().parents[2]
_counter = [0]


def student_module(source: str) -> types.ModuleType:
    """A fresh module (a stand-in for a student's raft.py), registered as student code."""
    _counter[0] += 1
    module = types.ModuleType(f"toy_student_{os.getpid()}_{_counter[0]}")
    exec(textwrap.dedent(source), module.__dict__)
    guard_module_globals(module)
    return module


def fails_with(fn: Callable[[], Any]) -> BaseException | None:
    """Run ``fn`` in a task of server 0's life inside a simulation; return the run's failure."""

    class RunsIt(EchoService):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            asyncio.get_running_loop().create_task(self.as_server_code())

        async def as_server_code(self) -> None:
            fn()

    sim, _, _ = cluster(1, 1, RunsIt)

    async def main() -> None:
        await asyncio.sleep(1)

    return sim.run(main()).failure


def burn(seconds: float) -> None:
    """Run on the CPU for ``seconds`` of CPU time without returning."""
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


# ------------------------------------------------------------- blocking calls


def test_time_sleep_in_the_simulation_is_refused_with_the_fix() -> None:
    failure = fails_with(lambda: time.sleep(0.5))
    assert isinstance(failure, BlockingCallError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith("time.sleep(0.5) blocks the whole simulation")
    assert "Use `await asyncio.sleep(seconds)` instead." in failure.message


def test_time_sleep_imported_by_name_into_a_student_module_is_refused_too() -> None:
    module = student_module("""
        from time import sleep
        def nap():
            sleep(0.25)
    """)
    assert module.nap is not None and module.sleep is not time.sleep
    failure = fails_with(module.nap)
    assert isinstance(failure, BlockingCallError)
    assert "time.sleep(0.25) blocks the whole simulation" in failure.message


def test_starting_a_thread_in_the_simulation_is_refused_with_the_fix() -> None:
    failure = fails_with(lambda: threading.Thread(target=print).start())
    assert isinstance(failure, BlockingCallError)
    assert failure.where == "server 0 (incarnation 1)"
    assert failure.message.startswith("threads are not allowed in the simulation")
    assert "Use asyncio tasks (`asyncio.create_task(...)`)" in failure.message


def test_a_wall_clock_read_from_a_student_module_is_refused_with_the_fix() -> None:
    module = student_module("""
        import time
        from time import monotonic
        from time import perf_counter as pc
        def via_module():
            return time.time()
        def via_import():
            return monotonic()
        def via_alias():
            return pc()
        def via_ns():
            return time.monotonic_ns()
    """)
    for fn, name in ((module.via_module, "time"), (module.via_import, "monotonic"),
                     (module.via_alias, "perf_counter"), (module.via_ns, "monotonic_ns")):
        failure = fails_with(fn)
        assert isinstance(failure, BlockingCallError), name
        assert failure.where == "server 0 (incarnation 1)"
        assert failure.message.startswith(f"time.{name}() reads the wall clock, which differs on "
                                          "every run")
        assert "Use `asyncio.get_running_loop().time()` for the (virtual) time." in \
            failure.message


def test_wall_clock_reads_outside_student_modules_and_outside_runs_are_allowed() -> None:
    module = student_module("""
        import time
        def now():
            return time.time()
    """)
    before = module.now()  # no run in progress
    assert isinstance(before, float)
    sim, _, _ = cluster(1, 1)

    async def main() -> float:
        return time.time() + time.monotonic()  # the tester's own (non-student) code

    assert run(sim, main()) > 0


def test_the_guards_are_removed_after_a_run_even_a_failed_one() -> None:
    originals = (time.sleep, time.time, time.monotonic, time.perf_counter,
                 threading.Thread.start, signal.getsignal(signal.SIGVTALRM))
    failure = fails_with(lambda: time.sleep(1))
    assert isinstance(failure, BlockingCallError)
    assert (time.sleep, time.time, time.monotonic, time.perf_counter,
            threading.Thread.start, signal.getsignal(signal.SIGVTALRM)) == originals
    assert signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)
    time.sleep(0)  # works again
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()


# ------------------------------------------------------------------ CPU spins


class Spinner(EchoService):
    """Spins on the CPU in a timer callback at 0.5 s."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().call_later(0.5, self.spin)

    def spin(self) -> None:
        while True:
            pass


class Busy(EchoService):
    """Spins on the CPU in its RPC handlers and in start()."""

    def busy(self, args: Args) -> Reply:
        while True:
            pass

    async def busy_async(self, args: Args) -> Reply:
        while True:
            pass

    def start(self, command: Any) -> tuple[int, int, bool]:
        while True:
            pass


class SlowToBuild(EchoService):
    """Spins on the CPU in its constructor."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        while True:
            pass


def test_a_cpu_spin_in_a_callback_is_interrupted_with_the_fix() -> None:
    sim, _, _ = cluster(1, 1, Spinner, spin_seconds=0.3)

    async def main() -> None:
        await asyncio.sleep(5)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, SpinError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    message = outcome.failure.message
    assert message.startswith("server 0 (incarnation 1) callback Spinner.spin ran for more than "
                              "0.3 s of CPU time without returning to the event loop.")
    assert "in spin." in message
    assert "`while not self.ok: pass` freezes the whole simulation" in message
    assert "Await something inside the loop (`await asyncio.sleep(0.01)`" in message
    assert outcome.sim_time == 0.5


def test_a_cpu_spin_in_an_rpc_handler_is_interrupted() -> None:
    sim, _, _ = cluster(1, 1, Busy, spin_seconds=0.3)

    async def main() -> None:
        await client(sim, 0).call("busy", Args(1))

    outcome = sim.run(main())
    assert isinstance(outcome.failure, SpinError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    message = outcome.failure.message
    assert "of CPU time without returning to the event loop. It was at test_guards.py:" in message
    assert "in busy." in message
    # The message names what spun: the server's RPC handler, not the harness.
    subject = message.split(" ran for more than ")[0]
    assert "busy" in subject and "harness" not in subject, subject


def test_a_cpu_spin_in_an_async_rpc_handler_is_interrupted_and_names_its_task() -> None:
    sim, _, _ = cluster(1, 1, Busy, spin_seconds=0.3)

    async def main() -> None:
        await client(sim, 0).call("busy_async", Args(1))

    outcome = sim.run(main())
    assert isinstance(outcome.failure, SpinError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    assert outcome.failure.message.startswith(
        "server 0 (incarnation 1) task Busy.busy_async ran for more than 0.3 s of CPU time")
    assert "in busy_async." in outcome.failure.message


class Flooder(EchoService):
    """At 0.5 s, starts RPCs in a loop that lets virtual time stand still (an
    election loop whose only await is ``sleep(0)``)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().call_later(0.5, lambda: asyncio.ensure_future(self.flood()))

    async def flood(self) -> None:
        while True:
            for peer in self.peers:
                asyncio.ensure_future(peer.call("echo", Args(1)))
            await asyncio.sleep(0)


def test_a_loop_that_starts_rpcs_without_awaiting_is_the_servers_failure() -> None:
    """It used to be reported as the tester's CPU spin (the trusted side took
    its flood of sends), a harness error that cost nothing."""
    sim, _, _ = cluster(1, 3, Flooder, spin_seconds=0.3)

    async def main() -> None:
        await asyncio.sleep(5)

    outcome = sim.run(main())
    assert outcome.failure is not None
    assert not isinstance(outcome.failure, HarnessError), outcome.failure
    assert getattr(outcome.failure, "where", "") == "server 0 (incarnation 1)"
    assert "more than 10,000 RPCs started in one instant of virtual time" in str(
        outcome.failure)


def test_a_cpu_spin_in_a_method_the_tester_called_is_interrupted() -> None:
    sim, handles, _ = cluster(1, 1, Busy, spin_seconds=0.3)

    async def main() -> None:
        await asyncio.sleep(1)
        handles[0].call("start", encode(101))

    outcome = sim.run(main())
    assert isinstance(outcome.failure, SpinError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    assert outcome.failure.message.startswith(
        "start() ran for more than 0.3 s of CPU time without returning to the event loop.")
    assert "in start." in outcome.failure.message
    assert outcome.sim_time == 1.0


def test_a_cpu_spin_in_the_constructor_is_interrupted() -> None:
    sim = Simulation(1, ToyServers(1), spin_seconds=0.3)

    async def main() -> None:
        await asyncio.sleep(2)
        serve(sim, 0, SlowToBuild)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, SpinError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    assert outcome.failure.message.startswith(
        "Raft(...) (the constructor) ran for more than 0.3 s of CPU time")
    assert outcome.sim_time == 2.0


def test_long_cpu_work_split_by_awaits_is_not_a_spin() -> None:
    class Worker(EchoService):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.total: int | None = None
            asyncio.get_running_loop().create_task(self.work())

        async def work(self) -> None:
            total = 0
            deadline = time.process_time() + 0.5  # more CPU than spin_seconds in all
            while time.process_time() < deadline:
                total += sum(range(50_000))
                await asyncio.sleep(0.001)
            self.total = total

    sim = Simulation(1, ToyServers(1), spin_seconds=0.2)

    async def main() -> int:
        _, worker = serve(sim, 0, Worker)
        while worker.total is None:
            await asyncio.sleep(0.1)
        return int(worker.total)

    assert run(sim, main()) > 0


def test_the_watchdog_interrupts_whichever_loop_runs_and_names_it() -> None:
    """It watches every loop's progress (``PROGRESS``), so it needs no loop of its own."""
    server = SimLoop(label="server 4 (incarnation 2)", student=True)
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(server)
    try:
        with Guards(spin_seconds=0.2):
            server.call_at(1.0, burn, 5.0)
            with pytest.raises(SpinError) as info:
                server.run_until_idle(1.0)
            assert info.value.where == "server 4 (incarnation 2)"
            assert info.value.message.startswith(
                "server 4 (incarnation 2) callback burn ran for more than 0.2 s of CPU time")
            with pytest.raises(SpinInterrupt) as direct:
                burn(5.0)  # no callback runs: code a command called directly
            assert str(direct.value).startswith(
                "server 4 (incarnation 2) code ran for more than 0.2 s of CPU time")
    finally:
        asyncio.events._set_running_loop(previous)
        server.shutdown()


def test_cpu_work_spread_over_many_loop_iterations_is_not_a_spin() -> None:
    server = SimLoop(label="server 0 (incarnation 1)", student=True)
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(server)
    try:
        with Guards(spin_seconds=0.2):
            deadline = time.process_time() + 0.6
            steps = 0
            while time.process_time() < deadline:
                server.call_soon(burn, 0.01)
                server.run_until_idle(server.time() + 0.001)
                steps += 1
            assert steps > 10
    finally:
        asyncio.events._set_running_loop(previous)
        server.shutdown()


def test_a_cpu_spin_in_the_testers_own_code_is_raftlabs_bug() -> None:
    sim = Simulation(1, ToyServers(1), spin_seconds=0.3)

    async def main() -> None:
        await asyncio.sleep(1)
        burn(5.0)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, HarnessError)
    assert "tester task" in str(outcome.failure)


SWALLOWING_SPIN = """
import asyncio, sys
sys.path.insert(0, {root!r})
from tests.harness.toys import EchoService, cluster

def spin():
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass

class Swallower(EchoService):
    def __init__(self, *args):
        super().__init__(*args)
        asyncio.get_running_loop().call_later(0.25, spin)

sim, _, _ = cluster(1, 1, Swallower, spin_seconds=0.2)

async def main():
    await asyncio.sleep(5)

print("outcome", sim.run(main()))
"""


def test_a_spin_that_swallows_every_interrupt_ends_the_process_with_exit_spin() -> None:
    proc = subprocess.run([sys.executable, "-c", SWALLOWING_SPIN.format(root=str(ROOT))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_SPIN, proc.stdout + proc.stderr
    assert "outcome" not in proc.stdout
    assert "raftlab: server 0 (incarnation 1) callback spin ran for more than 0.2 s of CPU " \
        "time without returning to the event loop." in proc.stderr
    assert "the code caught every interrupt (a bare `except:` or `except BaseException:`?), so " \
        "the test process is ended." in proc.stderr
    assert 'in spin' in proc.stderr  # faulthandler's traceback shows where it spun


@pytest.mark.parametrize("name", ["time", "monotonic", "perf_counter", "time_ns",
                                  "monotonic_ns", "perf_counter_ns"])
def test_every_clock_the_guard_replaces_is_still_usable_by_the_harness(name: str) -> None:
    sim, _, _ = cluster(1, 1)

    async def main() -> Any:
        return getattr(time, name)()

    assert run(sim, main()) > 0
