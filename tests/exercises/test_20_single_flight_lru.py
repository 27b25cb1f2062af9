"""Hidden suite for exercise 20: AsyncLRU, a single-flight LRU cache.

Every check is on the virtual clock. The loader is a fake: the k-th load of a
key sleeps (1.0 s unless a check says otherwise) and returns ``"<key>-v<k>"``,
or raises the exception a check planned for it; each load runs inside a probe
span, so the suite knows when each load started, ended, saw a cancellation and
ran its ``finally``, and how many loads ran at once. Which load served a value
shows in the value itself: ``"a-v1"`` from the first load of ``"a"``,
``"a-v2"`` from a reload.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from grader import kata

EXACT = 1e-5  # "exact" in the curriculum


def _t(x: float | None, t0: float = 0.0) -> str:
    if x is None:
        return "never"
    text = f"{x - t0:.4f}".rstrip("0").rstrip(".")
    return f"t={text} s"


class Loader:
    """The fake loader: ``load(key)`` is the k-th load of ``key``."""

    def __init__(
        self,
        probes: kata.Probes,
        delay: float = 1.0,
        fail: dict[tuple[str, int], BaseException] | None = None,
    ) -> None:
        self.probes = probes
        self.delay = delay
        self.fail = fail or {}
        self.calls: list[tuple[str, float]] = []
        self.count: Counter[str] = Counter()

    async def load(self, key: str) -> str:
        self.count[key] += 1
        k = self.count[key]
        self.calls.append((key, kata.now()))
        async with self.probes.span(self.name(key, k)):
            await asyncio.sleep(self.delay)
            exc = self.fail.get((key, k))
            if exc is not None:
                raise exc
            return f"{key}-v{k}"

    @staticmethod
    def name(key: str, k: int) -> str:
        return f"load({key!r}) #{k}"

    def record(self, key: str, k: int = 1) -> kata.ProbeRecord | None:
        try:
            return self.probes.get(self.name(key, k))
        except KeyError:
            return None


@dataclass
class Get:
    key: str
    label: str
    started: float
    returned: float | None = None  # when a value or an exception came out
    left: float | None = None  # when a CancelledError came out
    value: Any = None
    error: BaseException | None = None
    outcome: str = "waiting"  # waiting, value, error, cancelled
    task: asyncio.Task[Any] | None = None


class Callers:
    """``get`` calls against one cache, each in its own task, recorded as they happen."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.gets: list[Get] = []

    def start(self, key: str, label: str | None = None) -> Get:
        g = Get(key, label or f"get({key!r}) #{len(self.gets) + 1}", kata.now())
        self.gets.append(g)
        g.task = asyncio.ensure_future(self._run(g))
        return g

    async def _run(self, g: Get) -> None:
        try:
            value = await self.cache.get(g.key)
        except asyncio.CancelledError:
            g.outcome = "cancelled"
            g.left = kata.now()
            raise
        except Exception as exc:  # judged by the check, never logged as "never retrieved"
            g.outcome, g.error, g.returned = "error", exc, kata.now()
            return
        g.outcome, g.value, g.returned = "value", value, kata.now()

    async def wait(self, until: float) -> None:
        pending = {g.task for g in self.gets if g.task is not None and not g.task.done()}
        remaining = until - kata.now()
        if pending and remaining > 0:
            await asyncio.wait(pending, timeout=remaining)

    async def close(self) -> None:
        left = [g.task for g in self.gets if g.task is not None and not g.task.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)


def _explain_error(g: Get) -> str:
    exc = g.error
    text = f"{g.label} raised {type(exc).__name__}: {exc}"
    if isinstance(exc, RuntimeError) and "coroutine" in str(exc):
        return (
            f"{text}. A coroutine object can be awaited only once: don't share the coroutine "
            "the loader returned; wrap it in a Task (loop.create_task) once and let every "
            "waiter await that Task"
        )
    return text


def _expect_values(gets: list[Get], want: str, context: str, hint: str = "") -> None:
    for g in gets:
        if g.outcome == "error":
            kata.fail(f"{context}: {_explain_error(g)}")
        if g.outcome == "cancelled":
            kata.fail(
                f"{context}: {g.label} raised CancelledError at {_t(g.left)} although nobody "
                "cancelled it: did a cancel of another waiter reach the shared load?"
            )
        if g.outcome == "waiting":
            kata.fail(f"{context}: {g.label} never returned")
        kata.expect_equal(g.value, want, what=f"{context}: {g.label}", hint=hint)


