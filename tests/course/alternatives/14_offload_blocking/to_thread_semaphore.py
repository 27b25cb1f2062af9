"""Alternative: asyncio.to_thread bounded by a Semaphore, and a forkserver process
pool in a `with` block (its shutdown waits for idle workers only)."""

import asyncio
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor


async def fetch_all_blocking(urls, get, *, max_threads):
    sem = asyncio.Semaphore(max_threads)

    async def one(url):
        async with sem:
            return await asyncio.to_thread(get, url)

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(one(url)) for url in urls]
    return [t.result() for t in tasks]


async def cpu_map(fn, items, *, workers):
    pickle.dumps(fn)
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [loop.run_in_executor(pool, fn, item) for item in items]
        return list(await asyncio.gather(*futures))
