"""Alternative for exercise 28: a Protocol-based server and a pipelining client.

Server: ``loop.create_server`` with one ``asyncio.Protocol`` per connection.
``data_received`` splits the bytes into lines; a task per connection serves
them in order; ``pause_writing``/``resume_writing`` give backpressure (the
task waits while the transport's buffer is above its high-water mark), and
the idle timeout is a ``call_later`` handle re-armed after every answer.

Client: ``limit`` persistent connections pull keys from one shared queue and
keep up to two GETs in flight on each connection (pipelining); the server
answers them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence

MAX_LINE = 2 * 1024 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self, owner: KVServer) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.discarding = False
        self.lines: deque[bytes | None] = deque()  # None: a line that was too long
        self.arrived = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = asyncio.Event()
        self.finished = False  # the peer sent EOF
        self.busy = False
        self.task: asyncio.Task[None] | None = None
        self.idle: asyncio.TimerHandle | None = None

    # -- protocol callbacks --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.owner.live.add(self)
        self.task = asyncio.get_running_loop().create_task(self.serve())
        self.arm_idle()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\n")) >= 0:
            line = bytes(self.buffer[: end + 1])
            del self.buffer[: end + 1]
            if self.discarding:
                self.discarding = False
                self.lines.append(None)
            else:
                self.lines.append(line)
        if len(self.buffer) > MAX_LINE:
            self.buffer.clear()
            self.discarding = True
        self.arrived.set()

    def eof_received(self) -> bool:
        self.finished = True
        self.arrived.set()
        return True  # we close the transport ourselves

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()
        self.arrived.set()
        self.writable.set()
        if self.idle is not None:
            self.idle.cancel()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # -- serving -------------------------------------------------------------------

    def arm_idle(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        loop = asyncio.get_running_loop()
        self.idle = loop.call_later(self.owner.idle_timeout, self.on_idle)

    def on_idle(self) -> None:
        if not self.busy and not self.lines and self.task is not None:
            self.task.cancel()

    async def serve(self) -> None:
        try:
            while not self.owner.closing and not self.lost.is_set():
                while not self.lines:
                    if self.finished or self.lost.is_set():
                        return
                    self.arrived.clear()
                    await self.arrived.wait()
                line = self.lines.popleft()
                if self.idle is not None:
                    self.idle.cancel()
                self.busy = True
                try:
                    answer = "ERROR line too long" if line is None else self.owner.execute(line)
                    await asyncio.sleep(self.owner.latency)
                    if self.lost.is_set():
                        return
                    assert self.transport is not None
                    self.transport.write(answer.encode() + b"\n")
                finally:
                    self.busy = False
                await self.writable.wait()  # backpressure: only this connection waits
                self.arm_idle()
        except asyncio.CancelledError:
            pass  # idle timeout or close(): closing below
        finally:
            try:
                await self.shut()
            finally:
                self.owner.live.discard(self)

    async def shut(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        assert self.transport is not None
        if self.lost.is_set():
            return
        if self.transport.get_write_buffer_size():
            self.transport.abort()  # the peer is not reading: don't wait for it
        else:
            self.transport.close()
        try:
            async with asyncio.timeout(0.1):
                await self.lost.wait()
        except TimeoutError:
            pass
        finally:
            if not self.lost.is_set():
                self.transport.abort()


class KVServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float = 1.0,
        latency: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.idle_timeout = idle_timeout
        self.latency = latency
        self.store: dict[str, str] = {}
        self.live: set[_Connection] = set()
        self.closing = False
        self.server: asyncio.Server | None = None

    @property
    def connections(self) -> int:
        return len(self.live)

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), self.host, self.port)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def execute(self, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            return "ERROR not UTF-8"
        parts = text.split(" ", 2)
        if parts[0] == "GET" and len(parts) == 2 and parts[1]:
            value = self.store.get(parts[1])
            return "MISSING" if value is None else "VALUE " + value
        if parts[0] == "SET" and len(parts) == 3 and parts[1]:
            self.store[parts[1]] = parts[2]
            return "OK"
        if parts[0] in ("GET", "SET"):
            return f"ERROR wrong number of arguments for {parts[0]}"
        return "ERROR unknown command" if text else "ERROR empty request"

    async def close(self, *, grace: float = 1.0) -> None:
        if self.server is None:
            return
        self.closing = True
        self.server.close()
        busy = []
        for conn in list(self.live):
            if conn.busy and conn.task is not None:
                busy.append(conn.task)
            elif conn.task is not None:
                conn.task.cancel()
        if busy:
            await asyncio.wait(busy, timeout=grace)
        while self.live:
            tasks = [c.task for c in self.live if c.task is not None]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.server.wait_closed()


async def fetch_many(
    host: str, port: int, keys: Sequence[str], *, limit: int, timeout: float
) -> dict[str, str | None]:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    todo: asyncio.Queue[str] = asyncio.Queue()
    for key in dict.fromkeys(keys):
        todo.put_nowait(key)
    results: dict[str, str | None] = {}

    async def worker() -> None:
        if todo.empty():
            return
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
        try:
            in_flight: deque[str] = deque()
            while True:
                while len(in_flight) < 2 and not todo.empty():
                    key = todo.get_nowait()
                    in_flight.append(key)
                    writer.write(f"GET {key}\n".encode())
                if not in_flight:
                    return
                await writer.drain()
                line = (await reader.readline()).decode()
                key = in_flight.popleft()
                if line.startswith("VALUE "):
                    results[key] = line[6:].rstrip("\n")
                elif line.rstrip("\n") == "MISSING":
                    results[key] = None
                else:
                    raise ConnectionError(f"bad answer to GET {key}: {line[:60]!r}")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async with asyncio.timeout(timeout):
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(min(limit, todo.qsize())):
                    tg.create_task(worker())
        except ExceptionGroup as group:
            raise group.exceptions[0] from None
    return results
