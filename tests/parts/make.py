"""The reference cut down to one part of the lab, or with part 2E switched off: for tests only.

    source = part_source("2B")        # the reference with 2B's features and no later ones
    impl = part_impl("2B")            # the same, as a SourceImpl to run in-process
    impl = variant_impl("plain")      # the reference with PreVote and CheckQuorum off
                                      #   (VARIANTS: plain, prevote, checkquorum, both)

Each cut is a few explicit text replacements of ``reference/raft/raft.py``,
applied on top of the next part's cut (2C, then 2B, then 2A), each of which
must match the reference exactly once: a change to the reference that moves
one of these snippets breaks the cut loudly (``PartError``), never silently.

  2C  persistence, no snapshots: ``snapshot()`` does nothing and the leader
      never sends InstallSnapshot (its log then never has a snapshot).
  2B  log replication, no persistence: ``persist()`` and ``read_persist()``
      do nothing, so a restarted server would come back empty, at term 0.
  2A  elections and heartbeats only: ``start()`` returns ``(-1, term, False)``
      and never appends, so no entry is ever replicated or applied.

What a student who finished that part and no more would hand in: every test
graded in that part or an earlier one must pass on it, and some test of the
next part must fail (tests/suite/test_parts.py).
"""

from __future__ import annotations

from grader.impl import resolve_impl
from harness import SourceImpl


class PartError(ValueError):
    """A cut whose snippet no longer matches the reference exactly once."""


_NO_SNAPSHOT = (
    # 2D: snapshot() trims nothing and keeps no snapshot.
    ('''        """The service has a snapshot through ``index``: trim the log (2D)."""
        if self.dead or index <= self.log_start:
            return  # an old snapshot: we already have a newer one
        assert index <= self.last_applied, "the service snapshots only applied entries"
        self.log = [(self.term_at(index), None), *self.log[index - self.log_start + 1:]]
        self.log_start = index
        self.snapshot_data = snapshot
        self.persist()
''', '''        """Part 2C: no snapshots (2D)."""
'''),
    # 2D: the leader never sends InstallSnapshot, only AppendEntries.
    ("""            if self.next_index[peer] <= self.log_start:
                asyncio.create_task(self.send_install_snapshot(peer, InstallSnapshotArgs(
                    term, self.me, self.log_start, self.log[0][0], self.snapshot_data)))
            else:
                prev = self.next_index[peer] - 1
                asyncio.create_task(self.send_append_entries(peer, AppendEntriesArgs(
                    term=term, leader_id=self.me, prev_log_index=prev,
                    prev_log_term=self.term_at(prev),
                    entries=self.log[prev + 1 - self.log_start:],
                    leader_commit=self.commit_index)))""",
     """            prev = self.next_index[peer] - 1  # part 2C: never an InstallSnapshot
            asyncio.create_task(self.send_append_entries(peer, AppendEntriesArgs(
                term=term, leader_id=self.me, prev_log_index=prev,
                prev_log_term=self.term_at(prev),
                entries=self.log[prev + 1 - self.log_start:],
                leader_commit=self.commit_index)))"""),
)

_NO_PERSISTENCE = (
    # 2C: persist() saves nothing ...
    ("""        state = encode((self.current_term, self.voted_for, self.log_start, self.log))
        self.persister.save(state, self.snapshot_data)
""", """        # part 2B: nothing persisted (2C)
"""),
    # ... and read_persist() restores nothing.
    ("""        if not data:
            return  # bootstrap without any state
        self.current_term, self.voted_for, self.log_start, self.log = decode(data)
""", """        return  # part 2B: nothing persisted (2C)
"""),
)

_NO_REPLICATION = (
    # 2B: start() refuses every command, so the log stays empty.
    ("""        if self.dead or self.role != LEADER:
            return -1, -1, False
        # Figure 2, Rules for Servers, Leaders 2: append entry to local log.
        self.log.append((self.current_term, command))
        self.persist()
        index = self.last_log_index()
        self.match_index[self.me] = index
        for peer in self.other_peers():
            self.wake_replicator(peer)
        return index, self.current_term, True
""", """        return -1, self.current_term, False  # part 2A: no log replication (2B)
"""),
)

CUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "2C": _NO_SNAPSHOT,
    "2B": _NO_SNAPSHOT + _NO_PERSISTENCE,
    "2A": _NO_SNAPSHOT + _NO_PERSISTENCE + _NO_REPLICATION,
}
"""Each part's replacements, in the order they are applied."""


def reference_source() -> str:
    return resolve_impl("reference").read_text(encoding="utf-8")


def cut(source: str, part: str) -> str:
    """``source`` (the reference) cut down to ``part``."""
    for old, new in CUTS[part]:
        count = source.count(old)
        if count != 1:
            raise PartError(f"part {part}: a snippet matches the reference {count} times "
                            f"(must be once): {old.strip()[:80]!r}")
        source = source.replace(old, new)
    compile(source, f"raft_{part}.py", "exec", dont_inherit=True)  # still parses
    return source


def part_source(part: str) -> str:
    """The reference cut down to ``part`` (a key of CUTS: 2A, 2B or 2C)."""
    return cut(reference_source(), part)


def part_impl(part: str) -> SourceImpl:
    """The cut reference as an implementation to run in-process, checked to load."""
    impl = SourceImpl(f"<reference cut to {part}>/raft.py", part_source(part))
    impl.load()
    return impl


# ------------------------------------------------------------ part 2E switches

SWITCHES = ("PRE_VOTE", "CHECK_QUORUM")
"""The reference's part-2E switches: module constants, each ``NAME = True``."""


def with_switches(source: str, *, pre_vote: bool, check_quorum: bool) -> str:
    """``source`` (the reference, or a cut or mutant of it) with 2E's switches set."""
    for name, on in zip(SWITCHES, (pre_vote, check_quorum), strict=True):
        old = f"\n{name} = True\n"
        if source.count(old) != 1:
            raise PartError(f"the switch {name} = True must appear once in the reference")
        source = source.replace(old, f"\n{name} = {on}\n")
    return source


VARIANTS = {
    "plain": (False, False),
    "prevote": (True, False),
    "checkquorum": (False, True),
    "both": (True, True),
}
"""The reference's 2E configurations, by name: (pre_vote, check_quorum)."""


def variant_source(name: str, source: str | None = None) -> str:
    pre_vote, check_quorum = VARIANTS[name]
    return with_switches(reference_source() if source is None else source,
                         pre_vote=pre_vote, check_quorum=check_quorum)


def variant_impl(name: str, source: str | None = None, label: str = "reference") -> SourceImpl:
    """The reference (or ``source``) with 2E's switches set as ``name`` says."""
    impl = SourceImpl(f"<{label}, 2E {name}>/raft.py", variant_source(name, source))
    impl.load()
    return impl
