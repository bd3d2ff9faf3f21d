"""Confining a sandbox process: who it runs as, what it may use, what it may call.

    confine(Confinement(uid=61003, memory_mb=1024, cpu_seconds=65), keep=[fd], fork=True)
    confine_life(keep=[r, w], paths=conf.paths, program=LIFE_PROGRAM)  # in its child
    kill_user(61003)            # as root: end every process of that user
    PROTECTIONS                 # what this machine could apply (for reports)

``confine`` is called in a freshly forked child, before any student code runs:

  * it gets its own session (``setsid``; a run's zygote) so one signal reaches
    the whole run, and dies with its parent (``PR_SET_PDEATHSIG``);
  * every file descriptor but the ones it needs is closed; 0-2 are /dev/null;
  * resource limits: address space (memory), CPU time, file size 0 (it writes
    no file), open files, core dumps 0, processes and threads (per user: as
    root the run's own, else the user's current count plus this many); a
    lower priority (nice 10), so a stray process cannot starve the grader;
  * a scrubbed environment (no variable leads to the grader's files or output
    paths) and ``sys.argv``; working folder ``/``; umask 077;
  * as root, an unprivileged user and group of its own (no supplementary
    groups): it cannot read what is not world-readable (``reference/``, the
    results), write anything of the install, or signal the grader;
  * ``PR_SET_NO_NEW_PRIVS`` and a seccomp filter (Linux x86-64 and arm64) that
    refuses, with EPERM: opening files for writing and changing the file
    system, sockets, other processes (signals to anyone but itself, ptrace,
    process_vm_*, having the kernel signal one, changing another's limits,
    priority or CPUs), sessions and groups, identities, IPC, mounts, kernel
    modules, io_uring, bpf and the like - and, when ``fork`` is False,
    starting processes or threads (clone, fork, exec).

A run's zygote is confined so; each server life it forks inherits all of
that (limits, user, environment, filter) and adds, with ``confine_life``, what
a fork does not carry over or what is stricter for it: death with its parent,
only its own descriptors, and ``LIFE_PROGRAM``, the filter without processes
(built once: its rules name a pid no process has, so a life may signal no
process at all, itself included, and change the limits of none but itself
through pid 0).

A refused call raises ``PermissionError`` in the student's code. What cannot
be applied on this machine (seccomp elsewhere than Linux x86-64 / arm64, users
when not root) is listed in ``PROTECTIONS`` and in every graded results JSON
(``protections``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import platform
import resource
import signal
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

PR_SET_PDEATHSIG: Final = 1
PR_SET_CHILD_SUBREAPER: Final = 36
PR_SET_NO_NEW_PRIVS: Final = 38
PR_SET_SECCOMP: Final = 22
SECCOMP_MODE_FILTER: Final = 2
SECCOMP_SET_MODE_FILTER: Final = 1
SECCOMP_FILTER_FLAG_SPEC_ALLOW: Final = 4

ENVIRONMENT: Final = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
                      "PYTHONHASHSEED": "0"}

# Syscall numbers (from the kernel's headers: asm/unistd_64.h for x86-64 and
# asm-generic/unistd.h for arm64, which has no open/fork/... of its own).
_X86_64: Final = {
    "open": 2, "openat": 257, "openat2": 437, "creat": 85, "clone": 56, "clone3": 435,
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "kill": 62, "tkill": 200,
    "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "pidfd_send_signal": 424,
    "pidfd_open": 434, "pidfd_getfd": 438, "ptrace": 101, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "socket": 41, "socketpair": 53, "connect": 42,
    "bind": 49, "listen": 50, "accept": 43, "accept4": 288, "rename": 82, "renameat": 264,
    "renameat2": 316, "unlink": 87, "unlinkat": 263, "mkdir": 83, "mkdirat": 258, "rmdir": 84,
    "link": 86, "linkat": 265, "symlink": 88, "symlinkat": 266, "chmod": 90, "fchmod": 91,
    "fchmodat": 268, "fchmodat2": 452, "chown": 92, "fchown": 93, "lchown": 94,
    "fchownat": 260, "truncate": 76, "ftruncate": 77, "mknod": 133, "mknodat": 259,
    "utime": 132, "utimes": 235, "utimensat": 280, "futimesat": 261, "setxattr": 188,
    "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198,
    "fremovexattr": 199, "fallocate": 285, "memfd_create": 319, "memfd_secret": 447,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "msgget": 68, "msgsnd": 69,
    "msgrcv": 70, "msgctl": 71, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220,
    "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
    "mq_notify": 244, "mq_getsetattr": 245, "mount": 165, "umount2": 166, "pivot_root": 155,
    "chroot": 161, "swapon": 167, "swapoff": 168, "reboot": 169, "kexec_load": 246,
    "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "acct": 163, "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305,
    "adjtimex": 159, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "quotactl": 179, "quotactl_fd": 443, "unshare": 272, "setns": 308, "bpf": 321,
    "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
    "request_key": 249, "fanotify_init": 300, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "personality": 135, "syslog": 103, "vhangup": 153,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "process_madvise": 440, "process_mrelease": 448,
    "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114, "setresuid": 117,
    "setresgid": 119, "setfsuid": 122, "setfsgid": 123, "setgroups": 116, "capset": 126,
    "setsid": 112, "setpgid": 109, "prctl": 157, "seccomp": 317, "ioctl": 16,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "landlock_create_ruleset": 444,
    "landlock_add_rule": 445, "landlock_restrict_self": 446, "fcntl": 72, "prlimit64": 302,
    "setpriority": 141, "sched_setaffinity": 203, "sched_setscheduler": 144,
    "sched_setparam": 142, "sched_setattr": 314, "ioprio_set": 251, "migrate_pages": 256,
    "move_pages": 279,
}
_AARCH64: Final = {
    "openat": 56, "openat2": 437, "clone": 220, "clone3": 435, "execve": 221, "execveat": 281,
    "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
    "pidfd_send_signal": 424, "pidfd_open": 434, "pidfd_getfd": 438, "ptrace": 117,
    "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272, "socket": 198,
    "socketpair": 199, "connect": 203, "bind": 200, "listen": 201, "accept": 202,
    "accept4": 242, "renameat": 38, "renameat2": 276, "unlinkat": 35, "mkdirat": 34,
    "linkat": 37, "symlinkat": 36, "fchmod": 52, "fchmodat": 53, "fchmodat2": 452,
    "fchown": 55, "fchownat": 54, "truncate": 45, "ftruncate": 46, "mknodat": 33,
    "utimensat": 88, "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14,
    "lremovexattr": 15, "fremovexattr": 16, "fallocate": 47, "memfd_create": 279,
    "memfd_secret": 447, "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197,
    "msgget": 186, "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "semget": 190, "semop": 193,
    "semctl": 191, "semtimedop": 192, "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182,
    "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185, "mount": 40,
    "umount2": 39, "pivot_root": 41, "chroot": 51, "swapon": 224, "swapoff": 225,
    "reboot": 142, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
    "finit_module": 273, "delete_module": 106, "acct": 89, "settimeofday": 170,
    "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171, "sethostname": 161,
    "setdomainname": 162, "quotactl": 60, "quotactl_fd": 443, "unshare": 97, "setns": 268,
    "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
    "request_key": 218, "fanotify_init": 262, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "personality": 92, "syslog": 116, "vhangup": 58,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "process_madvise": 440, "process_mrelease": 448,
    "setuid": 146, "setgid": 144, "setreuid": 145, "setregid": 143, "setresuid": 147,
    "setresgid": 149, "setfsuid": 151, "setfsgid": 152, "setgroups": 159, "capset": 91,
    "setsid": 157, "setpgid": 154, "prctl": 167, "seccomp": 277, "ioctl": 29,
    "open_by_handle_at": 265, "name_to_handle_at": 264, "landlock_create_ruleset": 444,
    "landlock_add_rule": 445, "landlock_restrict_self": 446, "fcntl": 25, "prlimit64": 261,
    "setpriority": 140, "sched_setaffinity": 122, "sched_setscheduler": 119,
    "sched_setparam": 118, "sched_setattr": 274, "ioprio_set": 30, "migrate_pages": 238,
    "move_pages": 239,
}
_ARCHES: Final = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}

# Refused outright (when present on the architecture).
_DENY: Final = (
    "openat2", "creat", "open_by_handle_at", "name_to_handle_at", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "ptrace", "process_vm_readv",
    "process_vm_writev", "kcmp", "socket", "socketpair", "connect", "bind", "listen", "accept",
    "accept4", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat",
    "rmdir", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat",
    "fchmodat2", "chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate", "mknod",
    "mknodat", "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr",
    "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "fallocate", "memfd_create",
    "memfd_secret", "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semctl", "semtimedop", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr", "mount", "umount2", "pivot_root", "chroot",
    "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "acct", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "quotactl", "quotactl_fd",
    "unshare", "setns", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
    "request_key", "fanotify_init", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "personality", "syslog", "vhangup", "open_tree", "move_mount", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "process_madvise", "process_mrelease", "setuid",
    "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
    "setgroups", "capset", "setsid", "setpgid", "prctl", "landlock_create_ruleset",
    "landlock_add_rule", "landlock_restrict_self",
)
_NO_PROCESSES: Final = ("clone", "clone3", "fork", "vfork", "execve", "execveat")
_NO_EXEC: Final = ("execve", "execveat")

_WRITE_FLAGS: Final = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# Requests that make the kernel signal a process on the caller's behalf (F_SETOWN,
# F_SETSIG, F_SETOWN_EX; FIOSETOWN, SIOCSPGRP, FIOASYNC) or push input into a
# terminal (TIOCSTI, TIOCLINUX).
_FCNTL_REFUSED: Final = (8, 10, 15)
_IOCTL_REFUSED: Final = (0x5412, 0x541C, 0x5452, 0x8901, 0x8902)

# Calls that may act on another process: allowed only on itself (pid 0, or its own),
# so that a sandbox cannot lower the limits, the priority or the CPUs of a process
# of its user (when the grader does not run as root, the grader's own).
_SELF_ONLY: Final = (("prlimit64", 0), ("sched_setaffinity", 0), ("sched_setscheduler", 0),
                     ("sched_setparam", 0), ("sched_setattr", 0), ("migrate_pages", 0),
                     ("move_pages", 0), ("setpriority", 1), ("ioprio_set", 1))

# BPF opcodes (linux/filter.h, linux/seccomp.h).
_LD_ABS: Final = 0x20        # BPF_LD | BPF_W | BPF_ABS
_JEQ: Final = 0x15           # BPF_JMP | BPF_JEQ | BPF_K
_JSET: Final = 0x45          # BPF_JMP | BPF_JSET | BPF_K
_RET: Final = 0x06           # BPF_RET | BPF_K
_ALLOW: Final = 0x7FFF0000
_ERRNO: Final = 0x00050000 | errno.EPERM
_KILL: Final = 0x80000000    # SECCOMP_RET_KILL_PROCESS
_X32_BIT: Final = 0x40000000


@dataclass(frozen=True)
class Confinement:
    """What a sandbox process is confined to.

    Attributes:
        uid: run as this user and group (only when started as root; None: stay).
        memory_mb: address space it may add to what it has (0: no cap).
        cpu_seconds: CPU time it may use (SIGXCPU, then SIGKILL).
        open_files: file descriptors it may hold.
        processes: processes and threads its user may have (root only; 0: no cap).
        address_space: the address space it starts from (0: measure it now).
        paths: descriptors of Python's folders it keeps (``keep_sys_path_reachable``).
    """

    uid: int | None = None
    memory_mb: int = 1024
    cpu_seconds: int = 120
    open_files: int = 64
    processes: int = 0
    address_space: int = 0
    paths: tuple[int, ...] = ()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library (loaded once: a process forked later finds it loaded)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def prctl(option: int, arg: int = 0) -> bool:
    libc = _libc()
    return libc is not None and libc.prctl(option, arg, 0, 0, 0) == 0


def _stmt(code: int, k: int) -> bytes:
    return struct.pack("HBBI", code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _arg_low(i: int) -> int:
    """Offset of the low 32 bits of syscall argument i in struct seccomp_data."""
    return 16 + 8 * i + (0 if sys.byteorder == "little" else 4)


def seccomp_program(*, fork: bool, pid: int, machine: str | None = None) -> bytes | None:
    """The filter, or None if this machine's architecture is not known.

    ``fork`` True is the zygote's filter (it runs the module's top-level code, and
    forks the server lives, which then add the full filter): processes may be
    started but not exec'd, and ``prctl`` is left to the child's filter. Its rule
    for signals names the zygote itself, so a server life cannot signal even
    itself (``os.kill(os.getpid(), ...)`` is refused; its code can still end
    itself by raising or with ``os._exit``)."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit, table = arch
    prog = [_stmt(_LD_ABS, 4), _jump(_JEQ, audit, 1, 0), _stmt(_RET, _KILL), _stmt(_LD_ABS, 0)]
    if audit == 0xC000003E:  # x86-64: refuse the x32 ABI's numbers outright
        prog += [_jump(_JSET, _X32_BIT, 0, 1), _stmt(_RET, _ERRNO)]
    denied = [n for n in _DENY if not (fork and n == "prctl")]
    denied += _NO_EXEC if fork else _NO_PROCESSES
    for number in sorted({table[n] for n in denied if n in table}):
        prog += [_jump(_JEQ, number, 0, 1), _stmt(_RET, _ERRNO)]
    # opening for writing: open(path, flags), openat(dir, path, flags)
    for name, arg in (("open", 1), ("openat", 2)):
        if name in table:
            prog += [_jump(_JEQ, table[name], 0, 4), _stmt(_LD_ABS, _arg_low(arg)),
                     _jump(_JSET, _WRITE_FLAGS, 0, 1), _stmt(_RET, _ERRNO), _stmt(_RET, _ALLOW)]
    # signals: only to itself
    for name in ("kill", "tkill", "tgkill"):
        prog += [_jump(_JEQ, table[name], 0, 4), _stmt(_LD_ABS, _arg_low(0)),
                 _jump(_JEQ, pid, 0, 1), _stmt(_RET, _ALLOW), _stmt(_RET, _ERRNO)]
    # no signals sent by the kernel on its behalf, no input pushed into a terminal
    prog += _refuse_values(table["fcntl"], 1, _FCNTL_REFUSED)
    prog += _refuse_values(table["ioctl"], 1, _IOCTL_REFUSED)
    for name, arg in _SELF_ONLY:
        prog += [_jump(_JEQ, table[name], 0, 5), _stmt(_LD_ABS, _arg_low(arg)),
                 _jump(_JEQ, 0, 2, 0), _jump(_JEQ, pid, 1, 0), _stmt(_RET, _ERRNO),
                 _stmt(_RET, _ALLOW)]
    prog.append(_stmt(_RET, _ALLOW))
    return b"".join(prog)


