"""Catalog: discovery, lookup by number or slug, and messages for broken exercise.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_course

from grader._catalog import ConfigError, find_course, load_catalog


def test_discovers_and_finds_by_number_or_slug(tmp_path: Path) -> None:
    course = make_course(tmp_path)
    cat = load_catalog(course.root)
    assert [ex.slug for ex in cat.exercises] == ["01_tiny"]
    for key in ("1", "01", "01_tiny", "tiny"):
        assert cat.find(key).number == 1
    ex = cat.find("1")
    assert ex.points == 20 and ex.wall_limit == 20 and ex.hints == ("double it", "sleep first")
    assert ex.api == (("double", "async def double(x: int) -> int"),)


def test_unknown_exercise_lists_known(tmp_path: Path) -> None:
    cat = load_catalog(make_course(tmp_path).root)
    with pytest.raises(KeyError, match="known: 01"):
        cat.find("7")


def test_find_course_walks_up(tmp_path: Path) -> None:
    course = make_course(tmp_path)
    deep = course.root / "exercises" / "01_tiny"
    assert find_course(deep) == course.root.resolve()
    with pytest.raises(ConfigError, match="no course found"):
        find_course(tmp_path.parent.parent if tmp_path.parent.parent != tmp_path else tmp_path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("difficulty = 1\n", "key 'title' is missing; add e.g. title ="),
        ("title = 3\ndifficulty = 1\n", "key 'title' must be a str"),
        ('title = "x"\ndifficulty = 9\n', "key 'difficulty' must be 1 to 5"),
        (
            'title = "x"\ndifficulty = 1\npoints = 50\n',
            "key 'points' is 50 but difficulty 1 is worth 20",
        ),
        (
            'title = "x"\ndifficulty = 1\npython_requires = 3.12\n',
            "key 'python_requires' must be a string",
        ),
        ('title = "x"\ndifficulty = 1\nclock = "fast"\n', "key 'clock' must be one of"),
        ('title = "x"\ndifficulty = 1\nwall_limit = 0\n', "key 'wall_limit' must be seconds"),
        ('title = "x"\ndifficulty = 1\nhints = "one"\n', "key 'hints' must be a list of strings"),
        ('title = "x"\ndifficulty = 1\ncolour = "red"\n', "unknown key 'colour'"),
        ('title = "x\n', "not valid TOML"),
        ('title = "x"\ndifficulty = 1\n[api]\nf = 1\n', "table 'api' must map"),
    ],
)
def test_broken_toml_names_file_key_and_fix(tmp_path: Path, toml: str, expected: str) -> None:
    course = make_course(tmp_path)
    path = course.root / "exercises" / "01_tiny" / "exercise.toml"
    path.write_text(toml)
    cat = load_catalog(course.root)
    with pytest.raises(ConfigError) as info:
        cat.find("1")
    assert str(path) in str(info.value)
    assert expected in str(info.value)
    with pytest.raises(ConfigError):
        cat.check_whole()


def test_one_broken_exercise_does_not_hide_the_others(tmp_path: Path) -> None:
    course = make_course(tmp_path)
    other = course.root / "exercises" / "02_other"
    other.mkdir()
    cat = load_catalog(course.root)
    assert cat.find("1").slug == "01_tiny"
    with pytest.raises(ConfigError, match="missing; every exercise folder needs an exercise.toml"):
        cat.find("2")