async def _get(cache: Any, key: str, what: str) -> Any:
    """``await cache.get(key)``, failing the check if it takes more than 30 s of loop time."""
    try:
        async with asyncio.timeout(30.0):
            return await cache.get(key)
    except TimeoutError:
        kata.fail(f"{what}: get({key!r}) did not return within 30 s (the loader takes 1 s)")


async def _until(t: float) -> None:
    delay = t - kata.now()
    if delay > 0:
        await asyncio.sleep(delay)


def _expect_loads(loader: Loader, key: str, n: int, context: str, hint: str) -> None:
    got = loader.count[key]
    kata.expect(
        got == n,
        f"{context}: the loader was called {got} time(s) for {key!r}; expected {n}: {hint}",
    )


# ----------------------------------------------------------------- behaviour


@kata.check("10 concurrent gets of one key share one load", group="behaviour", hint=2)
async def test_concurrent_gets_share_one_load(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=4)
    callers = Callers(cache)
    context = "10 concurrent get('a') on a fresh AsyncLRU(loader, maxsize=4)"
    try:
        for _ in range(10):
            callers.start("a")
        await callers.wait(5.0)
        _expect_loads(
            loader,
            "a",
            1,
            context,
            "a get of a key whose load is in flight must join that load (keep the in-flight "
            "Task in a dict by key) instead of starting its own",
        )
        _expect_values(callers.gets, "a-v1", context)
    finally:
        await callers.close()
    value = await _get(cache, "a", "a get('a') after the load completed")
    kata.expect_equal(value, "a-v1", what="get('a') after the shared load completed")
    _expect_loads(loader, "a", 1, "then one more get('a')", "the value must come from the cache")
    kata.expect_equal(len(cache), 1, what="len(cache) after the load of 'a' completed")


@kata.check(
    "maxsize=2 with gets of a, b, a, c evicts b (least recently used)", group="behaviour", hint=3
)
async def test_lru_evicts_least_recently_used(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=2)
    for key, want in (("a", "a-v1"), ("b", "b-v1"), ("a", "a-v1"), ("c", "c-v1")):
        value = await _get(cache, key, "AsyncLRU(loader, maxsize=2), gets of a, b, a, c")
        kata.expect_equal(
            value,
            want,
            what=f"AsyncLRU(loader, maxsize=2): get({key!r}) in the sequence a, b, a, c",
            hint="the second get('a') is a hit" if key == "a" else "",
        )
    kata.expect_equal(len(cache), 2, what="len(cache) after gets of a, b, a, c with maxsize=2")
    value = await _get(cache, "a", "after a, b, a, c")
    kata.expect(
        value == "a-v1" and loader.count["a"] == 1,
        f"AsyncLRU(loader, maxsize=2): after gets of a, b, a, c, get('a') loaded 'a' again "
        f"(returned {value!r}): 'a' was evicted, but it was used (the hit) after 'b' was "
        "loaded, so 'b' was the least recently used. On a hit, mark the entry as the most "
        "recently used (OrderedDict.move_to_end); evicting in insertion order is FIFO, not LRU",
    )
    value = await _get(cache, "b", "after a, b, a, c, a")
    kata.expect(
        value == "b-v2" and loader.count["b"] == 2,
        f"AsyncLRU(loader, maxsize=2): after gets of a, b, a, c, get('b') returned {value!r} "
        "from the cache; 'b' should have been evicted when 'c' came in (keep at most "
        "maxsize completed entries, evicting the least recently used)",
    )


def _lru_model(seq: list[str], maxsize: int) -> list[tuple[bool, str, int]]:
    """For each get: (hit?, value, len afterwards), for an LRU of ``maxsize``."""
    entries: OrderedDict[str, str] = OrderedDict()
    loads: Counter[str] = Counter()
    out = []
    for key in seq:
        if key in entries:
            entries.move_to_end(key)
            out.append((True, entries[key], len(entries)))
            continue
        loads[key] += 1
        entries[key] = f"{key}-v{loads[key]}"
        while len(entries) > maxsize:
            entries.popitem(last=False)
        out.append((False, entries[key], len(entries)))
    return out


