"""Import the submission as a fresh module and explain why when that fails.

Every check imports the file anew, so module-level state (a counter, a
module-level Semaphore bound to an earlier loop) behaves as it would in a
fresh program. ``NotImplementedError`` inside the module is replaced by a
subclass that records when it is raised: any such raise fails the check as
"not implemented yet", even if the code or the test caught it.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import traceback
from types import CodeType, ModuleType

from _pytest.outcomes import Failed

from ._state import session

__all__ = ["SubmissionError", "load_submission"]


class SubmissionError(Exception):
    """The submission could not be used at all; the message speaks to the learner."""


def _tracking_not_implemented() -> type[NotImplementedError]:
    class NotImplementedError(builtins_nie):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            state = session().check
            if state is not None and state.not_implemented is None:
                frame = sys._getframe(1)
                state.not_implemented = f"{session().display_name}:{frame.f_lineno}"

    return NotImplementedError


builtins_nie = NotImplementedError
# Set once an import hit the check's time limit: later checks fail at once
# instead of each waiting for the limit again.
_IMPORT_HUNG: list[str] = []


def _describe_kind(sig: str) -> str:
    if sig.lstrip().startswith("class "):
        return "class"
    if sig.lstrip().startswith("async def "):
        return "async"
    if sig.lstrip().startswith("def "):
        return "def"
    return "value"


def _returns_awaitable(sig: str) -> bool:
    """A ``def f(...) -> Coroutine[...]`` may also be written ``async def``."""
    return re.search(r"->\s*(Coroutine|Awaitable)\b", sig) is not None


def _check_api(module: ModuleType, api: dict[str, str]) -> None:
    name_shown = session().display_name
    for name, sig in api.items():
        if not hasattr(module, name):
            raise SubmissionError(
                f"{name_shown} does not define `{name}`; the exercise expects:\n    {sig}"
            )
        obj = getattr(module, name)
        kind = _describe_kind(sig)
        if kind == "async" and not inspect.iscoroutinefunction(obj):
            raise SubmissionError(
                f"`{name}` in {name_shown} must be a coroutine function (`async def`); "
                f"the exercise expects:\n    {sig}"
            )
        if kind == "def" and inspect.iscoroutinefunction(obj) and not _returns_awaitable(sig):
            raise SubmissionError(
                f"`{name}` in {name_shown} must be a plain function, not `async def`; "
                f"the exercise expects:\n    {sig}"
            )
        if kind == "class" and not inspect.isclass(obj):
            raise SubmissionError(
                f"`{name}` in {name_shown} must be a class; the exercise expects:\n    {sig}"
            )
        if kind in ("async", "def") and callable(obj):
            _check_parameters(name, obj, sig, name_shown)


def _check_parameters(name: str, obj: object, sig: str, shown: str) -> None:
    """Compare parameter names with the declared signature (names only, in order)."""
    match = re.search(r"\((.*)\)", sig, re.S)
    if match is None:
        return
    declared = [
        p.split(":")[0].split("=")[0].strip()
        for p in _split_params(match.group(1))
        if p.strip() and p.strip() not in ("*", "/")
    ]
    try:
        actual_sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    actual = [
        ("*" + p.name)
        if p.kind is p.VAR_POSITIONAL
        else ("**" + p.name)
        if p.kind is p.VAR_KEYWORD
        else p.name
        for p in actual_sig.parameters.values()
    ]
    wanted = [d for d in declared if d != "self"]
    actual = [a for a in actual if a != "self"]
    if any(a.startswith("*") for a in actual):
        return  # *args/**kwargs accept anything: let the checks decide
    missing = [d for d in wanted if d.lstrip("*") not in actual]
    if missing:
        raise SubmissionError(
            f"`{name}` in {shown} has parameters ({', '.join(actual)}) but the exercise "
            f"expects:\n    {sig}\n(missing: {', '.join(missing)})"
        )


def _split_params(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


# The submission's compiled code, by the file's bytes. Each check imports the
# file anew, but compiling it once per check cost a grading up to 10 ms of CPU
# for the same code; the file is still read every time, so a submission that
# rewrites itself is compiled again.
_CODE: dict[bytes, CodeType] = {}


def _code(path: str) -> CodeType:
    with open(path, "rb") as fh:
        source = fh.read()
    if source not in _CODE:
        _CODE.clear()
        # As importlib compiles a source file (SourceFileLoader.source_to_code).
        _CODE[source] = compile(source, path, "exec", dont_inherit=True)
    return _CODE[source]


def load_submission() -> ModuleType:
    """Import the submission file as a fresh module named ``submission``.

    Raises :class:`SubmissionError` with a learner-facing message for a syntax
    error, an exception or exit during import, or a missing public name.
    """
    if _IMPORT_HUNG:
        raise SubmissionError(_IMPORT_HUNG[0])
    state = session()
    path = state.submission_path
    shown = state.display_name
    sys.modules.pop("submission", None)
    spec = importlib.util.spec_from_file_location("submission", path)
    if spec is None or spec.loader is None:
        raise SubmissionError(f"{shown} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__dict__["NotImplementedError"] = _tracking_not_implemented()
    sys.modules["submission"] = module
    try:
        exec(_code(path), module.__dict__)
    except Failed as exc:
        if "Timeout" not in str(exc):
            raise
        where = ""
        for fs in reversed(traceback.extract_tb(exc.__traceback__)):
            if fs.filename == path:
                where = f" (it was running line {fs.lineno}: {fs.line})"
                break
        _IMPORT_HUNG.append(
            f"importing {shown} never finished{where}: module-level code must only define "
            "things, not loop forever or wait"
        )
        raise SubmissionError(_IMPORT_HUNG[0]) from None
    except SyntaxError as exc:
        caret = ""
        if exc.text:
            line = exc.text.rstrip("\n")
            col = max((exc.offset or 1) - 1, 0)
            caret = f"\n    {line}\n    {' ' * col}^"
        raise SubmissionError(
            f"{shown} has a syntax error on line {exc.lineno}: {exc.msg}{caret}"
        ) from None
    except SystemExit as exc:
        raise SubmissionError(
            f"{shown} called sys.exit({exc.code!r}) while being imported; "
            "module-level code should only define things"
        ) from None
    except KeyboardInterrupt:
        raise SubmissionError(f"{shown} raised KeyboardInterrupt while being imported") from None
    except Exception as exc:
        where = ""
        for fs in reversed(traceback.extract_tb(exc.__traceback__)):
            if fs.filename == path:
                where = f" at line {fs.lineno}: {fs.line}"
                break
        raise SubmissionError(
            f"importing {shown} raised {type(exc).__name__}: {exc}{where}"
        ) from None
    _check_api(module, state.api)
    return module
