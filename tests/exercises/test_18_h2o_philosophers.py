"""Hidden suite for exercise 18: H2O (LeetCode 1117) and DiningTable (LeetCode 1226).

Every check is on the virtual clock.

H2O: every atom is a task that arrives at a planned instant and calls
``hydrogen`` or ``oxygen`` with its own ``release`` callback; the suite records
each release (instant, kind, atom) in order, so molecules are proven by
structure: the releases must come in groups of three (2 H + 1 O) sharing one
instant, and molecule k (counted from 1, arrivals sorted) must form exactly at
``max(t_H[2k], t_O[k])``, the first instant it can.

DiningTable: every ``wants_to_eat`` call gets its own ``pick_*``/``put_*``
callbacks and an ``eat`` probe. The suite tracks who owns each fork (fork p
is philosopher p's left fork, fork (p+1) % n its right one) and reports any
fork picked while held, put down by a non-owner, a meal eaten without both
forks, or two neighbours eating at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grader import kata
from grader.kata import strategies as st

EXACT = 1e-5  # "exact" in the curriculum


def _t(x: float | None) -> str:
    return "never" if x is None else f"t={x:.4f}".rstrip("0").rstrip(".")


async def _wait_tasks(tasks: list[asyncio.Task[Any]], cap: float) -> list[asyncio.Task[Any]]:
    """Wait until every task is done or loop time reaches ``cap``; return the unfinished ones."""
    remaining = cap - kata.now()
    pending: set[asyncio.Task[Any]] = {t for t in tasks if not t.done()}
    if pending and remaining > 0:
        _, pending = await asyncio.wait(pending, timeout=remaining)
    return [t for t in tasks if t in pending]


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel and await the check's own tasks, so a failed check leaves nothing behind."""
    left = [t for t in tasks if not t.done()]
    for task in left:
        task.cancel()
    if left:
        await asyncio.gather(*left, return_exceptions=True)


def _fresh(probes: kata.Probes) -> kata.Probes:
    """Forget earlier scenarios, so a failing check's timeline shows the scenario that failed."""
    probes.records.clear()
    probes.events.clear()
    return probes


