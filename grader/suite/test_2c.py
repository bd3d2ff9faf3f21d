"""Part 2C: persistence. MIT's tests, same scenarios, constants and messages.

``start1(i)`` crashes server i (if up) and restarts it from its persister;
``crash1(i)`` crashes it and leaves it down. Goroutines are tasks on the
simulated loop.
"""

from __future__ import annotations

import asyncio

from harness import RAFT_ELECTION_TIMEOUT, Config, Fatal, MakeConfig


async def test_persist1_2c(make_config: MakeConfig) -> None:
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2C): basic persistence")

    await cfg.one(11, servers, True)

    # crash and re-start all
    for i in range(servers):
        cfg.start1(i)
    for i in range(servers):
        cfg.disconnect(i)
        cfg.connect(i)

    await cfg.one(12, servers, True)

    leader1 = await cfg.check_one_leader()
    cfg.disconnect(leader1)
    cfg.start1(leader1)
    cfg.connect(leader1)

    await cfg.one(13, servers, True)

    leader2 = await cfg.check_one_leader()
    cfg.disconnect(leader2)
    await cfg.one(14, servers - 1, True)
    cfg.start1(leader2)
    cfg.connect(leader2)

    await cfg.wait(4, servers, -1)  # wait for leader2 to join before killing i3

    i3 = (await cfg.check_one_leader() + 1) % servers
    cfg.disconnect(i3)
    await cfg.one(15, servers - 1, True)
    cfg.start1(i3)
    cfg.connect(i3)

    await cfg.one(16, servers, True)

    cfg.end()


async def test_persist2_2c(make_config: MakeConfig) -> None:
    servers = 5
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2C): more persistence")

    index = 1
    for _ in range(5):
        await cfg.one(10 + index, servers, True)
        index += 1

        leader1 = await cfg.check_one_leader()

        cfg.disconnect((leader1 + 1) % servers)
        cfg.disconnect((leader1 + 2) % servers)

        await cfg.one(10 + index, servers - 2, True)
        index += 1

        cfg.disconnect((leader1 + 0) % servers)
        cfg.disconnect((leader1 + 3) % servers)
        cfg.disconnect((leader1 + 4) % servers)

        cfg.start1((leader1 + 1) % servers)
        cfg.start1((leader1 + 2) % servers)
        cfg.connect((leader1 + 1) % servers)
        cfg.connect((leader1 + 2) % servers)

        await asyncio.sleep(RAFT_ELECTION_TIMEOUT)

        cfg.start1((leader1 + 3) % servers)
        cfg.connect((leader1 + 3) % servers)

        await cfg.one(10 + index, servers - 2, True)
        index += 1

        cfg.connect((leader1 + 4) % servers)
        cfg.connect((leader1 + 0) % servers)

    await cfg.one(1000, servers, True)

    cfg.end()


async def test_persist3_2c(make_config: MakeConfig) -> None:
    servers = 3
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2C): partitioned leader and one follower crash, leader restarts")

    await cfg.one(101, 3, True)

    leader = await cfg.check_one_leader()
    cfg.disconnect((leader + 2) % servers)

    await cfg.one(102, 2, True)

    cfg.crash1((leader + 0) % servers)
    cfg.crash1((leader + 1) % servers)
    cfg.connect((leader + 2) % servers)
    cfg.start1((leader + 0) % servers)
    cfg.connect((leader + 0) % servers)

    await cfg.one(103, 2, True)

    cfg.start1((leader + 1) % servers)
    cfg.connect((leader + 1) % servers)

    await cfg.one(104, servers, True)

    cfg.end()


