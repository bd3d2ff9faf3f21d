"""Part 2E (optional): one-way network failures, PreVote and CheckQuorum.

Raft as Figure 2 gives it handles crashes and symmetric partitions, but not
links that carry messages in one direction only (HANDOUT.md §2.10 and
part 2E). These tests cut links one way with the harness's ``net.block(src,
dst)``, which loses every message from src to dst, requests and replies
alike, and check what a cluster with PreVote (thesis §9.6) and CheckQuorum
must do:

    test_deaf_follower_2e              a follower hears nothing but is heard: terms and
                                       the leader must stay put (PreVote)
    test_deaf_leader_2e                the leader is heard but hears nothing: it must be
                                       replaced within REPLACE_BOUND (CheckQuorum), and
                                       then not disturb its successor (PreVote)
    test_mute_leader_2e                the leader hears but is not heard: it must be
                                       replaced, and step down (plain Raft passes this)
    test_stale_outbound_leader_2e      a deposed leader that can only send must not stop
                                       an election (plain Raft passes this too)
    test_partial_connectivity_2e       five servers, two of which each reach only one
                                       other: one stable leader, commits go on
    test_chain_2e                      three servers in a chain, leader - middle - outer:
                                       the middle one must refuse the outer one's
                                       pre-votes while it hears the leader (the lease)

and the first five again on an unreliable network over longer runs, as MIT's
unreliable tests do (``_unreliable_2e``). (Not the chain: with three servers,
a run of lost heartbeats lets the middle server and the outer one elect a new
leader legitimately, often enough to look like the bug.) Plain Figure 2 Raft fails the deaf
follower, deaf leader (reliable), partial connectivity and chain tests on
every seed; it passes the mute leader and stale sender tests on a reliable
network, and most seeds of their unreliable versions.

Each run has a steady phase: commands are committed for STEADY seconds (or
STEADY_UNRELIABLE) while the fault lasts, and the servers' terms and leaders
are sampled every SAMPLE seconds. Terms may rise by at most TERM_SLACK
during it, and the leader may change at most once. Like every test, these run
in virtual time; ``raftlab test 2E`` runs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from harness import RAFT_ELECTION_TIMEOUT, Config, Fatal, MakeConfig

STEADY = 10.0
"""Seconds of committing while a fault lasts (reliable network)."""

STEADY_UNRELIABLE = 30.0
"""The same on an unreliable network."""

REPLACE_BOUND = 5.0
"""Seconds within which a leader that cannot hear (or be heard) must be
replaced and a command committed without it: an election timeout to notice,
one to elect, with room to spare (the reference needs 0.8-1.8 s)."""

TERM_SLACK = 1
"""How much the terms of the servers that can hear each other may rise during
the steady phase: one election, if the leader changes once."""

STALL_BOUND = 1.0
"""Seconds a single command may take to commit on a reliable network during
the steady phase (an election takes less than one)."""

AGREEMENT = 10.0
"""Seconds a command may take to commit during the steady phase (MIT's one())."""

CHAIN_IDLE = 5.0
"""Seconds the chain test stays idle (no commands) before its steady phase."""

SAMPLE = 0.05
"""Seconds between samples of every watched server's (term, is_leader)."""


class Watch:
    """What ``servers`` say about themselves, sampled: the highest term and
    every (term, leader) pair seen."""

    def __init__(self, cfg: Config, servers: Iterable[int]) -> None:
        self.cfg = cfg
        self.servers = sorted(servers)
        self.first_term = self.max_term()
        self.last_term = self.first_term
        self.leaders: list[tuple[int, int]] = []
        self.sample()

    def max_term(self) -> int:
        return max(self.cfg.get_state(i)[0] for i in self.servers if self.cfg.rafts[i] is not None)

    def sample(self) -> None:
        for i in self.servers:
            if self.cfg.rafts[i] is None:
                continue
            term, is_leader = self.cfg.get_state(i)
            self.last_term = max(self.last_term, term)
            if is_leader and (term, i) not in self.leaders:
                self.leaders.append((term, i))

    async def sleep(self, seconds: float) -> None:
        """Sleep, sampling every SAMPLE seconds."""
        end = self.cfg.sim.now() + seconds
        while self.cfg.sim.now() < end:
            await asyncio.sleep(min(SAMPLE, end - self.cfg.sim.now()))
            self.sample()

    def leader_changes(self) -> int:
        return max(0, len(self.leaders) - 1)

    def describe_leaders(self) -> str:
        shown = ", ".join(f"S{i} in term {t}" for t, i in self.leaders[:8])
        more = len(self.leaders) - 8
        return shown + (f" and {more} more" if more > 0 else "")


async def steady(cfg: Config, watch: Watch, seconds: float, expected: int, *,
                 fault: str, mechanism: str, stall_bound: float | None) -> None:
    """Commit commands on ``expected`` servers for ``seconds`` while ``fault``
    lasts, then check that terms and the leader stayed put. Commands go to the
    watched servers only: a server cut off by the fault may still claim to
    lead an old term, harmlessly, and MIT's one() would wait for it."""
    end = cfg.sim.now() + seconds
    outside = [x for x in range(cfg.n) if x not in watch.servers]
    while cfg.sim.now() < end:
        took = await commit_without(cfg, outside, expected, AGREEMENT)
        watch.sample()
        if took is None:
            raise Fatal(f"no command committed on {expected} servers within {AGREEMENT:g} s "
                        f"while {fault} ({watch.describe_leaders() or 'no leader'}). "
                        f"{mechanism}")
        if stall_bound is not None and took > stall_bound:
            raise Fatal(f"a command took {took:.1f} s to commit while {fault} (at most "
                        f"{stall_bound:g} s expected): leaders kept changing "
                        f"({watch.describe_leaders()}). {mechanism}")
        await watch.sleep(0.1)
    if watch.last_term - watch.first_term > TERM_SLACK:
        raise Fatal(f"terms rose from {watch.first_term} to {watch.last_term} while {fault}. "
                    f"{mechanism}")
    if watch.leader_changes() > 1:
        raise Fatal(f"the leader changed {watch.leader_changes()} times in {seconds:g} s while "
                    f"{fault} ({watch.describe_leaders()}). {mechanism}")


async def commit_without(cfg: Config, excluded: Iterable[int], expected: int,
                         bound: float) -> float | None:
    """Seconds until a command, started on a leader that is not ``excluded``,
    is committed on ``expected`` servers; None if not within ``bound``."""
    out = set(excluded)
    cmd = cfg.rand_int() % 10000
    began = cfg.sim.now()
    submitted: dict[tuple[int, int], int] = {}
    while cfg.sim.now() < began + bound:
        for i in range(cfg.n):
            if i in out or cfg.rafts[i] is None:
                continue
            term, is_leader = cfg.get_state(i)
            if is_leader and (i, term) not in submitted:
                index, _, ok = cfg.start_cmd(i, cmd)
                if ok:
                    submitted[(i, term)] = index
        for index in submitted.values():
            count, value = cfg.n_committed(index)
            if count >= expected and value == cmd:
                return cfg.sim.now() - began
        await asyncio.sleep(0.01)
    return None


async def agree_all(cfg: Config) -> int:
    """MIT's one() of a fresh command on every server: the cluster is whole."""
    return await cfg.one(cfg.rand_int() % 10000, cfg.n, True)


def cut_inbound(cfg: Config, server: int) -> None:
    """``server`` can send, but nothing reaches it (requests or replies)."""
    for x in range(cfg.n):
        if x != server:
            cfg.net.block(x, server)


def cut_outbound(cfg: Config, server: int) -> None:
    """``server`` can receive, but nothing it sends arrives."""
    for x in range(cfg.n):
        if x != server:
            cfg.net.block(server, x)


PREVOTE = ("A server that cannot win an election must not raise its term, or it deposes "
           "a working leader (PreVote: ask whether you could win before you raise your "
           "term, and refuse a pre-vote while you hear from a leader).")
CHECK_QUORUM = ("A leader that has not heard from a majority within an election timeout "
                "must step down (CheckQuorum), or nothing commits again.")


# ------------------------------------------------------------ the scenarios


async def deaf_follower(cfg: Config, seconds: float, stall_bound: float | None) -> None:
    servers = cfg.n
    leader = await cfg.check_one_leader()
    await agree_all(cfg)
    f = (leader + 1) % servers

    cut_inbound(cfg, f)
    others = [x for x in range(servers) if x != f]
    watch = Watch(cfg, others)
    await steady(cfg, watch, seconds, servers - 1,
                 fault=f"S{f} could not hear (its own messages arrived)",
                 mechanism=PREVOTE, stall_bound=stall_bound)

    # it hears again: it must rejoin without deposing the leader
    cfg.net.heal()
    await agree_all(cfg)
    await watch.sleep(RAFT_ELECTION_TIMEOUT)
    if watch.last_term - watch.first_term > TERM_SLACK or watch.leader_changes() > 1:
        raise Fatal(f"when S{f} could hear again, terms rose from {watch.first_term} to "
                    f"{watch.last_term} ({watch.describe_leaders()}): a server that could not "
                    f"win an election must not have raised its term meanwhile. {PREVOTE}")


async def deaf_leader(cfg: Config, seconds: float, stall_bound: float | None) -> None:
    servers = cfg.n
    leader = await cfg.check_one_leader()
    await agree_all(cfg)
    term, _ = cfg.get_state(leader)

    cut_inbound(cfg, leader)
    took = await commit_without(cfg, [leader], servers - 1, REPLACE_BOUND)
    if took is None:
        still = cfg.get_state(leader)
        claim = (f", while S{leader} still claimed to lead term {still[0]}" if still[1]
                 else "")
        raise Fatal(f"no command committed within {REPLACE_BOUND:g} s after leader S{leader} "
                    f"of term {term} stopped hearing from the others{claim}. {CHECK_QUORUM}")

    others = [x for x in range(servers) if x != leader]
    watch = Watch(cfg, others)
    await steady(cfg, watch, seconds, servers - 1,
                 fault=f"S{leader}, the former leader, could not hear",
                 mechanism=PREVOTE, stall_bound=stall_bound)

    cfg.net.heal()
    await agree_all(cfg)


async def mute_leader(cfg: Config, seconds: float, stall_bound: float | None) -> None:
    servers = cfg.n
    leader = await cfg.check_one_leader()
    await agree_all(cfg)
    term, _ = cfg.get_state(leader)

    cut_outbound(cfg, leader)
    took = await commit_without(cfg, [leader], servers - 1, REPLACE_BOUND)
    if took is None:
        raise Fatal(f"no command committed within {REPLACE_BOUND:g} s after leader S{leader} "
                    f"of term {term} could no longer send: the others must elect a new leader "
                    "once they stop hearing heartbeats (Figure 2, Rules for Followers 2)")

    # the new leader's AppendEntries reach the old one: a higher term
    deadline = cfg.sim.now() + 2 * RAFT_ELECTION_TIMEOUT
    while cfg.get_state(leader)[1] and cfg.sim.now() < deadline:
        await asyncio.sleep(0.01)
    old_term, still = cfg.get_state(leader)
    if still:
        raise Fatal(f"S{leader} still claims to lead term {old_term} although AppendEntries of a "
                    "new leader's later term reach it: a higher term must make a leader step "
                    "down (Figure 2, All Servers 2)")

    watch = Watch(cfg, [x for x in range(servers) if x != leader])
    await steady(cfg, watch, seconds, servers - 1,
                 fault=f"S{leader}, the former leader, could not send",
                 mechanism="A server that hears the leader must not start elections "
                           "(Figure 2, Rules for Followers 2).", stall_bound=stall_bound)

    cfg.net.heal()
    await agree_all(cfg)


async def stale_outbound_leader(cfg: Config, seconds: float,
                                stall_bound: float | None) -> None:
    servers = cfg.n
    old = await cfg.check_one_leader()
    await agree_all(cfg)
    old_term, _ = cfg.get_state(old)

    # a new leader is elected without the old one ...
    cfg.disconnect(old)
    new = await cfg.check_one_leader()
    new_term, _ = cfg.get_state(new)

    # ... which comes back able to send, not to hear: it never learns the new
    # term and keeps sending AppendEntries of its own
    cut_inbound(cfg, old)
    cfg.connect(old)
    await asyncio.sleep(0.5)

    cfg.crash1(new)
    took = await commit_without(cfg, [old, new], servers - 2, REPLACE_BOUND)
    if took is None:
        raise Fatal(f"no command committed within {REPLACE_BOUND:g} s after leader S{new} of "
                    f"term {new_term} crashed, while S{old}, deposed in term {old_term}, could "
                    "still send: AppendEntries from an older term must be rejected without "
                    "resetting the election timer (Figure 2, AppendEntries receiver 1)")

    rest = [x for x in range(servers) if x not in (old, new)]
    watch = Watch(cfg, rest)
    await steady(cfg, watch, seconds, servers - 2,
                 fault=f"S{old}, a deposed leader, could only send",
                 mechanism=PREVOTE, stall_bound=stall_bound)

    cfg.start1(new)
    cfg.connect(new)
    cfg.net.heal()
    await agree_all(cfg)


async def partial_connectivity(cfg: Config, seconds: float,
                               stall_bound: float | None) -> None:
    """Howard and Abraham's example: three servers reach each other; each of
    the two others reaches only one of them, and not the leader."""
    servers = cfg.n
    leader = await cfg.check_one_leader()
    await agree_all(cfg)
    rest = [x for x in range(servers) if x != leader]
    core = [leader, rest[0], rest[1]]
    links = {rest[2]: rest[0], rest[3]: rest[1]}  # outer server -> its only peer
    for outer, peer in links.items():
        for x in range(servers):
            if x not in (outer, peer):
                cfg.net.block(outer, x)
                cfg.net.block(x, outer)

    described = " and ".join(f"S{o} reached only S{p}" for o, p in links.items())
    watch = Watch(cfg, core)
    await steady(cfg, watch, seconds, len(core),
                 fault=f"the cluster was partially connected ({described})",
                 mechanism=PREVOTE, stall_bound=stall_bound)

    cfg.net.heal()
    await agree_all(cfg)


async def chain(cfg: Config, seconds: float, stall_bound: float | None) -> None:
    """Leader - middle - outer: the outer server reaches only the middle one."""
    servers = cfg.n
    leader = await cfg.check_one_leader()
    await agree_all(cfg)
    middle, outer = (leader + 1) % servers, (leader + 2) % servers
    cfg.net.block(leader, outer)
    cfg.net.block(outer, leader)
    watch = Watch(cfg, range(servers))
    # idle first: every log is as up to date as any, so only the leader lease
    # keeps the middle server from granting the outer one's pre-votes
    await watch.sleep(CHAIN_IDLE)
    await steady(cfg, watch, seconds, 2,
                 fault=f"S{outer} could not reach leader S{leader} (S{middle} reached both)",
                 mechanism=PREVOTE, stall_bound=stall_bound)
    cfg.net.heal()
    await agree_all(cfg)


# ---------------------------------------------------------------- the tests


async def test_deaf_follower_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, False, False)
    cfg.begin("Test (2E): a follower that cannot hear")
    await deaf_follower(cfg, STEADY, STALL_BOUND)
    cfg.end()


