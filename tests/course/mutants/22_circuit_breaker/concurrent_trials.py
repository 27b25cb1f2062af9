"""Mutant: half_open lets every call through: trials run concurrently.

Targets: test_half_open_one_trial_at_a_time
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

T = TypeVar("T")


class CircuitOpenError(Exception):
    """Raised by ``CircuitBreaker.call`` when the circuit does not let the call through."""


class CircuitBreaker:
    """Fail fast while a dependency is down; probe it with one trial call (see the stub)."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_timeout: float,
        call_timeout: float | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, not {failure_threshold}")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.call_timeout = call_timeout
        self._failures = 0  # consecutive failures while closed
        self._opened_at: float | None = None  # loop time the circuit (re)opened; None: closed
        self._trial_running = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        # No timer needed: the state is a function of the loop's clock.
        if asyncio.get_running_loop().time() >= self._opened_at + self.reset_timeout:
            return "half_open"
        return "open"

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        state = self.state
        if state == "open":
            raise CircuitOpenError(f"circuit is {state}; not calling")
        trial = state == "half_open"
        if trial:
            self._trial_running = True  # before any await: a concurrent call sees it
        try:
            async with asyncio.timeout(self.call_timeout):  # None: no limit
                result = await fn()
        except Exception:  # includes TimeoutError from call_timeout
            self._failed(trial)
            raise
        finally:
            # A cancelled trial (CancelledError is not an Exception) lands here only:
            # neither success nor failure, but the slot is free again.
            if trial:
                self._trial_running = False
        self._succeeded(trial)
        return result

    def _failed(self, trial: bool) -> None:
        loop_now = asyncio.get_running_loop().time()
        if trial:
            self._opened_at = loop_now  # reopen for another reset_timeout
        elif self._opened_at is None:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._opened_at = loop_now
        # A call that started while closed and failed after the circuit opened
        # changes nothing.

    def _succeeded(self, trial: bool) -> None:
        if trial or self._opened_at is None:
            self._opened_at = None
            self._failures = 0
