"""Tests of the virtual-time loop (harness/_loop.py).

The clock jumps to the next timer, exactly; timers due at the same instant
run in scheduling order; asyncio's own features work on it unchanged; task
sets iterate deterministically; and the loop's guards (deadlock, livelock,
virtual-time limit, wall-clock limit, executors, exceptions escaping tasks
and callbacks) end the run with a message that names the fix.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from harness import (
    BlockingCallError,
    DeadlockError,
    HarnessError,
    Limits,
    LivelockError,
    SimLoop,
    Simulation,
    StudentError,
    VirtualTimeLimit,
    WallClockLimitError,
)

from .toys import run, serve

ROOT = Path(__file__).resolve().parents[2]


class Spinner:
    """Polls with zero sleeps from 1.5 s on: a livelock."""

    def __init__(self, me: int, number: int) -> None:
        asyncio.get_running_loop().create_task(self.poll())

    async def poll(self) -> None:
        await asyncio.sleep(1.5)
        while True:
            await asyncio.sleep(0)


class Burner:
    """Burns real CPU in every one of many small callbacks."""

    def __init__(self, me: int, number: int) -> None:
        asyncio.get_running_loop().create_task(self.burn())

    async def burn(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            sum(range(20_000))


class Crashy:
    """A background task that raises at 2.5 s."""

    def __init__(self, me: int, number: int) -> None:
        asyncio.get_running_loop().create_task(self.tick())

    async def tick(self) -> None:
        await asyncio.sleep(2.5)
        raise KeyError("missing-entry")


class Timed:
    """A timer callback that raises at 0.75 s."""

    def __init__(self, me: int, number: int) -> None:
        asyncio.get_running_loop().call_later(0.75, self.fire)

    def fire(self) -> None:
        raise RuntimeError("timer broke")


class TwoFaults:
    """Two callbacks that raise at the same instant."""

    def __init__(self, me: int, number: int) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(1, self.first)
        loop.call_later(1, self.second)

    def first(self) -> None:
        raise ValueError("first")

    def second(self) -> None:
        raise ValueError("second")


async def waiter(event: asyncio.Event) -> None:
    await event.wait()


def run_loop(main: Coroutine[Any, Any, Any], limits: Limits | None = None) -> tuple[Any, SimLoop]:
    """Run a coroutine on a bare SimLoop; return its result and the (closed) loop."""
    loop = SimLoop(limits)
    try:
        return loop.run_until_complete(main), loop
    finally:
        loop.shutdown()


# ------------------------------------------------------------------ the clock


def test_sleep_jumps_the_clock_straight_to_the_timer() -> None:
    async def main() -> float:
        await asyncio.sleep(120)
        return asyncio.get_running_loop().time()

    now, loop = run_loop(main())
    assert now == 120.0
    assert loop.iterations < 10  # no polling on the way to 120 s


def test_the_clock_is_set_to_exactly_the_due_time_of_each_timer() -> None:
    seen: list[tuple[float, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for when in (0.1 + 0.2, 1 / 3, 7.000000001, 1e-9, 86400.5):
            loop.call_at(when, lambda w=when: seen.append((w, loop.time())))
        await asyncio.sleep(86401)

    run_loop(main(), Limits(virtual_seconds=1e6))
    assert [now for _, now in seen] == sorted(w for w, _ in seen)
    assert all(when == now for when, now in seen)


def test_a_new_loop_starts_at_time_zero() -> None:
    loop = SimLoop()
    try:
        assert loop.time() == 0.0
        assert loop.iterations == 0
    finally:
        loop.close()


def test_timers_due_at_the_same_instant_run_in_the_order_they_were_scheduled() -> None:
    order: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        # Interleave three instants and both scheduling calls; the order at
        # each instant must be the scheduling order, whatever the heap does.
        for i in range(300):
            when = (2.0, 1.0, 3.0)[i % 3]
            if i % 2:
                loop.call_at(when, order.append, i)
            else:
                loop.call_later(when, order.append, i)
        await asyncio.sleep(4)

    run_loop(main())
    expected = ([i for i in range(300) if i % 3 == 1] + [i for i in range(300) if i % 3 == 0]
                + [i for i in range(300) if i % 3 == 2])
    assert order == expected


def test_tasks_sleeping_to_the_same_instant_wake_in_the_order_they_slept() -> None:
    woke: list[int] = []

    async def sleeper(name: int) -> None:
        await asyncio.sleep(1.0)
        woke.append(name)

    async def main() -> None:
        names = [5, 3, 9, 0, 7, 1]
        await asyncio.gather(*(sleeper(name) for name in names))

    run_loop(main())
    assert woke == [5, 3, 9, 0, 7, 1]


def test_many_cancelled_timers_do_not_disturb_the_live_ones() -> None:
    """Past 512 cancelled timers the heap is compacted; order must survive that."""
    fired: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handles = [loop.call_later(1 + (i % 7), fired.append, i) for i in range(3000)]
        for i, handle in enumerate(handles):
            if i % 4:
                handle.cancel()
        await asyncio.sleep(0.5)  # a loop iteration with a ready queue compacts the heap
        for _ in range(10):
            await asyncio.sleep(0)
        await asyncio.sleep(10)

    run_loop(main())
    kept = [i for i in range(3000) if i % 4 == 0]
    assert fired == sorted(kept, key=lambda i: (i % 7, i))


# ------------------------------------------------------------ asyncio features


def test_asyncio_sleep_wait_for_and_timeout_use_virtual_time() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        marks = []
        await asyncio.sleep(1.5)
        marks.append(("sleep", loop.time()))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(100), timeout=2)
        marks.append(("wait_for", loop.time()))
        assert await asyncio.wait_for(asyncio.sleep(1, result="done"), timeout=2) == "done"
        marks.append(("wait_for ok", loop.time()))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.25):
                await asyncio.sleep(100)
        marks.append(("timeout", loop.time()))
        async with asyncio.timeout_at(loop.time() + 5):
            await asyncio.sleep(4)
        marks.append(("timeout_at", loop.time()))
        return marks

    marks, _ = run_loop(main())
    assert marks == [("sleep", 1.5), ("wait_for", 3.5), ("wait_for ok", 4.5),
                     ("timeout", 4.75), ("timeout_at", 8.75)]


def test_asyncio_queue_event_lock_condition_and_semaphore_work() -> None:
    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        log: list[Any] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        event = asyncio.Event()
        lock = asyncio.Lock()
        cond = asyncio.Condition()
        sem = asyncio.Semaphore(2)
        inside = 0

        async def producer() -> None:
            for i in range(3):
                await asyncio.sleep(1)
                await queue.put(i)
            event.set()

        async def locked(i: int) -> None:
            async with lock:
                log.append(("lock", i, loop.time()))
                await asyncio.sleep(0.5)

        async def limited() -> None:
            nonlocal inside
            async with sem:
                inside += 1
                log.append(("sem", inside))
                await asyncio.sleep(1)
                inside -= 1

        async def notifier() -> None:
            await asyncio.sleep(2)
            async with cond:
                cond.notify_all()

        tasks = [asyncio.create_task(producer()), asyncio.create_task(notifier())]
        tasks += [asyncio.create_task(locked(i)) for i in range(3)]
        tasks += [asyncio.create_task(limited()) for _ in range(3)]
        async with cond:
            await cond.wait()
        log.append(("cond", loop.time()))
        got = [await queue.get() for _ in range(3)]
        await event.wait()
        log.append(("queue", got, loop.time()))
        await asyncio.gather(*tasks)
        return log

    log, _ = run_loop(main())
    assert [e for e in log if e[0] == "lock"] == [("lock", 0, 0.0), ("lock", 1, 0.5),
                                                  ("lock", 2, 1.0)]
    assert max(e[1] for e in log if e[0] == "sem") == 2
    assert ("cond", 2.0) in log
    assert ("queue", [0, 1, 2], 3.0) in log


async def work(delay: float, value: int) -> int:
    await asyncio.sleep(delay)
    return value


async def fail_after(delay: float) -> None:
    await asyncio.sleep(delay)
    raise ValueError("boom")


def test_task_group_and_gather_collect_results_in_virtual_time() -> None:
    async def main() -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(work(3, 1))
            b = tg.create_task(work(1, 2))
        t_group = loop.time()
        gathered = await asyncio.gather(work(2, 3), work(1, 4))
        return a.result(), b.result(), t_group, gathered, loop.time()

    result, _ = run_loop(main())
    assert result == (1, 2, 3.0, [3, 4], 5.0)


def test_an_exception_in_a_task_fails_the_run_even_if_gather_would_return_it() -> None:
    """Student API rule 8: any task's exception fails the run, awaited or not."""

    async def main() -> list[Any]:
        return await asyncio.gather(work(1, 5), fail_after(0.5), return_exceptions=True)

    outcome = Simulation(1).run(main())
    assert outcome.failure is not None
    assert "ValueError: boom" in str(outcome.failure)
    assert outcome.sim_time == 0.5


