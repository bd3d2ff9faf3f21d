"""Part 2B: log replication. MIT's tests, same scenarios, constants and messages.

Goroutines become tasks on the simulated loop; ``cfg.start_cmd(i, cmd)`` is
MIT's ``cfg.rafts[i].Start(cmd)`` and ``cfg.get_state(i)`` its ``GetState()``.
"""

from __future__ import annotations

import asyncio

from harness import RAFT_ELECTION_TIMEOUT, Fatal, MakeConfig, format_v


async def test_basic_agree_2b(make_config: MakeConfig) -> None:
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): basic agreement")

    iters = 3
    for index in range(1, iters + 1):
        nd, _ = cfg.n_committed(index)
        if nd > 0:
            raise Fatal("some have committed before Start()")

        xindex = await cfg.one(index * 100, servers, False)
        if xindex != index:
            raise Fatal(f"got index {xindex} but expected {index}")

    cfg.end()


async def test_rpc_bytes_2b(make_config: MakeConfig) -> None:
    """Check, based on counting bytes of RPCs, that each command is sent to
    each peer just once."""
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): RPC byte count")

    await cfg.one(99, servers, False)
    bytes0 = cfg.bytes_total()

    iters = 10
    sent = 0
    for index in range(2, iters + 2):
        cmd = cfg.randstring(5000)
        xindex = await cfg.one(cmd, servers, False)
        if xindex != index:
            raise Fatal(f"got index {xindex} but expected {index}")
        sent += len(cmd)

    bytes1 = cfg.bytes_total()
    got = bytes1 - bytes0
    expected = servers * sent
    if got > expected + 50000:
        raise Fatal(f"too many RPC bytes; got {got}, expected {expected}")

    cfg.end()


async def test_follower_failure_2b(make_config: MakeConfig) -> None:
    """Test just failure of followers."""
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): test progressive failure of followers")

    await cfg.one(101, servers, False)

    # disconnect one follower from the network.
    leader1 = await cfg.check_one_leader()
    cfg.disconnect((leader1 + 1) % servers)

    # the leader and remaining follower should be
    # able to agree despite the disconnected follower.
    await cfg.one(102, servers - 1, False)
    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)
    await cfg.one(103, servers - 1, False)

    # disconnect the remaining follower
    leader2 = await cfg.check_one_leader()
    cfg.disconnect((leader2 + 1) % servers)
    cfg.disconnect((leader2 + 2) % servers)

    # submit a command.
    index, _, ok = cfg.start_cmd(leader2, 104)
    if not ok:
        raise Fatal("leader rejected Start()")
    if index != 4:
        raise Fatal(f"expected index 4, got {index}")

    await asyncio.sleep(2 * RAFT_ELECTION_TIMEOUT)

    # check that command 104 did not commit.
    n, _ = cfg.n_committed(index)
    if n > 0:
        raise Fatal(f"{n} committed but no majority")

    cfg.end()


async def test_leader_failure_2b(make_config: MakeConfig) -> None:
    """Test just failure of leaders."""
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): test failure of leaders")

    await cfg.one(101, servers, False)

    # disconnect the first leader.
    leader1 = await cfg.check_one_leader()
    cfg.disconnect(leader1)

    # the remaining followers should elect
    # a new leader.
    await cfg.one(102, servers - 1, False)
    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)
    await cfg.one(103, servers - 1, False)

    # disconnect the new leader.
    leader2 = await cfg.check_one_leader()
    cfg.disconnect(leader2)

    # submit a command to each server.
    for i in range(servers):
        cfg.start_cmd(i, 104)

    await asyncio.sleep(2 * RAFT_ELECTION_TIMEOUT)

    # check that command 104 did not commit.
    n, _ = cfg.n_committed(4)
    if n > 0:
        raise Fatal(f"{n} committed but no majority")

    cfg.end()


async def test_fail_agree_2b(make_config: MakeConfig) -> None:
    """Test that a follower participates after disconnect and re-connect."""
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): agreement after follower reconnects")

    await cfg.one(101, servers, False)

    # disconnect one follower from the network.
    leader = await cfg.check_one_leader()
    cfg.disconnect((leader + 1) % servers)

    # the leader and remaining follower should be
    # able to agree despite the disconnected follower.
    await cfg.one(102, servers - 1, False)
    await cfg.one(103, servers - 1, False)
    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)
    await cfg.one(104, servers - 1, False)
    await cfg.one(105, servers - 1, False)

    # re-connect
    cfg.connect((leader + 1) % servers)

    # the full set of servers should preserve
    # previous agreements, and be able to agree
    # on new commands.
    await cfg.one(106, servers, True)
    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)
    await cfg.one(107, servers, True)

    cfg.end()


