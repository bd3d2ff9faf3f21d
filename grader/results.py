"""The results model: plain data that every report and export is made from.

    rec = TestRecord.from_dict(d)      # one run of one test on one seed
    res = Results(impl=..., tests=[...])
    res.summary()                      # counts and per-test aggregates
    res.to_json() / Results.from_json(text)

This module knows nothing of the harness, pytest or rich: the worker builds
records, the report renders them, the exports serialise them. The JSON layout
is versioned (``SCHEMA_VERSION``) and described by ``results.schema.json``
shipped next to this file. The fields other tools may rely on: top level
``impl``, ``python``, ``raftlab_version``, ``tests``, ``summary``; each
test ``name``, ``part`` (``PARTS``: 2A-2D, and the optional 2E), ``seed``, ``passed``,
``message``, ``sim_time``, ``wall_time``, ``peers``, ``rpcs``, ``bytes``,
``commits``, ``replay``.

``kind`` says how a run ended:
    passed          the test ran to the end
    failed          a check failed (MIT's message)
    error           the submission broke a rule, raised, hung, spun, used too
                    much memory or ended its process
    harness-error   raftlab's own fault; never costs points
    not-run         the run never happened (a global timeout stopped the job)
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
KINDS = ("passed", "failed", "error", "harness-error", "not-run")
CORE_PARTS = ("2A", "2B", "2C", "2D")
"""MIT's four parts: election, log replication, persistence, snapshots."""
OPTIONAL_PARTS = ("2E",)
"""Parts the lab offers beyond MIT's: 2E, one-way network failures (PreVote and
CheckQuorum). ``raftlab test`` runs them with the rest and reports them apart;
the default rubric grades them as bonus points on top of the maximum, and a
course's rubric may make them required or leave them out (``rubric.toml``)."""
PARTS = CORE_PARTS + OPTIONAL_PARTS


def part_of(test_name: str) -> str:
    """``test_backup_2b`` -> ``2B``; scenario tests carry their part the same way."""
    suffix = test_name.rsplit("_", 1)[-1].upper()
    return suffix if suffix in PARTS else "?"


@dataclass
class TestRecord:
    """One run of one lab test on one seed."""

    __test__ = False  # not a pytest test class

    name: str
    part: str
    seed: int
    kind: str
    message: str | None = None
    description: str = ""
    where: str = ""
    line: str | None = None
    details: str = ""
    sim_time: float = 0.0
    wall_time: float = 0.0
    peers: int = 0
    rpcs: int = 0
    bytes: int = 0
    commits: int = 0
    log_size: int = 0
    digest: str | None = None
    replay: str = ""
    timeline: str | None = None  # the run's HTML timeline, if one was written (--html-dir)
    trace_tail: list[dict[str, Any]] = field(default_factory=list)
    profile: list[list[Any]] = field(default_factory=list)  # [[function, share], ...]: CPU

    @property
    def passed(self) -> bool:
        return self.kind == "passed"

    @property
    def counts_against(self) -> bool:
        """Does this run cost the student? (Not for raftlab's own errors.)"""
        return self.kind in ("failed", "error")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TestRecord:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class TestSummary:
    """A test's runs across seeds, as dstest summarises them."""

    __test__ = False

    name: str
    part: str
    runs: int
    passes: int
    failing_seeds: list[int]
    harness_errors: int
    mean: dict[str, float]
    spread: dict[str, float]

    @property
    def all_passed(self) -> bool:
        return self.runs > 0 and self.passes == self.runs


FIGURES = ("sim_time", "wall_time", "peers", "rpcs", "bytes", "commits")


@dataclass
class Results:
    """Everything one grader invocation produced."""

    impl: str
    python: str = ""
    raftlab_version: str = ""
    command: str = ""
    tests: list[TestRecord] = field(default_factory=list)
    load_error: str | None = None
    timed_out: bool = False
    grade: dict[str, Any] | None = None
    mode: str = "in-process"  # or "sandboxed": where the submission ran
    stopped: str | None = None  # grading stopped (raftlab's own code changed): why
    protections: dict[str, bool] = field(default_factory=dict)  # what held (sandboxed)
    interrupted: bool = False  # Ctrl-C or SIGTERM: these are the runs that finished

    def by_test(self) -> dict[str, list[TestRecord]]:
        """Records grouped by test, tests in the order they first appear."""
        groups: dict[str, list[TestRecord]] = {}
        for rec in self.tests:
            groups.setdefault(rec.name, []).append(rec)
        for recs in groups.values():
            recs.sort(key=lambda r: r.seed)
        return groups

    def test_summaries(self) -> list[TestSummary]:
        out = []
        for name, recs in self.by_test().items():
            counted = [r for r in recs if r.kind not in ("harness-error", "not-run")]
            mean: dict[str, float] = {}
            spread: dict[str, float] = {}
            for f in FIGURES:
                values = [float(getattr(r, f)) for r in counted]
                mean[f] = statistics.fmean(values) if values else 0.0
                spread[f] = statistics.pstdev(values) if len(values) > 1 else 0.0
            out.append(TestSummary(
                name=name, part=recs[0].part, runs=len(counted),
                passes=sum(r.passed for r in counted),
                failing_seeds=[r.seed for r in counted if not r.passed],
                harness_errors=sum(r.kind == "harness-error" for r in recs),
                mean=mean, spread=spread))
        return out

    def summary(self) -> dict[str, Any]:
        counts = {k: sum(r.kind == k for r in self.tests) for k in KINDS}
        tests = self.test_summaries()
        return {
            "runs": len(self.tests),
            **{k.replace("-", "_"): v for k, v in counts.items()},
            "tests": len(tests),
            "tests_passed_every_run": sum(t.all_passed for t in tests),
            "all_passed": bool(self.tests) and counts["passed"] == len(self.tests),
            "timed_out": self.timed_out,
            "load_error": self.load_error,
            "stopped": self.stopped,
            "interrupted": self.interrupted,
        }

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "impl": self.impl,
            "python": self.python,
            "raftlab_version": self.raftlab_version,
            "command": self.command,
            "mode": self.mode,
            "protections": self.protections,
            "tests": [r.to_dict() for r in self.tests],
            "summary": self.summary(),
        }
        if self.grade is not None:
            d["grade"] = self.grade
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Results:
        summary = d.get("summary") or {}
        return cls(impl=d.get("impl", ""), python=d.get("python", ""),
                   raftlab_version=d.get("raftlab_version", ""), command=d.get("command", ""),
                   tests=[TestRecord.from_dict(t) for t in d.get("tests", [])],
                   load_error=summary.get("load_error"), stopped=summary.get("stopped"),
                   interrupted=bool(summary.get("interrupted")),
                   timed_out=bool(summary.get("timed_out")), grade=d.get("grade"),
                   mode=d.get("mode", "in-process"), protections=d.get("protections") or {})

    @classmethod
    def from_json(cls, text: str) -> Results:
        return cls.from_dict(json.loads(text))