def _nth(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _errors(tasks: list[asyncio.Task[Any]], label: Callable[[int], str]) -> None:
    """Fail if a task ended with an exception other than a cancellation."""
    for i, task in enumerate(tasks):
        if task.done() and not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            kata.fail(f"{label(i)} raised {type(exc).__name__}: {exc}")


# ================================================================= H2O


@dataclass
class Atom:
    kind: str  # "H" or "O"
    label: str  # e.g. "H@1.2"
    planned: float
    arrived: float | None = None
    released: list[float] = field(default_factory=list)
    returned: float | None = None
    outcome: str = "waiting"  # waiting, returned, cancelled, error


class Chemistry:
    """Runs atoms against one H2O object and records every release in order."""

    def __init__(self, h2o: Any, probes: kata.Probes | None = None) -> None:
        self.h2o = h2o
        self.probes = probes  # each atom's wait is a probe run, for the report's timeline
        self.origin = kata.now()  # times in messages are relative to this
        self.atoms: list[Atom] = []
        self.releases: list[tuple[float, Atom]] = []
        self.tasks: list[asyncio.Task[Any]] = []

    def rel(self, x: float | None) -> str:
        return _t(None if x is None else x - self.origin)

    def add(self, kind: str, at: float, label: str | None = None) -> Atom:
        """An atom arriving ``at`` seconds after the origin."""
        atom = Atom(kind, label or f"{kind}@{at:g}", self.origin + at)
        self.atoms.append(atom)
        self.tasks.append(asyncio.ensure_future(self._run(atom)))
        return atom

    async def _run(self, atom: Atom) -> None:
        delay = atom.planned - kata.now()
        if delay > 0:
            await asyncio.sleep(delay)
        atom.arrived = kata.now()

        def release() -> None:
            now = kata.now()
            atom.released.append(now)
            self.releases.append((now, atom))

        method = self.h2o.hydrogen if atom.kind == "H" else self.h2o.oxygen
        span = self.probes.span(atom.label) if self.probes else contextlib.nullcontext()
        try:
            async with span:
                await method(release)
        except asyncio.CancelledError:
            atom.outcome = "cancelled"
            atom.returned = kata.now()
            raise
        except BaseException:
            atom.outcome = "error"
            raise
        atom.outcome = "returned"
        atom.returned = kata.now()

    async def close(self) -> None:
        await _cancel_all(self.tasks)

    async def finish(self, cap: float) -> list[Atom]:
        """Wait for every atom (at most until ``cap``); return the atoms still waiting then."""
        stuck = await _wait_tasks(self.tasks, cap)
        await self.close()
        _errors(
            self.tasks,
            lambda i: (
                f"{'hydrogen' if self.atoms[i].kind == 'H' else 'oxygen'}() for atom "
                f"{self.atoms[i].label}"
            ),
        )
        return [self.atoms[self.tasks.index(t)] for t in stuck]


def _releases_text(chem: Chemistry, limit: int = 12) -> str:
    parts = [f"{atom.label} at {chem.rel(at)}" for at, atom in chem.releases[:limit]]
    more = len(chem.releases) - limit
    return ", ".join(parts) + (f", ... ({more} more)" if more > 0 else "") if parts else "none"


def _expected_molecules(chem: Chemistry) -> list[float]:
    """Molecule k forms at max(t_H[2k], t_O[k]) over the sorted arrival instants."""
    hs = sorted(a.arrived for a in chem.atoms if a.kind == "H" and a.arrived is not None)
    os_ = sorted(a.arrived for a in chem.atoms if a.kind == "O" and a.arrived is not None)
    count = min(len(hs) // 2, len(os_))
    return [max(hs[2 * k + 1], os_[k]) for k in range(count)]


def _check_molecules(chem: Chemistry, expected: list[float], context: str) -> None:
    """The releases must be whole molecules (H, H, O in any order) at the expected instants."""
    for atom in chem.atoms:
        kata.expect(
            len(atom.released) <= 1,
            f"{context}: atom {atom.label} was released {len(atom.released)} times "
            f"(at {', '.join(chem.rel(x) for x in atom.released)}); each atom is released once",
        )
    got = len(chem.releases)
    want = 3 * len(expected)
    kata.expect(
        got <= want,
        f"{context}: {got} atoms were released but only {len(expected)} molecule(s) can form "
        f"({want} atoms); releases: {_releases_text(chem)}. An atom must wait for a full "
        "molecule (2 H + 1 O) before it is released",
    )
    for k, when in enumerate(expected):
        group = chem.releases[3 * k : 3 * k + 3]
        kinds = sorted(atom.kind for _, atom in group)
        instants = [at for at, _ in group]
        where = (
            f"molecule {k + 1} should form at {chem.rel(when)}, when its last atom arrives "
            f"(the {_nth(2 * k + 2)} H and the {_nth(k + 1)} O)"
        )
        kata.expect(
            len(group) == 3,
            f"{context}: {where}, but only {got} atoms were ever released "
            f"({_releases_text(chem)}); atoms still waiting: "
            f"{[a.label for a in chem.atoms if not a.released and a.outcome != 'cancelled'][:8]}",
        )
        kata.expect(
            kinds == ["H", "H", "O"],
            f"{context}: releases {3 * k + 1} to {3 * k + 3} were "
            f"{[f'{a.label} at {chem.rel(at)}' for at, a in group]}, not one molecule (2 H + 1 O); "
            f"all releases: {_releases_text(chem)}. Release atoms molecule by molecule: "
            "a molecule's three atoms all go before any atom of the next one",
        )
        kata.expect(
            all(abs(at - when) <= EXACT for at in instants),
            f"{context}: {where}, but its atoms were released at "
            f"{', '.join(chem.rel(at) for at in instants)} ({_releases_text(chem)}): "
            + (
                "an atom was released before its molecule was complete"
                if min(instants) < when - EXACT
                else "the molecule formed late: wake the waiting atoms the instant the third "
                "atom arrives (no polling)"
            ),
        )
    for _, atom in chem.releases:
        kata.expect(
            atom.returned is not None
            and atom.outcome == "returned"
            and abs(atom.returned - atom.released[0]) <= EXACT,
            f"{context}: atom {atom.label} was released at {chem.rel(atom.released[0])} but its call "
            + (
                f"returned at {chem.rel(atom.returned)}"
                if atom.returned is not None
                else "never returned"
            )
            + "; once released, an atom's call returns at once",
        )


# ---------------------------------------------------------------- H2O: behaviour


@kata.check(
    "H2O: H@0, H@0.5, O@1.0, H@1.2, O@1.5, H@2.0 give molecules at 1.0 and 2.0",
    group="behaviour",
    hint=2,
)
async def test_h2o_example_molecules(submission, probes):
    chem = Chemistry(submission.H2O(), probes)
    for kind, at in (("H", 0.0), ("H", 0.5), ("O", 1.0), ("H", 1.2), ("O", 1.5), ("H", 2.0)):
        chem.add(kind, at)
    stuck = await chem.finish(cap=6.0)
    context = "H2O with H@0, H@0.5, O@1.0, H@1.2, O@1.5, H@2.0"
    _check_molecules(chem, [1.0, 2.0], context)
    kata.expect(not stuck, f"{context}: atoms {[a.label for a in stuck]} were never released")
    first = {a.label for _, a in chem.releases[:3]}
    kata.expect(
        first == {"H@0", "H@0.5", "O@1"},
        f"{context}: the molecule at t=1.0 was made of {sorted(first)}; at that instant only "
        "H@0, H@0.5 and O@1 had arrived",
    )


@kata.check(
    "H2O: atoms arriving together are released molecule by molecule",
    group="behaviour",
    hint=2,
)
async def test_h2o_burst_forms_whole_molecules(submission, probes):
    rng = random.Random(1117)
    bursts = ["HOHHHOHOHH", "OOOHHHHHHH", "HHHHHHHOOO"]
    for _ in range(5):
        bursts.append("".join(rng.sample("HHHHHHHOOO", 10)))
    for burst in bursts:  # 7 H and 3 O at t=0: three molecules at once, one H left
        chem = Chemistry(submission.H2O(), _fresh(probes))
        start = chem.origin
        for i, kind in enumerate(burst):
            chem.add(kind, 0.0, label=f"{kind}{i}@0")
        chem.add("O", 1.0, label="O@1")
        chem.add("H", 1.5, label="H@1.5")
        stuck = await chem.finish(cap=start + 6.0)
        context = (
            f"H2O with 7 H and 3 O arriving at t=0 (calling in the order {burst}), "
            "then O@1.0 and H@1.5"
        )
        _check_molecules(chem, [start, start, start, start + 1.5], context)
        kata.expect(not stuck, f"{context}: atoms {[a.label for a in stuck]} were never released")


# ---------------------------------------------------------------- H2O: timing


@kata.check(
    "H2O: molecule k forms exactly at max(t_H[2k], t_O[k]) (20 seeded draws)",
    group="timing",
    hint=1,
)
async def test_h2o_random_arrivals(submission, probes):
    for draw in range(20):
        rng = random.Random(1117 + draw)
        if draw % 2 == 0:  # a coarse grid: many atoms arrive at the same instant
            times = [rng.randint(0, 20) * 0.25 for _ in range(45)]
        else:
            times = [round(rng.uniform(0.0, 10.0), 3) for _ in range(45)]
        kinds = ["H"] * 30 + ["O"] * 15
        plan = list(zip(kinds, times, strict=True))
        rng.shuffle(plan)  # the order in which atoms of one instant call in
        chem = Chemistry(submission.H2O(), _fresh(probes))
        for i, (kind, at) in enumerate(plan):
            chem.add(kind, at, label=f"{kind}{i}@{at:g}")
        stuck = await chem.finish(cap=chem.origin + 20.0)
        context = f"draw {draw} (seed {1117 + draw}, 30 H and 15 O)"
        _check_molecules(chem, _expected_molecules(chem), context)
        kata.expect(
            not stuck,
            f"{context}: atoms {[a.label for a in stuck][:8]} were never released",
        )


# ---------------------------------------------------------------- H2O: cancellation


@kata.check(
    "H2O: an H cancelled at 0.5 is never released; H@1, H@2, O@3 pair up at 3.0",
    group="cancellation",
    hint=3,
)
async def test_h2o_cancelled_hydrogen(submission, probes):
    chem = Chemistry(submission.H2O(), probes)
    context = "H2O with H@0 (cancelled at 0.5), H@1, H@2, O@3"
    try:
        gone = chem.add("H", 0.0)
        for kind, at in (("H", 1.0), ("H", 2.0), ("O", 3.0)):
            chem.add(kind, at)
        await asyncio.sleep(0.5)
        chem.tasks[0].cancel()
        await asyncio.gather(chem.tasks[0], return_exceptions=True)
        kata.expect(
            not gone.released,
            f"{context}: the atom H@0 was released at {chem.rel(gone.released[0] if gone.released else None)}, "
            "before it was cancelled and although no oxygen had arrived: an atom must wait "
            "for a full molecule (2 H + 1 O)",
        )
        kata.expect(
            gone.outcome == "cancelled"
            and gone.returned is not None
            and abs(gone.returned - 0.5) <= EXACT,
            f"{context}: the hydrogen() call cancelled at t=0.5 ended as {gone.outcome!r} "
            f"at {chem.rel(gone.returned)}; its CancelledError must propagate at once (don't "
            "swallow it)",
        )
        stuck = await chem.finish(cap=10.0)
    finally:
        await chem.close()
    kata.expect(
        not gone.released,
        f"{context}: the cancelled atom H@0 was released at "
        f"{chem.rel(gone.released[0] if gone.released else None)}; a cancelled atom is never released",
    )
    kata.expect(
        not stuck and len(chem.releases) == 3,
        f"{context}: by t=10 the releases were {_releases_text(chem)} and atoms "
        f"{[a.label for a in stuck]} were still waiting; H@1, H@2 and O@3 should form a "
        "molecule at t=3.0. A cancelled atom must give back its place in the molecule "
        "(release its semaphore slot: `async with`, or a `finally`)",
    )
    _check_molecules(chem, [3.0], context)


# ================================================================= Dining philosophers


@dataclass
class Meal:
    p: int
    duration: float
    origin: float  # times in messages are relative to this
    requested: float | None = None
    left_at: float | None = None
    right_at: float | None = None
    eat_start: float | None = None
    eat_end: float | None = None
    eat_cancelled: float | None = None
    put_left_at: float | None = None
    put_right_at: float | None = None
    returned: float | None = None
    outcome: str = "waiting"  # waiting, returned, cancelled, error

    def _rel(self, x: float | None) -> str:
        return _t(None if x is None else x - self.origin)

    def describe(self) -> str:
        if self.eat_start is None:
            ate = "never ate"
        elif self.eat_end is None:
            ate = f"ate from {self._rel(self.eat_start)}, cancelled at {self._rel(self.eat_cancelled)}"
        else:
            ate = f"ate {self._rel(self.eat_start)}..{self._rel(self.eat_end)}"
        return (
            f"philosopher {self.p} (asked at {self._rel(self.requested)}): picked left "
            f"{self._rel(self.left_at)}, right {self._rel(self.right_at)}, {ate}, put left "
            f"{self._rel(self.put_left_at)}, right {self._rel(self.put_right_at)}"
        )


class Table:
    """Callbacks for ``wants_to_eat`` that track fork ownership and meals."""

    def __init__(self, table: Any, n: int, probes: kata.Probes | None = None) -> None:
        self.table = table
        self.n = n
        self.probes = probes  # each meal is a probe run, for the report's timeline
        self.origin = kata.now()  # times in messages are relative to this
        self.owner: list[int | None] = [None] * n
        self.eating: dict[int, Meal] = {}
        self.meals: list[Meal] = []
        self.problems: list[str] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.labels: list[str] = []

    def _problem(self, text: str) -> None:
        self.problems.append(f"at {self.rel(kata.now())}, {text}")

    def rel(self, x: float | None) -> str:
        return _t(None if x is None else x - self.origin)

    def forks(self, p: int) -> tuple[int, int]:
        return p, (p + 1) % self.n

    def _callbacks(self, meal: Meal) -> tuple[Any, ...]:
        p = meal.p
        left, right = self.forks(p)

        def pick(side: str, fork: int) -> None:
            attr = f"{side}_at"
            if getattr(meal, attr) is not None:
                self._problem(f"philosopher {p} called pick_{side}() twice in one meal")
            holder = self.owner[fork]
            if holder is not None:
                self._problem(
                    f"philosopher {p} picked up fork {fork} ({side}) while philosopher "
                    f"{holder} still held it"
                )
            self.owner[fork] = p
            setattr(meal, attr, kata.now())

        def put(side: str, fork: int) -> None:
            attr = f"put_{side}_at"
            if getattr(meal, attr) is not None:
                self._problem(f"philosopher {p} called put_{side}() twice in one meal")
            if p in self.eating:
                self._problem(f"philosopher {p} put down fork {fork} while still eating")
            if self.owner[fork] != p:
                self._problem(
                    f"philosopher {p} put down fork {fork} ({side}) which it did not hold "
                    f"(holder: {self.owner[fork]})"
                )
            else:
                self.owner[fork] = None
            setattr(meal, attr, kata.now())

        async def eat() -> None:
            if meal.eat_start is not None:
                self._problem(f"philosopher {p} called eat() twice in one meal")
            missing = [f for f in (left, right) if self.owner[f] != p]
            if missing:
                self._problem(f"philosopher {p} started eating without holding fork(s) {missing}")
            for q in ((p - 1) % self.n, (p + 1) % self.n):
                if q != p and q in self.eating:
                    self._problem(f"neighbours {q} and {p} were eating at the same time")
            self.eating[p] = meal
            meal.eat_start = kata.now()
            span = self.probes.span(f"p{p} eats") if self.probes else contextlib.nullcontext()
            try:
                async with span:
                    await asyncio.sleep(meal.duration)
            except asyncio.CancelledError:
                meal.eat_cancelled = kata.now()
                raise
            finally:
                self.eating.pop(p, None)
            meal.eat_end = kata.now()

        return (
            lambda: pick("left", left),
            lambda: pick("right", right),
            eat,
            lambda: put("left", left),
            lambda: put("right", right),
        )

    async def one_meal(self, p: int, duration: float) -> Meal:
        meal = Meal(p, duration, self.origin, requested=kata.now())
        self.meals.append(meal)
        try:
            await self.table.wants_to_eat(p, *self._callbacks(meal))
        except asyncio.CancelledError:
            meal.outcome = "cancelled"
            meal.returned = kata.now()
            raise
        except BaseException:
            meal.outcome = "error"
            raise
        meal.outcome = "returned"
        meal.returned = kata.now()
        return meal

    def philosopher(
        self, p: int, meals: int, duration: float, start: float = 0.0, think: float = 0.0
    ) -> asyncio.Task[Any]:
        async def run() -> None:
            if start > kata.now():
                await asyncio.sleep(start - kata.now())
            for i in range(meals):
                if i and think:
                    await asyncio.sleep(think)
                await self.one_meal(p, duration)

        task = asyncio.ensure_future(run())
        self.tasks.append(task)
        self.labels.append(f"wants_to_eat({p}, ...)")
        return task

    async def close(self) -> None:
        await _cancel_all(self.tasks)

    async def finish(self, cap: float, context: str, stuck_hint: str = "") -> float:
        """Wait for every philosopher; fail on a deadlock (nothing finished by ``cap``)."""
        t0 = kata.now()
        stuck = await _wait_tasks(self.tasks, cap)
        hungry = [m for m in self.meals if m.outcome == "waiting"]
        holding = {f: q for f, q in enumerate(self.owner) if q is not None}
        await self.close()
        _errors(self.tasks, lambda i: self.labels[i])
        if stuck:
            kata.fail(
                f"{context}: at {self.rel(cap)} philosophers {sorted({m.p for m in hungry})} had "
                f"still not finished their meals (forks held then: "
                f"{', '.join(f'fork {f} by {q}' for f, q in holding.items()) or 'none'}): "
                "a deadlock or a lost wake-up. "
                + (
                    stuck_hint
                    or "Never hold one fork while waiting for the other, and wake the waiters "
                    "whenever forks are put down"
                )
            )
        return max([m.returned for m in self.meals if m.returned is not None] + [t0])

    def check_rules(self, context: str) -> None:
        kata.expect(
            not self.problems,
            f"{context}: {self.problems[0] if self.problems else ''}"
            + (f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else "")
            + ". A philosopher picks up both forks only when both are free, eats holding "
            "them, then puts both down",
        )
        for meal in self.meals:
            if meal.outcome != "returned":
                continue
            kata.expect(
                meal.eat_start is not None and meal.eat_end is not None,
                f"{context}: wants_to_eat({meal.p}, ...) returned at {self.rel(meal.returned)} "
                "without eating (await eat() once per call)",
            )
            kata.expect(
                meal.put_left_at is not None and meal.put_right_at is not None,
                f"{context}: {meal.describe()}; both forks must be put down after the meal",
            )


# ---------------------------------------------------------------- Dining: behaviour

_ORDERS = ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 3, 0, 4, 2])


