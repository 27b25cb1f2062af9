"""Mutant: awaits the credit directly, so a cancel after the debit loses the money.

Targets: test_cancel_after_debit_still_credits, test_repeated_cancels_after_debit, test_raising_leaves_nothing_behind
"""


async def transfer(bank, src, dst, amount):
    first, second = sorted((src, dst))
    await bank.lock(first)
    try:
        await bank.lock(second)
        try:
            await bank.debit(src, amount)
            await bank.credit(dst, amount)
        finally:
            await bank.unlock(second)
    finally:
        await bank.unlock(first)
