"""Tests of sandboxed server lives, end to end with real processes (harness/_trusted/sandboxes.py).

A ``Sandboxes`` forks a template; each run is a zygote that forks one process
per server life. The tests drive server lives frame by frame (boot, then RPC
deliveries to the probes of tests/harness/sandboxed.py) and check:

  * what a server life sees of itself: its user and groups (root), its
    environment, argv, folder, descriptors and limits, that harness's trusted
    names are refused and nothing trusted is loaded, that (as root) it cannot
    read a file that is not world-readable, and that the seccomp filter refuses
    every class of call it should while ordinary work runs;
  * that every process of a run is gone shortly after ``SandboxRun.close()``,
    and the template after ``Sandboxes.close()``; that two ``Sandboxes`` take
    different users (root);
  * how a life that ends, runs out of CPU time or memory, spins past every
    interrupt, stalls past the wall-clock budget, or writes a hostile report
    fails the run: a SandboxFailure / WallClockLimitError / error report whose
    message says what happened, and nothing of the report runs here;
  * ``Sandboxes.check``: None for a good submission, the loader's message for
    a bad one, and the compiled code kept for the runs to come.

Parts that need root (users) or the seccomp filter are skipped, with the
reason, where those do not hold. Every test ends every process it started.
"""

from __future__ import annotations

import contextlib
import io
import json
import marshal
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import harness
from harness import MakeConfig, ModuleImpl, StudentError, WallClockLimitError, encode, run_lab_test
from harness._protocol import Report, command_boot, command_call, command_deliver, parse_report
from harness._sandbox import jail
from harness._sandbox.guards import EXIT_SPIN, SpinWatchdog, set_spin_exit
from harness._trusted.safe_decode import safe_decode
from harness._trusted.sandboxes import (
    UID_BASE,
    UID_RANGE,
    Sandboxes,
    SandboxLimits,
    SandboxRun,
    SandboxTransport,
)
from harness._trusted.servers import SandboxFailure

from . import sandboxed

pytestmark = pytest.mark.skipif(
    sys.platform != "linux",
    reason="sandboxes need Linux (fork, SCM_RIGHTS on SOCK_SEQPACKET, /proc, prctl)")

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not IS_ROOT, reason="needs root: only then does a sandbox run as a user of its own")

PROBE = ModuleImpl(sandboxed.__name__, "Probe")
LIMITS = SandboxLimits(memory_mb=256, cpu_seconds=20, wall_seconds=20, processes=8)
GOOD = '''\
from harness import ApplyMsg, ClientEnd, Persister


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        self.me = me

    def get_state(self):
        return 7, self.me == 0

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
'''


# ------------------------------------------------------------------ helpers


def proc_state(pid: int) -> str | None:
    """The process's state letter (Z: a zombie), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def processes_of(uid: int) -> set[int]:
    """Every process (zombies too) whose real user is ``uid``."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                for line in Path(entry.path, "status").read_text().splitlines():
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.add(int(entry.name))
                        break
    return found


def wait_gone(pids: set[int], seconds: float = 5.0, *, zombies: bool = False) -> set[int]:
    """Wait until none of ``pids`` exists (``zombies``: or is a zombie its zygote has not
    reaped yet); those still there."""
    deadline = time.monotonic() + seconds
    while True:
        left = {pid for pid in pids
                if proc_state(pid) not in ((None, "Z") if zombies else (None,))}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def run_pids(run: SandboxRun) -> set[int]:
    """The zygote's pid and every server life's the zygote reported."""
    return {run.pid} | {t.pid for t in run.transports if t.pid is not None}


class Life:
    """One server life of a run, driven frame by frame."""

    def __init__(self, run: SandboxRun, server: int = 0, n: int = 1) -> None:
        self.run = run
        self.n = n
        self.transport: SandboxTransport = run.spawn(server, 1)
        assert self.transport.pid is not None
        self.pid: int = self.transport.pid
        self._cid = 0
        report = parse_report(self.transport.request(
            command_boot(0.0, server, n, 1, 1, 0, 20, b"", b"")), n)
        assert report.result == ["ok", None], report.result

    def deliver(self, method: str, args: Any = None) -> Report:
        """Deliver an RPC to the probe (raises what the transport raises)."""
        self._cid += 1
        return parse_report(self.transport.request(
            command_deliver(0.0, self._cid, method, encode(args))), self.n)

    def ask(self, method: str, args: Any = None) -> Any:
        """A probe's reply (JSON text is decoded)."""
        report = self.deliver(method, args)
        assert report.result[0] == "ok", report.result
        assert report.result[1][0] == "reply", (report.result, report.effects)
        reply = safe_decode(report.result[1][1])
        assert isinstance(reply, str)
        return json.loads(reply) if reply[:1] in "{[" else reply

    def get_state(self) -> Any:
        return parse_report(self.transport.request(command_call(0.0, "get_state")),
                            self.n).result