async def _figure8_sleep(cfg: Config) -> None:
    """Mostly a short pause; one time in ten, up to half an election timeout."""
    if cfg.rand_int() % 1000 < 100:
        ms = cfg.rand_int() % (int(RAFT_ELECTION_TIMEOUT * 1000) // 2)
    else:
        ms = cfg.rand_int() % 13
    await asyncio.sleep(ms / 1000)


async def test_figure8_2c(make_config: MakeConfig) -> None:
    """Test the scenarios described in Figure 8 of the extended Raft paper.

    Each iteration asks a leader, if there is one, to insert a command in the
    Raft log. If there is a leader, that leader will fail quickly with a high
    probability (perhaps without committing the command), or crash after a
    while with low probability (most likely committing the command). If the
    number of alive servers isn't enough to form a majority, perhaps start a
    new server. The leader in a new term may try to finish replicating log
    entries that haven't been committed yet.
    """
    servers = 5
    cfg = make_config(servers, False, False)

    cfg.begin("Test (2C): Figure 8")

    await cfg.one(cfg.rand_int(), 1, True)

    nup = servers
    for _ in range(1000):
        leader = -1
        for i in range(servers):
            if cfg.rafts[i] is not None:
                _, _, ok = cfg.start_cmd(i, cfg.rand_int())
                if ok:
                    leader = i

        await _figure8_sleep(cfg)

        if leader != -1:
            cfg.crash1(leader)
            nup -= 1

        if nup < 3:
            s = cfg.rand_int() % servers
            if cfg.rafts[s] is None:
                cfg.start1(s)
                cfg.connect(s)
                nup += 1

    for i in range(servers):
        if cfg.rafts[i] is None:
            cfg.start1(i)
            cfg.connect(i)

    await cfg.one(cfg.rand_int(), servers, True)

    cfg.end()


async def test_unreliable_agree_2c(make_config: MakeConfig) -> None:
    servers = 5
    cfg = make_config(servers, True, False)

    cfg.begin("Test (2C): unreliable agreement")

    clients: list[asyncio.Task[int]] = []
    for iters in range(1, 50):
        for j in range(4):
            clients.append(asyncio.create_task(cfg.one((100 * iters) + j, 1, True)))
        await cfg.one(iters, 1, True)

    cfg.set_unreliable(False)

    await asyncio.gather(*clients)

    await cfg.one(100, servers, True)

    cfg.end()


async def test_figure8_unreliable_2c(make_config: MakeConfig) -> None:
    servers = 5
    cfg = make_config(servers, True, False)

    cfg.begin("Test (2C): Figure 8 (unreliable)")

    await cfg.one(cfg.rand_int() % 10000, 1, True)

    nup = servers
    for iters in range(1000):
        if iters == 200:
            cfg.set_long_reordering(True)
        leader = -1
        for i in range(servers):
            _, _, ok = cfg.start_cmd(i, cfg.rand_int() % 10000)
            if ok and cfg.connected[i]:
                leader = i

        await _figure8_sleep(cfg)

        if leader != -1 and (cfg.rand_int() % 1000) < int(RAFT_ELECTION_TIMEOUT * 1000) // 2:
            cfg.disconnect(leader)
            nup -= 1

        if nup < 3:
            s = cfg.rand_int() % servers
            if not cfg.connected[s]:
                cfg.connect(s)
                nup += 1

    for i in range(servers):
        if not cfg.connected[i]:
            cfg.connect(i)

    await cfg.one(cfg.rand_int() % 10000, servers, True)

    cfg.end()


async def _internal_churn(make_config: MakeConfig, unreliable: bool) -> None:
    servers = 5
    cfg = make_config(servers, unreliable, False)

    if unreliable:
        cfg.begin("Test (2C): unreliable churn")
    else:
        cfg.begin("Test (2C): churn")

    stop = False

    # create concurrent clients
    async def cfn(me: int) -> list[int] | None:
        values: list[int] = []
        while not stop:
            x = cfg.rand_int()
            index = -1
            ok = False
            for i in range(servers):
                # try them all, maybe one of them is a leader
                if cfg.rafts[i] is not None:
                    index1, _, ok1 = cfg.start_cmd(i, x)
                    if ok1:
                        ok = ok1
                        index = index1
            if ok:
                # maybe leader will commit our value, maybe not.
                # but don't wait forever.
                for to in (10, 20, 50, 100, 200):
                    nd, cmd = cfg.n_committed(index)
                    if nd > 0:
                        if type(cmd) is int:
                            if cmd == x:
                                values.append(x)
                        else:
                            raise Fatal("wrong command type")
                        break
                    await asyncio.sleep(to / 1000)
            else:
                await asyncio.sleep((79 + me * 17) / 1000)
        return values

    ncli = 3
    clients = [asyncio.create_task(cfn(i)) for i in range(ncli)]

    for _ in range(20):
        if (cfg.rand_int() % 1000) < 200:
            i = cfg.rand_int() % servers
            cfg.disconnect(i)

        if (cfg.rand_int() % 1000) < 500:
            i = cfg.rand_int() % servers
            if cfg.rafts[i] is None:
                cfg.start1(i)
            cfg.connect(i)

        if (cfg.rand_int() % 1000) < 200:
            i = cfg.rand_int() % servers
            if cfg.rafts[i] is not None:
                cfg.crash1(i)

        # Make crash/restart infrequent enough that the peers can often
        # keep up, but not so infrequent that everything has settled
        # down from one change to the next. Pick a value smaller than
        # the election timeout, but not hugely smaller.
        await asyncio.sleep((RAFT_ELECTION_TIMEOUT * 7) / 10)

    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)
    cfg.set_unreliable(False)
    for i in range(servers):
        if cfg.rafts[i] is None:
            cfg.start1(i)
        cfg.connect(i)

    stop = True

    values: list[int] = []
    for client in clients:
        vv = await client
        if vv is None:
            raise Fatal("client failed")
        values.extend(vv)

    await asyncio.sleep(RAFT_ELECTION_TIMEOUT)

    last_index = await cfg.one(cfg.rand_int(), servers, True)

    really: list[int] = []
    for index in range(1, last_index + 1):
        v = await cfg.wait(index, servers, -1)
        if type(v) is int:
            really.append(v)
        else:
            raise Fatal("not an int")

    for v1 in values:
        if v1 not in really:
            raise Fatal("didn't find a value")

    cfg.end()


async def test_reliable_churn_2c(make_config: MakeConfig) -> None:
    await _internal_churn(make_config, False)


async def test_unreliable_churn_2c(make_config: MakeConfig) -> None:
    await _internal_churn(make_config, True)
