"""Probes and fakes: jobs that record what happened to them, on loop time.

A probe records its start, its end, the instant it saw a cancellation and the
instant its ``finally`` ran, and the recorder tracks how many probes were
running at once. Probes are cancel-safe: recording never awaits, so a cancel
cannot land in the middle of bookkeeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProbeRecord", "Probes"]

_UNSET: Any = object()


@dataclass
class ProbeRecord:
    """What happened to one run of a probe (times are loop times, ``None`` if never)."""

    name: str
    started: float | None = None
    ended: float | None = None
    cancelled: float | None = None
    finally_at: float | None = None
    failed: BaseException | None = None

    @property
    def running(self) -> bool:
        return self.started is not None and self.finally_at is None


@dataclass
class Probes:
    """A recorder of probe runs for one check.

    ``events`` is the ordered list of ``(time, kind, name)`` with kinds
    ``start``, ``end``, ``cancel``, ``finally`` and ``error``.
    """

    records: list[ProbeRecord] = field(default_factory=list)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    running: int = 0
    peak: int = 0
    _counts: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _note(self, kind: str, name: str) -> float:
        now = self._now()
        self.events.append((now, kind, name))
        return now

    @asynccontextmanager
    async def span(self, name: str) -> AsyncIterator[ProbeRecord]:
        """Record a block of code as a probe run named ``name``."""
        rec = ProbeRecord(name)
        self.records.append(rec)
        rec.started = self._note("start", name)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            yield rec
        except asyncio.CancelledError:
            rec.cancelled = self._note("cancel", name)
            raise
        except BaseException as exc:
            rec.failed = exc
            self._note("error", name)
            raise
        else:
            rec.ended = self._note("end", name)
        finally:
            self.running -= 1
            rec.finally_at = self._note("finally", name)

    def job(
        self,
        delay: float,
        result: Any = _UNSET,
        *,
        exc: BaseException | None = None,
        name: str | None = None,
    ) -> Callable[[], Awaitable[Any]]:
        """A factory of jobs that sleep ``delay`` seconds, then return or raise.

        Each call of the factory starts a fresh run with its own record. The
        default result is the string ``"result-<name>"``.
        """
        label = name or f"job{len(self._counts)}"
        self._counts.setdefault(label, 0)
        value = f"result-{label}" if result is _UNSET else result

        async def run() -> Any:
            self._counts[label] += 1
            run_name = label if self._counts[label] == 1 else f"{label}#{self._counts[label]}"
            async with self.span(run_name):
                await asyncio.sleep(delay)
                if exc is not None:
                    raise exc
                return value

        return run

    def jobs(
        self, delays: list[float], *, prefix: str = "job"
    ) -> list[Callable[[], Awaitable[Any]]]:
        """One factory per delay, named ``<prefix>0``, ``<prefix>1``, ..."""
        return [self.job(d, name=f"{prefix}{i}") for i, d in enumerate(delays)]

    def get(self, name: str) -> ProbeRecord:
        """The record of the first run named ``name``."""
        for rec in self.records:
            if rec.name == name:
                return rec
        raise KeyError(f"no probe run named {name!r} (runs: {[r.name for r in self.records]})")

    def started(self) -> list[ProbeRecord]:
        return [r for r in self.records if r.started is not None]

    def unfinished(self) -> list[ProbeRecord]:
        """Runs whose ``finally`` has not run yet."""
        return [r for r in self.records if r.finally_at is None]
