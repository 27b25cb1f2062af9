"""Render results: JSON (one document, ``schema_version``) and the terminal report.

The terminal report uses rich (colour only on a terminal); it is imported
lazily so ``--format json`` stays lean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, TextIO

from ._catalog import Exercise
from ._model import CheckResult, CourseResult, ExerciseResult, Status
from ._progress import Progress

__all__ = ["SCHEMA_VERSION", "course_json", "exercise_json", "print_course", "print_exercise"]

SCHEMA_VERSION = 1


def _check_json(c: CheckResult) -> dict[str, Any]:
    return {
        "name": c.name,
        "group": c.outcome.group.value,
        "points": round(c.points, 2),
        "max_points": round(c.max_points, 2),
        "status": c.status.value,
        "message": c.outcome.message,
        "gate": c.outcome.gate.value if c.outcome.gate else None,
        "location": c.outcome.location,
        "hint": c.outcome.hint,
        "nodeid": c.outcome.nodeid,
        "instruments": list(c.outcome.instruments),
        "loop_s": round(c.outcome.sim_s, 6),
        "wall_s": round(c.outcome.wall_s, 6),
    }


def _exercise_dict(r: ExerciseResult) -> dict[str, Any]:
    return {
        "exercise": r.number,
        "slug": r.slug,
        "title": r.title,
        "status": r.status.value,
        "score": r.score,
        "max_score": r.max_score,
        "passed": r.passed,
        "python": r.python,
        "wall_s": round(r.wall_s, 3),
        "reason": r.reason,
        "submission": r.submission,
        "notes": list(r.notes),
        "sandbox": r.sandbox,
        "checks": [_check_json(c) for c in r.checks],
    }


def exercise_json(r: ExerciseResult) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION, **_exercise_dict(r)}, indent=2)


def course_json(c: CourseResult) -> str:
    return json.dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "score": c.score,
            "max_score": c.max_score,
            "passed": c.passed,
            "python": c.python,
            "wall_s": round(c.wall_s, 3),
            "exercises": [_exercise_dict(e) for e in c.exercises],
        },
        indent=2,
    )


def _console(stream: TextIO | None = None) -> Any:
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True)


_MARK = {
    Status.PASSED: "[green]✓[/]",
    Status.FAILED: "[red]✗[/]",
    Status.SKIPPED: "[yellow]-[/]",
    Status.ERROR: "[red]![/]",
}


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def save_timeline_svg(r: ExerciseResult, path: str) -> bool:
    """Write the timelines of the failed checks as an SVG; False if there were none."""
    from rich.console import Console
    from rich.text import Text

    from ._timeline import render

    con = Console(record=True, width=100, file=open(os.devnull, "w"))  # noqa: SIM115
    drawn = False
    for c in r.checks:
        if c.status is Status.PASSED or not c.outcome.timeline:
            continue
        con.print(Text(f"{c.name}", style="bold"))
        for row in render(c.outcome.timeline, c.outcome.expected_end):
            con.print(row)
        con.print()
        drawn = True
    if drawn:
        con.save_svg(path, title=f"{r.number:02d} {r.title}")
    con.file.close()
    return drawn


def print_exercise(
    r: ExerciseResult, *, verbose: bool = False, stream: TextIO | None = None, hints: bool = True
) -> None:
    from rich.markup import escape

    con = _console(stream)
    head = f"[bold]{r.number:02d} {escape(r.title)}[/]  ({escape(r.submission)})"
    con.print(head)
    if r.status is Status.SKIPPED:
        con.print(f"  [yellow]skipped:[/] {escape(r.reason or '')}")
        return
    if r.reason:
        con.print(f"  [red]{escape(r.reason)}[/]")
    for group in ("behaviour", "timing", "cancellation"):
        rows = [c for c in r.checks if c.outcome.group.value == group]
        if not rows:
            continue
        con.print(f"  [dim]{group}[/]")
        for c in rows:
            pts = f"{_fmt(c.points)}/{_fmt(c.max_points)}"
            con.print(f"    {_MARK[c.status]} {escape(c.name)} [dim]{pts}[/]")
            if c.status in (Status.FAILED, Status.ERROR) and c.outcome.message:
                for line in c.outcome.message.splitlines():
                    con.print(f"        {escape(line)}")
                if hints and c.outcome.hint and "not implemented yet" not in c.outcome.message:
                    con.print(f"        [cyan]{escape(c.outcome.hint)}[/]")
                if c.outcome.group.value != "behaviour" and c.outcome.timeline:
                    from rich.text import Text

                    from ._timeline import render

                    for row in render(c.outcome.timeline, c.outcome.expected_end):
                        con.print(Text("        ") + row)
    for note in r.notes:
        con.print(f"  [yellow]note:[/] {escape(note)}")
    colour = "green" if r.passed else "red"
    con.print(
        f"  [bold {colour}]score {_fmt(r.score)}/{_fmt(r.max_score)}[/]  [dim]{r.wall_s:.2f} s[/]"
    )
    if (verbose or r.status is Status.ERROR) and r.output_tail.strip():
        con.print("  [dim]output of the grading process (tail):[/]")
        for line in r.output_tail.splitlines()[-40:]:
            con.print(f"  [dim]| {escape(line)}[/]")


def print_course(c: CourseResult, *, verbose: bool = False, stream: TextIO | None = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = _console(stream)
    failing = [e for e in c.exercises if not e.passed]
    for e in failing:
        print_exercise(e, verbose=verbose, stream=stream)
        con.print()
    table = Table(title=f"Course total {_fmt(c.score)}/{_fmt(c.max_score)} (Python {c.python})")
    for col in ("#", "exercise", "score", "status", "wall"):
        table.add_column(col)
    for e in c.exercises:
        status = e.status.value if e.status is not Status.SKIPPED else f"skipped: {e.reason}"
        table.add_row(
            f"{e.number:02d}",
            escape(e.title),
            f"{_fmt(e.score)}/{_fmt(e.max_score)}",
            escape(status),
            f"{e.wall_s:.2f} s",
        )
    con.print(table)


def print_list(
    exercises: Sequence[Exercise], progress: Progress, stream: TextIO | None = None
) -> None:
    from rich.markup import escape
    from rich.table import Table

    con = _console(stream)
    best_total = max_total = 0.0
    table = Table(title="asyncio katas")
    for col in ("#", "title", "difficulty", "points", "status", "best"):
        table.add_column(col)
    for ex in exercises:
        entry = progress.get(ex.code)
        if not ex.runs_here():
            need = ".".join(map(str, ex.python_requires))
            status = f"[dim]needs Python {need}+[/]"
        elif entry.done:
            status = "[green]done[/]"
        elif entry.attempts:
            status = "[yellow]started[/]"
        else:
            status = "[dim]not started[/]"
        if ex.runs_here():
            best_total += entry.best
            max_total += ex.points
        table.add_row(
            ex.code,
            escape(ex.title),
            "★" * ex.difficulty,
            str(ex.points),
            status,
            f"{_fmt(entry.best)}/{ex.points}" if entry.attempts else "-",
        )
    table.caption = f"course total {_fmt(best_total)}/{_fmt(max_total)}"
    con.print(table)
