"""The zoo's mutants of the second reference (tests/reference2/raft.py).

    MUTANTS    the mutants ``raftlab zoo`` runs on this reference, in catalog order
    LEFT_OUT   catalog bugs tried here and not killed within 3 seeds (kept so that
               they stay in step with the reference and can be tried again)
    PARTS      the parts this reference implements: its mutants run only their tests

Each mutant is the second reference with one catalog bug put in, in the same
form as ``grader.mutants`` (``Mutant``, ``build_source``: every edit matches
the reference exactly once; the reference's asserts are removed). The ID is
the rule ID the first reference's zoo uses for the same bug: an ID of
``grader.mutants`` (a mutant there, in MASKED_BY_2E, or in its docstring's
list of catalog bugs left out) - tests/grader/test_zoo2.py checks it - and
the bug is translated into this code's style (an offset ledger,
long-lived replicators, pipelined AppendEntries, one candidacy task counting
its ballots). Where the style changes the bug's shape, ``bug`` says how;
where it does not, the mutant is ``same_bug(ID, edits=...)``, which takes its
part, bug and source from the first reference's mutant of that ID.
This reference has no part 2E, so it has no V mutants, and the catalog bugs
that 2E masks in the first reference (E3, E19) are real bugs here.

59 mutants: 17 in 2A, 19 in 2B, 9 in 2C, 14 in 2D. ``raftlab zoo --reference
second --seeds 3`` kills every one, all but S8b on seed 1.

Killed here, but left out of the first reference's zoo:
  E3   stale AppendEntries resets the timer: without CheckQuorum the deposed
       leader's heartbeats keep the others from standing (stale_leader scenario)
  E19  no timer reset on standing: the candidacy task's round ends as it
       starts, and it stands again at once (the harness stops the busy loop);
       in the first reference PreVote resets the timer
  R8   commit_index = leader_commit without the min: a batch is at most
       MAX_BATCH entries, so leader_commit can be past the last new entry,
       and the follower commits entries it has not got or that conflict
  S10b match_index set to the leader's last index after an InstallSnapshot:
       the follower lacks the entries after the snapshot, and the backup,
       clamped at match_index + 1, can never resend them
Killed in the first reference, left out here (LEFT_OUT):
  S5   a stale InstallSnapshot not ignored (the base_index check dropped):
       equivalent here. A copy through the follower's own base_index (the
       stale_snapshot scenario's delayed RPC) compacts nothing, as _compact
       keeps a matching suffix, and the applier delivers a snapshot only when
       it is past last_applied; one older than base_index would need the
       follower to have snapshotted past it first
  S15  the applier sends a batch and sets last_applied after it: equivalent
       here. A snapshot installed meanwhile is delivered after the batch only
       if it is past the batch's end (the applier re-checks last_applied), and
       the entries after it are still in the ledger
Left out of both (tried here too; none is killed within 3 seeds):
  E1   no timer reset on granting a vote: the new leader heartbeats at once
       (its replicators are woken with a heartbeat due)
  E2   timer reset on every RequestVote: elections only slow down, within 5 s
  E13  next and match indices kept from an earlier leadership: stale send
       positions cost a rejection or a resend; a stale match_index is wrong
       only if the follower's log shrank below it meanwhile
  E14  an await between the voted_for check and the vote: not measurable now.
       It needs request_vote to be ``async def``, and with the harness as it
       is a correct Raft whose request_vote is async (even without any await)
       fails test_initial_election_2a: the replies of async handlers do not
       arrive (likewise an async append_entries fails test_basic_agree_2b)
  R14  next_index backed up on a rejection of a higher term or an earlier
       term's request: the leader steps down and reinitialises next_index when
       elected; an extra step back costs one resend
  R16  case 3 backed up to XIndex (-1): the clamp at match_index + 1 makes it a
       slower but correct backup, one batch of up to 64 entries per RPC
  R17  follower truncating at XIndex when rejecting: needs a committed entry of
       XTerm before the conflict, held by too few others, and a later election
       that depends on this follower's copy
  S4   InstallSnapshot keeping the suffix whatever the entry at its index: a
       missing entry leaves nothing to keep (the ledger is shorter), and no
       test sends a snapshot to a follower holding a divergent entry there
  S11  snapshot(index) not ignoring an old index: the service snapshots right
       after taking the entry, before any InstallSnapshot can move base_index
  P6   term and vote saved in two calls (not tried): not expressible, as
       _persist() never awaits and saves everything in one call
"""

