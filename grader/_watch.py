"""``grade watch`` and ``grade interview``: re-grade on every save, in place.

The loop grades the exercise being edited whenever a ``solution.py`` under
``exercises/`` changes (watchfiles, debounced), shows the report on a fresh
screen, records progress, and at full marks moves on to the next unfinished
exercise. An interview is the same loop with a deadline: hints hidden, time
left shown on every run, and a Markdown transcript of every attempt written
when it ends (time up or Ctrl-C). One warm worker serves every grading.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ._catalog import Catalog, Exercise
from ._model import ExerciseResult, Status
from ._progress import Progress

__all__ = ["Interview", "watch_loop", "write_transcript"]


@dataclass
class Interview:
    """A timed session; ``attempts`` feed the transcript."""

    minutes: float
    started: float = field(default_factory=time.time)
    attempts: list[tuple[float, ExerciseResult]] = field(default_factory=list)

    def left_s(self) -> float:
        return self.started + self.minutes * 60 - time.time()

    def transcript(self) -> str:
        lines = [
            "# Interview transcript",
            "",
            f"- started: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.started))}",
            f"- length: {self.minutes:g} minutes",
            f"- attempts: {len(self.attempts)}",
            "",
            "| time | exercise | score | failing checks |",
            "|---|---|---|---|",
        ]
        for at, r in self.attempts:
            minute = (at - self.started) / 60
            failing = "; ".join(
                c.name for c in r.checks if c.status not in (Status.PASSED, Status.SKIPPED)
            )
            lines.append(
                f"| {minute:5.1f} min | {r.number:02d} {r.title} | {r.score:g}/{r.max_score:g} "
                f"| {failing or '-'} |"
            )
        best: dict[int, float] = {}
        for _, r in self.attempts:
            best[r.number] = max(best.get(r.number, 0.0), r.score)
        summary = ", ".join(f"{n:02d}: {s:g}" for n, s in best.items()) or "none"
        lines += ["", f"Best scores: {summary}"]
        return "\n".join(lines) + "\n"


def _changed_exercise(catalog: Catalog, paths: set[str]) -> Exercise | None:
    for ex in catalog.exercises:
        if any(Path(p).resolve() == ex.stub.resolve() for p in paths):
            return ex
    return None


def watch_loop(
    catalog: Catalog,
    start: Exercise,
    *,
    grade: Callable[[Exercise], ExerciseResult],
    show: Callable[[ExerciseResult, str], None],
    progress: Progress,
    interview: Interview | None = None,
    watch_changes: Callable[[Path], Iterable[set[str]]] | None = None,
) -> None:
    """Grade ``start`` now and again on every save, until Ctrl-C (or time is up)."""
    from ._learn import next_exercise

    current = start

    def run_once() -> None:
        nonlocal current
        result = grade(current)
        entry = progress.record(result)
        progress.save()
        banner = f"watching {current.stub.relative_to(catalog.course)}; Ctrl-C to stop"
        if result.passed and entry.done:
            following = next_exercise(catalog, progress)
            if following is not None and following is not current:
                banner = (
                    f"full marks on {current.code}! next: {following.code} {following.title} "
                    f"({following.readme.relative_to(catalog.course)}); save it to grade"
                )
                current = following
            elif following is None:
                banner = "full marks on every exercise: the course is done!"
        if interview is not None:
            interview.attempts.append((time.time(), result))
            left = max(0.0, interview.left_s())
            banner = f"interview: {int(left // 60)}:{int(left % 60):02d} left; " + banner
        show(result, banner)

    changes = iter((watch_changes or _watchfiles)(catalog.course / "exercises"))
    # The first batch says the watcher is running: only then grade, so a
    # save made right after the first report is never missed.
    next(changes, None)
    run_once()
    for batch in changes:
        if interview is not None and interview.left_s() <= 0:
            break
        edited = _changed_exercise(catalog, batch)
        if edited is None:
            continue
        current = edited
        run_once()
        if interview is not None and interview.left_s() <= 0:
            break


def _watchfiles(folder: Path) -> Iterator[set[str]]:
    """Batches of changed paths under ``folder`` (watchfiles; Ctrl-C raises KeyboardInterrupt).

    A batch (empty when nothing changed) comes at least every 0.2 s, the first
    once the watcher runs, so the loop knows when it may grade and an
    interview notices its deadline without a save.
    """
    from watchfiles import watch

    for changes in watch(
        folder, debounce=300, raise_interrupt=True, rust_timeout=200, yield_on_timeout=True
    ):
        yield {path for _, path in changes}


def write_transcript(course: Path, interview: Interview) -> Path:
    folder = course / ".grade"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"interview-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(interview.transcript(), encoding="utf-8")
    return path
