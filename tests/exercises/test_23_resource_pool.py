"""Hidden suite for exercise 23: Pool.

Every check is on the virtual clock. ``Factory`` makes numbered ``Conn``
objects (each call is a probe span ``factory#n``, so a cancelled factory is on
record), ``Closer`` records every ``close(conn)``, and each user holds its
connection inside a probe span named after the user, so ``started`` is the
instant the user got its connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

from grader import kata

EXACT = 1e-5


class Conn:
    """A fake connection; identity is what matters."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"<conn {self.n}>"


class Factory:
    """``factory()``: a new ``Conn`` after ``delay`` seconds, or an error for some calls."""

    def __init__(
        self,
        probes: kata.Probes,
        delay: float = 0.1,
        errors: dict[int, BaseException] | None = None,
    ) -> None:
        self.probes = probes
        self.delay = delay
        self.errors = errors or {}
        self.calls = 0
        self.made: list[Conn] = []

    async def __call__(self) -> Conn:
        self.calls += 1
        n = self.calls
        async with self.probes.span(f"factory#{n}"):
            await asyncio.sleep(self.delay)
            if n in self.errors:
                raise self.errors[n]
            conn = Conn(n)
            self.made.append(conn)
            return conn


class Closer:
    """``close(conn)``: records the call, then yields once."""

    def __init__(self) -> None:
        self.closed: list[tuple[float, Any]] = []

    async def __call__(self, conn: Any) -> None:
        self.closed.append((kata.now(), conn))
        await asyncio.sleep(0)

    def conns(self) -> list[Any]:
        return [c for _, c in self.closed]


class Users:
    """Users of one pool; ``got[name]`` is (instant, conn) when it got its connection."""

    def __init__(self, probes: kata.Probes, pool: Any) -> None:
        self.probes = probes
        self.pool = pool
        self.got: dict[str, tuple[float, Any]] = {}
        self.order: list[str] = []

    async def use(
        self, name: str, hold: float, *, at: float | None = None, fail: BaseException | None = None
    ) -> None:
        if at is not None:
            await asyncio.sleep(max(0.0, at - kata.now()))
        async with self.pool.acquire() as conn:
            self.got[name] = (kata.now(), conn)
            self.order.append(name)
            async with self.probes.span(name):
                await asyncio.sleep(hold)
                if fail is not None:
                    raise fail

    def start(self, name: str, hold: float, **kw: Any) -> asyncio.Task[None]:
        return asyncio.ensure_future(self.use(name, hold, **kw))


def _new_pool(submission: Any, factory: Factory, closer: Closer, max_size: int) -> Any:
    return submission.Pool(factory, max_size=max_size, close=closer)


def _settle_is_possible(loop: asyncio.AbstractEventLoop) -> bool:
    ready = getattr(loop, "_ready", ())
    scheduled = getattr(loop, "_scheduled", ())
    return bool(ready) or (bool(scheduled) and scheduled[0].when() <= loop.time())


async def _settle() -> None:
    """Let everything due at this instant run."""
    loop = asyncio.get_running_loop()
    for _ in range(200):
        if not _settle_is_possible(loop):
            return
        await asyncio.sleep(0)


async def _until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - kata.now()))


def _expect_counts(pool: Any, size: int, idle: int, when: str, hint: str = "") -> None:
    kata.expect_equal(
        (pool.size, pool.idle), (size, idle), what=f"(pool.size, pool.idle) {when}", hint=hint
    )


async def _expect_cancelled(task: asyncio.Task[Any], what: str) -> None:
    try:
        await task
    except asyncio.CancelledError:
        return
    except Exception as exc:
        kata.fail(f"{what} raised {exc!r}; the CancelledError must propagate")
    kata.fail(f"{what} finished normally; the CancelledError must propagate (don't swallow it)")


# ----------------------------------------------------------------------------- behaviour

SIX = "6 users at t=0 each holding a connection 1.0 s, Pool(max_size=2), a 0.1 s factory"