def forget_trusted_names() -> None:
    """Drop the trusted names ``harness`` has resolved and cached in its namespace (it
    resolves them again on their next use), as in a worker that forks its template
    before it runs anything: see test_trusted_names_stay_refused_after_the_worker_used_them."""
    for name in harness._LAZY:
        vars(harness).pop(name, None)


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    """This module's template; when it closes, no process of it may remain.

    It is forked with the interpreter's own stdout and stderr as sys.stdout and
    sys.stderr, as a grader's worker process has them, not pytest's capture objects
    (which its sandboxes would inherit: see test_a_spin_past_every_interrupt_ends_the_process)."""
    forget_trusted_names()
    with contextlib.redirect_stdout(sys.__stdout__), contextlib.redirect_stderr(sys.__stderr__):
        sandboxes = Sandboxes()
    yield sandboxes
    sandboxes.close()
    assert proc_state(sandboxes.pid) is None, "the template outlived Sandboxes.close()"
    if sandboxes.uid is not None:
        assert wait_gone(processes_of(sandboxes.uid)) == set()


Start = Callable[..., SandboxRun]


@pytest.fixture
def start(sandboxes: Sandboxes) -> Iterator[Start]:
    """Start runs of ``Probe`` (or ``impl``); each is closed after the test, and then none
    of its processes may remain."""
    runs: list[SandboxRun] = []

    def start_run(limits: SandboxLimits = LIMITS, *, clock: Callable[[], float] | None = None,
                  impl: ModuleImpl = PROBE) -> SandboxRun:
        run = sandboxes.start_run("", "", limits, import_seed=0, clock=clock,
                                  module=(impl.module_name, impl.qualname))
        runs.append(run)
        return run

    yield start_run
    for run in runs:
        run.close()
    for run in runs:
        assert wait_gone(run_pids(run)) == set(), "a process of the run outlived close()"


@pytest.fixture
def needs_seccomp(sandboxes: Sandboxes) -> None:
    if not sandboxes.seccomp:
        pytest.skip("this machine cannot install the seccomp filter (not Linux x86-64 / "
                    "arm64, or seccomp is unavailable)")


@pytest.fixture
def scratch(sandboxes: Sandboxes) -> Iterator[Path]:
    """A folder a server life can reach (and, but for the filter, change): a file to read,
    one to remove and a folder to remove, owned by the sandbox's user."""
    folder = Path(tempfile.mkdtemp(prefix="raftlab-test-sandboxes-"))
    try:
        (folder / "file").write_text("x")
        (folder / "victim").write_text("v")
        (folder / "dir").mkdir()
        folder.chmod(0o755)
        if sandboxes.uid is not None:
            for path in (folder, *folder.iterdir()):
                os.chown(path, sandboxes.uid, sandboxes.uid)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------- a server life, as it sees itself


