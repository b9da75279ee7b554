"""Results workbook → ``results.table(level)``, by the workbook's machine keys, not its headers.

The visible header of a level sheet is for people (labels such as
"Allocation (£)") and may change; what a program reads is fixed. Every
results workbook carries a hidden sheet ``_columns`` with one row per level
sheet: the sheet, the level, the year, the (1-based) row holding the exact
column names (a hidden row of the level sheet: the level's name over the
code column, then the columns of ``results.table``), the first data row and
the number of data rows (:mod:`capitation.excel.keyed_tables`); a scenarios
workbook (``capitation scenarios``) adds the scenario each sheet belongs to.
:func:`read_results` follows it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from capitation.errors import InputError
from capitation.excel.keyed_tables import (
    KEYS_HEADER,
    KEYS_SHEET,
    SCENARIO_KEY,
    key_entries,
    read_keyed_table,
)
from capitation.excel.read import open_workbook

__all__ = ["read_results", "KEYS_SHEET", "KEYS_HEADER", "SCENARIO_KEY"]


def read_results(path: str | Path, level: str, year: str | None = None,
                 scenario: str | None = None) -> pd.DataFrame:
    """Read one level's table back from a results or scenarios workbook.

    Parameters
    ----------
    path : str or Path
        A workbook written by :meth:`capitation.Results.to_excel`, by
        ``capitation run --with-inputs`` or by ``capitation scenarios``.
    level : str
        ``practice`` or a level of the model (``ICB``, ``ICB/LAD``).
    year : str, optional
        Financial year (default: the first in the workbook).
    scenario : str, optional
        In a scenarios workbook, the scenario whose run to read (default:
        the base, the first); a results workbook has none.

    Returns
    -------
    pandas.DataFrame
        The same table as ``results.table(level, year)`` (of that scenario's
        run): indexed by code (index named after the level), the same columns
        in the same order, text columns as strings (a blank cell is missing),
        figures as float64 (as Excel stores them, to 16 significant digits; a
        blank formula result is NaN).

    Raises
    ------
    InputError
        The workbook has no ``_columns`` sheet, or no sheet for the scenario,
        level or year.
    """
    path = Path(path)
    book = open_workbook(path)
    entries = key_entries(book, path, "results")
    scenarios = list(dict.fromkeys(e.get(SCENARIO_KEY, "") for e in entries))
    if scenario is not None and scenario not in scenarios:
        named = [s for s in scenarios if s]
        what = (f"scenarios are {', '.join(named)}" if named
                else "a results workbook: only a scenarios workbook has scenarios")
        raise InputError(f'has no scenario "{scenario}" ({what})', file=path, sheet=KEYS_SHEET)
    if scenarios:
        picked = scenarios[0] if scenario is None else scenario
        entries = [e for e in entries if e.get(SCENARIO_KEY, "") == picked]
    years = list(dict.fromkeys(e["year"] for e in entries))
    chosen = years[0] if year is None and years else (year or "")
    found = [e for e in entries if e["level"] == level and e["year"] == chosen]
    if not found:
        levels = ", ".join(dict.fromkeys(e["level"] for e in entries))
        where = f' in year "{chosen}"' if chosen else ""
        raise InputError(f'has no level "{level}"{where} (levels are {levels}; years are '
                         f'{", ".join(years) or "none"})', file=path, sheet=KEYS_SHEET)
    return read_keyed_table(book, path, found[0], "results", "level")