@kata.check(
    "resources are created lazily and reused: 6 users, 2 factory calls", group="behaviour", hint=2
)
async def test_lazy_creation_and_reuse(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 2)
    users = Users(probes, pool)
    await asyncio.gather(*(users.use(f"user{i}", 1.0) for i in range(6)))
    kata.expect(
        factory.calls == 2,
        f"{SIX}: the factory was called {factory.calls} times; expected exactly 2 "
        + (
            "(create a resource only when none is idle and fewer than max_size exist; "
            "count one as soon as its creation starts)"
            if factory.calls > 2
            else "(both slots should be filled at once)"
        ),
    )
    seen = [users.got.get(f"user{i}", (None, None))[1] for i in range(6)]
    kata.expect(
        all(any(c is m for m in factory.made) for c in seen),
        f"{SIX}: the users got {seen}; each should get one of the factory's connections "
        f"{factory.made}",
    )
    kata.expect(
        len({id(c) for c in seen}) == 2,
        f"{SIX}: the users got {seen}; the 2 connections should be reused by everyone",
    )
    kata.expect(
        not closer.closed,
        f"{SIX}: close() was called for {closer.conns()}; a clean "
        "exit returns the connection to the pool, it does not close it",
    )
    _expect_counts(
        pool, 2, 2, f"after {SIX}", hint="both connections exist and are back in the pool"
    )


@kata.check("an idle resource is reused rather than creating another", group="behaviour", hint=2)
async def test_idle_resource_reused(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 3)
    users = Users(probes, pool)
    for i, at in enumerate((0.0, 1.5, 3.0)):
        await users.use(f"user{i}", 1.0, at=at)
    what = "Pool(max_size=3) used by one user at a time (at t=0, 1.5 and 3.0, 1.0 s each)"
    kata.expect(
        factory.calls == 1,
        f"{what}: the factory was called {factory.calls} times; expected once: reuse the idle "
        "connection instead of creating a new one while fewer than max_size exist",
    )
    conns = [users.got[f"user{i}"][1] for i in range(3)]
    kata.expect(
        all(c is conns[0] for c in conns),
        f"{what}: the users got {conns}; they should all get the same connection",
    )
    _expect_counts(pool, 1, 1, f"after {what}")


@kata.check("waiters are served first come, first served", group="behaviour", hint=3)
async def test_waiters_served_fifo(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 1)
    users = Users(probes, pool)
    plan = [("A", 0.0), ("B", 0.2), ("C", 0.4), ("D", 0.6)]
    await asyncio.gather(*(users.use(name, 1.0, at=at) for name, at in plan))
    what = (
        "Pool(max_size=1), 0.1 s factory: users A, B, C, D ask at t=0, 0.2, 0.4, 0.6 and "
        "each hold the connection 1.0 s"
    )
    got = ", ".join(f"{n} at t={users.got[n][0]:g} s" for n in users.order)
    kata.expect(
        users.order == ["A", "B", "C", "D"],
        f"{what}: served {got}; waiters must be served in arrival order (a deque of waiters, "
        "first in first out)",
    )
    for name, want in zip("ABCD", (0.1, 1.1, 2.1, 3.1), strict=True):
        kata.expect(
            abs(users.got[name][0] - want) <= EXACT,
            f"{what}: served {got}; {name} should get the connection at exactly t={want:g} s, "
            "the moment the previous user gives it back",
        )
    kata.expect(
        factory.calls == 1, f"{what}: the factory was called {factory.calls} times; expected once"
    )


@kata.check(
    "a failing block closes its resource; the next acquire creates a new one",
    group="behaviour",
    hint=1,
)
async def test_body_exception_closes_resource(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 1)
    users = Users(probes, pool)
    boom = ConnectionAbortedError("the connection broke")
    what = "Pool(max_size=1): a block that raises ConnectionAbortedError at t=0.3 s"
    try:
        await users.use("broken", 0.2, fail=boom)
    except ConnectionAbortedError as exc:
        kata.expect(
            exc is boom,
            f"{what}: a different ConnectionAbortedError came out: "
            "let the block's exception propagate unchanged",
        )
    except BaseException as exc:
        if isinstance(exc, kata.KataFailure):
            raise
        kata.fail(
            f"{what}: the `async with` raised {exc!r}; the block's own exception "
            "must propagate unchanged"
        )
    else:
        kata.fail(f"{what}: the exception was swallowed; __aexit__ must not suppress it")
    await _settle()
    first = factory.made[0] if factory.made else None
    kata.expect(
        closer.conns() == [first],
        f"{what}: close() was called for {closer.conns()}; the broken connection {first} must "
        "be closed exactly once",
    )
    _expect_counts(
        pool,
        0,
        0,
        "after the broken connection was closed",
        hint="a closed connection no longer exists and is not idle: forget it, "
        "don't return it to the pool",
    )
    await users.use("next", 0.5)
    conn = users.got["next"][1]
    kata.expect(
        factory.calls == 2 and conn is not first and conn in factory.made,
        f"{what}, then another acquire: it got {conn} after {factory.calls} factory call(s); "
        "it should get a brand-new connection (the broken one is gone)",
    )
    kata.expect(
        closer.conns() == [first],
        f"{what}: close() was called for "
        f"{closer.conns()}; a clean exit must not close the new connection",
    )
    _expect_counts(pool, 1, 1, "after the new connection came back")


