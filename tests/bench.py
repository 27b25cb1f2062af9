"""Speed figures for `nox -s bench` (printed, never asserted).

- median wall time of `grade exercise 05 --reference` (a cold CLI run, 7 runs);
- wall time of `grade all --reference` (3 runs, median);
- loop seconds checked per wall second: for exercise 05's timing checks and for
  every virtual-clock check of the course (loop time a check covered divided by
  the real time its body took);
- what the cancellation sweeps and property checks cost, per exercise;
- `grade batch` of 10, 20 and 40 whole-course submissions (references, stubs and
  mutants in turn: `python tests/bench.py 10 20 40`, the default), and whether
  every verdict of the largest batch equals grading that file on its own.

Everything is measured on a copy of the course taken at start, with the
interpreter running this script. The cold figure is `grade exercise`, one command from start to exit (it starts
its own warm worker, whose imports overlap the parent's); `grade all` and
`grade batch` are the many-gradings figures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]


def run(*args: str, cold: bool = False) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "grader", *args, "--format", "json"],
        cwd=COURSE,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, GRADE_WARM="0") if cold else None,
    )
    wall = time.perf_counter() - t0
    return wall, json.loads(proc.stdout)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    singles = [run("exercise", "05", "--reference")[0] for _ in range(7)]
    colds = [run("exercise", "05", "--reference", cold=True)[0] for _ in range(7)]
    print(
        f"grade exercise 05 --reference: median {statistics.median(singles):.3f} s "
        f"(min {min(singles):.3f}, max {max(singles):.3f}, 7 runs); with GRADE_WARM=0 "
        f"(a new interpreter for the grading) {statistics.median(colds):.3f} s"
    )
    _, one = run("exercise", "05", "--reference")
    timing = [c for c in one["checks"] if c["group"] == "timing"]
    sim = sum(c["loop_s"] for c in timing)
    wall = sum(c["wall_s"] for c in timing)
    print(
        f"exercise 05 timing checks: {sim:.1f} loop s in {wall:.4f} wall s "
        f"({sim / wall:,.0f} loop s per wall s)"
    )
    courses = [run("all", "--reference") for _ in range(3)]
    walls = [w for w, _ in courses]
    report = courses[0][1]
    cold_all = run("all", "--reference", cold=True)[0]
    print(
        f"grade all --reference: median {statistics.median(walls):.2f} s "
        f"({len(report['exercises'])} exercises, score {report['score']}/{report['max_score']}); "
        f"with GRADE_WARM=0 (a new interpreter per grading) {cold_all:.2f} s"
    )
    sims = walls_body = 0.0
    for ex in report["exercises"]:
        sims_ex = sum(c["loop_s"] for c in ex["checks"])
        body_ex = sum(c["wall_s"] for c in ex["checks"])
        sims += sims_ex
        walls_body += body_ex
        print(
            f"  {ex['exercise']:02d} {ex['slug']:<28} {ex['wall_s']:.2f} s wall, "
            f"{sims_ex:7.1f} loop s covered by its checks"
        )
    if walls_body:
        print(
            f"whole course: {sims:.1f} loop s in {walls_body:.3f} s of check bodies "
            f"({sims / walls_body:,.0f} loop s per wall s)"
        )
    # What the generated checks cost (issue 10): wall time of the sweep and
    # property checks, per exercise that has them, beside the exercise's wall.
    print("cancellation sweeps and property checks (wall s of their check bodies):")
    added = 0.0
    for ex in report["exercises"]:
        costs = {
            kind: sum(c["wall_s"] for c in ex["checks"] if kind in (c.get("instruments") or ()))
            for kind in ("sweep", "property")
        }
        if any(costs.values()):
            added += sum(costs.values())
            print(
                f"  {ex['exercise']:02d} sweep {costs['sweep']:.3f} s, property "
                f"{costs['property']:.3f} s, of {ex['wall_s']:.2f} s for the exercise"
            )
    print(f"  in all: {added:.3f} s of the course's {walls_body:.3f} s of check bodies")


_MARK = "\n# submitted by "


def _submissions(root: Path, count: int) -> list[str]:
    """``count`` whole-course submissions: references, stubs and mutants in turn.

    As in a real class, every student's own work is a file of its own (a
    reference or mutant gets a comment naming the student, so no two are
    byte-equal and batch grades each one), while untouched stubs are the same
    file everywhere (batch grades those once).
    """
    exercises = sorted(
        p for p in (COURSE / "exercises").iterdir() if (p / "exercise.toml").exists()
    )
    paths = []
    for k in range(count):
        sub = root / f"student{k:03d}"
        for ex in exercises:
            dest = sub / "exercises" / ex.name / "solution.py"
            dest.parent.mkdir(parents=True, exist_ok=True)
            mutants = sorted((COURSE / "tests" / "course" / "mutants" / ex.name).glob("*.py"))
            source = [
                COURSE / "solutions" / f"{ex.name}.py",
                ex / "solution.py",
                mutants[k % len(mutants)] if mutants else ex / "solution.py",
            ][k % 3]
            text = source.read_bytes()
            if source.name != "solution.py":
                text += f"{_MARK}{sub.name}\n".encode()
            dest.write_bytes(text)
        paths.append(str(sub))
    return paths


def _solution(submission: str, code: str) -> Path:
    folder = next(p for p in (Path(submission) / "exercises").iterdir() if p.name[:2] == code)
    return folder / "solution.py"


def _contents(book: dict, *, raw: bool) -> dict[tuple[str, bytes], list[tuple[str, float]]]:
    """(exercise, file bytes) -> [(submission, score)], with or without the student's mark."""
    out: dict[tuple[str, bytes], list[tuple[str, float]]] = {}
    for row in book["rows"]:
        for code, score in row["scores"].items():
            text = _solution(row["submission"], code).read_bytes()
            if not raw:
                text = text.split(_MARK.encode())[0]
            out.setdefault((code, text), []).append((row["submission"], score))
    return out


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and its descendants."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batch_figures(sizes: list[int]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        root = Path(tmp)
        subs = _submissions(root, max(sizes))
        for size in sizes:
            cpu0 = _children_cpu()
            t0 = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "grader",
                    "batch",
                    *subs[:size],
                    "--output",
                    str(root / f"b{size}"),
                ],
                cwd=COURSE,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.perf_counter() - t0
            cpu = _children_cpu() - cpu0
            book = json.loads((root / f"b{size}.json").read_text())
            gradings = sum(len(r["scores"]) for r in book["rows"])
            distinct = len(_contents(book, raw=True))
            print(
                f"grade batch, {size} whole-course submissions: {wall:.1f} s, "
                f"{gradings / wall:.1f} exercise gradings per second (exit {proc.returncode}); "
                f"{distinct} of the {gradings} files distinct, {distinct / wall:.1f} distinct "
                f"gradings per second; {cpu:.0f} CPU s, {cpu / wall:.2f} of "
                f"{os.cpu_count()} cores busy on average"
            )
        # The same verdicts one by one, for every row of the largest batch: each
        # distinct (exercise, file content) is graded once with grade exercise.
        book = json.loads((root / f"b{max(sizes)}.json").read_text())
        # Files that differ only in the student's name are graded once.
        alone: dict[tuple[str, bytes], float] = {}
        differ = []
        for (code, key), rows in _contents(book, raw=False).items():
            submission, score = rows[0]
            if (code, key) not in alone:
                file = _solution(submission, code)
                _, doc = run("exercise", code, "--file", str(file))
                alone[code, key] = doc["score"]
            for submission, score in rows:
                if alone[code, key] != score:
                    differ.append(f"{submission} {code}: {score} vs {alone[code, key]}")
        print(
            f"batch verdicts identical to grading one by one: {not differ} "
            f"({len(book['rows'])} submissions, {len(alone)} distinct gradings compared)"
        )
        for line in differ[:10]:
            print("  differs: " + line)


def _snapshot(into: Path) -> Path:
    """A copy of the course (grader, exercises, references, suites) to measure.

    The bench runs for minutes; measured in the working tree, an edit made
    meanwhile would be measured half-way (it once was, and a batch's verdicts
    then "differed" from the same files graded alone).
    """
    import shutil

    skip = shutil.ignore_patterns("__pycache__", ".nox", ".venv", ".git", "*.egg-info")
    for name in ("grader", "exercises", "solutions", "tests"):
        shutil.copytree(COURSE / name, into / name, ignore=skip)
    for name in ("pyproject.toml", ".grade-manifest.json"):
        if (COURSE / name).is_file():
            shutil.copy2(COURSE / name, into / name)
    return into


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="grade-bench-course-") as snapshot:
        COURSE = _snapshot(Path(snapshot))
        main()
        sizes = [int(x) for x in sys.argv[1:]] or [10, 20, 40]
        batch_figures(sizes)