def _random_plan(rng: random.Random) -> tuple[int, list[tuple[int, int, float, float, float]]]:
    n = rng.choice([3, 5, 5, 6, 7])
    plan = []
    for p in rng.sample(range(n), n):
        meals = rng.randint(1, 3)
        duration = rng.randint(1, 6) * 0.25
        start = rng.randint(0, 8) * 0.25
        think = rng.choice([0.0, 0.0, 0.25, 0.5])
        plan.append((p, meals, duration, start, think))
    return n, plan


@kata.check(
    "philosophers: both picks and the start of eating share one timestamp",
    group="behaviour",
    hint=4,
)
async def test_picks_and_eating_share_a_timestamp(submission, probes):
    scenarios: list[tuple[str, int, list[tuple[int, int, float, float, float]]]] = []
    for order in _ORDERS[:2]:
        scenarios.append(
            (
                f"5 philosophers started in order {order}, 2 meals of 1.0 s each",
                5,
                [(p, 2, 1.0, 0.0, 0.0) for p in order],
            )
        )
    rng = random.Random(1226)
    for draw in range(20):
        n, plan = _random_plan(rng)
        scenarios.append((f"random table {draw} (seed 1226, n={n})", n, plan))
    for context, n, plan in scenarios:
        start = kata.now()
        rec = Table(submission.DiningTable(n), n, _fresh(probes))
        for p, meals, duration, at, think in plan:
            rec.philosopher(p, meals, duration, start + at, think)
        serial = sum(m * (d + t) for _, m, d, _, t in plan) + max(a for *_, a, _ in plan)
        await rec.finish(start + serial + 5.0, context)
        for meal in rec.meals:
            kata.expect(
                meal.left_at is not None
                and meal.right_at is not None
                and meal.eat_start is not None
                and abs(meal.left_at - meal.right_at) <= EXACT
                and abs(meal.left_at - meal.eat_start) <= EXACT,
                f"{context}: {meal.describe()}. Both forks must be picked up together, at the "
                "instant eating starts: "
                + (
                    "holding one fork while waiting for the other is hold-and-wait (it can "
                    "deadlock); wait until both are free, then take both in one step"
                    if meal.left_at is not None
                    and meal.right_at is not None
                    and abs(meal.left_at - meal.right_at) > EXACT
                    else "call pick_left() and pick_right(), then await eat() at once"
                ),
            )
            kata.expect(
                meal.eat_end is not None
                and meal.put_left_at is not None
                and meal.put_right_at is not None
                and abs(meal.put_left_at - meal.eat_end) <= EXACT
                and abs(meal.put_right_at - meal.eat_end) <= EXACT,
                f"{context}: {meal.describe()}. Both forks must be put down the moment the "
                "meal ends",
            )


