"""Hidden suite for exercise 28: KVServer and fetch_many over real TCP on 127.0.0.1.

Every check is @realtime: real sockets on loopback (ports chosen by the OS),
the real clock, latencies of 0.2 s (1.0 s where a request must still be in
flight) and windows of a lower bound plus a 1.5-2.5x upper bound
(CURRICULUM.md section 0), so verdicts hold on a busy machine.

Everything is judged from the outside, never by patching the streams API, so
a Protocol-based server grades the same: answers, EOF on the client side,
``KVServer.connections``, tasks left pending, sockets left open (found with
the garbage collector) and a refused port. ``fetch_many`` is graded against
the suite's own server (``_FakeKV``), which counts how many requests it is
serving at once: from the moment it reads a request until it writes the
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from grader import kata

HOST = "127.0.0.1"
LATENCY = 0.2
# Checks of what the server answers, not of when, run at a latency of 10 ms: the
# answers cannot depend on it, and four such checks at 0.2 s per request would
# cost 3.5 s of every grading. Every timing, limit and close check keeps 0.2 s.
QUICK = 0.01
CLIENT_LINE_LIMIT = 8 * 1024 * 1024  # the test clients read answers up to 1 MiB and more
MIB = 1024 * 1024
# A 1 MiB value with spaces in it (values may contain spaces).
BIG = ("lorem ipsum dolor " * (MIB // 18 + 1))[: MIB - 1] + "z"
SUITE_FILE = __file__

# -- helpers: tasks and sockets left behind ---------------------------------------


def _is_ours(task: asyncio.Task[Any]) -> bool:
    """A task of this suite (test clients, the fake server) or asyncio's accept step."""
    if task.get_name().startswith("kata-"):
        return True
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    return code is not None and (
        code.co_filename == SUITE_FILE or code.co_name == "_accept_connection2"
    )


def _leftover_tasks() -> list[asyncio.Task[Any]]:
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me and not t.done() and not _is_ours(t)]


def _describe(tasks: list[asyncio.Task[Any]]) -> str:
    names = []
    for t in tasks[:5]:
        coro = t.get_coro()
        qual = getattr(coro, "__qualname__", type(coro).__name__)
        names.append(f"{t.get_name()!r} ({qual})")
    return ", ".join(names)


def _open_client_sockets(port: int) -> list[str]:
    """Sockets of this process still connected to ``port`` from the client side."""
    found = []
    for obj in gc.get_objects():
        if not isinstance(obj, socket.socket) or obj.fileno() == -1:
            continue
        try:
            peer, local = obj.getpeername(), obj.getsockname()
        except OSError:
            continue
        if isinstance(peer, tuple) and peer[1] == port and local[1] != port:
            found.append(f"{local[0]}:{local[1]} -> {peer[0]}:{peer[1]}")
    return found


@contextlib.contextmanager
def _unclosed_warnings() -> Iterator[list[str]]:
    """Collect "unclosed ..." ResourceWarnings: a connection the garbage collector had to close.

    Every other warning is passed on to the grader's own record.
    """
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield found
        finally:
            gc.collect()
    for w in caught:
        if issubclass(w.category, ResourceWarning) and "unclosed" in str(w.message):
            found.append(str(w.message)[:120])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


async def _eventually(cond: Callable[[], bool], within: float) -> bool:
    """Poll ``cond`` every 10 ms for up to ``within`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while True:
        if cond():
            return True
        if loop.time() >= end:
            return False
        await asyncio.sleep(0.01)


def _s(x: float) -> str:
    return f"{x:.2f} s"


# -- the test's clients ----------------------------------------------------------


class _Client:
    """One test connection speaking the line protocol."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> _Client:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port, limit=CLIENT_LINE_LIMIT), 5
        )
        return cls(reader, writer)

    def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)

    async def readline(self, within: float) -> str | None:
        """The next answer line (without its newline), or None on EOF, reset or time-out."""
        try:
            raw = await asyncio.wait_for(self.reader.readline(), within)
        except (TimeoutError, ConnectionError, ValueError):
            return None
        if not raw.endswith(b"\n"):
            return None
        return raw[:-1].decode("utf-8", errors="replace").removesuffix("\r")

    async def request(self, line: bytes | str, *, within: float = 3.0) -> str | None:
        self.send(line if isinstance(line, bytes) else line + "\n")
        return await self.readline(within)

    async def timed_answer(self, within: float) -> tuple[str | None, float]:
        line = await self.readline(within)
        return line, kata.now()

    async def eof(self, within: float) -> tuple[list[str], float | None]:
        """Read until the server closes the connection: the lines read, and when EOF came."""
        lines: list[str] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while True:
            left = end - loop.time()
            if left <= 0:
                return lines, None
            try:
                raw = await asyncio.wait_for(self.reader.readline(), left)
            except TimeoutError:
                return lines, None
            except (ConnectionError, ValueError):
                return lines, kata.now()
            if not raw:
                return lines, kata.now()
            lines.append(raw.rstrip(b"\r\n").decode("utf-8", errors="replace"))

    def abort(self) -> None:
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1)


