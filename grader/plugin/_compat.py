"""CPython fixes the grading child applies on older Pythons, so nobody is graded on a CPython bug.

``TaskGroup.__aexit__`` on 3.11 and 3.12.0-3.12.2 leaves the parent task with
``cancelling() == 1`` when a child fails while the parent waits in
``__aexit__`` (CPython gh-116720, fixed in 3.12.3 and 3.13). The leak gate
checks ``cancelling() == 0``, so a correct TaskGroup-based solution would lose
points there for CPython's mistake. We install the fixed ``__aexit__`` (taken
from CPython 3.13, PSF licence) on those versions only.

``asyncio.wait_for`` on 3.11 loses a cancellation that arrives at the very
instant the awaited operation finishes: it returns the result (or raises its
error) instead of ``CancelledError`` (CPython gh-86296, fixed in 3.12 by
rebuilding ``wait_for`` on ``asyncio.timeout``). A cancellation sweep cancels at
exactly such instants, so a correct retry loop built on ``wait_for`` would fail
there on 3.11 only. We install 3.12's ``wait_for`` (PSF licence) on 3.11.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from asyncio import exceptions, taskgroups
from typing import Any

__all__ = ["apply"]


def _release_waiter(waiter: Any, *args: Any) -> None:  # pragma: no cover - CPython's
    if not waiter.done():
        waiter.set_result(None)


async def _cancel_and_wait(fut: Any) -> None:  # pragma: no cover - CPython's
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    cb = functools.partial(_release_waiter, waiter)
    fut.add_done_callback(cb)
    try:
        fut.cancel()
        await waiter
    finally:
        fut.remove_done_callback(cb)


async def _wait_for(fut: Any, timeout: float | None) -> Any:  # pragma: no cover - CPython's
    """``asyncio.wait_for`` as in CPython 3.12 (on ``asyncio.timeout``)."""
    if timeout is not None and timeout <= 0:
        fut = asyncio.ensure_future(fut)
        if fut.done():
            return fut.result()
        await _cancel_and_wait(fut)
        try:
            return fut.result()
        except exceptions.CancelledError as exc:
            raise TimeoutError from exc
    async with asyncio.timeout(timeout):
        return await fut


async def _aexit(self: Any, et: Any, exc: Any, tb: Any) -> None:  # pragma: no cover - CPython's
    self._exiting = True
    if exc is not None and self._is_base_error(exc) and self._base_error is None:
        self._base_error = exc
    if et is not None and issubclass(et, exceptions.CancelledError):
        propagate_cancellation_error = exc
    else:
        propagate_cancellation_error = None
    if et is not None and not self._aborting:
        self._abort()
    while self._tasks:
        if self._on_completed_fut is None:
            self._on_completed_fut = self._loop.create_future()
        try:
            await self._on_completed_fut
        except exceptions.CancelledError as ex:
            if not self._aborting:
                propagate_cancellation_error = ex
                self._abort()
        self._on_completed_fut = None
    assert not self._tasks
    if self._base_error is not None:
        raise self._base_error
    if self._parent_cancel_requested and self._parent_task.uncancel() == 0:
        propagate_cancellation_error = None
    if propagate_cancellation_error is not None and not self._errors:
        raise propagate_cancellation_error
    if et is not None and not issubclass(et, exceptions.CancelledError):
        self._errors.append(exc)
    if self._errors:
        if self._parent_task.cancelling():
            self._parent_task.uncancel()
            self._parent_task.cancel()
        try:
            me = BaseExceptionGroup("unhandled errors in a TaskGroup", self._errors)
            raise me from None
        finally:
            self._errors = None


def apply() -> None:
    """Install the fixes this Python needs (idempotent)."""
    if sys.version_info < (3, 12, 3):
        taskgroups.TaskGroup.__aexit__ = _aexit  # type: ignore[method-assign]
    if sys.version_info < (3, 12):
        _wait_for.__doc__ = asyncio.wait_for.__doc__
        asyncio.wait_for = asyncio.tasks.wait_for = _wait_for