async def test_fail_no_agree_2b(make_config: MakeConfig) -> None:
    servers = 5
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): no agreement if too many followers disconnect")

    await cfg.one(10, servers, False)

    # 3 of 5 followers disconnect
    leader = await cfg.check_one_leader()
    cfg.disconnect((leader + 1) % servers)
    cfg.disconnect((leader + 2) % servers)
    cfg.disconnect((leader + 3) % servers)

    index, _, ok = cfg.start_cmd(leader, 20)
    if not ok:
        raise Fatal("leader rejected Start()")
    if index != 2:
        raise Fatal(f"expected index 2, got {index}")

    await asyncio.sleep(2 * RAFT_ELECTION_TIMEOUT)

    n, _ = cfg.n_committed(index)
    if n > 0:
        raise Fatal(f"{n} committed but no majority")

    # repair
    cfg.connect((leader + 1) % servers)
    cfg.connect((leader + 2) % servers)
    cfg.connect((leader + 3) % servers)

    # the disconnected majority may have chosen a leader from
    # among their own ranks, forgetting index 2.
    leader2 = await cfg.check_one_leader()
    index2, _, ok2 = cfg.start_cmd(leader2, 30)
    if not ok2:
        raise Fatal("leader2 rejected Start()")
    if index2 < 2 or index2 > 3:
        raise Fatal(f"unexpected index {index2}")

    await cfg.one(1000, servers, True)

    cfg.end()


async def test_concurrent_starts_2b(make_config: MakeConfig) -> None:
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): concurrent Start()s")

    async def attempt() -> bool:
        """One try of MIT's loop; False means `continue loop`."""
        leader = await cfg.check_one_leader()
        _, term, ok = cfg.start_cmd(leader, 1)
        if not ok:
            # leader moved on really quickly
            return False

        iters = 5
        indices: list[int] = []

        async def start(i: int) -> None:
            index, term1, ok = cfg.start_cmd(leader, 100 + i)
            if term1 != term:
                return
            if not ok:
                return
            indices.append(index)

        await asyncio.gather(*(start(ii) for ii in range(iters)))

        for j in range(servers):
            t, _ = cfg.get_state(j)
            if t != term:
                # term changed -- can't expect low RPC counts
                return False

        cmds: list[int] = []
        for index in indices:
            cmd = await cfg.wait(index, servers, term)
            if type(cmd) is int:
                if cmd == -1:
                    # peers have moved on to later terms
                    # so we can't expect all Start()s to
                    # have succeeded
                    return False
                cmds.append(cmd)
            else:
                raise Fatal(f"value {format_v(cmd)} is not an int")

        for ii in range(iters):
            x = 100 + ii
            if x not in cmds:
                raise Fatal(f"cmd {x} missing in {format_v(cmds)}")
        return True

    success = False
    for attempt_no in range(5):
        if attempt_no > 0:
            # give solution some time to settle
            await asyncio.sleep(3)
        if await attempt():
            success = True
            break

    if not success:
        raise Fatal("term changed too often")

    cfg.end()


async def test_rejoin_2b(make_config: MakeConfig) -> None:
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): rejoin of partitioned leader")

    await cfg.one(101, servers, True)

    # leader network failure
    leader1 = await cfg.check_one_leader()
    cfg.disconnect(leader1)

    # make old leader try to agree on some entries
    cfg.start_cmd(leader1, 102)
    cfg.start_cmd(leader1, 103)
    cfg.start_cmd(leader1, 104)

    # new leader commits, also for index=2
    await cfg.one(103, 2, True)

    # new leader network failure
    leader2 = await cfg.check_one_leader()
    cfg.disconnect(leader2)

    # old leader connected again
    cfg.connect(leader1)

    await cfg.one(104, 2, True)

    # all together now
    cfg.connect(leader2)

    await cfg.one(105, servers, True)

    cfg.end()


