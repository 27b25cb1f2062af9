"""Mutant: takes the locks inside the try, so its `finally` unlocks both accounts even
when a cancel arrived before it held them.

Cancelled while it waits for its second account, which another client holds, it
unlocks that account behind the holder's back (and, cancelled before it got any
lock, it tries to unlock an account nobody locked and raises RuntimeError instead
of CancelledError). Every fixed check cancels it, or lets it fail, only once both
accounts are locked, and the property never makes it wait for a lock, so every
other check passes; only the cancellation sweep cancels it while it waits for a
lock.

Targets: test_cancellation_sweep
"""

import asyncio


async def transfer(bank, src, dst, amount):
    first, second = sorted((src, dst))
    try:
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
        credit.result()
        if cancel is not None:
            raise cancel
    finally:
        try:
            await bank.unlock(second)
        finally:
            await bank.unlock(first)
