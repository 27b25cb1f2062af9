"""Alternative: the commit runs as its own task; loop on `asyncio.wait({t})`, remembering a cancel.

`asyncio.wait` never cancels the tasks it waits for, so it shields them just like
`asyncio.shield`. Locks are taken in descending order here: any global order works.
"""

import asyncio


async def transfer(bank, src, dst, amount):
    order = sorted((src, dst), reverse=True)
    taken = []
    try:
        for acct in order:
            await bank.lock(acct)
            taken.append(acct)
        await bank.debit(src, amount)
        commit = asyncio.create_task(bank.credit(dst, amount))
        cancelled = False
        while True:
            try:
                await asyncio.wait({commit})
            except asyncio.CancelledError:
                cancelled = True
                continue
            break
        commit.result()
        if cancelled:
            raise asyncio.CancelledError()
    finally:
        for acct in reversed(taken):
            await bank.unlock(acct)
