"""Mutant: cpu_map on threads. It returns the right values, but every fn runs in
the caller's process (its pid), where the GIL runs one thread at a time.

Targets: test_cpu_map_runs_in_worker_processes
"""

import asyncio
import pickle
from concurrent.futures import ThreadPoolExecutor


async def fetch_all_blocking(urls, get, *, max_threads):
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_threads)
    try:
        return await asyncio.gather(*(loop.run_in_executor(pool, get, u) for u in urls))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


async def cpu_map(fn, items, *, workers):
    pickle.dumps(fn)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(workers)
    try:
        return await asyncio.gather(*(loop.run_in_executor(pool, fn, x) for x in items))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
