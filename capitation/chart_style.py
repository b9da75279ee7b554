"""What the PNG charts and the workbooks' native charts share: colours, and a waterfall's axis.

:mod:`capitation.plots` (matplotlib) and :mod:`capitation.excel.budget_sheets`
(a native Excel chart) draw the same budget bridge waterfall; both read their
colours and the range of the value axis here, so the chart in the workbook
matches the PNG and notebook 02: red steps add to spend, blue steps take from
it, the two totals are grey. The axis does not start at zero (the steps would
be slivers on top of two tall totals): it starts below the smallest running
total by half the range the running totals cover. Each bar is labelled with
its amount in £m to two decimals: :func:`waterfall_label` writes the PNG's
labels, and :data:`WATERFALL_LABEL` and :data:`WATERFALL_LABEL_DOWN` are the
number formats that show the same text on the native chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["INCREASE", "DECREASE", "TOTAL", "BEFORE", "AFTER", "WATERFALL_LEGEND", "MINUS",
           "WATERFALL_LABEL", "WATERFALL_LABEL_DOWN", "waterfall_label", "waterfall_range"]

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


MINUS = "\u2212"
"""The minus sign of a chart label (U+2212, as matplotlib writes a negative tick)."""

WATERFALL_LABEL = f'£#,##0.00,,"m";"{MINUS}£"#,##0.00,,"m";'
"""Excel number format of a waterfall bar's label: pounds in £m to two decimals.

The two commas divide by a million; the empty third section leaves a zero
unlabelled (every bar has a value in each series of the native chart, zero
where another series draws it). Shows what :func:`waterfall_label` writes.
"""

WATERFALL_LABEL_DOWN = f'"{MINUS}£"#,##0.00,,"m";£#,##0.00,,"m";'
"""As :data:`WATERFALL_LABEL`, for the decrease series, which holds a fall as a positive amount."""


def waterfall_label(pence: int) -> str:
    """Return the label of a waterfall bar: its amount in £m to two decimals ("" for none).

    The text the native chart's number format (:data:`WATERFALL_LABEL`) shows
    for the same amount: hundredths of a million pounds (1,000,000 pence), a
    half rounding away from zero as Excel rounds what it displays, a minus
    sign (:data:`MINUS`) before the pound sign; a zero step has no label.

    Parameters
    ----------
    pence : int
        The bar's amount in whole pence (signed).

    Returns
    -------
    str
        Such as ``£45.35m`` or ``−£4.32m``.

    Examples
    --------
    >>> waterfall_label(-431_525_025)
    '−£4.32m'
    """
    if pence == 0:
        return ""
    hundredths = (abs(pence) + 500_000) // 1_000_000  # integers: half away from zero
    sign = MINUS if pence < 0 else ""
    return f"{sign}£{hundredths // 100:,}.{hundredths % 100:02d}m"


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