# ruff: noqa: E501 - the edits quote the second reference's lines verbatim

from __future__ import annotations

from dataclasses import replace

from grader.mutants import MASKED_BY_2E, Mutant
from grader.mutants import MUTANTS as FIRST

_CATALOG = {m.id: m for m in (*FIRST, *MASKED_BY_2E)}


def same_bug(mid: str, *, edits: tuple[tuple[str, str], ...],
             expected: tuple[str, ...] | None = None) -> Mutant:
    """The first reference's mutant ``mid`` (its part, bug and source), with this
    reference's edits (and expected tests, where they differ)."""
    first = _CATALOG[mid]
    return replace(first, edits=edits, expected=first.expected if expected is None else expected)

PARTS = ("2A", "2B", "2C", "2D")

_GRANT = """        granted = (args.term == self.current_term
                   and self.voted_for in (None, args.candidate_id)
                   and up_to_date)"""

_UP_TO_DATE = """        up_to_date = ((args.last_log_term, args.last_log_index)
                      >= (self._last_term(), self._last_index()))"""

_APPEND_LOOP = """            if index <= self._last_index():
                if self._term_at(index) == _term_of(entry):
                    continue
                self._truncate_from(index)
            self.entries.extend(entries[offset:])
            self._persist()
            break"""

_INSTALL_COMPACT = """        self._compact(index, term)
        self.snapshot_data = args.data"""