@kata.check(
    "philosophers: neighbours never eat together, a fork has one holder, no deadlock",
    group="behaviour",
    hint=4,
)
async def test_neighbours_never_eat_together(submission, probes):
    # First a table where holding one fork while waiting for the other ends in a
    # circular wait; then seeded random tables.
    scenarios: list[tuple[str, int, list[tuple[int, int, float, float, float]]]] = [
        (
            "philosophers 0-3 from t=0 and philosopher 4 from t=0.5, 2 meals of 0.5 s each",
            5,
            [
                (0, 2, 0.5, 0.0, 0.0),
                (1, 2, 0.5, 0.0, 0.0),
                (2, 2, 0.5, 0.0, 0.0),
                (3, 2, 0.5, 0.0, 0.0),
                (4, 2, 0.5, 0.5, 0.0),
            ],
        )
    ]
    rng = random.Random(1226_2)
    for draw in range(20):
        n, plan = _random_plan(rng)
        scenarios.append((f"random table {draw} (seed 12262, n={n})", n, plan))
    for context, n, plan in scenarios:
        start = kata.now()
        rec = Table(submission.DiningTable(n), n, _fresh(probes))
        for p, meals, duration, at, think in plan:
            rec.philosopher(p, meals, duration, start + at, think)
        serial = sum(m * (d + t) for _, m, d, _, t in plan) + max(a for *_, a, _ in plan)
        await rec.finish(start + serial + 5.0, context)
        rec.check_rules(context)
        kata.expect(
            sum(m for _, m, *_ in plan) == sum(1 for m in rec.meals if m.eat_end is not None),
            f"{context}: not every requested meal was eaten",
        )
        left = {f: q for f, q in enumerate(rec.owner) if q is not None}
        kata.expect(
            not left,
            f"{context}: after every call returned, forks were still held: {left}",
        )


