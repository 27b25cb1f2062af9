"""Mutant: asyncio.to_thread with no limit of its own.

The loop's default pool has min(32, cpus + 4) threads, so more than
max_threads calls run at once (8 on a 4-core machine, at least 5 anywhere).

Targets: test_peak_is_exactly_max_threads
"""

import asyncio
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor


async def fetch_all_blocking(urls, get, *, max_threads):
    return await asyncio.gather(*(asyncio.to_thread(get, url) for url in urls))


async def cpu_map(fn, items, *, workers):
    pickle.dumps(fn)
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        return await asyncio.gather(*(loop.run_in_executor(pool, fn, x) for x in items))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
