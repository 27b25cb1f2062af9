"""Alternative: wrap asyncio.timeout() and swallow TimeoutError only when it expired.

asyncio.timeout already counts cancel requests against the level on entry and
uses call_soon for a deadline in the past; the scope only translates its
TimeoutError back into "move on".
"""

from __future__ import annotations

import asyncio


class move_on_after:
    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self._cm: asyncio.Timeout | None = None
        self.cancelled_caught = False

    @property
    def deadline(self) -> float | None:
        return None if self._cm is None else self._cm.when()

    def reschedule(self, delay: float | None) -> None:
        if self._cm is None:
            self._delay = delay
            return
        when = None if delay is None else asyncio.get_running_loop().time() + delay
        self._cm.reschedule(when)

    async def __aenter__(self) -> move_on_after:
        loop = asyncio.get_running_loop()
        when = None if self._delay is None else loop.time() + self._delay
        self._cm = asyncio.timeout_at(when)
        await self._cm.__aenter__()
        return self

    async def __aexit__(self, et, e, tb) -> bool | None:
        assert self._cm is not None
        try:
            await self._cm.__aexit__(et, e, tb)
        except TimeoutError as exc:
            if self._cm.expired() and exc is not e:
                self.cancelled_caught = True
                return True
            raise
        return None
