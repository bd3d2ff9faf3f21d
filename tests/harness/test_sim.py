"""Tests of one seeded run of the simulated world (harness/_trusted/sim.py).

Every server life runs in a host of its own (in-process here, ``toys``),
stepped by the trusted side in lockstep. The same seed gives the same trace,
across processes and PYTHONHASHSEED values; different seeds give different
traces; the seed's streams are pinned and independent; each server life's
``random`` functions draw from its own "student/S/N" stream (a restart gets a
fresh one; a module runs with the "student/import" stream) and the global
``random`` functions are restored after a run; logging lands in the trace
stamped with the server and its life; an outcome reports how the run ended;
a crash is a process death: nothing of that life runs again (no timer, no
task step, no handler, no log) and its in-flight replies are never
delivered; an idle cluster runs ten virtual minutes by jumping the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness import (
    Disk,
    Fatal,
    HarnessError,
    Limits,
    LocalServers,
    Simulation,
    SourceImpl,
    StudentError,
    VirtualTimeLimit,
    derive_seed,
)
from harness._sandbox.host import current

from .toys import (
    Args,
    EchoService,
    Reply,
    ToyServers,
    client,
    cluster,
    events,
    lost_reasons,
    restart,
    run,
    serve,
    service_of,
)
from .workload import summary, world

ROOT = Path(__file__).resolve().parents[2]


class Ticker(EchoService):
    """A life that works on its own: a task that ticks and logs every 100 ms."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.ticks = 0
        asyncio.get_running_loop().create_task(self.tick())

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            self.ticks += 1
            logging.getLogger("toy").info("tick %d of server %d", self.ticks, self.me)


# ---------------------------------------------------------------- determinism