@kata.check("LRU eviction matches a reference LRU (20 seeded sequences)", group="behaviour", hint=3)
async def test_lru_matches_the_model(submission):
    rng = random.Random(20)
    for scenario in range(20):
        maxsize = rng.randint(1, 4)
        keys = "abcdef"[: rng.randint(maxsize + 1, 6)]
        seq = [rng.choice(keys) for _ in range(12)]
        loader = Loader(kata.Probes(), delay=0.25)
        cache = submission.AsyncLRU(loader.load, maxsize=maxsize)
        context = f"scenario {scenario} (seed 20): AsyncLRU(loader, maxsize={maxsize})"
        expected = _lru_model(seq, maxsize)
        for i, ((hit, want, size), key) in enumerate(zip(expected, seq, strict=True)):
            before = loader.count[key]
            value = await _get(cache, key, context)
            done = f"{context}, gets of {', '.join(seq[: i + 1])}: the last get({key!r})"
            loaded = loader.count[key] > before
            if hit and loaded:
                kata.fail(
                    f"{done} loaded {key!r} again, but {key!r} should still be cached: it was "
                    f"among the {maxsize} most recently used keys (a hit counts as a use; "
                    "evict the least recently used, not the oldest loaded)"
                )
            if not hit and not loaded:
                kata.fail(
                    f"{done} was served from the cache ({value!r}), but {key!r} should have "
                    f"been evicted: keep at most {maxsize} completed entries and evict the "
                    "least recently used (read by a hit, or just loaded)"
                )
            kata.expect_equal(value, want, what=done)
            kata.expect_equal(len(cache), size, what=f"{done}, then len(cache)")


@kata.check("len() counts completed entries only", group="behaviour", hint=1)
async def test_len_counts_completed_entries(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=3)
    kata.expect_equal(len(cache), 0, what="len() of a fresh AsyncLRU(loader, maxsize=3)")
    await _get(cache, "a", "get('a')")
    kata.expect_equal(len(cache), 1, what="len(cache) after get('a') completed")
    callers = Callers(cache)
    try:
        callers.start("b")
        await _until(1.5)
        kata.expect_equal(
            len(cache),
            1,
            what="len(cache) at t=1.5 s, with 'a' cached and the load of 'b' (t=1.0 to 2.0 s) "
            "in flight",
            hint="a load in flight is not an entry yet: count completed entries only",
        )
        await callers.wait(3.0)
        _expect_values(callers.gets, "b-v1", "get('b') started at t=1.0 s")
    finally:
        await callers.close()
    kata.expect_equal(len(cache), 2, what="len(cache) after the loads of 'a' and 'b' completed")


@kata.check("invalidate drops a cached entry, and only that one", group="behaviour", hint=6)
async def test_invalidate_drops_an_entry(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=4)
    await _get(cache, "a", "get('a')")
    await _get(cache, "b", "get('b')")
    cache.invalidate("a")
    kata.expect_equal(len(cache), 1, what="len(cache) after get('a'), get('b'), invalidate('a')")
    value = await _get(cache, "b", "get('b') after invalidate('a')")
    kata.expect(
        value == "b-v1" and loader.count["b"] == 1,
        f"get('b') after invalidate('a') returned {value!r} after loading 'b' "
        f"{loader.count['b']} time(s): invalidate('a') must leave other keys cached",
    )
    value = await _get(cache, "a", "get('a') after invalidate('a')")
    kata.expect(
        value == "a-v2" and loader.count["a"] == 2,
        f"get('a') after invalidate('a') returned {value!r} (the loader ran "
        f"{loader.count['a']} time(s) for 'a'); it must load 'a' again and return 'a-v2'",
    )


@kata.check(
    "invalidate during a load: its waiters are served, nothing is cached", group="behaviour", hint=6
)
async def test_invalidate_during_flight(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=4)
    callers = Callers(cache)
    context = "3 concurrent get('a') at t=0 with invalidate('a') at t=0.5 s"
    try:
        for _ in range(3):
            callers.start("a")
        await _until(0.5)
        cache.invalidate("a")
        await callers.wait(3.0)
        _expect_values(
            callers.gets,
            "a-v1",
            context,
            "the load in flight must still serve its waiters: invalidate() must neither cancel "
            "nor restart it, only keep its value out of the cache",
        )
        late = [g.label for g in callers.gets if abs((g.returned or 0) - 1.0) > EXACT]
        kata.expect(
            not late,
            f"{context}: {', '.join(late)} returned at "
            f"{', '.join(_t(g.returned) for g in callers.gets)}; the load in flight should "
            "serve its waiters when it completes at t=1.0 s",
        )
    finally:
        await callers.close()
    _expect_loads(loader, "a", 1, context, "the load in flight serves all 3 waiters")
    kata.expect_equal(
        len(cache),
        0,
        what=f"{context}: len(cache) after the load completed at t=1.0 s",
        hint="invalidate() during a load must keep that load's value out of the cache",
    )
    value = await _get(cache, "a", f"{context}, then get('a')")
    kata.expect(
        value == "a-v2" and loader.count["a"] == 2,
        f"{context}: the next get('a') returned {value!r} from the cache; the invalidated "
        "load's value must not be cached, so it must load again",
    )


