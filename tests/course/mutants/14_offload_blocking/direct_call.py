"""Mutant: calls the blocking `get` directly on the loop's thread.

Every call freezes the loop for 0.2 s (heartbeat gaps of at least 0.2 s, 2.0 s
blocked in total), and the calls run one after another.

Targets: test_loop_stays_responsive, test_ten_calls_take_about_0_4_s
"""

import asyncio
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor


async def fetch_all_blocking(urls, get, *, max_threads):
    results = []
    for url in urls:
        results.append(get(url))  # blocks the event loop
        await asyncio.sleep(0)
    return results


async def cpu_map(fn, items, *, workers):
    pickle.dumps(fn)
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        return await asyncio.gather(*(loop.run_in_executor(pool, fn, x) for x in items))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
