"""Scoring: group weights, weights inside a group, skipped checks, gates."""

from __future__ import annotations

from grader._model import CheckOutcome, Gate, Group, Status
from grader._scoring import score_checks, total


def outcome(
    group: str, status: str = "passed", *, weight: float = 1.0, gate: Gate | None = None
) -> CheckOutcome:
    return CheckOutcome(
        nodeid=f"t::{group}-{status}",
        name="n",
        group=Group(group),
        status=Status(status),
        weight=weight,
        gate=gate,
    )


def test_groups_share_40_30_30() -> None:
    results = score_checks(30, [outcome("behaviour"), outcome("timing"), outcome("cancellation")])
    assert [r.max_points for r in results] == [12.0, 9.0, 9.0]
    assert total(results) == (30.0, 30.0)


def test_weights_inside_a_group_and_exact_full_marks() -> None:
    checks = [outcome("behaviour", weight=2), outcome("behaviour")] + [outcome("timing")] * 3
    checks += [outcome("cancellation")] * 7
    results = score_checks(20, checks)
    assert results[0].max_points == 2 * results[1].max_points
    assert total(results) == (20.0, 20.0)


def test_failed_checks_earn_nothing() -> None:
    results = score_checks(
        20, [outcome("behaviour", "failed"), outcome("timing"), outcome("cancellation")]
    )
    assert total(results) == (12.0, 20.0)


def test_skipped_check_passes_its_points_to_its_group() -> None:
    results = score_checks(
        20,
        [
            outcome("timing"),
            outcome("timing", "skipped"),
            outcome("behaviour"),
            outcome("cancellation"),
        ],
    )
    assert results[0].max_points == 6.0 and results[1].max_points == 0.0
    assert total(results) == (20.0, 20.0)


def test_a_missing_group_passes_its_share_on() -> None:
    results = score_checks(40, [outcome("behaviour"), outcome("cancellation")])
    assert total(results) == (40.0, 40.0)


def test_gate_zeroes_timing_and_cancellation() -> None:
    checks = [
        outcome("behaviour"),
        outcome("timing"),
        outcome("cancellation", "failed", gate=Gate.LEAK),
    ]
    results = score_checks(30, checks)
    assert [r.points for r in results] == [12.0, 0.0, 0.0]
    blocking = [
        outcome("behaviour", "failed", gate=Gate.BLOCKING),
        outcome("timing"),
        outcome("cancellation"),
    ]
    assert total(score_checks(30, blocking)) == (0.0, 30.0)