# ------------------------------------------------------------------- timing


@kata.check("10 concurrent gets of one key take 1.0 s", group="timing", hint=2)
async def test_ten_concurrent_gets_take_one_second(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=4)
    t0 = kata.now()
    results = await asyncio.gather(*(cache.get("a") for _ in range(10)), return_exceptions=True)
    for i, r in enumerate(results):
        if isinstance(r, BaseException):
            g = Get("a", f"get('a') #{i + 1}", t0, error=r)
            kata.fail(f"10 concurrent get('a'): {_explain_error(g)}")
    kata.expect_time(
        t0,
        1.0,
        what="10 concurrent get('a') with a 1 s loader",
        hint="they share one load, so they all return when it completes at t=1.0 s: does "
        "each get wait for the one before it?",
    )


@kata.check("3 distinct keys load in parallel: 1.0 s", group="timing", hint=1)
async def test_distinct_keys_load_in_parallel(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=4)
    t0 = kata.now()
    results = await asyncio.gather(
        cache.get("a"), cache.get("b"), cache.get("c"), return_exceptions=True
    )
    kata.expect_equal(
        results, ["a-v1", "b-v1", "c-v1"], what="concurrent get('a'), get('b'), get('c')"
    )
    kata.expect_time(
        t0,
        1.0,
        what="concurrent get('a'), get('b'), get('c') with a 1 s loader",
        hint="different keys must load in parallel: a lock held around the whole get (or "
        "around every load) runs them one after the other",
    )
    kata.expect(
        probes.peak == 3,
        f"concurrent get('a'), get('b'), get('c') ran at most {probes.peak} load(s) at once; "
        "the three loads should all run together",
    )


@kata.check(
    "ttl=5 counts from load completion: a hit at 5.9, a reload at 6.1", group="timing", hint=3
)
async def test_ttl_counts_from_completion(submission, probes):
    loader = Loader(probes)
    cache = submission.AsyncLRU(loader.load, maxsize=4, ttl=5)
    context = "AsyncLRU(loader, maxsize=4, ttl=5), get('a') at t=0 (loaded by t=1.0 s)"
    await _get(cache, "a", context)
    await _until(5.9)
    value = await _get(cache, "a", context)
    kata.expect(
        value == "a-v1" and loader.count["a"] == 1,
        f"{context}, then get('a') at t=5.9 s returned {value!r} at {_t(kata.now())}, after "
        f"{loader.count['a']} load(s); it should be a hit ('a-v1' at once): ttl counts from "
        "the moment the load completed (t=1.0 s), so the entry lives until t=6.0 s",
    )
    kata.expect_time(5.9, 0.0, exact=True, what=f"{context}, then a hit at t=5.9 s")
    await _until(6.1)
    t1 = kata.now()
    value = await _get(cache, "a", context)
    kata.expect(
        value == "a-v2" and loader.count["a"] == 2,
        f"{context}, then get('a') at t=6.1 s returned {value!r} after {loader.count['a']} "
        "load(s); the entry expired at t=6.0 s (5 s after its load completed), so it must "
        "load again. A hit does not extend the ttl",
    )
    kata.expect_time(
        t1,
        1.0,
        what=f"{context}, then get('a') at t=6.1 s",
        hint="an expired entry is loaded again like a missing one",
    )
    forever = submission.AsyncLRU(loader.load, maxsize=4)
    await _get(forever, "x", "AsyncLRU(loader, maxsize=4) with no ttl: get('x')")
    await asyncio.sleep(100)
    value = await _get(forever, "x", "AsyncLRU(loader, maxsize=4) with no ttl")
    kata.expect(
        value == "x-v1" and loader.count["x"] == 1,
        f"AsyncLRU(loader, maxsize=4) with ttl=None: get('x') 100 s after loading it "
        f"returned {value!r}; without a ttl an entry never expires",
    )


# ------------------------------------------------------------- cancellation