def run_workload_in_a_new_process(seed: int, hashseed: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", "from tests.harness.workload import main; main()",
                           str(seed)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONHASHSEED": hashseed})
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_the_same_seed_gives_the_same_trace_across_processes_and_hash_seeds() -> None:
    first = run_workload_in_a_new_process(5, "1")
    second = run_workload_in_a_new_process(5, "2")
    assert first == second
    # The workload is not trivial: every kind of loss, a crash, a restart, logs.
    assert first["events"] > 1000
    assert {"request dropped", "reply dropped", "unreachable"} <= set(first["lost"])
    assert first["kinds"]["crash"] == 1 and first["kinds"]["start"] == 4
    assert first["kinds"]["log"] > 100 and first["kinds"]["link"] > 0
    # ... and this process (another hash seed again) agrees too.
    assert summary(world(5)) == first


def test_the_same_seed_gives_the_same_trace_twice_in_one_process() -> None:
    assert world(8).trace.digest() == world(8).trace.digest()


def test_different_seeds_give_different_traces() -> None:
    digests = {world(seed).trace.digest() for seed in (1, 2, 3, 4)}
    assert len(digests) == 4


class Breaker(EchoService):
    """Draws from its stream, leaves work pending, and breaks when asked."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        asyncio.get_running_loop().create_task(asyncio.sleep(500))  # left pending

    def explode(self, args: Args) -> Reply:
        random.random()
        raise ValueError("broken handler")


def test_a_failed_run_leaves_nothing_behind_for_the_next_run() -> None:
    before = world(9).trace.digest()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    # A run that passes with work left pending, on the tester's side and in lives.
    sim, _, _ = cluster(9, 2, Breaker)

    async def pending() -> None:
        asyncio.create_task(asyncio.sleep(50))
        await client(sim, 0).call("slow", Args(20))

    assert sim.run(pending()).failure is None

    # A run that a server breaks, one that runs out of virtual time, one that fails a check.
    sim, _, _ = cluster(9, 2, Breaker)

    async def broken() -> None:
        await client(sim, 1).call("explode", Args())

    assert isinstance(sim.run(broken()).failure, StudentError)
    sim, _, _ = cluster(9, 2, Breaker, limits=Limits(virtual_seconds=1))

    async def too_long() -> None:
        await asyncio.sleep(10)

    assert isinstance(sim.run(too_long()).failure, VirtualTimeLimit)
    sim, _, _ = cluster(9, 2, Breaker)

    async def fatal() -> None:
        raise Fatal("stop")

    assert isinstance(sim.run(fatal()).failure, Fatal)

    assert asyncio.events._get_running_loop() is None
    assert current.host is None
    assert root.handlers == handlers and root.level == level
    assert world(9).trace.digest() == before


def test_seeds_of_the_streams_are_stable_and_independent() -> None:
    # Pinned: changing the derivation would change the run every recorded seed replays.
    assert derive_seed(1, "network") == 1112071170121170155
    assert derive_seed(1, "tester") == 16961976565086690098
    assert derive_seed(1, "student/0/1") == 2228034756768860019
    assert derive_seed(1, "student/import") == 7667302182029620548
    assert derive_seed(2, "network") != derive_seed(1, "network")
    names = ("network", "tester", "student/import", "student/0/1", "student/0/2", "student/1/1")
    assert len({derive_seed(1, name) for name in names}) == len(names)
    assert all(0 <= derive_seed(s, name) < 2**64 for s in range(50) for name in names)
    sim = Simulation(3, ToyServers(1))
    assert sim.student_seed(2, 5) == derive_seed(3, "student/2/5")
    assert sim.import_seed == derive_seed(3, "student/import")
    sim.loop.close()


# --------------------------------------------------------------- randomness


def stream(seed: int, name: str, k: int) -> list[float]:
    rng = random.Random(derive_seed(seed, name))
    return [rng.random() for _ in range(k)]


class Drawer(EchoService):
    """Draws with the module-level ``random`` functions: at boot, in a timer, in a handler."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.drawn = [random.random() for _ in range(3)]
        asyncio.get_running_loop().call_later(1, self.draw)

    def draw(self) -> None:
        self.drawn.append(random.random())

    def roll(self, args: Args) -> Reply:
        self.drawn.append(random.random())
        return Reply(self.drawn[-1], self.me, self.number)


class GreedyDrawer(Drawer):
    def __init__(self, *args: Any) -> None:
        for _ in range(100):
            random.random()
        random.seed(0)  # reseeds its own stream, nobody else's
        super().__init__(*args)


def draws(seed: int, first: Any = Drawer) -> tuple[dict[tuple[int, int], list[float]],
                                                    list[float]]:
    """What each life (server, number) drew, and the tester's draws. Server 0's
    first life runs ``first``; every other life a Drawer."""
    sim = Simulation(seed, ToyServers(2))
    handle, zero = serve(sim, 0, first)
    _, one = serve(sim, 1, Drawer)

    async def main() -> list[Any]:
        await asyncio.sleep(1.5)
        assert (await client(sim, 1).call("roll", Args())).value == one.drawn[-1]
        _, again = restart(sim, 0, handle, Drawer)
        await asyncio.sleep(1.5)
        return [zero, one, again]

    lives = run(sim, main())
    return ({(s.me, s.number): s.drawn for s in lives}, [sim.rng.random() for _ in range(3)])


def test_each_server_life_draws_from_its_own_stream() -> None:
    lives, tester = draws(7)
    assert lives == {
        (0, 1): stream(7, "student/0/1", 4),  # boot, timer
        (1, 1): stream(7, "student/1/1", 5),  # boot, timer, handler
        (0, 2): stream(7, "student/0/2", 4),  # a restart: a fresh stream, not life 1's next
    }
    assert tester == stream(7, "tester", 3)
    assert draws(7) == (lives, tester)
    assert draws(8)[0][(0, 1)] != lives[(0, 1)]


def test_a_lifes_draws_do_not_depend_on_what_other_lives_draw() -> None:
    lives, tester = draws(7)
    greedy, greedy_tester = draws(7, GreedyDrawer)  # server 0's first life draws 100 and reseeds
    reseeded = random.Random(0)
    assert greedy[(0, 1)] == [reseeded.random() for _ in range(4)]
    assert greedy[(1, 1)] == lives[(1, 1)] and greedy[(0, 2)] == lives[(0, 2)]
    assert greedy_tester == tester


def test_a_module_runs_with_the_import_stream_afresh_for_every_life() -> None:
    source = "\n".join([
        "import asyncio, random",
        "AT_IMPORT = [random.random() for _ in range(2)]",
        "class Raft:",
        "    def __init__(self, peers, me, persister, apply_ch):",
        "        self.at_import = AT_IMPORT",
        "        self.at_boot = [random.random() for _ in range(2)]",
        "    def get_state(self): return 0, False",
        "    def start(self, command): return -1, 0, False",
        "    def snapshot(self, index, snapshot): pass",
        "    def kill(self): pass",
    ])
    sim = Simulation(7, LocalServers(SourceImpl("raft.py", source)))

    async def main() -> list[Any]:
        lives = []
        for server in (0, 1, 0):
            handle = sim.start_server(server, 2)
            handle.boot(Disk(), [])
            lives.append(service_of(handle))
        return lives

    first, other, second = run(sim, main())
    for life in (first, other, second):
        assert life.at_import == stream(7, "student/import", 2)
    assert first.at_import is not second.at_import  # the module ran again
    assert first.at_boot == stream(7, "student/0/1", 2)
    assert other.at_boot == stream(7, "student/1/1", 2)
    assert second.at_boot == stream(7, "student/0/2", 2)


def test_the_global_random_functions_are_restored_after_a_run() -> None:
    names = ("random", "randrange", "randint", "uniform", "choice", "shuffle", "seed",
             "getstate", "setstate")
    originals = {name: getattr(random, name) for name in names}
    random.seed(12345)
    state = random.getstate()
    seen_by_the_tester: list[bool] = []

    sim, _, _ = cluster(3, 2, GreedyDrawer)

    async def main() -> None:
        await client(sim, 0).call("roll", Args())
        # Between steps of the lives, the tester sees the global functions.
        seen_by_the_tester.append(all(getattr(random, n) is f for n, f in originals.items()))

    run(sim, main())
    assert seen_by_the_tester == [True]
    assert random.getstate() == state

    failing, _, _ = cluster(3, 2, Breaker)

    async def broken() -> None:
        await client(failing, 0).call("explode", Args())  # draws, then raises

    assert isinstance(failing.run(broken()).failure, StudentError)
    assert random.getstate() == state
    assert all(getattr(random, n) is f for n, f in originals.items())


# ------------------------------------------------------------------ logging


class Talker(EchoService):
    """Logs when it boots and from a timer 250 ms later."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        log = logging.getLogger("toy")
        log.info("booted %d", self.me)
        asyncio.get_running_loop().call_later(0.25, log.warning, "timer of %s", "server code")

    def bad(self, args: Args) -> Reply:
        logging.getLogger("toy").error("bad format %d", "not a number")
        return Reply(args.value, self.me, self.number)


def test_log_records_land_in_the_trace_stamped_with_server_and_life() -> None:
    sim, handles, _ = cluster(1, 2)

    async def main() -> None:
        await asyncio.sleep(0.5)
        await client(sim, 1).call("log", Args("hello"))
        logging.getLogger("tester").info("tester says %d", 42)
        restart(sim, 1, handles[1], Talker)  # life 2, booted during the run
        await client(sim, 1).call("log", Args("again"))
        await asyncio.sleep(1)

    run(sim, main())
    logs = [(ev[2], ev[3], ev[4], ev[5], ev[6]) for ev in events(sim, "log")]
    assert logs == [
        (1, 1, "INFO", "toy", "echo hello from server 1"),
        (-1, 0, "INFO", "tester", "tester says 42"),
        (1, 2, "INFO", "toy", "booted 1"),
        (1, 2, "INFO", "toy", "echo again from server 1"),
        (1, 2, "WARNING", "toy", "timer of server code"),
    ]
    first, _, booted, _, timer = events(sim, "log")
    assert 0.5 < first[0] < 0.51  # stamped with virtual time
    assert timer[0] == booted[0] + 0.25


def test_the_log_level_filters_records_and_logging_is_restored_afterwards() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    sim = Simulation(1, ToyServers(1), log_level=logging.WARNING)

    async def main() -> None:
        serve(sim, 0, Talker)
        logging.getLogger("toy").info("not kept")
        logging.getLogger("toy").warning("kept")
        await asyncio.sleep(1)

    run(sim, main())
    assert [(ev[2], ev[6]) for ev in events(sim, "log")] == [
        (-1, "kept"), (0, "timer of server code")]
    assert root.handlers == handlers and root.level == level


def test_a_log_call_with_a_bad_format_is_recorded_rather_than_failing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest's own log handlers raise on a bad format unless this is off.
    monkeypatch.setattr(logging, "raiseExceptions", False)
    sim, _, _ = cluster(1, 1, Talker)

    async def main() -> None:
        await client(sim, 0).call("bad", Args())
        logging.getLogger("tester").warning("tester bad %d", "x")
        await asyncio.sleep(0.5)

    run(sim, main())
    assert [ev[2:] for ev in events(sim, "log")] == [
        (0, 1, "ERROR", "toy", "'bad format %d' % ('not a number',)"),
        (-1, 0, "WARNING", "tester", "'tester bad %d' % ('x',)"),
        (0, 1, "WARNING", "toy", "timer of server code"),
    ]


# ----------------------------------------------------------------- outcomes


def test_an_outcome_reports_the_result_and_the_virtual_time() -> None:
    sim = Simulation(4, ToyServers(1))

    async def main() -> str:
        await asyncio.sleep(2.25)
        return "done"

    outcome = sim.run(main())
    assert outcome.passed and outcome.failure is None
    assert (outcome.result, outcome.sim_time, outcome.seed) == ("done", 2.25, 4)
    assert outcome.events == len(sim.trace)
    assert outcome.wall_time >= 0


def test_a_fatal_check_ends_the_run_and_is_recorded_in_the_trace() -> None:
    sim = Simulation(4, ToyServers(1))

    async def main() -> None:
        await asyncio.sleep(1)
        raise Fatal("expected one leader, got none")

    outcome = sim.run(main())
    assert not outcome.passed
    assert isinstance(outcome.failure, Fatal)
    assert outcome.result is None and outcome.sim_time == 1.0
    assert [ev[4] for ev in events(sim, "failure")] == ["expected one leader, got none"]


def test_a_servers_exception_fails_the_run_as_the_students_naming_the_life() -> None:
    sim, _, _ = cluster(4, 3, Breaker)

    async def main() -> None:
        await asyncio.sleep(1)
        await client(sim, 2).call("explode", Args())
        await asyncio.sleep(100)

    outcome = sim.run(main())
    failure = outcome.failure
    assert isinstance(failure, StudentError) and not outcome.passed
    assert failure.where == "server 2 (incarnation 1)"
    assert "ValueError: broken handler" in failure.message
    assert outcome.sim_time < 1.01  # the run ends at once
    assert [ev[4] for ev in events(sim, "failure")] == [str(failure)]


def test_a_bug_in_the_testers_code_is_a_harness_error() -> None:
    sim = Simulation(4, ToyServers(1))

    async def main() -> None:
        await asyncio.sleep(1)
        raise KeyError("oops")

    failure = sim.run(main()).failure
    assert isinstance(failure, HarnessError)
    assert str(failure) == "internal error in raftlab: KeyError: 'oops'"


def test_running_out_of_virtual_time_is_the_outcome_at_the_limit() -> None:
    sim, _, _ = cluster(4, 2, Ticker, limits=Limits(virtual_seconds=3))

    async def main() -> None:
        await asyncio.sleep(10)

    outcome = sim.run(main())
    assert isinstance(outcome.failure, VirtualTimeLimit)
    assert outcome.sim_time == 3.0


def test_lives_are_numbered_per_server_and_recorded() -> None:
    sim = Simulation(1, ToyServers(2))
    numbers = [sim.start_server(s, 2).number for s in (0, 1, 0, 0, 1)]
    assert numbers == [1, 1, 2, 3, 2]
    assert [(ev[2], ev[3]) for ev in events(sim, "start")] == [(0, 1), (1, 1), (0, 2), (0, 3),
                                                              (1, 2)]
    assert [h.label for h in sim.handles[:3]] == [
        "server 0 (incarnation 1)", "server 1 (incarnation 1)", "server 0 (incarnation 2)"]
    run(sim, asyncio.sleep(0))  # never booted: nothing to run, nothing to end


# ------------------------------------------------------------------- crashes


class Spawner(EchoService):
    """A handler that starts a background task and a timer, as Raft handlers do."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.happened: list[str] = []

    def spawn(self, args: Args) -> Reply:
        loop = asyncio.get_running_loop()
        loop.create_task(self.background())
        loop.call_later(5, self.happened.append, "timer fired")
        return Reply(args.value, self.me, self.number)

    async def background(self) -> None:
        try:
            await asyncio.sleep(5)
            self.happened.append("task finished")
        except asyncio.CancelledError:
            self.happened.append("task cancelled")
            raise
        finally:
            logging.getLogger("toy").warning("background of server %d ends", self.me)


def test_a_crashed_servers_in_flight_reply_is_never_delivered() -> None:
    sim, handles, services = cluster(1, 2)

    async def main() -> tuple[Any, float]:
        pending = asyncio.ensure_future(client(sim, 0).call("slow", Args(3)))
        await asyncio.sleep(1)
        sim.crash(handles[0])  # the process dies; the network still lists the server
        reply = await pending
        when = asyncio.get_running_loop().time()
        await asyncio.sleep(10)
        return reply, when

    reply, when = run(sim, main())
    assert reply is None
    assert 1.0 < when <= 1.1  # labrpc's poll notices the dead server within 100 ms
    assert services[0].finished == []  # the handler never got past its sleep
    assert events(sim, "reply") == []
    assert lost_reasons(sim) == {"server dead": 1}
    assert [(ev[0], ev[2], ev[3]) for ev in events(sim, "crash")] == [(1.0, 0, 1)]


def test_a_crashed_lifes_tasks_and_timers_never_run_again() -> None:
    sim, handles, services = cluster(1, 2, Spawner)

    async def main() -> list[list[str]]:
        for i in range(2):
            assert (await client(sim, i).call("spawn", Args(i))).value == i
        await asyncio.sleep(1)
        sim.crash(handles[0])
        await asyncio.sleep(10)
        return [list(s.happened) for s in services]

    dead, alive = run(sim, main())
    assert dead == []  # not finished, not fired, and not cancelled either: a process death
    assert sorted(alive) == ["task finished", "timer fired"]
    assert [ev[6] for ev in events(sim, "log")] == ["background of server 1 ends"]


def test_a_crashed_life_stops_ticking_and_logging_at_the_crash() -> None:
    sim, handles, services = cluster(1, 2, Ticker)

    async def main() -> list[int]:
        await asyncio.sleep(1.05)
        sim.crash(handles[0])
        sim.crash(handles[0])  # a second crash is a no-op
        await asyncio.sleep(2)
        return [s.ticks for s in services]

    assert run(sim, main()) == [10, 30]
    dead_logs = [ev for ev in events(sim, "log") if ev[2] == 0]
    assert len(dead_logs) == 10 and max(ev[0] for ev in dead_logs) < 1.05
    assert [ev[6] for ev in events(sim, "log") if ev[2] == 1][-1] == "tick 30 of server 1"
    assert len(events(sim, "crash")) == 1


def test_a_request_reaching_a_crashed_life_does_not_run_its_handler() -> None:
    sim, handles, services = cluster(1, 2)

    async def main() -> Any:
        await client(sim, 0).call("echo", Args(1))
        sim.crash(handles[0])  # still registered on the network: requests reach "it"
        return await client(sim, 0).call("echo", Args(2))

    assert run(sim, main()) is None
    assert services[0].calls == 1
    assert lost_reasons(sim) == {"server dead": 1}
    assert [ev[2:4] for ev in events(sim, "deliver")] == [(0, 1)]


def test_a_task_that_would_swallow_its_cancellation_simply_never_runs_again() -> None:
    """What used to be a zombie (a task that catches CancelledError and goes on) is
    harmless now: a crash cancels nothing; the life just never runs again."""

    class Zombie(Ticker):
        async def tick(self) -> None:
            while True:
                with contextlib.suppress(asyncio.CancelledError):  # the bug of old
                    await asyncio.sleep(0.1)
                self.ticks += 1

    sim, handles, services = cluster(1, 1, Zombie)

    async def main() -> int:
        await asyncio.sleep(2.05)
        sim.crash(handles[0])
        await asyncio.sleep(100)
        return services[0].ticks

    outcome = sim.run(main())
    assert outcome.passed and outcome.result == 20
    assert outcome.sim_time == 102.05


def test_when_an_in_process_run_ends_a_crashed_lifes_code_is_closed_unheard() -> None:
    """In-process, the run's end closes every life's tasks, crashed ones too (their
    ``finally`` blocks run: a coroutine cannot be dropped without closing it, and
    keeping it forever would grow the process). That is after the verdict, and
    nothing it does is recorded: the trace ends as the run did. (In a sandbox the
    process is killed and nothing runs at all.)"""
    sim, handles, services = cluster(1, 1, Spawner)

    async def main() -> None:
        await client(sim, 0).call("spawn", Args(0))
        sim.crash(handles[0])

    run(sim, main())
    assert services[0].happened == ["task cancelled"]  # closed at the end ...
    crashed = next(i for i, ev in enumerate(sim.trace.events) if ev[1] == "crash")
    assert not [ev for ev in sim.trace.events[crashed:] if ev[2] == 0 and ev[1] == "log"]


def test_a_testers_call_on_a_crashed_life_does_not_run_its_code() -> None:
    class Counting(EchoService):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.states = 0

        def get_state(self) -> tuple[int, bool]:
            self.states += 1
            return 0, False

    sim, handles, services = cluster(1, 1, Counting)

    async def main() -> int:
        sim.crash(handles[0])
        before = services[0].states
        with pytest.raises(HarnessError, match="crashed"):  # a bug of the tester's
            handles[0].call("get_state")
        return services[0].states - before

    assert sim.run(main()).result == 0


# --------------------------------------------------------------- idle cluster


def test_an_idle_cluster_runs_ten_virtual_minutes_by_jumping_the_clock() -> None:
    sim, _, services = cluster(1, 3, Ticker, limits=Limits(virtual_seconds=700))
    sim.log_level = logging.WARNING  # 18,000 tick records are not the point here

    async def main() -> list[int]:
        await asyncio.sleep(600)
        return [s.ticks for s in services]

    start = time.perf_counter()
    outcome = sim.run(main())
    wall = time.perf_counter() - start
    assert outcome.passed, outcome.failure
    assert outcome.sim_time == 600.0
    ticks = outcome.result
    assert all(5990 <= t <= 6000 for t in ticks), ticks
    # The servers' timers fall at the same instants, so their wake-ups share the
    # trusted loop's iterations; no iteration is spent polling.
    assert sim.loop.iterations <= 2 * max(ticks)
    # In each life's own loop a tick costs O(1) iterations: the timer, then the task's step.
    for handle in sim.handles:
        assert handle.transport.host.loop.iterations <= 2 * max(ticks) + 10  # type: ignore[attr-defined]
    print(f"10 idle virtual minutes of 3 servers: {sim.loop.iterations} trusted loop "
          f"iterations, {wall:.3f} s wall")
