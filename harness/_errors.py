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
    swallow it; the loop turns it into a SpinError.
    """
