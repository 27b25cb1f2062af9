"""Grading a class: ``grade batch``, ``grade merge`` and the suite manifest behind ``grade verify``.

``batch`` grades many submissions (folders or git repositories, each holding an
``exercises/`` tree) against this course's hidden suites, taking only each
student's ``exercises/NN_slug/solution.py``. Gradings run in parallel through
one warm worker. The gradebook (``PREFIX.json`` and ``PREFIX.csv``: one row per
submission, one column per exercise, the total, the course version and the
Python) is rewritten atomically after every finished submission, so a killed
run resumes with ``--resume`` and loses nothing. A crashing or hanging
submission only costs its own row's points. ``--shard I/N`` takes every N-th
submission so a class splits across a CI matrix; ``merge`` joins the books.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from ._catalog import Catalog, Exercise
from ._grading import grade_exercise, python_version
from ._model import ExerciseResult
from ._schedule import Scheduler
from ._warm import WarmWorker, start_worker

__all__ = [
    "BatchError",
    "Row",
    "course_version",
    "manifest",
    "merge_books",
    "run_batch",
    "select_shard",
    "write_book",
]

MANIFEST = ".grade-manifest.json"


class BatchError(Exception):
    """A usage problem with batch, merge or verify (exit 2); the message says what to do."""


@dataclass(frozen=True)
class Row:
    """One submission's line of the gradebook."""

    submission: str
    scores: dict[str, float]
    total: float
    max_total: float
    notes: str = ""


def _hash_files(paths: Iterable[Path], root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(paths)
        if p.is_file()
    }


def manifest(course: Path) -> dict[str, str]:
    """sha256 of every hidden suite (and their recorded scenarios) and grader source file."""
    files = list((course / "tests" / "exercises").glob("test_*.py"))
    # The recorded property scenarios decide which scenarios a replay runs.
    files += [p for p in [course / "tests" / "exercises" / "scenarios.json"] if p.is_file()]
    files += [p for p in (course / "grader").rglob("*.py") if "__pycache__" not in p.parts]
    return _hash_files(files, course)


def course_version(course: Path) -> str:
    """The grader version plus a digest of the suites and grader: equal means same grading."""
    digest = hashlib.sha256(json.dumps(manifest(course), sort_keys=True).encode()).hexdigest()
    return f"{__version__}+{digest[:12]}"