class _StalledClient:
    """A client that sends requests and never reads a byte (a plain socket, no transport
    reading on its behalf, and a tiny receive buffer that is full at once)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def connect(cls, port: int) -> _StalledClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (HOST, port)), 5)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    async def send(self, data: bytes) -> None:
        await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(self.sock, data), 5)

    def abort(self) -> None:
        self.sock.close()  # unread data: the peer gets a reset


async def _start(sub: Any, **options: Any) -> tuple[Any, int]:
    server = sub.KVServer(**options)
    try:
        port = await asyncio.wait_for(server.start(), 5)
    except TimeoutError:
        kata.fail(
            "KVServer.start() did not return within 5 s: bind and listen "
            "(asyncio.start_server), then return the port; don't await serve_forever()"
        )
    kata.expect(
        type(port) is int and 0 < port < 65536,
        f"KVServer(port=0).start() returned {port!r}; it must return the port the OS chose "
        "(server.sockets[0].getsockname()[1])",
    )
    return server, port


async def _cleanup(server: Any, clients: list[Any]) -> None:
    """Close the test's clients, then the learner's server (its leftovers meet the leak gate)."""
    for c in clients:
        c.abort()
    await asyncio.sleep(0.01)
    if server is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.close(grace=0.2), 3)


def _answer_text(ans: str | None) -> str:
    if ans is None:
        return "no answer (the connection closed or nothing came within the time limit)"
    return repr(ans if len(ans) <= 60 else ans[:40] + f"... ({len(ans)} characters)")


# -- the suite's own server, for fetch_many ---------------------------------------------


class _FakeKV:
    """A correct server with a fixed store that counts what fetch_many does to it.

    A request is being served from the moment the server takes it from the
    connection's buffer until it writes the answer. Once a client has closed
    its side, the requests it pipelined and that still wait are dropped.
    """

    def __init__(self, data: dict[str, str], latency: float) -> None:
        self.data = data
        self.latency = latency
        self.serving = 0
        self.peak = 0
        self.connections = 0
        self.peak_connections = 0
        self.requests = 0
        self.handlers: set[asyncio.Task[Any]] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _FakeConnection(self), HOST, 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def answer(self, raw: bytes) -> bytes:
        verb, _, key = raw.decode("utf-8", errors="replace").strip().partition(" ")
        if verb != "GET" or not key or " " in key:
            return b"ERROR this test server only answers GET key"
        value = self.data.get(key)
        return b"MISSING" if value is None else b"VALUE " + value.encode()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for t in list(self.handlers):
            t.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)
        await asyncio.sleep(0)
        if self.server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 2)


class _FakeConnection(asyncio.Protocol):
    """One connection of ``_FakeKV``: lines in, answers out, in order."""

    def __init__(self, fake: _FakeKV) -> None:
        self.fake = fake
        self.buffer = bytearray()
        self.lines: list[bytes] = []
        self.gone = False  # the client closed its side (or the connection broke)
        self.wake = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        fake = self.fake
        fake.connections += 1
        fake.peak_connections = max(fake.peak_connections, fake.connections)
        task = asyncio.get_running_loop().create_task(self.serve(), name="kata-fake-server")
        fake.handlers.add(task)
        task.add_done_callback(fake.handlers.discard)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\n")) >= 0:
            self.lines.append(bytes(self.buffer[: end + 1]))
            del self.buffer[: end + 1]
        self.wake.set()

    def eof_received(self) -> bool:
        self.gone = True
        self.wake.set()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.wake.set()

    async def serve(self) -> None:
        fake = self.fake
        assert self.transport is not None
        try:
            while True:
                while not self.lines and not self.gone:
                    self.wake.clear()
                    await self.wake.wait()
                if self.gone:
                    return
                line = self.lines.pop(0)
                fake.requests += 1
                fake.serving += 1
                fake.peak = max(fake.peak, fake.serving)
                try:
                    await asyncio.sleep(fake.latency)
                    if not self.gone:
                        self.transport.write(fake.answer(line) + b"\n")
                finally:
                    fake.serving -= 1
        finally:
            self.transport.abort()
            fake.connections -= 1


STORE = {
    "k00": "alpha",
    "k01": "value with inner spaces",
    "k02": "héllo wörld ✓",
    "k03": "42",
    "k05": "epsilon",
    "k06": "zeta",
    "k08": "theta",
    "k09": "iota kappa",
    "k11": "mu",
}
KEYS12 = [f"k{i:02d}" for i in range(12)]  # k04, k07 and k10 are MISSING
WANT12: dict[str, str | None] = {k: STORE.get(k) for k in KEYS12}
FETCH = "fetch_many"


async def _fetch_run(sub: Any, latency: float = LATENCY) -> tuple[_FakeKV, Any, float]:
    """fetch_many of the 12 keys with limit=4 against the fake server: (server, result, took)."""
    fake = _FakeKV(STORE, latency)
    port = await fake.start()
    try:
        what = f"{FETCH}(12 keys, limit=4, timeout=5.0) with a server answering in {latency:g} s"
        t0 = kata.now()
        try:
            async with asyncio.timeout(8) as limit:
                got = await sub.fetch_many(HOST, port, list(KEYS12), limit=4, timeout=5.0)
        except TimeoutError:
            if limit.expired():
                kata.fail(f"{what} did not return within 8 s")
            kata.fail(
                f"{what} raised TimeoutError after {_s(kata.now() - t0)}; it should return "
                f"after about {3 * latency:g} s"
            )
        except Exception as exc:
            kata.fail(f"{what} raised {type(exc).__name__}: {exc}")
        took = kata.now() - t0
        await asyncio.sleep(0.05)  # let the server see the connections close
        return fake, got, took
    finally:
        await fake.close()


# -- behaviour -------------------------------------------------------------------


@kata.check(
    "SET answers OK, GET answers VALUE or MISSING, on any connection", group="behaviour", hint=2
)
@kata.realtime
async def test_set_get_and_missing(submission):
    server, port = await _start(submission, latency=QUICK)
    clients: list[Any] = []
    try:
        a = await _Client.connect(port)
        b = await _Client.connect(port)
        clients += [a, b]
        steps = [
            (a, "SET greeting hello big world", "OK"),
            (b, "GET greeting", "VALUE hello big world"),
            (a, "GET nothing-here", "MISSING"),
            (b, "SET greeting héllo wörld ✓", "OK"),
            (a, "GET greeting", "VALUE héllo wörld ✓"),
        ]
        for client, line, want in steps:
            who = "client A" if client is a else "client B"
            got = await client.request(line)
            kata.expect(
                got == want,
                f"{who} sent {line!r} and got {_answer_text(got)}; expected {want!r}. "
                "(Values may contain spaces: split `SET key value` into 3 parts at most; every "
                "connection shares one store.)",
            )
    finally:
        await _cleanup(server, clients)


@kata.check(
    "a malformed line gets ERROR and the connection keeps working", group="behaviour", hint=2
)
@kata.realtime
async def test_malformed_lines_get_error(submission):
    server, port = await _start(submission, latency=QUICK)
    clients: list[Any] = []
    try:
        c = await _Client.connect(port)
        clients.append(c)
        kata.expect(
            (got := await c.request("SET colour teal")) == "OK",
            f"'SET colour teal' got {_answer_text(got)}; expected 'OK'",
        )
        bad: list[tuple[str, bytes]] = [
            ("an unknown verb", b"FROB colour\n"),
            ("GET without a key", b"GET\n"),
            ("GET with two keys", b"GET colour shade\n"),
            ("SET without a value", b"SET colour\n"),
            ("an empty line", b"\n"),
            ("invalid UTF-8", b"\xff\xfe\xfd colour\n"),
        ]
        for label, raw in bad:
            got = await c.request(raw)
            kata.expect(
                got is not None and got.startswith("ERROR ") and got[6:].strip() != "",
                f"{label} ({raw!r}) got {_answer_text(got)}; expected 'ERROR <reason>' on the "
                "same connection"
                + (
                    ": the connection must stay open after a malformed line (answer ERROR, "
                    "then read the next line)"
                    if got is None
                    else ""
                ),
            )
        got = await c.request("GET colour")
        kata.expect(
            got == "VALUE teal",
            f"after the malformed lines, 'GET colour' on the same connection got "
            f"{_answer_text(got)}; expected 'VALUE teal'",
        )
    finally:
        await _cleanup(server, clients)


@kata.check("values of 1 MiB are accepted and returned whole", group="behaviour", hint=1)
@kata.realtime
async def test_one_mib_values(submission):
    server, port = await _start(submission, latency=QUICK)
    clients: list[Any] = []
    try:
        a = await _Client.connect(port)
        b = await _Client.connect(port)
        clients += [a, b]
        got = await a.request("SET big " + BIG)
        kata.expect(
            got == "OK",
            f"'SET big <a 1 MiB value>' got {_answer_text(got)}; expected 'OK'. Lines up to "
            "1 MiB must be accepted: asyncio.start_server's default line limit is 64 KiB "
            "(pass a larger limit=...)",
        )
        got = await b.request("GET big")
        kata.expect(
            got == "VALUE " + BIG,
            f"'GET big' for the 1 MiB value got {_answer_text(got)}; expected 'VALUE ' and the "
            "whole value",
        )
    finally:
        await _cleanup(server, clients)


@kata.check(f"{FETCH} returns key -> value, None for MISSING", group="behaviour", hint=4)
@kata.realtime
async def test_fetch_many_values(submission):
    _, got, _ = await _fetch_run(submission, latency=QUICK)
    kata.expect_equal(
        got,
        WANT12,
        what=f"{FETCH}(12 keys, limit=4)",
        hint="map each key to the text after 'VALUE ' (spaces included), or to None for 'MISSING'",
    )


@kata.check(f"{FETCH} never has more than `limit` requests in flight", group="behaviour", hint=4)
@kata.realtime
async def test_fetch_many_respects_limit(submission):
    fake, _, _ = await _fetch_run(submission)
    kata.expect(
        fake.requests >= 1,
        f"{FETCH}(12 keys, limit=4) sent no request to the server",
    )
    kata.expect(
        fake.peak <= 4,
        f"{FETCH}(12 keys, limit=4) had {fake.peak} requests being served at once (and up to "
        f"{fake.peak_connections} connections open at once); at most 4 are allowed: does it "
        "open every connection at once? Open and close each connection inside an "
        "asyncio.Semaphore(limit), or run `limit` workers",
    )


# -- timing ----------------------------------------------------------------------


@kata.check(
    "20 clients sending a GET at once are all answered in 0.2-0.5 s", group="timing", hint=3
)
@kata.realtime
async def test_twenty_clients_concurrently(submission):
    server, port = await _start(submission, latency=LATENCY)
    clients: list[Any] = []
    try:
        for _ in range(20):
            clients.append(await _Client.connect(port))
        got = await clients[0].request("SET shared one value for all")
        kata.expect(got == "OK", f"'SET shared ...' got {_answer_text(got)}; expected 'OK'")
        t0 = kata.now()
        for c in clients:
            c.send("GET shared\n")
        answers = await asyncio.gather(*(c.timed_answer(6.0) for c in clients))
        missing = [i for i, (line, _) in enumerate(answers) if line is None]
        kata.expect(
            not missing,
            f"{len(missing)} of 20 clients sending 'GET shared' at once got no answer within "
            "6 s: serve every connection in its own handler",
        )
        wrong = [line for line, _ in answers if line != "VALUE one value for all"]
        kata.expect(
            not wrong,
            f"20 clients sent 'GET shared' and got {_answer_text(wrong[0] if wrong else None)}; "
            "expected 'VALUE one value for all'",
        )
        took = max(t for _, t in answers) - t0
        first = min(t for _, t in answers) - t0
        if took > 0.5:
            one_by_one = took >= 10 * LATENCY
            kata.fail(
                f"20 clients each sending one GET at once were all answered after {took:.1f} s "
                f"(the first after {first:.1f} s); with latency 0.2 s they must all be answered "
                "within 0.2-0.5 s"
                + (
                    f": 20 clients were answered one after another ({took:.1f} s): is something "
                    "holding a server-wide lock?"
                    if one_by_one
                    else ": are connections served concurrently, each by its own handler?"
                )
            )
        kata.expect(
            first >= LATENCY - 1e-3,
            f"a GET was answered {_s(first)} after it was sent; the server must wait latency "
            "(0.2 s) before each answer",
        )
    finally:
        await _cleanup(server, clients)


@kata.check(f"{FETCH} of 12 keys with limit=4 takes three waves: 0.6-1.0 s", group="timing", hint=4)
@kata.realtime
async def test_fetch_many_three_waves(submission):
    fake, _, took = await _fetch_run(submission)
    kata.expect(
        0.6 - 1e-3 <= took <= 1.0,
        f"{FETCH}(12 keys, limit=4) against a server answering each request in 0.2 s took "
        f"{_s(took)}; it should take three waves of 4, 0.6-1.0 s: "
        + (
            "did more than 4 requests run at once?"
            if took < 0.6
            else "are the requests made one after another (12 x 0.2 = 2.4 s), or does a new "
            "one wait for a whole wave to finish?"
        ),
    )


@kata.check("a client that stops reading does not delay the others", group="timing", hint=3)
@kata.realtime
async def test_stalled_reader_does_not_delay_others(submission):
    server, port = await _start(submission, latency=LATENCY)
    clients: list[Any] = []
    try:
        w = await _Client.connect(port)
        clients.append(w)
        got = await w.request("SET big " + BIG)
        kata.expect(got == "OK", f"'SET big <1 MiB>' got {_answer_text(got)}; expected 'OK'")
        got = await w.request("SET small tiny")
        kata.expect(got == "OK", f"'SET small tiny' got {_answer_text(got)}; expected 'OK'")
        stalled = await _StalledClient.connect(port)
        clients.append(stalled)
        await stalled.send(b"GET big\n" * 16)  # 16 MiB of answers that nobody reads
        await asyncio.sleep(0.7)  # a few answers fill every buffer: the server's drain() blocks
        other = await _Client.connect(port)
        clients.append(other)
        t0 = kata.now()
        got = await other.request("GET small", within=3.0)
        took = kata.now() - t0
        kata.expect(
            got == "VALUE tiny",
            f"while another client pipelined 16 'GET big' (1 MiB each) and read nothing, a "
            f"second client's 'GET small' got "
            f"{'no answer' if got is None else _answer_text(got)} within 3 s; expected "
            "'VALUE tiny' in 0.2-0.5 s: the slow client's `await writer.drain()` must block "
            "only its own handler (is the server holding a lock while it drains?)",
        )
        kata.expect(
            LATENCY - 1e-3 <= took <= 0.5,
            f"while another client pipelined 16 'GET big' and read nothing, a second client's "
            f"'GET small' took {_s(took)}; expected 0.2-0.5 s",
        )
    finally:
        await _cleanup(server, clients)


@kata.check(
    "an idle client is disconnected after idle_timeout; a busy one is not",
    group="timing",
    hint=5,
)
@kata.realtime
async def test_idle_connection_closed(submission):
    server, port = await _start(submission, idle_timeout=0.3, latency=LATENCY)
    clients: list[Any] = []
    try:
        t0 = kata.now()
        idle = await _Client.connect(port)
        busy = await _Client.connect(port)
        clients += [idle, busy]
        seen_two = await _eventually(lambda: server.connections == 2, within=0.25)
        kata.expect(
            seen_two,
            f"two clients connected, but server.connections was {server.connections!r}; "
            "expected 2 (count open client connections)",
        )
        watch = asyncio.create_task(idle.eof(within=1.5), name="kata-idle-watch")
        end = t0 + 1.0
        while kata.now() < end:
            got = await busy.request("GET anything", within=1.0)
            if got is None:
                kata.fail(
                    "a client sending a request every ~0.22 s (answers take 0.2 s) was "
                    f"disconnected {_s(kata.now() - t0)} after connecting, with idle_timeout=0.3: "
                    "count idle time from the client's last request (or the last answer), not "
                    "from when it connected"
                )
            await asyncio.sleep(0.02)
        _, eof_at = await watch
        if eof_at is None:
            kata.fail(
                "with idle_timeout=0.3, a client that sent nothing was still connected "
                f"{_s(kata.now() - t0)} after connecting: close a connection when its next line "
                "has not arrived within idle_timeout (e.g. asyncio.timeout around readline)"
            )
        took = eof_at - t0
        kata.expect(
            0.3 - 1e-3 <= took <= 0.6,
            f"with idle_timeout=0.3, an idle client was disconnected {_s(took)} after "
            "connecting; expected 0.3-0.6 s",
        )
        kata.expect(
            server.connections == 1,
            f"{_s(kata.now() - eof_at)} after the idle client was disconnected, "
            f"server.connections was {server.connections!r}; expected 1 (the busy client): "
            "a handler must stop counting its connection once it closed it",
        )
    finally:
        await _cleanup(server, clients)


# -- cancellation and errors -----------------------------------------------------


async def _judge_closed(server: Any, port: int, what: str) -> None:
    """After close() returned: nothing counted, nothing running, nothing accepted."""
    kata.expect(
        server.connections == 0,
        f"right after {what} returned, server.connections was {server.connections!r}; "
        "expected 0: close must return only once every connection is closed",
    )
    left = _leftover_tasks()
    kata.expect(
        not left,
        f"right after {what} returned, {len(left)} task(s) of the server were still running: "
        f"{_describe(left)}; cancel the handlers that are left and await them before returning",
    )
    try:
        probe = await _Client.connect(port)
    except (OSError, TimeoutError):
        return
    await probe.close()
    kata.fail(
        f"after {what} returned, a new client could still connect to the port: stop accepting "
        "(server.close()) before anything else"
    )


@kata.check(
    "close(grace=0.5) answers the request in flight, then closes everything",
    group="cancellation",
    hint=6,
)
@kata.realtime
async def test_close_lets_in_flight_finish(submission):
    server, port = await _start(submission, latency=LATENCY)
    clients: list[Any] = []
    closed = False
    try:
        asking = await _Client.connect(port)
        idle = await _Client.connect(port)
        clients += [asking, idle]
        await _eventually(lambda: server.connections == 2, within=0.5)
        asking.send("GET colour\n")
        await asyncio.sleep(0.05)  # the server has read it: a request in flight
        watch_asking = asyncio.create_task(asking.eof(within=3.0), name="kata-watch-asking")
        watch_idle = asyncio.create_task(idle.eof(within=3.0), name="kata-watch-idle")
        t0 = kata.now()
        try:
            await asyncio.wait_for(server.close(grace=0.5), 4)
        except TimeoutError:
            kata.fail(
                "server.close(grace=0.5) with one request in flight did not return within 4 s"
            )
        closed = True
        took = kata.now() - t0
        await _judge_closed(server, port, "close(grace=0.5)")
        lines, eof_at = await watch_asking
        kata.expect(
            lines[:1] == ["MISSING"],
            "a request in flight when close(grace=0.5) was called got "
            f"{_answer_text(lines[0] if lines else None)}; expected its answer 'MISSING': let "
            "requests in flight finish for up to `grace` seconds",
        )
        kata.expect(
            eof_at is not None,
            "after close(grace=0.5) returned, the client whose request was answered was never "
            "disconnected: every handler must close its writer",
        )
        _, idle_eof = await watch_idle
        kata.expect(
            idle_eof is not None,
            "after close(grace=0.5) returned, an idle client was never disconnected: every "
            "handler must close its writer",
        )
        kata.expect(
            took <= 0.5 + 0.5,
            f"close(grace=0.5) took {_s(took)}; it must return within grace + 0.5 s",
        )
    finally:
        if not closed:
            await _cleanup(server, clients)
        else:
            await _cleanup(None, clients)


@kata.check(
    "close(grace=0.1) cancels a handler still busy after grace", group="cancellation", hint=6
)
@kata.realtime
async def test_close_cancels_after_grace(submission):
    server, port = await _start(submission, latency=1.0)
    clients: list[Any] = []
    closed = False
    try:
        slow = await _Client.connect(port)
        clients.append(slow)
        slow.send("GET colour\n")
        await asyncio.sleep(0.05)  # in flight for another 0.95 s
        watch = asyncio.create_task(slow.eof(within=2.0), name="kata-watch-slow")
        t0 = kata.now()
        try:
            await asyncio.wait_for(server.close(grace=0.1), 4)
        except TimeoutError:
            kata.fail(
                "server.close(grace=0.1) with a request in flight (latency 1.0) did not return "
                "within 4 s: after `grace`, cancel the handlers that are still busy"
            )
        closed = True
        took = kata.now() - t0
        _, eof_at = await watch
        if eof_at is None:
            kata.fail(
                "close(grace=0.1) with a request in flight (latency 1.0): the client's "
                f"connection was still open {_s(kata.now() - t0)} after close was called; the "
                "handler must be cancelled after grace and close its connection"
            )
        kata.expect(
            0.1 - 1e-3 <= eof_at - t0 <= 0.4,
            f"close(grace=0.1) with a request in flight (latency 1.0) closed the client's "
            f"connection {_s(eof_at - t0)} after close was called; expected 0.1-0.4 s: "
            + (
                "give requests in flight `grace` seconds before cancelling them"
                if eof_at - t0 < 0.1
                else "cancel the handler once grace has passed instead of letting it finish"
            ),
        )
        kata.expect(
            took <= 0.1 + 0.5,
            f"close(grace=0.1) took {_s(took)}; it must return within grace + 0.5 s",
        )
        await _judge_closed(server, port, "close(grace=0.1)")
    finally:
        await _cleanup(None if closed else server, clients)


@kata.check(
    "close() returns in time even while a client does not read", group="cancellation", hint=6
)
@kata.realtime
async def test_close_with_stalled_reader(submission):
    server, port = await _start(submission, latency=LATENCY)
    clients: list[Any] = []
    closed = False
    try:
        w = await _Client.connect(port)
        clients.append(w)
        got = await w.request("SET big " + BIG)
        kata.expect(got == "OK", f"'SET big <1 MiB>' got {_answer_text(got)}; expected 'OK'")
        await w.close()
        stalled = await _StalledClient.connect(port)
        clients.append(stalled)
        await stalled.send(b"GET big\n" * 16)
        await asyncio.sleep(0.7)  # the server is stuck in drain() on this client
        t0 = kata.now()
        try:
            await asyncio.wait_for(server.close(grace=0.3), 4)
        except TimeoutError:
            kata.fail(
                "server.close(grace=0.3), while a client that pipelined 16 'GET big' reads "
                "nothing, did not return within 4 s: a handler stuck in drain() must be "
                "cancelled, and a connection that cannot flush must be aborted "
                "(writer.transport.abort()) instead of waiting in wait_closed()"
            )
        closed = True
        took = kata.now() - t0
        kata.expect(
            took <= 0.3 + 0.5,
            f"close(grace=0.3) took {_s(took)} while a client read nothing; it must return "
            "within grace + 0.5 s: abort (writer.transport.abort()) a connection whose peer "
            "does not read",
        )
        await _judge_closed(server, port, "close(grace=0.3) with a client that does not read")
    finally:
        await _cleanup(None if closed else server, clients)


@kata.check(
    f"{FETCH} raises TimeoutError and leaves no task or socket behind",
    group="cancellation",
    hint=5,
)
@kata.realtime
async def test_fetch_many_timeout_cleans_up(submission):
    fake = _FakeKV(STORE, latency=1.0)
    port = await fake.start()
    try:
        keys = KEYS12[:6]
        what = f"{FETCH}(6 keys, limit=4, timeout=0.3) against a server answering in 1.0 s"
        with _unclosed_warnings() as unclosed:
            t0 = kata.now()
            try:
                async with asyncio.timeout(3) as limit:
                    got = await submission.fetch_many(HOST, port, keys, limit=4, timeout=0.3)
            except TimeoutError:
                raised_at = kata.now()
                if limit.expired():
                    kata.fail(
                        f"{what} had not raised TimeoutError after 3 s: bound the whole call "
                        "with `async with asyncio.timeout(timeout):`"
                    )
            except Exception as exc:
                kata.fail(f"{what} raised {type(exc).__name__}: {exc}; expected TimeoutError")
            else:
                kata.fail(f"{what} returned {got!r}; expected TimeoutError after 0.3 s")
            left = _leftover_tasks()
            for _ in range(3):
                await asyncio.sleep(0)
            still_open = _open_client_sockets(port)
        took = raised_at - t0
        kata.expect(
            0.3 - 1e-3 <= took <= 0.6,
            f"{what} raised TimeoutError after {_s(took)}; expected 0.3-0.6 s",
        )
        kata.expect(
            not left,
            f"right after {what} raised TimeoutError, {len(left)} of its tasks were still "
            f"pending: {_describe(left)}. Cancel and await every task you started (a TaskGroup "
            "inside asyncio.timeout does both)",
        )
        _expect_connections_closed(what, "raised TimeoutError", still_open, unclosed)
        gone = await _eventually(lambda: fake.connections == 0, within=1.0 - 0.3 + 0.5)
        kata.expect(
            gone,
            f"1.2 s after {what} raised TimeoutError, the server still saw "
            f"{fake.connections} connection(s) open: close every connection you opened",
        )
    finally:
        await fake.close()


def _expect_connections_closed(
    what: str, event: str, still_open: list[str], unclosed: list[str]
) -> None:
    kata.expect(
        not still_open,
        f"right after {what} {event}, {len(still_open)} of its connections were still open "
        f"({', '.join(still_open[:3])}): close every connection in a `finally` "
        "(writer.close(), then await writer.wait_closed())",
    )
    kata.expect(
        not unclosed,
        f"after {what} {event}, {len(unclosed)} of its connections were only closed by the "
        f"garbage collector (Python warned: {unclosed[0] if unclosed else ''!r}): close every "
        "connection yourself in a `finally` (writer.close(), then await writer.wait_closed())",
    )


@kata.check(
    f"cancelling the caller of {FETCH} leaves no task or socket behind",
    group="cancellation",
    hint=5,
)
@kata.realtime
async def test_fetch_many_cancel_cleans_up(submission):
    fake = _FakeKV(STORE, latency=LATENCY)
    port = await fake.start()
    try:
        what = f"{FETCH}(12 keys, limit=4)"

        async def caller() -> Any:
            return await submission.fetch_many(HOST, port, list(KEYS12), limit=4, timeout=10.0)

        with _unclosed_warnings() as unclosed:
            task = asyncio.create_task(caller(), name="kata-caller")
            await asyncio.sleep(0.3)  # the second wave is in flight, the third waits
            if task.done():
                kata.fail(
                    f"{what} against a server answering in 0.2 s had already finished 0.3 s "
                    "after it started; with at most 4 requests at a time it needs 0.6 s: does "
                    "it run more than `limit` requests at once?"
                )
            task.cancel()
            try:
                result = await asyncio.wait_for(task, 3)
            except asyncio.CancelledError:
                pass
            except TimeoutError:
                kata.fail(f"{what} did not finish within 3 s after its caller was cancelled")
            except Exception as exc:
                kata.fail(
                    f"{what} raised {type(exc).__name__}: {exc} after its caller was "
                    "cancelled; the cancellation must propagate"
                )
            else:
                kata.fail(
                    f"{what} returned {result!r} after its caller was cancelled at 0.3 s; the "
                    "cancellation must propagate (don't swallow CancelledError)"
                )
            left = _leftover_tasks()
            for _ in range(3):
                await asyncio.sleep(0)
            still_open = _open_client_sockets(port)
        kata.expect(
            not left,
            f"right after the caller of {what} was cancelled, {len(left)} of its tasks were "
            f"still pending: {_describe(left)}. Cancel and await every task you started",
        )
        _expect_connections_closed(what, "was cancelled", still_open, unclosed)
    finally:
        await fake.close()