async def test_deaf_leader_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, False, False)
    cfg.begin("Test (2E): a leader that cannot hear")
    await deaf_leader(cfg, STEADY, STALL_BOUND)
    cfg.end()


async def test_mute_leader_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, False, False)
    cfg.begin("Test (2E): a leader that cannot send")
    await mute_leader(cfg, STEADY, STALL_BOUND)
    cfg.end()


async def test_stale_outbound_leader_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, False, False)
    cfg.begin("Test (2E): a deposed leader that can only send")
    await stale_outbound_leader(cfg, STEADY, STALL_BOUND)
    cfg.end()


async def test_partial_connectivity_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, False, False)
    cfg.begin("Test (2E): partial connectivity")
    await partial_connectivity(cfg, STEADY, STALL_BOUND)
    cfg.end()


async def test_deaf_follower_unreliable_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, True, False)
    cfg.begin("Test (2E): a follower that cannot hear, unreliable net")
    await deaf_follower(cfg, STEADY_UNRELIABLE, None)
    cfg.end()


async def test_deaf_leader_unreliable_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, True, False)
    cfg.begin("Test (2E): a leader that cannot hear, unreliable net")
    await deaf_leader(cfg, STEADY_UNRELIABLE, None)
    cfg.end()


async def test_mute_leader_unreliable_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, True, False)
    cfg.begin("Test (2E): a leader that cannot send, unreliable net")
    await mute_leader(cfg, STEADY_UNRELIABLE, None)
    cfg.end()


async def test_stale_outbound_leader_unreliable_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, True, False)
    cfg.begin("Test (2E): a deposed leader that can only send, unreliable net")
    await stale_outbound_leader(cfg, STEADY_UNRELIABLE, None)
    cfg.end()


async def test_partial_connectivity_unreliable_2e(make_config: MakeConfig) -> None:
    cfg = make_config(5, True, False)
    cfg.begin("Test (2E): partial connectivity, unreliable net")
    await partial_connectivity(cfg, STEADY_UNRELIABLE, None)
    cfg.end()


async def test_chain_2e(make_config: MakeConfig) -> None:
    cfg = make_config(3, False, False)
    cfg.begin("Test (2E): three servers in a chain")
    await chain(cfg, STEADY, STALL_BOUND)
    cfg.end()
