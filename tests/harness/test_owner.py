"""Tests of server incarnations and code ownership (harness/_owner.py).

Code runs "as" an incarnation inside its context, and so does everything it
starts (tasks, tasks of tasks, timers, call_soon callbacks); the tester and
the network own nothing. A crash cancels exactly what the incarnation owns.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from harness import Incarnation, SimLoop, Simulation
from harness._owner import harness_context, owner_of_context, owner_of_current_code

from .toys import run


def test_code_run_by_an_incarnation_is_owned_by_it_and_tester_code_by_nobody() -> None:
    inc = Incarnation(server=2, number=3)
    assert owner_of_current_code() is None
    assert inc.run(owner_of_current_code) is inc
    assert owner_of_current_code() is None  # run() leaves the caller's context alone
    assert owner_of_context(harness_context()) is None
    assert owner_of_context(contextvars.copy_context()) is None


def test_an_incarnation_is_labelled_with_its_server_and_life() -> None:
    inc = Incarnation(server=2, number=3)
    assert inc.label == "server 2 (incarnation 3)"
    assert repr(inc) == "<Incarnation S2#3>"
    assert inc.alive
    inc.crash([])
    assert not inc.alive
    assert repr(inc) == "<Incarnation S2#3 dead>"


def test_each_run_gets_a_fresh_copy_of_the_incarnations_context() -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)
    inc = Incarnation(server=0, number=1)
    inc.run(var.set, 5)
    assert inc.run(var.get) == 0  # nothing leaks from one call into the next


def test_tasks_started_by_an_incarnation_and_by_its_tasks_belong_to_it() -> None:
    sim = Simulation(1)
    owners: dict[str, Any] = {}

    async def grandchild() -> None:
        owners["grandchild"] = owner_of_current_code()
        await asyncio.sleep(10)

    async def child() -> None:
        owners["child"] = owner_of_current_code()
        asyncio.create_task(grandchild())
        await asyncio.sleep(10)

    async def main() -> tuple[int, int]:
        inc = sim.new_incarnation(0)
        inc.run(lambda: asyncio.get_running_loop().create_task(child()))
        tester_task = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(1)
        owners["tester"] = owner_of_current_code()
        assert all(getattr(t, "owner", None) is inc for t in inc.tasks)
        assert tester_task not in inc.tasks and getattr(tester_task, "owner", 1) is None
        return len(inc.tasks), inc.number

    tasks, number = run(sim, main())
    assert tasks == 2
    assert owners["child"] is owners["grandchild"] is not None
    assert owners["child"].label == f"server 0 (incarnation {number})"
    assert owners["tester"] is None


def test_finished_tasks_leave_the_incarnations_task_table() -> None:
    sim = Simulation(1)

    async def main() -> list[int]:
        inc = sim.new_incarnation(1)
        sizes = []
        for _ in range(3):
            inc.run(lambda: asyncio.get_running_loop().create_task(asyncio.sleep(1)))
        sizes.append(len(inc.tasks))
        await asyncio.sleep(2)
        sizes.append(len(inc.tasks))
        return sizes

    assert run(sim, main()) == [3, 0]


def test_timers_an_incarnation_scheduled_are_remembered_only_while_pending() -> None:
    """An incarnation that sleeps a million times must not keep a million timers."""
    sim = Simulation(1)

    async def ticker() -> None:
        for _ in range(5000):
            await asyncio.sleep(0.01)

    async def main() -> int:
        inc = sim.new_incarnation(0)
        task = inc.run(lambda: asyncio.get_running_loop().create_task(ticker()))
        await task
        return len(inc._timers)

    assert run(sim, main()) <= 512


def test_crash_cancels_exactly_the_incarnations_tasks_timers_and_callbacks() -> None:
    sim = Simulation(1)
    happened: list[str] = []

    async def sleeper(name: str) -> None:
        try:
            await asyncio.sleep(5)
            happened.append(f"{name} woke")
        except asyncio.CancelledError:
            happened.append(f"{name} cancelled")
            raise

    def schedule(name: str) -> None:
        loop = asyncio.get_running_loop()
        loop.create_task(sleeper(name))
        loop.call_later(3, happened.append, f"{name} timer")
        loop.call_at(4, happened.append, f"{name} call_at")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        victim = sim.new_incarnation(0)
        bystander = sim.new_incarnation(1)
        victim.run(schedule, "victim")
        bystander.run(schedule, "bystander")
        schedule("tester")
        await asyncio.sleep(1)
        victim.run(loop.call_soon, happened.append, "victim soon")
        loop.call_soon(happened.append, "tester soon")
        sim.crash(victim)
        await asyncio.sleep(10)

    run(sim, main())
    assert happened == [
        "tester soon", "victim cancelled",
        "bystander timer", "tester timer",
        "bystander call_at", "tester call_at",
        "bystander woke", "tester woke",
    ]


def test_crash_returns_the_doomed_tasks_and_lets_them_unwind() -> None:
    inc = Incarnation(server=0, number=1)
    loop = SimLoop()
    try:
        async def body() -> None:
            await asyncio.sleep(100)

        task = inc.run(loop.create_task, body())
        loop.run_until_complete(asyncio.sleep(0))
        doomed = inc.crash([])
        assert doomed == [task]
        loop.run_until_complete(asyncio.sleep(0))
        assert task.cancelled()
    finally:
        loop.shutdown()


def test_a_crashed_incarnation_cannot_start_new_tasks() -> None:
    sim = Simulation(1)
    ran: list[str] = []

    async def late() -> None:
        ran.append("late task ran")

    async def main() -> bool:
        inc = sim.new_incarnation(0)
        sim.crash(inc)
        task = inc.run(lambda: asyncio.get_running_loop().create_task(late()))
        await asyncio.sleep(1)
        return task.cancelled()

    assert run(sim, main()) is True
    assert ran == []
