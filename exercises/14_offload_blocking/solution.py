"""Exercise 14: offload blocking work to threads, and CPU-bound work to processes.

Blocking calls freeze the event loop; threads fix that for I/O, but only
processes run Python code in parallel (the GIL). Read README.md in this folder
for the task, the rules and examples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence


async def fetch_all_blocking(
    urls: Sequence[str], get: Callable[[str], bytes], *, max_threads: int
) -> list[bytes]:
    """Call the blocking ``get(url)`` for every url without blocking the event loop.

    Contract:
    - Each ``get`` runs in a worker thread (``asyncio.to_thread`` or
      ``loop.run_in_executor``), never on the loop's thread: the loop stays
      responsive while the calls run.
    - At most ``max_threads`` calls run at once, and exactly that many when
      enough are waiting.
    - The results come back in *input* order.
    - If the caller is cancelled, the CancelledError reaches the caller at
      once (don't wait for the calls still running in their threads) and no
      new ``get`` starts afterwards.
    - Any executor you create is shut down before you return.
    """
    # TODO: run each get in a thread, at most max_threads at a time.
    raise NotImplementedError


async def cpu_map(fn: Callable[[int], int], items: Sequence[int], *, workers: int) -> list[int]:
    """Compute ``fn(item)`` for every item in a pool of ``workers`` processes.

    Contract:
    - Use a ``concurrent.futures.ProcessPoolExecutor`` with an explicit
      ``mp_context`` (``multiprocessing.get_context("spawn")`` or
      ``"forkserver"``) through ``loop.run_in_executor``: threads would not
      run CPU-bound Python in parallel.
    - The results come back in *input* order.
    - ``fn`` travels to the workers pickled: if ``pickle.dumps(fn)`` fails (a
      lambda, a local function), raise what it raises, before anything is
      submitted to the pool.
    - The executor is shut down before you return: no worker process is left.
    """
    # TODO: check that fn pickles, then map it over items in a process pool.
    raise NotImplementedError
