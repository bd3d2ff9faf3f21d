"""Tests of the virtual-time loop (harness/_loop.py).

The clock jumps to the next timer, exactly; timers due at the same instant
run in scheduling order; asyncio's own features work on it unchanged; task
sets iterate deterministically. A server's loop is stepped from outside:
``run_until_idle(now)`` runs what is due by ``now`` and no more, ``next_wake``
says when it next has work, ``set_time`` moves its clock without running
anything. The loop's guards (deadlock, livelock, virtual-time limit,
wall-clock limit, executors, exceptions escaping tasks and callbacks) end the
run with a message that names the fix, and ``classify`` decides whose fault a
failure is: anything raised on a server's loop is the student's (StudentError,
naming the server), on the tester's loop only Fatal and StudentError are on
purpose. A crashed server's life never runs again.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness import (
    BlockingCallError,
    DeadlockError,
    Fatal,
    HarnessError,
    Limits,
    LivelockError,
    SimLoop,
    Simulation,
    SpinError,
    StudentError,
    VirtualTimeLimit,
    WallClockLimitError,
)
from harness._errors import SpinInterrupt
from harness._loop import classify

from .toys import EchoService, ToyServers, cluster, restart, run, serve

ROOT = Path(__file__).resolve().parents[2]


class Spinner(EchoService):
    """Polls with zero sleeps from 1.5 s on: a livelock."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(self.poll())

    async def poll(self) -> None:
        await asyncio.sleep(1.5)
        while True:
            await asyncio.sleep(0)


class Burner(EchoService):
    """Burns real CPU in every one of many small callbacks."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(self.burn())

    async def burn(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            sum(range(20_000))


class Crashy(EchoService):
    """A background task that raises at 2.5 s."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(self.tick())

    async def tick(self) -> None:
        await asyncio.sleep(2.5)
        raise KeyError("missing-entry")


class Timed(EchoService):
    """A timer callback that raises at 0.75 s."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().call_later(0.75, self.fire)

    def fire(self) -> None:
        raise RuntimeError("timer broke")


class TwoFaults(EchoService):
    """Two callbacks that raise at the same instant."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        loop = asyncio.get_running_loop()
        loop.call_later(1, self.first)
        loop.call_later(1, self.second)

    def first(self) -> None:
        raise ValueError("first")

    def second(self) -> None:
        raise ValueError("second")


