"""Run a suite's checks in a seeded random order (used by ``nox -s stress``)."""

from __future__ import annotations

import random

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grade-shuffle", type=int, default=None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seed = config.getoption("--grade-shuffle")
    if seed is not None:
        random.Random(seed).shuffle(items)
