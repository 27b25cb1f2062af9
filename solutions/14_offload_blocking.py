"""Reference solution for exercise 14: a bounded thread pool for blocking I/O, a process pool for CPU."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


async def fetch_all_blocking(
    urls: Sequence[str], get: Callable[[str], bytes], *, max_threads: int
) -> list[bytes]:
    """Call the blocking ``get`` for every url on at most ``max_threads`` threads (see the stub)."""
    loop = asyncio.get_running_loop()
    # Our own pool: its size *is* the limit, and nobody else's work shares it.
    pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="fetch")
    try:
        # run_in_executor hands back asyncio futures: gather awaits them without
        # blocking the loop and keeps the results in input order.
        return await asyncio.gather(*(loop.run_in_executor(pool, get, url) for url in urls))
    finally:
        # Never wait here: on a cancel, up to max_threads calls are still running
        # in their threads (a thread cannot be interrupted), and waiting for them
        # would block the loop. cancel_futures drops the calls that never started;
        # the busy threads end on their own when their call returns.
        pool.shutdown(wait=False, cancel_futures=True)


async def cpu_map(fn: Callable[[int], int], items: Sequence[int], *, workers: int) -> list[int]:
    """Compute ``fn(item)`` for every item in ``workers`` processes (see the stub)."""
    # A worker process receives fn pickled. Check that first: a lambda or a
    # local function fails here, in the caller, before any process starts.
    pickle.dumps(fn)
    loop = asyncio.get_running_loop()
    # spawn: a fresh interpreter per worker, never a fork of this multi-threaded process.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        return await asyncio.gather(*(loop.run_in_executor(pool, fn, item) for item in items))
    finally:
        # As above: don't block the loop waiting for the workers to exit.
        pool.shutdown(wait=False, cancel_futures=True)