class Gatherer(EchoService):
    """Gathers a task that fails at 0.5 s with return_exceptions=True."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(self.both())

    async def both(self) -> list[Any]:
        return await asyncio.gather(work(1, 5), fail_after(0.5), return_exceptions=True)


class Refuser(EchoService):
    """Calls run_in_executor (or asyncio.to_thread, ``USE_THREAD``) from a task."""

    USE_THREAD = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(self.offload())

    async def offload(self) -> None:
        if self.USE_THREAD:
            await asyncio.to_thread(sum, [1, 2])
        else:
            await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])


class Raiser(EchoService):
    """A task that raises ``RAISES`` (raftlab's own exception types too) at 1 s."""

    RAISES: BaseException = ValueError()

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(self.tick())

    async def tick(self) -> None:
        await asyncio.sleep(1)
        raise self.RAISES


class Recorder(EchoService):
    """Schedules a task, a timer, a call_at and a call_soon chain; records what ran."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.happened: list[tuple[str, float]] = []
        loop = asyncio.get_running_loop()
        loop.create_task(self.sleeper())
        loop.call_later(3, self.mark, "timer")
        loop.call_at(4, self.mark, "call_at")

    def mark(self, what: str) -> None:
        self.happened.append((what, asyncio.get_running_loop().time()))

    async def sleeper(self) -> None:
        try:
            await asyncio.sleep(5)
            self.mark("woke")
        except asyncio.CancelledError:
            self.mark("cancelled")
            raise


async def waiter(event: asyncio.Event) -> None:
    await event.wait()


async def work(delay: float, value: int) -> int:
    await asyncio.sleep(delay)
    return value


async def fail_after(delay: float) -> None:
    await asyncio.sleep(delay)
    raise ValueError("boom")


def world(limits: Limits | None = None, n: int = 3) -> Simulation:
    """A simulation of ``n`` servers none of which is started yet: until a test
    ``serve``s one, only the tester's code runs."""
    return Simulation(1, ToyServers(n), limits=limits)


def run_loop(main: Coroutine[Any, Any, Any], limits: Limits | None = None) -> tuple[Any, SimLoop]:
    """Run a coroutine on a bare SimLoop; return its result and the (closed) loop."""
    loop = SimLoop(limits)
    try:
        return loop.run_until_complete(main), loop
    finally:
        loop.shutdown()


@contextmanager
def stepped(label: str = "server 1 (incarnation 2)", student: bool = True,
            limits: Limits | None = None) -> Iterator[SimLoop]:
    """A loop stepped from outside, as a host steps a server's: it is the running
    loop (so asyncio works in its callbacks) but nothing runs it to completion."""
    loop = SimLoop(limits, label=label, student=student)
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(loop)
    try:
        yield loop
    finally:
        loop.shutdown()
        asyncio.events._set_running_loop(previous)


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
    sim = world()

    async def main() -> None:
        serve(sim, 0, Gatherer)
        await asyncio.sleep(10)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, StudentError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
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

    sim = world()
    run(sim, main())
    assert unwound == ["tester task"]
    assert sim.loop.is_closed()


# ------------------------------------------------- stepping a loop from outside


def test_run_until_idle_runs_what_is_due_by_now_and_what_that_schedules_for_now() -> None:
    with stepped() as loop:
        ran: list[tuple[str, float]] = []

        def mark(what: str) -> None:
            ran.append((what, loop.time()))

        def first() -> None:
            mark("first")
            loop.call_soon(mark, "soon")  # scheduled by a due callback: runs in this step
            loop.call_later(0, mark, "later 0")  # due now: runs in this step too
            loop.call_later(0.25, mark, "after")  # not due yet: left for a later step

        loop.call_at(1.0, first)
        loop.call_at(2.0, mark, "second")
        assert loop.run_until_idle(0.5) == 1.0  # nothing due: the clock moves, nothing runs
        assert ran == []
        assert loop.time() == 0.5
        assert loop.run_until_idle(1.0) == 1.25  # returns when it next has work
        assert ran == [("first", 1.0), ("soon", 1.0), ("later 0", 1.0)]
        assert loop.run_until_idle(1.25) == 2.0
        assert loop.run_until_idle(2.0) is None  # nothing left at all
        assert ran[3:] == [("after", 1.25), ("second", 2.0)]
        assert loop.time() == 2.0


def test_run_until_idle_runs_tasks_and_never_moves_the_clock_backwards() -> None:
    with stepped() as loop:
        woke: list[float] = []

        async def sleeper() -> None:
            await asyncio.sleep(1)
            woke.append(loop.time())

        assert loop.run_until_idle(5.0) is None
        loop.create_task(sleeper())  # its first step is ready: it runs at the next step
        assert woke == []
        assert loop.run_until_idle(3.0) == 6.0  # an earlier "now" leaves the clock at 5
        assert loop.time() == 5.0
        assert loop.run_until_idle(6.0) is None
        assert woke == [6.0]


def test_next_wake_says_when_the_loop_next_has_work_without_running_anything() -> None:
    with stepped() as loop:
        ran: list[str] = []
        assert loop.next_wake() is None  # nothing scheduled at all
        early = loop.call_at(3.0, ran.append, "early")
        loop.call_at(7.0, ran.append, "late")
        assert loop.next_wake() == 3.0
        early.cancel()
        assert loop.next_wake() == 7.0  # a cancelled timer is not work
        loop.run_until_idle(1.0)
        loop.call_soon(ran.append, "soon")
        assert loop.next_wake() == 1.0  # a ready callback: now
        assert ran == []
        assert loop.time() == 1.0


def test_set_time_moves_the_clock_forward_only_and_runs_nothing() -> None:
    with stepped() as loop:
        ran: list[str] = []
        loop.call_at(2.0, ran.append, "timer")
        loop.set_time(5.0)
        assert loop.time() == 5.0
        assert ran == []  # due, but nothing runs until the loop is stepped
        loop.set_time(1.0)
        assert loop.time() == 5.0  # never backwards
        assert loop.next_wake() == 2.0  # the overdue timer is still pending
        assert loop.run_until_idle(5.0) is None
        assert ran == ["timer"]


def test_moving_the_clock_between_steps_resets_the_livelock_count() -> None:
    with stepped(limits=Limits(same_instant_callbacks=100)) as loop:
        def burst() -> None:
            for _ in range(60):
                loop.call_soon(lambda: None)

        burst()
        loop.run_until_idle(0.0)
        loop.set_time(0.001)
        burst()
        loop.run_until_idle(0.001)  # 120 callbacks so far, but the clock moved between
        burst()
        with pytest.raises(LivelockError) as info:
            loop.run_until_idle(0.001)  # 120 at the same instant
        assert info.value.where == "server 1 (incarnation 2)"  # blamed on the loop's server


def test_a_failure_on_a_stepped_loop_is_raised_out_of_run_until_idle() -> None:
    with stepped() as loop:
        def broken() -> None:
            raise HarnessError("forged")

        loop.call_at(1.0, broken)
        loop.call_at(1.0, pytest.fail, "a callback after the failure ran")
        with pytest.raises(StudentError) as info:
            loop.run_until_idle(1.0)
        err = info.value
        assert type(err) is StudentError  # a server's HarnessError is its own
        assert err.where == "server 1 (incarnation 2)"
        assert err.message.startswith(
            "HarnessError: forged (raised in callback server 1 (incarnation 2) callback "
            "test_a_failure_on_a_stepped_loop_is_raised_out_of_run_until_idle.<locals>.broken;")
        assert loop.failure is err


@pytest.mark.parametrize(("raised", "expected"), [
    (ValueError("tester bug"), HarnessError),
    (HarnessError("raftlab bug"), HarnessError),
    (Fatal("a check failed"), Fatal),
    (StudentError("the code broke a rule", where="server 0 (incarnation 1)"), StudentError),
])
def test_on_the_testers_loop_only_fatal_and_student_errors_are_on_purpose(
        raised: Exception, expected: type[Exception]) -> None:
    with stepped(label="tester", student=False) as loop:
        def fails() -> None:
            raise raised

        loop.call_at(1.0, fails)
        with pytest.raises(expected) as info:
            loop.run_until_idle(1.0)
        if isinstance(raised, (Fatal, StudentError, HarnessError)):
            assert info.value is raised  # a verdict, or raftlab's own bug: as it is
        else:
            assert type(info.value) is HarnessError
            assert str(info.value) == "internal error in raftlab: ValueError: tester bug"
            assert info.value.__cause__ is raised


# --------------------------------------------------------------- classify

WHERE = "server 3 (incarnation 2)"


class Forged(StudentError):
    """A StudentError subclass that is not raftlab's (student code could define one)."""


def raised_in_student_code(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as if raised by a student's function."""
    def student_function() -> None:
        raise exc

    try:
        student_function()
    except BaseException as e:
        return e
    raise AssertionError("unreachable")


def raised_by_the_harness() -> BlockingCallError:
    """A rule-breaking error as the harness raises it into student code (a guard)."""
    loop = SimLoop()
    try:
        loop.run_in_executor(None, sum, [1, 2])
    except BlockingCallError as e:
        return e
    finally:
        loop.close()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("exc", [
    ValueError("bad value"), KeyError("missing"), HarnessError("forged harness bug"),
    Fatal("forged test failure"), VirtualTimeLimit("forged limit"), Forged("forged"),
    SpinError("forged spin"), DeadlockError("forged deadlock"),
    asyncio.CancelledError(), SystemExit(3),
], ids=lambda e: type(e).__name__)
def test_classify_makes_anything_raised_on_a_servers_loop_the_students(
        exc: BaseException) -> None:
    """Even raftlab's own exception types: raised by student code, they are its errors."""
    exc = raised_in_student_code(exc)
    err = classify(exc, WHERE, "task T")
    assert type(err) is StudentError
    assert err.where == WHERE
    assert err.message.startswith(f"{type(exc).__name__}: {exc} (raised in task T; ")
    assert "an exception escaping an RPC handler or any task a Raft created fails the run" in \
        err.message
    assert "in student_function" in err.details


def test_classify_keeps_a_rule_error_the_harness_raised_and_fills_in_where() -> None:
    refused = raised_by_the_harness()
    assert classify(refused, WHERE, "task T") is refused  # its message names the fix
    assert refused.where == WHERE
    named = raised_by_the_harness()
    named.where = "server 0 (incarnation 1)"
    assert classify(named, WHERE) is named
    assert named.where == "server 0 (incarnation 1)"  # who it already names stays


def test_classify_turns_a_spin_interrupt_and_running_out_of_memory_into_student_errors() -> None:
    spin = classify(SpinInterrupt("subject", "detail"), WHERE)
    assert type(spin) is SpinError
    assert spin.where == WHERE
    assert spin.message == "subject detail"
    memory = classify(MemoryError(), WHERE, "task T")
    assert type(memory) is StudentError
    assert memory.where == WHERE
    assert memory.message.startswith("task T ran out of memory: ")


def test_classify_on_the_testers_side_passes_verdicts_and_blames_raftlab_for_the_rest() -> None:
    for verdict in (Fatal("check"), StudentError("rule"), DeadlockError("stuck"),
                    HarnessError("own bug"), VirtualTimeLimit("virtual time passed 1 s")):
        assert classify(verdict, None) is verdict
    bug = ZeroDivisionError("division by zero")
    err = classify(bug, None)
    assert type(err) is HarnessError
    assert str(err) == "internal error in raftlab: ZeroDivisionError: division by zero"
    assert err.__cause__ is bug
    interrupt = KeyboardInterrupt()
    assert classify(interrupt, None) is interrupt


# ---------------------------------------------------------------- the guards


def test_a_deadlock_names_every_waiting_task_and_the_fix() -> None:
    async def main() -> None:
        event = asyncio.Event()
        asyncio.create_task(waiter(event))
        await asyncio.sleep(3)
        await event.wait()

    outcome = world().run(main())
    assert isinstance(outcome.failure, DeadlockError)
    message = str(outcome.failure)
    assert message.startswith("deadlock at virtual time 3.000 s")
    assert "nothing will ever set or release" in message
    assert "\n  - tester task test_a_deadlock_names_every_waiting_task_and_the_fix.<locals>.main " \
        "waiting at" in message
    assert "\n  - tester task waiter waiting at" in message
    assert outcome.sim_time == 3.0


def test_a_livelock_of_zero_sleeps_on_a_server_is_stopped_and_blamed_on_it() -> None:
    sim = world()

    async def main() -> None:
        serve(sim, 2, Spinner)
        await asyncio.sleep(10)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, LivelockError)
    assert outcome.failure.where == "server 2 (incarnation 1)"
    message = outcome.failure.message
    # A server's loop has the default limit, whatever the tester's is.
    assert message.startswith("virtual time is stuck at 1.500 s: 200,000 callbacks ran")
    assert "Busy: server 2 (incarnation 1) task Spinner.poll" in message
    assert "`await asyncio.sleep(0.01)`" in message
    assert "asyncio.Event / Condition" in message
    assert outcome.sim_time == 1.5


def test_the_default_livelock_limit_is_two_hundred_thousand_callbacks() -> None:
    async def main() -> None:
        while True:
            await asyncio.sleep(0)

    outcome = world().run(main())
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

    assert run(world(Limits(same_instant_callbacks=10_000)), main()) == 150_000


def test_the_virtual_time_limit_stops_the_run_at_the_limit() -> None:
    async def main() -> None:
        await asyncio.sleep(4)
        await asyncio.sleep(100)

    outcome = world(Limits(virtual_seconds=30)).run(main())
    assert isinstance(outcome.failure, VirtualTimeLimit)
    assert str(outcome.failure) == "virtual time passed 30 s"
    assert outcome.sim_time == 30.0


def test_the_virtual_time_limit_allows_a_timer_due_exactly_at_the_limit() -> None:
    async def main() -> float:
        await asyncio.sleep(30)
        return asyncio.get_running_loop().time()

    assert run(world(Limits(virtual_seconds=30)), main()) == 30.0


def test_the_wall_clock_limit_stops_code_that_does_too_much_work_per_event() -> None:
    sim = world(Limits(virtual_seconds=1e9, wall_seconds=0.3))

    async def main() -> None:
        serve(sim, 0, Burner)
        await asyncio.sleep(1e8)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, WallClockLimitError)
    message = str(outcome.failure)
    assert message.startswith("the run used more than 0.3 s of real time (limit: wall clock) "
                              "and reached only")
    assert "loops that poll with very short sleeps" in message
    assert outcome.sim_time < 1e8


