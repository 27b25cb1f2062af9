"""Mutant: collects the results in completion order (asyncio.as_completed), not input order.

Targets: test_fetch_all_keeps_input_order, test_settled_keeps_input_order
"""

import asyncio


async def fetch_all(fetch, keys):
    return [await done for done in asyncio.as_completed([fetch(key) for key in keys])]


async def fetch_all_settled(fetch, keys):
    results = []
    for done in asyncio.as_completed([fetch(key) for key in keys]):
        try:
            results.append(await done)
        except Exception as exc:
            results.append(exc)
    return results