@kata.check(
    "a failure reaches all 3 waiters as the same object, and is not cached",
    group="cancellation",
    hint=2,
)
async def test_failure_reaches_every_waiter(submission, probes):
    boom = ValueError("the backend is down")
    loader = Loader(probes, fail={("a", 1): boom})
    cache = submission.AsyncLRU(loader.load, maxsize=4)
    callers = Callers(cache)
    context = "3 concurrent get('a') whose shared load raises ValueError at t=1.0 s"
    try:
        for _ in range(3):
            callers.start("a")
        await callers.wait(3.0)
        for g in callers.gets:
            if g.outcome != "error":
                kata.fail(
                    f"{context}: {g.label} "
                    + (
                        f"returned {g.value!r}"
                        if g.outcome == "value"
                        else "raised CancelledError"
                        if g.outcome == "cancelled"
                        else "never returned"
                    )
                    + "; every waiter must get the loader's exception"
                )
            kata.expect(
                g.error is boom,
                f"{context}: {g.label} raised {type(g.error).__name__}: {g.error}, not the "
                "loader's exception object itself: every waiter must get the very same "
                "exception (await the shared task; don't wrap or copy the exception)",
            )
            kata.expect(
                g.returned is not None and abs(g.returned - 1.0) <= EXACT,
                f"{context}: {g.label} raised at {_t(g.returned)}; expected t=1.0 s",
            )
    finally:
        await callers.close()
    _expect_loads(loader, "a", 1, context, "the 3 waiters share one load")
    kata.expect_equal(
        len(cache),
        0,
        what=f"{context}: len(cache) after the failed load",
        hint="a failed load must not be stored (store values only), so that the next get "
        "calls the loader again",
    )
    t1 = kata.now()
    try:
        value = await _get(cache, "a", f"{context}, then get('a')")
    except ValueError as exc:
        kata.fail(
            f"{context}: the next get('a') raised {exc!r} again"
            + (" (the same object)" if exc is boom else "")
            + "; failures must not be cached: the next get must call the loader again"
        )
    kata.expect(
        value == "a-v2" and loader.count["a"] == 2,
        f"{context}: the next get('a') returned {value!r} after {loader.count['a']} load(s); "
        "it should load again and return 'a-v2'",
    )
    kata.expect_time(t1, 1.0, what=f"{context}: the next get('a') (a fresh 1 s load)")


@kata.check(
    "cancelling 1 of 3 waiters: the others are served at 1.0 from one load",
    group="cancellation",
    hint=4,
)
async def test_cancel_one_waiter(submission, probes):
    for victim, who in (
        (0, "the first get (the one that started the load)"),
        (1, "the second get"),
    ):
        loader = Loader(kata.Probes())
        cache = submission.AsyncLRU(loader.load, maxsize=4)
        callers = Callers(cache)
        context = f"3 concurrent get('a') at t=0, and {who} cancelled at t=0.5 s"
        try:
            t0 = kata.now()
            for _ in range(3):
                callers.start("a")
            await _until(t0 + 0.5)
            target = callers.gets[victim]
            assert target.task is not None
            target.task.cancel()
            await callers.wait(t0 + 3.0)
            kata.expect(
                target.outcome == "cancelled"
                and target.left is not None
                and abs(target.left - t0 - 0.5) <= EXACT,
                f"{context}: the cancelled get ended as {target.outcome!r}"
                + (f" with {target.value!r}" if target.outcome == "value" else "")
                + f" at {_t(target.left or target.returned, t0)}; it must raise "
                "CancelledError at once (don't swallow it)",
            )
            others = [g for i, g in enumerate(callers.gets) if i != victim]
            _expect_values(others, "a-v1", context)
            for g in others:
                kata.expect(
                    g.returned is not None and abs(g.returned - t0 - 1.0) <= EXACT,
                    f"{context}: {g.label} returned at {_t(g.returned, t0)}; the load it "
                    "shares completes at t=1.0 s",
                )
        finally:
            await callers.close()
        _expect_loads(
            loader,
            "a",
            1,
            context,
            "the others must still be served by the first load: cancelling one waiter must "
            "not cancel the shared load (await asyncio.shield(task), not the task itself)",
        )
        rec = loader.record("a")
        kata.expect(
            rec is not None and rec.cancelled is None,
            f"{context}: the shared load was cancelled at {_t(rec.cancelled if rec else None, t0)} "
            "although two waiters still wanted it: shield the load from a waiter's cancel",
        )
        kata.expect_equal(
            len(cache),
            1,
            what=f"{context}: len(cache) after the load completed",
            hint="the load completed normally, so its value is cached",
        )


