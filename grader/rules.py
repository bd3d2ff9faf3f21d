"""The rule table: every numbered rule of Figures 2 and 13, and what checks it.

    RULES                  one Rule per rule, in the paper's order
    MONITORS               the always-on safety monitors a check may name
    coverage()             (rules with a deterministic check and no gap, all rules)
    render_markdown()      the handout appendix "what the tests check"
    rewrite_appendix()     write it into HANDOUT.md, between RULES_BEGIN and RULES_END

    python -m grader.rules           # regenerate HANDOUT.md's appendix after editing RULES
    python -m grader.rules --check   # exit status 1 if it is stale

One row per rule of Figure 2 of the extended Raft paper (the state, the
RequestVote and AppendEntries receivers, the Rules for Servers, with the
candidate's election-start bullets apart), the §5.2 timeout and §5.4.2 commit
restrictions, the lab's fast backup (XTerm / XIndex / XLen, follower and
leader side), Figure 13's InstallSnapshot receiver steps 1-8 and the lab's
snapshot rules. Each row names:

  checks        the lab tests (``grader.suite_index``) and safety monitors
                (``harness/_trusted/monitors.py``) that fail a Raft breaking
                the rule. ``deterministic``: it fails on every seed for a bug
                of that kind in a Figure 2 Raft (part 2E's PreVote and
                CheckQuorum off); ``plain_only``: not so with them on, where
                the schedule no longer forces the bug to show. Otherwise
                "randomised": it fails only on the seeds whose schedule
                happens to expose the bug.
  mutants       the zoo's mutants (``grader.mutants``) that break the rule,
                each killed by the row's checks (the evidence is in each
                mutant's ``expected``).
  gaps          kinds of bug in the rule that no deterministic check fails
                (mostly the zoo's left-out mutants), so that the row does
                not claim more than it checks.
  unobservable  why no black-box test can see the rule, if none can.

A rule counts as covered (``coverage``) when one of its checks is
deterministic and it lists no gap. The table is data: the handout's appendix
is rendered from it (the gaps only as "partly checked", never their text),
and raftlab's own tests check that every test, monitor and mutant it names
exists, and that HANDOUT.md holds the appendix as rendered now. This module
is for instructors: the student handout leaves it out (grader/handout.py),
since its gaps name the bugs the tests miss.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

HANDOUT = Path(__file__).resolve().parent.parent / "HANDOUT.md"
APPENDIX = "10"
"""The appendix's section number in HANDOUT.md."""
RULES_BEGIN = "<!-- rule table: begin (generated from grader/rules.py) -->"
RULES_END = "<!-- rule table: end -->"
WIDTH = 95
"""The width of the handout's prose lines."""

MONITORS: tuple[str, ...] = (
    "election safety",
    "terms never decrease",
    "sequential apply",
    "state machine safety",
)
"""The safety monitors' rule names, as harness/_trusted/monitors.py lists them."""


@dataclass(frozen=True)
class Check:
    """A test or monitor that fails a Raft breaking the rule."""

    name: str                    # a lab test's name, or one of MONITORS
    deterministic: bool = False  # fails on every seed for a bug of the rule's kind
    plain_only: bool = False     # ... but only with part 2E's switches off

    @property
    def monitor(self) -> bool:
        return self.name in MONITORS


@dataclass(frozen=True)
class Rule:
    id: str
    source: str                  # where the rule is stated
    heading: str                 # the group it is rendered under
    part: str                    # the lab part that asks for it
    text: str                    # the rule, in a student's words
    checks: tuple[Check, ...] = ()
    mutants: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    unobservable: str = ""

    @property
    def deterministic(self) -> bool:
        """Checked on purpose: a deterministic check, and no known gap."""
        return (not self.unobservable and not self.gaps
                and any(c.deterministic for c in self.checks))


def _det(name: str, *, plain_only: bool = False) -> Check:
    return Check(name, deterministic=True, plain_only=plain_only)


def _rnd(name: str) -> Check:
    return Check(name)


_STATE = "State (Figure 2)"
_RV = "RequestVote RPC, receiver (Figure 2)"
_AE = "AppendEntries RPC, receiver (Figure 2)"
_SERVERS = "Rules for Servers (Figure 2)"
_BACKUP = "Fast backup (lab handout)"
_SNAP = "Snapshots (Figure 13, lab handout)"
_2E = "Part 2E: PreVote and CheckQuorum (thesis §9.6; etcd)"

