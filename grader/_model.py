"""Data that crosses module boundaries: frozen dataclasses and enums only.

The child process reports :class:`CheckOutcome` records; the parent turns them
into scored :class:`CheckResult` records (``_scoring``) and an
:class:`ExerciseResult`, which the reports render.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "GROUPS",
    "CheckOutcome",
    "CheckResult",
    "CourseResult",
    "ExerciseResult",
    "Gate",
    "Group",
    "ProbeSpan",
    "Status",
]


class Status(enum.StrEnum):
    """Outcome of a check or an exercise."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


class Group(enum.StrEnum):
    """Check groups and their share of an exercise's points (CURRICULUM.md section 0)."""

    BEHAVIOUR = "behaviour"
    TIMING = "timing"
    CANCELLATION = "cancellation"


# Group weights, in percent of an exercise's points.
GROUPS: dict[Group, int] = {Group.BEHAVIOUR: 40, Group.TIMING: 30, Group.CANCELLATION: 30}


class Gate(enum.StrEnum):
    """Gates whose failure zeroes the timing and cancellation groups."""

    BLOCKING = "blocking"
    LEAK = "leak"
    TAMPER = "tamper"  # zeroes the whole exercise


@dataclass(frozen=True)
class ProbeSpan:
    """One probe run on the loop-time axis (``None``: never happened)."""

    name: str
    start: float | None
    end: float | None
    cancel: float | None
    finally_at: float | None


@dataclass(frozen=True)
class CheckOutcome:
    """What the child reports for one check, before scoring.

    ``weight`` is the check's relative weight inside its group (default 1).
    ``gate`` names a tripped gate (blocking or leak) when that caused the failure.
    ``location`` is ``file:line`` in the student's file when a check could point at one.
    """

    nodeid: str
    name: str
    group: Group
    status: Status
    message: str = ""
    weight: float = 1.0
    gate: Gate | None = None
    location: str | None = None
    hint: str | None = None
    sim_s: float = 0.0
    wall_s: float = 0.0
    timeline: tuple[ProbeSpan, ...] = ()
    expected_end: float | None = None
    instruments: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """A scored check, as reported to the user."""

    outcome: CheckOutcome
    points: float
    max_points: float

    @property
    def name(self) -> str:
        return self.outcome.name

    @property
    def status(self) -> Status:
        return self.outcome.status


@dataclass(frozen=True)
class ExerciseResult:
    """The verdict for one (exercise, submission) pair.

    ``status`` is ``passed`` at full marks, ``failed`` when a check failed,
    ``skipped`` when the exercise cannot run on this Python (score and max 0),
    ``error`` when grading itself could not produce check results (``reason`` says why).
    """

    number: int
    slug: str
    title: str
    status: Status
    score: float
    max_score: float
    python: str
    wall_s: float
    submission: str
    checks: tuple[CheckResult, ...] = ()
    reason: str | None = None
    output_tail: str = ""
    notes: tuple[str, ...] = field(default=())
    sandbox: str = ""  # "namespaces" or "process": what the child really ran in

    @property
    def passed(self) -> bool:
        return self.status is Status.SKIPPED or (
            self.status is Status.PASSED and self.score == self.max_score
        )


@dataclass(frozen=True)
class CourseResult:
    """Several exercises graded together (``grade all``)."""

    exercises: tuple[ExerciseResult, ...]
    python: str
    wall_s: float

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 2)

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.exercises)