@kata.check(
    "aclose closes every resource once; later acquires raise PoolClosed", group="behaviour", hint=6
)
async def test_aclose_closes_each_once(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 2)
    users = Users(probes, pool)
    long = users.start("long", 1.9)  # holds its connection until t=2.0
    await users.use("short", 0.4)  # gives its connection back at t=0.5
    await _until(1.0)
    closing = asyncio.ensure_future(pool.aclose())
    await _until(1.5)
    what = (
        "Pool(max_size=2), one connection idle since t=0.5 s and one out until t=2.0 s, "
        "aclose() called at t=1.0 s"
    )
    for when in ("while aclose() waits (t=1.5 s)", "after aclose() returned"):
        if when.startswith("after"):
            await closing
            await long
        try:
            async with pool.acquire() as conn:
                kata.fail(f"{what}: an acquire {when} got {conn!r}; it must raise PoolClosed")
        except submission.PoolClosed:
            pass
        except kata.KataFailure:
            raise
        except Exception as exc:
            kata.fail(f"{what}: an acquire {when} raised {exc!r}; it must raise PoolClosed")
    made = list(factory.made)
    kata.expect(
        sorted(closer.conns(), key=lambda c: c.n) == made,
        f"{what}: close() was called for {closer.conns()}; each of {made} must be closed "
        "exactly once (the idle one, and the one out once it comes back)",
    )
    _expect_counts(pool, 0, 0, "after aclose()", hint="every connection was closed")


# ----------------------------------------------------------------------------- timing


@kata.check(
    "6 users x 1.0 s with max_size=2 and a 0.1 s factory take 3.1 s", group="timing", hint=3
)
async def test_six_users_take_3_1(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 2)
    users = Users(probes, pool)
    t0 = kata.now()
    await asyncio.gather(*(users.use(f"user{i}", 1.0) for i in range(6)))
    kata.expect_time(
        t0,
        3.1,
        what=SIX,
        hint="0.1 s to create the 2 connections, then 3 rounds of 1.0 s: hand a returned "
        "connection to the next waiter at once (creating one per user costs 0.1 s each time)",
        too_fast="were more than max_size=2 connections in use at once?",
    )


@kata.check("aclose with a resource out until 2.0 returns at T=2.0", group="timing", hint=6)
async def test_aclose_waits_for_checked_out(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 2)
    users = Users(probes, pool)
    long = users.start("long", 1.9)  # holds its connection until t=2.0
    await users.use("short", 0.4)
    await _until(1.0)
    await pool.aclose()
    kata.expect_at(
        kata.now(),
        2.0,
        what="Pool(max_size=2): aclose() called at t=1.0 s with a connection out until "
        "t=2.0 s returning",
        hint="aclose() must wait until every checked-out connection has come back (and "
        "close it then), not return at once, and not later than that",
        exact=True,
    )
    await long


# ----------------------------------------------------------------------------- cancellation


