"""raftlab's simulation harness: a deterministic world in virtual time.

Student code imports only this (the contract is the student API, HANDOUT.md):

    from harness import ApplyMsg, ClientEnd, Persister, encode, decode, CodecError

The lab suite, the grader and raftlab's own tests also use (the trusted side):

    run_lab_test(test, impl, seed)     one lab test, one implementation, one seed
    Config                             config.go's helpers (check_one_leader, one, ...)
    Simulation, Limits                 a seeded world: loop, network, trace
    Fatal, StudentError, HarnessError  how a run ends, kept apart

A run has two sides, and the layout says which side each file is on:

    _protocol.py   the one module between them: commands, reports, framing
    _sandbox/      runs the student's Raft (one server life per sandbox) and
                   nothing that judges it: api, loader, host, guards, jail, process
    _trusted/      makes the verdict: sim, servers, sandboxes, network, disk,
                   tester, monitors, trace, safe_decode, lab
    _loop.py       the virtual-time asyncio loop (each side runs its own)
    _codec.py      encode / decode: plain data only (labgob's role)
    _errors.py     Fatal, StudentError, HarnessError

Dependencies point one way: ``_sandbox`` imports nothing of ``_trusted`` (in a
sandbox process the trusted names below cannot even be imported), and the
harness knows the student API, not any Raft, and nothing of the grader.
Trusted names are loaded on first use, so a sandbox that imports ``harness``
loads only the student API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._codec import decode as decode
from ._codec import encode as encode
from ._errors import BlockingCallError as BlockingCallError
from ._errors import CodecError as CodecError
from ._errors import DeadlockError as DeadlockError
from ._errors import Fatal as Fatal
from ._errors import HarnessError as HarnessError
from ._errors import LivelockError as LivelockError
from ._errors import SpinError as SpinError
from ._errors import StudentError as StudentError
from ._errors import WallClockLimitError as WallClockLimitError
from ._protocol import ApplyMsg as ApplyMsg
from ._sandbox import sealed
from ._sandbox.api import ClientEnd as ClientEnd
from ._sandbox.api import Persister as Persister

if TYPE_CHECKING:
    from ._loop import Limits as Limits
    from ._loop import SimLoop as SimLoop
    from ._loop import VirtualTimeLimit as VirtualTimeLimit
    from ._sandbox.guards import EXIT_SPIN as EXIT_SPIN
    from ._sandbox.loader import ClassImpl as ClassImpl
    from ._sandbox.loader import LoadError as LoadError
    from ._sandbox.loader import ModuleImpl as ModuleImpl
    from ._sandbox.loader import SourceImpl as SourceImpl
    from ._trusted.disk import Disk as Disk
    from ._trusted.lab import LabResult as LabResult
    from ._trusted.lab import LabTest as LabTest
    from ._trusted.lab import MakeConfig as MakeConfig
    from ._trusted.lab import run_lab_test as run_lab_test
    from ._trusted.network import DEFAULT_LATENCY as DEFAULT_LATENCY
    from ._trusted.network import Message as Message
    from ._trusted.network import Network as Network
    from ._trusted.safe_decode import SafeDecodeError as SafeDecodeError
    from ._trusted.safe_decode import safe_decode as safe_decode
    from ._trusted.servers import LocalServers as LocalServers
    from ._trusted.servers import ServerHandle as ServerHandle
    from ._trusted.sim import Outcome as Outcome
    from ._trusted.sim import Simulation as Simulation
    from ._trusted.sim import derive_seed as derive_seed
    from ._trusted.tester import RAFT_ELECTION_TIMEOUT as RAFT_ELECTION_TIMEOUT
    from ._trusted.tester import SNAPSHOT_INTERVAL as SNAPSHOT_INTERVAL
    from ._trusted.tester import TIME_LIMIT as TIME_LIMIT
    from ._trusted.tester import Config as Config
    from ._trusted.tester import PassedLine as PassedLine
    from ._trusted.tester import format_v as format_v
    from ._trusted.trace import KINDS as TRACE_KINDS
    from ._trusted.trace import Trace as Trace

_LAZY: dict[str, tuple[str, str]] = {
    "Limits": ("._loop", "Limits"), "SimLoop": ("._loop", "SimLoop"),
    "VirtualTimeLimit": ("._loop", "VirtualTimeLimit"),
    "EXIT_SPIN": ("._sandbox.guards", "EXIT_SPIN"),
    "ClassImpl": ("._sandbox.loader", "ClassImpl"),
    "LoadError": ("._sandbox.loader", "LoadError"),
    "ModuleImpl": ("._sandbox.loader", "ModuleImpl"),
    "SourceImpl": ("._sandbox.loader", "SourceImpl"),
    "Disk": ("._trusted.disk", "Disk"),
    "LabResult": ("._trusted.lab", "LabResult"), "LabTest": ("._trusted.lab", "LabTest"),
    "MakeConfig": ("._trusted.lab", "MakeConfig"),
    "run_lab_test": ("._trusted.lab", "run_lab_test"),
    "DEFAULT_LATENCY": ("._trusted.network", "DEFAULT_LATENCY"),
    "Message": ("._trusted.network", "Message"), "Network": ("._trusted.network", "Network"),
    "SafeDecodeError": ("._trusted.safe_decode", "SafeDecodeError"),
    "safe_decode": ("._trusted.safe_decode", "safe_decode"),
    "LocalServers": ("._trusted.servers", "LocalServers"),
    "ServerHandle": ("._trusted.servers", "ServerHandle"),
    "Outcome": ("._trusted.sim", "Outcome"), "Simulation": ("._trusted.sim", "Simulation"),
    "derive_seed": ("._trusted.sim", "derive_seed"),
    "RAFT_ELECTION_TIMEOUT": ("._trusted.tester", "RAFT_ELECTION_TIMEOUT"),
    "SNAPSHOT_INTERVAL": ("._trusted.tester", "SNAPSHOT_INTERVAL"),
    "TIME_LIMIT": ("._trusted.tester", "TIME_LIMIT"),
    "Config": ("._trusted.tester", "Config"), "PassedLine": ("._trusted.tester", "PassedLine"),
    "format_v": ("._trusted.tester", "format_v"),
    "TRACE_KINDS": ("._trusted.trace", "KINDS"), "Trace": ("._trusted.trace", "Trace"),
}

STUDENT_API = ("ApplyMsg", "ClientEnd", "CodecError", "Persister", "decode", "encode")


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    if sealed[0]:
        raise ImportError(f"harness.{name} is part of the grader, which does not exist inside "
                          f"a sandbox; Raft code imports only {', '.join(STUDENT_API)} from "
                          "harness")
    value = getattr(importlib.import_module(where[0], __name__), where[1])
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_LATENCY", "EXIT_SPIN", "RAFT_ELECTION_TIMEOUT", "SNAPSHOT_INTERVAL", "STUDENT_API",
    "TIME_LIMIT", "TRACE_KINDS", "ApplyMsg", "BlockingCallError", "ClassImpl", "ClientEnd",
    "CodecError", "Config", "DeadlockError", "Disk", "Fatal", "HarnessError", "LabResult",
    "LabTest", "Limits", "LivelockError", "LoadError", "LocalServers", "MakeConfig", "Message",
    "ModuleImpl", "Network", "Outcome", "PassedLine", "Persister", "SafeDecodeError",
    "ServerHandle", "SimLoop", "Simulation", "SourceImpl", "SpinError", "StudentError", "Trace",
    "VirtualTimeLimit", "WallClockLimitError", "decode", "derive_seed", "encode", "format_v",
    "run_lab_test", "safe_decode",
]