# ---------------------------------------------------------------- Dining: timing


@kata.check(
    "philosophers: 5 philosophers x 1 meal of 1.0 s take 3.0 s (the optimum)",
    group="timing",
    hint=6,
)
async def test_five_single_meals(submission, probes):
    for order in _ORDERS:
        context = f"5 philosophers started at t=0 in order {order}, 1 meal of 1.0 s each"
        rec = Table(submission.DiningTable(5), 5, _fresh(probes))
        t0 = kata.now()
        for p in order:
            rec.philosopher(p, 1, 1.0)
        end = await rec.finish(t0 + 20.0, context)
        took = end - t0
        kata.expect(
            3.0 - 1e-9 <= took <= 3.01,
            f"{context}: all ate after {kata.seconds(took)} of loop time; it should take 3.0 s "
            "(two can eat at once, then two, then the last): "
            + (
                "did neighbours eat at the same time?"
                if took < 3.0
                else "a philosopher must eat as soon as both of its forks are free; one lock "
                "for the whole table, or holding one fork while waiting for the other, makes "
                "the others wait for nothing"
            ),
        )


@kata.check(
    "philosophers: 5 philosophers x 3 meals of 1.0 s take at most 9.0 s",
    group="timing",
    hint=6,
)
async def test_five_philosophers_three_meals(submission, probes):
    for order in _ORDERS[:2]:
        context = f"5 philosophers started at t=0 in order {order}, 3 meals of 1.0 s each"
        rec = Table(submission.DiningTable(5), 5, _fresh(probes))
        t0 = kata.now()
        for p in order:
            rec.philosopher(p, 3, 1.0)
        end = await rec.finish(t0 + 30.0, context)
        took = end - t0
        kata.expect(
            8.0 - 1e-9 <= took <= 9.01,
            f"{context}: all ate after {kata.seconds(took)} of loop time; it should take at "
            "most 9.0 s (the optimum is 8.0 s): "
            + (
                "did neighbours eat at the same time?"
                if took < 8.0
                else "let every philosopher whose two forks are free eat at once, and don't "
                "hold a fork while waiting"
            ),
        )


