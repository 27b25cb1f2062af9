"""Property checks on the virtual clock, with Hypothesis.

:func:`forall` draws scenarios from a strategy and runs ``check(example)`` for
each on a fresh virtual loop; ``check`` returns a problem (in the learner's
words) or ``None``. Hypothesis is derandomised, keeps no example database and
has no deadline, so a verdict never changes between runs; a failure is
shrunk to the smallest failing scenario, which the message shows with the
seed. Used from synchronous checks (each example owns its loop).

Replay. Derandomised, Hypothesis draws the same scenarios in the same order
on every run that finds no failure, and its engine costs about 1 ms per
scenario, most of a property's time. So the course records, once, the
scenarios each property's check receives when the reference passes
(``grade verify --update``; the parent hands them over in the child's
configuration, see ``grader._scenarios``), and a grading replays them
without the engine. At the first scenario that fails, Hypothesis runs as
before: it meets the same failure at the same place, shrinks it and reports
it, so a replay changes the time a property takes, not its verdict nor the
scenario it reports (only asyncio's running task numbers in a message differ).
A replay is used only for the suite, the Hypothesis version (the parent
checks both, see ``grader._scenarios.for_suite``) and the version of this
module it was recorded with; anything else runs Hypothesis.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import importlib
import sys
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .errors import KataFailure

__all__ = ["forall", "key_for", "set_replay", "strategies"]

# Set once from the child's configuration, before the submission is imported,
# and watched for replacement after every check (``_tamper``).
_REPLAY: Mapping[str, Any] = types.MappingProxyType({})
_RECORD: list[bool] = [False]


def _digest() -> str:
    """This module's text: Hypothesis's seed comes from it (see ``_hypothesis``)."""
    try:
        with open(__file__, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:16]
    except OSError:
        return ""


# Read at import (in the warm worker, before any fork), so a recording made
# with another version of this module is never replayed.
_ENGINE = _digest()


class _Lazy:
    """A strategy expression (``st.tuples(st.integers(1, 4))``) built when first needed.

    With a replay, a passing property never needs Hypothesis, whose import
    (about 65 ms) was most of a suite's collection; suites build their
    strategies from :data:`strategies`, which hands out these until
    Hypothesis is imported (when a property runs it) and the real ones after.
    """

    __slots__ = ("_built", "_make")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._built: Any = _Lazy

    def build(self) -> Any:
        if self._built is _Lazy:
            self._built = self._make()
        return self._built

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Lazy(lambda: getattr(self.build(), name))

    def __call__(self, *args: Any, **kwargs: Any) -> _Lazy:
        return _Lazy(lambda: self.build()(*_real(args), **_real(kwargs)))

    # ``a | b`` is ``one_of(a, b)``; the only operator strategies have.
    def __or__(self, other: Any) -> _Lazy:
        return _Lazy(lambda: self.build() | _real(other))

    def __ror__(self, other: Any) -> _Lazy:
        return _Lazy(lambda: _real(other) | self.build())


def _real(value: Any) -> Any:
    """``value`` with every lazy strategy in it built (inside lists, tuples and dicts too)."""
    if isinstance(value, _Lazy):
        return value.build()
    if isinstance(value, (list, tuple)):
        return type(value)(_real(v) for v in value)
    if isinstance(value, dict):
        return {k: _real(v) for k, v in value.items()}
    return value


class _Strategies:
    """``hypothesis.strategies`` for suites, without importing it before it is needed."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        real = sys.modules.get("hypothesis.strategies")
        if real is not None:
            return getattr(real, name)
        return _Lazy(lambda: getattr(importlib.import_module("hypothesis.strategies"), name))


strategies: Any = _Strategies()


