"""Mutant: unlocks after the work instead of in `finally`; a cancel or a bank error keeps the locks.

Targets: test_insufficient_funds_propagates, test_raising_leaves_nothing_behind
"""

import asyncio


async def transfer(bank, src, dst, amount):
    first, second = sorted((src, dst))
    await bank.lock(first)
    await bank.lock(second)
    await bank.debit(src, amount)
    credit = asyncio.ensure_future(bank.credit(dst, amount))
    cancel = None
    while not credit.done():
        try:
            await asyncio.shield(credit)
        except asyncio.CancelledError as exc:
            cancel = exc
    await bank.unlock(second)
    await bank.unlock(first)
    if cancel is not None:
        raise cancel
