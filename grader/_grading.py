"""From an exercise and a submission file to a scored :class:`ExerciseResult`.

This is the pipeline's middle: sandbox run -> check outcomes -> scoring. Every
way a run can go wrong (hang, crash, exit, forged output, missing results)
becomes failed checks with a reason the learner can act on; only a broken
course (a suite that does not collect) yields status ``error``.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import platform
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._catalog import Exercise
from ._model import CheckOutcome, ExerciseResult, Gate, Group, ProbeSpan, Status
from ._sandbox import Limits, RunOutcome, merge_runs, run_suite
from ._schedule import Scheduler
from ._scoring import score_checks, total
from ._warm import WarmWorker, start_worker

__all__ = ["grade_exercise", "grade_many", "python_version"]


def python_version() -> str:
    return platform.python_version()


def _stopped_reason(run: RunOutcome, wall_limit: float) -> str:
    if run.timed_out:
        return (
            f"grading was stopped after the exercise's wall limit of {wall_limit:g} s "
            "(everything still running was killed): does your code hang or ignore signals?"
        )
    code = run.exit_code
    if code is not None and code < 0:
        sig = -code
        what = {
            6: "SIGABRT: it crashed",
            9: "SIGKILL (memory or process limit?)",
            11: "SIGSEGV: it crashed",
            24: "SIGXCPU: it used up its CPU time",
        }.get(sig, f"signal {sig}")
        return f"the grading process was killed by {what} before this check finished"
    return (
        f"the grading process ended (exit code {code}) before this check finished: "
        "does your code call sys.exit() or os._exit()?"
    )


def _spans(raw: object) -> tuple[ProbeSpan, ...]:
    if not isinstance(raw, list):
        return ()

    def num(v: object) -> float | None:
        return float(v) if isinstance(v, int | float) else None

    return tuple(
        ProbeSpan(
            name=str(s.get("name", "?"))[:40],
            start=num(s.get("start")),
            end=num(s.get("end")),
            cancel=num(s.get("cancel")),
            finally_at=num(s.get("finally")),
        )
        for s in raw[:60]
        if isinstance(s, dict)
    )


def _api_lines(submission: Path, api: tuple[tuple[str, str], ...]) -> dict[str, int]:
    """Where each public name of the exercise is defined in the submission (by ast)."""
    try:
        tree = ast.parse(submission.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    wanted = {name for name, _ in api}
    return {
        node.name: node.lineno
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name in wanted
    }


def _locate(message: str, lines: dict[str, int], shown: str) -> str | None:
    """A failed check without a location points at the API it names (or the first one)."""
    if not lines:
        return None
    named = [n for n in lines if f"{n}(" in message or f"`{n}`" in message or f"{n}." in message]
    name = named[0] if named else next(iter(lines))
    return f"{shown}:{lines[name]}"


def _outcomes(
    run: RunOutcome, exercise: Exercise, submission: Path, shown: str
) -> list[CheckOutcome]:
    assert run.collected is not None
    lines = _api_lines(submission, exercise.api)
    by_id = {str(r["nodeid"]): r for r in run.results}
    outcomes: list[CheckOutcome] = []
    stopped = False
    for meta in run.collected:
        nodeid = str(meta["nodeid"])
        r = by_id.get(nodeid)
        hint_no = meta.get("hint")
        hint = None
        if isinstance(hint_no, int) and 1 <= hint_no <= len(exercise.hints):
            hint = f"hint {hint_no}: {exercise.hints[hint_no - 1]}"
        if r is None:
            outcomes.append(
                CheckOutcome(
                    nodeid=nodeid,
                    name=str(meta["name"]),
                    group=Group(str(meta["group"])),
                    status=Status.FAILED,
                    message=_stopped_reason(run, exercise.wall_limit)
                    if not stopped
                    else "not run: grading had already stopped",
                    weight=float(meta.get("weight", 1.0)),  # type: ignore[arg-type]
                    hint=hint,
                )
            )
            stopped = True
            continue
        gate = r.get("gate")
        message = str(r.get("message", ""))
        notes = r.get("notes")
        if isinstance(notes, list) and r.get("status") != "passed":
            message += "".join(f"\n{n}" for n in notes)
        outcomes.append(
            CheckOutcome(
                nodeid=nodeid,
                name=str(meta["name"]),
                group=Group(str(meta["group"])),
                status=Status(str(r["status"])),
                message=message,
                weight=float(meta.get("weight", 1.0)),  # type: ignore[arg-type]
                gate=Gate(str(gate)) if gate in ("blocking", "leak", "tamper") else None,
                location=str(r["location"])
                if r.get("location")
                else (_locate(message, lines, shown) if r.get("status") == "failed" else None),
                hint=hint,
                sim_s=float(r.get("sim_s") or 0.0),  # type: ignore[arg-type]
                timeline=_spans(r.get("timeline")),
                expected_end=float(r["expected_end"])  # type: ignore[arg-type]
                if isinstance(r.get("expected_end"), int | float)
                else None,
                instruments=tuple(str(i) for i in r.get("instruments") or ()),  # type: ignore[attr-defined]
                wall_s=float(r.get("wall_s") or 0.0),  # type: ignore[arg-type]
            )
        )
    return outcomes


# A real-time exercise's checks mostly sleep, so its suite runs split across
# sandboxed children at once (each a full sandbox of its own): two, or three
# when it is graded alone (`grade exercise 28`: about 2.9 s instead of 4). When
# many gradings share the cores, each extra child's start-up is CPU that the
# others wait for, and a third child bought nothing measurable in `grade all`.
# A single grading of any other exercise is split across two, one per core.
_SHARDS = 2
_REALTIME_SHARDS_ALONE = 3


def grade_exercise(
    exercise: Exercise,
    submission: Path,
    *,
    display_name: str | None = None,
    limits: Limits | None = None,
    only: str | None = None,
    shuffle_seed: int | None = None,
    warm: WarmWorker | None = None,
    spread: bool = False,
) -> ExerciseResult:
    """Grade ``submission`` as ``exercise``; never raises for the submission's faults.

    ``spread``: nothing else is being graded, so a virtual-clock suite too runs
    split across two sandboxed children, one per core (real-clock suites always
    are, across three then). The verdict is the same: checks are independent, which the stress
    run's shuffled check order keeps proving.
    """
    shown = display_name or str(submission)
    base = dict(
        number=exercise.number,
        slug=exercise.slug,
        title=exercise.title,
        python=python_version(),
        submission=shown,
    )
    if not exercise.runs_here():
        need = ".".join(map(str, exercise.python_requires))
        return ExerciseResult(
            **base,  # type: ignore[arg-type]
            status=Status.SKIPPED,
            score=0.0,
            max_score=0.0,
            wall_s=0.0,
            reason=f"needs Python {need}+ (this is {python_version()})",
        )
    started = time.perf_counter()
    if not submission.is_file():
        return ExerciseResult(
            **base,  # type: ignore[arg-type]
            status=Status.FAILED,
            score=0.0,
            max_score=float(exercise.points),
            wall_s=0.0,
            reason=f"{shown} does not exist; create it (the stub is exercises/{exercise.slug}/)",
        )
    if only is not None:
        shards = 1
    elif exercise.clock == "realtime":
        shards = _REALTIME_SHARDS_ALONE if spread else _SHARDS
    elif spread and (os.cpu_count() or 1) >= _SHARDS:
        shards = _SHARDS
    else:
        shards = 1

    def run_shard(index: int) -> RunOutcome:
        return run_suite(
            exercise,
            submission,
            shown,
            limits=limits,
            only=only,
            shuffle_seed=shuffle_seed,
            warm=warm,
            shard=(index, shards) if shards > 1 else None,
        )

    if shards == 1:
        run = run_shard(0)
    else:
        with ThreadPoolExecutor(shards, thread_name_prefix="grade-shard") as pool:
            run = merge_runs(list(pool.map(run_shard, range(shards))))
    wall = time.perf_counter() - started
    if run.collected is None:
        return ExerciseResult(
            **base,  # type: ignore[arg-type]
            status=Status.ERROR,
            score=0.0,
            max_score=float(exercise.points),
            wall_s=wall,
            reason="the hidden suite could not start: "
            + (_stopped_reason(run, exercise.wall_limit) if run.timed_out else "see output"),
            output_tail=run.output[-4000:],
        )
    if only is not None and run.collected == ():
        return ExerciseResult(
            **base,  # type: ignore[arg-type]
            status=Status.ERROR,
            score=0.0,
            max_score=0.0,
            wall_s=wall,
            reason=f"no check of exercise {exercise.code} matches {only!r}; its checks are: "
            + "; ".join(run.every_check),
        )
    results = score_checks(exercise.points, _outcomes(run, exercise, submission, shown))
    score, max_score = total(results)
    notes: list[str] = []
    if run.forged_lines:
        notes.append(
            f"{run.forged_lines} line(s) written to the grader's result channel by something "
            "other than the grader were ignored: results cannot be forged"
        )
    if run.isolation == "process":
        notes.append(
            "weaker sandbox here (no Linux namespaces): process-group kill, resource limits "
            "and an in-process network block only"
        )
    if only is None:
        max_score = float(exercise.points)
    else:
        notes.append(
            f"only the checks matching {only!r} ran, so the points are scaled to them; "
            "grade without --check for your score"
        )
    passed = all(r.status in (Status.PASSED, Status.SKIPPED) for r in results)
    return ExerciseResult(
        **base,  # type: ignore[arg-type]
        status=Status.PASSED if passed and score == max_score else Status.FAILED,
        score=score,
        max_score=max_score,
        wall_s=wall,
        checks=results,
        output_tail=run.output[-4000:],
        notes=tuple(notes),
        sandbox=run.isolation,
    )


def grade_many(
    jobs: Sequence[tuple[Exercise, Path, str]],
    *,
    workers: int = 1,
    on_done: Callable[[ExerciseResult], None] | None = None,
) -> list[ExerciseResult]:
    """Grade several (exercise, file, display name) triples; results in the order given.

    ``workers`` gradings that keep a core busy run at once, beside up to as
    many that mostly wait on the real clock (:mod:`grader._schedule`).

    Where the platform allows (Linux), one warm worker serves every grading of
    the call: each grading is still a fresh process, forked with pytest
    already imported, and the worker ends with the call.
    """
    with contextlib.ExitStack() as stack:
        warm = start_worker(stack, many=True) if len(jobs) > 1 else None

        def one(job: tuple[Exercise, Path, str]) -> ExerciseResult:
            result = grade_exercise(job[0], job[1], display_name=job[2], warm=warm)
            if on_done is not None:
                on_done(result)
            return result

        if workers <= 1:
            return [one(j) for j in jobs]
        with Scheduler(workers) as scheduler:
            return scheduler.run_all([(j[0], functools.partial(one, j)) for j in jobs])
