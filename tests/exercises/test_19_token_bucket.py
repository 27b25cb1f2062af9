"""Hidden suite for exercise 19: TokenBucket.

Every check is on the virtual clock. Each ``acquire`` runs in its own task,
started by the check at a planned instant (tasks started at the same instant
call ``acquire`` in the order they were started); the suite records, for every
request, the instant it called ``acquire``, the order it did so in, and the
instant the call returned. Grants are compared with the instants a token bucket
allows, each exact (within 1e-5 s): the bucket starts full, refills
continuously at ``rate`` per second up to ``capacity``, and serves its waiters
strictly first come, first served.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from grader import kata
from grader.kata import strategies as st

EXACT = 1e-5  # "exact" in the curriculum
EPS = 1e-9  # float slack of the model itself
RATE, CAP = 5, 5


def _t(x: float | None, t0: float = 0.0) -> str:
    if x is None:
        return "never"
    text = f"{x - t0:.4f}".rstrip("0").rstrip(".")
    return f"t={text} s"


def _call(n: int | None) -> str:
    return "acquire()" if n is None else f"acquire({n})"


@dataclass
class Req:
    label: str
    n: int | None  # None: acquire() with no argument
    started: float  # when the check started the task
    seq: int | None = None  # the order the request reached acquire() in
    arrived: float | None = None
    granted: float | None = None
    left: float | None = None  # when a cancelled request's CancelledError came out
    outcome: str = "waiting"  # waiting, granted, cancelled, error
    error: BaseException | None = None
    task: asyncio.Task[Any] | None = None

    @property
    def size(self) -> int:
        return 1 if self.n is None else self.n


class Traffic:
    """Requests against one bucket, each in its own task, recorded as they happen."""

    def __init__(self, bucket: Any) -> None:
        self.bucket = bucket
        self.reqs: list[Req] = []
        self._arrivals = 0

    def start(self, n: int | None = None, label: str | None = None) -> Req:
        """Start one request now: a task calling ``acquire(n)`` (``acquire()`` if n is None)."""
        req = Req(label or f"request #{len(self.reqs) + 1} ({_call(n)})", n, kata.now())
        self.reqs.append(req)
        req.task = asyncio.ensure_future(self._run(req))
        return req

    async def _run(self, req: Req) -> None:
        req.arrived = kata.now()
        req.seq = self._arrivals
        self._arrivals += 1
        try:
            if req.n is None:
                await self.bucket.acquire()
            else:
                await self.bucket.acquire(req.n)
        except asyncio.CancelledError:
            req.outcome = "cancelled"
            req.left = kata.now()
            raise
        except Exception as exc:  # reported by the check, not logged as "never retrieved"
            req.outcome = "error"
            req.error = exc
            return
        req.granted = kata.now()
        req.outcome = "granted"

    async def wait(self, until: float) -> None:
        """Wait until every request is done, or loop time reaches ``until``."""
        pending = {r.task for r in self.reqs if r.task is not None and not r.task.done()}
        remaining = until - kata.now()
        if pending and remaining > 0:
            await asyncio.wait(pending, timeout=remaining)
        self.raise_errors()

    def raise_errors(self) -> None:
        for req in self.reqs:
            if req.outcome == "error":
                exc = req.error
                kata.fail(
                    f"{req.label}, called at {_t(req.arrived)}, raised "
                    f"{type(exc).__name__}: {exc}; it should wait for its tokens and return None"
                )

    async def close(self) -> None:
        """Cancel and await whatever is left, so a failed check leaves nothing behind."""
        left = [r.task for r in self.reqs if r.task is not None and not r.task.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)


def _in_arrival_order(reqs: list[Req]) -> list[Req]:
    return sorted(reqs, key=lambda r: (r.seq is None, r.seq))


def _overtaken(reqs: list[Req]) -> tuple[Req, Req] | None:
    """The first (earlier, later) pair where the later arrival was granted while the
    earlier one still waited."""
    ordered = _in_arrival_order(reqs)
    for i, first in enumerate(ordered):
        if first.arrived is None:
            continue
        # Until when the earlier request waited: its grant, its cancellation, or for ever.
        waited_until = first.granted if first.granted is not None else first.left
        for later in ordered[i + 1 :]:
            if later.granted is None:
                continue
            if waited_until is None or later.granted < waited_until - EXACT:
                return first, later
    return None


def _diagnose(wrong: list[tuple[Req, float]], reqs: list[Req], t0: float, late_hint: str) -> str:
    """The likeliest mistake behind a list of (request, expected instant) mismatches."""
    never = [r for r, _ in wrong if r.granted is None]
    if never:
        return (
            "a request was never granted: is a waiter left waiting with nothing to wake it? "
            "When the head of the queue is served or leaves, the next one must be looked at "
            "(and a timer armed for the instant it will have its tokens)"
        )
    pair = _overtaken(reqs)
    if pair is not None:
        first, later = pair
        fate = (
            f"served at {_t(first.granted, t0)}"
            if first.granted is not None
            else f"cancelled at {_t(first.left, t0)}"
            if first.left is not None
            else "never served"
        )
        return (
            f"{later.label} was served at {_t(later.granted, t0)}, while {first.label} that "
            f"asked earlier still waited ({fate}): serve waiters strictly FIFO, from one "
            "queue whose head alone may take tokens, so small requests never overtake"
        )
    early = [(r, w) for r, w in wrong if r.granted is not None and r.granted - t0 < w - EXACT]
    if early:
        return (
            "a request got tokens the bucket did not hold yet: it starts with `capacity` "
            "tokens, never holds more than `capacity` however long it sits idle, and refills "
            "continuously at `rate` tokens per second (not all at once at the start of a window)"
        )
    lateness = [r.granted - t0 - w for r, w in wrong if r.granted is not None]
    if lateness and max(lateness) < 0.05:
        return (
            f"late by up to {max(lateness) * 1000:.1f} ms: are you polling with "
            "`await asyncio.sleep(...)` in a loop? Compute when the head of the queue will "
            "have its tokens, "
            "`(n - tokens) / rate` seconds from now, and wake exactly then (loop.call_at, or "
            "one sleep of exactly that long)"
        )
    return late_hint


def _expect_grants(
    reqs: list[Req],
    expected: list[float],
    t0: float,
    context: str,
    late_hint: str,
    everyone: list[Req] | None = None,
) -> None:
    """Every request granted at its expected instant (relative to ``t0``), each exact.

    ``everyone`` (default ``reqs``) are all the requests of the scenario, for the diagnosis.
    """
    wrong = [
        (r, want)
        for r, want in zip(reqs, expected, strict=True)
        if r.granted is None or abs(r.granted - t0 - want) > EXACT
    ]
    if not wrong:
        return
    shown = "; ".join(
        f"{r.label} was granted {'at ' if r.granted is not None else ''}"
        f"{_t(r.granted, t0)}, expected exactly t={want:g} s"
        for r, want in wrong[:4]
    )
    more = f" (and {len(wrong) - 4} more)" if len(wrong) > 4 else ""
    why = _diagnose(wrong, everyone if everyone is not None else reqs, t0, late_hint)
    kata.fail(f"{context}: {shown}{more}: {why}")


async def _drain(bucket: Any, what: str) -> None:
    """Take the 5 tokens of a fresh TokenBucket(5, 5) at once."""
    t0 = kata.now()
    await bucket.acquire(5)
    kata.expect_time(
        t0,
        0.0,
        exact=True,
        what=f"acquire(5) on a fresh TokenBucket(5, 5) ({what})",
        hint="the bucket starts full: 5 tokens are there at once, so this must not wait",
    )


def _model(rate: float, cap: int, arrivals: list[tuple[float, int]]) -> list[float]:
    """Grant instants of a FIFO token bucket (starts full) for (arrival, n) in arrival order."""
    out: list[float] = []
    tokens = float(cap)
    last: float | None = None
    prev = float("-inf")
    for at, n in arrivals:
        s = max(at, prev)  # strictly FIFO: not before the one ahead
        if last is not None:
            tokens = min(cap, tokens + (s - last) * rate)
        last = s
        if tokens + EPS >= n:
            grant = s
            tokens -= n
        else:
            grant = s + (n - tokens) / rate
            tokens, last = 0.0, grant
        out.append(grant)
        prev = grant
    return out


async def _until(t: float) -> None:
    delay = t - kata.now()
    if delay > 0:
        await asyncio.sleep(delay)


# ----------------------------------------------------------------- behaviour


@kata.check(
    "try_acquire: the bucket starts full, refills, and is capped", group="behaviour", hint=1
)
async def test_try_acquire_refills_and_caps(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    steps: list[tuple[float, int | None, bool, str]] = [
        (0.0, 5, True, "the bucket starts full, with 5 tokens"),
        (0.0, None, False, "the 5 tokens were just taken and none has refilled yet"),
        (0.3, 2, False, "1.5 tokens refilled in 0.3 s (5 per second): not enough for 2"),
        (0.3, None, True, "1.5 tokens are there (a failed try_acquire(2) must take nothing)"),
        (0.3, None, False, "only 0.5 token is left"),
        (10.0, 5, True, "after ~10 s idle the bucket is full again"),
        (
            10.0,
            None,
            False,
            "the bucket never holds more than capacity=5 tokens, however long it sat idle",
        ),
    ]
    history: list[str] = []
    for at, n, want, why in steps:
        await _until(at)
        got = bucket.try_acquire() if n is None else bucket.try_acquire(n)
        call = "try_acquire()" if n is None else f"try_acquire({n})"
        before = f" after {', '.join(history)}," if history else ""
        kata.expect_equal(
            got,
            want,
            what=f"on a fresh TokenBucket(rate=5, capacity=5),{before} {call} at t={at:g} s",
            hint=why,
        )
        history.append(f"{call} -> {want} at t={at:g} s")


@kata.check(
    "try_acquire returns False while anyone waits, even with tokens refilled",
    group="behaviour",
    hint=2,
)
async def test_try_acquire_false_while_waiting(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    traffic = Traffic(bucket)
    try:
        await _drain(bucket, "at t=0")
        big = traffic.start(5, "acquire(5) called at t=0")
        await _until(0.5)
        for n in (None, 1, 2):
            call = "try_acquire()" if n is None else f"try_acquire({n})"
            got = bucket.try_acquire() if n is None else bucket.try_acquire(n)
            kata.expect_equal(
                got,
                False,
                what=f"after draining TokenBucket(5, 5) at t=0 and queueing acquire(5), "
                f"{call} at t=0.5 s",
                hint="2.5 tokens have refilled, but acquire(5) is waiting for them: while "
                "anyone waits, try_acquire must return False (and take nothing)",
            )
        await traffic.wait(1.5)
        _expect_grants(
            [big],
            [1.0],
            0.0,
            "after the try_acquire calls at t=0.5 s",
            "the failed try_acquire calls must take nothing, so acquire(5) still gets its "
            "5 tokens at t=1.0 s",
        )
        await _until(1.1)
        mid = traffic.start(3, "acquire(3) called at t=1.1 s")
        await _until(1.3)
        got = bucket.try_acquire(1)
        kata.expect_equal(
            got,
            False,
            what="try_acquire(1) at t=1.3 s while acquire(3) (called at t=1.1 s) waits",
            hint="1.5 tokens are there, but someone is waiting for 3: a waiting caller "
            "comes first, so try_acquire must return False",
        )
        await traffic.wait(2.0)
        _expect_grants(
            [mid],
            [1.6],
            0.0,
            "acquire(3) called at t=1.1 s (the bucket was emptied at t=1.0 s)",
            "3 tokens refill in 0.6 s after the bucket was emptied at t=1.0 s",
        )
        await _until(2.0)
        kata.expect_equal(
            bucket.try_acquire(1),
            True,
            what="try_acquire(1) at t=2.0 s, with nobody waiting and 2 tokens refilled",
            hint="once the queue is empty, try_acquire takes tokens again",
        )
    finally:
        await traffic.close()


@kata.check(
    "waiters are served strictly FIFO: small requests never overtake", group="behaviour", hint=2
)
async def test_small_requests_never_overtake(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    traffic = Traffic(bucket)
    plan = [(0.0, 4), (0.0, 1), (0.1, 5), (0.1, 2), (0.3, 1), (0.35, 3), (0.5, 1), (1.0, 1)]
    try:
        await _drain(bucket, "at t=0")
        for at, n in plan:
            await _until(at)
            traffic.start(n, f"acquire({n}) called at t={at:g} s")
        await traffic.wait(10.0)
        never = [r.label for r in traffic.reqs if r.granted is None]
        kata.expect(
            not never,
            f"after draining TokenBucket(5, 5) at t=0, {', '.join(never)} never returned "
            "(waited until t=10 s; all 18 tokens refill by t=3.6 s): a waiter is left with "
            "nothing to wake it",
        )
        pair = _overtaken(traffic.reqs)
        if pair is not None:
            first, later = pair
            kata.fail(
                f"after draining TokenBucket(5, 5) at t=0, {later.label} was granted at "
                f"{_t(later.granted)}, before {first.label} (granted at {_t(first.granted)}): "
                "waiters must be served strictly first come, first served. Independent "
                "sleeps let small requests slip past a big one; keep one queue and let only "
                "its head take tokens"
            )
    finally:
        await traffic.close()


@kata.check("`async with bucket` acquires one token and returns the bucket", group="behaviour")
async def test_async_with(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    entered: list[tuple[int, float, bool]] = []

    async def user(i: int) -> None:
        async with bucket as got:
            entered.append((i, kata.now(), got is bucket))
            await asyncio.sleep(5)

    tasks = [asyncio.ensure_future(user(i)) for i in range(6)]
    try:
        done, _ = await asyncio.wait(tasks, timeout=1.0)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                kata.fail(f"`async with bucket:` raised {type(exc).__name__}: {exc}")
        kata.expect(
            len(entered) == 6,
            f"6 tasks entered `async with bucket:` on a fresh TokenBucket(5, 5) at t=0, but "
            f"only {len(entered)} were inside by t=1.0 s; the 6th should enter at t=0.2 s",
        )
        kata.expect(
            all(same for _, _, same in entered),
            "`async with bucket as b:` must bind b to the bucket itself: return self from "
            "__aenter__",
        )
        times = sorted(t for _, t, _ in entered)
        kata.expect(
            all(abs(t) <= EXACT for t in times[:5]) and abs(times[5] - 0.2) <= EXACT,
            "6 tasks entering `async with bucket:` on a fresh TokenBucket(5, 5) at t=0 entered "
            f"at {[round(t, 4) for t in times]}; expected five at t=0 and the 6th at t=0.2 s "
            "(each `async with` takes one token, like acquire())",
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    boom = KeyError("raised inside the block")
    try:
        async with bucket:
            raise boom
    except KeyError as exc:
        kata.expect(
            exc is boom,
            f"an exception raised inside `async with bucket:` came out as {exc!r}, not as the "
            "very exception raised",
        )
    else:
        kata.fail(
            "a KeyError raised inside `async with bucket:` was swallowed: __aexit__ must "
            "return None (or False), never True"
        )


# ------------------------------------------------------------------- timing


@kata.check(
    "20 concurrent acquires: 5 at once, then one every 0.2 s (exact)", group="timing", hint=3
)
async def test_twenty_concurrent_acquires(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    traffic = Traffic(bucket)
    try:
        reqs = [traffic.start(None, f"acquire() #{i + 1}") for i in range(20)]
        await traffic.wait(10.0)
        expected = [0.0] * 5 + [round(0.2 * k, 10) for k in range(1, 16)]
        _expect_grants(
            reqs,
            expected,
            0.0,
            "20 tasks calling acquire() at t=0 on a fresh TokenBucket(rate=5, capacity=5), "
            "numbered in the order they called it",
            "the first 5 pass at once (the bucket starts full), then one token refills every "
            "0.2 s, so caller k > 5 gets it at 0.2 × (k - 5) s: refill continuously "
            "(`tokens += (now - last) * rate`) rather than per fixed window, and don't space "
            "every caller 1/rate apart (the first 5 are a burst)",
        )
    finally:
        await traffic.close()


@kata.check("after 10 s idle: 5 at once, and the 6th 0.2 s later", group="timing", hint=1)
async def test_refill_after_idle(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    traffic = Traffic(bucket)
    try:
        await _drain(bucket, "at t=0")
        await _until(10.0)
        reqs = [traffic.start(None, f"acquire() #{i + 1} at t=10 s") for i in range(6)]
        await traffic.wait(15.0)
        _expect_grants(
            reqs,
            [10.0] * 5 + [10.2],
            0.0,
            "after draining TokenBucket(5, 5) at t=0 and 10 s idle, 6 tasks calling acquire() "
            "at t=10 s",
            "after the refill, the bucket holds exactly 5 tokens (its capacity): five pass at "
            "once and the 6th waits 0.2 s for the next token",
        )
    finally:
        await traffic.close()


@kata.check(
    "after draining: acquire(5) at 1.0, then 5 × acquire(1) at 1.2 … 2.0 (exact)",
    group="timing",
    hint=3,
)
async def test_big_request_then_small_ones(submission):
    # The requests come with the drain, then 37.1 ms after it: grants count from the drain.
    for delay in (0.0, 0.0371):
        bucket = submission.TokenBucket(RATE, CAP)
        traffic = Traffic(bucket)
        try:
            t0 = kata.now()
            await _drain(bucket, "to drain it")
            await _until(t0 + delay)
            reqs = [traffic.start(5, "acquire(5)")]
            reqs += [traffic.start(1, f"acquire(1) #{i + 1}") for i in range(5)]
            await traffic.wait(t0 + 5.0)
            _expect_grants(
                reqs,
                [1.0, 1.2, 1.4, 1.6, 1.8, 2.0],
                t0,
                f"TokenBucket(5, 5) drained by acquire(5) at t=0, then acquire(5) and "
                f"5 × acquire(1) called {'at once' if delay == 0 else f'at t={delay:g} s'}",
                "the bucket refills from the instant it was drained: acquire(5) waits 1.0 s "
                "for 5 tokens, and each acquire(1) behind it 0.2 s more",
            )
        finally:
            await traffic.close()


# Gaps off any 10 ms grid, so a poller's late wake-ups show.
_GAPS = [0.0, 0.0, 0.0371, 0.113, 0.2519, 0.5, 0.9, 1.7]


@st.composite
def _scenarios(draw: Any) -> tuple[float, int, list[tuple[float, int]]]:
    """A bucket and 1 to 8 requests: (rate, capacity, [(arrival offset, n)])."""
    rate = draw(st.sampled_from([2, 2.5, 4, 5, 10]))
    cap = draw(st.integers(1, 6))
    plan: list[tuple[float, int]] = []
    at = 0.0
    for _ in range(draw(st.integers(1, 8))):
        at += draw(st.sampled_from(_GAPS))
        plan.append((round(at, 4), draw(st.integers(1, cap))))
    return rate, cap, plan


@kata.check(
    "grants match a FIFO token bucket exactly (property, 30 scenarios)", group="timing", hint=3
)
def test_grants_match_the_model(submission):
    async def check(scenario: tuple[float, int, list[tuple[float, int]]]) -> str | None:
        rate, cap, plan = scenario
        bucket = submission.TokenBucket(rate, cap)
        traffic = Traffic(bucket)
        try:
            t0 = kata.now()
            for offset, n in plan:
                await _until(t0 + offset)
                traffic.start(n, f"acquire({n}) called at t={offset:g} s")
            worst = _model(rate, cap, [(kata.now(), sum(n for _, n in plan))])[0]
            await traffic.wait(worst + 1.0)
            ordered = _in_arrival_order(traffic.reqs)
            arrivals = [(r.arrived if r.arrived is not None else t0, r.size) for r in ordered]
            expected = [g - t0 for g in _model(rate, cap, arrivals)]
            try:
                _expect_grants(
                    ordered,
                    expected,
                    t0,
                    f"TokenBucket(rate={rate:g}, capacity={cap}) with requests "
                    f"{[(f't={o:g}', n) for o, n in plan]}",
                    "a request must be granted the first instant both hold: every request "
                    "ahead of it was granted, and the tokens refilled since (continuously, "
                    "capped at capacity) cover it",
                )
            except kata.KataFailure as exc:
                return str(exc)
            return None
        finally:
            await traffic.close()

    kata.forall(
        _scenarios(),
        check,
        what="TokenBucket(rate, capacity) with requests arriving over time",
        examples=30,
    )


# ------------------------------------------------------------- cancellation


@kata.check(
    "a cancelled acquire(5) at the head lets the next waiter through at 0.5 exactly",
    group="cancellation",
    hint=5,
)
async def test_cancelled_head_lets_next_through(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    traffic = Traffic(bucket)
    try:
        await _drain(bucket, "at t=0")
        head = traffic.start(5, "acquire(5)")
        rest = [
            traffic.start(1, "acquire(1) #1"),
            traffic.start(1, "acquire(1) #2"),
            traffic.start(2, "acquire(2)"),
        ]
        await _until(0.5)
        assert head.task is not None
        head.task.cancel()
        await traffic.wait(3.0)
        kata.expect(
            head.outcome == "cancelled",
            f"acquire(5), cancelled at t=0.5 s while waiting, ended as {head.outcome!r}"
            + (f" at {_t(head.granted)}" if head.granted is not None else "")
            + ": the CancelledError must propagate out of acquire (don't swallow it)",
        )
        kata.expect(
            head.left is not None and abs(head.left - 0.5) <= EXACT,
            f"acquire(5), cancelled at t=0.5 s, raised CancelledError at {_t(head.left)}; it "
            "must leave at once",
        )
        _expect_grants(
            rest,
            [0.5, 0.5, 0.8],
            0.0,
            "TokenBucket(5, 5) drained at t=0, then acquire(5), acquire(1), acquire(1), "
            "acquire(2) queued at t=0, and acquire(5) cancelled at t=0.5 s",
            "the moment the head leaves, the next waiters are served from the 2.5 tokens "
            "refilled by then (1 + 1 at once, and acquire(2) 0.3 s later): on cancel, "
            "remove the waiter and look at the new head right away. A cancelled waiter must "
            "not keep blocking the queue, nor keep tokens reserved",
            everyone=traffic.reqs,
        )
    finally:
        await traffic.close()


@kata.check(
    "a waiter cancelled in the middle of the queue delays no one", group="cancellation", hint=5
)
async def test_cancelled_middle_waiter_delays_no_one(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    traffic = Traffic(bucket)
    try:
        await _drain(bucket, "at t=0")
        first = traffic.start(1, "acquire(1) #1")
        middle = traffic.start(3, "acquire(3)")
        after = [traffic.start(1, "acquire(1) #2"), traffic.start(2, "acquire(2)")]
        await _until(0.1)
        assert middle.task is not None
        middle.task.cancel()
        await traffic.wait(3.0)
        ended = middle.left if middle.left is not None else middle.granted
        kata.expect(
            middle.outcome == "cancelled" and ended is not None and abs(ended - 0.1) <= EXACT,
            f"acquire(3), cancelled at t=0.1 s while waiting behind acquire(1), ended as "
            f"{middle.outcome!r} at {_t(ended)}: the CancelledError must leave acquire at "
            "once (don't swallow it)",
        )
        _expect_grants(
            [first, *after],
            [0.2, 0.4, 0.8],
            0.0,
            "TokenBucket(5, 5) drained at t=0, then acquire(1), acquire(3), acquire(1), "
            "acquire(2) queued at t=0, and acquire(3) cancelled at t=0.1 s",
            "the cancelled acquire(3) must vanish from the queue and take nothing: the others "
            "are served as if it had never asked (0.2, 0.4 and 0.8 s). Take tokens only at "
            "the moment of the grant, or give a reservation back when its waiter leaves",
            everyone=traffic.reqs,
        )
    finally:
        await traffic.close()


@kata.check(
    "a timed-out acquire leaves the queue at once and takes nothing", group="cancellation", hint=5
)
async def test_timed_out_waiter_leaves_the_queue(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    await _drain(bucket, "at t=0")
    try:
        async with asyncio.timeout(0.5):
            await bucket.acquire(5)
    except TimeoutError:
        pass
    else:
        kata.fail(
            f"acquire(5) on a TokenBucket(5, 5) drained at t=0 returned at {_t(kata.now())}; "
            "it should have waited until t=1.0 s, so the 0.5 s timeout around it should fire"
        )
    kata.expect_time(
        0.0,
        0.5,
        exact=True,
        what="acquire(5) under `asyncio.timeout(0.5)` after draining at t=0",
        hint="the timeout cancels the waiting acquire; CancelledError must leave acquire at once",
    )
    kata.expect_equal(
        bucket.try_acquire(2),
        True,
        what="try_acquire(2) at t=0.5 s, right after acquire(5) timed out (2.5 tokens refilled)",
        hint="the timed-out waiter must leave the queue at once (try_acquire returns False "
        "only while someone really waits) and must have taken nothing",
    )
    t1 = kata.now()
    await bucket.acquire(1)
    kata.expect_time(
        t1,
        0.1,
        exact=True,
        what="acquire(1) at t=0.5 s after try_acquire(2) took 2 of the 2.5 tokens",
        hint="0.5 token is left, so the next one is complete 0.1 s later",
    )


@kata.check(
    "n outside 1..capacity raises ValueError and changes nothing", group="cancellation", hint=1
)
async def test_rejects_bad_n(submission):
    bucket = submission.TokenBucket(RATE, CAP)
    for n in (0, -1, 6):
        try:
            async with asyncio.timeout(1.0):
                await bucket.acquire(n)
        except ValueError:
            pass
        except TimeoutError:
            kata.fail(
                f"acquire({n}) on TokenBucket(5, 5) waited instead of raising ValueError: "
                "check n before queueing (n must be between 1 and the capacity, or it could "
                "never be served)"
            )
        else:
            kata.fail(
                f"acquire({n}) on TokenBucket(5, 5) returned; it must raise ValueError "
                "(n must be between 1 and the capacity, or it could never be served)"
            )
        try:
            got = bucket.try_acquire(n)
        except ValueError:
            pass
        else:
            kata.fail(
                f"try_acquire({n}) on TokenBucket(5, 5) returned {got!r}; it must raise "
                "ValueError, like acquire"
            )
    kata.expect_equal(
        bucket.try_acquire(5),
        True,
        what="try_acquire(5) after the rejected calls on a fresh TokenBucket(5, 5)",
        hint="a rejected call must take no tokens and leave nothing queued",
    )


# (arrival, n) against TokenBucket(rate=2, capacity=2): granted at 0, 0.5, 1.5, 2.0.
SWEEP_REQS = [(0.0, 2), (0.0, 1), (0.1, 2), (0.2, 1)]


def _tokens_at(t: float, grants: list[tuple[float, int]], rate: float, cap: int) -> float:
    """Tokens in a bucket that started full at 0 and made ``grants`` (instant, n) by ``t``."""
    tokens, last = float(cap), 0.0
    for g, n in sorted(grants):
        tokens = min(cap, tokens + (g - last) * rate) - n
        last = g
    return min(cap, tokens + (t - last) * rate)


@kata.check(
    "cancellation sweep: waiters cancelled at any moment take nothing and leave the tokens "
    "to the next caller",
    group="cancellation",
    hint=5,
)
async def test_cancellation_sweep(submission, probes):
    rate, cap = 2, 2
    what = (
        f"TokenBucket(rate={rate}, capacity={cap}) with "
        + ", ".join(f"acquire({n}) at t={at:g} s" for at, n in SWEEP_REQS)
        + " (granted at 0, 0.5, 1.5 and 2.0 s)"
    )
    grants = _model(rate, cap, SWEEP_REQS)
    current: list[Any] = []

    async def scenario(runs: kata.Probes) -> None:
        bucket = submission.TokenBucket(rate, cap)
        current[:] = [bucket, kata.now()]

        async def ask(at: float, n: int) -> None:
            await asyncio.sleep(at)
            async with runs.span(f"acquire({n}) at {at:g}"):
                await bucket.acquire(n)

        await asyncio.gather(*(ask(at, n) for at, n in SWEEP_REQS))

    def tokens_left_whole(runs: kata.Probes) -> str | None:
        # Everyone still waiting was just cancelled and took nothing, so the
        # tokens are what the grants so far left, refilled since.
        bucket, t0 = current
        t = kata.now() - t0
        sizes = [n for _, n in SWEEP_REQS]
        # A grant at the very instant of the cancel may have happened or not.
        low = _tokens_at(
            t, [(g, n) for g, n in zip(grants, sizes, strict=True) if g <= t + EXACT], rate, cap
        )
        high = _tokens_at(
            t, [(g, n) for g, n in zip(grants, sizes, strict=True) if g < t - EXACT], rate, cap
        )
        whole = int(low + EPS)
        if whole + 1 <= cap and high < whole + 1 - EPS and bucket.try_acquire(whole + 1):
            return (
                f"right after every waiter was cancelled at t={t:g} s, try_acquire({whole + 1}) "
                f"succeeded; only {low:.2f} tokens should be there"
            )
        if whole >= 1 and not bucket.try_acquire(whole):
            return (
                f"right after every waiter was cancelled at t={t:g} s, try_acquire({whole}) "
                f"returned False with {low:.2f} tokens there and nobody waiting: a cancelled "
                "waiter must take nothing and leave the queue at once"
            )
        return None

    await kata.sweep(scenario, what=what, invariant=tokens_left_whole, record=probes)
