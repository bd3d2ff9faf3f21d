"""One server life, as the sandbox runs it: its loop, its Raft, its reports.

    host = Host(impl, in_process=False)
    report = host.handle(command)      # a protocol frame in, a frame out

The trusted side steps a host in lockstep (``harness._protocol``): each
command sets the host's clock to the trusted side's virtual time and does one
thing: construct the Raft or call one of its methods (the tester's calls),
deliver an RPC, hand back a reply, say an ApplyMsg was taken, or fire due
timers. A tester's call is a plain method call, as in asyncio: the tasks it
wakes run at the server's next step, after the tester's current callback (the
report's ``wake`` is then "now"). Every other command then runs each callback
of the server's loop due by that instant, including the ones they schedule,
until nothing more is due. The report lists what the code did meanwhile, in
order: RPCs sent, replies of async handlers, the last persister save,
ApplyMsgs offered, log records, and the first rule it broke. It also gives the
time of the server's next timer (the trusted side wakes it then) and its
``get_state()`` after the step (the safety monitors watch it).

Every exception the code raises is reported as the student's, whatever its
type: raftlab's own exception classes get no special treatment here.

One host per process in a sandbox; in-process mode (``in_process=True``)
keeps several in one process and switches between them around each command:
the running loop, the ``random`` module's functions (each life has its own
seeded stream, as its own process would), the module named ``raftlab_impl``
(each life runs the submission's module afresh), and where log records go.
So a run gives the same trace in both modes.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import itertools
import logging
import os
import random
import sys
import traceback
import weakref
from collections.abc import Callable
from typing import Any, Final

from .._codec import decode, encode
from .._errors import (
    OUT_OF_MEMORY,
    BlockingCallError,
    CodecError,
    LivelockError,
    SpinError,
    SpinInterrupt,
    StudentError,
    limit_hint,
    student_traceback,
)
from .._loop import Limits, SimLoop, classify
from .._protocol import (
    CALLS,
    INSPECT,
    MAX_INSPECT_RUNS,
    MAX_STEP_LOG,
    MAX_STEP_SENDS,
    ApplyMsg,
    Frame,
    cut,
)
from . import profile
from .api import ApplyChannel, ClientEnd, Persister
from .loader import MODULE_NAME, Impl, LoadError, SourceImpl

_get_running_loop: Final = asyncio.events._get_running_loop
_set_running_loop: Final = asyncio.events._set_running_loop

RESERVED: Final = frozenset((*CALLS, INSPECT))
"""Public methods that are the tester's API, not RPC handlers."""

_INSPECT_INTS: Final = ("term", "voted_for", "commit_index", "last_applied", "snapshot_index")

_CALLS: Final = ("call", "boot")

_UNBOUNDED: Final = Limits(virtual_seconds=float("inf"), wall_seconds=None)

# The random module's functions are bound methods of one hidden instance; a host
# rebinds them to its own instance while it runs (see the module docstring).
_RANDOM_NAMES: Final = tuple(sorted(
    name for name, value in vars(random).items()
    if getattr(value, "__self__", None) is random._inst))
_RANDOM_ORIGINAL: Final = {name: getattr(random, name) for name in _RANDOM_NAMES}


class _Current:
    host: Host | None = None  # the host whose code runs now (for log records)


current = _Current()


_handler_tables: weakref.WeakKeyDictionary[type, dict[str, bool]] = weakref.WeakKeyDictionary()
"""Per Raft class; weak, so that an in-process life's module can go once it is over."""


def handler_table(cls: type) -> dict[str, bool]:
    """The RPC handlers of a Raft class: name -> is ``async def``."""
    table = _handler_tables.get(cls)
    if table is None:
        table = {}
        for name in sorted(dir(cls)):
            if name.startswith("_") or name in RESERVED:
                continue
            member = inspect.getattr_static(cls, name)
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if inspect.isfunction(member):
                table[name] = inspect.iscoroutinefunction(member)
        _handler_tables[cls] = table
    return table


def _kind(err: BaseException) -> str:
    if isinstance(err, SpinError):
        return "spin"
    if isinstance(err, LivelockError):
        return "livelock"
    if isinstance(err, BlockingCallError):
        return "blocking"
    return "error"