RULES: tuple[Rule, ...] = (
    # ------------------------------------------------------------- state
    Rule("PS1", "Figure 2, State: persistent state", _STATE, "2C",
         "current_term is saved with the persister and restored after a restart",
         (_det("test_persist2_2c"), _det("test_snapshot_all_crash_2d"),
          _rnd("test_persist1_2c")),
         ("P2", "P5")),
    Rule("PS2", "Figure 2, State: persistent state", _STATE, "2C",
         "voted_for is saved with the persister, every time it changes, and restored after a "
         "restart",
         (_det("test_voter_crash_scenario_2c"), _det("election safety")),
         ("P1", "P1b")),
    Rule("PS3", "Figure 2, State: persistent state", _STATE, "2C",
         "the log is saved with the persister whenever it changes, on the leader (start()) "
         "and on followers (AppendEntries)",
         (_det("test_persist1_2c"), _det("test_persist3_2c"),
          _det("test_figure8_scenario_2c")),
         ("P3", "P3b")),
    Rule("PS4", "Figure 2, State: \"updated on stable storage before responding to RPCs\"",
         _STATE, "2C",
         "the persistent state is saved before the reply (or the RPC) that depends on it is "
         "sent, not later",
         (_det("test_voter_crash_scenario_2c"), _det("test_ack_crash_scenario_2c"),
          _rnd("test_figure8_2c")),
         ("P4", "P4b"),
         gaps=("P6: term and vote saved in two calls: atomic unless an await separates them; "
               "the scenarios crash a server at a reply, never between two of its own "
               "statements",)),
    Rule("VS1", "Figure 2, State: volatile state on all servers", _STATE, "2B",
         "commit_index and last_applied start at 0, or at the snapshot's last included index "
         "when a server restarts with a snapshot (2D)",
         (_det("test_snapshot_init_2d"), _det("test_snapshot_all_crash_2d"),
          _det("sequential apply")),
         ("S7",)),
    Rule("LS1", "Figure 2, State: volatile state on leaders", _STATE, "2B",
         "a new leader sets every next_index to its last log index + 1",
         (_rnd("test_rpc_bytes_2b"), _rnd("test_backup_2b")),
         (),
         unobservable="next_index is a guess that AppendEntries' consistency check corrects: "
                      "any starting value (a stale one from an earlier leadership "
                      "included) is repaired, so a wrong one costs only RPCs and bytes"),
    Rule("LS2", "Figure 2, State: volatile state on leaders", _STATE, "2B",
         "a new leader sets every match_index to 0: nothing is known to be replicated yet",
         (_det("test_rejoin_2b"), _det("test_backup_2b"), _det("state machine safety")),
         ("E13b",)),
    # ------------------------------------------------------- RequestVote
    Rule("RV1", "Figure 2, RequestVote RPC, receiver 1", _RV, "2A",
         "refuse the vote if the candidate's term is older than yours",
         (_rnd("test_many_elections_2a"),),
         (),
         gaps=("a vote granted to an older term's candidate: the candidate steps down on the "
               "newer term in the reply, so the grant only harms when the voter then votes "
               "again in its own term; no scenario replays that",)),
    Rule("RV2", "Figure 2, RequestVote RPC, receiver 2", _RV, "2A",
         "vote at most once per term: only if voted_for is empty or already this candidate "
         "(it is cleared only when the term changes)",
         (_det("test_voter_crash_scenario_2c"), _det("test_re_election_2a"),
          _det("test_double_vote_scenario_2a"), _det("election safety")),
         ("E4", "E5", "E7b")),
    Rule("RV2b", "Figure 2, RequestVote RPC, receiver 2; §5.4.1", _RV, "2B",
         "vote only for a candidate whose log is at least as up-to-date as yours: a later "
         "last term wins; with equal last terms, the longer (or equal) log",
         (_det("test_figure8_scenario_2c"), _det("test_rejoin_2b"),
          _det("test_initial_election_2a"), _det("state machine safety")),
         ("R1", "R2", "R3")),
    # ----------------------------------------------------- AppendEntries
    Rule("AE1", "Figure 2, AppendEntries RPC, receiver 1", _AE, "2A",
         "reply false if the leader's term is older than yours, and do not reset your "
         "election timer for it",
         (_det("test_stale_leader_scenario_2a", plain_only=True),),
         ("E3",)),
    Rule("AE2", "Figure 2, AppendEntries RPC, receiver 2", _AE, "2B",
         "reply false if your log has no entry at prev_log_index, or one of another term "
         "(heartbeats too)",
         (_det("test_fail_agree_2b", plain_only=True), _det("test_rejoin_2b"),
          _det("test_figure8_2c")),
         ("R5", "R9")),
    Rule("AE3", "Figure 2, AppendEntries RPC, receiver 3", _AE, "2B",
         "if an entry conflicts with a new one (same index, other term), delete it and all "
         "that follow; never truncate on a match",
         (_det("test_stale_append_scenario_2b"), _rnd("test_figure8_unreliable_2c")),
         ("R6", "R7"),
         gaps=("R7: a conflicting entry replaced in place, its stale tail kept: only "
               "test_figure8_unreliable_2c, on about half the seeds",)),
    Rule("AE4", "Figure 2, AppendEntries RPC, receiver 4", _AE, "2B",
         "append the new entries not already in the log",
         (_det("test_stale_append_scenario_2b"), _det("test_basic_agree_2b")),
         ("R6",)),
    Rule("AE5", "Figure 2, AppendEntries RPC, receiver 5", _AE, "2B",
         "if leader_commit > commit_index, set commit_index = min(leader_commit, index of "
         "the last new entry), on heartbeats too",
         (_det("test_basic_agree_2b"), _det("test_fail_agree_2b")),
         ("R5b",),
         gaps=("R8: commit_index = leader_commit without the min: harmless while every "
               "AppendEntries carries the leader's whole suffix; no scenario makes a leader "
               "send less",)),
    # ---------------------------------------------------------- servers
    Rule("ALL1", "Figure 2, Rules for Servers, All Servers 1", _SERVERS, "2B",
         "while commit_index > last_applied, apply the next entry: each once, in order, "
         "from one place",
         (_det("sequential apply"), _det("test_basic_agree_2b"), _det("test_fail_agree_2b"),
          _det("test_snapshot_during_apply_scenario_2d")),
         ("R10", "R11", "S15")),
    Rule("ALL2", "Figure 2, Rules for Servers, All Servers 2", _SERVERS, "2A",
         "a request or reply with a later term: adopt it and become a follower, before "
         "anything else",
         (_det("test_stale_leader_scenario_2a", plain_only=True), _rnd("test_many_elections_2a"),
          _det("terms never decrease")),
         ("E6", "E7"),
         gaps=("E7: voted_for checked before the later term is adopted: refuses votes it "
               "should grant, which only slows elections (test_many_elections_2a, most "
               "seeds)",)),
    Rule("FOL1", "Figure 2, Rules for Servers, Followers 1", _SERVERS, "2A",
         "answer RPCs from candidates and leaders",
         (_det("test_initial_election_2a"), _det("test_basic_agree_2b"))),
    Rule("FOL2", "Figure 2, Rules for Servers, Followers 2", _SERVERS, "2A",
         "stand for election when the election timeout passes without an AppendEntries from "
         "the current leader or a vote granted; a leader does not time out",
         (_det("test_initial_election_2a"), _det("test_re_election_2a"),
          _rnd("test_figure8_unreliable_2c")),
         (),
         gaps=("E1: no timer reset on granting a vote, and E2: a reset on every RequestVote, "
               "only change how fast elections end, within the tests' 5 s",
               "E16: a leader whose election timer still runs: only "
               "test_figure8_unreliable_2c, on some seeds")),
    Rule("ET", "§5.2; lab handout (a new leader within five seconds)", _SERVERS, "2A",
         "election timeouts are randomised, several heartbeat intervals long, and short "
         "enough to elect a leader within five seconds",
         (_det("test_initial_election_2a", plain_only=True), _det("test_re_election_2a",
                                                                  plain_only=True),
          _rnd("test_figure8_scenario_2c"), _rnd("test_late_reply_scenario_2b")),
         ("E9", "E10"),
         gaps=("E10: timeouts of several seconds: most seeds of several tests, not every "
               "seed",)),
    Rule("CAN1a", "Figure 2, Rules for Servers, Candidates 1 (increment current_term)",
         _SERVERS, "2A",
         "on standing for election, increment current_term",
         (_det("test_initial_election_2a"),),
         ("E17",)),
    Rule("CAN1b", "Figure 2, Rules for Servers, Candidates 1 (vote for self)", _SERVERS, "2A",
         "on standing for election, vote for yourself (voted_for = yourself)",
         (_rnd("test_double_vote_scenario_2a"), _rnd("election safety")),
         (),
         gaps=("a candidate that counts its own vote but leaves voted_for empty, and may "
               "then vote for a rival of the same term: no mutant of it yet (in the "
               "reference voted_for still holds its earlier vote, so the bug does not "
               "show); test_double_vote_scenario_2a kills E4, its twin, on every seed",)),
    Rule("CAN1c", "Figure 2, Rules for Servers, Candidates 1 (reset election timer)",
         _SERVERS, "2A",
         "on standing for election, reset the election timer",
         (_det("test_initial_election_2a", plain_only=True),)),
    Rule("CAN1d", "Figure 2, Rules for Servers, Candidates 1 (send RequestVote to all)",
         _SERVERS, "2A",
         "on standing for election, send RequestVote to every other server at once, not "
         "one after another",
         (_det("test_many_elections_2a", plain_only=True), _rnd("test_backup_2b")),
         ("R18b",)),
    Rule("CAN2", "Figure 2, Rules for Servers, Candidates 2", _SERVERS, "2A",
         "become leader on votes from a majority, counting only the votes of this election "
         "(a vote from an earlier election may arrive late)",
         (_det("test_stale_vote_scenario_2a"), _det("election safety")),
         ("E8",)),
    Rule("CAN3", "Figure 2, Rules for Servers, Candidates 3", _SERVERS, "2A",
         "a candidate that receives AppendEntries from the new leader (of its term or later) "
         "becomes a follower",
         (_rnd("test_initial_election_2a"), _rnd("test_count_2b")),
         (),
         gaps=("a candidate that keeps standing after the leader of its term reached it "
               "causes extra elections that the tests only warn about or see by chance",)),
    Rule("CAN4", "Figure 2, Rules for Servers, Candidates 4", _SERVERS, "2A",
         "if the election timeout passes, start a new election (split votes)",
         (_det("test_stale_vote_scenario_2a"), _det("test_double_vote_scenario_2a"),
          _rnd("test_many_elections_2a")),
         ("E21",)),
    Rule("LEAD1", "Figure 2, Rules for Servers, Leaders 1; lab handout", _SERVERS, "2A",
         "on election, send heartbeats at once, and repeat them during idle periods: often "
         "enough to prevent elections, at most ten per second",
         (_det("test_count_2b"), _det("test_concurrent_starts_2b")),
         ("E11", "E12")),
    Rule("LEAD2", "Figure 2, Rules for Servers, Leaders 2", _SERVERS, "2B",
         "start(command): append it to your own log (counting your own copy) and return its "
         "index at once",
         (_det("test_basic_agree_2b"), _det("test_fail_agree_2b"), _det("test_rejoin_2b")),
         ("R19", "R21")),
    Rule("LEAD3", "Figure 2, Rules for Servers, Leaders 3", _SERVERS, "2B",
         "send each follower the entries from its next_index; on success set match_index "
         "from what that request carried, on an inconsistency back next_index up and retry; "
         "ignore replies from an earlier term",
         (_det("test_late_reply_scenario_2b"), _det("test_stale_append_reply_scenario_2b"),
          _det("test_rpc_bytes_2b"), _rnd("test_figure8_unreliable_2c")),
         ("R13", "R12", "R12b", "R20", "R18"),
         gaps=("R18: a replicator that awaits each reply before sending again: only "
               "test_figure8_unreliable_2c, most seeds",
               "R14: next_index decremented on a later-term rejection: a leader steps down "
               "first, and a new leadership starts next_index afresh, so no test can see "
               "it in the reference (it may show in other designs)")),
    Rule("LEAD4", "Figure 2, Rules for Servers, Leaders 4", _SERVERS, "2B",
         "commit the highest N replicated on a majority (match_index, your own included)",
         (_det("test_fail_agree_2b"), _det("test_late_reply_scenario_2b")),
         ("R21", "R13")),
    Rule("COMMIT", "§5.4.2 and Figure 8", _SERVERS, "2B",
         "never commit an entry of an earlier term by counting replicas: only once an entry "
         "of your own term is on a majority",
         (_det("test_figure8_scenario_2c"), _det("state machine safety")),
         ("R4",)),
    # ------------------------------------------------------ fast backup
    Rule("FB1", "Lab handout, accelerated log backtracking (follower, case 3)", _BACKUP, "2B",
         "rejecting because your log has no entry at prev_log_index: say so (XTerm = none) "
         "and give your log's length (XLen)",
         (_rnd("test_backup_2b"), _rnd("test_fast_backup_bound_2b")),
         (),
         gaps=("no scenario makes a follower's log too short for prev_log_index on "
               "purpose",)),
    Rule("FB2", "Lab handout, accelerated log backtracking (follower, cases 1-2)", _BACKUP, "2B",
         "rejecting because of a conflicting entry: give its term (XTerm) and the first "
         "index you hold of that term (XIndex); do not truncate when rejecting",
         (_rnd("test_backup_2b"),),
         (),
         gaps=("a wrong XIndex matters only in leader case 1, which no scenario plays",
               "R17: truncating at XIndex when rejecting")),
    Rule("FB3", "Lab handout, accelerated log backtracking (leader, case 1)", _BACKUP, "2B",
         "the leader has no entry of XTerm: next_index = XIndex",
         (_rnd("test_backup_2b"),),
         (),
         gaps=("test_fast_backup_bound_2b's divergent entries are of a term the leader "
               "has, so case 1 is reached only by chance",)),
    Rule("FB4", "Lab handout, accelerated log backtracking (leader, case 2)", _BACKUP, "2B",
         "the leader has entries of XTerm: next_index = just after its last one",
         (_det("test_fast_backup_bound_2b"), _rnd("test_backup_2b")),
         ("R15",)),
    Rule("FB5", "Lab handout, accelerated log backtracking (leader, case 3)", _BACKUP, "2B",
         "the follower's log is too short: next_index = XLen",
         (_rnd("test_backup_2b"), _rnd("test_fail_agree_2b")),
         (),
         gaps=("R16: using XIndex instead: clamped at match_index + 1, a slower but correct "
               "backup",)),
    # -------------------------------------------------------- snapshots
    Rule("IS1", "Figure 13, InstallSnapshot RPC, receiver 1", _SNAP, "2D",
         "reply at once if the leader's term is older than yours",
         (_rnd("test_snapshot_install_unreliable_2d"),),
         (),
         gaps=("no scenario delivers an InstallSnapshot from a deposed leader",)),
    Rule("IS2", "Figure 13, InstallSnapshot RPC, receiver 2", _SNAP, "2D",
         "create a new snapshot file if this is the first chunk (offset 0)",
         unobservable="the lab sends a snapshot whole, in one RPC: there are no chunks"),
    Rule("IS3", "Figure 13, InstallSnapshot RPC, receiver 3", _SNAP, "2D",
         "write the chunk's data at its offset",
         unobservable="the lab sends a snapshot whole, in one RPC: there are no offsets"),
    Rule("IS4", "Figure 13, InstallSnapshot RPC, receiver 4", _SNAP, "2D",
         "reply and wait for more chunks if done is false",
         unobservable="the lab sends a snapshot whole, in one RPC: there is no done flag"),
    Rule("IS5", "Figure 13, InstallSnapshot RPC, receiver 5", _SNAP, "2D",
         "save the snapshot (with the Raft state, in one save), replacing any older one",
         (_det("test_snapshot_install_crash_2d"), _det("test_snapshot_all_crash_2d"),
          _rnd("test_snapshot_install_uncrash_2d")),
         ("S8", "S8b"),
         gaps=("S8b: the installed snapshot's bytes not saved: only after a later crash, "
               "on a few seeds of test_snapshot_install_crash_2d and "
               "test_snapshot_install_uncrash_2d",)),
    Rule("IS6", "Figure 13, InstallSnapshot RPC, receiver 6", _SNAP, "2D",
         "if your log has an entry with the snapshot's last included index and term, keep "
         "the entries after it",
         (_det("test_snapshot_keep_suffix_scenario_2d"),
          _rnd("test_snapshot_install_unreliable_2d"), _rnd("test_snapshot_install_uncrash_2d")),
         ("S3",)),
    Rule("IS7", "Figure 13, InstallSnapshot RPC, receiver 7", _SNAP, "2D",
         "otherwise discard the entire log",
         (_rnd("test_snapshot_install_2d"), _rnd("test_snapshot_install_unreliable_2d")),
         (),
         gaps=("S4: the suffix kept although the entry at the snapshot's index conflicts "
               "or is missing: no scenario plays it",)),
    Rule("IS8", "Figure 13, InstallSnapshot RPC, receiver 8", _SNAP, "2D",
         "reset the state machine with the snapshot: send it on apply_ch, and move "
         "commit_index and last_applied to its index, before the entries after it",
         (_det("test_snapshot_install_2d"), _det("test_snapshot_during_apply_scenario_2d"),
          _det("sequential apply")),
         ("S6", "S14", "S15")),
    Rule("IS9", "Lab handout; Figure 13 (an InstallSnapshot older than your snapshot)", _SNAP,
         "2D",
         "ignore an InstallSnapshot that your snapshot (or commit index) already covers: the "
         "state machine never goes back",
         (_det("test_stale_snapshot_scenario_2d"), _det("sequential apply"),
          _rnd("test_snapshot_install_unreliable_2d")),
         ("S5",)),
    Rule("SN1", "§7; Figure 13 (leader side)", _SNAP, "2D",
         "a leader sends InstallSnapshot to a follower that needs entries it has discarded, "
         "and on success moves that follower's next_index and match_index past the snapshot",
         (_det("test_snapshot_install_2d"), _rnd("test_snapshot_install_unreliable_2d")),
         ("S9", "S10")),
    Rule("SN2", "Lab handout, Snapshot(index, snapshot)", _SNAP, "2D",
         "snapshot(index): discard the log through index, keep that entry's term, save the "
         "snapshot with the state; an index at or before your snapshot changes nothing",
         (_det("test_snapshot_basic_2d"), _det("test_snapshot_install_2d")),
         ("S1", "S1b", "S2", "S2b", "S12"),
         gaps=("S11: an older snapshot() call not ignored: the tester never makes one",)),
    # ---------------------------------------------------------- part 2E
    Rule("PV1", "Raft thesis §9.6 (PreVote)", _2E, "2E",
         "on an election timeout, first ask for pre-votes for current_term + 1, changing "
         "neither current_term nor voted_for, on either side; stand for election only "
         "with a majority of pre-votes",
         (_det("test_deaf_follower_2e"), _det("test_partial_connectivity_2e"),
          _det("test_persist2_2c")),
         ("V1", "V2", "V3", "V4", "V5", "V6")),
    Rule("PV2", "Raft thesis §9.6 (PreVote)", _2E, "2E",
         "refuse a pre-vote while you hear from a current leader (within the minimum "
         "election timeout), and grant it only if you would grant the vote (§5.4.1)",
         (_det("test_chain_2e"), _det("test_deaf_follower_2e")),
         ("V10",)),
    Rule("CQ1", "etcd Config.CheckQuorum", _2E, "2E",
         "a leader that has not had a reply from a majority (itself included) within an "
         "election timeout steps down; its lease counts replies, not what it sends",
         (_det("test_deaf_leader_2e"), _det("test_stale_outbound_leader_2e"),
          _rnd("test_deaf_follower_unreliable_2e")),
         ("V7", "V8", "V9")),
)


