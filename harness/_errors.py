"""The three kinds of things that can end a run, kept apart on purpose.

    Fatal          a test's check failed: MIT's ``t.Fatalf``, with MIT's words.
    StudentError   the code under test broke a rule of the harness or raised:
                   an exception escaping a task or handler, a deadlock, a
                   livelock, a CPU spin, a blocking call, an over-long run.
    HarnessError   a bug in raftlab itself. It never costs a student points.

Each StudentError subclass says what the code did and what to do instead, so
the message is the fix. ``where`` names the server and incarnation the
offending code belonged to, when the harness knows it.

``CodecError`` is different: it is raised *into* student code by
``harness.encode`` and ``ClientEnd.call`` (like a TypeError), so a student may
catch it. If it escapes a task it becomes a StudentError like any exception.
"""

from __future__ import annotations

import asyncio
import errno
import os
import traceback

OUT_OF_MEMORY = ("each server's process has a memory limit (limit: memory), and Raft needs "
                 "little memory: look for data that grows without bound (a log never trimmed, "
                 "copies kept per RPC).")


def limit_hint(exc: BaseException) -> str:
    """Which limit an exception shows the code ran into, as " (limit: ...)", or ""."""
    if isinstance(exc, OSError):
        if exc.errno == errno.EMFILE:
            return " (limit: open files)"
        if exc.errno == errno.EAGAIN and isinstance(exc, BlockingIOError):
            return " (limit: processes and threads)"
        if exc.errno == errno.EPERM:
            return (" (the sandbox refuses it: a Raft needs no files, processes, threads, "
                    "sockets or signals)")
        if exc.errno == errno.EFBIG:
            return " (limit: file size)"
    return ""


class Fatal(Exception):
    """A lab test failed one of its checks (MIT's ``t.Fatalf``)."""


class StudentError(Exception):
    """The code under test broke a harness rule or raised an exception.

    Attributes:
        where: "server 2 (incarnation 1)" or "" when not tied to a server.
        details: extra text for reports, e.g. a filtered traceback.
    """

    def __init__(self, message: str, *, where: str = "", details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.details = details

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class DeadlockError(StudentError):
    """Nothing can run and no timer is pending: every task waits forever."""


class LivelockError(StudentError):
    """The loop keeps running callbacks but virtual time never advances."""


class SpinError(StudentError):
    """One callback ran on the CPU for too long without awaiting."""


class BlockingCallError(StudentError):
    """time.sleep, a thread, an executor or the wall clock was used."""


class WallClockLimitError(StudentError):
    """A run used more real time than its wall-clock cap."""


class CodecError(TypeError):
    """A value that cannot cross the network (or be persisted) was sent.

    The message names the offending path, e.g.
    ``AppendEntriesArgs.entries[3].command: a Raft object cannot cross the network``.
    """


class HarnessError(Exception):
    """An internal error in raftlab. Reported apart from student failures."""


class SpinInterrupt(BaseException):
    """Raised asynchronously into a callback that spins on the CPU.

    A BaseException so that ``except Exception`` in student code does not
    swallow it; the loop turns it into a SpinError. ``subject`` names what was
    running ("server 1 (incarnation 1) task Raft.ticker"); ``detail`` is the
    rest of the message, so a caller that knows better can name the subject.
    """

    def __init__(self, subject: str, detail: str) -> None:
        super().__init__(f"{subject} {detail}")
        self.subject = subject
        self.detail = detail


def student_traceback(exc: BaseException) -> str:
    """A traceback with raftlab's and asyncio's own frames left out.

    Students see only the frames of their code (and of the test), which is
    where the bug is; if nothing is left, the full traceback is kept.
    """
    hidden = (os.path.dirname(__file__) + os.sep, os.path.dirname(asyncio.__file__) + os.sep)
    frames = traceback.extract_tb(exc.__traceback__)
    kept = [f for f in frames if not f.filename.startswith(hidden)]
    if not kept:
        return "".join(traceback.format_exception(exc))
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(kept)]
    lines += traceback.format_exception_only(exc)
    return "".join(lines)
