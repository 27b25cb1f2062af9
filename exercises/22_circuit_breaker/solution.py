"""Exercise 22: a circuit breaker.

After ``failure_threshold`` consecutive failures, fail fast for
``reset_timeout`` seconds of loop time, then let one trial call through.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

T = TypeVar("T")


class CircuitOpenError(Exception):
    """Raised by ``CircuitBreaker.call`` when the circuit does not let the call through."""


class CircuitBreaker:
    """Fail fast while a dependency is down; probe it with one trial call.

    Contract (create and use it inside a running event loop):
    - closed: each call runs ``fn``; ``failure_threshold`` consecutive failures
      (an exception from ``fn``, or ``call_timeout`` expiring, which cancels
      ``fn`` and raises TimeoutError) open the circuit. A success resets the count.
    - open: ``call`` raises CircuitOpenError at once without calling ``fn``.
    - ``reset_timeout`` seconds of loop time after opening: half_open. One
      trial at a time runs ``fn`` (other calls fail fast); a successful trial
      closes the circuit, a failed one reopens it.
    - A cancelled call counts as neither success nor failure.
    - ``state`` is "closed", "open" or "half_open", up to date at every instant.
    """

    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_timeout: float,
        call_timeout: float | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.call_timeout = call_timeout
        # TODO: the failure count, when the circuit opened, whether a trial runs

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        # TODO: derive it from loop.time() (or keep it up to date with call_later)
        raise NotImplementedError

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        # TODO: fail fast, or run fn (with call_timeout) and record the outcome
        raise NotImplementedError
