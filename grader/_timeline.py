"""Draw what a check's probes did on the loop-time axis, in the terminal or as SVG.

One row per probe run: ``━`` while it ran, ``✓`` where it ended, ``✗`` where it
saw a cancellation, ``f`` where its ``finally`` ran. Shown under a failed timing
or cancellation check so that "ran one at a time" or "kept running after the
cancel" is visible at a glance. ``--timeline FILE.svg`` saves the same picture
(rich records the console and exports it; no SVG code of our own).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ._model import ProbeSpan

__all__ = ["render"]

WIDTH = 48


def render(spans: Sequence[ProbeSpan], expected_end: float | None = None) -> list[Text]:
    """Rows of a timeline; empty when there is nothing to draw.

    ``expected_end`` (when a check said when the call should have ended) adds
    a row marking that instant, beside what the probes really did.
    """
    times = [t for s in spans for t in (s.start, s.end, s.cancel, s.finally_at) if t is not None]
    if expected_end is not None and times:
        times.append(expected_end)
    if not spans or not times:
        return []
    horizon = max(times) or 1.0
    scale = (WIDTH - 1) / horizon

    def col(t: float) -> int:
        return min(WIDTH - 1, max(0, round(t * scale)))

    label_width = min(16, max(len(s.name) for s in spans))
    if expected_end is not None:
        label_width = max(label_width, len("expected"))
    rows = [Text(" " * (label_width + 1) + f"0 s{' ' * (WIDTH - 8)}{horizon:g} s", style="dim")]
    for s in spans:
        cells = [" "] * WIDTH
        styles = ["dim"] * WIDTH
        if s.start is not None:
            stop = next((t for t in (s.end, s.cancel, s.finally_at) if t is not None), horizon)
            for i in range(col(s.start), col(stop) + 1):
                cells[i], styles[i] = "━", "cyan"
            for t, mark, style in (
                (s.end, "✓", "green"),
                (s.cancel, "✗", "red"),
                (s.finally_at if s.end is None and s.cancel is None else None, "f", "yellow"),
            ):
                if t is not None:
                    cells[col(t)], styles[col(t)] = mark, style
        row = Text(s.name[:label_width].ljust(label_width) + " ")
        for ch, style in zip(cells, styles, strict=True):
            row.append(ch, style=style)
        rows.append(row)
    if expected_end is not None:
        row = Text("expected".ljust(label_width) + " ")
        row.append(" " * col(expected_end) + "┃", style="bold magenta")
        row.append(f" the call should have ended here ({expected_end:g} s)", style="magenta")
        rows.append(row)
    rows.append(Text("━ running  ✓ ended  ✗ cancelled  f finally only", style="dim"))
    return rows
