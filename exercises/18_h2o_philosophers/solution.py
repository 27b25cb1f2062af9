"""Exercise 18: H2O and the dining philosophers (LeetCode 1117 + 1226), the asyncio way.

Two synchronisation classics: atoms that must leave in complete molecules, and
philosophers who must share forks without deadlock or starvation.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class H2O:
    """Hydrogen and oxygen atoms meet to form water molecules.

    Every call of ``hydrogen`` or ``oxygen`` is one atom, from its own task.

    Contract:
    - An atom waits until it can join a full molecule: 2 hydrogens + 1 oxygen.
      It then calls its ``release()`` exactly once and returns.
    - A molecule forms the instant its third atom arrives (no polling), and
      its three atoms are released at that same instant, before any atom of
      the next molecule is released.
    - A cancelled waiting atom is never released, its CancelledError
      propagates, and it takes no place in any molecule: the others pair up
      without it.
    """

    def __init__(self) -> None:
        # TODO: create what the atoms share (on self, never at module level).
        pass

    async def hydrogen(self, release: Callable[[], None]) -> None:
        """One hydrogen atom: wait for a full molecule, then call ``release()``."""
        # TODO
        raise NotImplementedError

    async def oxygen(self, release: Callable[[], None]) -> None:
        """One oxygen atom: wait for a full molecule, then call ``release()``."""
        # TODO
        raise NotImplementedError


class DiningTable:
    """``n`` philosophers (0 .. n-1) around a table with ``n`` forks.

    Philosopher ``p``'s left fork is fork ``p``; its right fork is fork
    ``(p + 1) % n``.
    """

    def __init__(self, n: int = 5) -> None:
        self.n = n
        # TODO: create the shared state (which forks are in use, and a way to wait).

    async def wants_to_eat(
        self,
        p: int,
        pick_left: Callable[[], None],
        pick_right: Callable[[], None],
        eat: Callable[[], Awaitable[None]],
        put_left: Callable[[], None],
        put_right: Callable[[], None],
    ) -> None:
        """Philosopher ``p`` eats one meal.

        Contract:
        - Wait until *both* forks are free, then pick both up at once
          (``pick_left()`` and ``pick_right()``, in either order, with no
          await in between): never hold one fork while waiting for the other.
        - ``await eat()``, then put both forks down (``put_left()`` and
          ``put_right()``) the moment the meal ends.
        - Eat as soon as both forks are free: no deadlock, no starvation.
        - Cancelled while eating: both forks are still put down, and the
          CancelledError propagates. Cancelled while waiting: it holds no
          fork and picks nothing up.
        """
        # TODO
        raise NotImplementedError
