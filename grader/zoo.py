"""``raftlab zoo``: run the suite against every mutant and print the kill matrix.

    raftlab zoo                        # every mutant of both references, up to 3 seeds
    raftlab zoo --seeds 5 --json zoo.json
    raftlab zoo --only E3 R4           # some mutants (of each reference that has them)
    raftlab zoo --reference second     # first, second or both (the default when available)
    python -m grader.zoo ...           # the same options, without the rest of raftlab

Each mutant is a reference with one known bug put in. There are two
references, written in different styles, and a mutant of each per catalog bug
it can express, under the same rule ID (E4, R12, S3, ...):

  first   reference/raft/raft.py, mutants in grader/mutants.py; every lab test
          (its parts 2A-2E)
  second  tests/reference2/raft.py, mutants in tests/reference2/mutants.py,
          shown as "E4 (ref2)"; only the tests of the parts it implements
          (its mutants module's PARTS: 2A-2D, it has no part 2E)

A bug that one reference's structure makes harmless (an equivalent mutant,
left out of that reference's zoo; each mutants module lists them with the
reason) can be a real bug in the other, and the suite must still catch it
there. The second reference lives under tests/, so an instructor's clone has
it and a student handout does not: then the zoo says so in one line and runs
the first reference's mutants alone.

Seed by seed (1, 2, ...), every mutant still alive runs its tests - MIT's and
the scenarios - in parallel on the worker pool; a mutant is killed when any
run fails (failed or error; raftlab's own errors do not count), and its
remaining runs are skipped. Its expected killers run first, so most mutants
die within their first few runs.

The matrix has a row per mutant and a column per test: ✗ the test killed it
(at the seed that killed it), · the test ran and passed, blank not run. The
summary gives, per reference and in all, the kill rate and how many seeds each
kill took, then the rule IDs that have a mutant in one reference only. The
exit status is 0 when every mutant was killed, 1 otherwise. ``--json`` writes
the same, with each mutant's reference and display name.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .exports import write_atomically
from .impl import PACKAGE_ROOT, ImplError, resolve_impl
from .mutants import MUTANTS, Mutant, build_source
from .results import PARTS, TestRecord, part_of
from .runner import Job, WorkerPool
from .suite_index import all_tests

SECOND_FOLDER = PACKAGE_ROOT / "tests" / "reference2"
"""The second reference and its mutants: in an instructor's clone, not in a handout."""

CHOICES = ("first", "second", "both")


@dataclass(frozen=True)
class Reference:
    """A reference Raft and the mutants made of it."""

    label: str                      # "first" or "second"
    path: Path                      # its raft.py
    mutants: tuple[Mutant, ...]
    parts: tuple[str, ...] = PARTS  # the parts it implements: its mutants run only their tests
    tag: str = ""                   # shown after a mutant's ID: "E4 (ref2)"

    def name(self, mutant: Mutant) -> str:
        return f"{mutant.id} ({self.tag})" if self.tag else mutant.id


def first_reference() -> Reference:
    """reference/raft/raft.py and grader/mutants.py (ImplError if the reference is absent)."""
    return Reference("first", resolve_impl("reference"), MUTANTS)


def second_reference(folder: Path | None = None) -> Reference | None:
    """tests/reference2/raft.py and its mutants, or None where they are absent."""
    folder = folder or SECOND_FOLDER
    raft, mutants = folder / "raft.py", folder / "mutants.py"
    if not (raft.is_file() and mutants.is_file()):
        return None
    spec = importlib.util.spec_from_file_location("raftlab_reference2_mutants", mutants)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Reference("second", raft.resolve(), tuple(module.MUTANTS),
                     tuple(getattr(module, "PARTS", PARTS)), tag="ref2")


def choose_references(which: str | None = None, *,
                      note: Console | None = None) -> list[Reference]:
    """The references to run: ``first``, ``second`` or ``both``; None means both
    where the second is available (else the first, and ``note`` is told so)."""
    if which not in (None, *CHOICES):
        raise ValueError(f"--reference must be one of {', '.join(CHOICES)}, not {which!r}")
    chosen = []
    if which in (None, "first", "both"):
        chosen.append(first_reference())
    if which in (None, "second", "both"):
        second = second_reference()
        if second is not None:
            chosen.append(second)
        elif which is not None:
            raise ValueError(f"the second reference ({SECOND_FOLDER}) is not in this "
                             "installation: it lives under tests/, in an instructor's clone")
        elif note is not None:
            note.print(Text("no second reference here (tests/reference2/ is in an instructor's "
                            "clone only): the first reference's mutants only", style="dim"))
    return chosen


