"""Fixed results data for the report and export tests (no harness involved)."""

from __future__ import annotations

from grader.results import Results, TestRecord

TAIL = [
    {"t": 12.5, "kind": "send", "server": 0, "inc": 2, "call": 41, "to": 1,
     "method": "append_entries", "bytes": 180, "data": "AppendEntriesArgs(term=3, …)"},
    {"t": 12.5004, "kind": "deliver", "server": 1, "inc": 1, "call": 41, "from": 0,
     "method": "append_entries"},
    {"t": 12.5011, "kind": "lost", "server": 0, "inc": 2, "call": 41, "peer": 1,
     "method": "append_entries", "reason": "reply dropped"},
    {"t": 12.62, "kind": "apply", "server": 2, "inc": 1, "index": 7, "command": "105"},
    {"t": 13.0, "kind": "crash", "server": 2, "inc": 1},
    {"t": 14.0, "kind": "check", "server": -1, "inc": 0, "what": "one", "detail": "105 -> index 7"},
    {"t": 14.2, "kind": "failure", "server": -1, "inc": 0,
     "message": "one(106) failed to reach agreement"},
]


def record(name: str, seed: int, kind: str = "passed", **kw: object) -> TestRecord:
    base: dict[str, object] = dict(
        name=name, part=name[-2:].upper(), seed=seed, kind=kind, sim_time=3.25 + seed,
        wall_time=0.01 * seed, peers=3, rpcs=50 + seed, bytes=15000 + 100 * seed,
        commits=seed, replay=f"raftlab replay {name} --seed {seed}",
        description="Test (2B): agreement after follower reconnects")
    base.update(kw)
    return TestRecord(**base)  # type: ignore[arg-type]


def single_seed() -> Results:
    return Results(impl="student", python="3.11.7", raftlab_version="0.1.0", tests=[
        record("test_initial_election_2a", 1),
        record("test_fail_agree_2b", 1, "failed", message="one(106) failed to reach agreement",
               line="test_2b.py:170 in test_fail_agree_2b: await cfg.one(106, servers, True)",
               trace_tail=TAIL),
        record("test_persist1_2c", 1, "error",
               message="RuntimeError: boom (raised in task Raft.ticker)",
               where="server 1 (incarnation 2)",
               details="Traceback (most recent call last):\n  File \"raft.py\", line 9\n"
                       "RuntimeError: boom"),
        record("test_snapshot_basic_2d", 1, "harness-error",
               message="internal error in raftlab: KeyError: 3"),
    ])


def many_seeds() -> Results:
    tests = []
    for seed in (1, 2, 3):
        tests.append(record("test_initial_election_2a", seed))
        tests.append(record("test_backup_2b", seed, "failed" if seed == 2 else "passed",
                            message="one(7) failed to reach agreement" if seed == 2 else None))
    return Results(impl="student", python="3.11.7", raftlab_version="0.1.0", tests=tests)
