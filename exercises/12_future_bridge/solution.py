"""Exercise 12: future bridge.

Turn a callback-style request into a coroutine you can await.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


class LegacyClient(Protocol):
    """The callback-style library you wrap (the grader supplies one)."""

    def request(
        self, payload: str, callback: Callable[[BaseException | None, str | None], None]
    ) -> int:
        """Start a request and return its id; later call ``callback(err, result)``."""
        ...

    def cancel(self, request_id: int) -> None:
        """Ask the library to drop the request ``request_id``."""
        ...


async def request_async(client: LegacyClient, payload: str) -> str:
    """Send ``payload`` through ``client`` and return its reply.

    Contract:
    - The reply is returned the moment the callback delivers it (no polling).
    - An error passed to the callback is raised as that very exception object.
    - The callback may fire on the loop thread, from another thread,
      synchronously inside ``client.request()``, twice, or after the caller
      stopped waiting: only the first call counts, extra calls are ignored
      without an exception and without anything logged by asyncio.
    - A Future is only touched on its loop's thread.
    - If the caller is cancelled, ``client.cancel(request_id)`` is called once
      and the ``CancelledError`` propagates.
    """
    # TODO: bridge the callback to a future made with loop.create_future().
    raise NotImplementedError
