"""Property checks on the virtual clock, with Hypothesis.

:func:`forall` draws scenarios from a strategy and runs ``check(example)`` for
each on a fresh virtual loop; ``check`` returns a problem (in the learner's
words) or ``None``. Hypothesis is derandomised, keeps no example database and
has no deadline, so a verdict never changes between runs; a failure is
shrunk to the smallest failing scenario, which the message shows with the
seed. Used from synchronous checks (each example owns its loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import KataFailure

__all__ = ["forall"]


def _run(check: Callable[[Any], Awaitable[str | None]], example: Any) -> str | None:
    loop = asyncio.get_event_loop_policy().new_event_loop()
    try:
        return loop.run_until_complete(check(example))
    except Exception as exc:  # the submission's error is the finding
        return f"raised {type(exc).__name__}: {exc}"
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def _ignore_local_constants() -> None:
    """Keep Hypothesis from mining the submission's source for example values.

    Recent Hypothesis versions parse every "local" module (the submission and
    the suite among them) to seed generation with their literals. Here that
    would make the scenarios depend on the submission's text, so two
    submissions could be judged on different scenarios, and it costs a parse
    of each module on every cold grading. There is no public setting for it;
    the private hook is replaced only where it exists.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - layout of another Hypothesis version
        return
    empty = getattr(providers, "_local_constants", None)
    if empty is not None and hasattr(providers, "_get_local_constants"):
        providers._get_local_constants = lambda: empty


def forall(
    strategy: Any,
    check: Callable[[Any], Awaitable[str | None]],
    *,
    what: str,
    examples: int = 50,
) -> None:
    """Fail with the smallest scenario from ``strategy`` for which ``check`` finds a problem."""
    from hypothesis import HealthCheck, Phase, given, settings

    from ._sweep import _mark

    _mark("property")
    _ignore_local_constants()
    found: list[tuple[Any, str]] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    )
    @given(strategy)
    def prop(example: Any) -> None:
        problem = _run(check, example)
        if problem is not None:
            found.append((example, problem))
            raise AssertionError(problem)

    try:
        prop()
    except Exception:
        if not found:
            raise
        example, problem = found[-1]
        raise KataFailure(
            f"{what}: smallest failing scenario {example!r} (derandomised, fixed seed; "
            f"{examples} scenarios): {problem}"
        ) from None
