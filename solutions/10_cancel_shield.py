"""Reference solution for exercise 10: ordered locks, and a shielded credit awaited to the end."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Bank(Protocol):
    async def lock(self, acct: str) -> None: ...

    async def unlock(self, acct: str) -> None: ...

    async def debit(self, acct: str, n: int) -> None: ...

    async def credit(self, acct: str, n: int) -> None: ...


async def transfer(bank: Bank, src: str, dst: str, amount: int) -> None:
    """Move ``amount`` from ``src`` to ``dst`` (see the stub for the contract)."""
    # One global order for every transfer: A->B and B->A both lock A first,
    # so neither can hold one lock while waiting for the other's.
    first, second = sorted((src, dst))
    await bank.lock(first)
    try:
        await bank.lock(second)
        try:
            # A cancel here aborts cleanly: the debit is atomic.
            await bank.debit(src, amount)
            # Committed. The credit runs as its own task, so a cancel of this
            # coroutine only interrupts our *wait* for it, never the credit.
            credit = asyncio.ensure_future(bank.credit(dst, amount))
            cancel: asyncio.CancelledError | None = None
            while not credit.done():
                try:
                    await asyncio.shield(credit)
                except asyncio.CancelledError as exc:
                    # Remember the request and keep waiting: the money is in
                    # flight. Another cancel may arrive; the loop absorbs it too.
                    cancel = exc
            credit.result()  # a bank error from the credit propagates
            if cancel is not None:
                # The credit has landed; now honour the cancel (after the
                # `finally` blocks below release the locks).
                raise cancel
        finally:
            await bank.unlock(second)
    finally:
        await bank.unlock(first)
