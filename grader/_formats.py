"""Machine formats for courses and CI: JUnit XML, Gradescope results.json, GitHub Actions.

Each takes the exercises graded by one command (one for ``grade exercise``,
all of them for ``grade all``) and returns the document as a string; ``cli``
writes it to stdout or to ``--output FILE``.

- ``junit``: one ``testsuite`` per exercise, one ``testcase`` per check, the
  learner message as the failure text.
- ``gradescope``: a valid Gradescope ``results.json`` (score, per-test name,
  score, max_score, output, visibility).
- ``github``: workflow commands (``::error file=...,line=...::``) for checks that
  point into the student's file, a Markdown job summary appended to
  ``$GITHUB_STEP_SUMMARY`` when it is set, and the ``Points X/Y`` line GitHub
  Classroom reads.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ._model import ExerciseResult, Status

__all__ = ["github", "gradescope", "junit"]


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def junit(results: Sequence[ExerciseResult]) -> str:
    suites = ET.Element("testsuites", name="asyncio-katas")
    for r in results:
        failures = sum(1 for c in r.checks if c.status is Status.FAILED)
        errors = sum(1 for c in r.checks if c.status is Status.ERROR)
        skipped = sum(1 for c in r.checks if c.status is Status.SKIPPED)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{r.number:02d} {r.title}",
            tests=str(len(r.checks) or 1),
            failures=str(failures),
            errors=str(errors + (1 if not r.checks and r.status is Status.ERROR else 0)),
            skipped=str(skipped + (1 if r.status is Status.SKIPPED else 0)),
            time=f"{r.wall_s:.3f}",
        )
        if not r.checks:
            case = ET.SubElement(suite, "testcase", classname=r.slug, name="grading")
            if r.status is Status.SKIPPED:
                ET.SubElement(case, "skipped", message=r.reason or "skipped")
            elif r.reason:
                ET.SubElement(case, "error", message=r.reason).text = r.reason
            continue
        for c in r.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=r.slug,
                name=c.name,
                time=f"{c.outcome.wall_s:.6f}",
            )
            ET.SubElement(case, "properties")
            prop = case.find("properties")
            assert prop is not None
            ET.SubElement(prop, "property", name="points", value=f"{_fmt(c.points)}")
            ET.SubElement(prop, "property", name="max_points", value=f"{_fmt(c.max_points)}")
            if c.status is Status.FAILED:
                first = c.outcome.message.splitlines()[0] if c.outcome.message else "failed"
                ET.SubElement(case, "failure", message=first).text = c.outcome.message
            elif c.status is Status.ERROR:
                ET.SubElement(case, "error", message="error").text = c.outcome.message
            elif c.status is Status.SKIPPED:
                ET.SubElement(case, "skipped", message=c.outcome.message or "skipped")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def gradescope(results: Sequence[ExerciseResult]) -> str:
    tests = []
    for r in results:
        if r.status is Status.SKIPPED:
            continue
        if not r.checks:
            tests.append(
                {
                    "name": f"{r.number:02d} {r.title}",
                    "score": 0.0,
                    "max_score": r.max_score,
                    "output": r.reason or "",
                    "visibility": "visible",
                    "status": "failed",
                }
            )
        for c in r.checks:
            tests.append(
                {
                    "name": f"{r.number:02d} {r.title}: {c.name}",
                    "score": round(c.points, 2),
                    "max_score": round(c.max_points, 2),
                    "output": c.outcome.message,
                    "visibility": "visible",
                    "status": "passed" if c.status is Status.PASSED else "failed",
                }
            )
    score = round(sum(r.score for r in results), 2)
    max_score = round(sum(r.max_score for r in results), 2)
    doc = {
        "score": score,
        "max_score": max_score,
        "execution_time": round(sum(r.wall_s for r in results), 3),
        "output": f"asyncio katas: {_fmt(score)}/{_fmt(max_score)} points",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return json.dumps(doc, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github(results: Sequence[ExerciseResult]) -> str:
    """Workflow commands and the Points line; also appends the job summary if asked to."""
    lines = []
    for r in results:
        for c in r.checks:
            if c.status is Status.PASSED:
                continue
            title = _escape_property(f"{r.number:02d} {c.name}")
            message = _escape_data(c.outcome.message or "failed")
            loc = c.outcome.location
            if loc and ":" in loc:
                path, _, line = loc.rpartition(":")
                lines.append(
                    f"::error file={_escape_property(path)},line={line},title={title}::{message}"
                )
            else:
                lines.append(f"::error title={title}::{message}")
    score = sum(r.score for r in results)
    max_score = sum(r.max_score for r in results)
    lines.append(f"::notice title=Autograding::Points {_fmt(score)}/{_fmt(max_score)}")
    lines.append(f"Points {_fmt(score)}/{_fmt(max_score)}")
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as fh:
            fh.write(summary_markdown(results))
    return "\n".join(lines)


def summary_markdown(results: Sequence[ExerciseResult]) -> str:
    score = sum(r.score for r in results)
    max_score = sum(r.max_score for r in results)
    out = [
        f"## asyncio katas: {_fmt(score)}/{_fmt(max_score)} points",
        "",
        "| # | exercise | score | status |",
        "|---|---|---|---|",
    ]
    for r in results:
        status = r.status.value if r.status is not Status.SKIPPED else f"skipped ({r.reason})"
        out.append(
            f"| {r.number:02d} | {r.title} | {_fmt(r.score)}/{_fmt(r.max_score)} | {status} |"
        )
    failing = [(r, c) for r in results for c in r.checks if c.status is not Status.PASSED]
    if failing:
        out += ["", "<details><summary>Failing checks</summary>", ""]
        for r, c in failing[:100]:
            first = (c.outcome.message.splitlines() or ["failed"])[0]
            out.append(f"- **{r.number:02d} {c.name}**: {first}")
        out += ["", "</details>"]
    return "\n".join(out) + "\n"
