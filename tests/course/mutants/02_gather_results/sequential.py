"""Mutant: awaits each fetch in turn (T=7.5 instead of 3.0 on [1, 2, 3, 0.5, 1]).

Targets: test_fetch_all_runs_concurrently, test_settled_runs_concurrently
"""


async def fetch_all(fetch, keys):
    return [await fetch(key) for key in keys]


async def fetch_all_settled(fetch, keys):
    results = []
    for key in keys:
        try:
            results.append(await fetch(key))
        except Exception as exc:
            results.append(exc)
    return results
