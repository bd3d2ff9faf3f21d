"""Part 2D: log compaction. MIT's tests, same scenarios, constants and messages.

These clusters use the snapshot applier: every SNAPSHOT_INTERVAL (10) applied
entries, the tester asks each server to ``snapshot(index, data)``.
"""

from __future__ import annotations

from harness import SNAPSHOT_INTERVAL, Fatal, MakeConfig

MAXLOGSIZE = 2000
"""Bytes of persisted Raft state (``raft_state_size``) allowed once snapshots
are taken, as in MIT's test (where it counts labgob bytes).

Calibration for our codec (measured on seeds 1-3): ``harness.encode`` of a log
of (term, command) tuples with 63-bit int commands takes about 15 bytes an
entry, as gob does. The reference, which trims at every snapshot, peaks at
170-390 bytes in the 2D tests; the same code with trimming removed passes
2000 bytes after about 130 entries and fails "Log size too large" on every
seed. Entries kept as dataclasses (about 30 bytes each) or JSON (about 26)
leave the same margin on both sides, so the constant stays MIT's."""


async def _snapcommon(make_config: MakeConfig, name: str, disconnect: bool, reliable: bool,
                      crash: bool) -> None:
    iters = 30
    servers = 3
    cfg = make_config(servers, not reliable, True)

    cfg.begin(name)

    await cfg.one(cfg.rand_int(), servers, True)
    leader1 = await cfg.check_one_leader()

    for i in range(iters):
        victim = (leader1 + 1) % servers
        sender = leader1
        if i % 3 == 1:
            sender = (leader1 + 1) % servers
            victim = leader1

        if disconnect:
            cfg.disconnect(victim)
            await cfg.one(cfg.rand_int(), servers - 1, True)
        if crash:
            cfg.crash1(victim)
            await cfg.one(cfg.rand_int(), servers - 1, True)

        # perhaps send enough to get a snapshot
        nn = (SNAPSHOT_INTERVAL // 2) + (cfg.rand_int() % SNAPSHOT_INTERVAL)
        for _ in range(nn):
            cfg.start_cmd(sender, cfg.rand_int())

        # let applier threads catch up with the Start()'s
        if not disconnect and not crash:
            # make sure all followers have caught up, so that
            # an InstallSnapshot RPC isn't required for
            # test_snapshot_basic_2d().
            await cfg.one(cfg.rand_int(), servers, True)
        else:
            await cfg.one(cfg.rand_int(), servers - 1, True)

        if cfg.log_size() >= MAXLOGSIZE:
            raise Fatal("Log size too large")
        if disconnect:
            # reconnect a follower, who maybe behind and
            # needs to rceive a snapshot to catch up.
            cfg.connect(victim)
            await cfg.one(cfg.rand_int(), servers, True)
            leader1 = await cfg.check_one_leader()
        if crash:
            cfg.start1(victim)
            cfg.connect(victim)
            await cfg.one(cfg.rand_int(), servers, True)
            leader1 = await cfg.check_one_leader()
    cfg.end()


async def test_snapshot_basic_2d(make_config: MakeConfig) -> None:
    await _snapcommon(make_config, "Test (2D): snapshots basic", False, True, False)


async def test_snapshot_install_2d(make_config: MakeConfig) -> None:
    await _snapcommon(make_config, "Test (2D): install snapshots (disconnect)", True, True,
                      False)


async def test_snapshot_install_unreliable_2d(make_config: MakeConfig) -> None:
    await _snapcommon(make_config, "Test (2D): install snapshots (disconnect+unreliable)",
                      True, False, False)


async def test_snapshot_install_crash_2d(make_config: MakeConfig) -> None:
    await _snapcommon(make_config, "Test (2D): install snapshots (crash)", False, True, True)


async def test_snapshot_install_uncrash_2d(make_config: MakeConfig) -> None:
    await _snapcommon(make_config, "Test (2D): install snapshots (unreliable+crash)", False,
                      False, True)


async def test_snapshot_all_crash_2d(make_config: MakeConfig) -> None:
    """Do the servers persist the snapshots, and restart using snapshot along
    with the tail of the log?"""
    servers = 3
    iters = 5
    cfg = make_config(servers, False, True)

    cfg.begin("Test (2D): crash and restart all servers")

    await cfg.one(cfg.rand_int(), servers, True)

    for _ in range(iters):
        # perhaps enough to get a snapshot
        nn = (SNAPSHOT_INTERVAL // 2) + (cfg.rand_int() % SNAPSHOT_INTERVAL)
        for _ in range(nn):
            await cfg.one(cfg.rand_int(), servers, True)

        index1 = await cfg.one(cfg.rand_int(), servers, True)

        # crash all
        for i in range(servers):
            cfg.crash1(i)

        # revive all
        for i in range(servers):
            cfg.start1(i)
            cfg.connect(i)

        index2 = await cfg.one(cfg.rand_int(), servers, True)
        if index2 < index1 + 1:
            raise Fatal(f"index decreased from {index1} to {index2}")
    cfg.end()


async def test_snapshot_init_2d(make_config: MakeConfig) -> None:
    """Do servers correctly initialize their in-memory copy of the snapshot,
    making sure that future writes to persistent state don't lose state?"""
    servers = 3
    cfg = make_config(servers, False, True)

    cfg.begin("Test (2D): snapshot initialization after crash")
    await cfg.one(cfg.rand_int(), servers, True)

    # enough ops to make a snapshot
    nn = SNAPSHOT_INTERVAL + 1
    for _ in range(nn):
        await cfg.one(cfg.rand_int(), servers, True)

    # crash all
    for i in range(servers):
        cfg.crash1(i)

    # revive all
    for i in range(servers):
        cfg.start1(i)
        cfg.connect(i)

    # a single op, to get something to be written back to persistent storage.
    await cfg.one(cfg.rand_int(), servers, True)

    # crash all
    for i in range(servers):
        cfg.crash1(i)

    # revive all
    for i in range(servers):
        cfg.start1(i)
        cfg.connect(i)

    # do another op to trigger potential bug
    await cfg.one(cfg.rand_int(), servers, True)
    cfg.end()