def test_asyncio_wait_result_sets_iterate_in_the_same_order_on_every_run() -> None:
    def one_run() -> list[list[int]]:
        async def main() -> list[list[int]]:
            async def after(d: float) -> None:
                await asyncio.sleep(d)

            orders = []
            for round_ in range(20):
                delays = [((i * 7 + round_) % 5) * 0.1 for i in range(40)]
                tasks = [asyncio.create_task(after(d)) for d in delays]
                done, pending = await asyncio.wait(tasks, timeout=0.25)
                orders.append([tasks.index(t) for t in done])
                orders.append([tasks.index(t) for t in pending])
                await asyncio.gather(*pending)
            return orders

        return run_loop(main())[0]

    assert one_run() == one_run()


def test_tasks_left_running_when_the_run_ends_are_cancelled_and_unwind() -> None:
    unwound: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(1e6)
        finally:
            unwound.append(name)

    async def main() -> None:
        asyncio.create_task(forever("tester task"))
        await asyncio.sleep(1)

    sim = Simulation(1)
    run(sim, main())
    assert unwound == ["tester task"]
    assert sim.loop.is_closed()


# ---------------------------------------------------------------- the guards


def test_a_deadlock_names_every_waiting_task_and_the_fix() -> None:
    async def main() -> None:
        event = asyncio.Event()
        asyncio.create_task(waiter(event))
        await asyncio.sleep(3)
        await event.wait()

    outcome = Simulation(1).run(main())
    assert isinstance(outcome.failure, DeadlockError)
    message = str(outcome.failure)
    assert message.startswith("deadlock at virtual time 3.000 s")
    assert "nothing will ever set or release" in message
    assert "\n  - tester task test_a_deadlock_names_every_waiting_task_and_the_fix.<locals>.main " \
        "waiting at" in message
    assert "\n  - tester task waiter waiting at" in message
    assert outcome.sim_time == 3.0


