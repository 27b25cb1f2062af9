"""The ``grade`` command: a thin pipeline of cli -> catalog -> sandbox -> scoring -> report.

Exit status: 0 only at full marks; 1 when a check failed (every problem of the
submission itself, with the full report); 2 for a usage or configuration
error (one line on stderr, no traceback); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ._catalog import Catalog, ConfigError, Exercise, find_course, load_catalog
from ._model import CourseResult, ExerciseResult

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_DEFAULTS: dict[str, object] = {"course": None, "format": "text", "verbose": False}


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see `grade --help`)")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    # SUPPRESS: an option given before the command must not be reset by the
    # subcommand's copy of it; _DEFAULTS fills in what was not given anywhere.
    common.add_argument("--course", type=Path, default=argparse.SUPPRESS, help="the course folder")
    common.add_argument(
        "--format",
        choices=("text", "json"),
        default=argparse.SUPPRESS,
        help="output format (default text)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="show output"
    )
    p = _Parser(prog="grade", description="Grade asyncio katas.", parents=[common])
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("list", parents=[common], help="list the course's exercises")
    ex = sub.add_parser("exercise", parents=[common], help="grade one exercise")
    ex.add_argument("number", help="5, 05 or the slug")
    which = ex.add_mutually_exclusive_group()
    which.add_argument("--file", type=Path, help="grade this file instead of your solution.py")
    which.add_argument("--reference", action="store_true", help="grade the bundled reference")
    ex.add_argument("--check", dest="only", help="run only checks whose name matches (pytest -k)")
    every = sub.add_parser("all", parents=[common], help="grade every exercise")
    every.add_argument("--reference", action="store_true", help="grade the bundled references")
    every.add_argument(
        "--jobs", type=int, default=0, help="exercises graded at once (default: cores)"
    )
    return p


def _catalog(course: Path | None) -> Catalog:
    root = course.resolve() if course is not None else find_course(Path.cwd())
    if course is not None and not (root / "exercises").is_dir():
        raise ConfigError(f"--course {course}: no exercises/ folder there")
    return load_catalog(root)


def _display(path: Path, course: Path) -> str:
    try:
        return str(path.resolve().relative_to(course))
    except ValueError:
        return str(path)


def _target(ex: Exercise, args: argparse.Namespace) -> Path:
    if getattr(args, "reference", False):
        if not ex.reference.is_file():
            raise ConfigError(f"{ex.reference}: the reference solution is missing from this course")
        return ex.reference
    if getattr(args, "file", None) is not None:
        path: Path = args.file
        if not path.is_file():
            raise _UsageError(f"--file {path}: no such file")
        return path
    return ex.stub


def _check_suite(ex: Exercise) -> None:
    if not ex.suite.is_file():
        raise ConfigError(
            f"{ex.suite}: the hidden suite for exercise {ex.code} is missing; "
            "grading needs the course's tests/exercises/ folder"
        )


def _cmd_exercise(args: argparse.Namespace) -> int:
    from ._grading import grade_exercise

    cat = _catalog(args.course)
    try:
        ex = cat.find(args.number)
    except KeyError as exc:
        raise _UsageError(str(exc.args[0])) from None
    target = _target(ex, args)
    if ex.runs_here():
        _check_suite(ex)
    result = grade_exercise(ex, target, display_name=_display(target, cat.course), only=args.only)
    _emit_exercise(result, args)
    return EXIT_OK if result.passed else EXIT_FAILED


def _emit_exercise(result: ExerciseResult, args: argparse.Namespace) -> None:
    from . import _report

    if args.format == "json":
        sys.stdout.write(_report.exercise_json(result) + "\n")
    else:
        _report.print_exercise(result, verbose=args.verbose)


def _cmd_all(args: argparse.Namespace) -> int:
    from . import _report
    from ._grading import grade_many, python_version

    cat = _catalog(args.course)
    cat.check_whole()
    jobs = []
    for ex in cat.exercises:
        target = _target(ex, args)
        if ex.runs_here():
            _check_suite(ex)
        jobs.append((ex, target, _display(target, cat.course)))
    workers = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    started = time.perf_counter()
    if args.format == "json":
        results = grade_many(jobs, workers=workers)
    else:
        results = _with_progress(jobs, workers)
    course = CourseResult(tuple(results), python_version(), time.perf_counter() - started)
    if args.format == "json":
        sys.stdout.write(_report.course_json(course) + "\n")
    else:
        _report.print_course(course, verbose=args.verbose)
    return EXIT_OK if course.passed else EXIT_FAILED


def _with_progress(jobs: list[tuple[Exercise, Path, str]], workers: int) -> list[ExerciseResult]:
    from rich.progress import Progress

    from ._grading import grade_many

    with Progress(transient=True) as progress:
        task = progress.add_task("grading", total=len(jobs))
        return grade_many(jobs, workers=workers, on_done=lambda _r: progress.advance(task))


def _cmd_list(args: argparse.Namespace) -> int:
    from . import _report

    cat = _catalog(args.course)
    if args.format == "json":
        doc = {
            "schema_version": _report.SCHEMA_VERSION,
            "exercises": [
                {
                    "exercise": ex.number,
                    "slug": ex.slug,
                    "title": ex.title,
                    "difficulty": ex.difficulty,
                    "points": ex.points,
                    "clock": ex.clock,
                    "python_requires": ".".join(map(str, ex.python_requires)),
                    "runs_here": ex.runs_here(),
                }
                for ex in cat.exercises
            ],
            "broken": [{"folder": f, "error": e} for f, e in cat.broken],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _report.print_list(cat.exercises)
    for _, error in cat.broken:
        sys.stderr.write(f"grade: {error}\n")
    return EXIT_USAGE if cat.broken else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``grade`` command; returns the exit status (also used by the console script)."""
    if sys.platform == "win32":
        sys.stderr.write("grade: Windows is not supported for grading; use WSL\n")
        return EXIT_USAGE
    try:
        args = _parser().parse_args(argv)
        for name, value in _DEFAULTS.items():
            if not hasattr(args, name):
                setattr(args, name, value)
        command = {"list": _cmd_list, "exercise": _cmd_exercise, "all": _cmd_all}.get(
            args.command or ""
        )
        if command is None:
            raise _UsageError("missing command: try `grade list` or `grade exercise 05`")
        return command(args)
    except (_UsageError, ConfigError) as exc:
        sys.stderr.write(f"grade: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("grade: interrupted\n")
        return EXIT_INTERRUPTED


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