@dataclass
class MutantOutcome:
    mutant: Mutant
    killed_at: int | None = None
    killers: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)
    passed: dict[int, list[str]] = field(default_factory=dict)   # seed -> tests passed
    runs: int = 0
    harness_errors: int = 0
    reference: str = "first"
    name: str = ""          # as shown: "E4", "E4 (ref2)"

    def __post_init__(self) -> None:
        self.name = self.name or self.mutant.id

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.mutant), "reference": self.reference, "name": self.name,
                "killed_at_seed": self.killed_at, "killers": self.killers,
                "messages": self.messages, "runs": self.runs,
                "harness_errors": self.harness_errors}


def materialize(entries: Sequence[tuple[Reference, Mutant]], folder: Path) -> dict[str, Path]:
    """Write each mutant's raft.py under ``folder``; return its name -> path."""
    texts: dict[Path, str] = {}
    paths = {}
    for ref, m in entries:
        if ref.path not in texts:
            texts[ref.path] = ref.path.read_text(encoding="utf-8")
        path = folder / ref.label / m.id / "raft.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(build_source(m, texts[ref.path]), encoding="utf-8")
        paths[ref.name(m)] = path
    return paths


def _order(m: Mutant, tests: list[str]) -> list[str]:
    first = [t for t in m.expected if t in tests]
    return first + [t for t in tests if t not in first]


def run_zoo(mutants: Sequence[Mutant], *, reference: Reference | None = None, seeds: int = 3,
            workers: int | None = None, tests: list[str] | None = None,
            console: Console | None = None, wall_seconds: float = 60.0) -> list[MutantOutcome]:
    """Run mutants of one reference (the first by default); see ``run_zoos``."""
    ref = reference or first_reference()
    return run_zoos([(ref, list(mutants))], seeds=seeds, workers=workers, tests=tests,
                    console=console, wall_seconds=wall_seconds)


def run_zoos(plan: Sequence[tuple[Reference, Sequence[Mutant]]], *, seeds: int = 3,
             workers: int | None = None, tests: list[str] | None = None,
             console: Console | None = None, wall_seconds: float = 60.0) -> list[MutantOutcome]:
    """Run the mutants of each reference, all on one worker pool, seed by seed;
    each mutant runs ``tests`` (default: every lab test) of its reference's parts."""
    names = tests or list(all_tests())
    entries = [(ref, m) for ref, mutants in plan for m in mutants]
    outcomes = {ref.name(m): MutantOutcome(m, reference=ref.label, name=ref.name(m))
                for ref, m in entries}
    if len(outcomes) != len(entries):
        raise ValueError("two mutants of one reference share an ID")
    with tempfile.TemporaryDirectory(prefix="raftlab-zoo-") as tmp, WorkerPool(workers) as pool:
        paths = materialize(entries, Path(tmp))
        for seed in range(1, seeds + 1):
            alive = [(ref, m) for ref, m in entries if outcomes[ref.name(m)].killed_at is None]
            if not alive:
                break
            per_mutant = {ref.name(m): _order(m, [t for t in names if part_of(t) in ref.parts])
                          for ref, m in alive}
            jobs: list[Job] = []
            longest = max(len(order) for order in per_mutant.values())
            for k in range(longest):  # round-robin: each mutant's likeliest killers first
                for ref, m in alive:
                    key = ref.name(m)
                    if k < len(per_mutant[key]):
                        jobs.append({"impl": str(paths[key]), "test": per_mutant[key][k],
                                     "seed": seed, "wall": wall_seconds, "memory_mb": 1024,
                                     "tail": 0, "mutant": key})
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
    return [outcomes[ref.name(m)] for ref, m in entries]