# ---------------------------------------------------------------- Dining: cancellation


@kata.check(
    "philosophers: cancelled while eating, both forks go down", group="cancellation", hint=5
)
async def test_cancelled_while_eating_puts_forks_down(submission, probes):
    rec = Table(submission.DiningTable(5), 5, probes)
    context = "philosopher 0 eating a 5 s meal from t=0, cancelled at t=1 (1 and 4 waiting)"
    try:
        eater = rec.philosopher(0, 1, 5.0)
        rec.philosopher(1, 1, 1.0)
        rec.philosopher(4, 1, 1.0)
        await asyncio.sleep(1.0)
        eater.cancel()
        await asyncio.gather(eater, return_exceptions=True)
        meal0 = rec.meals[0]
        kata.expect(
            meal0.eat_start is not None and abs(meal0.eat_start) <= EXACT,
            f"{context}: {meal0.describe()}; philosopher 0 should have been eating since t=0",
        )
        kata.expect(
            meal0.outcome == "cancelled",
            f"{context}: wants_to_eat(0, ...) ended as {meal0.outcome!r}; the CancelledError "
            "must propagate (don't swallow it)",
        )
        kata.expect(
            meal0.put_left_at is not None
            and meal0.put_right_at is not None
            and abs(meal0.put_left_at - 1.0) <= EXACT
            and abs(meal0.put_right_at - 1.0) <= EXACT,
            f"{context}: {meal0.describe()}; both forks must be put down at t=1, when the "
            "meal is cancelled: put them down in a `finally:`",
        )
        await rec.finish(10.0, context)
    finally:
        await rec.close()
    rec.check_rules(context)
    for meal in rec.meals[1:]:
        kata.expect(
            meal.eat_start is not None and abs(meal.eat_start - 1.0) <= EXACT,
            f"{context}: philosopher {meal.p} started eating at {rec.rel(meal.eat_start)}; both its "
            "forks were free from t=1, when philosopher 0 put them down (1 and 4 are not "
            "neighbours, so both may eat then): wake the waiters when forks go down, also "
            "after a cancel, and let every philosopher whose forks are free eat",
        )


@kata.check(
    "philosophers: cancelled while waiting, a philosopher holds no forks",
    group="cancellation",
    hint=4,
)
async def test_cancelled_while_waiting_holds_no_forks(submission, probes):
    rec = Table(submission.DiningTable(5), 5, probes)
    context = (
        "philosopher 2 eating from t=0 to t=2; philosopher 1 (forks 1 and 2) waiting, "
        "cancelled at t=0.5"
    )
    try:
        rec.philosopher(2, 1, 2.0)  # eats 0..2 with forks 2 and 3
        waiter = rec.philosopher(1, 1, 1.0)  # needs forks 1 and 2: waits for fork 2
        await asyncio.sleep(0.5)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        first = rec.meals[1]
        kata.expect(
            first.outcome == "cancelled"
            and first.returned is not None
            and abs(first.returned - 0.5) <= EXACT,
            f"{context}: wants_to_eat(1, ...) ended as {first.outcome!r} at "
            f"{rec.rel(first.returned)}; the CancelledError must propagate at once (don't "
            "swallow it)",
        )
        kata.expect(
            first.left_at is None and first.right_at is None,
            f"{context}: {first.describe()}. Philosopher 1 picked up a fork while its other "
            "fork was busy: a waiting philosopher must not pick up any fork before both are "
            "free",
        )
        held = [f for f, q in enumerate(rec.owner) if q == 1]
        kata.expect(
            not held,
            f"{context}: after its cancel philosopher 1 still held fork(s) {held}",
        )
        rec.philosopher(0, 1, 1.0, start=1.0)  # forks 0 and 1: free unless 1 kept fork 1
        rec.philosopher(1, 1, 1.0, start=2.5)  # forks 1 and 2: free again from t=2
        await rec.finish(
            10.0,
            context + ", then philosopher 0 at t=1 and philosopher 1 again at t=2.5",
            stuck_hint="Did the cancelled request of philosopher 1 leave something behind "
            "(a pending grant, a reserved fork)?",
        )
    finally:
        await rec.close()
    rec.check_rules(context)
    later = {m.p: m for m in rec.meals[2:]}
    kata.expect(
        later[0].eat_start is not None and abs(later[0].eat_start - 1.0) <= EXACT,
        f"{context}: philosopher 0 (forks 0 and 1) arrived at t=1 and started eating at "
        f"{rec.rel(later[0].eat_start)}, although both its forks were free (philosopher 2 holds "
        "forks 2 and 3): did the cancelled philosopher 1 keep or reserve fork 1? A "
        "philosopher must eat as soon as its own two forks are free",
    )
    kata.expect(
        later[1].eat_start is not None and abs(later[1].eat_start - 2.5) <= EXACT,
        f"{context}: philosopher 1 asked again at t=2.5 and started eating at "
        f"{rec.rel(later[1].eat_start)}; forks 1 and 2 were free from t=2: the cancelled request "
        "must leave nothing behind (no pending grant, no reserved fork)",
    )


