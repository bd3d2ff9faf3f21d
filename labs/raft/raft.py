"""Raft (lab parts 2A-2D, and the optional 2E): your implementation goes in this file.

This is an outline of the API that Raft must expose to the service (and to
the tester). See the comments below for each of these methods.

    rf = Raft(peers, me, persister, apply_ch)
        Create a new Raft server.
    rf.start(command) -> (index, term, is_leader)
        Start agreement on a new log entry.
    rf.get_state() -> (term, is_leader)
        Ask a Raft for its current term, and whether it thinks it is leader.
    ApplyMsg
        Each time a new entry is committed to the log, each Raft peer should
        put an ApplyMsg on apply_ch (``await self.apply_ch.put(msg)``).

Read HANDOUT.md first. Rules of the simulation (the tester enforces them):
  * Wait with ``await asyncio.sleep(seconds)``; read the clock with
    ``asyncio.get_running_loop().time()``. Never ``time.sleep``/``time.time``.
  * Use the ``random`` module (the harness seeds it) and asyncio tasks; no
    threads, no executors, and never iterate over a set of strings to decide
    what to do.
  * Only plain data crosses the network or goes to the persister: None, bool,
    int, float, str, bytes, list, tuple, dict, and module-level dataclasses.

We will use the original harness and tests to grade your code; you may
change them while debugging, but test against the originals before you
submit.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from harness import ApplyMsg, ClientEnd, Persister

# ApplyMsg (from harness) is what you put on apply_ch. As each Raft peer
# becomes aware that successive log entries are committed, the peer should
# send an ApplyMsg to the service (or tester) on the same server:
#
#     await self.apply_ch.put(ApplyMsg(command_valid=True, command=cmd,
#                                      command_index=index))
#
# In part 2D you'll want to send other kinds of messages (e.g. snapshots) on
# apply_ch; for those set command_valid to False and snapshot_valid to True.
#
# apply_ch is like Go's unbuffered applyCh: put() returns only once the
# tester has taken the message, and while it waits your handlers, your other
# tasks and snapshot() may run. Re-read your state after every put()
# (HANDOUT.md, section 3.6).


@dataclass
class RequestVoteArgs:
    """Example RequestVote RPC arguments structure."""

    # Your data here (2A, 2B).
    # Part 2E (optional): mark pre-votes, e.g. with a field
    #     pre_vote: bool = False   # "would you vote for me in `term`?"
    # or give pre-votes an RPC of their own (HANDOUT.md, Part 2E).


@dataclass
class RequestVoteReply:
    """Example RequestVote RPC reply structure."""

    # Your data here (2A).


class Raft:
    """A Go-style Raft peer. Every method runs on the simulator's event loop,
    one at a time: state can only change while your code awaits."""

    def __init__(self, peers: list[ClientEnd], me: int, persister: Persister,
                 apply_ch: asyncio.Queue[ApplyMsg]) -> None:
        """Create a Raft server.

        The ports of all the Raft servers (including this one) are in
        peers[]. This server's port is peers[me]. All the servers' peers[]
        lists have the same order. persister is a place for this server to
        save its persistent state, and also initially holds the most recent
        saved state, if any. apply_ch is a channel on which the tester or
        service expects Raft to put ApplyMsg messages (unbuffered: put()
        returns once the message is taken). __init__ must return
        quickly, so it should start tasks for any long-running work.
        """
        self.peers = peers          # everyone's ends: peers[i] reaches server i
        self.persister = persister  # object to hold this peer's persisted state
        self.me = me                # this peer's index into peers[]
        self.apply_ch = apply_ch
        self.dead = False           # set by kill()

        # Your data here (2A, 2B, 2C).
        # Look at the paper's Figure 2 for a description of what
        # state a Raft server must maintain.
        # Part 2E (optional) adds volatile state only: a pre-candidate role
        # and the pre-votes of the current round (PreVote), when you last
        # heard from a current leader (PreVote's lease: not your election
        # timer), and, while leading, when each peer last replied
        # (CheckQuorum).

        # initialize from state persisted before a crash
        self.read_persist(persister.read_raft_state())

        # start ticker task to start elections. Here is how to run
        # something in the background: create a task. (The harness keeps a
        # reference to every task your server creates and cancels them all
        # when the server crashes.)
        asyncio.create_task(self.ticker())

    def get_state(self) -> tuple[int, bool]:
        """Return current_term and whether this server believes it is the leader."""
        # Your code here (2A).
        raise NotImplementedError("2A: get_state() must return (current_term, is_leader)")

    def persist(self) -> None:
        """Save Raft's persistent state to stable storage, where it can later
        be retrieved after a crash and restart. See the paper's Figure 2 for
        a description of what should be persistent.

        Before you've implemented snapshots, you should pass None as the
        second argument to persister.save(). After you've implemented
        snapshots, pass the current snapshot (or None if there's not yet a
        snapshot).
        """
        # Your code here (2C).
        # Example:
        # data = encode((self.x_xx, self.y_yy))     # from harness import encode
        # self.persister.save(data, None)

    def read_persist(self, data: bytes) -> None:
        """Restore previously persisted state."""
        if not data:  # bootstrap without any state?
            return
        # Your code here (2C).
        # Example:
        # self.x_xx, self.y_yy = decode(data)       # from harness import decode

    def snapshot(self, index: int, snapshot: bytes) -> None:
        """The service says it has created a snapshot that has all info up to
        and including index. This means the service no longer needs the log
        through (and including) that index. Raft should now trim its log as
        much as possible."""
        # Your code here (2D).
        raise NotImplementedError("2D: snapshot() must trim the log through index and "
                                  "persist the snapshot")

    def request_vote(self, args: RequestVoteArgs) -> RequestVoteReply:
        """Example RequestVote RPC handler. Any public method other than
        get_state, start, snapshot and kill can be called over the network;
        it must return a reply object.

        Part 2E (optional): if pre-votes come here too, answer them first,
        apart from real votes. A pre-vote changes nothing on this server:
        not current_term, not voted_for, not the election timer."""
        # Your code here (2A, 2B).
        raise NotImplementedError("2A: request_vote() must decide whether to grant the vote")

    async def send_request_vote(self, server: int,
                                args: RequestVoteArgs) -> RequestVoteReply | None:
        """Example code to send a RequestVote RPC to a server.

        server is the index of the target server in self.peers. A copy of
        args is delivered to that server's request_vote(), and this returns a
        copy of its reply - or None if the network lost the request or the
        reply, or the server is down or unreachable. It never raises for a
        network fault.

        The call may take a while to return None: up to 7 (virtual) seconds
        when the server is unreachable. So never wait for one peer before
        contacting the others; send to each peer from its own task:

            asyncio.create_task(self.send_request_vote(i, args))

        There is no need to implement your own timeouts around call().
        HANDOUT.md, section 3.2 (Calling another server), has the details.
        """
        reply: RequestVoteReply | None = await self.peers[server].call("request_vote", args)
        return reply

    def start(self, command: Any) -> tuple[int, int, bool]:
        """The service using Raft wants to start agreement on the next command
        to be appended to Raft's log. If this server isn't the leader, returns
        False. Otherwise start the agreement and return immediately. There is
        no guarantee that this command will ever be committed to the Raft log,
        since the leader may fail or lose an election. Even if the Raft
        instance has been killed, this function should return gracefully.

        The first return value is the index that the command will appear at
        if it's ever committed. The second return value is the current term.
        The third return value is True if this server believes it is the
        leader.
        """
        if self.dead:
            return -1, -1, False
        # Your code here (2B).
        raise NotImplementedError("2B: start() must append the command to the leader's log "
                                  "and return (index, term, True), or (-1, -1, False)")

    def kill(self) -> None:
        """The tester is about to crash this server. It cancels every task
        the server created right after this returns; use self.dead to make
        methods the tester still calls (get_state, start) behave."""
        self.dead = True
        # Your code here, if desired.

    def killed(self) -> bool:
        return self.dead

    def debug_state(self) -> dict[str, Any]:
        """Optional: your server's state, for `raftlab replay ... --html` (the
        timeline then draws each log and commit index) and for three more
        monitors (log matching, committed entries, leader completeness).
        HANDOUT.md §3.9.
        Fill it in from your own fields; None means "I do not keep that"."""
        return {
            "role": None,            # "follower", "candidate" or "leader"
            "term": None,            # current_term
            "voted_for": None,       # a server number, or None
            "commit_index": None,
            "last_applied": None,
            "snapshot_index": None,  # the snapshot's last included index (0: none)
            "log_terms": None,       # the terms of the entries after the snapshot, in order
        }

    async def ticker(self) -> None:
        while not self.killed():
            # Your code here (2A)
            # Check if a leader election should be started.
            #
            # Part 2E (optional): with PreVote, a follower or candidate whose
            # election timeout elapses becomes a pre-candidate and asks for
            # pre-votes; only a majority of them makes it a candidate. With
            # CheckQuorum, a leader checks here (or in its heartbeat loop),
            # once per election timeout, that a majority replied within the
            # maximum election timeout, and steps down if not.

            # pause for a random amount of time between 50 and 350
            # milliseconds.
            await asyncio.sleep(0.050 + random.random() * 0.300)
