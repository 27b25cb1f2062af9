"""Reference solution for exercise 12: a loop future fed by a thread-safe, idempotent callback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol


class LegacyClient(Protocol):
    def request(
        self, payload: str, callback: Callable[[BaseException | None, str | None], None]
    ) -> int: ...

    def cancel(self, request_id: int) -> None: ...


async def request_async(client: LegacyClient, payload: str) -> str:
    """Send ``payload`` through ``client`` and return its reply (see the stub)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[str] = loop.create_future()

    def deliver(err: BaseException | None, result: str | None) -> None:
        # Runs on the loop thread only. A done future means an earlier call
        # already delivered, or the caller stopped waiting (fut is cancelled):
        # either way this call is an extra one and is ignored.
        if fut.done():
            return
        if err is not None:
            fut.set_exception(err)
        else:
            fut.set_result(result)  # type: ignore[arg-type]

    def callback(err: BaseException | None, result: str | None) -> None:
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:  # a thread with no running loop
            on_loop = False
        if on_loop:
            deliver(err, result)  # on the loop thread: deliver at once
            return
        # A closed loop raises RuntimeError: then nobody can be waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, err, result)

    # The future exists before request() runs: the callback may fire inside it.
    request_id = client.request(payload, callback)
    try:
        return await fut
    except asyncio.CancelledError:
        if fut.cancelled():  # the request was still in flight: drop it
            client.cancel(request_id)
        raise
