"""Raft (parts 2A-2E): the reference solution.

For instructors; hand it out after the deadline. It follows Figure 2 of the
extended Raft paper (https://raft.github.io/raft.pdf) rule by rule, each rule
cited where it is applied, plus the lab's fast log backup (XTerm / XIndex /
XLen), Figure 13's InstallSnapshot, and part 2E's two mechanisms for one-way
network failures, each behind its own switch:

  * ``PRE_VOTE`` (Ongaro's thesis §9.6): a server whose election timer fires
    first asks the others whether they *would* vote for it in the next term.
    A pre-vote changes nothing on either side (no term, no ``voted_for``, no
    timer), and a server that has heard from a leader within the minimum
    election timeout refuses it. Only a server that can win raises its term.
  * ``CHECK_QUORUM`` (etcd's ``Config.CheckQuorum``): a leader that has not
    had a reply from a majority within the maximum election timeout steps
    down. Its lease is counted from replies, not from what it sends.

With both off this is plain Figure 2 Raft, which passes 2A-2D and fails 2E.

Shape of the code:
  * state is grouped under the paper's headings (``__init__``);
  * ``become_follower`` / ``become_pre_candidate`` / ``become_candidate`` /
    ``become_leader`` are the only
    places that change the role;
  * RPC handlers (``request_vote``, ``append_entries``, ``install_snapshot``)
    are plain methods: they never await, so each one is atomic;
  * every RPC is sent from its own task, so the leader never waits on one
    peer before contacting the others (labrpc may take 7 s to give up);
  * three kinds of background tasks: the election ticker, one replicator per
    peer while leading, and the applier, the only writer to ``apply_ch``.

Asyncio runs one callback at a time, so state needs no lock; it can only
change across an ``await``. Every continuation after an ``await`` re-checks
that the term and role are still the ones the request was made in
(Students' Guide, "Term confusion").

A log entry is a ``(term, command)`` tuple. ``self.log[0]`` is a sentinel for
the last entry covered by the snapshot (index ``log_start``, term
``last_included_term``), so ``self.log[i - log_start]`` is entry ``i``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, Final

from harness import ApplyMsg, ClientEnd, Persister, decode, encode

log = logging.getLogger("raft")

FOLLOWER: Final = "follower"
PRE_CANDIDATE: Final = "pre-candidate"  # part 2E: asking for pre-votes
CANDIDATE: Final = "candidate"
LEADER: Final = "leader"

PRE_VOTE = True
"""Part 2E: run a pre-vote before every election (thesis §9.6)."""

CHECK_QUORUM = True
"""Part 2E: a leader without replies from a majority for ELECTION_TIMEOUT[1] steps down."""

HEARTBEAT_INTERVAL: Final = 0.1
"""Seconds between AppendEntries to an idle peer: the tester allows 10 per second."""

ELECTION_TIMEOUT: Final = (0.3, 0.6)
"""Randomised election timeout range, seconds (§5.2). Three missed heartbeats at
least; short enough that a new leader is elected well within the tester's 5 s."""

Entry = tuple[int, Any]
"""A log entry: (term, command)."""


# --------------------------------------------------------------------- RPCs


@dataclass
class RequestVoteArgs:
    term: int            # candidate's term
    candidate_id: int    # candidate requesting vote
    last_log_index: int  # index of candidate's last log entry (§5.4)
    last_log_term: int   # term of candidate's last log entry (§5.4)
    pre_vote: bool = False  # part 2E: "would you vote for me in `term`?" (thesis §9.6)


@dataclass
class RequestVoteReply:
    term: int            # current_term, for candidate to update itself
    vote_granted: bool   # true means candidate received vote


@dataclass
class AppendEntriesArgs:
    term: int            # leader's term
    leader_id: int       # so follower can redirect clients
    prev_log_index: int  # index of log entry immediately preceding new ones
    prev_log_term: int   # term of prev_log_index entry
    entries: list[Entry]  # log entries to store (empty for heartbeat)
    leader_commit: int   # leader's commit_index


@dataclass
class AppendEntriesReply:
    term: int            # current_term, for leader to update itself
    success: bool        # true if follower contained entry matching prev_log_index/term
    # Fast backup (lab handout, "accelerated log backtracking"):
    x_term: int = -1     # term of the conflicting entry at prev_log_index, -1 if none
    x_index: int = -1    # first index the follower holds for x_term
    x_len: int = 0       # the follower's log length (last index + 1)