@pytest.mark.parametrize("use_thread", [False, True], ids=["run_in_executor", "to_thread"])
def test_run_in_executor_and_to_thread_are_refused_with_the_fix(use_thread: bool) -> None:
    sim = world()

    async def main() -> None:
        serve(sim, 0, type("Refuser", (Refuser,), {"USE_THREAD": use_thread}))
        await asyncio.sleep(1)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, BlockingCallError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    message = str(outcome.failure)
    assert "run_in_executor / asyncio.to_thread would run code on another thread" in message
    assert "Do the work directly in the coroutine" in message


# ------------------------------------------------------------------ failures


def test_an_exception_escaping_a_server_task_fails_the_run_at_once() -> None:
    sim = world()

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
    sim = world()

    async def main() -> None:
        serve(sim, 0, Timed)
        await asyncio.sleep(1000)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, StudentError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    assert "RuntimeError: timer broke (raised in callback server 0 (incarnation 1) callback " \
        "Timed.fire;" in outcome.failure.message
    assert outcome.sim_time == 0.75


@pytest.mark.parametrize("raised", [
    HarnessError("forged harness bug"), Fatal("forged test failure"),
    VirtualTimeLimit("forged limit"), DeadlockError("forged deadlock"),
    SpinError("forged spin"),
], ids=lambda e: type(e).__name__)
def test_whatever_a_server_raises_is_the_students_even_raftlabs_own_exceptions(
        raised: Exception) -> None:
    sim = world()

    async def main() -> None:
        serve(sim, 0, type("Raiser", (Raiser,), {"RAISES": raised}))
        await asyncio.sleep(10)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, StudentError)
    assert outcome.failure.where == "server 0 (incarnation 1)"
    assert outcome.sim_time == 1.0
    assert type(outcome.failure) is StudentError
    assert outcome.failure.message.startswith(
        f"{type(raised).__name__}: {raised} (raised in task server 0 (incarnation 1) task "
        "Raiser.tick;")