# ================================================================= H2O property


def _h2o_oracle(plan: tuple[tuple[str, int, int | None], ...]) -> tuple[list[float], set[int]]:
    """The molecule instants, and which cancels to make, for atoms (kind, quarters, cancel).

    A molecule forms the moment 2 H and 1 O are waiting. An atom's cancel (an odd
    number of eighths after it arrived, so never on a molecule's instant) is made only
    if no molecule formed since it arrived: then it is waiting whatever atoms the
    submission put in earlier molecules (atoms of one kind are interchangeable).
    """
    events: list[tuple[float, int, int]] = []  # (time, 0 = arrival / 1 = cancel, atom)
    for i, (_, quarters, cancel) in enumerate(plan):
        events.append((quarters / 4, 0, i))
        if cancel is not None:
            events.append((quarters / 4 + cancel / 4 + 1 / 8, 1, i))
    waiting: dict[str, set[int]] = {"H": set(), "O": set()}
    molecules: list[float] = []
    cancels: set[int] = set()
    for when, kind, i in sorted(events):
        atom = plan[i][0]
        if kind == 1:
            arrived = plan[i][1] / 4
            if not any(m >= arrived for m in molecules) and i in waiting[atom]:
                waiting[atom].discard(i)
                cancels.add(i)
            continue
        waiting[atom].add(i)
        while len(waiting["H"]) >= 2 and waiting["O"]:
            for _ in range(2):
                waiting["H"].remove(min(waiting["H"]))
            waiting["O"].remove(min(waiting["O"]))
            molecules.append(when)
    return molecules, cancels


@kata.check(
    "H2O: with cancelled atoms, molecules still form the moment 2 H and 1 O wait "
    "(property, 30 plans)",
    group="timing",
    hint=3,
)
def test_h2o_with_cancels(submission):

    atoms = st.tuples(
        st.sampled_from("HHO"),
        st.integers(0, 12),  # arrival, in quarter seconds
        st.one_of(st.none(), st.integers(0, 5)),  # cancelled (k + 1/2) quarters after arriving
    )
    plans = st.lists(atoms, min_size=3, max_size=12).map(tuple)

    async def check(plan: tuple[tuple[str, int, int | None], ...]) -> str | None:
        expected, cancels = _h2o_oracle(plan)
        chem = Chemistry(submission.H2O())
        for i, (kind, quarters, _) in enumerate(plan):
            chem.add(kind, quarters / 4, label=f"{kind}{i}@{quarters / 4:g}")
        cancel_at = {i: plan[i][1] / 4 + (plan[i][2] or 0) / 4 + 1 / 8 for i in cancels}

        async def cancel(i: int) -> None:
            await asyncio.sleep(cancel_at[i])
            chem.tasks[i].cancel()

        cancellers = [asyncio.ensure_future(cancel(i)) for i in sorted(cancels)]
        context = "H2O with " + ", ".join(
            atom.label + (f" (cancelled at {_t(cancel_at[i])})" if i in cancels else "")
            for i, atom in enumerate(chem.atoms)
        )
        try:
            await asyncio.gather(*cancellers)
            await chem.finish(cap=chem.origin + 10.0)
            for i in sorted(cancels):
                atom = chem.atoms[i]
                due = chem.origin + cancel_at[i]
                kata.expect(
                    not atom.released,
                    f"{context}: the cancelled atom {atom.label} was released at "
                    f"{chem.rel(atom.released[0] if atom.released else None)}; no molecule "
                    "could include it before its cancel",
                )
                kata.expect(
                    atom.outcome == "cancelled"
                    and atom.returned is not None
                    and abs(atom.returned - due) <= EXACT,
                    f"{context}: the call of {atom.label}, cancelled at {chem.rel(due)}, ended as "
                    f"{atom.outcome!r} at {chem.rel(atom.returned)}; its CancelledError must "
                    "propagate at once",
                )
            _check_molecules(chem, [chem.origin + t for t in expected], context)
        except kata.KataFailure as exc:
            return str(exc)
        finally:
            for task in cancellers:
                task.cancel()
        return None

    kata.forall(
        plans,
        check,
        what="H2O(atoms as (kind, arrival in quarter seconds, cancelled k+1/2 quarters later))",
        examples=30,
    )


# ================================================================= cancellation sweep

# Dining first: (philosopher, meals, duration, start, think), on a table of 5.
_SWEEP_TABLE = [(0, 2, 1.0, 0.0, 0.0), (1, 1, 0.5, 0.0, 0.0), (2, 2, 0.5, 0.25, 0.25),
                (3, 1, 1.0, 0.5, 0.0), (4, 1, 0.75, 0.25, 0.0)]  # fmt: skip