class Host:
    """One server life. See the module docstring."""

    def __init__(self, impl: Impl, *, in_process: bool = False) -> None:
        self.impl: Impl = impl
        self.in_process = in_process
        self.label = "server ?"
        self.server = -1
        self.loop: SimLoop | None = None
        self.raft: Any = None
        self.handlers: dict[str, bool] = {}
        self.effects: list[list[Any]] = []
        self._log_left = MAX_STEP_LOG  # characters of log text this step may still report
        self._sends_left = MAX_STEP_SENDS  # RPCs this step may still start
        self.failed = False
        self._calls: dict[int, tuple[asyncio.Future[Any], str]] = {}
        self._puts: dict[int, asyncio.Future[None]] = {}
        self._next_lid = 1
        self._next_put = 1
        self._save: tuple[bytes, bytes] | None = None
        self._halt_now = False         # this step's delivery was halted at its reply
        self._early: set[int] = set()  # halted async calls whose reply is reported
        self._inspecting = False       # report debug_state() after each step
        self._inspected: list[Any] | None = None  # the last one reported
        # In a sandbox the process's own random instance is this life's; in-process
        # each life has an instance of its own, bound in while it runs.
        self._random: random.Random = random.Random() if in_process else random._inst
        self._bindings = {name: getattr(self._random, name) for name in _RANDOM_NAMES}
        self._context = contextvars.Context()
        self._module: Any = None
        self.samples: dict[str, int] = {}  # CPU profile since the last report (profile.py)
        self.source_file = ""              # the submission's file, once loaded
        if not in_process:  # the process's only host: its streams are the process's
            current.host = self
            profile.state.running = self
            vars(random).update(self._bindings)

    # ---------------------------------------------------------------- stepping

    def handle(self, head: Frame) -> Frame:
        """Do one command and report (see ``harness._protocol``)."""
        kind = head[0]
        if kind == "check":
            return self._report(self._check(), None, None)
        now = float(head[1])
        if kind == "boot":
            self._create_loop(head[2], head[4])
        loop = self.loop
        if loop is None or self.failed:
            return self._report(["ok", None], None, None)
        result: list[Any] = ["ok", None]
        wake = state = None
        previous = self._enter()
        try:
            loop.set_time(now)
            self._halt_now = False
            result = self._context.run(self._command, kind, head)
            if not self.failed and not (kind == "call" and head[2] == "kill"):
                # A tester's call is a plain method call: what it schedules runs
                # at the server's next step. Anything else runs to idle now.
                # A halted delivery ends the step at its reply (see _deliver).
                wake = (loop.next_wake() if kind in _CALLS or self._halt_now
                        else loop.run_until_idle(now))
                if self.raft is not None:
                    state = self._state()
                    if self._inspecting:
                        self._inspect()
        except KeyboardInterrupt:
            if self.in_process:
                raise
            self.fail_with(StudentError("the code raised KeyboardInterrupt"))
        except SystemExit as e:
            self.error("exit", _exit_message(e), "")
        except BaseException as e:
            self.fail_with(classify(e, self.label, "its code"))
        finally:
            self._leave(previous)
        if self.failed:
            wake = state = None
        return self._report(result, wake, state)

    def _command(self, kind: str, head: list[Any]) -> list[Any]:
        if kind == "run":
            return ["ok", None]
        if kind == "reply":
            self._reply(head[2], head[3])
            return ["ok", None]
        if kind == "taken":
            fut = self._puts.pop(head[2], None)
            if fut is not None and not fut.done():
                fut.set_result(None)
            return ["ok", None]
        if kind == "deliver":
            return ["ok", self._deliver(head[2], head[3], head[4], len(head) > 5 and head[5])]
        if kind == "call":
            return self._call(head[2], head)
        if kind == "boot":
            return self._boot(head)
        raise StudentError(f"unknown command {kind!r}")  # never sent by raftlab

    def _report(self, result: list[Any], wake: float | None,
                state: list[Any] | None) -> Frame:
        if self._save is not None:
            saved, snap = self._save
            self._save = None
            self.effects.append(["save", saved, snap])
        if self.samples:
            busiest = sorted(self.samples.items(), key=lambda nc: (-nc[1], nc[0]))[:100]
            self.effects.append(["profile", [[cut(name, 200), count] for name, count in busiest]])
            self.samples = {}
        report = ["report", result, self.effects, wake, state]
        self.effects = []
        self._log_left = MAX_STEP_LOG
        self._sends_left = MAX_STEP_SENDS
        return report

    def _enter(self) -> tuple[Any, ...] | None:
        """Make this life's the running loop, random stream, module and log sink."""
        if not self.in_process:
            return None  # the only host of its process: set once, at boot
        previous = (current.host, sys.modules.get(MODULE_NAME), _get_running_loop(),
                    profile.state.running)
        current.host = self
        profile.state.running = self
        vars(random).update(self._bindings)
        if self._module is not None:
            sys.modules[MODULE_NAME] = self._module
        _set_running_loop(self.loop)
        return previous

    def _leave(self, previous: tuple[Any, ...] | None) -> None:
        if previous is None:
            return
        current.host = previous[0]
        vars(random).update(_RANDOM_ORIGINAL)
        if previous[1] is not None:
            sys.modules[MODULE_NAME] = previous[1]
        _set_running_loop(previous[2])
        profile.state.running = previous[3]

    def _create_loop(self, me: int, number: int) -> None:
        self.server = me
        self.label = f"server {me} (incarnation {number})"
        self.loop = SimLoop(_UNBOUNDED, label=self.label, student=True)
        if not self.in_process:
            _set_running_loop(self.loop)

    # ------------------------------------------------------------ the commands

    def _boot(self, head: list[Any]) -> list[Any]:
        _, _, me, n, _number, seed, import_seed, level, state, snap = head[:10]
        _capture.setLevel(level)
        self._random.seed(import_seed)  # the module starts alike in every life
        _capture.muted = True  # as in a sandbox, whose zygote runs the module
        try:
            cls = self.impl.load()
        except LoadError as e:
            self.failed = True
            return ["noload", cut(str(e))]
        finally:
            _capture.muted = False
        self._random.seed(seed)
        if isinstance(self.impl, SourceImpl):
            self._module = self.impl.module
        self.source_file = _source_file(cls)
        self.handlers = handler_table(cls)
        self._inspecting = (len(head) > 10 and head[10] is True
                            and callable(getattr(cls, INSPECT, None)))
        peers = [ClientEnd(self, me, j) for j in range(n)]
        persister = Persister(self, state, snap)
        apply_ch = ApplyChannel(self)
        try:
            self.raft = cls(peers, me, persister, apply_ch)
        except KeyboardInterrupt:
            if self.in_process:
                raise
            self.failed = True  # nothing it scheduled runs
            return self._raised("Raft(...) (the constructor)", KeyboardInterrupt())
        except BaseException as e:
            self.failed = True
            return self._raised("Raft(...) (the constructor)", e)
        return ["ok", None]

    def _check(self) -> list[Any]:
        try:
            self.impl.load()
        except LoadError as e:
            return ["noload", cut(str(e))]
        return ["ok", None]

    def _call(self, name: str, head: list[Any]) -> list[Any]:
        rf = self.raft
        if rf is None:
            return ["ok", None]
        try:
            if name == "get_state":
                got = rf.get_state()
                if (not isinstance(got, tuple) or len(got) != 2 or not _int64(got[0])
                        or not isinstance(got[1], int)):
                    return ["bad", _short(got)]
                return ["ok", [got[0], bool(got[1])]]
            if name == "start":
                command = decode(head[3])
                got = rf.start(command)
                if (not isinstance(got, tuple) or len(got) != 3 or not _int64(got[0])
                        or not _int64(got[1]) or not isinstance(got[2], int)):
                    return ["bad", _short(got)]
                return ["ok", [got[0], got[1], bool(got[2])]]
            if name == "snapshot":
                rf.snapshot(head[3], head[4])
                return ["ok", None]
            if name == "kill":
                rf.kill()
                return ["ok", None]
        except KeyboardInterrupt:
            if self.in_process:
                raise
            return self._raised(f"{name}()", KeyboardInterrupt())
        except BaseException as e:
            return self._raised(f"{name}()", e)
        raise StudentError(f"unknown call {name!r}")  # never sent by raftlab

    def _raised(self, what: str, e: BaseException) -> list[Any]:
        kind, message, details = self._describe(what, e)
        return ["raised", kind, cut(message), cut(details)]

    @staticmethod
    def _describe(what: str, e: BaseException) -> tuple[str, str, str]:
        if isinstance(e, SystemExit):
            return "exit", f"{what}: {_exit_message(e)}", ""
        if isinstance(e, SpinInterrupt):
            return "spin", f"{what} {e.detail}", ""
        if isinstance(e, MemoryError):
            return "memory", f"{what} ran out of memory: {OUT_OF_MEMORY}", ""
        return ("error", f"{what} raised {type(e).__name__}: {e}{limit_hint(e)}",
                student_traceback(e))

    def _state(self) -> list[Any] | None:
        """get_state() after a step, for the monitors (None if it fails)."""
        try:
            got = self._context.run(self.raft.get_state)
        except KeyboardInterrupt:
            if self.in_process:
                raise
            return None
        except BaseException:
            return None
        if isinstance(got, tuple) and len(got) == 2 and _int64(got[0]) and isinstance(
                got[1], int):
            return [got[0], bool(got[1])]
        return None

    def _inspect(self) -> None:
        """Report debug_state() (HANDOUT §3.9) if it changed."""
        try:
            got = self._context.run(getattr(self.raft, INSPECT))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:
            raise classify(e, self.label, f"{INSPECT}()") from None
        try:
            effect = ["inspect", *_inspect_fields(got)]
        except ValueError as e:
            raise self.api_error(str(e)) from None
        if effect != self._inspected:
            self._inspected = effect
            self.effects.append(effect)

    # -------------------------------------------------------------------- RPC

    def check_method(self, dst: int, method: object) -> None:
        if not isinstance(method, str):
            problem = f"the method name must be a str, not {type(method).__name__}"
        elif method.startswith("_"):
            problem = (f"{method!r} starts with '_', and private methods cannot be called "
                       "over the network")
        elif method in RESERVED:
            problem = (f"{method!r} is part of the tester's API, not an RPC handler; write a "
                       "separate handler method for the RPC")
        elif method in self.handlers:
            return
        else:
            names = ", ".join(self.handlers) or "(none)"
            problem = f"the server has no RPC handler named {method!r}; its handlers are: {names}"
        raise self.api_error(f"peers[{dst}].call({method!r}, ...): {problem}")

    def start_call(self, dst: int, method: str, args: object) -> asyncio.Future[Any]:
        """peers[dst].call(method, args): a "send" effect and a future for the reply."""
        self._sends_left -= 1
        if self._sends_left < 0:
            raise self.api_error(
                f"more than {MAX_STEP_SENDS:,} RPCs started in one instant of virtual time: "
                "the code sends in a loop that never awaits (an election or retry loop "
                "without `await asyncio.sleep(...)`?). Virtual time moves only while your "
                "code awaits, so such a loop never ends")
        self.check_method(dst, method)
        try:
            data = encode(args)
        except CodecError as e:
            raise CodecError(f"call({method!r}): {e}") from None
        loop = self.loop
        assert loop is not None
        lid = self._next_lid
        self._next_lid = lid + 1
        fut: asyncio.Future[Any] = loop.create_future()
        self._calls[lid] = (fut, method)
        self.effects.append(["send", lid, dst, cut(method, 200), data])
        return fut

    def _reply(self, lid: int, data: bytes | None) -> None:
        entry = self._calls.pop(lid, None)
        if entry is None:
            return
        fut, method = entry
        if fut.done():
            return
        if data is None:
            fut.set_result(None)
            return
        try:
            value = decode(data)
        except Exception as e:
            raise StudentError(f"the reply to call({method!r}) could not be decoded: "
                               f"{type(e).__name__}: {e}") from None
        fut.set_result(value)

    def _deliver(self, cid: int, method: str, data: bytes, halt: bool = False) -> list[Any] | None:
        """Run the handler. ``halt``: end the step the moment the handler returns,
        before anything it deferred runs (the trusted side may then crash the
        server, as a crash right after the reply left)."""
        is_async = self.handlers.get(method)
        if is_async is None:
            names = ", ".join(self.handlers) or "(none)"
            raise self.api_error(f"a call of {method!r} arrived, but the server has no RPC "
                                 f"handler of that name; its handlers are: {names}")
        args = decode(data)
        handler = getattr(self.raft, method)
        if is_async:
            loop = self.loop
            assert loop is not None
            coro = handler(args)
            task = loop.create_task(self._halting(cid, method, coro) if halt else coro)
            task.add_done_callback(lambda t: self._handler_done(cid, method, t))
            return ["pending"]
        try:
            reply = handler(args)
        except (KeyboardInterrupt, SystemExit):
            raise
        except SpinInterrupt as e:
            raise SpinError(f"RPC handler {method}() {e.detail}", where=self.label) from None
        except BaseException as e:
            raise classify(e, self.label, f"RPC handler {method}") from None
        self._halt_now = halt
        return ["reply", self._encode_reply(method, reply)]

    async def _halting(self, cid: int, method: str, coro: Any) -> Any:
        """An async handler run with ``halt``: its reply is reported, and the
        step ends, in the same callback as its ``return``."""
        reply = await coro
        self.effects.append(["replied", cid, self._encode_reply(method, reply)])
        self._early.add(cid)
        loop = self.loop
        assert loop is not None
        loop.halt()
        return reply

    def _handler_done(self, cid: int, method: str, task: asyncio.Task[Any]) -> None:
        if cid in self._early:
            self._early.discard(cid)
            return
        if task.cancelled():
            self.effects.append(["replied", cid, None])
            return
        if task.exception() is not None:
            return  # the loop fails the run with it
        data = self._encode_reply(method, task.result())
        self.effects.append(["replied", cid, data])

    def _encode_reply(self, method: str, reply: object) -> bytes:
        if reply is None:
            raise StudentError(
                f"RPC handler {method}() returned None. A handler must return a reply object "
                "(the caller could not tell a None reply from a lost message).",
                where=self.label)
        try:
            return encode(reply)
        except CodecError as e:
            raise StudentError(f"the reply of RPC handler {method}(): {e}",
                               where=self.label) from None

    # ------------------------------------------------------ persister, apply_ch

    def saved(self, state: bytes, snapshot: bytes) -> None:
        self._save = (state, snapshot)

    async def offer(self, msg: object) -> None:
        """await apply_ch.put(msg): an "offer" effect; returns once it is taken."""
        if not isinstance(msg, ApplyMsg):
            raise self.api_error(f"apply_ch.put() got {_short(msg)}; put ApplyMsg(...) "
                                 "objects on it")
        fields = []
        for name in ("command_valid", "command_index", "snapshot_valid", "snapshot_term",
                     "snapshot_index"):
            value = getattr(msg, name)
            if type(value) is not bool and type(value) is not int:
                raise self.api_error(f"ApplyMsg.{name} must be an int or a bool, not "
                                     f"{type(value).__name__}")
            if type(value) is int and not _int64(value):
                raise self.api_error(f"ApplyMsg.{name} is {_short(value, 60)}, beyond a "
                                     "64-bit int")
            fields.append(value)
        snapshot = msg.snapshot
        if not isinstance(snapshot, (bytes, bytearray, memoryview)):
            raise self.api_error(f"ApplyMsg.snapshot must be bytes, not "
                                 f"{type(snapshot).__name__}")
        command = None
        if msg.command is not None:
            try:
                command = encode(msg.command)
            except CodecError as e:
                raise self.api_error(f"ApplyMsg.command: {e}") from None
        loop = self.loop
        assert loop is not None
        put_id = self._next_put
        self._next_put = put_id + 1
        fut: asyncio.Future[None] = loop.create_future()
        self._puts[put_id] = fut
        cv, ci, sv, st, si = fields
        self.effects.append(["offer", put_id, bool(cv), command, ci, bool(sv),
                             bytes(snapshot), st, si])
        await fut

    # ------------------------------------------------------------------ effects

    def api_error(self, message: str) -> StudentError:
        """Misuse of the student API: fail the run (even if the code catches it)."""
        err = StudentError(message, where=self.label)
        self.error("api", message, "")
        return err

    def fail_with(self, err: BaseException) -> None:
        if isinstance(err, StudentError):
            self.error(_kind(err), err.message, err.details)
        else:
            self.error("error", f"{type(err).__name__}: {err}", "")

    def error(self, kind: str, message: str, details: str) -> None:
        if not self.failed:
            self.failed = True
            self.effects.append(["error", kind, cut(message), cut(details)])

    def log(self, level: str, logger: str, message: str) -> None:
        if self._log_left <= 0:
            return
        message = cut(message)
        # What it costs in a report's JSON: non-ASCII characters are written \uXXXX.
        self._log_left -= len(message) if message.isascii() else len(
            message.encode("ascii", "backslashreplace"))
        if self._log_left <= 0:
            level, logger = "WARNING", "raftlab"
            message = (f"more than {MAX_STEP_LOG:,} bytes of log records in one step: "
                       "the rest of this step's are dropped")
        self.effects.append(["log", cut(level, 20), cut(logger, 200), message])


