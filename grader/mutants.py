"""The mutant zoo's catalog: known Raft bugs, each a small named edit of the reference.

    MUTANTS                     every mutant, in catalog order
    MASKED_BY_2E                2A-2D bugs that the reference's 2E switches make harmless
    build_source(m, reference)  the mutant's source (raises MutantError if stale)

A mutant is the reference with one bug put in: ``edits`` are (old, new) text
replacements, each of which must match the reference exactly once (a test
keeps them in step with it). The reference's own ``assert`` statements are
removed from every mutant, since a student's code has none of them: a mutant
must be caught by the suite, not by the reference's self-checks.

Fields: ``id`` (as in sim-and-raft-bugs.md part 2 where the bug is from
there), ``part``, ``bug`` (the bug in a student's words), ``source`` (paper
section, Students' Guide, lab handout or bug report), ``expected`` (the tests
expected to catch it, likeliest first: the zoo runs them first).

67 mutants: 15 in 2A, 18 in 2B, 9 in 2C, 15 in 2D, 10 in 2E. A letter suffix
(E7b, R5b, S8b, ...) marks a variant of the catalog bug with that number; E16,
E17, E21, R21 and S14 are beyond the catalog. ``raftlab zoo --seeds 3`` kills
every one. E8, R12, R12b, S3 and S5, once out of the suite's reach, are killed
by scenarios written for them (test_stale_vote_scenario_2a,
test_stale_append_reply_scenario_2b, test_snapshot_keep_suffix_scenario_2d,
test_stale_snapshot_scenario_2d).

V: part 2E (optional), beyond the catalog: bugs in PreVote and CheckQuorum,
which plain Raft does not have. Every mutant edits the reference as shipped,
both 2E switches on, so the 2A-2D mutants are bugs of a Raft that has PreVote
and CheckQuorum too (R1 also drops the log check from the pre-vote, which asks
the vote's question). All but V1 and V3 are killed by 2E tests on seed 1; V1
(a pre-candidate raises its own term, which only the cut-off server sees) by
an unreliable 2E test or persist2 on seed 2, V3 by persist2 on seed 1.

Catalog bugs left out, because in this reference they are equivalent or out
of the suite's reach (all but R14 and P6 were tried; none is killed within 3 seeds):
  E1   no timer reset on granting a vote: the new leader heartbeats at once
  E2   timer reset on every RequestVote: elections only slow down, within the 5 s
  E13  next/match_index kept from an earlier leadership: the stale state only
       matters if the follower's log shrank meanwhile (E13b, a wrong
       initialisation of match_index, is kept instead)
  E14  an await between the voted_for check and the vote: two RequestVotes
       would have to arrive in the same loop iteration
  R8   commit_index = leader_commit without the min: every AppendEntries
       carries the leader's whole suffix, so leader_commit <= last new entry
       always (likewise its min(leader_commit, last log index) form)
  R14  next_index decremented on a higher-term rejection: the leader steps
       down first and next_index is reinitialised on election
  R16  case 3 backed up to XIndex: the clamp at match_index + 1 makes it a
       slower but correct backup
  R17  follower truncating at XIndex when rejecting: needs a committed entry
       to lose a replica that a later election depends on
  P6   term and vote saved in two separate calls: persist() never awaits, so
       the two saves are atomic
  S4, S10b, S11: the branches they break are reached only by
       duplicated, long-delayed or overlapping InstallSnapshot / Snapshot
       calls, which the reference (one RPC in flight per peer) and the
       tester (apply and snapshot in step) do not produce within 3 seeds
  E3   (kept as MASKED_BY_2E) stale AppendEntries resetting the timer: under
       CheckQuorum a deposed leader, which hears no replies, falls silent
       within an election timeout, so an election is only delayed by that much
  E19  (kept as MASKED_BY_2E) no timer reset on standing for election: with
       PreVote the pre-candidate resets it, so the candidate never spins
PreVote and CheckQuorum bugs left out (all tried; none is killed within 3 seeds but one, as noted):
  a granted pre-vote resets the election timer: elections only slow down (as E2)
  a granted pre-vote sets voted_for (in the current term): the real RequestVote
       that follows carries the next term and clears it (V3, which also takes
       the pre-vote's term, is kept)
  pre-votes granted by a leader: the candidate it would help cannot hear the
       leader, and the grant travels the link the leader's heartbeats do (V10,
       pre-votes granted without the lease by a follower, is kept)
  stale-term AppendEntries counted as hearing from a leader: as E3, CheckQuorum
       silences the stale leader within an election timeout
  a candidate whose election times out stands again without a pre-vote: no
       2E test cuts a server off while it is a candidate (a follower or a
       leader); test_stale_vote_scenario_2a fails it, but only because its
       held network never lets the two servers stand in the same term
  a pre-candidate stepping down on a granted reply of a higher term: costs one
       election timeout, and only when a voter is already in the asked term
  a grant from an earlier pre-vote round counted (the round check dropped):
       rounds ask for the same term unless it changed (V5, which never clears
       the pre-votes, is kept)
  CheckQuorum counting only successful replies, keeping the replies of an
       earlier leadership, stepping down by standing for election, or a 3 s
       window: slower, not wrong, within the tests' bounds
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



_GRANT = "            self.voted_for = args.candidate_id"
_GRANT_SAVED = _GRANT + "\n            self.persist()"

MUTANTS: tuple[Mutant, ...] = (
    # -------- 2A: leader election
    Mutant(
        id="E4", part="2A",
        bug="I grant my vote without checking whether I already voted in this term",
        source="Figure 2, RequestVote receiver 2",
        expected=("test_double_vote_scenario_2a", "test_many_elections_2a"),
        edits=(("""                and self.voted_for in (None, args.candidate_id)
                and self.candidate_up_to_date(args)):""",
                """                and True
                and self.candidate_up_to_date(args)):"""),)),
    Mutant(
        id="E5", part="2A",
        bug="whenever I step down to follower I clear voted_for, even when the term does not change",
        source="etcd-io/etcd PR #2461 'raft: do not reset vote if term is not changed'; microsoft/CCF PR #8094",
        expected=("test_many_elections_2a", "test_voter_crash_scenario_2c", "test_figure8_scenario_2c"),
        edits=(("""            self.voted_for = None  # a new term: no vote cast in it yet
            self.persist()
        if self.role == LEADER:""",
                """            self.persist()
        self.voted_for = None  # a follower has not voted yet
        if self.role == LEADER:"""),)),
    Mutant(
        id="E6", part="2A",
        bug="I step down when an RPC request carries a higher term, but ignore the term in RPC replies",
        source="Figure 2, Rules for Servers, All Servers 2",
        expected=("test_stale_leader_scenario_2a", "test_figure8_scenario_2c"),
        edits=(("""        if reply.term > self.current_term:
            self.become_follower(reply.term)
            return
        if self.role != CANDIDATE or self.current_term != args.term:""",
                """        if self.role != CANDIDATE or self.current_term != args.term:"""),
               ("""        if reply.term > self.current_term:
            self.become_follower(reply.term)
            return
        if self.role != LEADER or self.current_term != args.term:
            return  # stale reply (Students' Guide, "Term confusion")""",
                """        if self.role != LEADER or self.current_term != args.term:
            return  # stale reply (Students' Guide, "Term confusion")"""))),
    Mutant(
        id="E7", part="2A",
        bug="I check voted_for before adopting a RequestVote's newer term, so a vote from the previous term blocks me",
        source="Students' Guide, 'Livelocks' (first step down and adopt the term, then handle the RPC); Figure 2, All Servers 2",
        expected=("test_many_elections_2a", "test_late_reply_scenario_2b", "test_figure8_scenario_2c", "test_re_election_2a"),
        edits=(("""        if args.term > self.current_term:
            self.become_follower(args.term)  # All Servers 2 (before anything else)
        granted = False""",
                """        free_to_vote = self.voted_for in (None, args.candidate_id)
        if args.term > self.current_term:
            self.become_follower(args.term)
        granted = False"""),
               ("""                and self.voted_for in (None, args.candidate_id)
                and self.candidate_up_to_date(args)):""",
                """                and free_to_vote
                and self.candidate_up_to_date(args)):"""))),
    Mutant(
        id="E7b", part="2A",
        bug="when I adopt a newer term I keep voted_for from the old term",
        source="Figure 2 (voted_for: candidate that received vote in current term); All Servers 2",
        expected=("test_re_election_2a", "test_many_elections_2a", "test_stale_leader_scenario_2a"),
        edits=(("""            self.voted_for = None  # a new term: no vote cast in it yet
""", ""),)),
    Mutant(
        id="E9", part="2A",
        bug="every server uses the same election timeout, 450 ms; I did not randomise it",
        source="§5.2 (randomized election timeouts); lab handout, 2A hints",
        expected=("test_initial_election_2a", "test_re_election_2a", "test_many_elections_2a"),
        edits=(("timeout = random.uniform(*ELECTION_TIMEOUT)", "timeout = 0.45"),)),
    Mutant(
        id="E10", part="2A",
        bug="my election timeout is 3-6 seconds, to be safe",
        source="Lab handout: elect a new leader within five seconds",
        expected=("test_figure8_scenario_2c", "test_late_reply_scenario_2b", "test_snapshot_install_unreliable_2d"),
        edits=(("ELECTION_TIMEOUT: Final = (0.3, 0.6)", "ELECTION_TIMEOUT: Final = (3.0, 6.0)"),)),
    Mutant(
        id="E11", part="2A",
        bug="my leader sends heartbeats once a second, longer than the election timeout",
        source="Lab handout, 2A hints (heartbeats must prevent elections); Figure 2, Leaders 1",
        expected=("test_count_2b", "test_concurrent_starts_2b", "test_figure8_unreliable_2c"),
        edits=(("HEARTBEAT_INTERVAL: Final = 0.1", "HEARTBEAT_INTERVAL: Final = 1.0"),)),
    Mutant(
        id="E12", part="2A",
        bug="my leader sends heartbeats every 10 ms, to be safe",
        source="Lab handout ('no more than ten times per second'); MIT test_test.go TestCount2B",
        expected=("test_count_2b", "test_fast_backup_bound_2b"),
        edits=(("HEARTBEAT_INTERVAL: Final = 0.1", "HEARTBEAT_INTERVAL: Final = 0.01"),)),
    Mutant(
        id="E13b", part="2A",
        bug="a new leader of mine starts match_index at its own last index, like next_index",
        source="Figure 2, volatile state on leaders (match_index initialized to 0)",
        expected=("test_rejoin_2b", "test_backup_2b", "test_fail_agree_2b"),
        edits=(("self.match_index = [0] * len(self.peers)",
                "self.match_index = [self.last_log_index()] * len(self.peers)"),)),
    Mutant(
        id="E16", part="2A",
        bug="my election timer keeps running while I lead, so my leader starts a new election every timeout",
        source="Figure 2, Rules for Servers, Followers 2 (only followers and candidates time out)",
        expected=("test_figure8_unreliable_2c",),
        edits=(("""            elif self.role == LEADER:
                self.reset_election_timer()  # leaders do not time out ...
                if CHECK_QUORUM and not self.heard_from_quorum():
                    # ... but under CheckQuorum (part 2E) a leader that a
                    # majority no longer answers steps down: it may be
                    # heard, but it cannot commit anything.
                    log.info("S%d: no reply from a majority, steps down", self.me)
                    self.become_follower(self.current_term)
            elif PRE_VOTE:""", """            elif PRE_VOTE:"""),)),
    Mutant(
        id="R18b", part="2A",
        bug="my candidate asks for votes one peer at a time, awaiting each reply",
        source="labrpc.go (check that the leader doesn't send RPCs synchronously); lab handout, 2A hints",
        expected=("test_many_elections_2a", "test_stale_leader_scenario_2a", "test_backup_2b"),
        edits=(("""        for peer in self.other_peers():  # send RequestVote RPCs to all other servers
            asyncio.create_task(self.send_request_vote(peer, args))""",
                """        async def ask_for_votes() -> None:
            for peer in self.other_peers():  # send RequestVote RPCs to all other servers
                await self.send_request_vote(peer, args)
        asyncio.create_task(ask_for_votes())"""),)),
    # -------- 2B: log replication
    Mutant(
        id="R1", part="2B",
        bug="I grant my vote without checking that the candidate's log is up to date "
            "(nor my pre-vote: it asks the vote's question)",
        source="§5.4.1 (election restriction)",
        expected=("test_backup_2b", "test_fail_agree_2b", "test_figure8_scenario_2c"),
        edits=(("""                and self.voted_for in (None, args.candidate_id)
                and self.candidate_up_to_date(args)):""",
                """                and self.voted_for in (None, args.candidate_id)):"""),
               ("""        granted = (would_vote and self.candidate_up_to_date(args)
                   and not self.heard_from_leader_recently())""",
                """        granted = would_vote and not self.heard_from_leader_recently()"""))),
    Mutant(
        id="R2", part="2B",
        bug="a candidate's log is up to date if it is at least as long as mine",
        source="Students' Guide ('No cheating and just checking the length!'); §5.4.1",
        expected=("test_rejoin_2b", "test_backup_2b", "test_fast_backup_bound_2b"),
        edits=(("""        if args.last_log_term != self.last_log_term():
            return args.last_log_term > self.last_log_term()
        return args.last_log_index >= self.last_log_index()""",
                """        return args.last_log_index >= self.last_log_index()"""),)),
    Mutant(
        id="R3", part="2B",
        bug="with equal last terms a candidate's log must be strictly longer than mine to get my vote",
        source="§5.4.1 ('at least as up-to-date')",
        expected=("test_initial_election_2a", "test_re_election_2a"),
        edits=(("return args.last_log_index >= self.last_log_index()",
                "return args.last_log_index > self.last_log_index()"),)),
    Mutant(
        id="R5", part="2B",
        bug="a heartbeat (no entries) succeeds at once and updates my commit index, without the prev_log_index/prev_log_term check",
        source="Students' Guide, 'The importance of details'",
        expected=("test_fail_agree_2b", "test_rejoin_2b", "test_backup_2b"),
        edits=(("""        self.reset_election_timer()      # heard from the current leader
""", """        self.reset_election_timer()      # heard from the current leader
        if not args.entries:  # a heartbeat: nothing to check or append
            if args.leader_commit > self.commit_index:
                self.commit_index = min(args.leader_commit, self.last_log_index())
                self.apply_wakeup.set()
            return AppendEntriesReply(self.current_term, True)
"""),)),
    Mutant(
        id="R5b", part="2B",
        bug="my follower only looks at leader_commit when an AppendEntries carries entries, not on heartbeats",
        source="Students' Guide, 'The importance of details' (heartbeats are not special); Figure 2, AppendEntries receiver 5",
        expected=("test_basic_agree_2b", "test_fail_agree_2b"),
        edits=(("if args.leader_commit > self.commit_index:",
                "if args.entries and args.leader_commit > self.commit_index:"),)),
    Mutant(
        id="R6", part="2B",
        bug="my follower replaces everything after prev_log_index with the RPC's entries, even when they match",
        source="Students' Guide, 'The importance of details' (the follower must not truncate its log on a match)",
        expected=("test_stale_append_scenario_2b", "test_concurrent_starts_2b", "test_unreliable_churn_2c"),
        edits=(("""        changed = False
        for k, entry in enumerate(entries):
            i = prev + 1 + k
            if i <= self.last_log_index() and self.term_at(i) == entry[0]:
                continue
            if i <= self.last_log_index():
                assert i > self.commit_index, "a committed entry must never be overwritten"
                del self.log[i - self.log_start:]
            self.log.extend(entries[k:])
            changed = True
            break
        if changed:
            self.persist()""",
                """        del self.log[prev + 1 - self.log_start:]
        self.log.extend(entries)
        self.persist()"""),)),
    Mutant(
        id="R7", part="2B",
        bug="my follower overwrites conflicting entries in place and keeps whatever follows them",
        source="Figure 2, AppendEntries receiver 3 (delete the existing entry and all that follow it)",
        expected=("test_figure8_unreliable_2c", "test_backup_2b", "test_rejoin_2b"),
        edits=(("""            if i <= self.last_log_index():
                assert i > self.commit_index, "a committed entry must never be overwritten"
                del self.log[i - self.log_start:]
            self.log.extend(entries[k:])
            changed = True
            break""",
                """            if i <= self.last_log_index():
                self.log[i - self.log_start] = entry  # replace the conflicting entry
            else:
                self.log.append(entry)
            changed = True"""),)),
    Mutant(
        id="R9", part="2B",
        bug="my follower rejects only when its entry at prev_log_index has another term; if it has no entry there, it appends",
        source="Students' Guide, 'Incorrect RPC handlers'; Figure 2, AppendEntries receiver 2",
        expected=("test_fail_agree_2b", "test_backup_2b", "test_figure8_2c"),
        edits=(("""            # Receiver 2, fast backup case 3: no entry at prev_log_index at all.
            return AppendEntriesReply(self.current_term, False, x_len=self.last_log_index() + 1)""",
                """            pass  # no entry there, so nothing conflicts"""),)),
    Mutant(
        id="R10", part="2B",
        bug="my applier sends the entry at commit_index and sets last_applied to it, skipping those in between",
        source="MIT config.go applier ('apply out of order'); Students' Guide, 'Failure to follow The Rules'",
        expected=("test_fail_agree_2b", "test_concurrent_starts_2b", "test_fail_no_agree_2b"),
        edits=(("self.last_applied += 1", "self.last_applied = self.commit_index"),)),
    Mutant(
        id="R11", part="2B",
        bug="my follower applies newly committed entries in append_entries, and my applier task applies them too",
        source="Students' Guide (applying should be done by only one entity)",
        expected=("test_basic_agree_2b", "test_fail_agree_2b"),
        edits=(("""            self.commit_index = max(self.commit_index, min(args.leader_commit, last_new))
            self.apply_wakeup.set()""",
                """            self.commit_index = max(self.commit_index, min(args.leader_commit, last_new))
            for i in range(self.last_applied + 1, self.commit_index + 1):  # apply them now
                self.apply_ch.put_nowait(ApplyMsg(command_valid=True, command_index=i,
                                                  command=self.log[i - self.log_start][1]))
            self.apply_wakeup.set()"""),)),
    Mutant(
        id="R13", part="2B",
        bug="on a successful AppendEntries my leader sets match_index to its own last log index",
        source="Students' Guide, 'Term confusion'",
        expected=("test_late_reply_scenario_2b", "test_unreliable_agree_2c", "test_unreliable_churn_2c", "test_figure8_unreliable_2c"),
        edits=(("matched = args.prev_log_index + len(args.entries)",
                "matched = self.last_log_index()"),)),
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
        id="R18", part="2B",
        bug="each of my leader's replicators awaits the reply to one AppendEntries before it sends the next",
        source="labrpc.go (check that the leader doesn't send RPCs synchronously); lab handout, 2B hints",
        expected=("test_figure8_unreliable_2c",),
        edits=(("""                asyncio.create_task(self.send_append_entries(peer, AppendEntriesArgs(
                    term=term, leader_id=self.me, prev_log_index=prev,
                    prev_log_term=self.term_at(prev),
                    entries=self.log[prev + 1 - self.log_start:],
                    leader_commit=self.commit_index)))""",
                """                await self.send_append_entries(peer, AppendEntriesArgs(
                    term=term, leader_id=self.me, prev_log_index=prev,
                    prev_log_term=self.term_at(prev),
                    entries=self.log[prev + 1 - self.log_start:],
                    leader_commit=self.commit_index))"""),)),
    Mutant(
        id="R19", part="2B",
        bug="start() returns len(self.log) as the index, counting the sentinel entry",
        source="MIT test_test.go TestBasicAgree2B ('got index N but expected M')",
        expected=("test_basic_agree_2b",),
        edits=(("index = self.last_log_index()", "index = len(self.log)"),)),
    Mutant(
        id="R20", part="2B",
        bug="my leader sends its whole log in every AppendEntries",
        source="MIT test_test.go TestRPCBytes2B ('too many RPC bytes')",
        expected=("test_rpc_bytes_2b",),
        edits=(("prev = self.next_index[peer] - 1", "prev = self.log_start  # send everything"),)),
    Mutant(
        id="R21", part="2B",
        bug="my leader does not count its own copy of a new entry: start() never updates match_index[me]",
        source="Figure 2, Leaders 4 (a majority of match_index, the leader included); §5.3",
        expected=("test_fail_agree_2b", "test_follower_failure_2b", "test_rejoin_2b"),
        edits=(("""        self.match_index[self.me] = index
""", ""),)),
    # -------- 2C: persistence (and Figure 8)
    Mutant(
        id="R4", part="2C",
        bug="my leader commits any entry stored on a majority, whatever its term",
        source="§5.4.2 and Figure 8; canonical/raft #220",
        expected=("test_figure8_scenario_2c", "test_figure8_2c", "test_figure8_unreliable_2c"),
        edits=(("""            if self.term_at(n) != self.current_term:
                break  # §5.4.2: never commit an older term's entry by counting replicas
""", ""),)),
    Mutant(
        id="P1", part="2C",
        bug="I persist current_term and the log, but not voted_for",
        source="Figure 2, persistent state; ktoso/akka-raft #62",
        expected=("test_voter_crash_scenario_2c", "test_figure8_2c"),
        edits=(("state = encode((self.current_term, self.voted_for, self.log_start, self.log))",
                "state = encode((self.current_term, None, self.log_start, self.log))"),)),
    Mutant(
        id="P1b", part="2C",
        bug="I persist when my term changes, but not when I grant a vote",
        source="Figure 2 (persistent state updated before responding to RPCs); hashicorp/raft #661",
        expected=("test_voter_crash_scenario_2c",),
        edits=((_GRANT_SAVED, _GRANT),)),
    Mutant(
        id="P2", part="2C",
        bug="I persist voted_for and the log but not current_term, which restarts at 0",
        source="Figure 2, persistent state",
        expected=("test_persist1_2c", "test_persist2_2c", "test_snapshot_all_crash_2d"),
        edits=(("state = encode((self.current_term, self.voted_for, self.log_start, self.log))",
                "state = encode((self.voted_for, self.log_start, self.log))"),
               ("self.current_term, self.voted_for, self.log_start, self.log = decode(data)",
                "self.voted_for, self.log_start, self.log = decode(data)"))),
    Mutant(
        id="P3", part="2C",
        bug="my follower appends entries without persisting them",
        source="Figure 2 (updated on stable storage before responding to RPCs)",
        expected=("test_persist1_2c", "test_snapshot_all_crash_2d", "test_reliable_churn_2c"),
        edits=(("""        if changed:
            self.persist()
""", ""),)),
    Mutant(
        id="P3b", part="2C",
        bug="start() appends the command to my leader's log without persisting it",
        source="Figure 2 (the log is persistent state); lab handout, 2C",
        expected=("test_persist3_2c", "test_figure8_scenario_2c"),
        edits=(("""        self.log.append((self.current_term, command))
        self.persist()""", """        self.log.append((self.current_term, command))"""),)),
    Mutant(
        id="P4", part="2C",
        bug="I save my vote just after replying (call_soon), not before",
        source="Figure 2 (updated on stable storage before responding to RPCs); hashicorp/raft #661",
        expected=("test_voter_crash_scenario_2c",),
        edits=((_GRANT_SAVED, _GRANT + """
            asyncio.get_running_loop().call_soon(self.persist)"""),)),
    Mutant(
        id="P4b", part="2C",
        bug="my follower saves the entries it appended just after replying (call_soon)",
        source="Figure 2 (updated on stable storage before responding to RPCs)",
        expected=("test_ack_crash_scenario_2c",),
        edits=(("""        if changed:
            self.persist()""", """        if changed:
            asyncio.get_running_loop().call_soon(self.persist)"""),)),
    Mutant(
        id="P5", part="2C",
        bug="I never call read_persist when a server starts",
        source="Lab handout, 2C (restore persisted state in Make)",
        expected=("test_persist1_2c",),
        edits=(("""        self.read_persist(persister.read_raft_state())
""", ""),)),
    # -------- 2D: snapshots
    Mutant(
        id="S1", part="2D",
        bug="my leader looks up prev_log_term as self.log[prev], forgetting the snapshot offset",
        source="Lab handout, 2D hints (index arithmetic after trimming the log)",
        expected=("test_snapshot_basic_2d", "test_snapshot_install_2d"),
        edits=(("prev_log_term=self.term_at(prev),", "prev_log_term=self.log[prev][0],"),)),
    Mutant(
        id="S1b", part="2D",
        bug="my leader slices the entries to send as self.log[prev + 1:], forgetting the snapshot offset",
        source="Lab handout, 2D hints (index arithmetic after trimming the log)",
        expected=("test_snapshot_basic_2d", "test_snapshot_install_2d"),
        edits=(("entries=self.log[prev + 1 - self.log_start:],", "entries=self.log[prev + 1:],"),)),
    Mutant(
        id="S2", part="2D",
        bug="when I trim my log for a snapshot the new dummy entry gets term 0: I lose last_included_term",
        source="Lab handout, 2D ('consider whether lastIncludedTerm should be persisted'); Figure 13",
        expected=("test_snapshot_install_2d", "test_snapshot_basic_2d", "test_snapshot_install_crash_2d"),
        edits=(("self.log = [(self.term_at(index), None), *self.log[index - self.log_start + 1:]]",
                "self.log = [(0, None), *self.log[index - self.log_start + 1:]]"),)),
    Mutant(
        id="S2b", part="2D",
        bug="I persist the trimmed log but not log_start, the snapshot's last included index",
        source="Lab handout, 2D ('consider whether this should be persisted'); Figure 13",
        expected=("test_snapshot_all_crash_2d", "test_snapshot_init_2d"),
        edits=(("state = encode((self.current_term, self.voted_for, self.log_start, self.log))",
                "state = encode((self.current_term, self.voted_for, self.log))"),
               ("self.current_term, self.voted_for, self.log_start, self.log = decode(data)",
                "self.current_term, self.voted_for, self.log = decode(data)"))),
    Mutant(
        id="S6", part="2D",
        bug="after installing a snapshot I leave commit_index and last_applied where they were",
        source="Students' Guide, 'An aside on optimizations'; Figure 13, receiver 8",
        expected=("test_snapshot_install_2d", "test_snapshot_install_unreliable_2d"),
        edits=(("""        self.commit_index = index
        self.last_applied = index
""", ""),)),
    Mutant(
        id="S7", part="2D",
        bug="on restart my commit_index and last_applied start at 0, not at the snapshot's index",
        source="Students' Guide; lab handout, 2D",
        expected=("test_snapshot_init_2d", "test_snapshot_all_crash_2d", "test_snapshot_install_crash_2d"),
        edits=(("self.commit_index = self.last_applied = self.log_start",
                "self.commit_index = self.last_applied = 0"),)),
    Mutant(
        id="S8", part="2D",
        bug="persist() still saves the Raft state with persister.save(state, None), as in 2C",
        source="Lab handout, 2D (save state and snapshot together); Students' Guide",
        expected=("test_snapshot_install_crash_2d", "test_snapshot_all_crash_2d", "test_snapshot_init_2d"),
        edits=(("self.persister.save(state, self.snapshot_data)", "self.persister.save(state, None)"),)),
    Mutant(
        id="S8b", part="2D",
        bug="InstallSnapshot updates my log but I keep persisting my old snapshot's bytes",
        source="Figure 13, receiver 5 (save snapshot file); lab handout, 2D",
        expected=("test_snapshot_install_crash_2d", "test_snapshot_install_uncrash_2d"),
        edits=(("""        self.snapshot_data = args.data
""", ""),)),
    Mutant(
        id="S9", part="2D",
        bug="my leader never sends InstallSnapshot; it just stops backing up at its snapshot",
        source="Figure 13 (InstallSnapshot RPC)",
        expected=("test_snapshot_install_2d", "test_snapshot_install_unreliable_2d"),
        edits=(("""            if self.next_index[peer] <= self.log_start:
                asyncio.create_task(self.send_install_snapshot(peer, InstallSnapshotArgs(
                    term, self.me, self.log_start, self.log[0][0], self.snapshot_data)))
            else:
                prev = self.next_index[peer] - 1
                asyncio.create_task(self.send_append_entries(peer, AppendEntriesArgs(
                    term=term, leader_id=self.me, prev_log_index=prev,
                    prev_log_term=self.term_at(prev),
                    entries=self.log[prev + 1 - self.log_start:],
                    leader_commit=self.commit_index)))""",
                """            if self.next_index[peer] <= self.log_start:
                self.next_index[peer] = self.log_start + 1  # can't go back any further
            prev = self.next_index[peer] - 1
            asyncio.create_task(self.send_append_entries(peer, AppendEntriesArgs(
                term=term, leader_id=self.me, prev_log_index=prev,
                prev_log_term=self.term_at(prev),
                entries=self.log[prev + 1 - self.log_start:],
                leader_commit=self.commit_index)))"""),)),
    Mutant(
        id="S10", part="2D",
        bug="my leader does not update next_index and match_index after a successful InstallSnapshot",
        source="Figure 13; Students' Guide, 'Term confusion'",
        expected=("test_snapshot_install_2d", "test_snapshot_install_unreliable_2d"),
        edits=(("""        self.match_index[peer] = max(self.match_index[peer], args.last_included_index)
        self.next_index[peer] = max(self.next_index[peer], args.last_included_index + 1)
""", ""),)),
    Mutant(
        id="S12", part="2D",
        bug="snapshot() keeps the whole log; I only remember the snapshot",
        source="MIT test_test.go, MAXLOGSIZE",
        expected=("test_snapshot_basic_2d",),
        edits=(("""        self.log = [(self.term_at(index), None), *self.log[index - self.log_start + 1:]]
        self.log_start = index
        self.snapshot_data = snapshot""", """        self.snapshot_data = snapshot"""),)),
    Mutant(
        id="S15", part="2D",
        bug="my applier sends the committed entries as one batch and sets last_applied after it, "
            "so a snapshot installed while it waited in apply_ch.put() is undone",
        source="Students' Guide, 'Applying client operations' (re-check state after waiting); "
               "apply_ch is unbuffered, as Go's applyCh",
        expected=("test_snapshot_during_apply_scenario_2d", "test_snapshot_install_2d"),
        edits=(("""            elif self.last_applied < self.commit_index:
                self.last_applied += 1
                index = self.last_applied
                command = self.log[index - self.log_start][1]
                await self.apply_ch.put(ApplyMsg(command_valid=True, command=command,
                                                 command_index=index))""",
                """            elif self.last_applied < self.commit_index:
                start, end = self.last_applied + 1, self.commit_index
                batch = self.log[start - self.log_start:end - self.log_start + 1]
                for k, (_, command) in enumerate(batch):
                    await self.apply_ch.put(ApplyMsg(command_valid=True, command=command,
                                                     command_index=start + k))
                self.last_applied = end"""),)),
    Mutant(
        id="S14", part="2D",
        bug="InstallSnapshot updates my log but I never send the snapshot to the service on apply_ch",
        source="Figure 13, receiver 8 (reset state machine using snapshot contents); lab handout, 2D",
        expected=("test_snapshot_install_2d", "test_snapshot_install_unreliable_2d"),
        edits=(("""        self.pending_snapshot = ApplyMsg(snapshot_valid=True, snapshot=args.data,
                                         snapshot_term=term, snapshot_index=index)
""", ""),)),
    # -------- 2E (optional): one-way network failures, PreVote and CheckQuorum
    Mutant(
        id="V1", part="2E",
        bug="my pre-candidate increments current_term before asking for pre-votes, as a candidate does",
        source="Ongaro's thesis §9.6 (a pre-vote changes no term); etcd raft.go becomePreCandidate "
               "('does not increase r.Term or change r.Vote')",
        expected=("test_deaf_follower_unreliable_2e", "test_deaf_leader_unreliable_2e",
                  "test_persist2_2c"),
        edits=(("""        args = RequestVoteArgs(self.current_term + 1, self.me, self.last_log_index(),
                               self.last_log_term(), pre_vote=True)""",
                """        self.current_term += 1
        self.persist()
        args = RequestVoteArgs(self.current_term, self.me, self.last_log_index(),
                               self.last_log_term(), pre_vote=True)"""),)),
    Mutant(
        id="V2", part="2E",
        bug="request_vote adopts a higher term (All Servers 2) before it looks at the pre_vote flag",
        source="Ongaro's thesis §9.6; etcd raft.go Step ('Never change our term in response to "
               "a PreVote')",
        expected=("test_deaf_follower_2e", "test_partial_connectivity_2e",
                  "test_deaf_follower_unreliable_2e"),
        edits=(("""        if args.pre_vote:
            return self.pre_vote(args)
        if args.term > self.current_term:
            self.become_follower(args.term)  # All Servers 2 (before anything else)
""",
                """        if args.term > self.current_term:
            self.become_follower(args.term)  # All Servers 2 (before anything else)
        if args.pre_vote:
            return self.pre_vote(args)
"""),)),
    Mutant(
        id="V3", part="2E",
        bug="when I grant a pre-vote I record it like a real vote: I take its term and set voted_for",
        source="Ongaro's thesis §9.6 (a pre-vote changes nothing at the voter); etcd raft.go Step "
               "('Only record real votes')",
        expected=("test_persist2_2c", "test_figure8_unreliable_2c"),
        edits=(("""                   and not self.heard_from_leader_recently())
        return RequestVoteReply(self.current_term, granted)""",
                """                   and not self.heard_from_leader_recently())
        if granted:
            self.current_term = args.term
            self.voted_for = args.candidate_id
            self.persist()
        return RequestVoteReply(self.current_term, granted)"""),)),
    Mutant(
        id="V4", part="2E",
        bug="my pre-vote asks whether the others would vote for me in my current term, not the next one",
        source="Ongaro's thesis §9.6 (could it win an election in the next term); etcd raft.go "
               "campaign (a pre-vote is sent for r.Term + 1)",
        expected=("test_deaf_leader_2e", "test_mute_leader_2e", "test_stale_outbound_leader_2e"),
        edits=(("""        args = RequestVoteArgs(self.current_term + 1, self.me, self.last_log_index(),
                               self.last_log_term(), pre_vote=True)""",
                """        args = RequestVoteArgs(self.current_term, self.me, self.last_log_index(),
                               self.last_log_term(), pre_vote=True)"""),)),
    Mutant(
        id="V5", part="2E",
        bug="I never clear the pre-votes I collected, so a new round counts the grants of earlier ones",
        source="etcd raft.go becomePreCandidate (resets the votes of every round); Students' Guide, "
               "'Term confusion'",
        expected=("test_deaf_leader_2e", "test_stale_outbound_leader_2e",
                  "test_deaf_leader_unreliable_2e"),
        edits=(("""        self.pre_votes = {self.me}
        self.reset_election_timer()   # no majority by then: ask again""",
                """        self.pre_votes.add(self.me)
        self.reset_election_timer()   # no majority by then: ask again"""),)),
    Mutant(
        id="V6", part="2E",
        bug="only a follower asks for pre-votes: when a pre-vote round or an election times out, "
            "my server starts a real election",
        source="Ongaro's thesis §9.6 (a pre-vote before every election); etcd raft.go tickElection "
               "(every non-leader campaigns through the pre-vote)",
        expected=("test_deaf_follower_2e", "test_partial_connectivity_2e", "test_deaf_leader_2e"),
        edits=(("""            elif PRE_VOTE:
                self.become_pre_candidate()""",
                """            elif PRE_VOTE and self.role == FOLLOWER:
                self.become_pre_candidate()"""),)),
    Mutant(
        id="V7", part="2E",
        bug="my CheckQuorum counts the AppendEntries my leader sends, not the replies it gets, so it never steps down",
        source="Ongaro's thesis §6.2 (step down without a successful round of heartbeats to a "
               "majority); etcd raft.go stepLeader (RecentActive is set by a follower's response)",
        expected=("test_deaf_leader_2e", "test_deaf_leader_unreliable_2e"),
        edits=(("""            wakeup.clear()
""", """            wakeup.clear()
            self.last_reply[peer] = asyncio.get_running_loop().time()  # CheckQuorum: contacted
"""),)),
    Mutant(
        id="V8", part="2E",
        bug="my CheckQuorum wants a reply from a majority within a third of the minimum election "
            "timeout, so one lost heartbeat makes my leader step down",
        source="Ongaro's thesis §6.2 (an election timeout without replies from a majority); "
               "etcd Config.CheckQuorum",
        expected=("test_deaf_follower_unreliable_2e", "test_deaf_leader_unreliable_2e",
                  "test_stale_outbound_leader_unreliable_2e"),
        edits=(("since = asyncio.get_running_loop().time() - ELECTION_TIMEOUT[1]",
                "since = asyncio.get_running_loop().time() - ELECTION_TIMEOUT[0] / 3"),)),
    Mutant(
        id="V9", part="2E",
        bug="my CheckQuorum wants replies from a majority of the other servers: it forgets the leader itself",
        source="Figure 2 (a majority of servers, the leader included); etcd raft.go (the leader "
               "counts itself as recently active)",
        expected=("test_stale_outbound_leader_2e", "test_stale_outbound_leader_unreliable_2e",
                  "test_partial_connectivity_unreliable_2e"),
        edits=(("return 2 * (heard + 1) > len(self.peers)", "return 2 * heard > len(self.peers)"),)),
    Mutant(
        id="V10", part="2E",
        bug="I grant a pre-vote to any candidate whose log is up to date, even while I hear "
            "from the leader",
        source="Raft thesis §9.6 (a server refuses pre-votes while it hears from a leader)",
        expected=("test_chain_2e",),
        edits=(("""        granted = (would_vote and self.candidate_up_to_date(args)
                   and not self.heard_from_leader_recently())""",
                """        granted = would_vote and self.candidate_up_to_date(args)"""),)),
    Mutant(
        id="E8", part="2A",
        bug="I count every vote granted to me, without checking that it answers the election "
            "I am running now",
        source="Students' Guide, 'Term confusion'; Figure 2, Rules for Servers, Candidates 2",
        expected=("test_stale_vote_scenario_2a",),
        edits=(("""        if self.role != CANDIDATE or self.current_term != args.term:
            return  # a reply from an election we are no longer running
""", ""),)),
    Mutant(
        id="E17", part="2A",
        bug="when I become a candidate I do not increment current_term",
        source="Figure 2, Rules for Servers, Candidates 1 (increment currentTerm)",
        expected=("test_initial_election_2a",),
        edits=(("""        self.current_term += 1        # increment current_term
""", ""),)),
    Mutant(
        id="E21", part="2A",
        bug="only a follower starts an election; my candidate waits for its votes forever",
        source="Figure 2, Rules for Servers, Candidates 4 (if election timeout elapses: start new election)",
        expected=("test_double_vote_scenario_2a",),
        edits=(("""            elif PRE_VOTE:
                self.become_pre_candidate()""", """            elif self.role == CANDIDATE:
                self.reset_election_timer()  # still counting votes
            elif PRE_VOTE:
                self.become_pre_candidate()"""),)),
    Mutant(
        id="R12", part="2B",
        bug="my leader handles an AppendEntries reply without checking that it still leads in "
            "the term the request was sent in",
        source="Students' Guide, 'Term confusion'",
        expected=("test_stale_append_reply_scenario_2b",),
        edits=(("""        if self.role != LEADER or self.current_term != args.term:
            return  # stale reply (Students' Guide, "Term confusion")
""", ""),)),
    Mutant(
        id="R12b", part="2B",
        bug="a success reply from an earlier term still raises match_index (and may commit), "
            "though I ignore the rest of it",
        source="Students' Guide, 'Term confusion'",
        expected=("test_stale_append_reply_scenario_2b",),
        edits=(("""        if self.role != LEADER or self.current_term != args.term:
            return  # stale reply (Students' Guide, "Term confusion")
""", """        if self.role != LEADER or self.current_term != args.term:
            if self.role == LEADER and reply.success:
                matched = args.prev_log_index + len(args.entries)
                self.match_index[peer] = max(self.match_index[peer], matched)
                self.maybe_advance_commit_index()
            return  # stale reply (Students' Guide, "Term confusion")
"""),)),
    Mutant(
        id="S3", part="2D",
        bug="InstallSnapshot discards my whole log, even when I hold the snapshot's last entry "
            "(same term) and entries after it",
        source="Figure 13, InstallSnapshot receiver 6; camunda/camunda #6092",
        expected=("test_snapshot_keep_suffix_scenario_2d",),
        edits=(("""            self.log = [(term, None), *self.log[index - self.log_start + 1:]]""",
                """            self.log = [(term, None)]"""),)),
    Mutant(
        id="S5", part="2D",
        bug="I install every InstallSnapshot I receive, even one that my commit index already "
            "covers (a delayed or duplicate one)",
        source="Figure 13; hashicorp/raft #248 (snapshot index going backwards)",
        expected=("test_stale_snapshot_scenario_2d",),
        edits=(("""        if index <= self.commit_index:
            return InstallSnapshotReply(self.current_term)  # nothing new: an old or duplicate RPC
""", ""),)),
)

MASKED_BY_2E: tuple[Mutant, ...] = (
    Mutant(
        id="E19", part="2A",
        bug="I do not reset my election timer when I become a candidate",
        source="Figure 2, Rules for Servers, Candidates 1 (reset election timer)",
        expected=("test_initial_election_2a",),
        edits=(("""        self.persist()
        self.reset_election_timer()   # reset election timer
""", """        self.persist()
"""),)),
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
)
"""Catalog bugs of parts 2A-2D that the reference's part-2E mechanisms make
harmless, so no test can kill them in the reference as shipped and the zoo
leaves them out; tests/suite/test_2e_reference.py checks that the suite still
kills each one in plain Raft (PRE_VOTE and CHECK_QUORUM off)."""