def test_a_server_life_runs_confined(sandboxes: Sandboxes, start: Start) -> None:
    run = start()
    life = Life(run)
    facts = life.ask("facts")

    assert facts["pid"] == life.pid
    # the zygote leads the run's session and process group; the life is its child
    assert facts["ppid"] == facts["pgid"] == facts["sid"] == run.pid
    if sandboxes.uid is not None:
        assert facts["uid"] == facts["gid"] == [sandboxes.uid] * 3
        assert facts["groups"] == []
    else:
        assert facts["uid"] == list(os.getresuid())
    assert facts["environ"] == jail.ENVIRONMENT
    assert facts["argv"] == ["raftlab-sandbox"]
    assert facts["cwd"] == "/"
    assert facts["umask"] == "0077"
    assert facts["nice"] == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    assert facts["dont_write_bytecode"] is True
    if sandboxes.seccomp:
        assert facts["seccomp"] == "2" and facts["no_new_privs"] == "1"

    # harness's trusted names are refused, and nothing trusted is loaded
    assert facts["trusted_import"].startswith(
        "ImportError: harness.Config is part of the grader, which does not exist inside a "
        "sandbox; Raft code imports only ApplyMsg, ClientEnd, CodecError, Persister, decode, "
        "encode from harness")
    assert facts["trusted_modules"] == []

    # descriptors: 0-2 on /dev/null, its two pipes, and the folders of sys.path that only
    # root could reach (kept open so that imports still work)
    fds = {int(fd): target for fd, target in facts["fds"].items()}
    assert {fd: fds.get(fd) for fd in (0, 1, 2)} == dict.fromkeys((0, 1, 2), "/dev/null")
    pipes = {fd for fd, target in fds.items() if target.startswith("pipe:")}
    assert len(pipes) == 2
    folders = {int(entry.removeprefix("/proc/self/fd/")) for entry in facts["sys_path"]
               if entry.startswith("/proc/self/fd/")}
    assert set(fds) == {0, 1, 2} | pipes | folders
    for fd in folders:
        assert os.path.isdir(fds[fd]) and not jail._traversable_by_others(fds[fd])
    if sandboxes.uid is None:
        assert folders == set()

    # limits
    limits = facts["rlimits"]
    assert limits["RLIMIT_NOFILE"] == [64, 64]
    assert limits["RLIMIT_CORE"] == [0, 0]
    assert limits["RLIMIT_FSIZE"] == [0, 0]
    assert limits["RLIMIT_CPU"][0] == LIMITS.cpu_seconds
    assert limits["RLIMIT_CPU"][1] >= LIMITS.cpu_seconds
    assert limits["RLIMIT_MEMLOCK"] == [0, 0]
    soft, hard = limits["RLIMIT_AS"]
    assert LIMITS.memory_mb * 1024 * 1024 < soft <= hard < 1 << 40
    if sandboxes.uid is not None:  # the run's user is its own: its processes, exactly
        assert limits["RLIMIT_NPROC"] == [LIMITS.processes] * 2


def test_every_life_of_a_run_is_a_process_of_its_own(start: Start) -> None:
    run = start()
    lives = [Life(run, server, 3) for server in range(3)]
    facts = [life.ask("facts") for life in lives]
    assert len({f["pid"] for f in facts}) == 3
    assert {f["ppid"] for f in facts} == {run.pid}
    assert [life.get_state() for life in lives] == [["ok", (0, False)]] * 3


@needs_root
def test_a_server_life_cannot_read_what_is_not_world_readable(sandboxes: Sandboxes,
                                                              start: Start) -> None:
    folder = Path(tempfile.mkdtemp(prefix="raftlab-test-sandboxes-"))
    try:
        folder.chmod(0o755)
        (folder / "public").write_text("for everyone")
        (folder / "public").chmod(0o644)
        (folder / "private").write_text("for root")
        (folder / "private").chmod(0o600)
        life = Life(start())
        assert life.ask("read", str(folder / "public")) == "ok: for everyone"
        assert life.ask("read", str(folder / "private")) == "PermissionError:13"  # EACCES
        # nor what lies in a folder others cannot enter (raftlab's reference/, say)
        (folder / "closed").mkdir(mode=0o700)
        (folder / "closed" / "open").write_text("behind a closed folder")
        (folder / "closed" / "open").chmod(0o644)
        assert life.ask("read", str(folder / "closed" / "open")) == "PermissionError:13"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.usefixtures("needs_seccomp")
def test_the_filter_holds_in_a_server_life(start: Start, scratch: Path) -> None:
    run = start()
    life = Life(run)
    expected = sandboxed.expected(fork=False, server_life=True)
    # "other": the zygote, a process of the same user and process group
    outcome = {name: life.ask("attempt", [name, str(scratch), run.pid]) for name in expected}
    assert outcome == expected
    assert sorted(p.name for p in scratch.iterdir()) == ["dir", "file", "victim"]
    assert (scratch / "file").read_text() == "x"
    assert life.get_state() == ["ok", (0, False)]  # the life still serves