def test_a_livelock_of_zero_sleeps_is_stopped_with_the_fix() -> None:
    sim = Simulation(1, limits=Limits(same_instant_callbacks=20_000))

    async def main() -> None:
        serve(sim, 2, Spinner)
        await asyncio.sleep(10)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, LivelockError)
    assert outcome.failure.where == "server 2 (incarnation 1)"
    message = outcome.failure.message
    assert message.startswith("virtual time is stuck at 1.500 s: 20,000 callbacks ran")
    assert "Busy: server 2 (incarnation 1) task Spinner.poll" in message
    assert "`await asyncio.sleep(0.01)`" in message
    assert "asyncio.Event / Condition" in message
    assert outcome.sim_time == 1.5


def test_the_default_livelock_limit_is_two_hundred_thousand_callbacks() -> None:
    async def main() -> None:
        while True:
            await asyncio.sleep(0)

    outcome = Simulation(1).run(main())
    assert isinstance(outcome.failure, LivelockError)
    assert "200,000 callbacks ran without the clock moving" in str(outcome.failure)


def test_many_callbacks_at_one_instant_are_not_a_livelock_when_the_clock_moves() -> None:
    async def main() -> int:
        n = 0
        for _ in range(30):
            for _ in range(5000):
                await asyncio.sleep(0)
                n += 1
            await asyncio.sleep(0.001)
        return n

    assert run(Simulation(1, limits=Limits(same_instant_callbacks=10_000)), main()) == 150_000


def test_the_virtual_time_limit_stops_the_run_at_the_limit() -> None:
    async def main() -> None:
        await asyncio.sleep(4)
        await asyncio.sleep(100)

    outcome = Simulation(1, limits=Limits(virtual_seconds=30)).run(main())
    assert isinstance(outcome.failure, VirtualTimeLimit)
    assert str(outcome.failure) == "virtual time passed 30 s"
    assert outcome.sim_time == 30.0


def test_the_virtual_time_limit_allows_a_timer_due_exactly_at_the_limit() -> None:
    async def main() -> float:
        await asyncio.sleep(30)
        return asyncio.get_running_loop().time()

    assert run(Simulation(1, limits=Limits(virtual_seconds=30)), main()) == 30.0