MUTANTS: tuple[Mutant, ...] = (
    # -------- 2A: leader election
    same_bug("E3", edits=(("""        if args.term < self.current_term:
            return AppendEntriesReply(self.current_term, False)""",
                """        if args.term < self.current_term:
            self._reset_election_timer()
            return AppendEntriesReply(self.current_term, False)"""),)),
    same_bug("E4", edits=((_GRANT, """        granted = (args.term == self.current_term
                   and up_to_date)"""),)),
    same_bug("E5", edits=(("""        if term > self.current_term:
            self.current_term = term
            self.voted_for = None
            self._persist()""",
                """        if term > self.current_term:
            self.current_term = term
        self.voted_for = None
        self._persist()"""),), expected=("test_double_vote_scenario_2a", "test_many_elections_2a",
                  "test_voter_crash_scenario_2c", "test_figure8_scenario_2c")),
    same_bug("E6", edits=(("""                    if reply.term > self.current_term:
                        self._follow(reply.term)  # All Servers 2
                        return
""", ""),
               ("""            if reply.term > self.current_term:
                self._follow(reply.term)  # All Servers 2
                continue
""", ""))),
    same_bug("E7", edits=(("""        if args.term > self.current_term:
            self._follow(args.term)  # All Servers 2
        # Receiver 1""",
                """        free_to_vote = self.voted_for in (None, args.candidate_id)
        if args.term > self.current_term:
            self._follow(args.term)  # All Servers 2
        # Receiver 1"""),
               (_GRANT, """        granted = (args.term == self.current_term
                   and free_to_vote
                   and up_to_date)"""))),
    same_bug("E7b", edits=(("""            self.current_term = term
            self.voted_for = None
""", """            self.current_term = term
"""),)),
    Mutant(
        id="E8", part="2A",
        bug="when my candidate stands again after a split vote, I keep waiting for the ballots "
            "still out from the earlier rounds and count their votes too",
        source="Figure 2, Rules for Servers, Candidates 2 (votes of this election); "
               "andreev-io/little-raft #44; Students' Guide, 'Term confusion'",
        expected=("test_stale_vote_scenario_2a", "test_many_elections_2a"),
        edits=(("""        loop = asyncio.get_running_loop()
        while not self.dead and self.role == CANDIDATE and self._candidacy_no == number:""",
                """        loop = asyncio.get_running_loop()
        ballots: dict[asyncio.Task[RequestVoteReply | None], int] = {}
        pending: set[asyncio.Task[RequestVoteReply | None]] = set()
        while not self.dead and self.role == CANDIDATE and self._candidacy_no == number:"""),
               ("""            ballots = {asyncio.create_task(self._ballot(peer, args)): peer
                       for peer in self._others()}
            votes = 1
            pending = set(ballots)""",
                """            new = {asyncio.create_task(self._ballot(peer, args)): peer
                   for peer in self._others()}
            ballots.update(new)
            votes = 1
            pending |= set(new)"""))),
    same_bug("E9", edits=(("self._patience = random.uniform(*ELECTION_TIMEOUT)", "self._patience = 0.45"),)),
    same_bug("E10", edits=(("ELECTION_TIMEOUT: Final = (0.3, 0.65)", "ELECTION_TIMEOUT: Final = (3.0, 6.0)"),)),
    same_bug("E11", edits=(("HEARTBEAT_INTERVAL: Final = 0.1", "HEARTBEAT_INTERVAL: Final = 1.0"),), expected=("test_count_2b", "test_re_election_2a", "test_concurrent_starts_2b")),
    same_bug("E12", edits=(("HEARTBEAT_INTERVAL: Final = 0.1", "HEARTBEAT_INTERVAL: Final = 0.01"),)),
    same_bug("E13b", edits=(("""        self._send_next = [self._last_index() + 1] * n
        self._match = [0] * n""", """        self._send_next = [self._last_index() + 1] * n
        self._match = [self._last_index()] * n"""),)),
    same_bug("E16", edits=(("if self.role != FOLLOWER or remaining > 0:",
                "if self.role == CANDIDATE or remaining > 0:"),), expected=("test_figure8_unreliable_2c", "test_count_2b", "test_re_election_2a")),
    same_bug("E17", edits=(("""            self.current_term += 1
            self.voted_for = self.me""", """            self.voted_for = self.me"""),), expected=("test_initial_election_2a", "test_re_election_2a", "test_many_elections_2a")),
    Mutant(
        id="E19", part="2A",
        bug="I do not reset my election timer when I stand for election",
        source="Figure 2, Rules for Servers, Candidates 1 (reset election timer)",
        expected=("test_initial_election_2a",),
        edits=(("""            self._persist()
            self._reset_election_timer()
            term = self.current_term""", """            self._persist()
            term = self.current_term"""),)),
    Mutant(
        id="E21", part="2A",
        bug="only a follower starts an election; after a split vote my candidate waits forever",
        source="Figure 2, Rules for Servers, Candidates 4 (if election timeout elapses: start "
               "new election)",
        expected=("test_double_vote_scenario_2a", "test_many_elections_2a"),
        edits=(("""            # Candidates 4: the election timeout elapses: start a new election.
            if loop.time() < deadline:
                await asyncio.sleep(deadline - loop.time())
            if self.current_term != term:
                return""", """            return  # no majority: wait for a leader to show up"""),)),
    same_bug("R18b", edits=(("""        self._apply_wakeup = asyncio.Event()
""", """        self._apply_wakeup = asyncio.Event()
        self._ballot_lock = asyncio.Lock()
"""),
               ("""        reply: RequestVoteReply | None = await self.peers[peer].call("request_vote", args)""",
                """        async with self._ballot_lock:  # one RequestVote at a time
            reply: RequestVoteReply | None = await self.peers[peer].call("request_vote", args)"""))),
    # -------- 2B: log replication
    Mutant(
        id="R1", part="2B",
        bug="I grant my vote without checking that the candidate's log is up to date",
        source="§5.4.1 (election restriction)",
        expected=("test_backup_2b", "test_fail_agree_2b", "test_figure8_scenario_2c"),
        edits=((_GRANT, """        granted = (args.term == self.current_term
                   and self.voted_for in (None, args.candidate_id))"""),)),
    same_bug("R2", edits=((_UP_TO_DATE, "        up_to_date = args.last_log_index >= self._last_index()"),)),
    same_bug("R3", edits=((_UP_TO_DATE, """        up_to_date = ((args.last_log_term, args.last_log_index)
                      > (self._last_term(), self._last_index()))"""),)),
    same_bug("R5", edits=(("""        self._reset_election_timer()     # Followers 2: heard from the current leader
""", """        self._reset_election_timer()     # Followers 2: heard from the current leader
        if not args.entries:  # a heartbeat: nothing to check or append
            if args.leader_commit > self.commit_index:
                self.commit_index = min(args.leader_commit, self._last_index())
                self._apply_wakeup.set()
            return AppendEntriesReply(self.current_term, True)
"""),)),
    same_bug("R5b", edits=(("if args.leader_commit > self.commit_index and last_new > self.commit_index:",
                "if args.entries and args.leader_commit > self.commit_index "
                "and last_new > self.commit_index:"),)),
    same_bug("R6", edits=(("""        for offset, entry in enumerate(entries):
            index = prev + 1 + offset
""" + _APPEND_LOOP, """        del self.entries[prev - self.base_index:]
        self.entries.extend(entries)
        self._persist()"""),)),
    same_bug("R7", edits=((_APPEND_LOOP, """            if index <= self._last_index():
                if self._term_at(index) == _term_of(entry):
                    continue
                self.entries[index - self.base_index - 1] = entry  # replace the conflicting one
            else:
                self.entries.append(entry)
            self._persist()"""),)),
    Mutant(
        id="R8", part="2B",
        bug="my follower sets commit_index to leader_commit, without the min with the index of "
            "the last new entry",
        source="Figure 2, AppendEntries receiver 5; atomix/copycat #265; rabbitmq/ra PR #508",
        expected=("test_reliable_churn_2c", "test_figure8_unreliable_2c",
                  "test_fail_no_agree_2b", "test_backup_2b"),
        edits=(("self.commit_index = min(args.leader_commit, last_new)",
                "self.commit_index = args.leader_commit"),)),
    same_bug("R9", edits=(("""            # Receiver 2, fast backup case 3: we hold no entry at prev_log_index.
            return AppendEntriesReply(self.current_term, False, x_len=self._last_index() + 1)""",
                """            pass  # no entry there, so nothing conflicts"""),)),
    same_bug("R10", edits=(("self.last_applied += 1", "self.last_applied = self.commit_index"),)),
    same_bug("R11", edits=(("""            self.commit_index = min(args.leader_commit, last_new)
            self._apply_wakeup.set()""",
                """            for i in range(self.commit_index + 1, min(args.leader_commit, last_new) + 1):
                asyncio.create_task(self.apply_ch.put(ApplyMsg(  # apply them now
                    command_valid=True, command=self._entry(i)[1], command_index=i)))
            self.commit_index = min(args.leader_commit, last_new)
            self._apply_wakeup.set()"""),)),
    Mutant(
        id="R12", part="2B",
        bug="my leader handles AppendEntries replies without checking that they answer a "
            "request of its current term",
        source="Students' Guide, 'Term confusion'",
        expected=("test_stale_append_reply_scenario_2b", "test_late_reply_scenario_2b",
                  "test_figure8_unreliable_2c"),
        edits=(("""            if self.role != LEADER or args.term != self.current_term:
                continue  # a reply to an earlier term's request ("Term confusion")
""", ""),)),
    same_bug("R12b", edits=(("""            if self.role != LEADER or args.term != self.current_term:
                continue  # a reply to an earlier term's request ("Term confusion")
""", """            if self.role != LEADER or args.term != self.current_term:
                if (self.role == LEADER and isinstance(reply, AppendEntriesReply)
                        and reply.success):
                    matched = args.prev_log_index + len(args.entries)
                    if matched > self._match[peer]:
                        self._match[peer] = matched
                        self._advance_commit()
                continue  # a reply to an earlier term's request ("Term confusion")
"""),), expected=("test_stale_append_reply_scenario_2b", "test_late_reply_scenario_2b")),
    same_bug("R13", edits=(("self._acknowledged(peer, args.prev_log_index + len(args.entries))",
                "self._acknowledged(peer, self._last_index())"),)),
    same_bug("R15", edits=(("""        if reply.x_term < 0:
            guess = reply.x_len                        # case 3: follower's log too short
        else:
            last = self._last_index_of_term(reply.x_term)
            guess = reply.x_index if last is None else last + 1  # cases 1 and 2""",
                """        guess = self._ack_next[peer] - 1"""),)),
    same_bug("R18", edits=(("WINDOW: Final = 3", "WINDOW: Final = 1"),
               ("if loop.time() >= self._last_sent[peer] + HEARTBEAT_INTERVAL:",
                "if (loop.time() >= self._last_sent[peer] + HEARTBEAT_INTERVAL\n"
                "                    and self._in_flight[peer] == 0):")), expected=("test_figure8_unreliable_2c", "test_unreliable_churn_2c", "test_fail_agree_2b")),
    Mutant(
        id="R19", part="2B",
        bug="start() returns len(self.entries) as the index, forgetting base_index",
        source="MIT test_test.go TestBasicAgree2B ('got index N but expected M')",
        expected=("test_snapshot_basic_2d", "test_snapshot_install_2d"),
        edits=(("return self._last_index(), self.current_term, True",
                "return len(self.entries), self.current_term, True"),)),
    same_bug("R20", edits=(("first = self._send_next[peer]",
                "first = min(self._send_next[peer], self.base_index + 1)  # send everything"),
               ("batch = self._slice(first, MAX_BATCH)",
                "batch = self._slice(first, len(self.entries))"))),
    Mutant(
        id="R21", part="2B",
        bug="my leader does not count its own copy of a new entry when it counts replicas",
        source="Figure 2, Leaders 4 (a majority of match_index, the leader included); §5.3",
        expected=("test_fail_agree_2b", "test_follower_failure_2b", "test_rejoin_2b"),
        edits=(("""        held = sorted((self._last_index() if peer == self.me else self._match[peer]
                       for peer in range(len(self.peers))), reverse=True)""",
                """        held = sorted((self._match[peer] for peer in range(len(self.peers))),
                      reverse=True)"""),)),
    # -------- 2C: persistence (and Figure 8)
    same_bug("R4", edits=(("if n > self.commit_index and self._term_at(n) == self.current_term:",
                "if n > self.commit_index:"),)),
    same_bug("P1", edits=(("state = encode((self.current_term, self.voted_for, self.base_index, self.base_term,",
                "state = encode((self.current_term, None, self.base_index, self.base_term,"),)),
    same_bug("P1b", edits=(("""            self.voted_for = args.candidate_id
            self._persist()""", """            self.voted_for = args.candidate_id"""),)),
    same_bug("P2", edits=(("state = encode((self.current_term, self.voted_for, self.base_index, self.base_term,",
                "state = encode((self.voted_for, self.base_index, self.base_term,"),
               ("""        (self.current_term, self.voted_for, self.base_index, self.base_term,
         entries) = decode(data)""",
                """        (self.voted_for, self.base_index, self.base_term,
         entries) = decode(data)"""))),
    same_bug("P3", edits=(("""            self.entries.extend(entries[offset:])
            self._persist()
            break""", """            self.entries.extend(entries[offset:])
            break"""),)),
    same_bug("P3b", edits=(("""        self.entries.append((self.current_term, command))
        self._persist()""", """        self.entries.append((self.current_term, command))"""),)),
    Mutant(
        id="P5", part="2C",
        bug="I never read my persisted state when a server starts",
        source="Lab handout, 2C (restore persisted state in Make)",
        expected=("test_persist1_2c",),
        edits=(("""        self._restore(persister.read_raft_state())
""", ""),)),
    same_bug("P4", edits=(("""            self.voted_for = args.candidate_id
            self._persist()""", """            self.voted_for = args.candidate_id
            asyncio.get_running_loop().call_soon(self._persist)"""),)),
    same_bug("P4b", edits=(("""            self.entries.extend(entries[offset:])
            self._persist()""", """            self.entries.extend(entries[offset:])
            asyncio.get_running_loop().call_soon(self._persist)"""),)),
    # -------- 2D: snapshots
    Mutant(
        id="S1", part="2D",
        bug="my leader looks up prev_log_term as self.entries[prev - 1], forgetting the "
            "snapshot offset",
        source="Lab handout, 2D hints (index arithmetic after trimming the log)",
        expected=("test_snapshot_basic_2d", "test_snapshot_install_2d"),
        edits=(("self._term_at(first - 1), batch, self.commit_index)",
                "_term_of(self.entries[first - 2]) if first > 1 else 0, batch,\n"
                "                                     self.commit_index)"),)),
    Mutant(
        id="S1b", part="2D",
        bug="my leader slices the entries to send as self.entries[first - 1:], forgetting the "
            "snapshot offset",
        source="Lab handout, 2D hints (index arithmetic after trimming the log)",
        expected=("test_snapshot_basic_2d", "test_snapshot_install_2d"),
        edits=(("batch = self._slice(first, MAX_BATCH)",
                "batch = self.entries[first - 1:first - 1 + MAX_BATCH]"),)),
    Mutant(
        id="S2", part="2D",
        bug="when I compact my log I move base_index but forget base_term, the snapshot's "
            "last included term",
        source="Lab handout, 2D ('consider whether lastIncludedTerm should be persisted'); "
               "Figure 13",
        expected=("test_snapshot_install_2d", "test_snapshot_basic_2d",
                  "test_snapshot_install_crash_2d"),
        edits=(("self.base_index, self.base_term = index, term", "self.base_index = index"),)),
    Mutant(
        id="S2b", part="2D",
        bug="I persist the trimmed log but not base_index, the snapshot's last included index",
        source="Lab handout, 2D ('consider whether this should be persisted'); Figure 13",
        expected=("test_snapshot_all_crash_2d", "test_snapshot_init_2d"),
        edits=(("state = encode((self.current_term, self.voted_for, self.base_index, self.base_term,",
                "state = encode((self.current_term, self.voted_for, self.base_term,"),
               ("""        (self.current_term, self.voted_for, self.base_index, self.base_term,
         entries) = decode(data)""",
                """        (self.current_term, self.voted_for, self.base_term,
         entries) = decode(data)"""))),
    same_bug("S3", expected=("test_snapshot_keep_suffix_scenario_2d",),
             edits=((_INSTALL_COMPACT, """        self.entries = []  # the snapshot replaces the log
        self.base_index, self.base_term = index, term
        self.snapshot_data = args.data"""),)),
    same_bug("S6", edits=(("""        self.commit_index = max(self.commit_index, index)
""", ""),
               ("""            self.last_applied = snap.snapshot_index  # the entries it covers are skipped
""", ""))),
    same_bug("S7", edits=(("self.commit_index = self.last_applied = self.base_index",
                "self.commit_index = self.last_applied = 0"),)),
    Mutant(
        id="S8", part="2D",
        bug="_persist() still saves the Raft state with persister.save(state, None), as in 2C",
        source="Lab handout, 2D (save state and snapshot together); Students' Guide",
        expected=("test_snapshot_install_crash_2d", "test_snapshot_all_crash_2d",
                  "test_snapshot_init_2d"),
        edits=(("self.persister.save(state, self.snapshot_data)", "self.persister.save(state, None)"),)),
    same_bug("S8b", edits=(("""        self.snapshot_data = args.data
""", ""),)),
    same_bug("S9", edits=(("""        if first <= self.base_index:
            args = InstallSnapshotArgs(self.current_term, self.me, self.base_index,
                                       self.base_term, self.snapshot_data)
            method = "install_snapshot"
        else:
            batch""", """        if first <= self.base_index:
            first = self._send_next[peer] = self.base_index + 1  # can't go back any further
        if True:
            batch"""),)),
    same_bug("S10", edits=(("""            if isinstance(args, InstallSnapshotArgs):
                self._acknowledged(peer, args.last_included_index)
            elif""", """            if isinstance(args, InstallSnapshotArgs):
                pass
            elif"""),)),
    Mutant(
        id="S10b", part="2D",
        bug="after a successful InstallSnapshot my leader sets match_index to its own last "
            "log index",
        source="Figure 13; Students' Guide, 'Term confusion'",
        expected=("test_snapshot_install_unreliable_2d", "test_snapshot_install_2d",
                  "test_snapshot_install_crash_2d"),
        edits=(("""            if isinstance(args, InstallSnapshotArgs):
                self._acknowledged(peer, args.last_included_index)""",
                """            if isinstance(args, InstallSnapshotArgs):
                self._acknowledged(peer, self._last_index())"""),)),
    same_bug("S12", edits=(("""        self._compact(index, self._term_at(index))
        self.snapshot_data = snapshot""", """        self.snapshot_data = snapshot"""),)),
    same_bug("S14", edits=(("""        if index > self.last_applied:
            self._snapshot_to_deliver = ApplyMsg(snapshot_valid=True, snapshot=args.data,
                                                 snapshot_term=term, snapshot_index=index)
""", ""),)),
)

