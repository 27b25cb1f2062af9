"""Mutant: executors created once, kept at module level for later calls, and never
shut down: their worker threads and processes outlive every call.

Targets: test_results_in_input_order, test_cpu_map_runs_in_worker_processes, test_cpu_map_results_in_input_order
"""

import asyncio
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

_THREAD_POOLS = {}
_PROCESS_POOLS = {}


async def fetch_all_blocking(urls, get, *, max_threads):
    loop = asyncio.get_running_loop()
    if max_threads not in _THREAD_POOLS:
        _THREAD_POOLS[max_threads] = ThreadPoolExecutor(max_threads)
    pool = _THREAD_POOLS[max_threads]
    return await asyncio.gather(*(loop.run_in_executor(pool, get, u) for u in urls))


async def cpu_map(fn, items, *, workers):
    pickle.dumps(fn)
    loop = asyncio.get_running_loop()
    if workers not in _PROCESS_POOLS:
        context = multiprocessing.get_context("spawn")
        _PROCESS_POOLS[workers] = ProcessPoolExecutor(workers, mp_context=context)
    pool = _PROCESS_POOLS[workers]
    return await asyncio.gather(*(loop.run_in_executor(pool, fn, x) for x in items))
