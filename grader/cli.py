"""The ``grade`` command: a thin pipeline of cli -> catalog -> sandbox -> scoring -> report.

Exit status: 0 only at full marks; 1 when a check failed (every problem of the
submission itself, with the full report); 2 for a usage or configuration
error (one line on stderr, no traceback); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# Only what every command needs is imported here: `grade exercise` starts its
# warm worker before the grading modules load, so the two overlap.
from ._catalog import Catalog, ConfigError, Exercise, find_course, load_catalog
from ._progress import Progress

if TYPE_CHECKING:
    from ._model import ExerciseResult
    from ._warm import WarmWorker
    from ._watch import Interview

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_DEFAULTS: dict[str, object] = {"course": None, "format": "text", "verbose": False, "output": None}


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
        choices=("text", "json", "junit", "gradescope", "github"),
        default=argparse.SUPPRESS,
        help="output format (default text)",
    )
    common.add_argument(
        "--output", metavar="FILE", default=argparse.SUPPRESS, help="write the report to FILE"
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
    ex.add_argument(
        "--check",
        dest="only",
        metavar="NAME",
        help="run only the checks whose title contains NAME (any case)",
    )
    ex.add_argument("--timeline", metavar="FILE.svg", help="save failed checks' timelines as SVG")
    every = sub.add_parser("all", parents=[common], help="grade every exercise")
    every.add_argument("--reference", action="store_true", help="grade the bundled references")
    every.add_argument(
        "--jobs", type=int, default=0, help="exercises graded at once (default: cores)"
    )
    hint = sub.add_parser("hint", parents=[common], help="show the next hint of an exercise")
    hint.add_argument("number")
    hint.add_argument("--all", action="store_true", help="show every hint")
    sub.add_parser("next", parents=[common], help="name the first unfinished exercise")
    sol = sub.add_parser("solution", parents=[common], help="show the reference (after full marks)")
    sol.add_argument("number")
    sol.add_argument("--force", action="store_true", help="show it before full marks")
    reset = sub.add_parser("reset", parents=[common], help="restore the stub (keeps a backup)")
    reset.add_argument("number")
    watch = sub.add_parser("watch", parents=[common], help="re-grade on every save")
    watch.add_argument("number", nargs="?", help="start here (default: the next unfinished)")
    interview = sub.add_parser("interview", parents=[common], help="a timed session, no hints")
    interview.add_argument("number", nargs="?", help="the exercise (default: the next unfinished)")
    interview.add_argument("--minutes", type=float, default=45.0, help="length (default 45)")
    batch = sub.add_parser(
        "batch", parents=[common], help="grade many submissions into a gradebook"
    )
    batch.add_argument("paths", nargs="+", help="folders or git repositories with exercises/")
    batch.add_argument("--jobs", type=int, default=0, help="gradings at once (default: cores)")
    batch.add_argument("--resume", action="store_true", help="keep the rows already in PREFIX.json")
    batch.add_argument("--shard", metavar="I/N", help="grade only every N-th submission, from I")
    merge = sub.add_parser("merge", parents=[common], help="join shard gradebooks")
    merge.add_argument("books", nargs="+", metavar="BOOK.json")
    verify = sub.add_parser("verify", parents=[common], help="check suites against the manifest")
    verify.add_argument("--manifest", help="the manifest to check against")
    verify.add_argument("--update", action="store_true", help="(teachers) rewrite the manifest")
    export = sub.add_parser("export", parents=[common], help="(teachers) write the student edition")
    export.add_argument("--student", metavar="DIR", required=True, help="the new folder")
    fetch = sub.add_parser("fetch-suites", parents=[common], help="bring in the teacher's suites")
    fetch.add_argument("source", metavar="REPO@REF", help="git repository (and ref) of the course")
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
    from ._export import MARKER

    if not ex.suite.is_file() and (ex.course / MARKER).is_file():
        raise ConfigError(
            "this is the student edition of the course: grading happens in CI when you push "
            "(.github/workflows/grade.yml). To grade here, bring in your teacher's suites "
            "with `grade fetch-suites REPO@REF`"
        )
    if not ex.suite.is_file():
        raise ConfigError(
            f"{ex.suite}: the hidden suite for exercise {ex.code} is missing; "
            "grading needs the course's tests/exercises/ folder"
        )


def _cmd_exercise(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        from ._warm import start_worker

        # Started before the catalog and staging, so its imports overlap them.
        return _grade_one(args, args.early or start_worker(stack))


def _preload_report() -> None:
    """Import the terminal report's modules in the background.

    The command waits for its grading child for most of its run; rich's
    import (about 25 ms) done meanwhile is off the path to the verdict.
    """
    import threading

    def load() -> None:
        with contextlib.suppress(Exception):
            import rich.console
            import rich.markup  # noqa: F401

            from . import _report  # noqa: F401

    threading.Thread(target=load, name="grade-preload", daemon=True).start()


def _grade_one(args: argparse.Namespace, warm: WarmWorker | None) -> int:
    from ._grading import grade_exercise

    cat = _catalog(args.course)
    try:
        ex = cat.find(args.number)
    except KeyError as exc:
        raise _UsageError(str(exc.args[0])) from None
    target = _target(ex, args)
    if ex.runs_here():
        _check_suite(ex)
    if args.format == "text":
        _preload_report()
    result = grade_exercise(
        ex,
        target,
        display_name=_display(target, cat.course),
        only=args.only,
        warm=warm,
        spread=True,
    )
    if args.only is not None and not result.checks and result.max_score == 0 and result.reason:
        raise _UsageError(result.reason)
    if target == ex.stub and args.only is None:
        progress = Progress(cat.course)
        progress.record(result)
        progress.save()
    _emit_exercise(result, args)
    if args.timeline:
        from . import _report

        if not _report.save_timeline_svg(result, args.timeline):
            sys.stderr.write("grade: no failed check recorded a timeline; no SVG written\n")
    return EXIT_OK if result.passed else EXIT_FAILED


_MACHINE = ("junit", "gradescope", "github")


def _write(text: str, args: argparse.Namespace) -> None:
    """A document goes to --output FILE when given, else to stdout."""
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


def _emit_machine(results: list[ExerciseResult], args: argparse.Namespace) -> None:
    from . import _formats

    render = {
        "junit": _formats.junit,
        "gradescope": _formats.gradescope,
        "github": _formats.github,
    }[args.format]
    text = render(results)
    if args.format == "github":
        sys.stdout.write(text + "\n")  # workflow commands must reach the log
        if args.output:
            Path(args.output).write_text(_formats.summary_markdown(results), encoding="utf-8")
    else:
        _write(text, args)


def _emit_exercise(result: ExerciseResult, args: argparse.Namespace) -> None:
    from . import _report

    if args.format == "json":
        _write(_report.exercise_json(result), args)
    elif args.format in _MACHINE:
        _emit_machine([result], args)
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
    if args.format != "text" or not sys.stderr.isatty():
        results = grade_many(jobs, workers=workers)
    else:
        results = _with_progress(jobs, workers)
    from ._model import CourseResult

    course = CourseResult(tuple(results), python_version(), time.perf_counter() - started)
    if not args.reference:
        progress = Progress(cat.course)
        for r in results:
            progress.record(r)
        progress.save()
    if args.format == "json":
        _write(_report.course_json(course), args)
    elif args.format in _MACHINE:
        _emit_machine(list(results), args)
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
    progress = Progress(cat.course)
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
                    "best": progress.get(ex.code).best,
                    "done": progress.get(ex.code).done,
                }
                for ex in cat.exercises
            ],
            "broken": [{"folder": f, "error": e} for f, e in cat.broken],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _report.print_list(cat.exercises, progress)
    for _, error in cat.broken:
        sys.stderr.write(f"grade: {error}\n")
    return EXIT_USAGE if cat.broken else EXIT_OK


def _find(cat: Catalog, key: str) -> Exercise:
    try:
        return cat.find(key)
    except KeyError as exc:
        raise _UsageError(str(exc.args[0])) from None


def _interview_active(course: Path) -> bool:
    return (course / ".grade" / "interview.lock").exists()


def _cmd_hint(args: argparse.Namespace) -> int:
    from ._learn import LearnError, next_hint

    cat = _catalog(args.course)
    ex = _find(cat, args.number)
    if _interview_active(cat.course):
        raise LearnError("hints are hidden during an interview session")
    for number, text in next_hint(ex, Progress(cat.course), show_all=args.all):
        sys.stdout.write(f"hint {number}/{len(ex.hints)}: {text}\n")
    return EXIT_OK


def _cmd_next(args: argparse.Namespace) -> int:
    from ._learn import next_exercise

    cat = _catalog(args.course)
    ex = next_exercise(cat, Progress(cat.course))
    if ex is None:
        sys.stdout.write("Every exercise has full marks: the course is done.\n")
        return EXIT_OK
    readme = ex.readme.relative_to(cat.course)
    stub = ex.stub.relative_to(cat.course)
    sys.stdout.write(f"Next: {ex.code} {ex.title}\n  read {readme}\n  edit {stub}\n")
    return EXIT_OK


def _cmd_solution(args: argparse.Namespace) -> int:
    from ._learn import LearnError, api_difference, solution_text

    cat = _catalog(args.course)
    ex = _find(cat, args.number)
    if _interview_active(cat.course) and not args.force:
        raise LearnError("the reference stays hidden during an interview session")
    text = solution_text(ex, Progress(cat.course), force=args.force)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if ex.stub.is_file():
        note = api_difference(ex.stub.read_text(encoding="utf-8"), text)
        if note:
            sys.stdout.write(f"\nHow it differs from yours: {note}\n")
    return EXIT_OK


def _cmd_reset(args: argparse.Namespace) -> int:
    from ._learn import reset

    cat = _catalog(args.course)
    ex = _find(cat, args.number)
    backup = reset(ex)
    where = f"; your attempt is saved as {backup.relative_to(cat.course)}" if backup else ""
    sys.stdout.write(f"{ex.stub.relative_to(cat.course)} is the stub again{where}\n")
    return EXIT_OK


def _watch_common(args: argparse.Namespace, session: Interview | None) -> int:
    from . import _report
    from ._grading import grade_exercise
    from ._learn import next_exercise
    from ._warm import start_worker
    from ._watch import watch_loop, write_transcript

    cat = _catalog(args.course)
    progress = Progress(cat.course)
    start = _find(cat, args.number) if args.number else next_exercise(cat, progress)
    if start is None:
        sys.stdout.write("Every exercise has full marks: nothing to watch.\n")
        return EXIT_OK
    lock = cat.course / ".grade" / "interview.lock"
    if session is not None:
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(str(session.started))
    with contextlib.ExitStack() as stack:
        warm = start_worker(stack, many=True)

        def grade(ex: Exercise) -> ExerciseResult:
            return grade_exercise(
                ex, ex.stub, display_name=_display(ex.stub, cat.course), warm=warm
            )

        def show(result: ExerciseResult, banner: str) -> None:
            if sys.stdout.isatty():
                sys.stdout.write("\x1b[2J\x1b[H")
            if args.format == "json":
                sys.stdout.write(_report.exercise_json(result) + "\n")
            else:
                _report.print_exercise(result, verbose=args.verbose, hints=session is None)
            sys.stdout.write(f"\n{banner}\n")
            sys.stdout.flush()

        try:
            watch_loop(cat, start, grade=grade, show=show, progress=progress, interview=session)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        finally:
            if session is not None:
                lock.unlink(missing_ok=True)
                path = write_transcript(cat.course, session)
                sys.stdout.write(f"interview over: transcript in {path.relative_to(cat.course)}\n")
    return EXIT_OK


def _cmd_watch(args: argparse.Namespace) -> int:
    return _watch_common(args, None)


def _cmd_interview(args: argparse.Namespace) -> int:
    if args.minutes <= 0:
        raise _UsageError("--minutes must be positive")
    from ._watch import Interview

    return _watch_common(args, Interview(minutes=args.minutes))


def _prefix(args: argparse.Namespace) -> str:
    if not args.output:
        raise _UsageError(
            f"grade {args.command} needs --output PREFIX (writes PREFIX.csv and .json)"
        )
    return str(args.output)


def _cmd_batch(args: argparse.Namespace) -> int:
    from ._batch import run_batch, select_shard

    args.output_prefix = _prefix(args)
    cat = _catalog(args.course)
    cat.check_whole()
    paths = select_shard(args.paths, args.shard)
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    if sys.stderr.isatty():
        from rich.progress import Progress as Bar

        with Bar(transient=True) as bar:
            task = bar.add_task("grading submissions", total=len(paths))
            rows = run_batch(
                paths,
                cat,
                Path(args.output_prefix),
                jobs=jobs,
                resume=args.resume,
                on_row=lambda _r: bar.advance(task),
            )
    else:
        rows = run_batch(paths, cat, Path(args.output_prefix), jobs=jobs, resume=args.resume)
    for row in rows:
        sys.stdout.write(f"{row.submission}: {row.total:g}/{row.max_total:g}\n")
    sys.stdout.write(f"gradebook: {args.output_prefix}.csv and {args.output_prefix}.json\n")
    return EXIT_OK


def _cmd_merge(args: argparse.Namespace) -> int:
    from ._batch import merge_books

    args.output_prefix = _prefix(args)
    rows = merge_books([Path(b) for b in args.books], Path(args.output_prefix))
    sys.stdout.write(f"merged {len(rows)} submissions into {args.output_prefix}.csv/.json\n")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from ._batch import MANIFEST, manifest
    from ._scenarios import RecordError, record, stale

    cat = _catalog(args.course)
    path = Path(args.manifest) if args.manifest else cat.course / MANIFEST
    if args.update:
        # Scenarios first: the manifest covers the file they are written to.
        try:
            recorded = record(cat.exercises)
        except RecordError as exc:
            sys.stderr.write(f"grade: {exc}\n")
            return EXIT_FAILED
        if recorded is not None:
            sys.stdout.write(f"wrote {recorded} (property scenarios to replay)\n")
        current = manifest(cat.course)
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        sys.stdout.write(f"wrote {path} ({len(current)} files)\n")
        return EXIT_OK
    current = manifest(cat.course)
    try:
        expected = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _UsageError(
            f"{path}: no readable manifest ({exc}); `grade verify --update` writes one"
        ) from None
    changed = sorted(
        k for k in expected.keys() | current.keys() if expected.get(k) != current.get(k)
    )
    if changed:
        sys.stdout.write(
            "refused: these hidden suites or grader files differ from the course's manifest, "
            "so no score from this checkout can be trusted:\n"
            + "".join(f"  {name}\n" for name in changed)
        )
        return EXIT_FAILED
    sys.stdout.write(f"verified: {len(current)} suite and grader files match {path.name}\n")
    behind = stale(cat.exercises)
    if behind:
        sys.stdout.write(
            "note: no recorded scenarios for the properties of "
            + ", ".join(behind)
            + "; they run Hypothesis in full (same verdicts, slower): "
            "`grade verify --update` records them\n"
        )
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from ._export import export_student

    cat = _catalog(args.course)
    count = export_student(cat.course, Path(args.student))
    sys.stdout.write(f"wrote the student edition to {args.student} ({count} files)\n")
    return EXIT_OK


def _cmd_fetch(args: argparse.Namespace) -> int:
    from ._export import fetch_suites

    cat = _catalog(args.course)
    count = fetch_suites(cat.course, args.source)
    sys.stdout.write(f"fetched {count} hidden suites from {args.source}; `grade` works here now\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, early: WarmWorker | None = None) -> int:
    """Run the ``grade`` command; returns the exit status (also used by the console script).

    ``early``: a warm worker the console script started for ``grade exercise``
    before importing this module; the caller owns (and ends) it.
    """
    if sys.platform == "win32":
        sys.stderr.write("grade: Windows is not supported for grading; use WSL\n")
        return EXIT_USAGE
    try:
        args = _parser().parse_args(argv)
        for name, value in _DEFAULTS.items():
            if not hasattr(args, name):
                setattr(args, name, value)
        args.early = early
        if args.format in _MACHINE and args.command not in ("exercise", "all"):
            raise _UsageError(f"--format {args.format} is for `grade exercise` and `grade all`")
        command = {
            "list": _cmd_list,
            "exercise": _cmd_exercise,
            "all": _cmd_all,
            "hint": _cmd_hint,
            "next": _cmd_next,
            "solution": _cmd_solution,
            "reset": _cmd_reset,
            "watch": _cmd_watch,
            "interview": _cmd_interview,
            "batch": _cmd_batch,
            "merge": _cmd_merge,
            "verify": _cmd_verify,
            "export": _cmd_export,
            "fetch-suites": _cmd_fetch,
        }.get(args.command or "")
        if command is None:
            raise _UsageError("missing command: try `grade list` or `grade exercise 05`")
        return command(args)
    except _user_errors() as exc:
        sys.stderr.write(f"grade: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("grade: interrupted\n")
        return EXIT_INTERRUPTED


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors that are the user's to fix (exit 2, one line).

    Evaluated only when an exception reaches ``main``, so their modules are not
    imported on every command's start-up.
    """
    from ._batch import BatchError
    from ._export import ExportError
    from ._learn import LearnError

    return (_UsageError, ConfigError, LearnError, BatchError, ExportError)


if __name__ == "__main__":
    sys.exit(main())