@kata.check("a factory error reaches only its own caller", group="cancellation", hint=4)
async def test_factory_error_reaches_only_its_caller(submission, probes):
    boom = ConnectionRefusedError("the database refused")
    factory, closer = Factory(probes, errors={1: boom}), Closer()
    pool = _new_pool(submission, factory, closer, 2)
    users = Users(probes, pool)
    a, b, c = (users.start(name, 1.0) for name in "ABC")
    what = (
        "Pool(max_size=2), 0.1 s factory whose first call fails: users A, B, C ask at "
        "t=0 (A's factory call fails)"
    )
    results = await asyncio.gather(a, b, c, return_exceptions=True)
    kata.expect(
        results[0] is boom,
        f"{what}: A's `async with` ended with {results[0]!r}; the factory's own exception "
        "must reach the caller that triggered it",
    )
    for name, res in zip("BC", results[1:], strict=True):
        kata.expect(
            res is None and name in users.got,
            f"{what}: {name} ended with {res!r}"
            + ("" if name in users.got else " without getting a connection")
            + "; the factory error must reach only A: everyone else carries on",
        )
    kata.expect(
        abs(users.got["B"][0] - 0.1) <= EXACT and abs(users.got["C"][0] - 0.2) <= EXACT,
        f"{what}: B got its connection at t={users.got['B'][0]:g} s and C at "
        f"t={users.got['C'][0]:g} s; expected 0.1 and 0.2: A's failed factory must give its "
        "slot back at once, so C creates a connection at t=0.1 s instead of waiting for B",
    )
    _expect_counts(
        pool, 2, 2, f"after {what}", hint="the failed creation must not count as a resource"
    )


@kata.check("a cancelled waiter delays no one", group="cancellation", hint=3)
async def test_cancelled_waiter_delays_no_one(submission, probes):
    factory, closer = Factory(probes), Closer()
    pool = _new_pool(submission, factory, closer, 1)
    users = Users(probes, pool)
    what = (
        "Pool(max_size=1), 0.1 s factory: A holds the connection until t=1.1 s; B and C "
        "wait; B is cancelled at t=0.5 s"
    )
    a, b, c = users.start("A", 1.0), users.start("B", 1.0), users.start("C", 1.0)
    await _until(0.5)
    kata.expect(not b.done(), f"{what}: B finished before it was cancelled")
    b.cancel()
    await _expect_cancelled(b, f"{what}: B's acquire")
    await asyncio.gather(a, c)
    kata.expect("B" not in users.got, f"{what}: B got a connection after it was cancelled")
    at, conn = users.got["C"]
    first = factory.made[0] if factory.made else None
    kata.expect(
        abs(at - 1.1) <= EXACT and conn is first,
        f"{what}: C got {conn} at t={at:g} s; expected {first} at t=1.1 s, when A gives it "
        "back: a cancelled waiter must leave the queue (or be skipped), and never be handed "
        "the connection"
        + ("" if conn is first else "; and a returned connection is reused, not replaced"),
    )
    kata.expect(
        factory.calls == 1,
        f"{what}: the factory was called {factory.calls} times; "
        "expected once (the connection is reused)",
    )
    _expect_counts(pool, 1, 1, f"after {what}")


@kata.check("a factory cancelled at 0.5 leaves size 0", group="cancellation", hint=4)
async def test_factory_cancel_leaves_size_zero(submission, probes):
    factory, closer = Factory(probes, delay=1.0), Closer()
    pool = _new_pool(submission, factory, closer, 1)
    users = Users(probes, pool)
    what = "Pool(max_size=1), 1.0 s factory: A's acquire cancelled at t=0.5 s, mid-factory,"
    a = users.start("A", 1.0)
    await _until(0.5)
    a.cancel()
    await _expect_cancelled(a, what)
    await _settle()
    rec = probes.get("factory#1") if factory.calls else None
    kata.expect(rec is not None, f"{what}: the factory was never called")
    kata.expect(
        rec.cancelled is not None and rec.finally_at is not None,
        f"{what}: the factory was not cancelled with its caller; cancel it (simply await it "
        "in the caller's task) so nothing is created for nobody",
    )
    _expect_counts(
        pool,
        0,
        0,
        f"{what} once the cancel is done",
        hint="a cancelled creation must give its slot back",
    )
    await users.use("B", 0.5)
    kata.expect(
        abs(users.got["B"][0] - 1.5) <= EXACT,
        f"{what}, then B asks at t=0.5 s: B got its connection at t={users.got['B'][0]:g} s; "
        "expected t=1.5 s (a new 1.0 s factory call)",
    )
    _expect_counts(pool, 1, 1, "after B gave its connection back")


