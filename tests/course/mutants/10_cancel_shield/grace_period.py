"""Mutant: after a cancel lands during the credit, it waits for the credit for at most
0.6 s more ("a grace period for the money in flight"), then raises anyway.

A cancel late in the credit (the fixed checks' t=1.5 s and t=1.8 s, the sweep's
cancel in the middle of the credit) leaves at most 0.5 s to go, so every other
check passes (the sweep does not cancel at the very instant the debit lands:
the README leaves that instant untested). Only the property cancels early in the
credit (t=1.125 s or t=1.375 s): the grace runs out before the credit lands, and
it raises with the money debited but not credited and the credit's task still
running.

Targets: test_property_any_cancel_schedule
"""

import asyncio


async def transfer(bank, src, dst, amount):
    loop = asyncio.get_running_loop()
    first, second = sorted((src, dst))
    await bank.lock(first)
    try:
        await bank.lock(second)
        try:
            await bank.debit(src, amount)
            credit = asyncio.ensure_future(bank.credit(dst, amount))
            cancel = None
            deadline = None
            while not credit.done():
                try:
                    if deadline is None:
                        await asyncio.shield(credit)
                    else:
                        left = deadline - loop.time()
                        if left <= 0:
                            break  # the grace period is over
                        await asyncio.wait({credit}, timeout=left)
                except asyncio.CancelledError as exc:
                    if deadline is None:
                        deadline = loop.time() + 0.6
                    cancel = exc
            if cancel is not None:
                raise cancel
            credit.result()
        finally:
            await bank.unlock(second)
    finally:
        await bank.unlock(first)