async def test_backup_2b(make_config: MakeConfig) -> None:
    servers = 5
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): leader backs up quickly over incorrect follower logs")

    await cfg.one(cfg.rand_int(), servers, True)

    # put leader and one follower in a partition
    leader1 = await cfg.check_one_leader()
    cfg.disconnect((leader1 + 2) % servers)
    cfg.disconnect((leader1 + 3) % servers)
    cfg.disconnect((leader1 + 4) % servers)

    # submit lots of commands that won't commit
    for _ in range(50):
        cfg.start_cmd(leader1, cfg.rand_int())

    await asyncio.sleep(RAFT_ELECTION_TIMEOUT / 2)

    cfg.disconnect((leader1 + 0) % servers)
    cfg.disconnect((leader1 + 1) % servers)

    # allow other partition to recover
    cfg.connect((leader1 + 2) % servers)
    cfg.connect((leader1 + 3) % servers)
    cfg.connect((leader1 + 4) % servers)

    # lots of successful commands to new group.
    for _ in range(50):
        await cfg.one(cfg.rand_int(), 3, True)

    # now another partitioned leader and one follower
    leader2 = await cfg.check_one_leader()
    other = (leader1 + 2) % servers
    if leader2 == other:
        other = (leader2 + 1) % servers
    cfg.disconnect(other)

    # lots more commands that won't commit
    for _ in range(50):
        cfg.start_cmd(leader2, cfg.rand_int())

    await asyncio.sleep(RAFT_ELECTION_TIMEOUT / 2)

    # bring original leader back to life,
    for i in range(servers):
        cfg.disconnect(i)
    cfg.connect((leader1 + 0) % servers)
    cfg.connect((leader1 + 1) % servers)
    cfg.connect(other)

    # lots of successful commands to new group.
    for _ in range(50):
        await cfg.one(cfg.rand_int(), 3, True)

    # now everyone
    for i in range(servers):
        cfg.connect(i)
    await cfg.one(cfg.rand_int(), servers, True)

    cfg.end()


async def test_count_2b(make_config: MakeConfig) -> None:
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2B): RPC counts aren't too high")

    def rpcs() -> int:
        return sum(cfg.rpc_count(j) for j in range(servers))

    await cfg.check_one_leader()

    total1 = rpcs()

    if total1 > 30 or total1 < 1:
        raise Fatal(f"too many or few RPCs ({total1}) to elect initial leader")

    total2 = 0

    async def attempt() -> bool:
        """One try of MIT's loop; False means `continue loop`."""
        nonlocal total2
        leader = await cfg.check_one_leader()
        total1 = rpcs()

        iters = 10
        starti, term, ok = cfg.start_cmd(leader, 1)
        if not ok:
            # leader moved on really quickly
            return False
        cmds: list[int] = []
        for i in range(1, iters + 2):
            x = cfg.rand.getrandbits(31)  # Go's rand.Int31()
            cmds.append(x)
            index1, term1, ok = cfg.start_cmd(leader, x)
            if term1 != term:
                # Term changed while starting
                return False
            if not ok:
                # No longer the leader, so term has changed
                return False
            if starti + i != index1:
                raise Fatal("Start() failed")

        for i in range(1, iters + 1):
            cmd = await cfg.wait(starti + i, servers, term)
            if type(cmd) is not int or cmd != cmds[i - 1]:
                if cmd == -1:
                    # term changed -- try again
                    return False
                raise Fatal(f"wrong value {format_v(cmd)} committed for index {starti + i}; "
                            f"expected {format_v(cmds)}")

        failed = False
        total2 = 0
        for j in range(servers):
            t, _ = cfg.get_state(j)
            if t != term:
                # term changed -- can't expect low RPC counts
                # need to keep going to update total2
                failed = True
            total2 += cfg.rpc_count(j)

        if failed:
            return False

        if total2 - total1 > (iters + 1 + 3) * 3:
            raise Fatal(f"too many RPCs ({total2 - total1}) for {iters} entries")

        return True

    success = False
    for attempt_no in range(5):
        if attempt_no > 0:
            # give solution some time to settle
            await asyncio.sleep(3)
        if await attempt():
            success = True
            break

    if not success:
        raise Fatal("term changed too often")

    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)

    total3 = sum(cfg.rpc_count(j) for j in range(servers))

    if total3 - total2 > 3 * 20:
        raise Fatal(f"too many RPCs ({total3 - total2}) for 1 second of idleness")

    cfg.end()
