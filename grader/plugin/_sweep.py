"""The cancellation sweep: cancel a scenario at every instant it is suspended.

:func:`sweep` runs the scenario once to learn every loop instant at which it
waits (every time the virtual clock jumps while it runs, plus its start), then
re-runs it from scratch once per instant, and once halfway between each
instant and the next (up to ``limit`` runs), cancelling the caller there.
After each cancel it checks what every correct solution must guarantee: the
cancel reached the caller (or, where the spec says the operation completes
regardless, that it completed and then raised), every probe that started ran
its ``finally``, no task is left pending (unless the exercise says tasks
rightly keep running), ``cancelling()`` is back to 0, and the exercise's own
invariants hold. The first failing cancel point is reported with the probes'
timeline of that run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ._gates import settle
from ._probes import ProbeRecord, Probes
from ._state import session
from .errors import KataFailure

__all__ = ["sweep"]


def _mark(instrument: str) -> None:
    state = session().check
    if state is not None and instrument not in state.instruments:
        state.instruments.append(instrument)


async def sweep(
    scenario: Callable[[Probes], Awaitable[Any]],
    *,
    what: str,
    invariant: Callable[[Probes], str | None] | None = None,
    completes: bool = False,
    tasks_may_remain: bool = False,
    limit: int = 100,
    record: Probes | None = None,
) -> int:
    """Cancel ``scenario`` at each instant it waits; returns how many instants were tried.

    ``scenario(probes)`` starts the operation under test with fresh probes.
    ``invariant(probes)`` returns a problem (in the learner's words) or None.
    ``completes``: the spec says the operation finishes despite a cancel and
    then raises ``CancelledError`` (exercise 10's committed transfer): finishing
    is then allowed, raising is still required. ``record`` receives the
    probes of a failing run, so the report draws its timeline.
    """
    loop: Any = asyncio.get_running_loop()
    me = asyncio.current_task()
    _mark("sweep")
    stats = loop.stats
    mark = len(stats.instants)
    start = loop.time()
    learning = Probes()
    await scenario(learning)
    end = loop.time()
    del learning
    instants = sorted({0.0, *(t - start for t in stats.instants[mark:] if t < end)})
    # A cancel at an instant lands beside whatever else happens then (a timer
    # firing, a hand-off): the edge cases. A cancel halfway to the next instant
    # finds the submission plainly waiting, in the middle of a load, a sleep or
    # a job: the common case, and the one an orphaned task or a leaked slot
    # shows in. Both are tried, in time order.
    ends = [*instants[1:], end - start]
    offsets = sorted(
        {*instants, *((a + b) / 2 for a, b in zip(instants, ends, strict=True) if b > a)}
    )
    tried = 0
    for offset in offsets[:limit]:
        probes = Probes()
        task = asyncio.ensure_future(scenario(probes))
        t0 = loop.time()
        if offset > 0:
            await asyncio.sleep(offset)
        else:
            await asyncio.sleep(0)
        if task.done():
            continue
        tried += 1
        task.cancel()
        outcome = "returned"
        try:
            await task
        except asyncio.CancelledError:
            outcome = "cancelled"
        except BaseException as exc:  # groups, SystemExit...: all the submission's answer
            outcome = f"raised {type(exc).__name__}: {exc}"
        await settle(loop, None)
        problems = []
        if outcome != "cancelled":
            if outcome == "returned" and completes:
                problems.append("it finished, but then must still raise CancelledError")
            else:
                problems.append(
                    f"the cancellation did not reach the caller ({what} {outcome}): "
                    "a CancelledError must propagate, not be swallowed"
                )
        unfinished = [r.name for r in probes.unfinished()]
        if unfinished:
            problems.append(
                f"jobs {unfinished} never ran their cleanup (finally): cancel them and await "
                "their cancellation"
            )
        pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if pending and not tasks_may_remain:
            problems.append(
                f"{len(pending)} task(s) were still running after the cancel: "
                + ", ".join(repr(t.get_name()) for t in pending[:4])
            )
        if me is not None and me.cancelling():
            problems.append(
                "the caller's cancelling() stayed above 0 (a cancel absorbed without uncancel)"
            )
        if invariant is not None and (problem := invariant(probes)):
            problems.append(problem)
        if problems and record is not None:
            # The picture of this run as it was at the check, before tidying up,
            # on the run's own time axis.

            def rel(v: float | None, base: float = t0) -> float | None:
                return None if v is None else v - base

            record.records[:] = [
                ProbeRecord(
                    r.name,
                    started=rel(r.started),
                    ended=rel(r.ended),
                    cancelled=rel(r.cancelled),
                    finally_at=rel(r.finally_at),
                )
                for r in probes.records
            ]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if problems:
            raise KataFailure(
                f"cancellation sweep: {what} cancelled {offset:g} s after it started "
                f"(cancel point {tried} of {min(len(offsets), limit)}): " + "; ".join(problems)
            )
    return tried
