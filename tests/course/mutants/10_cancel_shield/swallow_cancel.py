"""Mutant: shields the credit and keeps awaiting it, but swallows the cancel (returns normally).

Targets: test_cancel_after_debit_still_credits, test_repeated_cancels_after_debit
"""

import asyncio


async def transfer(bank, src, dst, amount):
    first, second = sorted((src, dst))
    await bank.lock(first)
    try:
        await bank.lock(second)
        try:
            await bank.debit(src, amount)
            credit = asyncio.ensure_future(bank.credit(dst, amount))
            while not credit.done():
                try:
                    await asyncio.shield(credit)
                except asyncio.CancelledError:
                    pass  # the cancel is forgotten: the caller never learns it happened
            credit.result()
        finally:
            await bank.unlock(second)
    finally:
        await bank.unlock(first)