def set_replay(replay: Mapping[str, Any] | None, *, record: bool = False) -> None:
    """Install this suite's recorded scenarios (``key -> {"grader", "examples", ...}``).

    ``record``: run Hypothesis for every property and keep what each check
    received, for :func:`grader._scenarios.record`.
    """
    global _REPLAY
    frozen = {
        str(k): (str(v.get("grader", "")), tuple(map(str, v["examples"])))
        for k, v in (replay or {}).items()
    }
    _REPLAY = types.MappingProxyType(frozen)
    _RECORD[0] = record


def key_for(nodeid: str, index: int, what: str, examples: int) -> str:
    """The name a property's scenarios are recorded under: its check, its place in it."""
    return f"{nodeid}#{index}:{examples}:{what}"


# What ast.literal_eval raises on a text that is not a plain literal.
_NOT_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)


def _round_trips(example: Any) -> bool:
    """Whether ``repr`` gives back an equal value of the same shape (tuples stay tuples)."""
    try:
        back = ast.literal_eval(repr(example))
    except _NOT_LITERAL:
        return False
    return back == example and repr(back) == repr(example)


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
    from ._state import session
    from ._sweep import _mark

    _mark("property")
    state = session().check
    key = None
    if state is not None:
        key = key_for(state.nodeid, state.properties, what, examples)
        state.properties += 1
    replayed = _replay(key, check)
    if replayed is _PASSED:
        return
    seen: list[str | None] = []
    _hypothesis(strategy, check, what=what, examples=examples, seen=seen)
    if replayed is not None:
        # The replay met a failure that Hypothesis, running the same
        # scenarios, did not: the submission answers differently the second
        # time (state kept between calls). It failed; say where.
        example, problem = replayed
        raise KataFailure(
            f"{what}: scenario {example!r} failed (derandomised, fixed seed; {examples} "
            f"scenarios) but passed when run again, so the result depends on earlier calls "
            f"(state kept between calls?): {problem}"
        )
    if _RECORD[0] and state is not None and key is not None:
        texts = [t for t in seen if t is not None]
        if len(texts) == len(seen):
            # The parent adds the Hypothesis version, which it also checks.
            state.recorded[key] = {"grader": _ENGINE, "examples": texts}


_PASSED: Any = object()


def _replay(key: str | None, check: Callable[[Any], Awaitable[str | None]]) -> Any:
    """Run the recorded scenarios: ``_PASSED``, the first failure, or None (none recorded)."""
    if key is None or _RECORD[0]:
        return None
    entry = _REPLAY.get(key)
    if entry is None:
        return None
    # The parent passed only recordings of the installed Hypothesis version
    # (grader._scenarios.for_suite): asking Hypothesis here would import it.
    engine, texts = entry
    if engine != _ENGINE or not _ENGINE:
        return None
    try:
        scenarios = [ast.literal_eval(text) for text in texts]
    except _NOT_LITERAL:
        return None
    for example in scenarios:
        problem = _run(check, example)
        if problem is not None:
            return (example, problem)
    return _PASSED


def _recording(
    check: Callable[[Any], Awaitable[str | None]], seen: list[str | None]
) -> Callable[[Any], Awaitable[str | None]]:
    """``check``, keeping the text of each scenario it receives (None if ``repr``
    does not give it back), before the check can change it."""

    async def recorded(example: Any) -> str | None:
        seen.append(repr(example) if _round_trips(example) else None)
        return await check(example)

    return recorded


def _hypothesis(
    strategy: Any,
    check: Callable[[Any], Awaitable[str | None]],
    *,
    what: str,
    examples: int,
    seen: list[str | None],
) -> None:
    """Hypothesis proper; ``seen`` gets each scenario's text as the check received it
    (None where ``repr`` does not give it back), in order."""
    from hypothesis import HealthCheck, Phase, given, settings

    _ignore_local_constants()
    found: list[tuple[Any, str]] = []
    strategy = _real(strategy)
    if _RECORD[0]:
        check = _recording(check, seen)

    # Derandomised, Hypothesis seeds itself from the source text of ``prop``
    # and its decorators: any edit to those lines changes every property's
    # scenarios (and so which course mutants they catch), and voids every
    # recording. Keep them as they are.
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
