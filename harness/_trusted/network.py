"""The simulated network: MIT's labrpc, message for message, in virtual time.

    net = Network(loop, rng, trace)        # reliable, no long delays/reordering
    end = net.make_end(src, dst, number)   # a client end from src to server dst;
                                           #   disabled until enabled
    net.add_server(dst, handle)            # adds or replaces server dst (a ServerHandle)
    net.delete_server(dst)                 # dst is gone (crashed)
    net.enable(end, True)                  # connect / disconnect one end
    net.set_reliable(False)                # drop and delay (below)
    net.set_long_reordering(True)          # delay most replies a lot
    net.set_long_delays(True)              # unreachable: None after 0..7 s
    net.block(a, b) / net.unblock(a, b)    # one-way link a -> b (beyond labrpc)
    net.partition([0, 1], [2, 3, 4])       # block every link across groups
    net.heal()                             # unblock every link
    net.intercept(fn)                      # see every message; drop, hold or delay it
    net.release(pred)                      # deliver held messages (all, or those matching)
    net.discard(pred)                      # lose held messages (their callers get None)
    net.on_halt = fn; net.resume(dst)      # a "halt" verdict's callback; go on after it

    net.send(end, method, data, done)      # a server's call: done(reply bytes or None)
    reply = await end.call("echo", args)   # an outside client's call (tests, bench)

Payloads are the bytes the calling server encoded; the network never looks
inside them (it counts and traces them). ``done`` gets the handler's reply
bytes, or None if the network lost the request or the reply, or the server is
down or unreachable. It never fails for a network fault. Concurrent calls may
be delivered out of order. It always ends, perhaps after a (virtual) delay of
up to 7 s, unless the handler never returns.

The decision procedure is labrpc's ``processReq``, with its constants:

  * The flags (end enabled, the server, reliable, long reordering) are read
    once, when the request is sent. A blocked link counts as a disabled end.
  * Enabled end and live server:
      - unreliable: the request waits ``randrange(27)`` ms, then is dropped
        with probability 100/1000 (the caller gets None);
      - the handler runs on the server (a "deliver" command to its sandbox).
        If it is ``async``, the network checks every 100 ms whether the
        server died meanwhile, as labrpc's poll does;
      - when the handler has returned: if the server was killed or replaced,
        or the caller's end was disabled, the caller gets None (labrpc:
        "do not reply if DeleteServer() has been called");
      - else unreliable: the reply is dropped with probability 100/1000 -
        the handler DID run;
      - else long reordering: with probability 600/900 the reply is delayed
        ``200 + randrange(1 + randrange(2000))`` ms;
      - else the reply is delivered.
  * Disabled end, blocked link, or no server: the caller gets None after
    ``randrange(7000)`` ms with long delays ("let Raft tests check that
    leader doesn't send RPCs synchronously"), else ``randrange(100)`` ms.
  * Beyond labrpc: every message (request and reply) also takes a small seeded
    latency, ``latency`` seconds drawn uniformly (default 0.1-1 ms). Zero-time
    delivery hides interleavings the tests rely on and lets a retry loop stop
    the clock. ``latency=(0, 0)`` gives labrpc's instant delivery.

Counting, as labrpc counts: ``total_rpcs`` counts every call (dropped ones and
calls on disabled ends too); ``total_bytes`` counts encoded requests when sent
and replies when delivered; ``rpc_count(server)`` counts requests dispatched
to the server's current incarnation (it restarts at 0 after a restart).

A dead incarnation is dead forever: its ends are never enabled again and its
server object is replaced, so no reply it was about to send is delivered.
A dispatch to a server that died after the request was sent does not run
the handler (the process is gone); the caller gets None.

Interception (for scripted scenarios): ``fn(msg) -> None | "drop" | "hold" |
"halt" | seconds`` sees each request when it is sent on a live link and each
reply when its handler returns (``msg.kind`` is "request" or "reply";
``src``/``dst`` are the message's own direction). None delivers as usual;
"drop" loses it (the caller gets None); "hold" parks it until ``release``; a
number adds that much delay. Held messages keep their place in labrpc's
procedure: a released request is dispatched (to whatever is left of its
server), a released reply delivered.

"halt" (requests only) delivers the request as usual, but the server's step
ends the moment the handler returns: the reply leaves, and the server is
paused before anything it deferred (a ``call_soon``, a task the handler
started, the rest of its loop) runs. Then ``on_halt(msg)`` is called, in an
event of its own at the same instant, and must either crash the server (the
tester's ``crash1``: a crash right after the reply left) or ``resume(dst)``.
While paused, requests to the server wait, as do replies to its calls.

Handlers are the server's business: its sandbox checks the method name, runs
the handler and encodes the reply (``harness._sandbox.host``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from .._codec import encode
from .safe_decode import SafeDecodeError, safe_decode
from .trace import PAYLOAD_LIMIT, Trace

if TYPE_CHECKING:
    from .servers import ServerHandle

# labrpc's constants (src/labrpc/labrpc.go, 2023).
SHORT_DELAY_MS: Final = 27          # unreliable: request waits rand % 27 ms
DROP_RATE: Final = 100 / 1000       # unreliable: 10 % of requests, 10 % of replies
REORDER_RATE: Final = 600 / 900     # long reordering: 600/900 of replies ...
REORDER_BASE_MS: Final = 200        # ... wait 200 + rand(1 + rand(2000)) ms
REORDER_SPREAD_MS: Final = 2000
LONG_DELAY_MS: Final = 7000         # unreachable, long delays: None after rand % 7000 ms
SHORT_UNREACHABLE_MS: Final = 100   # unreachable, no long delays: rand % 100 ms
DEAD_POLL: Final = 0.1              # labrpc polls for a dead server every 100 ms

DEFAULT_LATENCY: Final = (0.0001, 0.001)

MAX_PENDING_CALLS: Final = 100_000
MAX_PENDING_BYTES: Final = 256 * 1024 * 1024
"""Calls (and their bytes) the network holds at once before the run fails: the
trusted side's memory is not the sandbox's to fill. A Raft has a few hundred."""

Done = Callable[[bytes | None], None]


class ClientEnd:
    """One server's connection to another, on the trusted side: the network's
    record of who may send to whom (``enabled``), per server life."""

    __slots__ = ("_net", "dst", "enabled", "inc", "src")

    def __init__(self, net: Network, src: int, dst: int, inc: int) -> None:
        self._net = net
        self.src = src
        self.dst = dst
        self.inc = inc
        self.enabled = False

    async def call(self, method: str, args: object) -> Any:
        """An outside client's call (raftlab's tests and benchmarks): ``args`` is
        encoded here, the reply read with ``safe_decode``; None if lost."""
        loop = self._net._loop
        fut: asyncio.Future[bytes | None] = loop.create_future()

        def done(data: bytes | None) -> None:
            if not fut.done():
                fut.set_result(data)

        self._net.send(self, method, encode(args), done)
        data = await fut
        if data is None:
            return None
        try:
            return safe_decode(data)
        except SafeDecodeError:
            return None

    def __repr__(self) -> str:
        return f"<ClientEnd {self.src}->{self.dst}{'' if self.enabled else ' disabled'}>"


class Server:
    """A server life registered as server ``sid``."""

    __slots__ = ("count", "handle", "sid")

    def __init__(self, sid: int, handle: ServerHandle) -> None:
        self.sid = sid
        self.handle = handle
        self.count = 0


class Message:
    """What an interceptor sees of a message (never its payload: the code under
    test is a black box)."""

    __slots__ = ("call", "dst", "kind", "method", "src", "time")

    def __init__(self, kind: str, src: int, dst: int, method: str, call: int,
                 time: float) -> None:
        self.kind = kind
        self.src = src
        self.dst = dst
        self.method = method
        self.call = call
        self.time = time

    def __repr__(self) -> str:
        return f"<{self.kind} #{self.call} {self.method} S{self.src}->S{self.dst} @{self.time:.4f}>"


Verdict = None | str | float
Interceptor = Callable[[Message], Verdict]


class _Call:
    __slots__ = ("cid", "data", "done", "end", "halt", "method", "poll", "reliable",
                 "reordering", "server")

    def __init__(self, cid: int, end: ClientEnd, method: str, data: bytes, done: Done,
                 server: Server | None, reliable: bool, reordering: bool) -> None:
        self.cid = cid
        self.end = end
        self.method = method
        self.data = data
        self.done: Done | None = done
        self.server = server
        self.reliable = reliable
        self.reordering = reordering
        self.poll: Any = None
        self.halt = False


class Network:
    """labrpc in virtual time. See the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rng: random.Random, trace: Trace, *,
                 latency: tuple[float, float] = DEFAULT_LATENCY) -> None:
        self._loop = loop
        self._rng = rng
        self._trace = trace
        self._latency = latency
        self.reliable = True
        self.long_reordering = False
        self.long_delays = False
        self.total_rpcs = 0
        self.total_bytes = 0
        self._events = trace.events
        self._random = rng.random
        self._schedule: Callable[..., Any] = getattr(loop, "schedule", None) or self._call_at
        self._servers: dict[int, Server] = {}
        self._blocked: set[tuple[int, int]] = set()
        self._next_cid = 1
        self._interceptor: Interceptor | None = None
        self._held: list[tuple[Message, Callable[..., None], tuple[Any, ...]]] = []
        self._pending: dict[int, _Call] = {}  # calls whose async handler is still running
        self.pending_calls = 0  # calls not yet ended, and the bytes they hold
        self.pending_bytes = 0
        self.on_halt: Callable[[Message], None] | None = None
        self._waiting: dict[int, list[_Call]] = {}  # requests to paused servers

    # ------------------------------------------------------------ topology

    def make_end(self, src: int, dst: int, inc: int = 0) -> ClientEnd:
        """A new, disabled end from ``src`` (-1: an outside client) to server ``dst``."""
        return ClientEnd(self, src, dst, inc)

    def enable(self, end: ClientEnd, enabled: bool) -> None:
        end.enabled = enabled

    def add_server(self, sid: int, handle: ServerHandle) -> Server:
        server = Server(sid, handle)
        self._servers[sid] = server
        return server

    def delete_server(self, sid: int) -> None:
        self._servers.pop(sid, None)
        for c in self._waiting.pop(sid, []):
            self._lose(c, "server dead")

    def server(self, sid: int) -> Server | None:
        return self._servers.get(sid)

    def block(self, src: int, dst: int) -> None:
        """Drop every message from ``src`` to ``dst`` (requests and replies)."""
        if (src, dst) not in self._blocked:
            self._blocked.add((src, dst))
            self._trace.add(self._loop.time(), "link", src, 0, dst, True)

    def unblock(self, src: int, dst: int) -> None:
        if (src, dst) in self._blocked:
            self._blocked.discard((src, dst))
            self._trace.add(self._loop.time(), "link", src, 0, dst, False)

    def is_blocked(self, src: int, dst: int) -> bool:
        return (src, dst) in self._blocked

    def partition(self, *groups: Iterable[int]) -> None:
        """Block every link between servers of different groups (both ways)."""
        self.heal()
        sets = [sorted(set(g)) for g in groups]
        for i, a_group in enumerate(sets):
            for j, b_group in enumerate(sets):
                if i != j:
                    for a in a_group:
                        for b in b_group:
                            self.block(a, b)

    def heal(self) -> None:
        for src, dst in sorted(self._blocked):
            self.unblock(src, dst)

    def intercept(self, fn: Interceptor | None) -> None:
        """See every message from now on (None: stop). See the module docstring."""
        self._interceptor = fn

    def held(self) -> list[Message]:
        return [m for m, _, _ in self._held]

    def release(self, which: Callable[[Message], bool] | None = None) -> int:
        """Deliver held messages (those ``which`` accepts); return how many."""
        keep = []
        released = 0
        now = self._loop.time()
        for entry in self._held:
            if which is None or which(entry[0]):
                self._at(now + self._hop(), entry[1], *entry[2])
                released += 1
            else:
                keep.append(entry)
        self._held = keep
        return released

    def discard(self, which: Callable[[Message], bool] | None = None) -> int:
        """Lose held messages (those ``which`` accepts): their callers get None."""
        keep = []
        dropped = 0
        for entry in self._held:
            if which is None or which(entry[0]):
                c = entry[2][0]
                self._lose(c, "discarded (scenario)")
                dropped += 1
            else:
                keep.append(entry)
        self._held = keep
        return dropped

    def _verdict(self, kind: str, src: int, dst: int, c: _Call) -> Verdict:
        assert self._interceptor is not None
        verdict = self._interceptor(Message(kind, src, dst, c.method, c.cid, self._loop.time()))
        if verdict == "halt":
            if kind != "request":
                raise ValueError("an interceptor returned 'halt' for a reply; only a request "
                                 "can be halted (its handler has not run yet)")
            if self.on_halt is None:
                raise ValueError("an interceptor returned 'halt', but network.on_halt is not "
                                 "set: nothing would crash or resume the server")
            return verdict
        if verdict is None or verdict in ("drop", "hold") or (
                isinstance(verdict, (int, float)) and not isinstance(verdict, bool)
                and verdict >= 0):
            return verdict
        raise ValueError(f"an interceptor returned {verdict!r}; return None, 'drop', "
                         "'hold', 'halt' or a delay in seconds")

    # ------------------------------------------------------------- settings

    def set_reliable(self, reliable: bool) -> None:
        self.reliable = reliable
        self._trace.add(self._loop.time(), "net", -1, 0, "reliable", reliable)

    def set_long_reordering(self, on: bool) -> None:
        self.long_reordering = on
        self._trace.add(self._loop.time(), "net", -1, 0, "long_reordering", on)

    def set_long_delays(self, on: bool) -> None:
        self.long_delays = on
        self._trace.add(self._loop.time(), "net", -1, 0, "long_delays", on)

    def rpc_count(self, sid: int) -> int:
        """Requests dispatched to server ``sid``'s current incarnation."""
        server = self._servers.get(sid)
        return server.count if server is not None else 0

    # ------------------------------------------------------------- requests

    def send(self, end: ClientEnd, method: str, data: bytes, done: Done) -> None:
        """Start a call; ``done`` gets the reply bytes, or None."""
        dst = end.dst
        loop = self._loop
        size = len(data)
        self.total_rpcs += 1
        self.total_bytes += size
        cid = self._next_cid
        self._next_cid = cid + 1
        now = loop.time()
        self._events.append((now, "send", end.src, end.inc, cid, dst, method, size,
                             data if size <= PAYLOAD_LIMIT else None))
        server = self._servers.get(dst)
        c = _Call(cid, end, method, data, done, server, self.reliable, self.long_reordering)
        self.pending_calls += 1
        self.pending_bytes += size
        if end.enabled and server is not None and (end.src, dst) not in self._blocked:
            delay = self._hop()
            if not c.reliable:
                # labrpc: short delay, then drop 10 % of requests "as if timeout"
                delay += int(self._random() * SHORT_DELAY_MS) / 1000
                if self._random() < DROP_RATE:
                    self._at(now + delay, self._lose, c, "request dropped")
                    return
            if self._interceptor is not None:
                verdict = self._verdict("request", end.src, dst, c)
                if verdict == "drop":
                    self._at(now + delay, self._lose, c, "request dropped (scenario)")
                    return
                if verdict == "hold":
                    self._held.append((Message("request", end.src, dst, method, cid, now),
                                       self._dispatch, (c,)))
                    return
                if verdict == "halt":
                    c.halt = True
                elif verdict is not None:
                    delay += float(verdict)
            self._at(now + delay, self._dispatch, c)
        else:
            # labrpc: "simulate no reply and eventual timeout"
            span = LONG_DELAY_MS if self.long_delays else SHORT_UNREACHABLE_MS
            self._at(now + int(self._random() * span) / 1000, self._lose, c, "unreachable")

    def _hop(self) -> float:
        lo, hi = self._latency
        if hi <= 0:
            return 0.0
        return lo + (hi - lo) * self._random()

    def _at(self, when: float, fn: Callable[..., None], *args: Any) -> Any:
        return self._schedule(when, fn, *args)

    def _call_at(self, when: float, fn: Callable[..., None], *args: Any) -> Any:
        return self._loop.call_at(when, fn, *args)

    def _dispatch(self, c: _Call) -> None:
        server = c.server
        assert server is not None
        handle = server.handle
        if not handle.alive or self._servers.get(server.sid) is not server:
            self._lose(c, "server dead")
            return
        if handle.paused:  # halted at a reply: this request waits for resume()
            self._waiting.setdefault(server.sid, []).append(c)
            return
        server.count += 1
        end = c.end
        self._events.append((self._loop.time(), "deliver", server.sid, handle.number, c.cid,
                             end.src, c.method))
        # Pending before the delivery: an async handler that returns within the
        # delivery's own step reports so (handler_returned) before deliver() does.
        self._pending[c.cid] = c
        outcome = handle.deliver(c.cid, c.method, c.data, c.halt)
        if outcome is None:
            self._pending.pop(c.cid, None)
            self._lose(c, "handler failed")  # the run fails with the server's error
        elif outcome[0] == "reply":
            self._pending.pop(c.cid, None)
            self._reply(c, outcome[1])
        elif c.cid in self._pending:  # the async handler is still running
            c.poll = self._at(self._loop.time() + DEAD_POLL, self._poll, c)

    def handler_returned(self, handle: ServerHandle, cid: int, data: bytes | None) -> None:
        """An async handler of ``handle`` returned (None: it was cancelled)."""
        c = self._pending.get(cid)
        if c is None or c.server is None or c.server.handle is not handle:
            return
        del self._pending[cid]
        if c.poll is not None:
            c.poll.cancel()
        if c.done is None:
            return
        if data is None:
            self._lose(c, "server dead")
        else:
            self._reply(c, data)

    def _halted(self, c: _Call) -> None:
        """A halted request's handler returned: pause its server, then ask on_halt."""
        server = c.server
        assert server is not None and self.on_halt is not None
        handle = server.handle
        if not handle.alive:
            return
        handle.pause()
        msg = Message("request", c.end.src, server.sid, c.method, c.cid, self._loop.time())
        self._at(self._loop.time(), self.on_halt, msg)

    def resume(self, sid: int) -> None:
        """Go on with server ``sid`` after a "halt" (see the module docstring)."""
        server = self._servers.get(sid)
        if server is None or not server.handle.paused:
            return
        server.handle.resume()
        for c in self._waiting.pop(sid, []):
            self._dispatch(c)

    def _server_dead(self, c: _Call) -> bool:
        end = c.end
        server = c.server
        assert server is not None
        return (not end.enabled or not server.handle.alive
                or self._servers.get(end.dst) is not server)

    def _poll(self, c: _Call) -> None:
        if c.done is None:
            return
        if self._server_dead(c):
            self._pending.pop(c.cid, None)
            self._lose(c, "server dead")
        else:
            c.poll = self._at(self._loop.time() + DEAD_POLL, self._poll, c)

    # -------------------------------------------------------------- replies

    def _reply(self, c: _Call, data: bytes) -> None:
        server = c.server
        assert server is not None
        if c.halt:  # its handler returned: pause the server, whatever the reply's fate
            self._halted(c)
        end = c.end
        if self._server_dead(c):
            self._lose(c, "server dead" if not server.handle.alive else "disconnected")
            return
        if (end.dst, end.src) in self._blocked:
            self._lose(c, "reply blocked")
            return
        rand = self._random
        now = self._loop.time()
        extra = 0.0
        if self._interceptor is not None:
            verdict = self._verdict("reply", end.dst, end.src, c)
            if verdict == "drop":
                self._lose(c, "reply dropped (scenario)")
                return
            if verdict == "hold":
                self._held.append((Message("reply", end.dst, end.src, c.method, c.cid, now),
                                   self._deliver, (c, data)))
                return
            if verdict is not None:
                extra = float(verdict)
        if not c.reliable and rand() < DROP_RATE:
            self._lose(c, "reply dropped")  # the handler DID run
        elif c.reordering and rand() < REORDER_RATE:
            # labrpc: "delay the response for a while"
            ms = REORDER_BASE_MS + int(rand() * (1 + int(rand() * REORDER_SPREAD_MS)))
            self._at(now + ms / 1000 + self._hop() + extra, self._deliver, c, data)
        else:
            self._at(now + self._hop() + extra, self._deliver, c, data)

    def _deliver(self, c: _Call, data: bytes) -> None:
        self.total_bytes += len(data)
        end = c.end
        self._events.append((self._loop.time(), "reply", end.src, end.inc, c.cid, end.dst,
                             c.method, len(data), data if len(data) <= PAYLOAD_LIMIT else None))
        self._end(c, data)

    def _lose(self, c: _Call, reason: str) -> None:
        end = c.end
        self._events.append((self._loop.time(), "lost", end.src, end.inc, c.cid, end.dst,
                             c.method, reason))
        self._end(c, None)

    def _end(self, c: _Call, data: bytes | None) -> None:
        done = c.done
        if done is not None:
            c.done = None
            self.pending_calls -= 1
            self.pending_bytes -= len(c.data)
            done(data)

    def overloaded(self) -> str | None:
        """Why the network holds too much, or None (see MAX_PENDING_CALLS)."""
        if self.pending_calls > MAX_PENDING_CALLS:
            return (f"more than {MAX_PENDING_CALLS:,} RPCs were in flight at once; a Raft sends "
                    "a few per peer per heartbeat, and never more while earlier ones are "
                    "unanswered than it needs")
        if self.pending_bytes > MAX_PENDING_BYTES:
            return (f"more than {MAX_PENDING_BYTES // 2**20} MB of RPC arguments were in flight "
                    "at once; send only the entries a follower needs")
        return None
