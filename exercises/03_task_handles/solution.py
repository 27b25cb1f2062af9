"""Exercise 03: task handles, a Supervisor of named background tasks.

Start tasks by name, watch their outcome, cancel or rename them, and wait
for all of them. Read README.md in this folder for the task, the rules and
examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Supervisor:
    """Starts named background tasks and tracks them by name.

    A name is *in use* while a tracked task holds it, whether that task is
    still running or already finished.
    """

    def __init__(self) -> None:
        # TODO: keep strong references to the tasks you spawn (and whatever
        # else you need to remember their outcomes).
        pass

    def spawn(self, fn: Callable[[], Coroutine[Any, Any, T]], *, name: str) -> asyncio.Task[T]:
        """Start ``fn()`` as a background task named ``name`` and return the Task.

        Contract:
        - Synchronous: it starts the task and returns at once.
        - The task is named ``name`` from its very first line
          (``asyncio.current_task().get_name() == name``).
        - The Supervisor keeps a strong reference to the task and records its
          outcome with ``add_done_callback``.
        - A name already in use raises ValueError (and starts nothing).
        """
        # TODO: asyncio.create_task(..., name=...), then add_done_callback.
        raise NotImplementedError

    def status(self) -> dict[str, str]:
        """Every tracked task by name: "running", "ok", "cancelled" or "error:<ExcType>".

        ``<ExcType>`` is the exception's class name, e.g. ``"error:ValueError"``.
        """
        # TODO
        raise NotImplementedError

    def cancel(self, name: str) -> bool:
        """Cancel the task ``name`` and return what ``Task.cancel()`` returned.

        An unknown name returns False; a finished task returns False (that is
        what ``Task.cancel()`` says for a finished task).
        """
        # TODO
        raise NotImplementedError

    def rename(self, old: str, new: str) -> None:
        """Rename the task ``old`` to ``new`` with ``Task.set_name``.

        Both ``get_name()`` and the keys of ``status()`` change. An unknown
        ``old`` raises KeyError; a ``new`` already in use raises ValueError.
        """
        # TODO
        raise NotImplementedError

    async def join(self) -> None:
        """Wait until no tracked task is pending, including tasks spawned while waiting.

        Never raises the tasks' errors. If the caller of ``join`` is cancelled,
        the cancellation propagates and the tasks keep running.
        """
        # TODO
        raise NotImplementedError