def coverage() -> tuple[int, int]:
    """(rules checked deterministically, all rules)."""
    return sum(1 for r in RULES if r.deterministic), len(RULES)


def _checks_cell(rule: Rule) -> str:
    if rule.unobservable:
        return "not observable: " + rule.unobservable
    parts = []
    for check in rule.checks:
        name = f"safety monitor \"{check.name}\"" if check.monitor else f"`{check.name}`"
        if check.deterministic:
            name += " (every seed" + (", 2E off" if check.plain_only else "") + ")"
        parts.append(name)
    cell = ", ".join(parts) if parts else "none"
    if rule.gaps:
        cell += "; *partly checked*: some bugs in this rule pass on some seeds, or on all"
    return cell


def _wrap(paragraph: str) -> list[str]:
    """A paragraph as the handout writes prose: lines of at most WIDTH characters."""
    return textwrap.wrap(paragraph, WIDTH, break_long_words=False, break_on_hyphens=False)


def render_markdown() -> str:
    """The handout appendix: the rules, and which tests check each (ends in a newline)."""
    checked, total = coverage()
    lines = [f"## {APPENDIX}. Appendix: what the tests check", ""]
    for paragraph in (
        "Every numbered rule of Figure 2 and Figure 13 of the extended Raft paper, the "
        "lab's fast backup and snapshot rules, and part 2E's, with the tests and the safety "
        "monitors ([8](#8-appendix-the-tests)) that fail a Raft that breaks each. "
        "The rule labels (PS1, RV2, ...) are this table's own.",
        "\"Every seed\" means the test fails whatever the seed when the rule is broken: its "
        "schedule always reaches the case that matters (\"2E off\": with PreVote and "
        "CheckQuorum switched off, as in parts 2A–2D). The other tests catch a broken rule "
        "only on the seeds whose schedule exposes it, so passing them once proves little: "
        "run many seeds. A rule is *partly checked* when some way of breaking it gets past "
        "its every-seed tests: those bugs fail only on some seeds, or on none.",
        f"{checked} of {total} rules are checked on every seed, for every way of breaking "
        "them that we know of.",
    ):
        lines += [*_wrap(paragraph), ""]
    heading = ""
    number = 0
    for i, rule in enumerate(RULES):
        if rule.heading != heading:
            heading = rule.heading
            number += 1
            lines += [f"### {APPENDIX}.{number} {heading}", "",
                      "| rule | part | what it asks | checked by |", "|---|---|---|---|"]
        lines.append(f"| {rule.id} ({rule.source}) | {rule.part} | {rule.text} | "
                     f"{_checks_cell(rule)} |")
        if i + 1 == len(RULES) or RULES[i + 1].heading != heading:
            lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------ the handout's copy


