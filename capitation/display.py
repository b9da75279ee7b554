"""Tidy HTML tables for Jupyter: money as pounds with thousands separators.

Result objects call :func:`html_table` from their ``_repr_html_``. Formatting
follows the column names of the style guide: ``*_gbp`` is money (``£1,234.56``),
a population or count has thousands separators, a need index three decimal
places, and fractions (distance from target, growth, shares, rates) are shown
as percentages. Nothing is computed; the numbers are the ones the table holds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import pandas as pd

__all__ = ["formatter_for", "format_table", "html_table", "pounds"]

#: Columns holding fractions, shown as percentages (0.3 shows as 30.00%).
PERCENT_COLUMNS = frozenset({
    "distance_from_target",
    "baseline_distance_from_target",
    "growth",
    "share",
    "influence",
    "p_loss",
    "marginal_rate",
    "population_share",
    "need_share",
})

#: Columns holding counts of people, shown with thousands separators.
COUNT_PREFIXES = ("population", "weighted_population", "persons")


def pounds(value: float, decimals: int = 2) -> str:
    """Pounds with thousands separators: ``£1,234.56``, ``-£1,234.56``; blank for NaN.

    Parameters
    ----------
    value : float
        Amount in pounds.
    decimals : int
        Decimal places (2 for whole pence).

    Returns
    -------
    str
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.{decimals}f}"


def _blank_or(fmt: Callable[[float], str]) -> Callable[[object], str]:
    def show(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return fmt(value)

    return show


def formatter_for(column: str) -> Callable[[object], str] | None:
    """Return the formatter the column name calls for, or None to leave it as it is.

    Parameters
    ----------
    column : str
        A column name following the style guide (``target_gbp``, ``need_index``).

    Returns
    -------
    callable or None
    """
    name = str(column)
    if name.endswith("_gbp"):
        return pounds
    if name in PERCENT_COLUMNS:
        return _blank_or(lambda x: f"{x:.2%}")
    if name.startswith("need_index"):
        return _blank_or(lambda x: f"{x:.3f}")
    if name.startswith(COUNT_PREFIXES):
        return _blank_or(lambda x: f"{x:,.0f}")
    return None


def format_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with money, counts, indices and fractions as text.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns named by the style guide's conventions.

    Returns
    -------
    pandas.DataFrame
        Same index and columns; formatted columns hold strings.
    """
    shown = frame.copy()
    for column in shown.columns:
        fmt = formatter_for(column)
        if fmt is not None:
            shown[column] = [fmt(x) for x in shown[column].tolist()]
    return shown


def html_table(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 60) -> str:
    """Return the HTML of ``frame`` formatted by :func:`format_table`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    caption : str, optional
        A line above the table (escaped).
    max_rows : int
        Longer tables show their first and last rows.

    Returns
    -------
    str
    """
    shown = format_table(frame)
    body = shown.to_html(max_rows=max_rows, escape=True, justify="right", border=0,
                         classes="ics-table")
    if caption is None:
        return body
    return f"<div><p><strong>{html.escape(caption)}</strong></p>{body}</div>"
