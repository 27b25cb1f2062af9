"""Hidden suite for exercise 14: fetch_all_blocking (threads) and cpu_map (processes).

Every check runs on the real clock (@realtime): threads and processes do real
work the virtual clock cannot see. Durations are 0.1-0.3 s, sequential and
concurrent times differ at least 5x, and windows are a lower bound plus a
1.5-2x upper bound, so the verdicts hold on a busy machine. The process checks
prove parallelism by process ids, not by timing; the one timing check that
needs 4 free cores is skipped elsewhere.

Worker processes (spawn or forkserver) cannot import this suite or the
learner's file, so the functions handed to ``cpu_map`` are ``_Remote``
callables: they pickle as their source text and are rebuilt from it by
``eval`` in the worker, with nothing to import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures.process as cf_process
import contextlib
import itertools
import multiprocessing
import os
import pickle
import sys
import threading
import time
from typing import Any

import pytest

from grader import kata

FETCH = "fetch_all_blocking"
CPU = "cpu_map"
# A 10 ms heartbeat may wake this late on a loaded machine (the curriculum's CI value).
HEARTBEAT_GAP_S = 0.1
# A cancelled call must reach its caller this quickly (the running threads go on alone).
CANCEL_WITHIN_S = 0.05
# How long after returning every worker thread and process must be gone (polled).
LEFTOVER_AFTER_S = 1.0


# -- fakes -----------------------------------------------------------------------


class _BlockingGet:
    """A blocking ``get(url) -> bytes`` that sleeps in whatever thread calls it.

    It records (thread-safely) how many calls run at once, when each starts and
    ends (``time.monotonic``, the real-time loop's clock) and on which thread.
    """

    def __init__(self, delays: dict[str, float] | float) -> None:
        self._delays = delays
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.starts: list[tuple[float, str]] = []
        self.ends: list[tuple[float, str]] = []
        self.threads: set[int] = set()

    def delay(self, url: str) -> float:
        return self._delays if isinstance(self._delays, float) else self._delays[url]

    def __call__(self, url: str) -> bytes:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.starts.append((time.monotonic(), url))
            self.threads.add(threading.get_ident())
        try:
            time.sleep(self.delay(url))
        finally:
            with self._lock:
                self.running -= 1
                self.ends.append((time.monotonic(), url))
        return b"<" + url.encode() + b">"


def _body(url: str) -> bytes:
    return b"<" + url.encode() + b">"


class _Remote:
    """A picklable ``fn(int) -> int`` for worker processes, made from source text.

    It pickles as ``eval(source, {})``: the worker rebuilds the function from
    its text without importing anything of the grader. Called here, it runs the
    same function in this process (so a thread-based solution still works,
    and shows this process's pid).
    """

    def __init__(self, name: str, source: str) -> None:
        self.__name__ = self.__qualname__ = name
        self._source = source
        self._fn = eval(source, {})

    def __call__(self, x: int) -> int:
        result: int = self._fn(x)
        return result

    def __reduce__(self) -> tuple[Any, ...]:
        return (eval, (self._source, {}))

    def __repr__(self) -> str:
        return self.__name__


PID_OF = _Remote("pid_of", "lambda x: __import__('os').getpid()")
SLOW_SQUARE = _Remote(
    "slow_square", "lambda x: (__import__('time').sleep(0.03 * (x % 4)), x * x)[1]"
)
SQUARE = _Remote("square", "lambda x: x * x")
BURN = _Remote("burn", "lambda n: sum(i * i % 7 for i in range(n)) + n")


# -- leftovers -------------------------------------------------------------------


def _snapshot() -> tuple[set[threading.Thread], set[int | None]]:
    return set(threading.enumerate()), {p.pid for p in multiprocessing.active_children()}


def _alive(pid: int) -> bool:
    """Is ``pid`` a live process (a zombie counts as gone)?"""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X", "x")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True


async def _expect_nothing_left(
    before: tuple[set[threading.Thread], set[int | None]],
    what: str,
    *,
    pids: list[Any] | None = None,
) -> None:
    """Within LEFTOVER_AFTER_S: no worker process and no thread started by the call alive.

    Polled every 20 ms, so a call that shut its pool down passes at once and one
    whose workers linger fails after the full LEFTOVER_AFTER_S.
    The loop's default executor (``asyncio.to_thread``, ``run_in_executor(None, ...)``)
    belongs to the loop, which shuts it down itself: its threads are not counted.
    """
    threads_before, children_before = before
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEFTOVER_AFTER_S

    def leftovers() -> tuple[list[int], list[threading.Thread]]:
        # active_children() also reaps workers that have exited.
        children = [p for p in multiprocessing.active_children() if p.pid not in children_before]
        seen = [p for p in (pids or []) if isinstance(p, int) and p != os.getpid() and _alive(p)]
        default = getattr(loop, "_default_executor", None)
        spared = set(getattr(default, "_threads", ()))
        threads = [
            t
            for t in threading.enumerate()
            if t not in threads_before and t not in spared and t.is_alive()
        ]
        return sorted({p.pid for p in children if p.pid is not None} | set(seen)), threads

    alive, threads = leftovers()
    while (alive or threads) and loop.time() < deadline:
        await asyncio.sleep(0.02)
        alive, threads = leftovers()
    kata.expect(
        not alive,
        f"{LEFTOVER_AFTER_S:g} s after {what} returned, {len(alive)} worker process(es) "
        f"were still alive (pids {alive}): shut the ProcessPoolExecutor down before returning "
        "(`pool.shutdown(...)` in a `finally`); a pool kept for later calls (module level) "
        "keeps its processes forever",
    )
    kata.expect(
        not threads,
        f"{LEFTOVER_AFTER_S:g} s after {what} returned, thread(s) it started were still alive "
        f"({', '.join(sorted(t.name for t in threads))}): shut your executor down before "
        "returning (`pool.shutdown(...)` in a `finally`); an executor kept at module level, "
        "or never shut down, keeps its threads",
    )


# -- behaviour -------------------------------------------------------------------


@kata.realtime
@kata.check(
    "fetch_all_blocking returns the bodies in input order, from worker threads",
    group="behaviour",
    hint=2,
)
async def test_results_in_input_order(submission):
    delays = {"u0": 0.15, "u1": 0.05, "u2": 0.1, "u3": 0.02, "u4": 0.12, "u5": 0.05}
    urls = list(delays)
    get = _BlockingGet(delays)
    call = f"{FETCH}({urls}, get, max_threads=3)"
    before = _snapshot()
    got = await submission.fetch_all_blocking(urls, get, max_threads=3)
    kata.expect(
        threading.get_ident() not in get.threads,
        f"{call} ran get on the event loop's own thread: a blocking call there freezes every "
        "other task. Hand it to a thread: `await loop.run_in_executor(pool, get, url)` or "
        "`await asyncio.to_thread(get, url)`",
    )
    kata.expect_equal(
        got,
        [_body(u) for u in urls],
        what=call,
        hint="one body per url, in the order of `urls` (not in the order the calls finished), "
        "as a list",
    )
    await _expect_nothing_left(before, FETCH)


@kata.realtime
@kata.check(
    "never more than max_threads calls at once, and exactly that many", group="behaviour", hint=3
)
async def test_peak_is_exactly_max_threads(submission):
    for n, delay, limit in ((10, 0.2, 5), (6, 0.1, 2)):
        urls = [f"u{i}" for i in range(n)]
        get = _BlockingGet(delay)
        await submission.fetch_all_blocking(urls, get, max_threads=limit)
        if get.peak > limit:
            why = (
                "the limit is not enforced: asyncio.to_thread alone runs on the loop's "
                "default pool, which has min(32, cpus + 4) threads; bound it with "
                "asyncio.Semaphore(max_threads) or use your own "
                "ThreadPoolExecutor(max_workers=max_threads)"
            )
        else:
            why = (
                "start every call at once and let the limit hold back the extra ones; calling "
                "get directly, or awaiting one thread at a time, runs them one by one"
            )
        kata.expect(
            get.peak == limit,
            f"{FETCH}({n} urls, get of {delay:g} s each, max_threads={limit}) ran at most "
            f"{get.peak} get call(s) at once; it must run exactly {limit} at a time: {why}",
        )


@kata.realtime
@kata.check("cpu_map runs fn in worker processes and leaves none behind", group="behaviour", hint=4)
async def test_cpu_map_runs_in_worker_processes(submission):
    before = _snapshot()
    items = list(range(8))
    call = f"{CPU}(pid_of, {items}, workers=2)"
    got = await submission.cpu_map(PID_OF, items, workers=2)
    kata.expect(
        isinstance(got, list) and len(got) == len(items) and all(type(p) is int for p in got),
        f"{call} returned {got!r}; expected a list of {len(items)} ints (pid_of returns the "
        "process id of the process it runs in)",
    )
    mine = os.getpid()
    kata.expect(
        mine not in got,
        f"{call} returned {got}, and {mine} is this very process's id: fn ran in the caller's "
        "process, where threads share one GIL and CPU-bound Python runs one thread at a time. "
        "Run it in a concurrent.futures.ProcessPoolExecutor (with "
        "mp_context=multiprocessing.get_context('spawn')) through loop.run_in_executor",
    )
    await _expect_nothing_left(before, CPU, pids=got)


@kata.realtime
@kata.check("cpu_map returns the results in input order", group="behaviour", hint=5)
async def test_cpu_map_results_in_input_order(submission):
    before = _snapshot()
    items = [7, 2, 5, 0, 3, 6, 1, 4]
    got = await submission.cpu_map(SLOW_SQUARE, items, workers=3)
    kata.expect_equal(
        got,
        [x * x for x in items],
        what=f"{CPU}(square, {items}, workers=3)",
        hint="one result per item, in the order of `items` (not in the order the workers "
        "finished), as a list: asyncio.gather over the run_in_executor futures keeps it",
    )
    await _expect_nothing_left(before, CPU)


# -- timing ----------------------------------------------------------------------


@kata.realtime
@kata.check("ten 0.2 s blocking calls with max_threads=5 take about 0.4 s", group="timing", hint=3)
async def test_ten_calls_take_about_0_4_s(submission):
    urls = [f"u{i}" for i in range(10)]
    get = _BlockingGet(0.2)
    t0 = time.monotonic()
    await submission.fetch_all_blocking(urls, get, max_threads=5)
    took = time.monotonic() - t0
    kata.expect(
        took >= 0.38,
        f"{FETCH}(10 urls, get of 0.2 s each, max_threads=5) took {took:.3f} s; with 5 at a "
        "time it cannot take less than 0.4 s: more than 5 calls ran at once",
    )
    kata.expect(
        took <= 0.8,
        f"{FETCH}(10 urls, get of 0.2 s each, max_threads=5) took {took:.3f} s; 5 at a time "
        "take about 0.4 s (one after another: 2.0 s). Are you calling get directly, or "
        "awaiting each thread in turn? Start them all, then gather",
    )


@kata.realtime
@kata.check("the loop stays responsive: a 10 ms heartbeat keeps beating", group="timing", hint=1)
async def test_loop_stays_responsive(submission):
    loop = asyncio.get_running_loop()
    stamps: list[float] = []

    async def heartbeat() -> None:
        while True:
            stamps.append(loop.time())
            await asyncio.sleep(0.01)

    beat = asyncio.ensure_future(heartbeat())
    await asyncio.sleep(0)
    try:
        await submission.fetch_all_blocking(
            [f"u{i}" for i in range(10)], _BlockingGet(0.2), max_threads=5
        )
        stamps.append(loop.time())
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    worst = max(gaps, default=0.0)
    blocked = sum(g for g in gaps if g > HEARTBEAT_GAP_S)
    kata.expect(
        worst <= HEARTBEAT_GAP_S,
        f"while {FETCH}(10 urls, get of 0.2 s each, max_threads=5) ran, a heartbeat task "
        f"that wakes every 10 ms waited up to {worst * 1000:.0f} ms between beats "
        f"({blocked:.2f} s blocked in total); it must never wait more than "
        f"{HEARTBEAT_GAP_S * 1000:.0f} ms. The blocking get ran on the loop's thread: call it "
        "through `loop.run_in_executor(pool, get, url)` or `asyncio.to_thread(get, url)`, "
        "never directly, and don't wait for threads with a blocking call "
        "(pool.shutdown(wait=True) or `with ThreadPoolExecutor()` on the loop's thread)",
    )


@kata.realtime
@kata.check("on 4+ cores, 4 CPU-bound jobs run in parallel in processes", group="timing", hint=4)
async def test_processes_beat_the_gil(submission):
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    if cores < 4 or not gil:
        # The check cannot judge here; a short run still proves cpu_map is implemented.
        await submission.cpu_map(SQUARE, [1, 2, 3], workers=2)
        pytest.skip(
            f"needs at least 4 CPU cores and the GIL (this machine: {cores} core(s), GIL "
            f"{'on' if gil else 'off'}); its points go to the other timing checks"
        )
    t0 = time.perf_counter()
    BURN(100_000)
    unit = max(time.perf_counter() - t0, 1e-4)
    n = max(100_000, int(100_000 * 0.3 / unit))
    t0 = time.perf_counter()
    for _ in range(4):
        await asyncio.to_thread(BURN, n)
    serial = time.perf_counter() - t0
    before = _snapshot()
    t0 = time.perf_counter()
    got = await submission.cpu_map(BURN, [n] * 4, workers=4)
    took = time.perf_counter() - t0
    kata.expect_equal(got, [BURN(n)] * 4, what=f"{CPU}(burn, [{n}] * 4, workers=4)")
    bound = 0.6 * serial + 0.5
    kata.expect(
        took <= bound,
        f"{CPU}(burn, 4 jobs of about 0.3 s of CPU each, workers=4) took {took:.2f} s; "
        f"one after another they take {serial:.2f} s, and 4 processes on 4 cores should take "
        f"at most {bound:.2f} s: threads (or one process) run Python one bytecode at a time "
        "under the GIL; use a ProcessPoolExecutor with workers processes",
    )
    await _expect_nothing_left(before, CPU)


# -- cancellation and errors -------------------------------------------------------


@kata.realtime
@kata.check(
    "a cancel reaches the caller at once and no new call starts", group="cancellation", hint=6
)
async def test_cancel_raises_at_once(submission):
    urls = [f"u{i}" for i in range(10)]
    get = _BlockingGet(0.3)
    call = f"{FETCH}(10 urls, get of 0.3 s each, max_threads=5)"
    task = asyncio.ensure_future(submission.fetch_all_blocking(urls, get, max_threads=5))
    await asyncio.sleep(0.1)
    cancelled_at = time.monotonic()
    task.cancel()
    raised = False
    try:
        await task
    except asyncio.CancelledError:
        raised = True
    took = time.monotonic() - cancelled_at
    kata.expect(
        raised,
        f"{call} was cancelled at 0.1 s but returned instead of raising CancelledError: let "
        "the cancellation propagate (don't catch it, or re-raise it)",
    )
    kata.expect(
        took <= CANCEL_WITHIN_S,
        f"{call} was cancelled at 0.1 s and raised CancelledError {took * 1000:.0f} ms later; "
        f"it must raise within {CANCEL_WITHIN_S * 1000:.0f} ms. The calls already running in "
        "threads cannot be stopped, so don't wait for them: pool.shutdown(wait=True) (or "
        "leaving a `with ThreadPoolExecutor()` block) blocks the loop until they end; use "
        "pool.shutdown(wait=False, cancel_futures=True)",
    )
    # The 5 running calls end at about 0.3 s; anything queued would start then.
    await asyncio.sleep(0.5)
    late = sorted(url for t, url in get.starts if t > cancelled_at)
    kata.expect(
        not late,
        f"{call} was cancelled at 0.1 s, yet get started afterwards for {late}: calls that "
        "had not started must never start once the caller is cancelled (cancel_futures=True "
        "when shutting the pool down, or cancel the tasks waiting for a thread)",
    )


@kata.realtime
@kata.check(
    "an unpicklable fn (a lambda) fails fast, before anything reaches the pool",
    group="cancellation",
    hint=5,
)
async def test_unpicklable_fn_fails_fast(submission):
    fn = lambda x: x + 1  # noqa: E731 - the point: a lambda does not pickle
    try:
        pickle.dumps(fn)
    except Exception as exc:
        expected: type[BaseException] = type(exc)
    else:  # pragma: no cover - a lambda always fails to pickle
        pytest.fail("a lambda pickled")
    call = f"{CPU}(lambda x: x + 1, [1, 2, 3], workers=2)"
    submitted: list[Any] = []
    original = cf_process.ProcessPoolExecutor.submit

    def spy(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        submitted.append(fn)
        return original(self, fn, *args, **kwargs)

    before = _snapshot()
    cf_process.ProcessPoolExecutor.submit = spy  # type: ignore[method-assign]
    t0 = time.monotonic()
    try:
        got = await submission.cpu_map(fn, [1, 2, 3], workers=2)
    except Exception as exc:
        error: Exception | None = exc
    else:
        error = None
    finally:
        cf_process.ProcessPoolExecutor.submit = original  # type: ignore[method-assign]
    took = time.monotonic() - t0
    if error is None:
        kata.fail(
            f"{call} returned {got!r}; a lambda cannot be pickled, so it cannot reach a worker "
            f"process: cpu_map must raise what pickle.dumps(fn) raises ({expected.__name__}). "
            "Did it run in this process (threads) instead of a process pool?"
        )
    kata.expect(
        type(error) is expected,
        f"{call} raised {type(error).__name__}: {error}; expected the {expected.__name__} "
        "that pickle.dumps(fn) raises for it: call pickle.dumps(fn) first and let its error "
        "propagate as it is",
    )
    kata.expect(
        not submitted,
        f"{call} submitted the lambda to the process pool before failing; check it with "
        "pickle.dumps(fn) before submitting anything: a job that fails to pickle inside the "
        "pool, followed by shutdown(cancel_futures=True), can hang the interpreter",
    )
    kata.expect(
        took <= 1.0,
        f"{call} took {took:.2f} s to fail; check pickle.dumps(fn) before starting any process",
    )
    await _expect_nothing_left(before, CPU)
