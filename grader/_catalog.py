"""Find the course's exercises and read their ``exercise.toml``.

A course is a folder holding ``exercises/NN_slug/exercise.toml``; its hidden
suites live in ``tests/exercises/test_NN_slug.py`` and its references in
``solutions/NN_slug.py``. Every problem with a file is a :class:`ConfigError`
whose message names the file, the key and the fix.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "POINTS_BY_DIFFICULTY",
    "Catalog",
    "ConfigError",
    "Exercise",
    "find_course",
    "load_catalog",
]

POINTS_BY_DIFFICULTY = {1: 20, 2: 30, 3: 40, 4: 50, 5: 60}
CLOCKS = ("virtual", "realtime", "mixed", "own")
DEFAULT_WALL_LIMIT = 60.0
_FOLDER = re.compile(r"^(\d{2})_([a-z0-9_]+)$")


class ConfigError(Exception):
    """A broken course layout or ``exercise.toml``: a usage/configuration error (exit 2)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course, as ``exercise.toml`` describes it."""

    number: int
    slug: str  # folder name, e.g. "05_semaphore_limit"
    title: str
    difficulty: int
    points: int
    python_requires: tuple[int, int]
    clock: str
    wall_limit: float
    hints: tuple[str, ...]
    api: tuple[tuple[str, str], ...]  # (name, signature) in declaration order
    folder: Path
    course: Path

    @property
    def code(self) -> str:
        return f"{self.number:02d}"

    @property
    def stub(self) -> Path:
        return self.folder / "solution.py"

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    @property
    def reference(self) -> Path:
        return self.course / "solutions" / f"{self.slug}.py"

    @property
    def suite(self) -> Path:
        return self.course / "tests" / "exercises" / f"test_{self.slug}.py"

    def runs_here(self, version: tuple[int, int] | None = None) -> bool:
        """True when this Python is new enough for the exercise."""
        return (version or sys.version_info[:2]) >= self.python_requires


@dataclass(frozen=True)
class Catalog:
    """All exercises of a course, in number order.

    ``broken`` maps the folder name of each exercise whose ``exercise.toml``
    could not be read to the :class:`ConfigError` message: one broken exercise
    does not stop the others from being graded, but any command that needs it
    (or the whole course) reports the error.
    """

    course: Path
    exercises: tuple[Exercise, ...]
    broken: tuple[tuple[str, str], ...] = ()

    def check_whole(self) -> None:
        """Raise :class:`ConfigError` if any exercise of the course is broken."""
        if self.broken:
            raise ConfigError(self.broken[0][1])

    def find(self, key: str) -> Exercise:
        """Resolve ``5``, ``05``, ``05_semaphore_limit`` or ``semaphore_limit``.

        Raises :class:`KeyError` with a message that lists what exists, or
        :class:`ConfigError` if that exercise's ``exercise.toml`` is broken.
        """
        wanted = key.strip()
        for folder, message in self.broken:
            number, _, slug = folder.partition("_")
            if (wanted.isdigit() and int(wanted) == int(number)) or wanted in (folder, slug):
                raise ConfigError(message)
        for ex in self.exercises:
            if wanted.isdigit() and int(wanted) == ex.number:
                return ex
            if wanted in (ex.slug, ex.slug[3:]):
                return ex
        known = ", ".join(ex.code for ex in self.exercises) or "none"
        raise KeyError(f"no exercise {key!r} in this course (known: {known}); try `grade list`")


def find_course(start: Path) -> Path:
    """Walk up from ``start`` to the folder holding ``exercises/``."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder
    raise ConfigError(
        f"no course found: neither {here} nor a folder above it holds exercises/; "
        "run grade inside the course repository or pass --course DIR"
    )


