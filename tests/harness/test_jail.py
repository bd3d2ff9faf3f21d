"""Tests of confining a sandbox process (harness/_sandbox/jail.py), without sandboxes.

The seccomp program is checked as data for both architectures it knows (its
shape, its syscall numbers against the kernel's headers where they are
installed, and its verdicts, by running it in a small BPF interpreter), and
unknown machines get no program. Then the filter is installed for real in a
forked child of this process: every class of call it refuses fails there with
PermissionError while ordinary work still runs, for the server life's filter
(``fork=False``) and the zygote's (``fork=True``). Also: what ``confine`` sets
(descriptors, environment, argv, folder, umask, limits) and the CPU-time
limit's signal, ``keep_sys_path_reachable``, ``kill_user`` (root), and
``protections``.

Each child reports its findings as JSON on a pipe and ends with ``os._exit``;
every process a test starts is waited for before the test ends.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import re
import resource
import signal
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness._sandbox import jail

from . import sandboxed

LINUX = sys.platform == "linux"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

AUDIT = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
TABLES = {"x86_64": jail._X86_64, "aarch64": jail._AARCH64}
# Calls no filter refuses (numbers not in jail's tables): read, write, close, mmap, getpid.
ORDINARY = {"x86_64": {"read": 0, "write": 1, "close": 3, "mmap": 9, "getpid": 39},
            "aarch64": {"read": 63, "write": 64, "close": 57, "mmap": 222, "getpid": 172}}
HEADERS = {"x86_64": ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
                      "/usr/include/asm/unistd_64.h"),
           "aarch64": ("/usr/include/asm-generic/unistd.h",)}

ALLOW = 0x7FFF0000
EPERM = 0x00050000 | errno.EPERM
KILL_PROCESS = 0x80000000
I386 = 0x40000003
TIOCSTI = 0x5412
FIONREAD = 0x541B
WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)

needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (changes user ids)")
needs_fork = pytest.mark.skipif(not (LINUX and hasattr(os, "fork")),
                                reason="needs Linux (fork, /proc, rlimits)")


@functools.cache
def seccomp_here() -> bool:
    """Can this machine install the filter? (Asked once, in a child, when first needed.)"""
    return LINUX and hasattr(os, "fork") and jail.seccomp_works()


@pytest.fixture
def needs_seccomp() -> None:
    if not seccomp_here():
        pytest.skip("this machine cannot install the seccomp filter (not Linux x86-64 / "
                    "arm64, or seccomp is unavailable)")


# ------------------------------------------------------------ BPF as data


def instructions(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack("HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]


def verdict(program: bytes, nr: int, arch: int, *args: int) -> int:
    """What the kernel would do with this call (a BPF interpreter for the opcodes jail uses)."""
    values = [a & 0xFFFFFFFFFFFFFFFF for a in args] + [0] * (6 - len(args))
    data = struct.pack("=iIQ6Q", nr, arch, 0, *values)
    code = instructions(program)
    pc = acc = 0
    for _ in range(len(code)):
        op, jt, jf, k = code[pc]
        if op == 0x20:      # BPF_LD | BPF_W | BPF_ABS
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif op == 0x15:    # BPF_JMP | BPF_JEQ | BPF_K
            pc += 1 + (jt if acc == k else jf)
        elif op == 0x45:    # BPF_JMP | BPF_JSET | BPF_K
            pc += 1 + (jt if acc & k else jf)
        elif op == 0x06:    # BPF_RET | BPF_K
            return k
        else:
            raise AssertionError(f"unexpected BPF opcode {op:#x} at {pc}")
    raise AssertionError("the program does not return")


@pytest.mark.parametrize("fork", [False, True])
@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_program_is_whole_instructions_that_end_in_allow(machine: str, fork: bool) -> None:
    program = jail.seccomp_program(fork=fork, pid=4242, machine=machine)
    assert program is not None
    assert len(program) % 8 == 0
    code = instructions(program)
    assert len(code) <= 4096  # BPF_MAXINSNS
    assert code[-1] == (0x06, 0, 0, ALLOW)
    assert code[0] == (0x20, 0, 0, 4)  # it starts by checking the architecture
    for pc, (op, jt, jf, _) in enumerate(code):
        if op in (0x15, 0x45):
            assert pc + 1 + max(jt, jf) < len(code), f"a jump past the end at {pc}"


@pytest.mark.parametrize("machine", ["i686", "armv7l", "riscv64", "ppc64le", "s390x", ""])
def test_an_unknown_machine_gets_no_program(machine: str) -> None:
    assert jail.seccomp_program(fork=False, pid=1, machine=machine or "unknown") is None
    assert jail.seccomp_program(fork=True, pid=1, machine=machine or "unknown") is None


def header_numbers(machine: str) -> dict[str, int] | None:
    for path in HEADERS[machine]:
        with contextlib.suppress(OSError):
            text = Path(path).read_text(encoding="ascii", errors="replace")
            found: dict[str, int] = {}
            for m in re.finditer(r"^#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$", text, re.M):
                found.setdefault(m.group(1), int(m.group(2)))
            return found
    return None


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_syscall_numbers_match_the_kernels_headers(machine: str) -> None:
    numbers = header_numbers(machine)
    if numbers is None:
        pytest.skip(f"the kernel's headers for {machine} are not installed")
    # Calls newer than the installed headers (fchmodat2 is Linux 6.6) cannot be checked.
    wrong = {name: (ours, numbers[name]) for name, ours in TABLES[machine].items()
             if name in numbers and numbers[name] != ours}
    assert wrong == {}


def test_every_denied_name_has_a_number_on_x86_64() -> None:
    # A name missing from the table would be dropped from the filter without a word.
    names = {*jail._DENY, *jail._NO_PROCESSES, "open", "openat", "kill", "tkill", "tgkill",
             "ioctl", "seccomp"}
    assert names - set(jail._X86_64) == set()
    # arm64 has only the *at forms (and no fork, iopl, ...): the rest must be absent there
    # because the architecture lacks them, not by mistake.
    numbers = header_numbers("aarch64")
    if numbers is not None:
        absent = names - set(jail._AARCH64)
        assert absent & set(numbers) == set()


@pytest.mark.parametrize("fork", [False, True])
@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_programs_verdicts(machine: str, fork: bool) -> None:
    pid = 4242
    program = jail.seccomp_program(fork=fork, pid=pid, machine=machine)
    assert program is not None
    table, arch = TABLES[machine], AUDIT[machine]

    def says(name: str, *args: int) -> int:
        return verdict(program, table[name], arch, *args)

    # another architecture's calls kill the process
    assert verdict(program, table["openat"], I386) == KILL_PROCESS
    for name in jail._DENY:
        if name in table:
            assert says(name) == (ALLOW if fork and name == "prctl" else EPERM), name
    for name in ("clone", "clone3", "fork", "vfork"):
        if name in table:
            assert says(name) == (ALLOW if fork else EPERM), name
    for name in ("execve", "execveat"):
        assert says(name) == EPERM, name
    # opening: for reading only
    for name, flags_at in (("open", 1), ("openat", 2)):
        if name not in table:
            continue
        args = [0] * 6
        args[flags_at] = os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY
        assert says(name, *args) == ALLOW, name
        for flag in WRITE_FLAGS:
            args[flags_at] = flag
            assert says(name, *args) == EPERM, (name, flag)
    # signals: to itself only (never to its group, everyone or another pid)
    for name in ("kill", "tkill", "tgkill"):
        assert says(name, pid, 0) == ALLOW, name
        for target in (pid + 1, 1, 0, -1, -pid):
            assert says(name, target, 0) == EPERM, (name, target)
    # ioctl: anything but pushing input into a terminal
    assert says("ioctl", 0, TIOCSTI) == EPERM
    assert says("ioctl", 0, FIONREAD) == ALLOW
    for number in ORDINARY[machine].values():
        assert verdict(program, number, arch) == ALLOW
    if machine == "x86_64":  # the x32 ABI's numbers are refused outright
        assert verdict(program, 0x40000000 | ORDINARY[machine]["getpid"], arch) == EPERM


# ------------------------------------------------- the filter, for real


def in_child(body: Callable[[int], object]) -> object:
    """Run ``body(fd)`` in a forked child and return its JSON-able result (``fd``: the
    descriptor the result goes to, for a body that closes the others)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(r)
            try:
                result: object = {"value": body(w)}
            except BaseException as e:
                result = {"error": f"{type(e).__name__}: {e}"}
            os.write(w, json.dumps(result).encode())
        except BaseException:
            code = 1
        os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"the child ended: {status}"
    answer = json.loads(b"".join(chunks))
    assert "error" not in answer, answer["error"]
    return answer["value"]


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder with a file to read, one to remove and a folder to remove."""
    (tmp_path / "file").write_text("x")
    (tmp_path / "victim").write_text("v")
    (tmp_path / "dir").mkdir()
    return tmp_path


def attempts_under_filter(fork: bool, folder: Path, other: int) -> dict[str, str]:
    def body(fd: int) -> dict[str, str]:
        assert jail.install_seccomp(fork=fork), "the filter was not installed"
        return {name: sandboxed.attempt(name, str(folder), other)
                for name in sandboxed.expected(fork=fork)}

    result = in_child(body)
    assert isinstance(result, dict)
    return result


@pytest.mark.usefixtures("needs_seccomp")
@pytest.mark.parametrize("fork", [False, True], ids=["server-filter", "zygote-filter"])
def test_the_filter_refuses_each_class_of_call_and_allows_ordinary_work(
        fork: bool, scratch: Path) -> None:
    before = sorted(p.name for p in scratch.iterdir())
    outcome = attempts_under_filter(fork, scratch, os.getpid())
    assert outcome == sandboxed.expected(fork=fork)
    # nothing was created, removed or changed
    assert sorted(p.name for p in scratch.iterdir()) == before
    assert (scratch / "file").read_text() == "x"
    assert (scratch / "file").stat().st_mode & 0o777 != 0o777


@needs_fork
def test_without_the_filter_the_same_calls_work(scratch: Path) -> None:
    # The control: each refusal above is the filter's, not the folder's or the user's.
    def body(fd: int) -> dict[str, str]:
        names = ("read", "open_write", "create", "unlink", "mkdir", "chmod", "socket",
                 "setpgid", "prctl", "kill_self")
        return {name: sandboxed.attempt(name, str(scratch), os.getppid()) for name in names}

    outcome = in_child(body)
    assert outcome == {"read": "ok", "open_write": "ok", "create": "ok", "unlink": "ok",
                       "mkdir": "ok", "chmod": "ok", "socket": "ok", "setpgid": "ok",
                       "prctl": "ok", "kill_self": "ok"}


@pytest.mark.usefixtures("needs_seccomp")
def test_a_filtered_process_still_writes_to_descriptors_it_holds(tmp_path: Path) -> None:
    # A server life reports on a pipe it inherited: write() itself is never refused.
    path = tmp_path / "held"
    path.write_text("")
    fd = os.open(path, os.O_WRONLY)
    try:
        assert in_child(lambda _: jail.install_seccomp(fork=False) and os.write(fd, b"ok")) == 2
    finally:
        os.close(fd)
    assert path.read_text() == "ok"


@pytest.mark.usefixtures("needs_seccomp")
def test_a_filtered_process_cannot_have_the_kernel_signal_another_process() -> None:
    """kill() is refused, and so are the fcntl requests (F_SETOWN, F_SETSIG) that would
    have the kernel signal another process of its user (when not root, the grader)."""
    victim_r, victim_w = os.pipe()
    victim = os.fork()
    if victim == 0:  # pragma: no cover - waits until the pipe closes
        os.close(victim_w)
        os.read(victim_r, 1)
        os._exit(0)
    os.close(victim_r)

    def body(fd: int) -> bool:
        assert jail.install_seccomp(fork=False)
        try:
            os.kill(victim, signal.SIGKILL)
        except PermissionError:
            refused = True  # as it should be
        else:
            refused = False
        r, w = os.pipe()
        for request, arg in ((fcntl.F_SETOWN, victim), (10, signal.SIGKILL)):  # 10: F_SETSIG
            try:
                fcntl.fcntl(r, request, arg)
            except PermissionError:
                pass
            else:
                refused = False
        for request in (0x8901, 0x8902):  # FIOSETOWN, SIOCSPGRP: the ioctl route
            try:
                fcntl.ioctl(r, request, struct.pack("i", victim))
            except PermissionError:
                pass
            else:
                refused = False
        fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
        os.write(w, b"x")  # were r owned, the kernel would now signal its owner
        return refused

    try:
        assert in_child(body) is True  # a plain kill() is refused
    finally:
        os.close(victim_w)
        _, status = os.waitpid(victim, 0)
    assert not os.WIFSIGNALED(status), f"killed by {signal.Signals(os.WTERMSIG(status)).name}"


# ------------------------------------------------------------ limits


@needs_fork
def test_a_process_past_its_cpu_time_gets_sigxcpu() -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - spins until the limit ends it
        try:
            jail.confine(jail.Confinement(memory_mb=0, cpu_seconds=1), keep=[], fork=False,
                         session=False)
            while True:
                pass
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == signal.SIGXCPU, signal.Signals(os.WTERMSIG(status)).name


@needs_fork
def test_confine_sets_the_limits_environment_and_folder() -> None:
    def body(fd: int) -> dict[str, object]:
        r, w = os.pipe()
        jail.confine(jail.Confinement(memory_mb=64, cpu_seconds=7, open_files=20),
                     keep=[r, w, fd], fork=False, session=False)
        return {
            "fds": sorted(int(n) for n in os.listdir("/proc/self/fd")),
            "keep": [r, w, fd], "environ": dict(os.environ), "argv": sys.argv,
            "cwd": os.getcwd(), "umask": os.umask(0o077),
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
            "core": resource.getrlimit(resource.RLIMIT_CORE),
            "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
            "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
            "as": resource.getrlimit(resource.RLIMIT_AS),
        }

    facts = in_child(body)
    assert isinstance(facts, dict)
    # 0-2, the three kept, and the listing's own descriptor
    assert {0, 1, 2, *facts["keep"]} <= set(facts["fds"])
    assert len(set(facts["fds"]) - {0, 1, 2, *facts["keep"]}) == 1
    assert facts["environ"] == jail.ENVIRONMENT
    assert facts["argv"] == ["raftlab-sandbox"]
    assert facts["cwd"] == "/"
    assert facts["umask"] == 0o077
    assert facts["nofile"] == [20, 20]
    assert facts["core"] == [0, 0]
    assert facts["fsize"] == [0, 0]
    assert facts["cpu"] == 7
    soft, hard = facts["as"]
    assert soft == hard and 64 * 1024 * 1024 < soft < 1 << 40


# ------------------------------------------------------------ users


@needs_root
def test_kill_user_ends_every_process_of_that_user_however_it_detached() -> None:
    from harness._trusted.sandboxes import Sandboxes  # noqa: PLC0415

    sandboxes = Sandboxes()  # holds a sandbox user id no one else uses
    try:
        uid = sandboxes.uid
        assert uid is not None
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - a process of that user, in a session of its own
            try:
                os.setsid()
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                os.write(ready_w, b"!")
                signal.pause()
            finally:
                os._exit(0)
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"!"
        os.close(ready_r)
        jail.kill_user(uid)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        sandboxes.close()


@needs_fork
def test_keep_sys_path_reachable_keeps_only_what_others_cannot_reach() -> None:
    def body(fd: int) -> dict[str, object]:
        before = list(sys.path)
        kept = jail.keep_sys_path_reachable()
        return {"before": before, "after": list(sys.path), "kept": kept,
                "targets": {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in kept}}

    facts = in_child(body)
    assert isinstance(facts, dict)
    if not IS_ROOT:
        assert facts["kept"] == [] and facts["after"] == facts["before"]
        return
    for before, after in zip(facts["before"], facts["after"], strict=True):
        if after == before:
            assert not before or not os.path.isdir(before) or jail._traversable_by_others(before)
        else:
            fd = int(after.removeprefix("/proc/self/fd/"))
            assert fd in facts["kept"]
            assert facts["targets"][str(fd)] == os.path.realpath(before)
            assert not jail._traversable_by_others(before)


# ------------------------------------------------------------ reports


@pytest.mark.parametrize(("root", "seccomp"), [(True, True), (True, False), (False, True),
                                               (False, False)])
def test_protections_say_what_holds(root: bool, seccomp: bool) -> None:
    table = jail.protections(root=root, seccomp=seccomp)
    always = [name for name, holds in table.items() if holds and name in (
        "separate process per server life", "verdict made outside the sandbox",
        "memory, CPU, file-size and open-file limits", "scrubbed environment")]
    assert len(always) == 4
    user = next(name for name in table if name.startswith("unprivileged user"))
    syscalls = next(name for name in table if name.startswith("system-call filter"))
    assert table[user] is root
    assert table[syscalls] is seccomp
    assert table["every sandbox process ends with its run"] is (root or seccomp)


@needs_fork
def test_seccomp_works_answers_the_same_each_time() -> None:
    # (and, as every test here, leaves no process behind: see no_child_left)
    first = jail.seccomp_works()
    assert jail.seccomp_works() is first
    if first:
        assert jail.seccomp_program(fork=False, pid=0) is not None


def children() -> set[int]:
    """Processes whose parent is this one (from /proc)."""
    me = str(os.getpid())
    found = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = Path(entry.path, "stat").read_text()
                    if stat.rsplit(")", 1)[1].split()[1] == me:
                        found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_child_left() -> Iterator[None]:
    """No test of this module leaves a process of its own behind."""
    before = children()
    yield
    left = children() - before
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    assert left == set(), f"processes left behind: {sorted(left)}"


@needs_fork
@pytest.mark.usefixtures("needs_seccomp")
def test_calls_that_act_on_another_process_are_refused_but_work_on_itself() -> None:
    """prlimit, setpriority, sched_setaffinity: on itself (pid 0) they work; on another
    process of its user (when not root, the grader) they are refused."""
    victim_r, victim_w = os.pipe()
    victim = os.fork()
    if victim == 0:  # pragma: no cover - waits until the pipe closes
        os.close(victim_w)
        os.read(victim_r, 1)
        os._exit(0)
    os.close(victim_r)

    def body(fd: int) -> dict[str, str]:
        assert jail.install_seccomp(fork=False)
        cpus = os.sched_getaffinity(0)
        attempts = {
            "prlimit other": lambda: resource.prlimit(victim, resource.RLIMIT_NOFILE, (1, 1)),
            "setpriority other": lambda: os.setpriority(os.PRIO_PROCESS, victim, 19),
            "affinity other": lambda: os.sched_setaffinity(victim, cpus),
            "prlimit self": lambda: resource.prlimit(0, resource.RLIMIT_NOFILE),
            "setpriority self": lambda: os.setpriority(os.PRIO_PROCESS, 0, 19),
            "affinity self": lambda: os.sched_setaffinity(0, cpus),
        }
        out = {}
        for name, attempt in attempts.items():
            try:
                attempt()
                out[name] = "ok"
            except OSError as e:
                out[name] = errno.errorcode.get(e.errno or 0, "?")
        return out

    try:
        got = in_child(body)
        limits = resource.prlimit(victim, resource.RLIMIT_NOFILE)
    finally:
        os.close(victim_w)
        os.waitpid(victim, 0)
    assert got == {"prlimit other": "EPERM", "setpriority other": "EPERM",
                   "affinity other": "EPERM", "prlimit self": "ok",
                   "setpriority self": "ok", "affinity self": "ok"}
    assert limits != (1, 1)
