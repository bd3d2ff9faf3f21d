"""Raft (parts 2A-2D): a second, independent reference solution, for tests only.

raftlab's own tests and the mutant zoo run it next to ``reference/raft/raft.py``
(it is never shipped: it lives under tests/). It implements the same rules -
Figure 2 of the extended Raft paper (https://raft.github.io/raft.pdf), the
lab's fast log backup (XTerm / XIndex / XLen) and Figure 13's InstallSnapshot,
each cited where it is applied - but with a deliberately different internal
structure, so that a bug planted in one is not automatically equivalent in the
other. It has no PreVote and no CheckQuorum: it passes 2A-2D and fails 2E.

How it differs from reference/raft/raft.py:

  * **An offset ledger, no sentinel.** The log is ``self.entries``, the entries
    *after* the snapshot (``entries[0]`` is index ``base_index + 1``), plus
    ``base_index`` / ``base_term``, the last entry the snapshot covers. All
    index arithmetic goes through a few helpers (``_last_index``,
    ``_term_at``, ``_entry``, ``_slice``). Since terms never decrease along a
    log, the fast-backup searches are bisections over the ledger.
  * **Long-lived replicators woken by events.** One replicator task per peer
    is created once, in ``__init__``, and lives as long as the server. It
    sleeps on its ``asyncio.Event`` and acts only while this server leads.
    RPC tasks never touch the leader's bookkeeping: they drop their (args,
    reply) into the peer's inbox and wake the replicator, which absorbs the
    replies itself.
  * **Pipelining with go-back retransmission.** ``send_next`` advances
    optimistically as soon as a batch (at most ``MAX_BATCH`` entries) is sent,
    up to ``WINDOW`` RPCs in flight; ``ack_next`` moves only on replies, and
    every heartbeat goes back to it, resending what was not acknowledged. So
    match_index must come from each request's own arguments, and a batch cap
    means leader_commit can exceed the last entry an RPC carries.
  * **Votes counted inside one task per candidacy.** The ticker only notices
    a silent leader and starts a candidacy task; that task runs the election
    (and the next ones after a split vote) itself: it sends the RequestVotes,
    gathers the replies with ``asyncio.wait`` and counts them locally. There
    is no shared vote set and no reply handler that can win an election.
  * **Commit by order statistic.** The leader commits the median of the
    match indices (the highest index a majority holds) when it is of the
    current term, rather than scanning down from the last index.
  * **Snapshots delivered by the applier, lazily.** An InstallSnapshot is
    accepted whenever it is newer than ``base_index`` (not only when newer than
    commit_index); the applier delivers it only if it is ahead of
    ``last_applied``, and moves ``last_applied`` when it does.

Asyncio runs one callback at a time, so no locks: state changes only across an
``await``, and everything after an ``await`` re-checks the term and role it
was started in (Students' Guide, "Term confusion").
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Any, Final

from harness import ApplyMsg, ClientEnd, Persister, decode, encode

log = logging.getLogger("raft")

FOLLOWER: Final = "follower"
CANDIDATE: Final = "candidate"
LEADER: Final = "leader"

HEARTBEAT_INTERVAL: Final = 0.1
"""Seconds of silence after which a leader sends a peer a heartbeat (tester: <= 10/s)."""

ELECTION_TIMEOUT: Final = (0.3, 0.65)
"""Randomised election timeout, seconds (§5.2)."""

MAX_BATCH: Final = 64
"""At most this many entries in one AppendEntries."""

WINDOW: Final = 3
"""New entries go out at once while fewer RPCs than this are in flight to the peer;
beyond that they wait for a reply or the next heartbeat."""

Entry = tuple[int, Any]
"""A log entry: (term, command)."""


def _term_of(entry: Entry) -> int:
    return int(entry[0])


# --------------------------------------------------------------------- RPCs


@dataclass
class RequestVoteArgs:
    term: int            # candidate's term
    candidate_id: int    # candidate requesting vote
    last_log_index: int  # index of candidate's last log entry (§5.4)
    last_log_term: int   # term of candidate's last log entry (§5.4)


@dataclass
class RequestVoteReply:
    term: int            # current_term, for candidate to update itself
    vote_granted: bool   # true means candidate received vote


@dataclass
class AppendEntriesArgs:
    term: int             # leader's term
    leader_id: int        # so follower can redirect clients
    prev_log_index: int   # index of log entry immediately preceding new ones
    prev_log_term: int    # term of prev_log_index entry
    entries: list[Entry]  # log entries to store (empty for heartbeat)
    leader_commit: int    # leader's commit_index


@dataclass
class AppendEntriesReply:
    term: int             # current_term, for leader to update itself
    success: bool         # true if follower contained entry matching prev_log_index/term
    x_term: int = -1      # fast backup: term of the conflicting entry, -1 if none there
    x_index: int = -1     # fast backup: first index the follower holds with x_term
    x_len: int = 0        # fast backup: the follower's last index + 1


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


Outgoing = AppendEntriesArgs | InstallSnapshotArgs
Incoming = AppendEntriesReply | InstallSnapshotReply


# --------------------------------------------------------------------- Raft


class Raft:
    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        self.peers = peers
        self.me = me
        self.persister = persister
        self.apply_ch = apply_ch
        self.dead = False
        n = len(peers)

        # Persistent state (Figure 2), saved before answering any RPC.
        self.current_term = 0
        self.voted_for: int | None = None
        # The ledger: entries after the snapshot, and the snapshot's last entry (Figure 13).
        self.base_index = 0
        self.base_term = 0
        self.entries: list[Entry] = []
        self.snapshot_data = b""

        # Volatile state on all servers (Figure 2).
        self.commit_index = 0
        self.last_applied = 0

        # Volatile state on leaders, per peer (Figure 2's nextIndex, split in two,
        # and matchIndex).
        self._ack_next = [1] * n    # next index to send, as the replies tell us
        self._send_next = [1] * n   # next index to send, counting batches in flight
        self._match = [0] * n       # highest index known replicated on the peer
        self._last_sent = [0.0] * n  # when we last sent the peer anything
        self._in_flight = [0] * n   # RPCs to the peer awaiting their outcome
        self._inbox: list[list[tuple[Outgoing, Incoming | None]]] = [[] for _ in range(n)]
        self._wake = [asyncio.Event() for _ in range(n)]

        self.role = FOLLOWER
        self._candidacy_no = 0        # which candidacy task is the live one
        self._quiet_since = 0.0       # election timer: last reset ...
        self._patience = 0.0          # ... and the timeout drawn then
        self._snapshot_to_deliver: ApplyMsg | None = None
        self._apply_wakeup = asyncio.Event()

        self._restore(persister.read_raft_state())
        self.snapshot_data = persister.read_snapshot()
        # The service has loaded the snapshot already: apply from just after it.
        self.commit_index = self.last_applied = self.base_index

        self._reset_election_timer()
        asyncio.create_task(self._election_clock())
        asyncio.create_task(self._applier())
        for peer in self._others():
            asyncio.create_task(self._replicator(peer))  # one per peer, for life

    # ------------------------------------------------------------ tester API

    def get_state(self) -> tuple[int, bool]:
        return self.current_term, self.role == LEADER

    def start(self, command: Any) -> tuple[int, int, bool]:
        if self.dead or self.role != LEADER:
            return -1, -1, False
        # Rules for Leaders 2: append the command to the local log ...
        self.entries.append((self.current_term, command))
        self._persist()
        # ... and let the replicators carry it (Leaders 3).
        for peer in self._others():
            self._wake[peer].set()
        self._advance_commit()  # a one-server cluster commits on its own
        return self._last_index(), self.current_term, True

    def snapshot(self, index: int, snapshot: bytes) -> None:
        """The service's snapshot covers 1..index: drop that prefix of the ledger (2D)."""
        if self.dead or index <= self.base_index:
            return  # not newer than the one we hold
        assert index <= self.last_applied, "the service snapshots only what it applied"
        self._compact(index, self._term_at(index))
        self.snapshot_data = snapshot
        self._persist()

    def kill(self) -> None:
        self.dead = True

    def debug_state(self) -> dict[str, Any]:
        """Optional (HANDOUT §3.9): the timeline's and the extra monitors' view."""
        return {"role": self.role, "term": self.current_term, "voted_for": self.voted_for,
                "commit_index": self.commit_index, "last_applied": self.last_applied,
                "snapshot_index": self.base_index,
                "log_terms": [term for term, _ in self.entries]}

    # ---------------------------------------------------------------- ledger

    def _last_index(self) -> int:
        return self.base_index + len(self.entries)

    def _last_term(self) -> int:
        return _term_of(self.entries[-1]) if self.entries else self.base_term

    def _term_at(self, index: int) -> int:
        """The term of entry ``index``, which the ledger must still know."""
        assert self.base_index <= index <= self._last_index(), (index, self.base_index)
        if index == self.base_index:
            return self.base_term
        return _term_of(self.entries[index - self.base_index - 1])

    def _entry(self, index: int) -> Entry:
        assert self.base_index < index <= self._last_index(), (index, self.base_index)
        return self.entries[index - self.base_index - 1]

    def _slice(self, first: int, limit: int) -> list[Entry]:
        """At most ``limit`` entries starting at index ``first``."""
        offset = first - self.base_index - 1
        assert offset >= 0, (first, self.base_index)
        return self.entries[offset:offset + limit]

    def _truncate_from(self, index: int) -> None:
        """Drop entry ``index`` and everything after it."""
        assert index > self.commit_index, "a committed entry must never be overwritten"
        del self.entries[index - self.base_index - 1:]

    def _compact(self, index: int, term: int) -> None:
        """Make ``index`` (of ``term``) the snapshot's last entry, keeping what follows
        if the ledger holds that entry, and discarding the whole ledger otherwise."""
        if index <= self._last_index() and self._term_at(index) == term:
            del self.entries[:index - self.base_index]
        else:
            self.entries = []
        self.base_index, self.base_term = index, term

    def _first_index_of_term(self, term: int) -> int:
        """The first index after base_index whose entry has ``term`` or a later one."""
        return self.base_index + 1 + bisect.bisect_left(self.entries, term, key=_term_of)

    def _last_index_of_term(self, term: int) -> int | None:
        """The last index the ledger knows to hold ``term``, or None."""
        past = bisect.bisect_right(self.entries, term, key=_term_of)
        if past > 0 and _term_of(self.entries[past - 1]) == term:
            return self.base_index + past
        if past == 0 and self.base_term == term:
            return self.base_index
        return None

    def _others(self) -> list[int]:
        return [peer for peer in range(len(self.peers)) if peer != self.me]

    # ----------------------------------------------------------- persistence

    def _persist(self) -> None:
        """Figure 2's persistent state and the snapshot, in one atomic save (2C, 2D)."""
        state = encode((self.current_term, self.voted_for, self.base_index, self.base_term,
                        self.entries))
        self.persister.save(state, self.snapshot_data)

    def _restore(self, data: bytes) -> None:
        if not data:
            return  # a first boot
        (self.current_term, self.voted_for, self.base_index, self.base_term,
         entries) = decode(data)
        self.entries = list(entries)

    # ------------------------------------------------------------ role changes

    def _reset_election_timer(self) -> None:
        self._quiet_since = asyncio.get_running_loop().time()
        self._patience = random.uniform(*ELECTION_TIMEOUT)

    def _follow(self, term: int) -> None:
        """All Servers 2 (a later term: adopt it and follow) and Candidates 3."""
        if term > self.current_term:
            self.current_term = term
            self.voted_for = None
            self._persist()
        if self.role == LEADER:
            log.info("S%d steps down in term %d", self.me, self.current_term)
            self._reset_election_timer()  # a leader's election timer was not running
        self.role = FOLLOWER

    def _become_leader(self) -> None:
        """Leaders: reinitialise the per-peer state, then heartbeat at once."""
        self.role = LEADER
        log.info("S%d becomes leader in term %d", self.me, self.current_term)
        n = len(self.peers)
        self._ack_next = [self._last_index() + 1] * n
        self._send_next = [self._last_index() + 1] * n
        self._match = [0] * n
        self._last_sent = [-HEARTBEAT_INTERVAL] * n  # a heartbeat is due
        for peer in self._others():
            self._wake[peer].set()  # upon election: send initial empty AppendEntries

    # ------------------------------------------------------------- elections

    async def _election_clock(self) -> None:
        """Followers 2: no word from a leader (or a candidate we voted for) within
        the election timeout: convert to candidate. The candidacy runs in its own
        task; while it runs, or while we lead, this clock only waits."""
        loop = asyncio.get_running_loop()
        while not self.dead:
            remaining = self._quiet_since + self._patience - loop.time()
            if self.role != FOLLOWER or remaining > 0:
                await asyncio.sleep(remaining if remaining > 0 else self._patience)
                continue
            self.role = CANDIDATE
            self._candidacy_no += 1
            asyncio.create_task(self._candidacy(self._candidacy_no))

    async def _candidacy(self, number: int) -> None:
        """Candidates: stand for election, again after every split vote, until we
        win or stop being this candidacy's candidate. Every reply is counted here."""
        loop = asyncio.get_running_loop()
        while not self.dead and self.role == CANDIDATE and self._candidacy_no == number:
            # Candidates 1: increment current_term, vote for self, reset the
            # election timer, send RequestVote RPCs to all other servers.
            self.current_term += 1
            self.voted_for = self.me
            self._persist()
            self._reset_election_timer()
            term = self.current_term
            deadline = self._quiet_since + self._patience
            log.debug("S%d stands for term %d", self.me, term)
            args = RequestVoteArgs(term, self.me, self._last_index(), self._last_term())
            ballots = {asyncio.create_task(self._ballot(peer, args)): peer
                       for peer in self._others()}
            votes = 1
            pending = set(ballots)
            while 2 * votes <= len(self.peers) and pending and loop.time() < deadline:
                done, pending = await asyncio.wait(pending, timeout=deadline - loop.time(),
                                                   return_when=asyncio.FIRST_COMPLETED)
                if self.dead or self.role != CANDIDATE or self.current_term != term:
                    return  # stepped down, or a later candidacy took over
                for ballot in sorted(done, key=ballots.__getitem__):
                    reply = ballot.result()
                    if reply is None:
                        continue  # lost: this server does not vote in this election
                    if reply.term > self.current_term:
                        self._follow(reply.term)  # All Servers 2
                        return
                    if reply.vote_granted:
                        votes += 1  # one ballot per server: each vote counts once
            if 2 * votes > len(self.peers):
                # Candidates 2: votes received from a majority of servers.
                self._become_leader()
                return
            # Candidates 4: the election timeout elapses: start a new election.
            if loop.time() < deadline:
                await asyncio.sleep(deadline - loop.time())
            if self.current_term != term:
                return

    async def _ballot(self, peer: int, args: RequestVoteArgs) -> RequestVoteReply | None:
        reply: RequestVoteReply | None = await self.peers[peer].call("request_vote", args)
        return reply

    def request_vote(self, args: RequestVoteArgs) -> RequestVoteReply:
        """RequestVote RPC handler (Figure 2)."""
        if args.term > self.current_term:
            self._follow(args.term)  # All Servers 2
        # Receiver 1: reply false if term < current_term. Receiver 2: if voted_for
        # is null or candidate_id, and the candidate's log is at least as
        # up-to-date as ours (§5.4.1: compare last terms, then lengths), grant.
        up_to_date = ((args.last_log_term, args.last_log_index)
                      >= (self._last_term(), self._last_index()))
        granted = (args.term == self.current_term
                   and self.voted_for in (None, args.candidate_id)
                   and up_to_date)
        if granted:
            self.voted_for = args.candidate_id
            self._persist()
            self._reset_election_timer()  # Followers 2: granting a vote resets the timer
        return RequestVoteReply(self.current_term, granted)

    # ----------------------------------------------------------- replication

    async def _replicator(self, peer: int) -> None:
        """Leaders 1 and 3 for one peer, for this server's whole life.

        Woken by start(), by an election won, or by a reply in the inbox. While
        we lead: absorb the replies, send a heartbeat (from ack_next: go back
        over anything unacknowledged) when HEARTBEAT_INTERVAL has passed since
        the last RPC, and send new entries at once while the window allows.
        """
        loop = asyncio.get_running_loop()
        wake = self._wake[peer]
        while not self.dead:
            wake.clear()
            self._absorb(peer)
            if self.role != LEADER:
                await wake.wait()
                continue
            if loop.time() >= self._last_sent[peer] + HEARTBEAT_INTERVAL:
                self._send_next[peer] = self._ack_next[peer]  # go back
                self._transmit(peer)
            while self._eager(peer):
                self._transmit(peer)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(self._last_sent[peer] + HEARTBEAT_INTERVAL):
                    await wake.wait()

    def _eager(self, peer: int) -> bool:
        """Is there something to send the peer before its next heartbeat?"""
        if self._send_next[peer] <= self.base_index:
            return self._in_flight[peer] == 0  # a snapshot: one at a time
        return (self._send_next[peer] <= self._last_index()
                and self._in_flight[peer] < WINDOW)

    def _transmit(self, peer: int) -> None:
        """Send the peer what starts at send_next: InstallSnapshot if the ledger no
        longer holds it (Figure 13), else AppendEntries with the next batch."""
        self._last_sent[peer] = asyncio.get_running_loop().time()
        first = self._send_next[peer]
        args: Outgoing
        if first <= self.base_index:
            args = InstallSnapshotArgs(self.current_term, self.me, self.base_index,
                                       self.base_term, self.snapshot_data)
            method = "install_snapshot"
        else:
            batch = self._slice(first, MAX_BATCH)
            args = AppendEntriesArgs(self.current_term, self.me, first - 1,
                                     self._term_at(first - 1), batch, self.commit_index)
            method = "append_entries"
            self._send_next[peer] = first + len(batch)  # optimistic: assume it lands
        self._in_flight[peer] += 1
        asyncio.create_task(self._call(peer, method, args))

    async def _call(self, peer: int, method: str, args: Outgoing) -> None:
        """One RPC: its outcome goes to the peer's inbox, for its replicator."""
        try:
            reply: Incoming | None = await self.peers[peer].call(method, args)
        finally:
            self._in_flight[peer] -= 1
        self._inbox[peer].append((args, reply))
        self._wake[peer].set()

    def _absorb(self, peer: int) -> None:
        """Handle the peer's replies, in the order they arrived."""
        inbox, self._inbox[peer] = self._inbox[peer], []
        for args, reply in inbox:
            if reply is None:
                continue  # lost: the next heartbeat goes back to ack_next
            if reply.term > self.current_term:
                self._follow(reply.term)  # All Servers 2
                continue
            if self.role != LEADER or args.term != self.current_term:
                continue  # a reply to an earlier term's request ("Term confusion")
            if isinstance(args, InstallSnapshotArgs):
                self._acknowledged(peer, args.last_included_index)
            elif isinstance(reply, AppendEntriesReply) and reply.success:
                # Leaders 3: update match_index from what this request carried,
                # not from our log now (it may have grown since).
                self._acknowledged(peer, args.prev_log_index + len(args.entries))
            elif isinstance(reply, AppendEntriesReply):
                self._rejected(peer, reply)

    def _acknowledged(self, peer: int, matched: int) -> None:
        if matched > self._match[peer]:  # replies may arrive out of order
            self._match[peer] = matched
            self._advance_commit()
        self._ack_next[peer] = max(self._ack_next[peer], matched + 1)
        self._send_next[peer] = max(self._send_next[peer], self._ack_next[peer])

    def _rejected(self, peer: int, reply: AppendEntriesReply) -> None:
        """Leaders 3: a consistency check failed: back next_index up (by whole terms,
        the lab's accelerated backtracking) and retry, never below match_index + 1."""
        if reply.x_term < 0:
            guess = reply.x_len                        # case 3: follower's log too short
        else:
            last = self._last_index_of_term(reply.x_term)
            guess = reply.x_index if last is None else last + 1  # cases 1 and 2
        nxt = min(max(guess, self._match[peer] + 1), self._last_index() + 1)
        self._ack_next[peer] = self._send_next[peer] = nxt

    def _advance_commit(self) -> None:
        """Leaders 4: the highest N held by a majority (the median of match_index,
        ours being our last index), committed if log[N].term == current_term."""
        held = sorted((self._last_index() if peer == self.me else self._match[peer]
                       for peer in range(len(self.peers))), reverse=True)
        n = held[len(self.peers) // 2]
        # §5.4.2: never commit an earlier term's entry by counting replicas.
        if n > self.commit_index and self._term_at(n) == self.current_term:
            self.commit_index = n
            self._apply_wakeup.set()

    def append_entries(self, args: AppendEntriesArgs) -> AppendEntriesReply:
        """AppendEntries RPC handler (Figure 2)."""
        # Receiver 1: reply false if term < current_term (§5.1); a stale leader
        # does not reset the election timer (Students' Guide, "Livelocks").
        if args.term < self.current_term:
            return AppendEntriesReply(self.current_term, False)
        assert not (self.role == LEADER and args.term == self.current_term), \
            "election safety (§5.2): two leaders in one term"
        self._follow(args.term)          # All Servers 2; Candidates 3
        self._reset_election_timer()     # Followers 2: heard from the current leader

        prev, entries = args.prev_log_index, args.entries
        if prev < self.base_index:
            # Our snapshot covers prev: those entries are committed, hence the
            # leader's too. Skip the part of the batch the snapshot holds.
            entries = entries[self.base_index - prev:]
            prev = self.base_index
        elif prev > self._last_index():
            # Receiver 2, fast backup case 3: we hold no entry at prev_log_index.
            return AppendEntriesReply(self.current_term, False, x_len=self._last_index() + 1)
        elif self._term_at(prev) != args.prev_log_term:
            # Receiver 2, fast backup cases 1-2: the entry there has another term.
            x_term = self._term_at(prev)
            x_index = min(self._first_index_of_term(x_term), prev)
            return AppendEntriesReply(self.current_term, False, x_term, x_index,
                                      self._last_index() + 1)

        # Receiver 3: if an existing entry conflicts with a new one, delete it and
        # all that follow. Receiver 4: append any new entries not already in the
        # log. A matching prefix changes nothing (the RPC may be an old one).
        for offset, entry in enumerate(entries):
            index = prev + 1 + offset
            if index <= self._last_index():
                if self._term_at(index) == _term_of(entry):
                    continue
                self._truncate_from(index)
            self.entries.extend(entries[offset:])
            self._persist()
            break

        # Receiver 5: if leader_commit > commit_index, set commit_index =
        # min(leader_commit, index of last new entry).
        last_new = prev + len(entries)
        if args.leader_commit > self.commit_index and last_new > self.commit_index:
            self.commit_index = min(args.leader_commit, last_new)
            self._apply_wakeup.set()
        assert self.last_applied <= self.commit_index <= self._last_index()
        return AppendEntriesReply(self.current_term, True)

    # ------------------------------------------------------------- snapshots

    def install_snapshot(self, args: InstallSnapshotArgs) -> InstallSnapshotReply:
        """InstallSnapshot RPC handler (Figure 13)."""
        if args.term < self.current_term:  # Receiver 1
            return InstallSnapshotReply(self.current_term)
        self._follow(args.term)
        self._reset_election_timer()
        index, term = args.last_included_index, args.last_included_term
        if index <= self.base_index:
            return InstallSnapshotReply(self.current_term)  # ours is as new: ignore it
        if index <= self.commit_index:
            assert self._term_at(index) == term, "a committed entry differs from the leader's"
        # Receiver 6: if an existing entry has the snapshot's last index and term,
        # keep the entries that follow it. Receiver 7: else discard the whole log.
        self._compact(index, term)
        self.snapshot_data = args.data
        self._persist()
        self.commit_index = max(self.commit_index, index)
        # Receiver 8: reset the state machine from the snapshot - in the applier's
        # turn, and only if it is ahead of what the service has applied.
        if index > self.last_applied:
            self._snapshot_to_deliver = ApplyMsg(snapshot_valid=True, snapshot=args.data,
                                                 snapshot_term=term, snapshot_index=index)
        self._apply_wakeup.set()
        return InstallSnapshotReply(self.current_term)

    # --------------------------------------------------------------- applier

    async def _applier(self) -> None:
        """All Servers 1: apply committed entries in order, one message at a time,
        the only writer to apply_ch. What to send next is decided afresh after
        every put(): a handler or snapshot() may have run while it waited."""
        while not self.dead:
            msg = self._next_to_apply()
            if msg is None:
                self._apply_wakeup.clear()
                await self._apply_wakeup.wait()
            else:
                await self.apply_ch.put(msg)

    def _next_to_apply(self) -> ApplyMsg | None:
        snap, self._snapshot_to_deliver = self._snapshot_to_deliver, None
        if snap is not None and snap.snapshot_index > self.last_applied:
            self.last_applied = snap.snapshot_index  # the entries it covers are skipped
            return snap
        if self.last_applied < self.commit_index:
            self.last_applied += 1
            _, command = self._entry(self.last_applied)
            return ApplyMsg(command_valid=True, command=command,
                            command_index=self.last_applied)
        return None
