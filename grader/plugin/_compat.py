"""CPython fixes the grading child applies on older Pythons, so nobody is graded on a CPython bug.

``TaskGroup.__aexit__`` on 3.11 and 3.12.0-3.12.2 leaves the parent task with
``cancelling() == 1`` when a child fails while the parent waits in
``__aexit__`` (CPython gh-116720, fixed in 3.12.3 and 3.13). The leak gate
checks ``cancelling() == 0``, so a correct TaskGroup-based solution would lose
points there for CPython's mistake. We install the fixed ``__aexit__`` (taken
from CPython 3.13, PSF licence) on those versions only.
"""

from __future__ import annotations

import sys
from asyncio import exceptions, taskgroups
from typing import Any

__all__ = ["apply"]


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