def test_a_failure_in_tester_code_is_a_harness_error_not_a_student_error() -> None:
    async def main() -> None:
        async def helper() -> None:
            await asyncio.sleep(1)
            raise ZeroDivisionError("tester bug")

        asyncio.create_task(helper())
        await asyncio.sleep(10)

    outcome = world().run(main())
    assert isinstance(outcome.failure, HarnessError)
    assert str(outcome.failure) == "internal error in raftlab: ZeroDivisionError: tester bug"
    assert outcome.sim_time == 1.0


def test_a_fatal_raised_by_tester_code_ends_the_run_as_itself() -> None:
    failed = Fatal("one(101) failed to reach agreement")

    async def main() -> None:
        async def checker() -> None:
            await asyncio.sleep(2)
            raise failed

        asyncio.create_task(checker())
        await asyncio.sleep(10)

    outcome = world().run(main())
    assert outcome.failure is failed
    assert outcome.sim_time == 2.0


def test_only_the_first_failure_of_a_run_is_reported() -> None:
    sim = world()

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


# ------------------------------------------------------------------- crashes


def test_a_crashed_servers_tasks_and_timers_never_run_again() -> None:
    """A crash is a process death: no timer fires, no task wakes, not even to be cancelled."""
    sim, handles, services = cluster(1, 2, Recorder)
    victim = services[0]

    async def main() -> tuple[Any, ...]:
        await asyncio.sleep(1)
        sim.crash(handles[0])
        await asyncio.sleep(10)
        return list(victim.happened), list(services[1].happened)

    happened, bystander = run(sim, main())
    assert happened == []
    assert bystander == [("timer", 3.0), ("call_at", 4.0), ("woke", 5.0)]


