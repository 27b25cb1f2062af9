"""Every check this project runs, locally and in CI alike (CI only calls nox).

    nox -s tests        the grader's own tests and the course QA, on 3.11, 3.12, 3.13
    nox -s lint         ruff check and ruff format --check
    nox -s typecheck    mypy --strict on grader/
    nox -s bench        the speed figures (wall per exercise, whole course, loop s per wall s)
    nox -s stress       repeated shuffled runs of the references and mutants, with and
                        without a competing CPU load; reports every verdict that changed

Locally `tests` runs on whichever of the three Pythons are present; with CI set
a missing interpreter is an error.
"""

from __future__ import annotations

import os

import nox

PYTHONS = ["3.11", "3.12", "3.13"]

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))
nox.options.reuse_existing_virtualenvs = False


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The grader's own tests and the course QA (stub 0, reference full, mutants caught)."""
    session.install(".[test]")
    workers = os.environ.get("GRADE_TEST_WORKERS", str(os.cpu_count() or 1))
    session.run(
        "pytest",
        "-n",
        workers,
        "--dist",
        "loadgroup",
        "-q",
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on grader/."""
    session.install(".", "mypy>=1.11")
    session.run("mypy", "grader")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Print the speed figures the issues name (see tests/bench.py)."""
    session.install(".")
    session.run("python", "tests/bench.py", *session.posargs)
    session.run("python", "tests/mutant_report.py")


@nox.session(python="3.11")
def stress(session: nox.Session) -> None:
    """Repeated shuffled gradings, idle and under CPU load; fails on any changed verdict."""
    session.install(".")
    # By default every reference and course mutant, 20 idle and 10 loaded rounds.
    session.run("python", "tests/stress.py", *(session.posargs or ["--mutants"]))