def kill_matrix(outcomes: list[MutantOutcome], tests: list[str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Kill matrix (✗ killed it, · ran and passed)",
                  title_justify="left", pad_edge=False, collapse_padding=True)
    table.add_column("mutant", no_wrap=True,
                     min_width=max((len(out.name) for out in outcomes), default=6))
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
        table.add_row(out.name, out.mutant.part, status, *cells)
    return table


def legend(tests: list[str]) -> Text:
    return Text("  ".join(f"{i + 1}={t.removeprefix('test_')}" for i, t in enumerate(tests)),
                style="dim")


def _figures(outcomes: list[MutantOutcome], seeds: int) -> dict[str, Any]:
    killed = [o for o in outcomes if o.killed_at is not None]
    distribution = {str(s): sum(o.killed_at == s for o in outcomes) for s in range(1, seeds + 1)}
    distribution["survived"] = len(outcomes) - len(killed)
    return {"mutants": len(outcomes), "killed": len(killed),
            "kill_rate": round(len(killed) / len(outcomes), 4) if outcomes else 0.0,
            "seeds_needed": distribution,
            "harness_errors": sum(o.harness_errors for o in outcomes)}


def summary(outcomes: list[MutantOutcome], seeds: int) -> dict[str, Any]:
    """Kills and seeds needed in all, and per reference under ``references``."""
    labels = list(dict.fromkeys(o.reference for o in outcomes))
    return {**_figures(outcomes, seeds),
            "references": {label: _figures([o for o in outcomes if o.reference == label], seeds)
                           for label in labels}}


def one_sided(references: list[Reference]) -> dict[str, list[str]]:
    """Per reference, the rule IDs that have a mutant in its zoo and in no other's."""
    ids = {ref.label: [m.id for m in ref.mutants] for ref in references}
    return {label: [i for i in own if not any(i in ids[other] for other in ids if other != label)]
            for label, own in ids.items()}


def _line(label: str, stats: dict[str, Any], seeds: int, elapsed: float | None) -> Text:
    took = f" in {elapsed:.0f} s" if elapsed is not None else ""
    line = Text(f"{label}killed {stats['killed']} of {stats['mutants']} mutants "
                f"({stats['kill_rate']:.0%}) within {seeds} seeds{took}; seeds needed: "
                f"{stats['seeds_needed']}")
    line.stylize("bold green" if stats["killed"] == stats["mutants"] else "bold red")
    return line


def main(*, seeds: int, json_path: str | None, only: list[str] | None, workers: int | None,
         console: Console, reference: str | None = None) -> int:
    references = choose_references(reference, note=console)
    known = {m.id for ref in references for m in ref.mutants}
    unknown = set(only or []) - known
    if unknown:
        raise ValueError(f"no mutant named {', '.join(sorted(unknown))}; mutants: "
                         f"{', '.join(dict.fromkeys(m.id for r in references for m in r.mutants))}")
    plan = [(ref, [m for m in ref.mutants if not only or m.id in only]) for ref in references]
    plan = [(ref, mutants) for ref, mutants in plan if mutants]
    tests = list(all_tests())
    started = time.monotonic()
    outcomes = run_zoos(plan, seeds=seeds, workers=workers, console=console)
    elapsed = time.monotonic() - started
    console.print(kill_matrix(outcomes, tests))
    console.print(legend(tests))
    stats = summary(outcomes, seeds)
    if len(plan) > 1:
        for ref, _ in plan:
            where = (ref.path.relative_to(PACKAGE_ROOT) if ref.path.is_relative_to(PACKAGE_ROOT)
                     else ref.path)
            console.print(_line(f"{ref.label} reference ({where}): ",
                                stats["references"][ref.label], seeds, None))
    console.print(_line("", stats, seeds, elapsed))
    for out in outcomes:
        if out.killed_at is None:
            console.print(Text(f"  {out.name} lives: {out.mutant.bug}", style="red"))
    sided = one_sided(references) if len(references) > 1 else {}
    for label, ids in sided.items():
        if ids:
            console.print(Text(f"IDs with a mutant of the {label} reference only (equivalent or "
                               f"inexpressible in the other): {' '.join(ids)}", style="dim"))
    if json_path:
        write_atomically(json_path, json.dumps(
            {"seeds": seeds, "summary": stats, "wall_seconds": round(elapsed, 1),
             "references": [{"label": ref.label, "path": str(ref.path), "parts": list(ref.parts),
                             "mutants": len(mutants)} for ref, mutants in plan],
             "one_sided": sided, "tests": tests,
             "mutants": [o.to_dict() for o in outcomes]}, indent=1) + "\n")
    return 0 if stats["killed"] == stats["mutants"] else 1


def _cli(argv: Sequence[str] | None = None) -> int:
    """``python -m grader.zoo``: the options of ``raftlab zoo``."""
    p = argparse.ArgumentParser(prog="python -m grader.zoo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3,
                   help="seeds to try before a mutant counts as surviving (default 3)")
    p.add_argument("--json", metavar="FILE", help="write the outcome as JSON")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these mutants")
    p.add_argument("--reference", choices=CHOICES,
                   help="whose mutants to run (default: both, where the second is available)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes")
    args = p.parse_args(argv)
    console = Console()
    try:
        return main(seeds=args.seeds, json_path=args.json, only=args.only, workers=args.jobs,
                    console=console, reference=args.reference)
    except (ValueError, ImplError) as e:
        print(f"python -m grader.zoo: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_cli())