@kata.check(
    "cancelling every waiter cancels the load: its finally runs at 0.5",
    group="cancellation",
    hint=5,
)
async def test_cancel_all_waiters_cancels_the_load(submission, probes):
    for cancel_at in ((0.5, 0.5, 0.5), (0.2, 0.4, 0.5)):
        loader = Loader(kata.Probes())
        cache = submission.AsyncLRU(loader.load, maxsize=4)
        callers = Callers(cache)
        context = (
            "3 concurrent get('a') at t=0, all cancelled at t=0.5 s"
            if len(set(cancel_at)) == 1
            else "3 concurrent get('a') at t=0, cancelled at t=0.2, 0.4 and 0.5 s"
        )
        try:
            t0 = kata.now()
            for _ in range(3):
                callers.start("a")
            for g, at in zip(callers.gets, cancel_at, strict=True):
                await _until(t0 + at)
                assert g.task is not None
                g.task.cancel()
            await callers.wait(t0 + 0.5 + 1e-3)
            for g, at in zip(callers.gets, cancel_at, strict=True):
                kata.expect(
                    g.outcome == "cancelled",
                    f"{context}: {g.label}, cancelled at t={at:g} s, ended as {g.outcome!r}"
                    + (f" ({g.value!r})" if g.outcome == "value" else "")
                    + ": its CancelledError must propagate (don't swallow it)",
                )
            # Whatever is due at t=0.5 s has run by t=0.75 s; an orphan would still run.
            await _until(t0 + 0.75)
            rec = loader.record("a")
            kata.expect(rec is not None, f"{context}: the loader was never called")
            assert rec is not None
            kata.expect(
                rec.cancelled is None or rec.cancelled - t0 >= 0.5 - EXACT,
                f"{context}: the load was cancelled at {_t(rec.cancelled, t0)}, while "
                "other waiters still wanted it: cancel the load only when its last waiter "
                "has left (count the waiters; shield the load from each one's cancel)",
            )
            kata.expect(
                rec.finally_at is not None and abs(rec.finally_at - t0 - 0.5) <= EXACT,
                f"{context}: the loader's finally "
                + (
                    f"ran at {_t(rec.finally_at, t0)}"
                    if rec.finally_at is not None
                    else "had still not run at t=0.75 s (the load was still running)"
                )
                + "; when the last waiter leaves at t=0.5 s nobody wants the value any more, "
                "so the load must be cancelled then (its finally at t=0.5 s), not run on "
                "as an orphan",
            )
        finally:
            await callers.close()
        await _until(t0 + 1.0)
        kata.expect_equal(
            len(cache),
            0,
            what=f"{context}: len(cache) at t=1.0 s",
            hint="a cancelled load caches nothing",
        )
        value = await _get(cache, "a", f"{context}, then get('a') at t=1.0 s")
        kata.expect(
            value == "a-v2" and loader.count["a"] == 2,
            f"{context}: get('a') at t=1.0 s returned {value!r} after {loader.count['a']} "
            "load(s); with the first load cancelled it should start a fresh one ('a-v2')",
        )


@kata.check(
    "cancellation sweep: callers cancelled at any instant cancel the loads they leave "
    "and cache nothing half-done",
    group="cancellation",
    hint=5,
)
async def test_cancellation_sweep(submission, probes):
    what = (
        "AsyncLRU(maxsize=2) with 1.0 s loads: get a, a, b at once; then a (a hit) and c, c "
        "(c evicts b); 0.5 s later b again"
    )
    current: list[Any] = []

    async def scenario(runs: kata.Probes) -> Any:
        loader = Loader(runs)
        lru = submission.AsyncLRU(loader.load, maxsize=2)
        current[:] = [lru, runs]
        first = await asyncio.gather(lru.get("a"), lru.get("a"), lru.get("b"))
        second = await asyncio.gather(lru.get("a"), lru.get("c"), lru.get("c"))
        await asyncio.sleep(0.5)
        return first, second, await lru.get("b")

    def nothing_half_done(runs: kata.Probes) -> str | None:
        lru, _ = current
        loaded = sum(1 for r in runs.records if r.ended is not None)
        size = len(lru)
        if size > min(2, loaded):
            return (
                f"after the cancel, len(cache) was {size} with {loaded} load(s) completed "
                "(maxsize 2): a load cancelled with its callers must not be cached"
            )
        return None

    await kata.sweep(scenario, what=what, invariant=nothing_half_done, record=probes)