@pytest.mark.usefixtures("needs_seccomp")
def test_a_server_life_cannot_end_its_zygote(start: Start) -> None:
    """Not with kill(), nor by having the kernel signal it (fcntl F_SETOWN + O_ASYNC):
    when the grader does not run as root, that process could be the grader."""
    run = start()
    life = Life(run)
    assert life.ask("attempt", ["kill_other", "/", run.pid]) == "PermissionError:1"
    assert life.ask("setown", run.pid) == "refused"
    assert life.get_state() == ["ok", (0, False)]  # this command triggers the signal
    Life(run, 1, 2)  # the zygote still forks lives


# ---------------------------------------------------------- the process tree


def test_every_process_of_a_run_ends_with_close(sandboxes: Sandboxes, start: Start) -> None:
    run = start()
    lives = [Life(run, server, 3) for server in range(3)]
    pids = run_pids(run)
    assert pids == {run.pid, *(life.pid for life in lives)} and len(pids) == 4
    assert all(proc_state(pid) not in (None, "Z") for pid in pids)
    if sandboxes.uid is not None:  # nothing else runs as the run's user (once a helper
        # that ends an earlier run's processes, without seccomp, is gone)
        assert wait_gone(processes_of(sandboxes.uid) - pids) == set()
        assert processes_of(sandboxes.uid) == pids
    run.close()
    assert wait_gone(pids) == set()
    if sandboxes.uid is not None:
        assert wait_gone(processes_of(sandboxes.uid)) == set()
    with pytest.raises(SandboxFailure, match="the server's process is gone"):
        lives[0].get_state()


def test_closing_sandboxes_ends_the_template_and_every_run() -> None:
    sandboxes = Sandboxes()
    try:
        run = sandboxes.start_run_of(PROBE, LIMITS)
        lives = [Life(run, server, 2) for server in range(2)]
        pids = {sandboxes.pid, *run_pids(run)}
        assert len(pids) == 4 and all(proc_state(pid) is not None for pid in pids)
        assert lives[1].get_state() == ["ok", (0, False)]
    finally:
        sandboxes.close()  # the run is left open: the template ends it
    assert proc_state(sandboxes.pid) is None  # reaped by close()
    assert wait_gone(pids) == set()
    if sandboxes.uid is not None:
        assert wait_gone(processes_of(sandboxes.uid)) == set()
    run.close()  # the template is gone: nothing to tell, nothing raised


@needs_root
def test_two_sandboxes_take_different_users(sandboxes: Sandboxes) -> None:
    other = Sandboxes()
    try:
        assert sandboxes.uid is not None and other.uid is not None
        assert sandboxes.uid != other.uid
        assert UID_BASE <= other.uid < UID_BASE + UID_RANGE
        assert other.pid != sandboxes.pid
        assert other.protections()["unprivileged user (cannot read reference/ or results, "
                                   "write the install, signal the grader)"] is True
    finally:
        other.close()
    assert proc_state(other.pid) is None


# ---------------------------------------------------- how a life can fail


def test_a_life_that_ends_its_process_is_told_its_exit_status(start: Start) -> None:
    run = start()
    life = Life(run)
    started = time.monotonic()
    with pytest.raises(SandboxFailure, match=r"^its process ended with exit status 3 before "):
        life.deliver("exit", 3)
    assert time.monotonic() - started < 5  # not at the wall-clock budget
    assert wait_gone({life.pid}, zombies=True) == set()
    assert Life(run, 1, 2).get_state() == ["ok", (0, False)]  # the run goes on


def test_a_life_that_exits_while_booting_is_a_students_error(sandboxes: Sandboxes) -> None:
    class Factory:
        def servers(self, import_seed: int) -> SandboxRun:
            return sandboxes.start_run_of(ModuleImpl(sandboxed.__name__, "ExitsAtBoot"),
                                          LIMITS, import_seed=import_seed)

    async def lab_boot(make_config: MakeConfig) -> None:
        cfg = make_config(3, False, False)
        cfg.begin("Test (2A): boot")
        await cfg.check_one_leader()
        cfg.end()

    with contextlib.redirect_stdout(io.StringIO()):
        result = run_lab_test(lab_boot, Factory(), 1)
    assert result.kind == "error"
    assert result.where == "server 0 (incarnation 1)"
    assert result.message is not None
    assert "its process ended with exit status 3" in result.message
    if sandboxes.uid is not None:
        assert wait_gone(processes_of(sandboxes.uid)) == set()


