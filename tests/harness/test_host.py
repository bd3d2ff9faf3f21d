"""Tests of one server life's host, driven with protocol frames (harness/_sandbox/host.py).

No simulation here: each test makes a ``Host`` of a small Raft-shaped class
(``ClassImpl``, or a raft.py's text with ``SourceImpl``) and sends it the
trusted side's commands directly; every report it answers must pass both of
the trusted side's readers (``load_report`` + ``parse_report``, and the
in-process fast path) with the same result.

Boot constructs the Raft with its ends, its persister (holding the bytes of
the boot) and its apply channel; a raising constructor is a "raised" result
that names the constructor, a module that does not load a "noload" with the
loader's message. A tester's call runs only that method (what it wakes runs at
the next step: wake is "now"); every other command runs the server until
nothing more is due and reports its next timer. Effects come in order: sends
with the encoded args, async handlers' replies, offers (a put stays suspended
until "taken"), log records, the last save of the step, and the first error
only. Misuse of the student API is an "api" error even when the code catches
the exception; every exception of the code is the student's, whatever its
type (raftlab's own exception classes included); sys.exit() names the file
and line; KeyboardInterrupt propagates only in-process. After a failure the
host runs nothing more; ``state`` is get_state() after the step, or null.
In-process hosts are isolated: each has its own ``random`` stream, its own
``raftlab_impl`` module, its own contextvars context and its own log
records. The same commands give the same reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, NamedTuple

import pytest

from harness import (
    ApplyMsg,
    BlockingCallError,
    ClientEnd,
    CodecError,
    DeadlockError,
    Fatal,
    HarnessError,
    Persister,
    SpinError,
    StudentError,
    decode,
    encode,
)
from harness._protocol import (
    MAX_STEP_LOG,
    MAX_TEXT,
    Frame,
    command_boot,
    command_call,
    command_check,
    command_deliver,
    command_reply,
    command_run,
    command_taken,
    load_report,
    pack_report,
    parse_report,
)
from harness._sandbox.api import ApplyChannel
from harness._sandbox.host import _RANDOM_NAMES, _RANDOM_ORIGINAL, Host, capture_logs, current
from harness._sandbox.loader import MODULE_NAME, ClassImpl, Impl, SourceImpl

N = 3


class Step(NamedTuple):
    """A report's fields."""

    result: list[Any]
    effects: list[list[Any]]
    wake: float | None
    state: list[Any] | None


OK = ["ok", None]
NOTHING = Step(OK, [], None, None)  # what a host that runs nothing reports


def readers_agree(frame: Frame, n: int = N) -> None:
    """The trusted side reads the report the same way in both modes."""
    slow = parse_report(load_report(pack_report(frame)[4:]), n)
    fast = parse_report(frame, n, checked=True)
    assert (slow.result, [tuple(e) for e in slow.effects], slow.wake, slow.state) == (
        fast.result, [tuple(e) for e in fast.effects], fast.wake, fast.state)


class Life:
    """A host stepped with protocol frames, as the trusted side steps it."""

    def __init__(self, impl: Impl | type, *, in_process: bool = True, n: int = N) -> None:
        self.host = Host(ClassImpl(impl) if isinstance(impl, type) else impl,
                         in_process=in_process)
        self.n = n

    def send(self, frame: Frame) -> Step:
        got = self.host.handle(frame)
        assert type(got) is list and len(got) == 5 and got[0] == "report"
        readers_agree(got, self.n)
        return Step(*got[1:])

    def boot(self, now: float = 0.0, *, me: int = 0, number: int = 1, seed: int = 1,
             import_seed: int = 2, level: int = logging.DEBUG, state: bytes = b"",
             snapshot: bytes = b"") -> Step:
        return self.send(command_boot(now, me, self.n, number, seed, import_seed, level, state,
                                      snapshot))

    def call(self, now: float, name: str, *args: Any) -> Step:
        return self.send(command_call(now, name, *args))

    def start(self, now: float, command: Any) -> Step:
        return self.call(now, "start", encode(command))

    def deliver(self, now: float, cid: int, method: str, args: Any = None, *,
                raw: bytes | None = None) -> Step:
        return self.send(command_deliver(now, cid, method, encode(args) if raw is None else raw))

    def reply(self, now: float, lid: int, value: Any, *, lost: bool = False) -> Step:
        return self.send(command_reply(now, lid, None if lost else encode(value)))

    def taken(self, now: float, put_id: int) -> Step:
        return self.send(command_taken(now, put_id))

    def run(self, now: float) -> Step:
        return self.send(command_run(now))

    def check(self) -> Step:
        return self.send(command_check())

    @property
    def raft(self) -> Any:
        return self.host.raft

    def close(self) -> None:
        """End the life's code, as LocalServers.close does after a run."""
        loop = self.host.loop
        if loop is not None and not loop.is_closed():
            previous = self.host._enter()
            try:
                loop.shutdown()
            finally:
                self.host._leave(previous)


@pytest.fixture
def lives() -> Iterator[Callable[..., Life]]:
    """Makes lives; closes them after the test and restores ``raftlab_impl``."""
    made: list[Life] = []
    module = sys.modules.get(MODULE_NAME)

    def make(impl: Impl | type, **kwargs: Any) -> Life:
        life = Life(impl, **kwargs)
        made.append(life)
        return life

    yield make
    for life in made:
        life.close()
    if module is None:
        sys.modules.pop(MODULE_NAME, None)
    else:
        sys.modules[MODULE_NAME] = module


@pytest.fixture(autouse=True)
def outside_logs() -> Iterator[list[tuple[str, str]]]:
    """Log records go to the running host; the ones of nobody's code land here."""
    outside: list[tuple[str, str]] = []
    undo = capture_logs(logging.DEBUG, lambda record, message: outside.append(
        (record.name, message)))
    yield outside
    undo()


@pytest.fixture
def process_state() -> Iterator[None]:
    """For a host with ``in_process=False``, which takes over the process's random
    stream, log sink and running loop: put them back."""
    bound = {name: vars(random)[name] for name in _RANDOM_NAMES}
    state = random.getstate()
    host = current.host
    loop = asyncio.events._get_running_loop()
    yield
    vars(random).update(bound)
    random.setstate(state)
    current.host = host
    asyncio.events._set_running_loop(loop)


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    asyncio.get_running_loop().create_task(coro)


def line_of(source: str, text: str) -> int:
    """The 1-based line of ``source`` that contains ``text`` (exactly one)."""
    lines = [i for i, line in enumerate(source.splitlines(), 1) if text in line]
    assert len(lines) == 1, lines
    return lines[0]


class Base:
    """The tester's API, doing nothing, and one RPC handler."""

    def __init__(self, peers: list[Any], me: int, persister: Any, apply_ch: Any) -> None:
        self.peers = peers
        self.me = me
        self.persister = persister
        self.apply_ch = apply_ch
        self.term = 0
        self.leader = False

    def get_state(self) -> tuple[int, bool]:
        return self.term, self.leader

    def start(self, command: Any) -> tuple[int, int, bool]:
        return -1, self.term, False

    def snapshot(self, index: int, snapshot: bytes) -> None:
        pass

    def kill(self) -> None:
        pass

    def echo(self, args: Any) -> Any:
        return {"echo": args}


