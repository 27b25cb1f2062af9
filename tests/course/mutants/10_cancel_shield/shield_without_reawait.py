"""Mutant: `await asyncio.shield(credit)` once; a cancel raises at 1.5 and leaves the credit running.

Targets: test_cancel_after_debit_still_credits, test_raising_leaves_nothing_behind
"""

import asyncio


async def transfer(bank, src, dst, amount):
    first, second = sorted((src, dst))
    await bank.lock(first)
    try:
        await bank.lock(second)
        try:
            await bank.debit(src, amount)
            await asyncio.shield(bank.credit(dst, amount))
        finally:
            await bank.unlock(second)
    finally:
        await bank.unlock(first)
