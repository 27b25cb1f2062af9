"""Pure functions from check outcomes to points (CURRICULUM.md section 0).

* Groups share an exercise's points 40/30/30 (behaviour/timing/cancellation);
  a group with no check that can run here passes its share to the others.
* Inside a group, checks share by weight; skipped checks pass their share on.
* A tripped blocking or leak gate zeroes the timing and cancellation groups.
* Tampering with the grader's clock, probes or test runner zeroes everything.

Arithmetic is exact (``Fraction``) so a full score equals the maximum exactly;
points are rounded to 2 decimals only when they leave this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ._model import GROUPS, CheckOutcome, CheckResult, Gate, Group, Status

__all__ = ["score_checks", "total"]


def score_checks(points: int, outcomes: Sequence[CheckOutcome]) -> tuple[CheckResult, ...]:
    """Score ``outcomes`` for an exercise worth ``points``.

    Returns one :class:`CheckResult` per outcome, in the same order.
    """
    active = [o for o in outcomes if o.status is not Status.SKIPPED]
    groups_present = {o.group for o in active}
    weight_total = sum(GROUPS[g] for g in groups_present) or 1
    gated = any(o.gate in (Gate.BLOCKING, Gate.LEAK) for o in outcomes)
    tampered = any(o.gate is Gate.TAMPER for o in outcomes)
    share: dict[Group, Fraction] = {
        g: Fraction(points) * GROUPS[g] / weight_total for g in groups_present
    }
    weights: dict[Group, Fraction] = {}
    for o in active:
        weights[o.group] = weights.get(o.group, Fraction(0)) + Fraction(o.weight)
    results = []
    for o in outcomes:
        if o.status is Status.SKIPPED:
            results.append(CheckResult(o, 0.0, 0.0))
            continue
        max_pts = share[o.group] * Fraction(o.weight) / weights[o.group]
        earned = max_pts if o.status is Status.PASSED else Fraction(0)
        if gated and o.group in (Group.TIMING, Group.CANCELLATION):
            earned = Fraction(0)
        if tampered:
            earned = Fraction(0)
        results.append(CheckResult(o, _exact(earned), _exact(max_pts)))
    return tuple(results)


def _exact(x: Fraction) -> float:
    return float(x)


def total(results: Sequence[CheckResult]) -> tuple[float, float]:
    """(score, max_score), each rounded to 2 decimals after exact summation."""
    score = sum((Fraction(r.points) for r in results), Fraction(0))
    max_score = sum((Fraction(r.max_points) for r in results), Fraction(0))
    return round(float(score), 2), round(float(max_score), 2)