# ------------------------------------------------------------------------ boot


class Holder(Base):
    def __init__(self, peers: list[Any], me: int, persister: Any, apply_ch: Any) -> None:
        super().__init__(peers, me, persister, apply_ch)
        loop = asyncio.get_running_loop()
        self.at_boot = {"state": persister.read_raft_state(),
                        "snapshot": persister.read_snapshot(), "loop": loop,
                        "time": loop.time()}


def test_boot_constructs_the_raft_with_its_ends_persister_and_apply_channel(lives: Any) -> None:
    life = lives(Holder)
    assert life.boot(2.5, me=1, number=4, state=b"S0", snapshot=b"P0") == Step(
        OK, [], None, [0, False])
    rf = life.raft
    assert type(rf) is Holder and rf.me == 1
    assert [type(p) for p in rf.peers] == [ClientEnd] * N
    assert [(p.src, p.dst) for p in rf.peers] == [(1, 0), (1, 1), (1, 2)]
    assert isinstance(rf.persister, Persister)
    assert rf.at_boot["state"] == b"S0" and rf.at_boot["snapshot"] == b"P0"
    assert (rf.persister.raft_state_size(), rf.persister.snapshot_size()) == (2, 2)
    assert isinstance(rf.apply_ch, ApplyChannel) and isinstance(rf.apply_ch, asyncio.Queue)
    assert rf.at_boot["loop"] is life.host.loop  # the life's own loop runs the constructor
    assert rf.at_boot["time"] == 2.5  # at the trusted side's time
    assert life.host.label == "server 1 (incarnation 4)"


def test_a_fresh_disk_reads_empty_bytes_at_boot(lives: Any) -> None:
    life = lives(Holder)
    life.boot()
    assert life.raft.at_boot["state"] == b"" and life.raft.at_boot["snapshot"] == b""


class BrokenConstructor(Base):
    def __init__(self, peers: list[Any], me: int, persister: Any, apply_ch: Any) -> None:
        super().__init__(peers, me, persister, apply_ch)
        raise ValueError("no quorum in sight")


def test_a_constructor_that_raises_gives_a_raised_result_naming_the_constructor(
        lives: Any) -> None:
    life = lives(BrokenConstructor)
    step = life.boot()
    status, kind, message, details = step.result
    assert (status, kind) == ("raised", "error")
    assert message == "Raft(...) (the constructor) raised ValueError: no quorum in sight"
    assert 'raise ValueError("no quorum in sight")' in details and "Traceback" in details
    assert step.effects == [] and step.state is None
    assert life.raft is None
    assert life.call(1.0, "get_state") == NOTHING  # no Raft to call


RAFT_METHODS = """
    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, 0, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
"""

NOLOAD: list[tuple[str, str, str]] = [
    ("other-classes",
     "import collections\nfrom dataclasses import dataclass\n\n\nclass Foo:\n    pass\n\n\n"
     "@dataclass\nclass Bar:\n    x: int = 0\n\n\nOrdered = collections.OrderedDict\n",
     "raft.py defines no class named Raft (it defines Bar, Foo): the grader creates servers "
     "with Raft(peers, me, persister, apply_ch)"),
    ("no-classes", "def Raft(peers, me, persister, apply_ch):\n    return None\n",
     "raft.py defines no class named Raft (it defines no classes at all)"),
    ("lowercase", "class raft:\n" + RAFT_METHODS,
     "raft.py defines no class named Raft (it defines raft)"),
    ("syntax", "class Raft:\n    def start(self, command)\n        pass\n",
     "raft.py does not parse: line 2: "),
    ("import-raises", "import math\n\nSCALE = 1 / math.floor(0.5)\n",
     "importing raft.py raised ZeroDivisionError: division by zero at line 3. Module-level "
     "code must only define things"),
    ("missing-methods", "class Raft:\n    def get_state(self):\n        return 0, False\n",
     "class Raft in raft.py lacks start, snapshot, kill(); keep the skeleton's method "
     "signatures"),
]


@pytest.mark.parametrize(("name", "source", "message"), NOLOAD, ids=[n for n, _, _ in NOLOAD])
def test_a_module_that_does_not_load_gives_noload_with_the_loaders_message(
        lives: Any, name: str, source: str, message: str) -> None:
    life = lives(SourceImpl("/submissions/alice/raft.py", source))
    step = life.boot()
    assert step.result[0] == "noload" and step.result[1].startswith(message)
    assert (step.effects, step.wake, step.state) == ([], None, None)
    assert life.raft is None
    # Nothing runs after it.
    assert life.run(1.0) == NOTHING
    assert life.call(1.0, "get_state") == NOTHING
    assert life.deliver(1.0, 1, "echo", 1) == NOTHING
    # "check" (what a sandbox's zygote is asked first) says the same.
    assert lives(SourceImpl("/submissions/alice/raft.py", source)).check() == Step(
        step.result, [], None, None)


def test_check_says_ok_for_a_module_with_a_usable_raft(lives: Any) -> None:
    life = lives(SourceImpl("raft.py", "class Raft:\n" + RAFT_METHODS))
    assert life.check() == NOTHING


def test_the_noload_names_only_classes_the_file_itself_defines(lives: Any) -> None:
    step = lives(SourceImpl("raft.py", NOLOAD[0][1])).boot()
    assert "OrderedDict" not in step.result[1] and "dataclass" not in step.result[1]


# -------------------------------------------------------------------- stepping


class Waiter(Base):
    """A task that waits for start() to set an event, then sends."""

    def __init__(self, peers: list[Any], me: int, persister: Any, apply_ch: Any) -> None:
        super().__init__(peers, me, persister, apply_ch)
        self.go = asyncio.Event()
        self.trail: list[Any] = []
        spawn(self.waiter())

    async def waiter(self) -> None:
        self.trail.append("waiting")
        await self.go.wait()
        self.trail.append("woken")
        await self.peers[1].call("echo", {"from": self.me})

    def start(self, command: Any) -> tuple[int, int, bool]:
        self.go.set()
        self.trail.append(("start", command))
        return 1, self.term, True


def test_a_tester_call_runs_only_that_method_and_wakes_the_server_now(lives: Any) -> None:
    life = lives(Waiter)
    # The constructor's task starts at the server's next step, not during boot.
    assert life.boot(0.0) == Step(OK, [], 0.0, [0, False])
    assert life.raft.trail == []
    assert life.run(0.0) == Step(OK, [], None, [0, False])
    assert life.raft.trail == ["waiting"]
    step = life.start(1.0, ["put", "x"])
    assert step == Step(["ok", [1, 0, True]], [], 1.0, [0, False])
    assert life.raft.trail == ["waiting", ("start", ["put", "x"])]  # the waiter did not run
    step = life.run(1.0)
    assert life.raft.trail[-1] == "woken"
    assert step == Step(OK, [["send", 1, 1, "echo", encode({"from": 0})]], None, [0, False])