# Then two H2O objects whose molecules all form at the last instant (2.0 s), so every
# instant swept finds atoms waiting: hydrogens only (2 in the molecule being built, 2
# queued), and one hydrogen with oxygens queued behind each other.
_SWEEP_ATOMS = {
    "A": [("H", 0.0), ("H", 0.5), ("H", 1.0), ("H", 1.5), ("O", 2.0), ("O", 2.0)],
    "B": [("O", 0.0), ("H", 0.25), ("O", 0.75), ("O", 1.25)] + [("H", 2.0)] * 5,
}
_FOLLOW_UP_ATOMS = [("H", 0.0), ("H", 0.5), ("O", 1.0), ("H", 1.2), ("O", 1.5), ("H", 2.0)]


@kata.check(
    "cancellation sweep: cancelled at any instant, philosophers and atoms leave nothing "
    "behind (the table and the H2O objects then work as new)",
    group="cancellation",
    hint=3,
)
async def test_cancellation_sweep(submission, probes):
    found: dict[int, list[str]] = {}

    async def follow_up(table: Any, molecules: dict[str, Any], runs: kata.Probes) -> list[str]:
        """After the cancel: 5 x 1 meal of 1.0 s takes 3.0 s; atoms pair up as on a new object."""
        problems: list[str] = []
        rec = Table(table, 5, runs)
        t0 = kata.now()
        for p in range(5):
            rec.philosopher(p, 1, 1.0)
        chems = {}
        for key, h2o in molecules.items():
            chem = Chemistry(h2o, runs)
            for kind, at in _FOLLOW_UP_ATOMS:
                chem.add(kind, at, label=f"{key}:{kind}@+{at:g}")
            chems[key] = chem
        context = "after the cancel, 5 philosophers asked for 1 meal of 1.0 s each"
        try:
            end = await rec.finish(
                t0 + 20.0,
                context,
                stuck_hint="Did a cancelled philosopher leave a fork taken, reserved or "
                "promised to it?",
            )
            rec.check_rules(context)
            kata.expect(
                3.0 - 1e-9 <= end - t0 <= 3.01,
                f"{context}: all ate after {kata.seconds(end - t0)}; it takes 3.0 s on a table "
                "where nobody holds a fork: did a cancelled philosopher leave something behind?",
            )
        except kata.KataFailure as exc:
            problems.append(str(exc))
        for key, chem in chems.items():
            context = (
                f"after the cancel, H2O object {key} got H@+0, H@+0.5, O@+1.0, H@+1.2, O@+1.5, "
                "H@+2.0 (molecules due at +1.0 and +2.0)"
            )
            try:
                stuck = await chem.finish(t0 + 20.0)
                kata.expect(
                    not stuck,
                    f"{context}: atoms {[a.label for a in stuck]} were never released "
                    f"(releases: {_releases_text(chem)}): a cancelled atom must give back its "
                    "place (its slot, its seat in the molecule)",
                )
                _check_molecules(chem, [t0 + 1.0, t0 + 2.0], context)
            except kata.KataFailure as exc:
                problems.append(str(exc))
        return problems

    async def scenario(runs: kata.Probes) -> None:
        problems = found[id(runs)] = []
        table = submission.DiningTable(5)
        molecules = {key: submission.H2O() for key in _SWEEP_ATOMS}
        meals = Table(table, 5, runs)
        chems: dict[str, Chemistry] = {}
        try:
            start = kata.now()
            for p, n, duration, at, think in _SWEEP_TABLE:
                meals.philosopher(p, n, duration, start + at, think)
            await asyncio.gather(*meals.tasks)
            for key, atoms in _SWEEP_ATOMS.items():
                chems[key] = chem = Chemistry(molecules[key], runs)
                for i, (kind, at) in enumerate(atoms):
                    chem.add(kind, at, label=f"{key}:{kind}{i}@{at:g}")
            await asyncio.gather(*(t for chem in chems.values() for t in chem.tasks))
        except asyncio.CancelledError:
            # gather has cancelled every philosopher and atom, and waited for them.
            held = {f: q for f, q in enumerate(meals.owner) if q is not None}
            if meals.problems:
                problems.append(f"the philosophers broke a rule: {meals.problems[0]}")
            if held:
                problems.append(
                    "after the cancel, forks were still held: "
                    + ", ".join(f"fork {f} by philosopher {q}" for f, q in held.items())
                    + ". Cancelled while eating, put both forks down (in a `finally:`); "
                    "cancelled while waiting, hold none"
                )
            for meal in meals.meals:
                if meal.outcome not in ("returned", "cancelled"):
                    problems.append(
                        f"wants_to_eat({meal.p}, ...) ended as {meal.outcome!r} when cancelled"
                    )
            for key, chem in chems.items():
                if chem.releases:
                    problems.append(
                        f"H2O object {key} released {_releases_text(chem)} although no "
                        "molecule could form before the cancel"
                    )
                for atom in chem.atoms:
                    if atom.arrived is not None and atom.outcome != "cancelled":
                        problems.append(
                            f"the call of atom {atom.label} ended as {atom.outcome!r}; a "
                            "cancelled atom's CancelledError must propagate"
                        )
            problems.extend(await follow_up(table, molecules, runs))
            raise

    def nothing_left_behind(runs: kata.Probes) -> str | None:
        problems = found.pop(id(runs))
        if problems:
            return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        return None

    await kata.sweep(
        scenario,
        what="5 philosophers with 1 or 2 meals each, then two H2O objects with atoms waiting",
        invariant=nothing_left_behind,
        record=probes,
    )