def test_the_next_life_of_a_crashed_server_starts_at_the_current_time() -> None:
    sim, handles, _ = cluster(1, 1, Recorder)

    async def main() -> tuple[Any, ...]:
        await asyncio.sleep(1)
        _, reborn = restart(sim, 0, handles[0], Recorder)
        await asyncio.sleep(10)
        return reborn.number, list(reborn.happened)

    number, happened = run(sim, main())
    assert number == 2
    assert happened == [("timer", 4.0), ("call_at", 4.0), ("woke", 6.0)]


IMMORTAL = """
import asyncio, sys
sys.path.insert(0, {root!r})
from tests.harness.toys import EchoService, cluster

async def immortal():
    while True:
        try:
            await asyncio.sleep(0.1)
        except BaseException:  # swallows CancelledError and GeneratorExit alike
            pass

class Immortal(EchoService):
    def __init__(self, *args):
        super().__init__(*args)
        asyncio.get_running_loop().create_task(immortal())

sim, handles, _ = cluster(1, 2, Immortal)

async def main():
    await asyncio.sleep(1)
    sim.crash(handles[0])
    await asyncio.sleep(5)

print("failure:", sim.run(main()).failure)
"""


def test_a_task_that_ignores_every_cancellation_is_discarded_quietly() -> None:
    """When the run's server lives are torn down, the loop buries such a coroutine
    and ends it at exit, without noise on stderr. A crashed life's is never asked
    to stop during the run, so it is no "zombie" and does not fail the run."""
    proc = subprocess.run([sys.executable, "-c", IMMORTAL.format(root=str(ROOT))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "failure: None"
    assert proc.stderr == ""


BURIED = """
import asyncio, sys
sys.path.insert(0, {root!r})
from harness import SimLoop
from harness import _loop  # only holding a reference to the module changes teardown order

async def immortal():
    while True:
        try:
            await asyncio.sleep(0.1)
        except BaseException:
            pass

loop = SimLoop()
loop.create_task(immortal())
loop.run_until_complete(asyncio.sleep(1))
loop.shutdown()  # buries the coroutine; it is to be ended quietly at exit
print("done")
"""


def test_a_buried_coroutine_never_keeps_the_process_from_exiting() -> None:
    proc = subprocess.run([sys.executable, "-c", BURIED.format(root=str(ROOT))],
                          capture_output=True, text=True, timeout=2)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert proc.stderr == ""