def test_the_wall_clock_limit_stops_code_that_does_too_much_work_per_event() -> None:
    sim = Simulation(1, limits=Limits(virtual_seconds=1e9, wall_seconds=0.3))

    async def main() -> None:
        serve(sim, 0, Burner)
        await asyncio.sleep(1e8)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, WallClockLimitError)
    message = str(outcome.failure)
    assert message.startswith("the run used more than 0.3 s of real time and reached only")
    assert "loops that poll with very short sleeps" in message
    assert outcome.sim_time < 1e8


def test_run_in_executor_and_to_thread_are_refused_with_the_fix() -> None:
    for call in ("executor", "to_thread"):
        async def main(call: str = call) -> None:
            if call == "executor":
                await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])
            else:
                await asyncio.to_thread(sum, [1, 2])

        outcome = Simulation(1).run(main())
        assert isinstance(outcome.failure, BlockingCallError), call
        message = str(outcome.failure)
        assert "run_in_executor / asyncio.to_thread would run code on another thread" in message
        assert "Do the work directly in the coroutine" in message


def test_an_exception_escaping_a_server_task_fails_the_run_at_once() -> None:
    sim = Simulation(1)

    async def main() -> None:
        serve(sim, 1, Crashy)
        await asyncio.sleep(1000)  # the run must not wait for this

    outcome = sim.run(main())
    assert isinstance(outcome.failure, StudentError)
    assert outcome.failure.where == "server 1 (incarnation 1)"
    assert outcome.failure.message.startswith(
        "KeyError: 'missing-entry' (raised in task server 1 (incarnation 1) task Crashy.tick;")
    assert "an exception escaping an RPC handler or any task a Raft created fails the run" in \
        outcome.failure.message
    assert "in tick" in outcome.failure.details  # the student's frame, in the traceback
    assert outcome.sim_time == 2.5


def test_an_exception_in_a_server_timer_callback_fails_the_run() -> None:
    sim = Simulation(1)

    async def main() -> None:
        serve(sim, 0, Timed)
        await asyncio.sleep(1000)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, StudentError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    assert "RuntimeError: timer broke (raised in callback server 0 (incarnation 1) callback " \
        "Timed.fire;" in outcome.failure.message
    assert outcome.sim_time == 0.75


def test_a_failure_in_tester_code_is_a_harness_error_not_a_student_error() -> None:
    async def main() -> None:
        async def helper() -> None:
            await asyncio.sleep(1)
            raise ZeroDivisionError("tester bug")

        asyncio.create_task(helper())
        await asyncio.sleep(10)

    outcome = Simulation(1).run(main())
    assert isinstance(outcome.failure, HarnessError)
    assert str(outcome.failure) == "internal error in raftlab: ZeroDivisionError: tester bug"
    assert outcome.sim_time == 1.0


def test_only_the_first_failure_of_a_run_is_reported() -> None:
    sim = Simulation(1)

    async def main() -> None:
        serve(sim, 0, TwoFaults)
        await asyncio.sleep(5)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, StudentError)
    assert "ValueError: first" in outcome.failure.message
    failures = [ev for ev in sim.trace.events if ev[1] == "failure"]
    assert len(failures) == 1 and "ValueError: first" in failures[0][4]


def test_a_bare_loop_raises_its_guard_errors_out_of_run_until_complete() -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(DeadlockError):
        run_loop(main())


IMMORTAL = """
import asyncio, sys
sys.path.insert(0, {root!r})
from harness import Simulation

async def immortal():
    while True:
        try:
            await asyncio.sleep(0.1)
        except BaseException:  # swallows CancelledError and GeneratorExit alike
            pass

sim = Simulation(1)

async def main():
    inc = sim.new_incarnation(0)
    inc.run(lambda: asyncio.get_running_loop().create_task(immortal()))
    await asyncio.sleep(1)
    sim.crash(inc)
    await asyncio.sleep(5)

print(type(sim.run(main()).failure).__name__)
"""


def test_a_task_that_ignores_every_cancellation_is_discarded_quietly() -> None:
    """The loop buries such a coroutine and ends it at exit, without noise on stderr."""
    proc = subprocess.run([sys.executable, "-c", IMMORTAL.format(root=str(ROOT))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "StudentError"
    assert proc.stderr == ""
