"""Course QA: every exercise's stub scores 0, reference and alternatives full marks,
and every mutant loses points on the check it targets.

Each grading goes through the real CLI (``python -m grader ... --format json``)
in a subprocess, exactly as a learner would run it. A mutant declares what it
breaks in its docstring with a line ``Targets: test_name[, test_name...]``:
each named check must fail, so a mutant that merely loses points elsewhere
does not count as caught.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader._catalog import load_catalog
from grader._scenarios import has_properties

COURSE = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(COURSE)
RUNNABLE = [ex for ex in CATALOG.exercises if ex.runs_here()]


def grade(ex_code: str, *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "exercise", ex_code, *args, "--format", "json"],
        cwd=COURSE,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def _failing(report: dict[str, Any]) -> str:
    return (
        "\n".join(
            f"- {c['name']}: {c['message']}" for c in report["checks"] if c["status"] != "passed"
        )
        or f"(no failing check; reason: {report.get('reason')})"
    )


def _targets(path: Path) -> list[str]:
    match = re.search(r"^Targets:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)
    assert match, f"{path}: a mutant must say which checks it breaks ('Targets: test_x')"
    return [t.strip() for t in match.group(1).split(",") if t.strip()]


def _files(kind: str) -> list[Any]:
    params = []
    for ex in RUNNABLE:
        folder = COURSE / "tests" / "course" / kind / ex.slug
        for f in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            params.append(pytest.param(ex, f, id=f"{ex.code}-{f.stem}"))
    return params


@pytest.mark.parametrize("ex", RUNNABLE, ids=lambda e: e.code)
def test_stub_scores_zero(ex: Any) -> None:
    code, report = grade(ex.code, "--file", str(ex.stub))
    assert code == 1
    assert report["score"] == 0, _failing(report)
    assert report["checks"], "the suite has no checks"
    for check in report["checks"]:
        assert check["status"] == "failed", check
        assert "not implemented yet" in check["message"], check


@pytest.mark.parametrize("ex", RUNNABLE, ids=lambda e: e.code)
def test_reference_scores_full(ex: Any) -> None:
    code, report = grade(ex.code, "--reference")
    assert report["score"] == report["max_score"] == ex.points, _failing(report)
    assert code == 0


@pytest.mark.parametrize(("ex", "path"), _files("alternatives"))
def test_alternative_scores_full(ex: Any, path: Path) -> None:
    code, report = grade(ex.code, "--file", str(path))
    assert report["score"] == report["max_score"], _failing(report)
    assert code == 0


@pytest.mark.parametrize(("ex", "path"), _files("mutants"))
def test_mutant_is_caught_by_its_target(ex: Any, path: Path) -> None:
    code, report = grade(ex.code, "--file", str(path))
    assert code == 1
    assert report["score"] < report["max_score"]
    by_test = {c["nodeid"].split("::")[-1]: c for c in report["checks"] if "nodeid" in c}
    for target in _targets(path):
        assert target in by_test, f"{path.name}: no check {target!r} in the suite"
        assert by_test[target]["status"] == "failed", (
            f"{path.name} should fail {target}, but it passed; failing:\n{_failing(report)}"
        )
        assert "not implemented yet" not in by_test[target]["message"]


def test_every_exercise_has_mutants_and_an_alternative() -> None:
    for ex in RUNNABLE:
        for kind in ("mutants", "alternatives"):
            folder = COURSE / "tests" / "course" / kind / ex.slug
            assert folder.is_dir() and any(folder.glob("*.py")), f"{ex.slug}: no {kind}"


def test_committed_manifest_matches_the_suites_and_grader() -> None:
    # Forks are graded only when their suites and grader match this manifest,
    # so a change to either must come with `grade verify --update`.
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "verify"],
        cwd=COURSE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, (
        proc.stdout + proc.stderr + "\nrun `grade verify --update` and commit .grade-manifest.json"
    )


PROPERTIES = [ex for ex in RUNNABLE if has_properties(ex)]


@pytest.mark.parametrize("ex", PROPERTIES, ids=lambda e: e.code)
def test_recorded_scenarios_are_the_ones_hypothesis_draws_on_this_python(ex: Any) -> None:
    # A grading replays the recorded scenarios instead of running Hypothesis's
    # engine (grader/plugin/_property.py); that is only sound while they are
    # exactly what Hypothesis draws here, on every Python the course supports.
    from grader._scenarios import FILE_NAME, _record_one, for_suite, installed_hypothesis

    entry = json.loads((ex.suite.parent / FILE_NAME).read_text(encoding="utf-8"))["suites"].get(
        ex.suite.name, {}
    )
    versions = {p["hypothesis"] for p in entry.get("properties", {}).values()}
    if versions and versions != {installed_hypothesis()}:
        # The parent then hands no recording over: nothing is replayed to check.
        pytest.skip(
            f"recorded with Hypothesis {', '.join(sorted(versions))}, this is "
            f"{installed_hypothesis()}: properties run Hypothesis in full until "
            "`grade verify --update`"
        )
    recorded = for_suite(ex.suite)
    assert recorded, f"{ex.suite.name}: no current recording; run `grade verify --update`"
    assert _record_one(ex)["properties"] == recorded
