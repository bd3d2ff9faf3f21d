"""``raftlab zoo``: run the suite against every mutant and print the kill matrix.

    raftlab zoo                    # all mutants, up to 3 seeds
    raftlab zoo --seeds 5 --json zoo.json
    raftlab zoo --only E3 R4       # some mutants

Each mutant (``grader.mutants``) is the reference with one known bug put in.
Seed by seed (1, 2, ...), every mutant still alive runs every lab test - MIT's
and the scenarios - in parallel on the worker pool; a mutant is killed when
any run fails (failed or error; raftlab's own errors do not count), and its
remaining runs are skipped. Its expected killers run first, so most mutants
die within their first few runs.

The matrix has a row per mutant and a column per test: ✗ the test killed it
(at the seed that killed it), · the test ran and passed, blank not run. The
summary gives the kill rate and how many seeds each kill took.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .exports import write_atomically
from .impl import resolve_impl
from .mutants import MUTANTS, Mutant, build_source
from .results import TestRecord
from .runner import Job, WorkerPool
from .suite_index import all_tests


@dataclass
class MutantOutcome:
    mutant: Mutant
    killed_at: int | None = None
    killers: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)
    passed: dict[int, list[str]] = field(default_factory=dict)   # seed -> tests passed
    runs: int = 0
    harness_errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.mutant), "killed_at_seed": self.killed_at,
                "killers": self.killers, "messages": self.messages, "runs": self.runs,
                "harness_errors": self.harness_errors}


def materialize(mutants: list[Mutant], folder: Path) -> dict[str, Path]:
    """Write each mutant's raft.py under ``folder``; return id -> path."""
    reference = resolve_impl("reference").read_text(encoding="utf-8")
    paths = {}
    for m in mutants:
        path = folder / m.id / "raft.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(build_source(m, reference), encoding="utf-8")
        paths[m.id] = path
    return paths


def _order(m: Mutant, tests: list[str]) -> list[str]:
    first = [t for t in m.expected if t in tests]
    return first + [t for t in tests if t not in first]


def run_zoo(mutants: list[Mutant], *, seeds: int = 3, workers: int | None = None,
            tests: list[str] | None = None, console: Console | None = None,
            wall_seconds: float = 60.0) -> list[MutantOutcome]:
    names = tests or list(all_tests())
    outcomes = {m.id: MutantOutcome(m) for m in mutants}
    with tempfile.TemporaryDirectory(prefix="raftlab-zoo-") as tmp, WorkerPool(workers) as pool:
        paths = materialize(mutants, Path(tmp))
        for seed in range(1, seeds + 1):
            alive = [m for m in mutants if outcomes[m.id].killed_at is None]
            if not alive:
                break
            per_mutant = {m.id: _order(m, names) for m in alive}
            jobs: list[Job] = []
            for k in range(len(names)):  # round-robin: each mutant's likeliest killers first
                for m in alive:
                    jobs.append({"impl": str(paths[m.id]), "test": per_mutant[m.id][k],
                                 "seed": seed, "wall": wall_seconds, "memory_mb": 1024,
                                 "tail": 0, "mutant": m.id})
            killed_now: set[str] = set()

            def done(job: Job, rec: TestRecord, seed: int = seed,
                     killed_now: set[str] = killed_now) -> None:
                out = outcomes[job["mutant"]]
                if rec.kind == "not-run":
                    return
                out.runs += 1
                if rec.kind == "harness-error":
                    out.harness_errors += 1
                elif rec.counts_against:
                    killed_now.add(job["mutant"])
                    out.killed_at = seed
                    out.killers.append(rec.name)
                    out.messages[rec.name] = (rec.message or "")[:300]
                else:
                    out.passed.setdefault(seed, []).append(rec.name)

            if console is not None:
                console.print(Text(f"seed {seed}: {len(alive)} mutants alive, up to "
                                   f"{len(jobs)} runs", style="dim"))
            def dead(job: Job, killed: set[str] = killed_now) -> bool:
                return job["mutant"] in killed

            pool.run(jobs, on_done=done, skip=dead)
    return [outcomes[m.id] for m in mutants]


def kill_matrix(outcomes: list[MutantOutcome], tests: list[str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Kill matrix (✗ killed it, · ran and passed)",
                  title_justify="left", pad_edge=False, collapse_padding=True)
    table.add_column("mutant", no_wrap=True)
    table.add_column("part")
    table.add_column("seed", justify="right")
    for i in range(len(tests)):
        table.add_column(f"{i + 1}", justify="center", no_wrap=True)
    for out in outcomes:
        seed = out.killed_at
        passed = set(out.passed.get(seed or max(out.passed, default=0), []))
        cells = []
        for t in tests:
            if t in out.killers:
                cells.append(Text("✗", style="bold green"))
            elif t in passed:
                cells.append(Text("·", style="dim"))
            else:
                cells.append(Text(""))
        status = Text(str(seed), style="green") if seed else Text("lives", style="bold red")
        table.add_row(out.mutant.id, out.mutant.part, status, *cells)
    return table


def legend(tests: list[str]) -> Text:
    return Text("  ".join(f"{i + 1}={t.removeprefix('test_')}" for i, t in enumerate(tests)),
                style="dim")


def summary(outcomes: list[MutantOutcome], seeds: int) -> dict[str, Any]:
    killed = [o for o in outcomes if o.killed_at is not None]
    distribution = {str(s): sum(o.killed_at == s for o in outcomes) for s in range(1, seeds + 1)}
    distribution["survived"] = len(outcomes) - len(killed)
    return {"mutants": len(outcomes), "killed": len(killed),
            "kill_rate": round(len(killed) / len(outcomes), 4) if outcomes else 0.0,
            "seeds_needed": distribution,
            "harness_errors": sum(o.harness_errors for o in outcomes)}


def main(*, seeds: int, json_path: str | None, only: list[str] | None, workers: int | None,
         console: Console) -> int:
    resolve_impl("reference")  # the zoo mutates the reference: say so if it is absent
    chosen = [m for m in MUTANTS if not only or m.id in only]
    unknown = set(only or []) - {m.id for m in MUTANTS}
    if unknown:
        raise ValueError(f"no mutant named {', '.join(sorted(unknown))}; mutants: "
                         f"{', '.join(m.id for m in MUTANTS)}")
    tests = list(all_tests())
    started = time.monotonic()
    outcomes = run_zoo(chosen, seeds=seeds, workers=workers, console=console)
    elapsed = time.monotonic() - started
    console.print(kill_matrix(outcomes, tests))
    console.print(legend(tests))
    stats = summary(outcomes, seeds)
    line = Text(f"killed {stats['killed']} of {stats['mutants']} mutants "
                f"({stats['kill_rate']:.0%}) within {seeds} seeds in {elapsed:.0f} s; seeds "
                f"needed: {stats['seeds_needed']}")
    line.stylize("bold green" if stats["killed"] == stats["mutants"] else "bold red")
    console.print(line)
    for out in outcomes:
        if out.killed_at is None:
            console.print(Text(f"  {out.mutant.id} lives: {out.mutant.bug}", style="red"))
    if json_path:
        write_atomically(json_path, json.dumps(
            {"seeds": seeds, "summary": stats, "wall_seconds": round(elapsed, 1),
             "tests": tests, "mutants": [o.to_dict() for o in outcomes]}, indent=1) + "\n")
    return 0 if stats["killed"] == stats["mutants"] else 1