def _inspect_fields(got: object) -> list[Any]:
    """debug_state()'s dict as the inspect effect's fields (ValueError: what is wrong)."""
    def bad(why: str) -> ValueError:
        return ValueError(
            f"{INSPECT}() {why}. It must return a dict with the keys role (a str: "
            "'follower', 'candidate' or 'leader'), term, voted_for, commit_index, "
            "last_applied, snapshot_index (ints) and log_terms (the terms of the entries "
            "after the snapshot, in order); a value you do not keep may be None")
    if not isinstance(got, dict):
        raise bad(f"returned {_short(got)}")
    role = got.get("role")
    if role is not None and not isinstance(role, str):
        raise bad(f"gave role {_short(role)}")
    fields: list[Any] = [None if role is None else cut(role, 20)]
    for name in _INSPECT_INTS:
        value = got.get(name)
        if value is not None and not (type(value) is int and _int64(value)):
            raise bad(f"gave {name} {_short(value)}")
        fields.append(value)
    terms = got.get("log_terms")
    runs: list[list[int]] | None = None
    if terms is not None:
        if not isinstance(terms, (list, tuple)):
            raise bad(f"gave log_terms {_short(terms)}")
        if terms and set(map(type, terms)) != {int}:  # at C speed: logs are long
            odd = next(t for t in terms if type(t) is not int)
            raise bad(f"gave a log term {_short(odd)}")
        runs = [[term, len(list(group))] for term, group in itertools.groupby(terms)]
        if len(runs) > MAX_INSPECT_RUNS:
            raise bad(f"gave more than {MAX_INSPECT_RUNS:,} runs of equal log terms")
        for term, _ in runs:
            if not _int64(term):
                raise bad(f"gave a log term {_short(term)}")
    fields.append(runs)
    return fields


