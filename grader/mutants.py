"""The mutant zoo's catalog: known Raft bugs, each a small named edit of the reference.

    MUTANTS                     every mutant, in catalog order
    build_source(m, reference)  the mutant's source (raises MutantError if stale)

A mutant is the reference with one bug put in: ``edits`` are (old, new) text
replacements, each of which must match the reference exactly once (a test
keeps them in step with it). The reference's own ``assert`` statements are
removed from every mutant, since a student's code has none of them: a mutant
must be caught by the suite, not by the reference's self-checks.

Fields: ``id`` (as in sim-and-raft-bugs.md part 2 where the bug is from
there), ``part``, ``bug`` (the bug in a student's words), ``source`` (paper
section, Students' Guide, lab handout or bug report), ``expected`` (the tests
expected to catch it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


class MutantError(ValueError):
    """A mutant whose edits no longer apply to the reference."""


@dataclass(frozen=True)
class Mutant:
    id: str
    part: str
    bug: str
    source: str
    expected: tuple[str, ...]
    edits: tuple[tuple[str, str], ...]


class _StripAsserts(ast.NodeTransformer):
    def visit_Assert(self, node: ast.Assert) -> ast.Pass:
        return ast.copy_location(ast.Pass(), node)


def build_source(mutant: Mutant, reference: str) -> str:
    """Apply the mutant's edits to the reference source and drop its asserts."""
    source = reference
    for old, new in mutant.edits:
        count = source.count(old)
        if count != 1:
            raise MutantError(f"mutant {mutant.id}: its edit matches the reference {count} times "
                              f"(must be once): {old.strip()[:80]!r}")
        source = source.replace(old, new)
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise MutantError(f"mutant {mutant.id} does not parse: line {e.lineno}: {e.msg}") from None
    return ast.unparse(_StripAsserts().visit(tree))


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        id="E3", part="2A",
        bug="I reset my election timer whenever an AppendEntries arrives, even from an old term",
        source="Students' Guide, 'Livelocks'; Figure 2, AppendEntries receiver 1",
        expected=("test_stale_leader_scenario_2a",),
        edits=(("""        if args.term < self.current_term:
            return AppendEntriesReply(self.current_term, False)""",
                """        if args.term < self.current_term:
            self.reset_election_timer()
            return AppendEntriesReply(self.current_term, False)"""),)),
    Mutant(
        id="E4", part="2A",
        bug="I grant my vote without checking whether I already voted in this term",
        source="Figure 2, RequestVote receiver 2",
        expected=("test_many_elections_2a", "test_initial_election_2a"),
        edits=(("and self.voted_for in (None, args.candidate_id)", "and True"),)),
    Mutant(
        id="R4", part="2C",
        bug="my leader commits any entry stored on a majority, whatever its term",
        source="§5.4.2 and Figure 8; canonical/raft #220",
        expected=("test_figure8_scenario_2c", "test_figure8_2c", "test_figure8_unreliable_2c"),
        edits=(("""            if self.term_at(n) != self.current_term:
                break  # §5.4.2: never commit an older term's entry by counting replicas
""", ""),)),
    Mutant(
        id="R15", part="2B",
        bug="after a rejection my leader backs next_index up by one entry at a time",
        source="Lab handout, fast backup; paper pp. 7-8",
        expected=("test_fast_backup_bound_2b", "test_backup_2b"),
        edits=(("""            self.next_index[peer] = max(self.backed_up_next_index(reply),
                                        self.match_index[peer] + 1)""",
                """            self.next_index[peer] = max(self.next_index[peer] - 1,
                                        self.match_index[peer] + 1)"""),)),
    Mutant(
        id="P1", part="2C",
        bug="I persist current_term and the log, but not voted_for",
        source="Figure 2, persistent state; ktoso/akka-raft #62",
        expected=("test_voter_crash_scenario_2c", "test_figure8_2c"),
        edits=(("state = encode((self.current_term, self.voted_for, self.log_start, self.log))",
                "state = encode((self.current_term, None, self.log_start, self.log))"),)),
    Mutant(
        id="S12", part="2D",
        bug="snapshot() keeps the whole log; I only remember the snapshot",
        source="MIT test_test.go, MAXLOGSIZE",
        expected=("test_snapshot_basic_2d",),
        edits=(("""        self.log = [(self.term_at(index), None), *self.log[index - self.log_start + 1:]]
        self.log_start = index
        self.snapshot_data = snapshot""", """        self.snapshot_data = snapshot"""),)),
)