def _refuse_values(number: int, arg: int, values: tuple[int, ...]) -> list[bytes]:
    """Syscall ``number`` is refused when argument ``arg`` is one of ``values``."""
    m = len(values)
    block = [_jump(_JEQ, number, 0, m + 3), _stmt(_LD_ABS, _arg_low(arg))]
    block += [_jump(_JEQ, v, m - j, 0) for j, v in enumerate(values)]
    return [*block, _stmt(_RET, _ALLOW), _stmt(_RET, _ERRNO)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def install_seccomp(*, fork: bool, program: bytes | None = None) -> bool:
    """Install the filter in this process (irreversible); False if it cannot be.

    With ``SECCOMP_FILTER_FLAG_SPEC_ALLOW``: by default the kernel also turns on
    speculative-execution mitigations for a filtered process, which make each
    switch between it and the trusted process cost tens of microseconds; they
    guard against side channels between processes, which a sandbox that holds
    no secret and is stepped in lockstep does not need."""
    if program is None:
        program = seccomp_program(fork=fork, pid=os.getpid())
    libc = _libc()
    if program is None or libc is None:
        return False
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    fprog = _SockFprog(len(program) // 8, program)
    number = _ARCHES[platform.machine()][1]["seccomp"]
    if libc.syscall(number, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                    ctypes.byref(fprog)) == 0:
        return True
    return bool(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0)


def _setrlimit(which: int, value: int, hard_value: int | None = None) -> None:
    """Lower a limit to ``value`` (its hard limit too: to ``hard_value``, or ``value``)."""
    try:
        _soft, hard = resource.getrlimit(which)
        new_hard = value if hard_value is None else hard_value
        if hard != resource.RLIM_INFINITY:
            value, new_hard = min(value, hard), min(new_hard, hard)
        resource.setrlimit(which, (value, new_hard))
    except (ValueError, OSError):
        pass


def address_space_now() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def close_fds(keep: Iterable[int], *, devnull: bool = True) -> None:
    """Close every descriptor above 2 except ``keep``; point 0-2 at /dev/null (if
    ``devnull``; a server life inherits its zygote's)."""
    kept = sorted(set(keep))
    low = 3
    for fd in [*kept, 1 << 20]:
        if fd > low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    if not devnull:
        return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd not in kept:
            os.dup2(null, fd)
    if null not in kept and null > 2:
        os.close(null)


def _traversable_by_others(path: str) -> bool:
    try:
        parts = os.path.abspath(path).split(os.sep)
        for i in range(1, len(parts)):
            folder = os.sep.join(parts[:i]) or os.sep
            if not os.stat(folder).st_mode & 0o001:
                return False
        return bool(os.stat(path).st_mode & 0o005 == 0o005)
    except OSError:
        return False


def keep_sys_path_reachable() -> list[int]:
    """As root, before dropping privileges: Python's own folders may lie where another
    user cannot go (a Python under /root, say). Each such ``sys.path`` entry becomes
    ``/proc/self/fd/N``, a folder opened now, so the module's imports still work.
    Returns the descriptors to keep open."""
    if os.geteuid() != 0 or not os.path.isdir("/proc/self/fd"):
        return []
    kept = []
    for i, entry in enumerate(list(sys.path)):
        if not entry or not os.path.isdir(entry) or _traversable_by_others(entry):
            continue
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        kept.append(fd)
        sys.path[i] = f"/proc/self/fd/{fd}"
    sys.path_importer_cache.clear()
    return kept


def confine(conf: Confinement, *, keep: Iterable[int], fork: bool, session: bool) -> bool:
    """Confine this (freshly forked) process. Returns whether seccomp is in force."""
    if session:
        os.setsid()
        # In lockstep a sandbox runs while the trusted side waits for it, whatever its
        # priority; a stray one (a daemon, a fork bomb) must not starve the grader.
        with contextlib.suppress(OSError):
            os.nice(10)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    close_fds([*keep, *conf.paths], devnull=session)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(ENVIRONMENT)
    sys.argv[:] = ["raftlab-sandbox"]
    sys.dont_write_bytecode = True
    os.chdir("/")
    os.umask(0o077)
    _setrlimit(resource.RLIMIT_CORE, 0)
    _setrlimit(resource.RLIMIT_FSIZE, 0)
    _setrlimit(resource.RLIMIT_NOFILE, conf.open_files)
    # Soft below hard: at the soft limit the kernel sends SIGXCPU (which the trusted
    # side names), and SIGKILL only at the hard one; equal, it would send SIGKILL.
    _setrlimit(resource.RLIMIT_CPU, conf.cpu_seconds, conf.cpu_seconds + 1)
    for name in ("RLIMIT_MSGQUEUE", "RLIMIT_MEMLOCK"):
        if hasattr(resource, name):
            _setrlimit(getattr(resource, name), 0)
    if conf.memory_mb > 0:
        base = conf.address_space or address_space_now()
        _setrlimit(resource.RLIMIT_AS, base + conf.memory_mb * 1024 * 1024)
    if conf.processes > 0 and hasattr(resource, "RLIMIT_NPROC"):
        # Counted per user: as root the run's user is its own; otherwise the
        # processes the user has already count too.
        own = conf.uid is not None and os.geteuid() == 0
        _setrlimit(resource.RLIMIT_NPROC, conf.processes + (0 if own else _processes_of_user()))
    if conf.uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(conf.uid, conf.uid, conf.uid)
        os.setresuid(conf.uid, conf.uid, conf.uid)
    return install_seccomp(fork=fork)


_NO_PID: Final = 2**31 - 1  # above any pid_max (at most 2**22): no process has it

LIFE_PROGRAM: Final = seccomp_program(fork=False, pid=_NO_PID)
"""A server life's filter (see the module docstring); None on an unknown machine."""


def confine_life(*, keep: Iterable[int], paths: Iterable[int], program: bytes | None) -> bool:
    """Confine a server life, just forked from its confined zygote. Returns whether
    its filter is in force."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    close_fds([*keep, *paths], devnull=False)
    return program is not None and install_seccomp(fork=False, program=program)


def _processes_of_user() -> int:
    """Processes and threads of this process's real user (from /proc)."""
    uid = os.getuid()
    count = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if entry.stat().st_uid == uid:
                        count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


def kill_user(uid: int) -> None:
    """As root: end every process of user ``uid``, however it detached."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(1000):
                try:
                    os.kill(-1, signal.SIGKILL)  # every process this user may signal
                except ProcessLookupError:
                    break
        finally:
            os._exit(0)
    with contextlib.suppress(ChildProcessError):  # a SIGCHLD handler may have reaped it
        os.waitpid(pid, 0)


def seccomp_works() -> bool:
    """Can this machine install the filter? (Tried in a throwaway child.)"""
    if not hasattr(os, "fork") or seccomp_program(fork=False, pid=0) is None:
        return False
    pid = os.fork()
    if pid == 0:
        ok = install_seccomp(fork=True)
        refused = False
        if ok:
            try:
                os.open("/dev/null", os.O_WRONLY)
            except PermissionError:
                refused = True
        os._exit(0 if ok and refused else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def protections(*, root: bool, seccomp: bool) -> dict[str, bool]:
    """What holds on this machine, by name (for reports and the results' ``protections``)."""
    return {
        "separate process per server life": True,
        "verdict made outside the sandbox": True,
        "memory, CPU, file-size and open-file limits": True,
        "scrubbed environment": True,
        "unprivileged user (cannot read reference/ or results, write the install, "
        "signal the grader)": root,
        "system-call filter (no files written, no sockets, no new processes, no signals "
        "to others)": seccomp,
        "every sandbox process ends with its run": root or seccomp,
    }
