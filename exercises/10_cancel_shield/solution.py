"""Exercise 10: a bank transfer that a cancel cannot tear in half.

Lock both accounts in a global order, debit, credit, unlock in ``finally``;
once the debit is done the credit must land, whatever cancels arrive.
Read README.md in this folder for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Bank(Protocol):
    """What the bank the checks hand you can do (for type checkers only).

    - ``lock(acct)`` waits for the account's lock and takes it;
    - ``unlock(acct)`` releases it, then yields to the loop once;
    - ``debit(acct, n)`` / ``credit(acct, n)`` take 1.0 s and change the
      balance atomically at the end (not at all if cancelled before);
      ``debit`` raises ``InsufficientFunds`` when the balance is too low.
    """

    async def lock(self, acct: str) -> None: ...

    async def unlock(self, acct: str) -> None: ...

    async def debit(self, acct: str, n: int) -> None: ...

    async def credit(self, acct: str, n: int) -> None: ...


async def transfer(bank: Bank, src: str, dst: str, amount: int) -> None:
    """Move ``amount`` from ``src`` to ``dst``.

    Contract:
    - Lock both accounts in one global order (not argument order), then debit
      ``src``, credit ``dst``, and unlock both in ``finally``.
    - A cancel before the debit completes propagates at once; nothing moves.
    - After the debit the transfer is committed: the credit finishes despite
      any number of cancels, then ``transfer`` still raises CancelledError.
    - Bank errors propagate unchanged after both locks are released.
    - No task you start is still running when ``transfer`` finishes.
    """
    # TODO: lock in a global order, try/finally per lock, shield the credit.
    raise NotImplementedError