def load_catalog(course: Path) -> Catalog:
    """Read every ``exercises/NN_slug/exercise.toml`` of ``course``."""
    root = course / "exercises"
    if not root.is_dir():
        raise ConfigError(f"{course} holds no exercises/ folder; pass --course DIR")
    found: list[Exercise] = []
    broken: list[tuple[str, str]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not _FOLDER.match(folder.name):
            continue
        try:
            found.append(_load_exercise(folder, course))
        except ConfigError as exc:
            broken.append((folder.name, str(exc)))
    numbers = [ex.number for ex in found]
    for n in set(numbers):
        if numbers.count(n) > 1:
            raise ConfigError(f"{root}: two exercise folders use number {n:02d}; renumber one")
    return Catalog(course=course, exercises=tuple(found), broken=tuple(broken))


def _load_exercise(folder: Path, course: Path) -> Exercise:
    path = folder / "exercise.toml"
    match = _FOLDER.match(folder.name)
    assert match is not None
    if not path.is_file():
        raise ConfigError(f"{path}: missing; every exercise folder needs an exercise.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    return _parse(path, data, folder, course, int(match.group(1)))


def _parse(path: Path, data: dict[str, Any], folder: Path, course: Path, number: int) -> Exercise:
    def need(key: str, kind: type, example: str) -> Any:
        if key not in data:
            raise ConfigError(f"{path}: key '{key}' is missing; add e.g. {key} = {example}")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{path}: key '{key}' must be a {kind.__name__}, not {value!r}; "
                f"write e.g. {key} = {example}"
            )
        return value

    title = need("title", str, '"Bounded gather"')
    difficulty = need("difficulty", int, "2")
    if difficulty not in POINTS_BY_DIFFICULTY:
        raise ConfigError(f"{path}: key 'difficulty' must be 1 to 5, not {difficulty}")
    points = data.get("points", POINTS_BY_DIFFICULTY[difficulty])
    if points != POINTS_BY_DIFFICULTY[difficulty]:
        raise ConfigError(
            f"{path}: key 'points' is {points!r} but difficulty {difficulty} is worth "
            f"{POINTS_BY_DIFFICULTY[difficulty]}; remove 'points' or set it to that"
        )
    if "number" in data and data["number"] != number:
        raise ConfigError(
            f"{path}: key 'number' is {data['number']!r} but the folder says {number:02d}; "
            "make them agree"
        )
    requires = data.get("python_requires", "3.11")
    m = re.fullmatch(r"(\d+)\.(\d+)", str(requires))
    if not isinstance(requires, str) or m is None:
        raise ConfigError(
            f"{path}: key 'python_requires' must be a string like \"3.12\", not {requires!r}"
        )
    clock = data.get("clock", "virtual")
    if clock not in CLOCKS:
        raise ConfigError(f"{path}: key 'clock' must be one of {', '.join(CLOCKS)}, not {clock!r}")
    wall = data.get("wall_limit", DEFAULT_WALL_LIMIT)
    if isinstance(wall, bool) or not isinstance(wall, int | float) or not 1 <= wall <= 3600:
        raise ConfigError(
            f"{path}: key 'wall_limit' must be seconds between 1 and 3600, not {wall!r}"
        )
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise ConfigError(f"{path}: key 'hints' must be a list of strings")
    api = data.get("api", {})
    if not isinstance(api, dict) or not all(isinstance(v, str) for v in api.values()):
        raise ConfigError(
            f"{path}: table 'api' must map each public name to its signature string, e.g. "
            '[api] greet = "async def greet(name: str) -> str"'
        )
    known = {
        "number",
        "title",
        "difficulty",
        "points",
        "python_requires",
        "clock",
        "wall_limit",
        "hints",
        "api",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key '{unknown[0]}'; known keys are {', '.join(sorted(known))}"
        )
    return Exercise(
        number=number,
        slug=folder.name,
        title=title,
        difficulty=difficulty,
        points=int(points),
        python_requires=(int(m.group(1)), int(m.group(2))),
        clock=clock,
        wall_limit=float(wall),
        hints=tuple(hints),
        api=tuple(api.items()),
        folder=folder,
        course=course,
    )