def select_shard(paths: Sequence[str], shard: str | None) -> list[str]:
    """The submissions of shard ``I/N`` (1-based), in a stable sorted order."""
    ordered = sorted(paths)
    if shard is None:
        return ordered
    try:
        i, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise BatchError(f"--shard {shard!r}: write it as I/N, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise BatchError(f"--shard {shard}: I must be between 1 and N")
    return [p for k, p in enumerate(ordered) if k % n == i - 1]


@contextlib.contextmanager
def _checkout(path: str) -> Any:
    """A folder holding the submission: the path itself, or a shallow clone of a git URL."""
    local = Path(path)
    if local.is_dir():
        yield local
        return
    with tempfile.TemporaryDirectory(prefix="grade-batch-") as tmp:
        dest = Path(tmp) / "repo"
        proc = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", path, str(dest)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise FileNotFoundError(f"cannot clone {path}: {proc.stderr.strip()}")
        yield dest


# Submissions graded at once: enough that both pools stay fed and a long
# grading (27's own loop, a real-clock exercise) of a later submission starts
# early instead of running alone at the end (the pools run the likely longest
# first across all of them); few enough that a killed run loses little and few
# clones sit on disk. Three (the old value) left a core idle for a fifth of a
# 40-submission batch.
_IN_FLIGHT = 16


def _same_grading(exercise: Exercise, file: Path) -> tuple[str, str] | None:
    """What makes two gradings of one batch the same: the exercise and the file's bytes.

    Verdicts are deterministic (the stress session proves it), so in a class
    the untouched stubs, and any copied file, are graded once. A file that
    cannot be read is graded on its own, which reports why.
    """
    try:
        return exercise.code, hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError:
        return None


def _grade_one(
    path: str, catalog: Catalog, warm: WarmWorker | None, scheduler: Scheduler, group: int
) -> tuple[Row, list[ExerciseResult]]:
    runnable = [ex for ex in catalog.exercises if ex.runs_here()]
    try:
        with _checkout(path) as root:
            files = {ex.code: root / "exercises" / ex.slug / "solution.py" for ex in runnable}

            def one(ex: Exercise) -> ExerciseResult:
                shown = f"{Path(path).name}/exercises/{ex.slug}/solution.py"
                return grade_exercise(ex, files[ex.code], display_name=shown, warm=warm)

            results = scheduler.run_all(
                [(ex, functools.partial(one, ex)) for ex in runnable],
                keys=[_same_grading(ex, files[ex.code]) for ex in runnable],
                group=group,
            )
    except FileNotFoundError as exc:
        max_total = float(sum(ex.points for ex in runnable))
        return Row(path, {ex.code: 0.0 for ex in runnable}, 0.0, max_total, str(exc)), []
    scores = {r.slug[:2]: r.score for r in results}
    return (
        Row(
            path,
            scores,
            round(sum(scores.values()), 2),
            round(sum(r.max_score for r in results), 2),
        ),
        results,
    )


def _load_book(prefix: Path) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads(prefix.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_book(
    prefix: Path, rows: Sequence[Row], codes: Sequence[str], version: str, py: str
) -> None:
    """Write ``PREFIX.json`` and ``PREFIX.csv`` (atomically) for ``rows``."""
    doc = {
        "schema_version": 1,
        "course_version": version,
        "python": py,
        "exercises": list(codes),
        "rows": [
            {
                "submission": r.submission,
                "scores": r.scores,
                "total": r.total,
                "max_total": r.max_total,
                "notes": r.notes,
            }
            for r in rows
        ],
    }
    _atomic_write(prefix.with_suffix(".json"), json.dumps(doc, indent=2) + "\n")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["submission", *codes, "total", "max_total", "course_version", "python", "notes"]
    )
    for r in rows:
        writer.writerow(
            [
                r.submission,
                *(r.scores.get(c, "") for c in codes),
                r.total,
                r.max_total,
                version,
                py,
                r.notes,
            ]
        )
    _atomic_write(prefix.with_suffix(".csv"), out.getvalue())


def _rows_of(doc: dict[str, Any]) -> list[Row]:
    return [
        Row(
            str(r["submission"]),
            {str(k): float(v) for k, v in dict(r["scores"]).items()},
            float(r["total"]),
            float(r["max_total"]),
            str(r.get("notes", "")),
        )
        for r in doc.get("rows", [])
    ]


def run_batch(
    paths: Sequence[str],
    catalog: Catalog,
    prefix: Path,
    *,
    jobs: int,
    resume: bool,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Grade every submission of ``paths`` into the gradebook at ``prefix``."""
    version = course_version(catalog.course)
    py = python_version()
    codes = [ex.code for ex in catalog.exercises if ex.runs_here()]
    rows: list[Row] = []
    if resume:
        old = _load_book(prefix)
        if old is not None:
            if old.get("course_version") != version or old.get("python") != py:
                raise BatchError(
                    f"{prefix}.json was graded with course {old.get('course_version')} on "
                    f"Python {old.get('python')}; this is {version} on {py}: start a new book"
                )
            rows = _rows_of(old)
    done = {r.submission for r in rows}
    todo = [p for p in paths if p not in done]
    write_book(prefix, rows, codes, version, py)
    with contextlib.ExitStack() as stack:
        warm = start_worker(stack, many=True)
        scheduler = stack.enter_context(Scheduler(jobs))
        # Up to _IN_FLIGHT submissions are graded at once, their exercises
        # sharing the scheduler's ranked slots, so one submission's slow
        # exercises do not leave the cores idle. Rows are still saved in the
        # order given, each as soon as it and those before it are done.
        ahead = stack.enter_context(
            ThreadPoolExecutor(_IN_FLIGHT, thread_name_prefix="grade-submission")
        )

        def interrupted(et: type[BaseException] | None, *_: object) -> None:
            # Ctrl-C (or any error) here: grade nothing more. The gradings
            # already running finish; without this, every grading queued for
            # the submissions in flight would run first.
            if et is not None:
                scheduler.cancel_queued()
                ahead.shutdown(wait=False, cancel_futures=True)

        stack.push(interrupted)
        for row, _ in ahead.map(
            lambda p, k: _grade_one(p, catalog, warm, scheduler, k), todo, range(len(todo))
        ):
            rows.append(row)
            write_book(prefix, rows, codes, version, py)
            if on_row is not None:
                on_row(row)
    return rows


def merge_books(books: Sequence[Path], prefix: Path) -> list[Row]:
    """Join shard gradebooks; they must come from the same course version and Python."""
    docs = []
    for book in books:
        doc = _load_book(book.with_suffix("") if book.suffix == ".json" else book)
        if doc is None:
            raise BatchError(f"{book}: not a gradebook (expected PREFIX.json from grade batch)")
        docs.append(doc)
    keys = {(d.get("course_version"), d.get("python")) for d in docs}
    if len(keys) != 1:
        raise BatchError(
            "these gradebooks were graded with different course versions or Pythons: "
            + ", ".join(f"{v} on {p}" for v, p in sorted(keys, key=str))
        )
    version, py = keys.pop()
    codes: list[str] = list(docs[0].get("exercises", []))
    rows: dict[str, Row] = {}
    for doc in docs:
        for row in _rows_of(doc):
            rows[row.submission] = row
    merged = [rows[k] for k in sorted(rows)]
    write_book(prefix, merged, codes, str(version), str(py))
    return merged