def rewrite_section(handout: str) -> str:
    """``handout`` (HANDOUT.md's text) with the text between RULES_BEGIN and RULES_END
    replaced by render_markdown(); a ValueError if the markers are missing or repeated."""
    if handout.count(RULES_BEGIN) != 1 or handout.count(RULES_END) != 1:
        raise ValueError(f"the handout must hold the markers {RULES_BEGIN!r} and {RULES_END!r} "
                         "once each, in that order, around the rule table's appendix")
    before, rest = handout.split(RULES_BEGIN)
    if RULES_END not in rest:
        raise ValueError(f"{RULES_END!r} comes before {RULES_BEGIN!r} in the handout")
    _, after = rest.split(RULES_END)
    return f"{before}{RULES_BEGIN}\n\n{render_markdown()}\n{RULES_END}{after}"


def rewrite_appendix(path: Path = HANDOUT) -> bool:
    """Regenerate the appendix in the handout at ``path``; True if it changed."""
    old = path.read_text(encoding="utf-8")
    new = rewrite_section(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.rules [--check] [HANDOUT]``: regenerate the appendix (0), or,
    with --check, say whether it is up to date (0) or stale (1); 2 if the markers
    are wrong."""
    parser = argparse.ArgumentParser(prog="python -m grader.rules",
                                     description="Regenerate HANDOUT.md's appendix \"What "
                                                 "the tests check\" from the rule table.")
    parser.add_argument("--check", action="store_true",
                        help="only check that the appendix is up to date")
    parser.add_argument("handout", nargs="?", type=Path, default=HANDOUT)
    args = parser.parse_args(argv)
    path: Path = args.handout
    try:
        if args.check:
            text = path.read_text(encoding="utf-8")
            stale = rewrite_section(text) != text
            print(f"{path}: the rule table appendix is {'stale' if stale else 'up to date'}")
            return 1 if stale else 0
        changed = rewrite_appendix(path)
    except ValueError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    print(f"{path}: the rule table appendix {'rewritten' if changed else 'was up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
