"""raftlab's simulation harness: a deterministic world in virtual time.

Student code imports only this (the contract is ``student-api.md``):

    from harness import ApplyMsg, ClientEnd, Persister, encode, decode, CodecError

The lab suite, the grader and raftlab's own tests also use:

    run_lab_test(test, Raft, seed)     one lab test, one implementation, one seed
    Config                             config.go's helpers (check_one_leader, one, ...)
    Simulation, Limits                 a seeded world: loop, network, trace
    Fatal, StudentError, HarnessError  how a run ends, kept apart

Layout: the implementation lives in private modules, each with its manual as
its docstring; this package only re-exports.

    _loop       the virtual-time asyncio loop; deadlock / livelock / limit guards
    _owner      server incarnations: which code belongs to which server life
    _guards     refuses time.sleep, threads and wall clocks; interrupts CPU spins
    _codec      encode / decode: plain data only (labgob's role)
    _network    labrpc: the lossy, reordering RPC network
    _persister  per-server stable storage (MIT's persister.go)
    _trace      every event of a run, with a stable digest
    _sim        one seeded run: loop + network + trace + guards
    _tester     config.go: the MIT test helpers
    _monitors   always-on safety monitors (election safety, state machine safety, ...)
    _lab        running one lab test against one implementation

Dependencies point one way: the harness knows the student API, not any Raft,
and nothing of the grader.
"""

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
from ._guards import EXIT_SPIN as EXIT_SPIN
from ._guards import guard_module_globals as guard_module_globals
from ._lab import LabResult as LabResult
from ._lab import LabTest as LabTest
from ._lab import MakeConfig as MakeConfig
from ._lab import run_lab_test as run_lab_test
from ._loop import Limits as Limits
from ._loop import SimLoop as SimLoop
from ._loop import VirtualTimeLimit as VirtualTimeLimit
from ._network import DEFAULT_LATENCY as DEFAULT_LATENCY
from ._network import ClientEnd as ClientEnd
from ._network import Message as Message
from ._network import Network as Network
from ._owner import Incarnation as Incarnation
from ._persister import Persister as Persister
from ._sim import Outcome as Outcome
from ._sim import Simulation as Simulation
from ._sim import derive_seed as derive_seed
from ._tester import RAFT_ELECTION_TIMEOUT as RAFT_ELECTION_TIMEOUT
from ._tester import SNAPSHOT_INTERVAL as SNAPSHOT_INTERVAL
from ._tester import TIME_LIMIT as TIME_LIMIT
from ._tester import ApplyMsg as ApplyMsg
from ._tester import Config as Config
from ._tester import PassedLine as PassedLine
from ._tester import format_v as format_v
from ._trace import KINDS as TRACE_KINDS
from ._trace import Trace as Trace

__all__ = [
    "DEFAULT_LATENCY", "EXIT_SPIN", "RAFT_ELECTION_TIMEOUT", "SNAPSHOT_INTERVAL", "TIME_LIMIT",
    "TRACE_KINDS", "ApplyMsg", "BlockingCallError", "ClientEnd", "CodecError", "Config",
    "DeadlockError", "Fatal", "HarnessError", "Incarnation", "LabResult", "LabTest", "Limits",
    "LivelockError", "MakeConfig", "Message", "Network", "Outcome", "PassedLine", "Persister",
    "SimLoop", "Simulation", "SpinError", "StudentError", "Trace", "VirtualTimeLimit",
    "WallClockLimitError", "decode", "encode", "format_v", "guard_module_globals",
    "run_lab_test",
]