def _source_file(cls: type) -> str:
    module = sys.modules.get(cls.__module__)
    return str(getattr(module, "__file__", "") or "")


def _int64(value: object) -> bool:
    """An int (not a bool) that fits in 64 bits, as Go's does: a report carries no other."""
    return type(value) is int and -(2 ** 63) <= value < 2 ** 63


def _short(value: object, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


_HIDDEN: Final = tuple(os.path.dirname(m.__file__ or "") + os.sep
                      for m in (asyncio, sys.modules[__name__.rsplit(".", 2)[0]]))
"""The folders of asyncio and of raftlab's harness: not where a student's code is."""


def _exit_message(e: SystemExit) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    where = next((f for f in reversed(frames) if not f.filename.startswith(_HIDDEN)), None)
    at = (f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno} in {where.name}"
          if where is not None else "")
    return (f"the code called sys.exit({'' if e.code is None else repr(e.code)}){at}; a Raft "
            "server must never end its process")


class _Capture(logging.Handler):
    """Log records of student code: into the running host's report."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.fallback: Callable[[logging.LogRecord, str], None] | None = None
        self.muted = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.muted:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in the caller's log call
            message = f"{record.msg!r} % {record.args!r}"
        host = current.host
        if host is not None:
            host.log(record.levelname, record.name, message)
        elif self.fallback is not None:
            self.fallback(record, message)


_capture = _Capture()


def capture_logs(level: int, fallback: Callable[[logging.LogRecord, str], None] | None) -> (
        Callable[[], None]):
    """Send log records to the running host (or ``fallback``); returns the undo."""
    root = logging.getLogger()
    saved_level = root.level
    _capture.setLevel(level)
    _capture.fallback = fallback
    root.addHandler(_capture)
    root.setLevel(min(level, saved_level or logging.WARNING))

    def undo() -> None:
        root.removeHandler(_capture)
        root.setLevel(saved_level)
        _capture.fallback = None

    return undo
