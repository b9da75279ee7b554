"""What the PNG charts and the workbooks' native charts share: colours, and a waterfall's axis.

:mod:`capitation.plots` (matplotlib) and :mod:`capitation.excel.budget_sheets`
(a native Excel chart) draw the same budget bridge waterfall; both read their
colours and the range of the value axis here, so the chart in the workbook
matches the PNG and notebook 02: red steps add to spend, blue steps take from
it, the two totals are grey. The axis does not start at zero (the steps would
be slivers on top of two tall totals): it starts below the smallest running
total by half the range the running totals cover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["INCREASE", "DECREASE", "TOTAL", "BEFORE", "AFTER", "WATERFALL_LEGEND",
           "waterfall_range"]

INCREASE = "#c0504d"
"""A step that adds to spend: red, as finance papers draw it."""
DECREASE = "#4f81bd"
"""A step that takes from spend: blue."""
TOTAL = "#7f7f7f"
"""A total (the baseline and the budget): grey."""
BEFORE = "#bfbfbf"
"""Before a change (distance from target before pace of change): light grey."""
AFTER = "#1f4e79"
"""After a change: dark blue."""

#: The legend of a waterfall, in order: the words a reader sees and each one's colour.
WATERFALL_LEGEND: tuple[tuple[str, str], ...] = (
    ("Increase", INCREASE), ("Decrease", DECREASE), ("Total", TOTAL))


def waterfall_range(baseline: float, steps: Sequence[float], total: float) -> tuple[float, float]:
    """Return the value axis of a waterfall: from below its lowest point to above its highest.

    The running totals (the baseline, the end of each step, the total) cover
    ``[low, high]``; the axis runs from ``low − 0.5 × (high − low)`` to
    ``high + 0.12 × (high − low)``, widened to whole multiples of a round
    step (1, 2 or 5 times a power of ten, about a tenth of the span), and
    never below zero when every running total is at or above zero.

    Parameters
    ----------
    baseline : float
        Where the waterfall starts (pounds).
    steps : sequence of float
        Each step's amount, in order (pounds, signed).
    total : float
        Where it ends (pounds).

    Returns
    -------
    tuple of float
        The axis minimum and maximum (pounds).
    """
    points = [baseline, total]
    running = baseline
    for step in steps:
        running += step
        points.append(running)
    low, high = min(points), max(points)
    span = high - low
    if span <= 0:
        span = abs(high) * 0.1 or 1.0
    bottom, top = low - 0.5 * span, high + 0.12 * span
    unit = _round_step((top - bottom) / 10)
    bottom, top = math.floor(bottom / unit) * unit, math.ceil(top / unit) * unit
    if low >= 0:
        bottom = max(bottom, 0.0)
    return float(bottom), float(top)


def _round_step(rough: float) -> float:
    """Return 1, 2 or 5 times a power of ten, the nearest at or above ``rough`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(rough))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= rough:
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop ends at 10