@dataclass
class InstallSnapshotArgs:
    term: int                 # leader's term
    leader_id: int            # so follower can redirect clients
    last_included_index: int  # the snapshot replaces all entries up through this index
    last_included_term: int   # term of last_included_index
    data: bytes               # the service's snapshot


@dataclass
class InstallSnapshotReply:
    term: int                 # current_term, for leader to update itself


# --------------------------------------------------------------------- Raft


class Raft:
    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        self.peers = peers
        self.me = me
        self.persister = persister
        self.apply_ch = apply_ch
        self.dead = False

        # Persistent state on all servers (Figure 2), updated on stable
        # storage before responding to RPCs.
        self.current_term = 0         # latest term server has seen
        self.voted_for: int | None = None  # candidate that received vote in current term
        self.log: list[Entry] = [(0, None)]  # log[0]: the snapshot's last entry (sentinel)
        # Snapshot metadata (Figure 13), persisted with the state above.
        self.log_start = 0            # index of log[0] = last_included_index
        self.snapshot_data = b""      # the service's snapshot covering 1..log_start

        # Volatile state on all servers.
        self.commit_index = 0         # highest log entry known to be committed
        self.last_applied = 0         # highest log entry applied to the state machine

        # Volatile state on leaders (reinitialized after election).
        self.next_index: list[int] = []   # for each server, next log entry to send
        self.match_index: list[int] = []  # for each server, highest entry known replicated

        # Implementation state.
        self.role = FOLLOWER
        self.votes: set[int] = set()      # who granted us a vote this term (candidate)
        # Part 2E.
        self.pre_votes: set[int] = set()  # who would vote for us (pre-candidate)
        self.pre_vote_args: RequestVoteArgs | None = None  # this pre-vote round's request
        self.heard_from_leader = -1.0     # when a current leader last reached us (PreVote)
        self.last_reply: list[float] = [0.0] * len(peers)  # per peer, while leading (CheckQuorum)
        self.election_deadline = 0.0      # when the election timer fires
        self.pending_snapshot: ApplyMsg | None = None  # installed, not yet applied
        self.apply_wakeup = asyncio.Event()
        self.replicate_wakeup = [asyncio.Event() for _ in peers]
        self.in_flight = [0] * len(peers)  # RPCs to each peer awaiting their reply

        self.read_persist(persister.read_raft_state())
        self.snapshot_data = persister.read_snapshot()
        # The service has already loaded the snapshot: start applying after it.
        self.commit_index = self.last_applied = self.log_start

        self.reset_election_timer()
        asyncio.create_task(self.ticker())
        asyncio.create_task(self.applier())

    # ------------------------------------------------------------ tester API

    def get_state(self) -> tuple[int, bool]:
        return self.current_term, self.role == LEADER

    def start(self, command: Any) -> tuple[int, int, bool]:
        """Append a command if leader; replication happens in the background."""
        if self.dead or self.role != LEADER:
            return -1, -1, False
        # Figure 2, Rules for Servers, Leaders 2: append entry to local log.
        self.log.append((self.current_term, command))
        self.persist()
        index = self.last_log_index()
        self.match_index[self.me] = index
        for peer in self.other_peers():
            self.wake_replicator(peer)
        return index, self.current_term, True

    def snapshot(self, index: int, snapshot: bytes) -> None:
        """The service has a snapshot through ``index``: trim the log (2D)."""
        if self.dead or index <= self.log_start:
            return  # an old snapshot: we already have a newer one
        assert index <= self.last_applied, "the service snapshots only applied entries"
        self.log = [(self.term_at(index), None), *self.log[index - self.log_start + 1:]]
        self.log_start = index
        self.snapshot_data = snapshot
        self.persist()

    def kill(self) -> None:
        self.dead = True

    def debug_state(self) -> dict[str, Any]:
        """Optional (HANDOUT §3.9): what raftlab's timeline draws, and what its
        log-matching and leader-completeness monitors check."""
        return {"role": self.role, "term": self.current_term, "voted_for": self.voted_for,
                "commit_index": self.commit_index, "last_applied": self.last_applied,
                "snapshot_index": self.log_start,
                "log_terms": [term for term, _ in self.log[1:]]}

    # ------------------------------------------------------------------- log

    def last_log_index(self) -> int:
        return self.log_start + len(self.log) - 1

    def last_log_term(self) -> int:
        return self.log[-1][0]

    def term_at(self, index: int) -> int:
        assert self.log_start <= index <= self.last_log_index(), (index, self.log_start)
        return self.log[index - self.log_start][0]

    def other_peers(self) -> list[int]:
        return [p for p in range(len(self.peers)) if p != self.me]

    # ----------------------------------------------------------- persistence

    def persist(self) -> None:
        """Save Figure 2's persistent state and the snapshot, atomically (2C, 2D)."""
        state = encode((self.current_term, self.voted_for, self.log_start, self.log))
        self.persister.save(state, self.snapshot_data)

    def read_persist(self, data: bytes) -> None:
        if not data:
            return  # bootstrap without any state
        self.current_term, self.voted_for, self.log_start, self.log = decode(data)

    # ---------------------------------------------------------- transitions

    def reset_election_timer(self) -> None:
        timeout = random.uniform(*ELECTION_TIMEOUT)
        self.election_deadline = asyncio.get_running_loop().time() + timeout

    def become_follower(self, term: int) -> None:
        """Figure 2, All Servers 2: a higher term means we are out of date."""
        if term > self.current_term:
            self.current_term = term
            self.voted_for = None  # a new term: no vote cast in it yet
            self.persist()
        if self.role == LEADER:
            log.info("S%d steps down in term %d", self.me, self.current_term)
            self.reset_election_timer()  # a leader's timer was not running
        self.role = FOLLOWER

    def become_pre_candidate(self) -> None:
        """Part 2E, PreVote (thesis §9.6): before an election, ask whether we
        could win it. Neither current_term nor voted_for changes, here or at
        the servers we ask, so a server that cannot win disturbs no one."""
        self.role = PRE_CANDIDATE
        self.pre_votes = {self.me}
        self.reset_election_timer()   # no majority by then: ask again
        args = RequestVoteArgs(self.current_term + 1, self.me, self.last_log_index(),
                               self.last_log_term(), pre_vote=True)
        self.pre_vote_args = args
        log.debug("S%d asks for pre-votes for term %d", self.me, args.term)
        for peer in self.other_peers():
            asyncio.create_task(self.send_pre_vote(peer, args))
        self.maybe_win_pre_vote()     # a one-server cluster wins at once

    def become_candidate(self) -> None:
        """Figure 2, Candidates: start an election (§5.2)."""
        self.role = CANDIDATE
        self.current_term += 1        # increment current_term
        self.voted_for = self.me      # vote for self
        self.votes = {self.me}
        self.persist()
        self.reset_election_timer()   # reset election timer
        log.debug("S%d becomes candidate in term %d", self.me, self.current_term)
        args = RequestVoteArgs(self.current_term, self.me, self.last_log_index(),
                               self.last_log_term())
        for peer in self.other_peers():  # send RequestVote RPCs to all other servers
            asyncio.create_task(self.send_request_vote(peer, args))
        self.maybe_win_election()     # a one-server cluster wins at once

    def become_leader(self) -> None:
        """Figure 2, Leaders: reinitialize next_index and match_index."""
        assert self.role == CANDIDATE
        self.role = LEADER
        log.info("S%d becomes leader in term %d", self.me, self.current_term)
        self.next_index = [self.last_log_index() + 1] * len(self.peers)
        self.match_index = [0] * len(self.peers)
        self.match_index[self.me] = self.last_log_index()
        # CheckQuorum: the votes we just won count as replies.
        self.last_reply = [asyncio.get_running_loop().time()] * len(self.peers)
        for peer in self.other_peers():
            # Upon election: send initial empty AppendEntries (heartbeat).
            asyncio.create_task(self.replicator(peer, self.current_term))

    # ------------------------------------------------------------- elections

    async def ticker(self) -> None:
        """Figure 2, Followers 2: if the election timeout elapses without
        hearing from the leader or granting a vote, become a candidate."""
        loop = asyncio.get_running_loop()
        while not self.dead:
            wait = self.election_deadline - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # the deadline may move while we sleep
            elif self.role == LEADER:
                self.reset_election_timer()  # leaders do not time out ...
                if CHECK_QUORUM and not self.heard_from_quorum():
                    # ... but under CheckQuorum (part 2E) a leader that a
                    # majority no longer answers steps down: it may be
                    # heard, but it cannot commit anything.
                    log.info("S%d: no reply from a majority, steps down", self.me)
                    self.become_follower(self.current_term)
            elif PRE_VOTE:
                self.become_pre_candidate()
            else:
                self.become_candidate()

    def heard_from_quorum(self) -> bool:
        """CheckQuorum: did a majority (us included) reply within ELECTION_TIMEOUT[1]?"""
        since = asyncio.get_running_loop().time() - ELECTION_TIMEOUT[1]
        heard = sum(1 for p in self.other_peers() if self.last_reply[p] >= since)
        return 2 * (heard + 1) > len(self.peers)

    def heard_from_leader_recently(self) -> bool:
        """PreVote: a leader reached us within the minimum election timeout."""
        if self.role == LEADER:
            return True
        now = asyncio.get_running_loop().time()
        return now - self.heard_from_leader < ELECTION_TIMEOUT[0]

    def request_vote(self, args: RequestVoteArgs) -> RequestVoteReply:
        """RequestVote RPC handler (Figure 2)."""
        if args.pre_vote:
            return self.pre_vote(args)
        if args.term > self.current_term:
            self.become_follower(args.term)  # All Servers 2 (before anything else)
        granted = False
        # Receiver 1: reply false if term < current_term.
        # Receiver 2: if voted_for is null or candidate_id, and the candidate's
        # log is at least as up-to-date as the receiver's log, grant vote.
        if (args.term == self.current_term
                and self.voted_for in (None, args.candidate_id)
                and self.candidate_up_to_date(args)):
            self.voted_for = args.candidate_id
            self.persist()
            self.reset_election_timer()  # Followers 2: granting a vote resets the timer
            granted = True
        return RequestVoteReply(self.current_term, granted)

    def pre_vote(self, args: RequestVoteArgs) -> RequestVoteReply:
        """Part 2E, PreVote (thesis §9.6): would we grant this vote in args.term?

        The same test as receiver rule 2, asked of the term the candidate
        would have, plus one more: refuse while a leader is reaching us, so a
        server that cannot hear the leader cannot replace it. Nothing changes
        here: not current_term, not voted_for, not the election timer."""
        would_vote = (args.term > self.current_term
                      or (args.term == self.current_term
                          and self.voted_for in (None, args.candidate_id)))
        granted = (would_vote and self.candidate_up_to_date(args)
                   and not self.heard_from_leader_recently())
        return RequestVoteReply(self.current_term, granted)

    async def send_pre_vote(self, peer: int, args: RequestVoteArgs) -> None:
        reply: RequestVoteReply | None = await self.peers[peer].call("request_vote", args)
        if reply is None or self.dead:
            return
        if not reply.vote_granted:
            if reply.term > self.current_term:
                self.become_follower(reply.term)  # All Servers 2
            return
        # A grant may come from a server already in args.term (it has not voted
        # in it): its term is the one we are about to take, not a reason to
        # step down (etcd does the same).
        if self.role != PRE_CANDIDATE or self.pre_vote_args is not args:
            return  # a reply from a pre-vote round we are no longer running
        self.pre_votes.add(peer)
        self.maybe_win_pre_vote()

    def maybe_win_pre_vote(self) -> None:
        """A majority would vote for us: now start the real election."""
        if self.role == PRE_CANDIDATE and 2 * len(self.pre_votes) > len(self.peers):
            self.become_candidate()

    def candidate_up_to_date(self, args: RequestVoteArgs) -> bool:
        """§5.4.1: the later last term wins; with equal last terms, the longer log."""
        if args.last_log_term != self.last_log_term():
            return args.last_log_term > self.last_log_term()
        return args.last_log_index >= self.last_log_index()

    async def send_request_vote(self, peer: int, args: RequestVoteArgs) -> None:
        reply: RequestVoteReply | None = await self.peers[peer].call("request_vote", args)
        if reply is None or self.dead:
            return
        if reply.term > self.current_term:
            self.become_follower(reply.term)
            return
        if self.role != CANDIDATE or self.current_term != args.term:
            return  # a reply from an election we are no longer running
        if reply.vote_granted:
            self.votes.add(peer)  # a set: a duplicated reply counts once
            self.maybe_win_election()

    def maybe_win_election(self) -> None:
        """Candidates: votes from a majority of servers -> become leader (§5.2)."""
        if self.role == CANDIDATE and 2 * len(self.votes) > len(self.peers):
            self.become_leader()

    # ----------------------------------------------------------- replication

    def wake_replicator(self, peer: int) -> None:
        """Ask a peer's replicator to send now, unless an RPC to that peer is
        still out: its reply will wake the replicator, and what was added in
        between goes in one batch. (Heartbeats keep their schedule anyway.)"""
        if self.in_flight[peer] == 0:
            self.replicate_wakeup[peer].set()

    async def replicator(self, peer: int, term: int) -> None:
        """Leaders 1 and 3: keep one follower up to date while we lead in ``term``.

        Sends at once when woken (new entries, a rejection to retry, a lagging
        follower), and a heartbeat after HEARTBEAT_INTERVAL of quiet otherwise.
        Every RPC carries the entries the follower is not known to have.
        """
        wakeup = self.replicate_wakeup[peer]
        while not self.dead and self.role == LEADER and self.current_term == term:
            wakeup.clear()
            # Build the RPC now, while we know we lead in `term`; only the
            # wait for the reply happens in its own task.
            if self.next_index[peer] <= self.log_start:
                asyncio.create_task(self.send_install_snapshot(peer, InstallSnapshotArgs(
                    term, self.me, self.log_start, self.log[0][0], self.snapshot_data)))
            else:
                prev = self.next_index[peer] - 1
                asyncio.create_task(self.send_append_entries(peer, AppendEntriesArgs(
                    term=term, leader_id=self.me, prev_log_index=prev,
                    prev_log_term=self.term_at(prev),
                    entries=self.log[prev + 1 - self.log_start:],
                    leader_commit=self.commit_index)))
            try:
                async with asyncio.timeout(HEARTBEAT_INTERVAL):
                    await wakeup.wait()
            except TimeoutError:
                pass

    async def send_append_entries(self, peer: int, args: AppendEntriesArgs) -> None:
        self.in_flight[peer] += 1
        try:
            reply: AppendEntriesReply | None = await self.peers[peer].call("append_entries",
                                                                           args)
        finally:
            self.in_flight[peer] -= 1
        if reply is None or self.dead:
            return
        if reply.term > self.current_term:
            self.become_follower(reply.term)
            return
        if self.role != LEADER or self.current_term != args.term:
            return  # stale reply (Students' Guide, "Term confusion")
        self.last_reply[peer] = asyncio.get_running_loop().time()  # CheckQuorum
        if reply.success:
            # Leaders 3: update next_index and match_index for the follower.
            # From what we sent, not from our log now: entries appended since
            # are not known to be replicated. max(): replies can arrive out of order.
            matched = args.prev_log_index + len(args.entries)
            self.match_index[peer] = max(self.match_index[peer], matched)
            self.next_index[peer] = max(self.next_index[peer], matched + 1)
            self.maybe_advance_commit_index()
        else:
            # Leaders 3: after a rejection because of log inconsistency,
            # decrement next_index and retry - fast, by whole terms.
            self.next_index[peer] = max(self.backed_up_next_index(reply),
                                        self.match_index[peer] + 1)
        if self.next_index[peer] <= self.last_log_index():
            self.wake_replicator(peer)  # more to send, or a retry

    def backed_up_next_index(self, reply: AppendEntriesReply) -> int:
        """The three cases of the lab handout's accelerated log backtracking."""
        if reply.x_term == -1:
            return reply.x_len  # case 3: the follower's log is too short
        for i in range(self.last_log_index(), self.log_start - 1, -1):
            t = self.term_at(i)
            if t == reply.x_term:
                return i + 1  # case 2: leader has x_term: after its last entry of it
            if t < reply.x_term:
                break
        return reply.x_index  # case 1: leader doesn't have x_term

    def maybe_advance_commit_index(self) -> None:
        """Leaders 4: if there exists an N > commit_index such that a majority
        of match_index[i] >= N, and log[N].term == current_term: commit N."""
        for n in range(self.last_log_index(), self.commit_index, -1):
            if self.term_at(n) != self.current_term:
                break  # §5.4.2: never commit an older term's entry by counting replicas
            if 2 * sum(1 for m in self.match_index if m >= n) > len(self.peers):
                self.commit_index = n
                self.apply_wakeup.set()
                for peer in self.other_peers():
                    self.wake_replicator(peer)  # tell followers soon
                break

    def append_entries(self, args: AppendEntriesArgs) -> AppendEntriesReply:
        """AppendEntries RPC handler (Figure 2)."""
        # Receiver 1: reply false if term < current_term (§5.1). A stale leader
        # must not reset our election timer (Students' Guide, "Livelocks").
        if args.term < self.current_term:
            return AppendEntriesReply(self.current_term, False)
        assert not (self.role == LEADER and args.term == self.current_term), \
            "election safety (§5.2): two leaders in one term"
        self.become_follower(args.term)  # All Servers 2; Candidates 3 (§5.2)
        self.reset_election_timer()      # heard from the current leader
        self.heard_from_leader = asyncio.get_running_loop().time()  # PreVote

        prev, entries = args.prev_log_index, args.entries
        if prev < self.log_start:
            # The prefix through log_start is in our snapshot, hence committed,
            # hence the same as the leader's: skip the entries it covers.
            entries = entries[self.log_start - prev:]
            prev = self.log_start
        elif prev > self.last_log_index():
            # Receiver 2, fast backup case 3: no entry at prev_log_index at all.
            return AppendEntriesReply(self.current_term, False, x_len=self.last_log_index() + 1)
        elif self.term_at(prev) != args.prev_log_term:
            # Receiver 2, fast backup cases 1-2: the entry there has another term.
            x_term = self.term_at(prev)
            x_index = prev
            while x_index - 1 > self.log_start and self.term_at(x_index - 1) == x_term:
                x_index -= 1
            return AppendEntriesReply(self.current_term, False, x_term, x_index,
                                      self.last_log_index() + 1)

        # Receivers 3 and 4: delete a conflicting suffix, append new entries.
        # Never truncate on a match: this RPC may be an old, shorter one.
        changed = False
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
            self.persist()

        # Receiver 5: if leader_commit > commit_index, set commit_index =
        # min(leader_commit, index of last new entry).
        last_new = prev + len(entries)
        if args.leader_commit > self.commit_index:
            self.commit_index = max(self.commit_index, min(args.leader_commit, last_new))
            self.apply_wakeup.set()
        assert self.last_applied <= self.commit_index <= self.last_log_index()
        return AppendEntriesReply(self.current_term, True)

    # ------------------------------------------------------------- snapshots

    async def send_install_snapshot(self, peer: int, args: InstallSnapshotArgs) -> None:
        """Figure 13: the follower needs entries we have discarded."""
        self.in_flight[peer] += 1
        try:
            reply: InstallSnapshotReply | None = await self.peers[peer].call(
                "install_snapshot", args)
        finally:
            self.in_flight[peer] -= 1
        if reply is None or self.dead:
            return
        if reply.term > self.current_term:
            self.become_follower(reply.term)
            return
        if self.role != LEADER or self.current_term != args.term:
            return
        self.last_reply[peer] = asyncio.get_running_loop().time()  # CheckQuorum
        self.match_index[peer] = max(self.match_index[peer], args.last_included_index)
        self.next_index[peer] = max(self.next_index[peer], args.last_included_index + 1)
        if self.next_index[peer] <= self.last_log_index():
            self.wake_replicator(peer)

    def install_snapshot(self, args: InstallSnapshotArgs) -> InstallSnapshotReply:
        """InstallSnapshot RPC handler (Figure 13)."""
        if args.term < self.current_term:  # Receiver 1
            return InstallSnapshotReply(self.current_term)
        self.become_follower(args.term)
        self.reset_election_timer()
        self.heard_from_leader = asyncio.get_running_loop().time()  # PreVote
        index, term = args.last_included_index, args.last_included_term
        if index <= self.commit_index:
            return InstallSnapshotReply(self.current_term)  # nothing new: an old or duplicate RPC
        if index <= self.last_log_index() and self.term_at(index) == term:
            # Receiver 6: an entry matches the snapshot's last one: keep what follows.
            self.log = [(term, None), *self.log[index - self.log_start + 1:]]
        else:
            self.log = [(term, None)]  # Receiver 7: discard the entire log
        self.log_start = index
        self.snapshot_data = args.data
        self.persist()
        # Receiver 8: reset the state machine using the snapshot contents.
        self.commit_index = index
        self.last_applied = index
        self.pending_snapshot = ApplyMsg(snapshot_valid=True, snapshot=args.data,
                                         snapshot_term=term, snapshot_index=index)
        self.apply_wakeup.set()
        return InstallSnapshotReply(self.current_term)

    # --------------------------------------------------------------- applier

    async def applier(self) -> None:
        """All Servers 1: if commit_index > last_applied, apply log[last_applied + 1].

        The only task that writes to apply_ch, so entries go out once and in
        order; an installed snapshot goes out before the entries after it.
        """
        while not self.dead:
            if self.pending_snapshot is not None:
                msg, self.pending_snapshot = self.pending_snapshot, None
                await self.apply_ch.put(msg)
            elif self.last_applied < self.commit_index:
                self.last_applied += 1
                index = self.last_applied
                command = self.log[index - self.log_start][1]
                await self.apply_ch.put(ApplyMsg(command_valid=True, command=command,
                                                 command_index=index))
            else:
                self.apply_wakeup.clear()
                await self.apply_wakeup.wait()
