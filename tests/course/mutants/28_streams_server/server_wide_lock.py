"""Mutant: a server-wide lock around each request (20 clients take 4.0 s; a client
that does not read blocks everyone while the lock is held across drain()).

Targets: test_twenty_clients_concurrently, test_stalled_reader_does_not_delay_others
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

# Lines carry values up to 1 MiB: far above start_server's default 64 KiB limit.
MAX_LINE = 4 * 1024 * 1024
# How long a closing connection may take to flush before it is aborted.
FLUSH_TIMEOUT = 0.1


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a connection and wait for it; abort it if it cannot flush in time."""
    writer.close()
    try:
        async with asyncio.timeout(FLUSH_TIMEOUT):
            await writer.wait_closed()
    except TimeoutError:
        writer.transport.abort()  # the peer does not read: drop what is buffered
    except Exception:
        pass  # the connection broke while closing: it is closed all the same


class KVServer:
    """An in-memory key-value store served over TCP, one UTF-8 line per request."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float = 1.0,
        latency: float = 0.0,
    ) -> None:
        self._host = host
        self._port = port
        self._idle_timeout = idle_timeout
        self._latency = latency
        self._data: dict[str, str] = {}
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()  # serving a request right now
        self._closing = False
        self._lock = asyncio.Lock()  # MUTANT: one lock for the whole server

    @property
    def connections(self) -> int:
        return len(self._handlers)

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._handle, self._host, self._port, limit=MAX_LINE
        )
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self, *, grace: float = 1.0) -> None:
        if self._server is None:
            return
        self._closing = True
        self._server.close()  # stop accepting
        await asyncio.sleep(0)  # a connection accepted just now registers its handler
        # Idle connections close at once; requests in flight get up to `grace`.
        for task in self._handlers - self._busy:
            task.cancel()
        if self._busy:
            await asyncio.wait(set(self._busy), timeout=grace)
        while self._handlers:
            for task in self._handlers:
                task.cancel()
            # Each handler closes (or aborts) its own connection in `finally`.
            await asyncio.gather(*self._handlers, return_exceptions=True)
        # Since 3.12.1 this waits for every connection: they are all closed by now.
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while not self._closing:
                try:
                    async with asyncio.timeout(self._idle_timeout):
                        line = await reader.readline()
                except TimeoutError:
                    return  # idle for too long
                except ValueError:  # longer than MAX_LINE (the excess was discarded)
                    answer = "ERROR line too long"
                else:
                    if not line:
                        return  # the client closed its side
                    answer = self._execute(line)
                self._busy.add(task)
                try:
                    async with self._lock:  # MUTANT: serves one request at a time
                        await asyncio.sleep(self._latency)
                        writer.write(answer.encode() + b"\n")
                        await writer.drain()
                finally:
                    self._busy.discard(task)
        except ConnectionError:
            pass  # the client vanished
        finally:
            await _close_writer(writer)
            self._handlers.discard(task)

    def _execute(self, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "ERROR invalid UTF-8"
        text = text.removesuffix("\n").removesuffix("\r")
        verb, _, rest = text.partition(" ")
        if verb == "GET":
            if not rest or " " in rest:
                return "ERROR usage: GET key"
            value = self._data.get(rest)
            return "MISSING" if value is None else f"VALUE {value}"
        if verb == "SET":
            key, sep, value = rest.partition(" ")
            if not key or not sep:
                return "ERROR usage: SET key value"
            self._data[key] = value
            return "OK"
        if not text:
            return "ERROR empty line"
        return f"ERROR unknown command {verb[:20]!r}"


async def fetch_many(
    host: str, port: int, keys: Sequence[str], *, limit: int, timeout: float
) -> dict[str, str | None]:
    """GET every key over at most ``limit`` connections at once, within ``timeout`` seconds."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    results: dict[str, str | None] = {}
    sem = asyncio.Semaphore(limit)

    async def fetch(key: str) -> None:
        async with sem:
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE)
            try:
                writer.write(f"GET {key}\n".encode())
                await writer.drain()
                line = await reader.readline()
            finally:
                # Runs on success, error, timeout and cancellation alike.
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        answer = line.decode().removesuffix("\n")
        if answer == "MISSING":
            results[key] = None
        elif answer.startswith("VALUE "):
            results[key] = answer.removeprefix("VALUE ")
        elif not answer:
            raise ConnectionError(f"the server closed the connection before answering GET {key}")
        else:
            raise RuntimeError(f"GET {key}: unexpected answer {answer[:80]!r}")

    async with asyncio.timeout(timeout):
        try:
            async with asyncio.TaskGroup() as tg:
                for key in dict.fromkeys(keys):  # each distinct key once
                    tg.create_task(fetch(key))
        except ExceptionGroup as group:
            raise group.exceptions[0] from None
    return results