LEFT_OUT: tuple[Mutant, ...] = (
    Mutant(
        id="E1", part="2A",
        bug="I do not reset my election timer when I grant a vote",
        source="Students' Guide, 'Livelocks'; Figure 2, Rules for Servers, Followers 2",
        expected=("test_many_elections_2a", "test_re_election_2a", "test_figure8_unreliable_2c"),
        edits=(("""            self._persist()
            self._reset_election_timer()  # Followers 2: granting a vote resets the timer""",
                """            self._persist()"""),)),
    Mutant(
        id="E2", part="2A",
        bug="I reset my election timer on every RequestVote, also when I refuse the vote",
        source="Students' Guide, 'Livelocks' (an outdated server keeps the others from standing)",
        expected=("test_figure8_unreliable_2c", "test_backup_2b", "test_unreliable_churn_2c"),
        edits=(('''        """RequestVote RPC handler (Figure 2)."""
''', '''        """RequestVote RPC handler (Figure 2)."""
        self._reset_election_timer()
'''),)),
    Mutant(
        id="E13", part="2A",
        bug="my new leader keeps next_index and match_index from its earlier leadership "
            "instead of reinitialising them",
        source="Figure 2, volatile state on leaders (reinitialized after election)",
        expected=("test_rejoin_2b", "test_backup_2b", "test_figure8_2c", "test_figure8_unreliable_2c"),
        edits=(("""        self._ack_next = [self._last_index() + 1] * n
        self._send_next = [self._last_index() + 1] * n
        self._match = [0] * n
        self._last_sent""", """        self._last_sent"""),)),
    Mutant(
        id="E14", part="2A",
        bug="my request_vote awaits (a yield point) between checking voted_for and recording the vote",
        source="asyncio: an await is a yield point (check-then-act); Figure 2, RequestVote receiver 2",
        expected=("test_double_vote_scenario_2a", "test_many_elections_2a"),
        edits=(("""    def request_vote(self, args: RequestVoteArgs) -> RequestVoteReply:""",
                """    async def request_vote(self, args: RequestVoteArgs) -> RequestVoteReply:"""),
               ("""        if granted:
            self.voted_for = args.candidate_id""",
                """        if granted:
            await asyncio.sleep(0)
            self.voted_for = args.candidate_id"""))),
    Mutant(
        id="R14", part="2B",
        bug="my leader backs next_index up by one on every rejection, also one caused by a "
            "higher term or answering an earlier term's request",
        source="Students' Guide ('rejected, but not because of log inconsistency ... step down, "
               "and not update nextIndex')",
        expected=("test_stale_leader_scenario_2a", "test_rejoin_2b", "test_figure8_unreliable_2c"),
        edits=(("""            if reply.term > self.current_term:
                self._follow(reply.term)  # All Servers 2
                continue""",
                """            if isinstance(reply, AppendEntriesReply) and not reply.success:
                self._ack_next[peer] = self._send_next[peer] = self._ack_next[peer] - 1
            if reply.term > self.current_term:
                self._follow(reply.term)  # All Servers 2
                continue"""),)),
    Mutant(
        id="R16", part="2B",
        bug="when the follower's log is too short (no XTerm) my leader backs up to XIndex, not XLen",
        source="Lab handout, fast backup (XTerm / XIndex / XLen)",
        expected=("test_fast_backup_bound_2b", "test_backup_2b", "test_fail_agree_2b"),
        edits=(("guess = reply.x_len                        # case 3: follower's log too short",
                "guess = reply.x_index"),)),
    Mutant(
        id="R17", part="2B",
        bug="when my follower rejects an AppendEntries for a conflicting term it also truncates "
            "its log at XIndex",
        source="Students' Guide (truncate only on a real conflict, when appending)",
        expected=("test_figure8_unreliable_2c", "test_backup_2b", "test_figure8_scenario_2c"),
        edits=(("""            x_index = min(self._first_index_of_term(x_term), prev)
""", """            x_index = min(self._first_index_of_term(x_term), prev)
            del self.entries[x_index - self.base_index - 1:]
            self._persist()
"""),)),
    Mutant(
        id="S4", part="2D",
        bug="InstallSnapshot keeps the entries after the snapshot's index even when my entry "
            "there has another term or is missing",
        source="Figure 13, InstallSnapshot receivers 6-7; hashicorp/raft PR #704",
        expected=("test_snapshot_install_2d", "test_snapshot_install_unreliable_2d"),
        edits=((_INSTALL_COMPACT, """        del self.entries[:index - self.base_index]  # keep what follows
        self.base_index, self.base_term = index, term
        self.snapshot_data = args.data"""),)),
    Mutant(
        id="S5", part="2D",
        bug="I do not ignore an InstallSnapshot that is older than my own snapshot",
        source="Figure 13; hashicorp/raft #248 (snapshot index going backwards)",
        expected=("test_stale_snapshot_scenario_2d", "test_snapshot_install_unreliable_2d",
                  "test_snapshot_install_uncrash_2d"),
        edits=(("""        if index <= self.base_index:
            return InstallSnapshotReply(self.current_term)  # ours is as new: ignore it
""", ""),)),
    Mutant(
        id="S11", part="2D",
        bug="snapshot(index) does not ignore an index at or below my current snapshot's",
        source="Lab handout, 2D",
        expected=("test_snapshot_install_unreliable_2d", "test_snapshot_install_2d",
                  "test_stale_snapshot_scenario_2d"),
        edits=(("if self.dead or index <= self.base_index:\n            return  # not newer",
                "if self.dead:\n            return  # not newer"),)),
    Mutant(
        id="S15", part="2D",
        bug="my applier sends the committed entries as one batch and sets last_applied after it",
        source="Students' Guide, 'Applying client operations' (re-check state after waiting); "
               "apply_ch is unbuffered, as Go's applyCh",
        expected=("test_snapshot_during_apply_scenario_2d", "test_snapshot_install_2d"),
        edits=(("""            else:
                await self.apply_ch.put(msg)""",
                """            elif msg.snapshot_valid:
                await self.apply_ch.put(msg)
            else:
                start, end = msg.command_index, self.commit_index
                batch = [self._entry(i)[1] for i in range(start + 1, end + 1)]
                await self.apply_ch.put(msg)
                for k, command in enumerate(batch):
                    await self.apply_ch.put(ApplyMsg(command_valid=True, command=command,
                                                     command_index=start + 1 + k))
                self.last_applied = end"""),)),
)
