"""Mutant: survives one cancel during the credit, not two.

After the first cancel it waits for the credit once more, but without the shield:
a second cancel during that wait reaches the credit task itself and cancels it, so
the money debited from one account never arrives in the other. Every check that
cancels once passes; only a second cancel while the credit runs (the fixed check
with cancels at 1.5 s and 1.8 s, and the property's schedules with two cancels
after the debit) loses the money.

Targets: test_repeated_cancels_after_debit
"""

from __future__ import annotations

import asyncio
from typing import Any


async def transfer(bank: Any, src: str, dst: str, amount: int) -> None:
    first, second = sorted((src, dst))
    await bank.lock(first)
    try:
        await bank.lock(second)
        try:
            await bank.debit(src, amount)
            credit = asyncio.ensure_future(bank.credit(dst, amount))
            try:
                await asyncio.shield(credit)
            except asyncio.CancelledError:
                await credit  # unshielded: a second cancel cancels the credit itself
                raise
        finally:
            await bank.unlock(second)
    finally:
        await bank.unlock(first)