def test_a_life_past_its_cpu_time_is_ended(start: Start) -> None:
    life = Life(start(SandboxLimits(cpu_seconds=1, wall_seconds=20)))
    started = time.monotonic()
    with pytest.raises(SandboxFailure, match=r"^its process "):
        life.deliver("burn")  # it swallows the spin interrupts; the limit still holds
    assert time.monotonic() - started < 10  # about 1 s of CPU, far from the wall budget
    assert wait_gone({life.pid}, zombies=True) == set()


def test_a_life_past_its_cpu_time_is_told_so(start: Start) -> None:
    life = Life(start(SandboxLimits(cpu_seconds=1, wall_seconds=20)))
    with pytest.raises(SandboxFailure, match=r"CPU time \(limit: CPU time\)"):
        life.deliver("burn")


def test_a_life_past_its_memory_is_told_so(start: Start) -> None:
    life = Life(start(SandboxLimits(memory_mb=64, wall_seconds=20)))
    report = life.deliver("hoard", 200)
    errors = [e for e in report.effects if e[0] == "error"]
    assert len(errors) == 1
    assert errors[0][2].startswith("RPC handler hoard ran out of memory")
    assert "(limit: memory)" in errors[0][2]
    assert report.state is None  # the life has failed: it runs nothing more


def test_a_life_that_swallows_every_interrupt_is_ended(start: Start) -> None:
    # 4 to 7 s of CPU: the watchdog interrupts it four times before it gives up
    run = start(SandboxLimits(cpu_seconds=30, wall_seconds=20))
    life = Life(run)
    with pytest.raises(SandboxFailure) as failure:
        life.deliver("burn")
    message = str(failure.value)
    assert "ran for more than 1 s of CPU time without returning to the event loop" in message
    assert "caught every interrupt" in message
    assert failure.value.kind == "spin"
    assert wait_gone({life.pid}, zombies=True) == set()
    assert Life(run, 1, 2).get_state() == ["ok", (0, False)]  # the run goes on


@pytest.mark.parametrize("stderr", [
    "real",
    "redirected",  # sys.stderr a capture with no descriptor (pytest's, redirect_stderr)
])
def test_a_spin_past_every_interrupt_ends_the_process(stderr: str) -> None:
    # The watchdog of a server life (harness/_sandbox/guards.py) in a forked child, with
    # short intervals: the child spins, swallowing every interrupt, for at most 1.5 s.
    told_r, told_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(told_r)
            sys.stderr = sys.__stderr__ if stderr == "real" else io.StringIO()

            def tell(message: str) -> None:
                os.write(told_w, b"told")

            set_spin_exit(tell)
            SpinWatchdog(spin_seconds=0.05, interval=0.01, max_interrupts=1).start()
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                with contextlib.suppress(BaseException):
                    while time.monotonic() < deadline:
                        pass
        finally:
            os._exit(0)
    os.close(told_w)
    _, status = os.waitpid(pid, 0)
    told = os.read(told_r, 16)
    os.close(told_r)
    assert told == b"told"
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_SPIN


@pytest.mark.parametrize("clock", [None, 12.5], ids=["no-clock", "clock"])
def test_a_life_that_never_answers_is_stopped_at_the_wall_budget(start: Start,
                                                                 clock: float | None) -> None:
    run = start(SandboxLimits(wall_seconds=0.6),
                clock=None if clock is None else (lambda: clock))
    life = Life(run)
    with pytest.raises(WallClockLimitError) as failure:
        life.deliver("stall", 60)  # blocks in select(): no CPU, no answer
    elapsed = time.monotonic() - (run.deadline - 0.6)
    assert 0.5 < elapsed < 3
    error = failure.value
    assert isinstance(error, StudentError)  # the run fails as the student's
    message = str(error)
    assert message.startswith("the run used more than 0.6 s of real time (limit: wall clock)")
    if clock is None:
        assert "virtual time" not in message
    else:
        assert "and reached only 12.500 s of virtual time" in message
    # the life's transport is closed; the run can start no new life
    with pytest.raises(SandboxFailure, match="the server's process is gone"):
        life.get_state()
    with pytest.raises(WallClockLimitError, match="before server 1 could start"):
        run.spawn(1, 1)


def test_a_life_that_writes_garbage_breaks_the_protocol(start: Start) -> None:
    life = Life(start())
    with pytest.raises(SandboxFailure, match=r"^the sandbox broke the protocol: a frame "):
        life.deliver("garbage")
    with pytest.raises(SandboxFailure, match="gone"):
        life.get_state()


