# base: reference
"""Kill the grader: its process, its group, every process there is, the parent, and
every Python process found in /proc. A correct Raft otherwise: it must get exactly
its 100, and the grader must finish."""
import os as _os
import signal as _signal


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


_init = Raft.__init__


def __init__(self, *args):
    _init(self, *args)
    _attack()


Raft.__init__ = __init__