def test_a_tester_call_with_nothing_woken_reports_the_next_timer(lives: Any) -> None:
    class Sleeper(Base):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            asyncio.get_running_loop().call_later(5.0, lambda: None)

    life = lives(Sleeper)
    assert life.boot(1.0).wake == 6.0
    assert life.call(2.0, "get_state") == Step(["ok", [0, False]], [], 6.0, [0, False])


class Timers(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.fired: list[tuple[str, float]] = []
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, self.tick, "a")
        loop.call_later(1.5, self.tick, "b")
        loop.call_later(3.0, self.tick, "c")

    def tick(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        self.fired.append((name, loop.time()))
        if name == "a":
            loop.call_soon(self.tick, "a-soon")  # runs in this step
            loop.call_later(0.2, self.tick, "a-later")  # due after this step's instant
            spawn(self.chain())

    async def chain(self) -> None:
        await asyncio.sleep(0)
        self.fired.append(("chain", asyncio.get_running_loop().time()))

    def arm(self, args: Any) -> Any:
        loop = asyncio.get_running_loop()
        loop.call_later(args, self.tick, "armed")
        return {"now": loop.time()}


def test_run_fires_every_timer_due_by_now_and_what_they_schedule_then_reports_the_next(
        lives: Any) -> None:
    life = lives(Timers)
    assert life.boot(0.0).wake == 0.5
    assert life.run(0.25) == Step(OK, [], 0.5, [0, False])
    assert life.raft.fired == []
    assert life.run(2.0) == Step(OK, [], 2.2, [0, False])
    assert life.raft.fired == [("a", 2.0), ("b", 2.0), ("a-soon", 2.0), ("chain", 2.0)]
    assert life.run(2.2).wake == 3.0
    assert life.raft.fired[-1] == ("a-later", 2.2)
    assert life.run(10.0).wake is None
    assert life.raft.fired[-1] == ("c", 10.0)


def test_deliver_runs_the_handler_then_the_server_until_idle(lives: Any) -> None:
    life = lives(Timers)
    life.boot(0.0)
    step = life.deliver(0.25, 7, "arm", 0.1)
    assert step == Step(["ok", ["reply", encode({"now": 0.25})]], [], 0.35, [0, False])
    # A delivery at a later instant fires what is due by then, as "run" does.
    step = life.deliver(1.0, 8, "arm", 5.0)
    assert [name for name, _ in life.raft.fired] == ["armed", "a", "a-soon", "chain"]
    assert step.wake == 1.2


class Caller(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.replies: list[Any] = []
        spawn(self.ask_all())

    async def ask_all(self) -> None:
        calls = [self.peers[j].call("echo", {"from": self.me, "to": j}) for j in (1, 2, 0)]
        self.replies.append(await asyncio.gather(*calls))
        await asyncio.sleep(0.5)
        self.replies.append(await self.peers[1].call("echo", "again"))


def test_sends_carry_the_encoded_args_and_replies_resume_the_calls(lives: Any) -> None:
    life = lives(Caller)
    life.boot()
    step = life.run(0.0)
    assert step.effects == [
        ["send", 1, 1, "echo", encode({"from": 0, "to": 1})],
        ["send", 2, 2, "echo", encode({"from": 0, "to": 2})],
        ["send", 3, 0, "echo", encode({"from": 0, "to": 0})],  # to itself: allowed
    ]
    assert decode(step.effects[0][4]) == {"from": 0, "to": 1}
    assert step.wake is None
    assert life.reply(0.1, 2, {"r": 2}) == Step(OK, [], None, [0, False])
    assert life.reply(0.2, 99, {"r": 99}) == Step(OK, [], None, [0, False])  # no such call
    assert life.reply(0.3, 3, None, lost=True).wake is None
    step = life.reply(0.4, 1, {"r": 1})  # the last one: gather returns, the task goes on
    assert life.raft.replies == [[{"r": 1}, {"r": 2}, None]]
    assert step == Step(OK, [], 0.9, [0, False])
    assert life.reply(0.5, 1, {"r": "late"}).effects == []  # already answered
    assert life.run(0.9).effects == [["send", 4, 1, "echo", encode("again")]]
    life.reply(1.0, 4, "back")
    assert life.raft.replies[-1] == "back"


class Handlers(Base):
    async def slow(self, args: Any) -> Any:
        await asyncio.sleep(args)
        return {"slept": args}

    async def gives_up(self, args: Any) -> Any:
        await asyncio.sleep(args)
        raise asyncio.CancelledError


def test_an_async_handler_is_pending_then_its_reply_is_a_replied_effect(lives: Any) -> None:
    life = lives(Handlers)
    life.boot()
    assert life.deliver(1.0, 41, "slow", 0.25) == Step(["ok", ["pending"]], [], 1.25,
                                                       [0, False])
    assert life.deliver(1.1, 42, "slow", 0.0) == Step(
        ["ok", ["pending"]], [["replied", 42, encode({"slept": 0.0})]], 1.25, [0, False])
    assert life.run(1.25) == Step(OK, [["replied", 41, encode({"slept": 0.25})]], None,
                                  [0, False])


def test_a_cancelled_async_handler_replies_none(lives: Any) -> None:
    life = lives(Handlers)
    life.boot()
    life.deliver(1.0, 5, "gives_up", 0.5)
    assert life.run(1.5) == Step(OK, [["replied", 5, None]], None, [0, False])


def test_a_sync_handler_replies_in_the_result(lives: Any) -> None:
    life = lives(Base)
    life.boot()
    assert life.deliver(1.0, 9, "echo", [1, "x"]) == Step(
        ["ok", ["reply", encode({"echo": [1, "x"]})]], [], None, [0, False])


class Burst(Base):
    """One task whose steps each do several things."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        spawn(self.work())

    async def work(self) -> None:
        log = logging.getLogger("raft")
        self.persister.save(b"first", b"")
        log.info("one")
        got = await self.peers[1].call("echo", {"n": 1})
        # the reply's step
        self.persister.save(b"second", b"s2")
        log.info("got %r", got)
        await asyncio.sleep(0)
        self.persister.save(b"third", b"s3")
        await self.apply_ch.put(ApplyMsg(command_valid=True, command="c", command_index=1))
        # the taken's step
        log.warning("applied")

    async def pend(self, args: Any) -> Any:
        await asyncio.sleep(0)
        logging.getLogger("raft").info("pend")
        return "pended"


def test_effects_come_in_the_order_the_code_made_them_with_the_last_save_of_a_step(
        lives: Any) -> None:
    life = lives(Burst)
    life.boot()
    assert life.run(0.0).effects == [
        ["log", "INFO", "raft", "one"],
        ["send", 1, 1, "echo", encode({"n": 1})],
        ["save", b"first", b""],
    ]
    assert life.reply(1.0, 1, {"ok": 1}).effects == [
        ["log", "INFO", "raft", "got {'ok': 1}"],
        ["offer", 1, True, encode("c"), 1, False, b"", 0, 0],
        ["save", b"third", b"s3"],  # the last of the step's two saves, once
    ]
    step = life.deliver(2.0, 3, "pend", None)
    assert step.effects == [["log", "INFO", "raft", "pend"], ["replied", 3, encode("pended")]]
    assert life.taken(3.0, 1).effects == [["log", "WARNING", "raft", "applied"]]
    assert life.run(4.0).effects == []  # nothing saved: no save effect


class Applier(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.progress: list[str] = []
        spawn(self.apply())

    async def apply(self) -> None:
        self.progress.append("put 1")
        await self.apply_ch.put(ApplyMsg(command_valid=True, command={"op": "x"},
                                         command_index=1))
        self.progress.append("put 1 returned")
        await self.apply_ch.put(ApplyMsg(snapshot_valid=True, snapshot=bytearray(b"snap"),
                                         snapshot_term=2, snapshot_index=5))
        self.progress.append("put 2 returned")
        await self.apply_ch.put(ApplyMsg(command_valid=1, command=None, command_index=7))
        self.progress.append("done")


def test_a_put_is_an_offer_of_the_applymsgs_fields_suspended_until_taken(lives: Any) -> None:
    life = lives(Applier)
    life.boot()
    assert life.run(0.0) == Step(
        OK, [["offer", 1, True, encode({"op": "x"}), 1, False, b"", 0, 0]], None, [0, False])
    assert life.run(5.0) == Step(OK, [], None, [0, False])
    assert life.taken(5.0, 99) == Step(OK, [], None, [0, False])  # not an offer of this life
    assert life.raft.progress == ["put 1"]
    assert life.taken(6.0, 1).effects == [["offer", 2, False, None, 0, True, b"snap", 2, 5]]
    assert life.raft.progress == ["put 1", "put 1 returned"]
    assert life.taken(6.5, 1).effects == []  # taken twice: nothing
    assert life.taken(7.0, 2).effects == [["offer", 3, True, None, 7, False, b"", 0, 0]]
    life.taken(8.0, 3)
    assert life.raft.progress[-1] == "done"


def test_only_the_first_error_of_a_life_is_reported(lives: Any) -> None:
    class TwoFaults(Base):
        async def fault(self) -> None:
            with contextlib.suppress(StudentError):  # careless: swallows the refusal
                await self.peers[1].call("_secret", None)
            raise ValueError("second fault")

        def go(self, args: Any) -> Any:
            spawn(self.fault())
            spawn(self.fault())
            return "ok"

    life = lives(TwoFaults)
    life.boot()
    step = life.deliver(1.0, 1, "go", None)
    assert [e[:2] for e in step.effects] == [["error", "api"]]
    assert "'_secret' starts with '_'" in step.effects[0][2]


# ------------------------------------------------------------------ API misuse


async def call_method(rf: Any, method: Any) -> Any:
    return await rf.peers[1].call(method, {"x": 1})


def calling(method: Any) -> Callable[[Any], Awaitable[Any]]:
    return lambda rf: call_method(rf, method)


async def put_nowait(rf: Any) -> None:
    rf.apply_ch.put_nowait(ApplyMsg())


async def get_nowait(rf: Any) -> None:
    rf.apply_ch.get_nowait()


MISUSES: list[tuple[str, Callable[[Any], Awaitable[Any]], str]] = [
    ("private", calling("_vote"),
     "peers[1].call('_vote', ...): '_vote' starts with '_', and private methods cannot be "
     "called over the network"),
    ("dunder", calling("__init__"), "'__init__' starts with '_'"),
    *[(f"reserved-{name}", calling(name),
       f"peers[1].call({name!r}, ...): {name!r} is part of the tester's API, not an RPC "
       "handler; write a separate handler method for the RPC")
      for name in ("get_state", "start", "snapshot", "kill")],
    ("unknown", calling("request_vote"),
     "peers[1].call('request_vote', ...): the server has no RPC handler named 'request_vote'; "
     "its handlers are: echo, go"),
    ("not-a-str", calling(b"echo"),
     "peers[1].call(b'echo', ...): the method name must be a str, not bytes"),
    ("put_nowait", put_nowait,
     "apply_ch.put_nowait(): apply_ch is Go's unbuffered applyCh: Raft only sends on it"),
    ("get", lambda rf: rf.apply_ch.get(), "apply_ch.get(): apply_ch is Go's unbuffered"),
    ("get_nowait", get_nowait,
     "apply_ch.get_nowait(): "),
    ("put-not-applymsg", lambda rf: rf.apply_ch.put({"command": 1}),
     "apply_ch.put() got {'command': 1}; put ApplyMsg(...) objects on it"),
    ("put-none", lambda rf: rf.apply_ch.put(None), "apply_ch.put() got None"),
    ("put-command-not-plain", lambda rf: rf.apply_ch.put(
        ApplyMsg(command_valid=True, command={1, 2}, command_index=1)),
     "ApplyMsg.command: value: a set cannot cross the network"),
    ("put-command-object", lambda rf: rf.apply_ch.put(
        ApplyMsg(command_valid=True, command=rf, command_index=1)),
     "ApplyMsg.command: value: a Catcher object cannot cross the network"),
    ("put-index-str", lambda rf: rf.apply_ch.put(
        ApplyMsg(command_valid=True, command=1, command_index="1")),
     "ApplyMsg.command_index must be an int or a bool, not str"),
    ("put-term-float", lambda rf: rf.apply_ch.put(
        ApplyMsg(snapshot_valid=True, snapshot=b"s", snapshot_term=1.0)),
     "ApplyMsg.snapshot_term must be an int or a bool, not float"),
    ("put-snapshot-str", lambda rf: rf.apply_ch.put(
        ApplyMsg(snapshot_valid=True, snapshot="s", snapshot_index=1)),
     "ApplyMsg.snapshot must be bytes, not str"),
]


class Catcher(Base):
    """Runs ``action`` in a task and catches whatever it raises."""

    action: Callable[[Any], Awaitable[Any]] | None = None
    caught: BaseException | None = None
    after: str = ""

    def go(self, args: Any) -> Any:
        spawn(self._act(args))
        return "going"

    async def _act(self, catch: bool) -> None:
        assert self.action is not None
        if not catch:
            await self.action(self)
            return
        try:
            await self.action(self)
        except Exception as e:
            self.caught = e
        self.after = "went on"


@pytest.mark.parametrize(("name", "action", "message"), MISUSES, ids=[m[0] for m in MISUSES])
def test_misuse_of_the_student_api_is_an_api_error_even_if_the_code_catches_it(
        lives: Any, name: str, action: Any, message: str) -> None:
    life = lives(Catcher)
    life.boot()
    life.raft.action = action
    step = life.deliver(1.0, 1, "go", True)
    assert step.result == ["ok", ["reply", encode("going")]]
    assert len(step.effects) == 1, step.effects
    kind, got_kind, got, details = step.effects[0]
    assert (kind, got_kind, details) == ("error", "api", "")
    assert message in got
    assert isinstance(life.raft.caught, StudentError)  # the code caught it ...
    assert life.raft.after == "went on"  # ... and went on, but the life has failed:
    assert (step.wake, step.state) == (None, None)
    assert life.run(2.0) == NOTHING


@pytest.mark.parametrize(("name", "action", "message"), MISUSES[:1] + MISUSES[-3:],
                         ids=[m[0] for m in MISUSES[:1] + MISUSES[-3:]])
def test_uncaught_misuse_is_one_api_error(lives: Any, name: str, action: Any,
                                          message: str) -> None:
    life = lives(Catcher)
    life.boot()
    life.raft.action = action
    step = life.deliver(1.0, 1, "go", False)
    assert [e[:2] for e in step.effects] == [["error", "api"]]
    assert message in step.effects[0][2]


def test_args_that_are_not_plain_data_raise_a_codec_error_the_code_may_catch(
        lives: Any) -> None:
    async def send_a_set(rf: Any) -> Any:
        return await rf.peers[2].call("echo", {"ids": {1, 2}})

    life = lives(Catcher)
    life.boot()
    life.raft.action = send_a_set
    step = life.deliver(1.0, 1, "go", True)
    assert step == Step(["ok", ["reply", encode("going")]], [], None, [0, False])  # no send
    assert isinstance(life.raft.caught, CodecError)
    assert str(life.raft.caught).startswith("call('echo'): value['ids']: a set cannot cross")
    # Not caught, it fails the run like any exception escaping a task.
    step = life.deliver(2.0, 2, "go", False)
    assert [e[:2] for e in step.effects] == [["error", "error"]]
    assert step.effects[0][2].startswith("CodecError: call('echo'): value['ids']: a set")


class BadReplies(Base):
    def none(self, args: Any) -> None:
        return None

    async def none_later(self, args: Any) -> None:
        await asyncio.sleep(0.1)

    def a_set(self, args: Any) -> Any:
        return {"voters": {1, 2}}

    async def itself_later(self, args: Any) -> Any:
        await asyncio.sleep(0.1)
        return self


@pytest.mark.parametrize(("method", "message"), [
    ("none", "RPC handler none() returned None. A handler must return a reply object (the "
             "caller could not tell a None reply from a lost message)."),
    ("none_later", "RPC handler none_later() returned None."),
    ("a_set", "the reply of RPC handler a_set(): value['voters']: a set cannot cross the "
              "network"),
    ("itself_later", "the reply of RPC handler itself_later(): value: a BadReplies object "
                     "cannot cross the network"),
])
def test_a_reply_that_cannot_cross_fails_the_life_as_the_students(lives: Any, method: str,
                                                                  message: str) -> None:
    life = lives(BadReplies)
    life.boot()
    step = life.deliver(1.0, 1, method, None)
    if method.endswith("_later"):  # an async handler: its reply comes at a later step
        assert step == Step(["ok", ["pending"]], [], 1.1, [0, False])
        step = life.run(1.1)
    assert len(step.effects) == 1
    kind, error_kind, got, _ = step.effects[0]
    assert (kind, error_kind) == ("error", "error")  # a StudentError of the host's own words
    assert got.startswith(message)
    assert (step.wake, step.state) == (None, None)


@pytest.mark.parametrize("method", ["nope", "_private", "start", "kill", "__init__"])
def test_a_delivery_to_a_method_that_is_no_handler_is_an_api_error(lives: Any,
                                                                  method: str) -> None:
    life = lives(Base)
    life.boot()
    step = life.deliver(1.0, 1, method, None)
    assert step.result == OK
    assert step.effects == [["error", "api", f"a call of {method!r} arrived, but the server has "
                             "no RPC handler of that name; its handlers are: echo", ""]]


# ------------------------------------------------- every exception is the student's

RAISED = [HarnessError, Fatal, StudentError, SpinError, BlockingCallError, DeadlockError,
          ValueError]


class Raiser(Base):
    exc: type[BaseException] = ValueError
    in_constructor = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if self.in_constructor:
            raise self.exc("boom")

    def blow(self, args: Any) -> Any:
        raise self.exc("boom")

    async def blow_later(self, args: Any) -> Any:
        await asyncio.sleep(0)
        raise self.exc("boom")

    def go(self, args: Any) -> Any:
        spawn(self.explode())
        return "ok"

    async def explode(self) -> None:
        raise self.exc("boom")

    def start(self, command: Any) -> tuple[int, int, bool]:
        raise self.exc("boom")


def raiser(exc: type[BaseException], *, in_constructor: bool = False) -> type[Raiser]:
    return type(f"Raiser{exc.__name__}", (Raiser,),
                {"exc": exc, "in_constructor": in_constructor})


@pytest.mark.parametrize("exc", RAISED, ids=[e.__name__ for e in RAISED])
@pytest.mark.parametrize(("method", "what"), [
    ("blow", "RPC handler blow"), ("blow_later", "task "), ("go", "task "),
])
def test_an_exception_escaping_the_servers_code_is_its_error_whatever_its_type(
        lives: Any, exc: type[BaseException], method: str, what: str) -> None:
    life = lives(raiser(exc))
    life.boot()
    step = life.deliver(1.0, 1, method, None)
    assert len(step.effects) == 1
    kind, error_kind, message, details = step.effects[0]
    assert (kind, error_kind) == ("error", "error")  # never "spin", "blocking", ...
    assert message.startswith(f"{exc.__name__}: boom (raised in {what}")
    assert 'raise self.exc("boom")' in details
    assert (step.wake, step.state) == (None, None)


@pytest.mark.parametrize("exc", RAISED, ids=[e.__name__ for e in RAISED])
def test_an_exception_from_a_tester_call_is_a_raised_result_whatever_its_type(
        lives: Any, exc: type[BaseException]) -> None:
    life = lives(raiser(exc))
    life.boot()
    step = life.start(1.0, "x")
    status, kind, message, details = step.result
    assert (status, kind, message) == ("raised", "error", f"start() raised {exc.__name__}: boom")
    assert 'raise self.exc("boom")' in details
    assert step.effects == [] and step.state == [0, False]  # a raise is not the life's end


@pytest.mark.parametrize("exc", RAISED, ids=[e.__name__ for e in RAISED])
def test_an_exception_from_the_constructor_is_a_raised_result_whatever_its_type(
        lives: Any, exc: type[BaseException]) -> None:
    step = lives(raiser(exc, in_constructor=True)).boot()
    assert step.result[:3] == ["raised", "error",
                               f"Raft(...) (the constructor) raised {exc.__name__}: boom"]


EXIT_SOURCE = """\
import asyncio
import sys


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        if me == 2:
            sys.exit("constructor")

    def get_state(self):
        return 0, False

    def start(self, command):
        sys.exit(3)

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass

    def quit(self, args):
        sys.exit()

    def later(self, args):
        asyncio.get_running_loop().create_task(self._later())
        return {}

    async def _later(self):
        await asyncio.sleep(1)
        raise SystemExit(0)
"""
NEVER = "a Raft server must never end its process"


def test_sys_exit_is_an_exit_error_naming_the_file_and_line(lives: Any) -> None:
    impl = SourceImpl("/submissions/bob/raft.py", EXIT_SOURCE)
    in_init, in_start, in_quit, in_task = (
        f"raft.py:{line_of(EXIT_SOURCE, text)}" for text in (
            'sys.exit("constructor")', "sys.exit(3)", "sys.exit()", "raise SystemExit(0)"))

    assert lives(impl).boot(me=2).result == [
        "raised", "exit", "Raft(...) (the constructor): the code called "
        f"sys.exit('constructor') at {in_init} in __init__; {NEVER}", ""]

    life = lives(impl)
    life.boot()
    assert life.start(1.0, "x").result == [
        "raised", "exit", f"start(): the code called sys.exit(3) at {in_start} in start; "
        f"{NEVER}", ""]

    step = life.deliver(2.0, 1, "quit", None)
    assert step.effects == [["error", "exit", f"the code called sys.exit() at {in_quit} in "
                             f"quit; {NEVER}", ""]]
    assert (step.wake, step.state) == (None, None)

    life = lives(impl)
    life.boot()
    assert life.deliver(1.0, 1, "later", None).wake == 2.0
    assert life.run(2.0).effects == [["error", "exit", f"the code called sys.exit(0) at "
                                      f"{in_task} in _later; {NEVER}", ""]]


def test_sys_exit_names_the_line_of_a_submission_in_a_folder_named_harness(
        lives: Any) -> None:
    life = lives(SourceImpl("/home/carol/harness/raft.py", EXIT_SOURCE))
    life.boot()
    step = life.deliver(1.0, 1, "quit", None)
    assert f"at raft.py:{line_of(EXIT_SOURCE, 'sys.exit()')} in quit" in step.effects[0][2]


class Interrupted(Base):
    in_constructor = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if self.in_constructor:
            raise KeyboardInterrupt

    def interrupt(self, args: Any) -> Any:
        raise KeyboardInterrupt

    def go(self, args: Any) -> Any:
        spawn(self.interrupt_later())
        return "ok"

    async def interrupt_later(self) -> None:
        raise KeyboardInterrupt

    def start(self, command: Any) -> tuple[int, int, bool]:
        raise KeyboardInterrupt


@pytest.mark.parametrize("how", ["handler", "task", "call"])
def test_keyboard_interrupt_propagates_from_an_in_process_host(lives: Any, how: str) -> None:
    host_before = current.host
    life = lives(Interrupted)
    life.boot()
    with pytest.raises(KeyboardInterrupt):
        if how == "handler":
            life.host.handle(command_deliver(1.0, 1, "interrupt", encode(None)))
        elif how == "task":
            life.host.handle(command_deliver(1.0, 1, "go", encode(None)))
        else:
            life.host.handle(command_call(1.0, "start", encode("x")))
    # ... after the host put the process back as it was.
    assert all(getattr(random, name) is _RANDOM_ORIGINAL[name] for name in _RANDOM_NAMES)
    assert asyncio.events._get_running_loop() is None
    assert current.host is host_before


def test_keyboard_interrupt_in_a_sandbox_is_the_students_error(process_state: None,
                                                               lives: Any) -> None:
    life = lives(Interrupted, in_process=False)
    life.boot()
    status, kind, message, _ = life.start(1.0, "x").result
    assert (status, kind, message) == ("raised", "error", "start() raised KeyboardInterrupt: ")
    step = life.deliver(1.0, 1, "interrupt", None)
    assert step.effects == [["error", "error", "the code raised KeyboardInterrupt", ""]]
    assert (step.wake, step.state) == (None, None)

    life = lives(Interrupted, in_process=False)
    life.boot()
    step = life.deliver(1.0, 1, "go", None)
    assert step.effects == [["error", "error", "the code raised KeyboardInterrupt", ""]]


def test_keyboard_interrupt_propagates_from_an_in_process_constructor(lives: Any) -> None:
    cls = type("InterruptedConstructor", (Interrupted,), {"in_constructor": True})
    with pytest.raises(KeyboardInterrupt):
        lives(cls).boot()


# ---------------------------------------------------------------- after a failure


class Doomed(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.ticks = 0
        self.get_state_calls = 0
        self.handled = 0
        asyncio.get_running_loop().call_later(1.0, self.tick)
        spawn(self.apply())

    def tick(self) -> None:
        self.ticks += 1
        asyncio.get_running_loop().call_later(1.0, self.tick)

    async def apply(self) -> None:
        await self.peers[1].call("echo", None)
        await self.apply_ch.put(ApplyMsg(command_valid=True, command=1, command_index=1))
        self.ticks += 100

    def blow(self, args: Any) -> Any:
        raise ValueError("boom")

    def echo(self, args: Any) -> Any:
        self.handled += 1
        return args

    def get_state(self) -> tuple[int, bool]:
        self.get_state_calls += 1
        return 0, False


def test_after_a_failure_the_host_runs_nothing_more(lives: Any) -> None:
    life = lives(Doomed)
    life.boot()
    assert life.run(0.0).effects == [["send", 1, 1, "echo", encode(None)]]
    assert life.reply(0.1, 1, "r").effects[0][0] == "offer"
    step = life.deliver(0.5, 1, "blow", None)
    assert [e[:2] for e in step.effects] == [["error", "error"]]
    assert (step.wake, step.state) == (None, None)
    rf = life.raft
    seen = (rf.ticks, rf.get_state_calls, rf.handled)
    assert seen == (0, 3, 0)  # get_state after boot, run and reply
    assert life.run(10.0) == NOTHING
    assert life.deliver(11.0, 2, "echo", "x") == NOTHING
    assert life.call(12.0, "get_state") == NOTHING
    assert life.start(12.0, "y") == NOTHING
    assert life.call(12.0, "kill") == NOTHING
    assert life.taken(13.0, 1) == NOTHING
    assert life.reply(14.0, 1, "again") == NOTHING
    assert (rf.ticks, rf.get_state_calls, rf.handled) == seen


# ----------------------------------------------------------------------- state


class Stated(Base):
    answer: Any = (0, False)

    def get_state(self) -> Any:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    def start(self, command: Any) -> Any:
        return command if not isinstance(command, list) else tuple(command)

    def promote(self, args: Any) -> Any:
        self.answer = (args, True)
        return "ok"


def test_state_is_get_state_after_each_step(lives: Any) -> None:
    life = lives(Stated)
    assert life.boot().state == [0, False]
    assert life.deliver(1.0, 1, "promote", 4).state == [4, True]
    life.raft.answer = (5, 0)  # an int is_leader reads as a bool
    assert life.run(2.0).state == [5, False]
    life.raft.answer = (6, 1)
    assert life.call(3.0, "get_state") == Step(["ok", [6, True]], [], None, [6, True])


GARBAGE_STATES = ["leader", None, (3,), (3, True, 1), [3, True], (True, True), (3.0, True),
                  ("3", True), (3, "yes"), (3, None)]


@pytest.mark.parametrize("answer", GARBAGE_STATES, ids=repr)
def test_state_is_null_when_get_state_returns_garbage_and_a_tester_call_says_bad(
        lives: Any, answer: Any) -> None:
    life = lives(Stated)
    life.boot()
    life.raft.answer = answer
    assert life.run(1.0) == Step(OK, [], None, None)  # not a failure of the life
    assert life.call(2.0, "get_state") == Step(["bad", repr(answer)], [], None, None)
    life.raft.answer = (1, False)
    assert life.run(3.0).state == [1, False]


def test_state_is_null_when_get_state_raises_and_the_life_goes_on(lives: Any) -> None:
    life = lives(Stated)
    life.boot()
    life.raft.answer = RuntimeError("not yet")
    assert life.run(1.0) == Step(OK, [], None, None)
    step = life.call(2.0, "get_state")
    assert step.result[:3] == ["raised", "error", "get_state() raised RuntimeError: not yet"]
    assert step.state is None
    life.raft.answer = (2, True)
    assert life.deliver(3.0, 1, "echo", 1).state == [2, True]


@pytest.mark.parametrize(("returned", "expected"), [
    ([3, 2, True], ["ok", [3, 2, True]]),
    ([3, 2, 1], ["ok", [3, 2, True]]),
    ([3, 2, 0], ["ok", [3, 2, False]]),
    ([3, 2], ["bad", "(3, 2)"]),
    ([True, 2, False], ["bad", "(True, 2, False)"]),
    ([3, 2.0, False], ["bad", "(3, 2.0, False)"]),
    ([3, 2, "yes"], ["bad", "(3, 2, 'yes')"]),
    (None, ["bad", "None"]),
    ("x" * 500, ["bad", repr("x" * 500)[:199] + "…"]),
])
def test_start_returns_index_term_and_is_leader_or_bad(lives: Any, returned: Any,
                                                       expected: list[Any]) -> None:
    life = lives(Stated)
    life.boot()
    assert life.start(1.0, returned).result == expected


class Recorder(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[Any] = []
        self.get_state_calls = 0
        asyncio.get_running_loop().call_later(5.0, lambda: None)

    def get_state(self) -> tuple[int, bool]:
        self.get_state_calls += 1
        return 1, True

    def snapshot(self, index: int, snapshot: bytes) -> None:
        self.calls.append(("snapshot", index, snapshot))

    def kill(self) -> None:
        self.calls.append(("kill",))


def test_snapshot_and_kill_calls_reach_the_raft(lives: Any) -> None:
    life = lives(Recorder)
    life.boot()
    assert life.call(1.0, "snapshot", 9, b"snap") == Step(OK, [], 5.0, [1, True])
    assert life.call(2.0, "kill").result == OK
    assert life.raft.calls == [("snapshot", 9, b"snap"), ("kill",)]


def test_after_kill_the_host_reports_no_wake_and_does_not_call_get_state(lives: Any) -> None:
    life = lives(Recorder)
    life.boot()
    calls = life.raft.get_state_calls
    assert life.call(2.0, "kill") == NOTHING
    assert life.raft.get_state_calls == calls


# ---------------------------------------------------------- in-process isolation


def stream(seed: int, k: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.random() for _ in range(k)]


class Drawer(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.drawn = [random.random()]
        self.bound_to: list[Any] = []

    def draw(self, args: Any) -> Any:
        self.drawn.append(random.random())
        self.bound_to.append(random.random.__self__)
        return self.drawn[-1]

    def reseed(self, args: Any) -> Any:
        random.seed(args)
        return "reseeded"


def test_each_host_draws_from_its_own_stream_seeded_by_its_boot(lives: Any) -> None:
    state = random.getstate()
    a, b = lives(Drawer), lives(Drawer)
    a.boot(seed=11)
    b.boot(seed=22, me=1)
    for t in (1.0, 2.0):
        assert decode(a.deliver(t, 1, "draw").result[1][1]) == a.raft.drawn[-1]
        b.deliver(t, 1, "draw")
        random.random()  # the process's own draws come between
    assert a.raft.drawn == stream(11, 3)
    assert b.raft.drawn == stream(22, 3)
    b.deliver(3.0, 2, "reseed", 0)  # reseeds b's stream, nobody else's
    a.deliver(3.0, 3, "draw")
    b.deliver(3.0, 3, "draw")
    assert a.raft.drawn == stream(11, 4)
    assert b.raft.drawn[-1] == stream(0, 1)[0]
    assert all(bound is a.host._random for bound in a.raft.bound_to)
    assert all(bound is b.host._random for bound in b.raft.bound_to)
    assert a.host._random is not b.host._random
    assert random.getstate() != state  # (the test itself drew)


def test_the_random_functions_are_the_hosts_only_while_it_runs(lives: Any) -> None:
    state = random.getstate()
    life = lives(Drawer)
    life.boot(seed=3)
    life.deliver(1.0, 1, "draw")
    life.deliver(1.0, 2, "reseed", 99)
    assert all(getattr(random, name) is _RANDOM_ORIGINAL[name] for name in _RANDOM_NAMES)
    assert random.getstate() == state  # no host drew from the process's stream or reseeded it
    assert life.raft.bound_to[0] is not getattr(random.random, "__self__", None)


IMPL_SOURCE = """\
import dataclasses
import logging
import random
import sys

LIVES = []  # module-level state: per life
AT_IMPORT = random.random()
logging.getLogger("raft").warning("importing")  # muted: as in a sandbox's zygote


@dataclasses.dataclass
class Ping:
    sender: int = -1


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        self.me = me
        LIVES.append(me)
        self.at_import = AT_IMPORT
        self.at_boot = random.random()
        self.got = []

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, 0, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass

    def lives(self, args):
        return list(LIVES)

    def mine(self, args):
        return sys.modules[__name__].__dict__ is globals()

    def ping(self, args):
        self.got.append(args)
        return Ping(self.me)
"""


def test_each_life_runs_the_submissions_module_afresh(lives: Any) -> None:
    impl = SourceImpl("raft.py", IMPL_SOURCE)  # one impl, as a run shares it
    a, b = lives(impl), lives(impl)
    a.boot(me=0, seed=1, import_seed=7)
    b.boot(me=1, seed=2, import_seed=7)
    assert a.host._module is not b.host._module
    assert decode(a.deliver(1.0, 1, "lives").result[1][1]) == [0]
    assert decode(b.deliver(1.0, 1, "lives").result[1][1]) == [1]
    assert decode(a.deliver(1.5, 2, "mine").result[1][1]) is True
    assert decode(b.deliver(1.5, 2, "mine").result[1][1]) is True
    # The module starts alike in every life (the import stream), the lives do not.
    assert a.raft.at_import == b.raft.at_import == stream(7, 1)[0]
    assert (a.raft.at_boot, b.raft.at_boot) == (stream(1, 1)[0], stream(2, 1)[0])


def test_a_dataclass_of_the_module_crosses_to_another_life_as_that_lifes_class(
        lives: Any) -> None:
    impl = SourceImpl("raft.py", IMPL_SOURCE)
    a, b = lives(impl), lives(impl)
    a.boot(me=0)
    b.boot(me=1)
    reply = a.deliver(1.0, 1, "ping", None).result[1][1]  # encoded in a's step
    assert b"raftlab_impl" in reply
    b.deliver(1.0, 1, "ping", raw=reply)
    (got,) = b.raft.got
    assert type(got) is b.host._module.Ping and type(got) is not a.host._module.Ping
    assert got.sender == 0


WHO: contextvars.ContextVar[str] = contextvars.ContextVar("WHO", default="nobody")


class Contextual(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen = [("boot", WHO.get())]
        WHO.set(f"server {self.me}")
        asyncio.get_running_loop().call_later(1.0, self.later)

    def later(self) -> None:
        self.seen.append(("timer", WHO.get()))

    def who(self, args: Any) -> Any:
        return WHO.get()

    def start(self, command: Any) -> tuple[int, int, bool]:
        self.seen.append(("start", WHO.get()))
        WHO.set(command)
        return -1, 0, False


def test_each_host_has_its_own_contextvars_context(lives: Any) -> None:
    a, b = lives(Contextual), lives(Contextual)
    a.boot(me=0)
    b.boot(me=1)
    assert a.raft.seen == b.raft.seen == [("boot", "nobody")]
    assert WHO.get() == "nobody"
    assert decode(a.deliver(0.5, 1, "who").result[1][1]) == "server 0"
    assert decode(b.deliver(0.5, 1, "who").result[1][1]) == "server 1"
    a.start(0.6, "changed by start")
    assert decode(a.deliver(0.7, 2, "who").result[1][1]) == "changed by start"
    assert decode(b.deliver(0.7, 2, "who").result[1][1]) == "server 1"
    a.run(1.0)
    b.run(1.0)
    assert a.raft.seen[1:] == [("start", "server 0"), ("timer", "server 0")]
    assert b.raft.seen[1:] == [("timer", "server 1")]
    assert WHO.get() == "nobody"


class Chatty(Base):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        logging.getLogger("raft").info("booting %d", self.me)

    def say(self, args: Any) -> Any:
        level, text = args
        logging.getLogger("raft.rpc").log(level, text)
        return "said"

    def bad_format(self, args: Any) -> Any:
        logging.getLogger("raft").warning("%d votes", "many")
        return "said"


def test_each_hosts_log_records_go_to_its_own_report(
        lives: Any, outside_logs: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", False)  # or pytest's handler raises
    a, b = lives(Chatty), lives(Chatty)
    assert a.boot(me=0, level=logging.INFO).effects == [["log", "INFO", "raft", "booting 0"]]
    assert b.boot(me=1, level=logging.INFO).effects == [["log", "INFO", "raft", "booting 1"]]
    assert a.deliver(1.0, 1, "say", [logging.WARNING, "from a"]).effects == [
        ["log", "WARNING", "raft.rpc", "from a"]]
    assert b.deliver(1.0, 1, "say", [logging.ERROR, "from b"]).effects == [
        ["log", "ERROR", "raft.rpc", "from b"]]
    assert a.deliver(2.0, 2, "say", [logging.DEBUG, "below the level"]).effects == []
    assert a.deliver(3.0, 3, "bad_format").effects == [
        ["log", "WARNING", "raft", "'%d votes' % ('many',)"]]
    logging.getLogger("raft").warning("the tester's own")
    assert outside_logs == [("raft", "the tester's own")]


def test_log_records_of_the_module_import_are_not_reported(lives: Any,
                                                           outside_logs: list[Any]) -> None:
    step = lives(SourceImpl("raft.py", IMPL_SOURCE)).boot()
    assert step.effects == []
    assert outside_logs == []


def test_a_long_log_record_reads_the_same_in_both_modes(lives: Any) -> None:
    life = lives(Chatty)
    life.boot()
    frame = life.host.handle(command_deliver(1.0, 1, "say", encode(
        [logging.INFO, "log " * 10_000])))
    readers_agree(frame)


# ------------------------------------------------------------------ determinism


class Busy(Base):
    """Random timeouts, sends, logs, saves and applies: everything a Raft does."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.index = 0
        spawn(self.ticker())

    async def ticker(self) -> None:
        while True:
            await asyncio.sleep(0.05 + random.random() * 0.1)
            self.index += 1
            self.term += random.randrange(2)
            logging.getLogger("raft").info("tick %d %.9f", self.index, random.random())
            self.persister.save(encode((self.term, self.index)), b"")
            spawn(self.ask(random.randrange(N), self.index))
            if self.index % 3 == 0:
                await self.apply_ch.put(ApplyMsg(command_valid=True, command=self.index,
                                                 command_index=self.index))

    async def ask(self, peer: int, index: int) -> None:
        reply = await self.peers[peer].call("echo", {"index": index})
        if reply is not None and random.random() < 0.5:
            self.leader = not self.leader

    def start(self, command: Any) -> tuple[int, int, bool]:
        return self.index + 1, self.term, self.leader


def drive(life: Life, seed: int, steps: int = 60) -> list[Step]:
    """Step a life as the trusted side would, answering what it asks; the commands
    depend only on the reports."""
    reports = [life.boot(seed=seed)]
    now = 0.0
    pending: list[Frame] = []
    for i in range(steps):
        last = reports[-1]
        for e in last.effects:
            if e[0] == "send":
                pending.append(command_reply(now, e[1], None if e[1] % 4 == 0 else encode(
                    {"echo": decode(e[4])})))
            elif e[0] == "offer":
                pending.append(command_taken(now, e[1]))
        if i % 7 == 0:
            reports.append(life.send(command_deliver(now, i, "echo", encode(i))))
        elif i % 11 == 0:
            reports.append(life.start(now, ["put", i]))
        elif pending:
            frame = pending.pop(0)
            frame[1] = now
            reports.append(life.send(frame))
        else:
            now = last.wake if last.wake is not None else now + 1.0
            reports.append(life.run(now))
    return reports


def test_the_same_commands_give_the_same_reports(lives: Any) -> None:
    first = drive(lives(Busy), 5)
    second = drive(lives(Busy), 5)
    assert first == second
    kinds = {e[0] for step in first for e in step.effects}
    assert kinds == {"send", "log", "save", "offer"}  # the run did something
    assert drive(lives(Busy), 6) != first  # and what it did depends on the seed


class Verbose(Base):
    """Logs twice what a step may report, in non-ASCII text (six JSON bytes a character)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        for _ in range(2 * MAX_STEP_LOG // MAX_TEXT):
            logging.getLogger("raft").warning("é" * MAX_TEXT)


def test_a_step_reports_at_most_max_step_log_bytes_of_log_and_says_so() -> None:
    """A report stays under the protocol's JSON cap however much a step logs."""
    logs = [e for e in Life(Verbose).boot().effects if e[0] == "log"]
    notice = logs[-1]
    assert notice[1:3] == ["WARNING", "raftlab"] and "the rest of this step's" in notice[3]
    escaped = sum(len(e[3].encode("ascii", "backslashreplace")) for e in logs[:-1])
    assert MAX_STEP_LOG - 6 * MAX_TEXT < escaped <= MAX_STEP_LOG
