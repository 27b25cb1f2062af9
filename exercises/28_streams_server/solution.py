"""Exercise 28: a key-value server and a bounded client on asyncio streams.

Serve and fetch over real TCP on 127.0.0.1 with the streams API.
Read README.md in this folder for the task, the protocol, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


class KVServer:
    """An in-memory key-value store served over TCP, one UTF-8 line per request.

    Protocol (one line per request and per answer):
    - ``SET key value`` -> ``OK`` (the value is the rest of the line, spaces included)
    - ``GET key`` -> ``VALUE value`` or ``MISSING``
    - anything else (unknown verb, wrong arity, empty line, invalid UTF-8)
      -> ``ERROR <reason>``, and the connection stays open.
    Lines may be up to 1 MiB long. The server waits ``latency`` seconds
    (``asyncio.sleep``) before each answer.
    """

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
        # TODO: the store, the asyncio.Server, the handler tasks, ...

    @property
    def connections(self) -> int:
        """How many client connections are open right now."""
        # TODO
        raise NotImplementedError

    async def start(self) -> int:
        """Bind and listen (``asyncio.start_server``); return the port (the OS picks one for 0).

        Contract:
        - Every connection gets its own handler: clients are served concurrently.
        - A client that stops reading never delays the others (write, then
          ``await writer.drain()``).
        - A connection idle for ``idle_timeout`` seconds is closed by the server.
        """
        # TODO
        raise NotImplementedError

    async def close(self, *, grace: float = 1.0) -> None:
        """Stop accepting, let requests in flight finish for up to ``grace`` seconds,
        then cancel the handlers still running.

        Contract:
        - Every handler closes its connection in ``finally`` and waits for it to
          close, aborting (``writer.transport.abort()``) a connection whose peer
          does not read: ``close`` never hangs.
        - Returns once every connection is closed and ``connections == 0``.
        """
        # TODO
        raise NotImplementedError


async def fetch_many(
    host: str, port: int, keys: Sequence[str], *, limit: int, timeout: float
) -> dict[str, str | None]:
    """GET every key from the server at ``host:port``; return key -> value (None for MISSING).

    Contract:
    - At most ``limit`` connections are open at once.
    - Raises TimeoutError if the whole call takes longer than ``timeout`` seconds.
    - Every connection it opened is closed in every case: success, error,
      time-out and cancellation.
    """
    # TODO
    raise NotImplementedError