def test_a_report_that_names_a_global_runs_nothing_here(start: Start, tmp_path: Path) -> None:
    marker = tmp_path / "made-by-the-report"
    life = Life(start())
    with pytest.raises(SandboxFailure, match=r"^the sandbox broke the protocol: a frame "):
        life.deliver("evil", str(marker))
    assert not marker.exists()  # os.mkdir(marker) would have run had it been unpickled


# --------------------------------------------------------------------- check


def test_check_accepts_a_good_submission_and_keeps_its_code(sandboxes: Sandboxes) -> None:
    path = "/submissions/good/raft.py"
    before = dict(sandboxes._compiled)
    assert sandboxes.check(path, GOOD, LIMITS) is None
    added = set(sandboxes._compiled) - set(before)
    assert len(added) == 1
    (key,) = added
    code = marshal.loads(sandboxes._compiled[key])
    assert code.co_filename == path

    # a run of the same submission loads the kept code: the zygote compiles nothing
    run = sandboxes.start_run(path, GOOD, LIMITS, import_seed=0)
    try:
        assert run.load_error is None
        assert run.compiled == b""  # what a zygote that compiled would have sent back
        assert Life(run, 0, 2).get_state() == ["ok", (7, True)]
    finally:
        run.close()
    assert sandboxes._compiled == {**before, key: sandboxes._compiled[key]}
    assert sandboxes.check(path, GOOD, LIMITS) is None
    assert len(sandboxes._compiled) == len(before) + 1


def test_check_runs_the_kept_code_not_the_source(sandboxes: Sandboxes) -> None:
    path = "/submissions/swapped/raft.py"
    assert sandboxes.check(path, GOOD, LIMITS) is None
    (key,) = {k for k, v in sandboxes._compiled.items()
              if marshal.loads(v).co_filename == path}
    kept = sandboxes._compiled[key]
    try:
        sandboxes._compiled[key] = marshal.dumps(compile("class Foo:\n    pass\n", path, "exec"))
        problem = sandboxes.check(path, GOOD, LIMITS)
        assert problem is not None
        assert problem.startswith("raft.py defines no class named Raft (it defines Foo)")
    finally:
        sandboxes._compiled[key] = kept


BAD = [
    ("def broken(:\n", "raft.py does not parse: line 1: invalid syntax."),
    ("class Foo:\n    pass\n", "raft.py defines no class named Raft (it defines Foo)"),
    ("raise ImportError('nope')\n", "importing raft.py raised ImportError: nope at line 1."),
    ("from harness import Config\n",
     "importing raft.py raised ImportError: harness.Config is part of the grader, which does "
     "not exist inside a sandbox; Raft code imports only ApplyMsg, ClientEnd, CodecError, "
     "Persister, decode, encode from harness at line 1."),
    (GOOD.replace("    def kill(self):\n        pass\n", ""),
     "class Raft in raft.py lacks kill()"),
]


@pytest.mark.parametrize(("source", "problem"), BAD,
                         ids=["syntax", "no-raft", "raises", "trusted-name", "no-kill"])
def test_check_gives_the_loaders_message_for_a_bad_submission(
        sandboxes: Sandboxes, source: str, problem: str) -> None:
    before = set(sandboxes._compiled)
    message = sandboxes.check("/submissions/bad/raft.py", source, LIMITS)
    assert message is not None
    assert message.startswith(problem), message
    if problem.startswith("raft.py does not parse"):
        assert set(sandboxes._compiled) == before  # nothing kept of what does not compile
    if sandboxes.uid is not None:
        assert wait_gone(processes_of(sandboxes.uid)) == set()


def test_trusted_names_stay_refused_after_the_worker_used_them() -> None:
    assert harness.Config is not None  # resolved, as by a worker that ran a test before
    with contextlib.redirect_stdout(sys.__stdout__), contextlib.redirect_stderr(sys.__stderr__):
        sandboxes = Sandboxes()
    try:
        problem = sandboxes.check("raft.py", "from harness import Config\n" + GOOD, LIMITS)
    finally:
        sandboxes.close()
    assert problem is not None
    assert problem.startswith("importing raft.py raised ImportError: harness.Config is part "
                              "of the grader")
