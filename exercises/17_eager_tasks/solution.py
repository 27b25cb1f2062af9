"""Exercise 17: eager tasks (Python 3.12+).

Start a task *synchronously*, up to its first real suspension, and use that
to answer cache hits without a trip through the event loop.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def spawn_eager(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Wrap ``coro`` in a task named ``name`` and run its first step right now.

    Contract (call it from code running inside the event loop):
    - The coroutine runs synchronously, inside this call, up to its first
      ``await`` that really suspends; only then does ``spawn_eager`` return.
      A coroutine that never suspends is finished (``done()``) on return.
    - Inside that first step, ``asyncio.current_task()`` is the returned task
      and its ``get_name()`` is already ``name``.
    - An exception raised during the first step is stored on the task (read it
      with ``task.exception()``), never raised by ``spawn_eager``.
    - The loop's task factory (``loop.get_task_factory()``) is left exactly as
      it was: spawn_eager never installs or swaps a factory.
    """
    # TODO: build the task with asyncio.eager_task_factory (Python 3.12+).
    raise NotImplementedError


async def lookup_all(
    keys: Iterable[str],
    cache: dict[str, str],
    loader: Callable[[str], Awaitable[str]],
) -> dict[str, str]:
    """Return ``{key: value}`` for every key, from ``cache`` or from ``loader``.

    Contract:
    - One eager task per key (use ``spawn_eager``). A key found in ``cache``
      is a hit: its task reads the cache and finishes while it is being
      spawned, in the very loop iteration ``lookup_all`` was called in, and
      the loader is not called for it.
    - A key not in ``cache`` is a miss: ``await loader(key)``. All misses load
      concurrently, and each loaded value is stored in ``cache`` the moment it
      arrives.
    - If ``lookup_all`` is cancelled, every unfinished load is cancelled (and
      waited for), nothing that had not finished loading is written to
      ``cache``, and the ``CancelledError`` propagates.
    """
    # TODO: spawn one eager task per key, then wait for all of them together.
    raise NotImplementedError
