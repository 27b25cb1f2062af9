"""Mutant: locks `src` then `dst` (argument order): A->B and B->A together deadlock.

Targets: test_opposite_transfers_do_not_deadlock, test_opposite_transfers_finish_by_four
"""

import asyncio


async def transfer(bank, src, dst, amount):
    await bank.lock(src)
    try:
        await bank.lock(dst)
        try:
            await bank.debit(src, amount)
            credit = asyncio.ensure_future(bank.credit(dst, amount))
            cancel = None
            while not credit.done():
                try:
                    await asyncio.shield(credit)
                except asyncio.CancelledError as exc:
                    cancel = exc
            credit.result()
            if cancel is not None:
                raise cancel
        finally:
            await bank.unlock(dst)
    finally:
        await bank.unlock(src)