@kata.check(
    "a release that coincides with the head waiter's cancel goes to the next waiter",
    group="cancellation",
    hint=5,
)
async def test_release_coinciding_with_cancel(submission, probes):
    for base, order in ((0.0, "cancel, then release"), (10.0, "release, then cancel")):
        await _until(base)
        factory, closer = Factory(probes), Closer()
        pool = _new_pool(submission, factory, closer, 1)
        users = Users(probes, pool)
        due = base + 1.0
        what = (
            f"Pool(max_size=1), 0.1 s factory, at t={base:g} s: A holds the connection "
            f"until t={due:g} s; B then C wait; at t={due:g} s, in the same step: {order} "
            "(B is cancelled)"
        )
        head: list[asyncio.Task[None]] = []

        async def holder(
            pool: Any = pool,
            users: Users = users,
            head: list[asyncio.Task[None]] = head,
            order: str = order,
            due: float = due,
        ) -> None:
            async with pool.acquire() as conn:
                users.got["A"] = (kata.now(), conn)
                await _until(due)
                if order.startswith("cancel"):
                    head[0].cancel()
            if order.startswith("release"):
                head[0].cancel()  # the release already handed the connection to B

        a = asyncio.ensure_future(holder())
        await asyncio.sleep(0)
        head.append(users.start("B", 1.0))
        await asyncio.sleep(0)
        c = users.start("C", 0.5)
        await _expect_cancelled(head[0], f"{what}: B's acquire")
        await asyncio.wait([a, c], timeout=5.0)
        first = factory.made[0] if factory.made else None
        if not c.done():
            c.cancel()
            await asyncio.gather(a, c, return_exceptions=True)
            kata.fail(
                f"{what}: C was still waiting 5 s later, with the pool's one connection "
                f"{first} nowhere to be had: the connection was handed to B, which was "
                "cancelled before it could run, and was lost with it. In your waiter's "
                "`except CancelledError:`, if its future already has a result "
                "(`fut.done() and not fut.cancelled()`), pass that connection on to the next "
                "waiter (or back to the pool) before re-raising"
            )
        await asyncio.gather(a, c)
        kata.expect(
            "B" not in users.got,
            f"{what}: B entered its block after it was "
            "cancelled; its CancelledError must propagate",
        )
        kata.expect(
            "C" in users.got
            and users.got["C"][1] is first
            and abs(users.got["C"][0] - due) <= EXACT,
            f"{what}: C got "
            + (
                f"{users.got['C'][1]} at t={users.got['C'][0]:g} s"
                if "C" in users.got
                else "nothing"
            )
            + f"; it should get {first} at t={due:g} s: when a waiter is cancelled just as the "
            "connection is handed to it (its future already has a result), pass the "
            "connection on to the next waiter instead of losing it",
        )
        _expect_counts(
            pool, 1, 1, f"after {what}", hint="the one connection must be back in the pool"
        )


@kata.check(
    "cancellation sweep: users cancelled at any instant leave every slot and connection "
    "accounted for",
    group="cancellation",
    hint=4,
)
async def test_cancellation_sweep(submission, probes):
    what = (
        "4 users of Pool(max_size=2) with a 0.1 s factory (A and B at t=0, C at 0.05 s, "
        "D at 0.3 s, each holding 0.5 s)"
    )
    current: list[Any] = []

    async def scenario(runs: kata.Probes) -> None:
        factory, closer = Factory(runs), Closer()
        pool = _new_pool(submission, factory, closer, 2)
        current[:] = [pool, factory, closer]
        users = Users(runs, pool)
        await asyncio.gather(
            users.use("A", 0.5),
            users.use("B", 0.5),
            users.use("C", 0.5, at=0.05),
            users.use("D", 0.5, at=0.3),
        )

    def accounted(runs: kata.Probes) -> str | None:
        # With every user gone, each connection that exists (made and not closed)
        # must sit idle in the pool, and nothing else may count towards `size`.
        pool, factory, closer = current
        exists = len(factory.made) - len(closer.closed)
        if (pool.size, pool.idle) != (exists, exists) or pool.size > 2:
            return (
                f"with every user cancelled, (pool.size, pool.idle) was "
                f"({pool.size}, {pool.idle}); {exists} connection(s) exist and all should be "
                "idle: a waiter, a factory call or a block cancelled there kept its slot "
                "(give it back in `finally`/`except BaseException`, and pass a connection "
                "handed to a cancelled waiter on)"
            )
        return None

    await kata.sweep(scenario, what=what, invariant=accounted, record=probes)
