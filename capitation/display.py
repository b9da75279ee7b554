"""Tidy HTML tables for Jupyter: money as pounds with thousands separators.

Result objects call :func:`html_table` from their ``_repr_html_``. Formatting
follows each column's unit in :mod:`capitation.columns`: money as
``£1,234.56``, persons with thousands separators, a need index to three
decimal places, and fractions as percentages (except
:data:`PLAIN_FRACTIONS`). A column the schema does not know is money when its
name ends in ``_gbp`` and otherwise shown as it is. Nothing is computed; the
numbers are the ones the table holds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import pandas as pd

from capitation.columns import find

__all__ = ["formatter_for", "format_table", "html_table", "pounds"]

#: Fraction columns (by the schema) this display has always shown as plain
#: numbers, not percentages; every other fraction shows as a percentage.
PLAIN_FRACTIONS = frozenset({
    "activity_change", "semi_fixed", "variable", "release_fraction", "stranded_support",
    "required_reduction_in_tier", "reduction", "cohort_50_share", "largest_shortfall",
    "above_plan", "below_plan", "tolerance", "upto", "max_loss", "max_gain", "share:<party>",
})


def pounds(value: float | None, decimals: int = 2) -> str:
    """Pounds with thousands separators: ``£1,234.56``, ``-£1,234.56``; blank for NaN.

    Parameters
    ----------
    value : float or None
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


#: A cell formatter: a number (or None / NaN, shown blank) to its text.
Formatter = Callable[[float | None], str]


def _blank_or(fmt: Callable[[float], str]) -> Formatter:
    def show(value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return fmt(value)

    return show


def formatter_for(column: str) -> Formatter | None:
    """Return the formatter the column name calls for, or None to leave it as it is.

    Parameters
    ----------
    column : str
        A column name (``target_gbp``, ``need_index``), looked up in
        :mod:`capitation.columns`.

    Returns
    -------
    callable or None
    """
    name = str(column)
    entry = find(name)
    if entry is None:  # not in the schema (or ambiguous): the style guide's money rule
        return pounds if name.endswith("_gbp") else None
    if entry.unit == "gbp":
        return pounds
    if entry.unit == "fraction" and (entry.pattern or entry.name) not in PLAIN_FRACTIONS:
        return _blank_or(lambda x: f"{x:.2%}")
    if entry.unit == "index":
        return _blank_or(lambda x: f"{x:.3f}")
    if entry.unit == "persons":
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
                         classes="ics-table", na_rep="")  # a missing name is blank
    if caption is None:
        return body
    return f"<div><p><strong>{html.escape(caption)}</strong></p>{body}</div>"
