"""`nox -s stress`: grade the references (and, with --mutants, the course mutants)
repeatedly in shuffled check order, first on an idle machine, then with every
core saturated by a competing CPU load, and report every verdict that changed.
Gradings run as `grade all` runs them (warm worker, one per core plus the
real-clock slots), so the load round adds the competing burners on top.

Exit status 1 if any check's verdict differs between rounds or a reference
loses points.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
import os
import sys
import time
from pathlib import Path

from grader._catalog import load_catalog
from grader._grading import grade_exercise
from grader._model import ExerciseResult
from grader._schedule import Scheduler
from grader._warm import start_worker

COURSE = Path(__file__).resolve().parents[1]


def _burn(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _verdict(r: ExerciseResult) -> tuple[str, ...]:
    return tuple(sorted(f"{c.outcome.nodeid.split('::')[-1]}={c.status.value}" for c in r.checks))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=20, help="idle rounds (default 20)")
    p.add_argument("--load-rounds", type=int, default=10, help="rounds under CPU load")
    p.add_argument("--mutants", action="store_true", help="also grade every course mutant")
    p.add_argument("--only", default="", help="comma-separated exercise numbers")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="gradings at once, as in grade all (default: one per core)",
    )
    args = p.parse_args()
    cat = load_catalog(COURSE)
    wanted = {int(x) for x in args.only.split(",") if x}
    subjects = []
    for ex in cat.exercises:
        if not ex.runs_here() or (wanted and ex.number not in wanted):
            continue
        subjects.append((ex, ex.reference, "reference"))
        if args.mutants:
            folder = COURSE / "tests" / "course" / "mutants" / ex.slug
            for m in sorted(folder.glob("*.py")):
                subjects.append((ex, m, f"mutant {m.stem}"))
    baseline: dict[tuple[str, str], tuple[str, ...]] = {}
    changed: list[str] = []
    lost: list[str] = []
    rounds = [("idle", i) for i in range(args.rounds)]
    rounds += [("load", i) for i in range(args.load_rounds)]
    stop = multiprocessing.Event()
    burners: list[multiprocessing.Process] = []
    t0 = time.perf_counter()
    stack = contextlib.ExitStack()
    warm = start_worker(stack, many=True)
    try:
        for phase, i in rounds:
            if phase == "load" and not burners:
                burners = [
                    multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
                    for _ in range(os.cpu_count() or 1)
                ]
                for b in burners:
                    b.start()
            seed = 1000 * (phase == "load") + i
            with Scheduler(args.jobs) as scheduler:
                graded = scheduler.run_all(
                    [
                        (
                            ex,
                            functools.partial(
                                grade_exercise,
                                ex,
                                path,
                                display_name=label,
                                shuffle_seed=seed,
                                warm=warm,
                            ),
                        )
                        for ex, path, label in subjects
                    ]
                )
            for (ex, _, label), r in zip(subjects, graded, strict=True):
                key = (ex.code, label)
                v = _verdict(r)
                if label == "reference" and r.score != r.max_score:
                    lost.append(f"{phase} round {i}: {ex.code} reference {r.score}/{r.max_score}")
                if key not in baseline:
                    baseline[key] = v
                elif v != baseline[key]:
                    diff = sorted(set(v) ^ set(baseline[key]))
                    changed.append(f"{phase} round {i} (seed {seed}): {ex.code} {label}: {diff}")
            print(f"{phase} round {i}: {len(subjects)} gradings, {len(changed)} changed so far")
    finally:
        stack.close()
        stop.set()
        for b in burners:
            b.join(timeout=5)
    print(f"\n{len(rounds)} rounds x {len(subjects)} gradings in {time.perf_counter() - t0:.0f} s")
    for line in lost + changed:
        print("  " + line)
    print(f"changed verdicts: {len(changed)}; references below full marks: {len(lost)}")
    return 1 if (changed or lost) else 0


if __name__ == "__main__":
    sys.exit(main())
