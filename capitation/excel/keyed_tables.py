"""Tables in a workbook found by machine keys, not by their visible headers.

The visible header of an output sheet is for people and may change; what a
program reads is fixed. A workbook whose tables can be read back carries a
hidden sheet ``_columns`` (:data:`KEYS_SHEET`) with one row per table sheet:
the sheet, the table (a level of a results workbook, ``parties`` of a
settlement), the year, the (1-based) row holding the exact column names (a
hidden row of that sheet: the index's name over the first column, then the
table's columns), the first data row and the number of data rows.

:func:`write_keys` writes that sheet; :func:`key_entries` reads it and
:func:`read_keyed_table` reads one table back by it. The results workbook
(:func:`capitation.excel.results_reader.read_results`) and the settlement
workbook (:func:`risk_share.excel.settlement_reader.read_settlement`) both
use them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from capitation.columns import find
from capitation.errors import InputError
from capitation.excel.tables import write_cell

__all__ = ["KEYS_SHEET", "KEYS_HEADER", "SCENARIO_KEY", "KeyEntry", "write_keys", "sheet_rows",
           "key_entries", "read_keyed_table"]

#: The hidden sheet that says where each table sits.
KEYS_SHEET = "_columns"
#: Its header row.
KEYS_HEADER = ("sheet", "level", "year", "key_row", "first_row", "rows")
#: The column a scenarios workbook adds to it: the scenario of each sheet.
SCENARIO_KEY = "scenario"

#: One row of the keys sheet: sheet, table (level), year, key_row, first_row, rows.
KeyEntry = tuple[str, str, str, int, int, int]


def write_keys(book: xlsxwriter.Workbook, keys: list[tuple[str | int, ...]],
               header: tuple[str, ...] = KEYS_HEADER) -> None:
    """Add the hidden keys sheet to a workbook being written.

    Parameters
    ----------
    book : xlsxwriter.Workbook
        The workbook.
    keys : list of tuple
        One :data:`KeyEntry` per table sheet; rows are 1-based.
    header : tuple of str
        The keys sheet's header: :data:`KEYS_HEADER`, and :data:`SCENARIO_KEY`
        after it in a scenarios workbook (each entry then ends with its scenario).
    """
    sheet = book.add_worksheet(KEYS_SHEET)
    for c, name in enumerate(header):
        sheet.write_string(0, c, name)
    for r, row in enumerate(keys, start=1):
        for c, value in enumerate(row):
            write_cell(sheet, r, c, value)
    sheet.hide()


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def sheet_rows(book: object, sheet: str, path: Path, kind: str) -> list[list]:
    """Return a sheet's cells as rows (row 0 is worksheet row 1).

    Parameters
    ----------
    book : python_calamine.CalamineWorkbook
        The open workbook (:func:`capitation.excel.read.open_workbook`).
    sheet : str
        The sheet.
    path : Path
        The workbook's file, for the message.
    kind : str
        What the workbook should be ("results", "settlement"), for the message.

    Raises
    ------
    InputError
        Naming the file and the sheet when the workbook has no such sheet.
    """
    try:
        return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)  # type: ignore[attr-defined]
    except Exception:  # calamine raises its own error for a missing sheet
        raise InputError(f'no sheet "{sheet}": not a {kind} workbook of this toolkit',
                         file=path) from None


def key_entries(book: object, path: Path, kind: str) -> list[dict[str, str]]:
    """Return the rows of the keys sheet as dicts keyed by :data:`KEYS_HEADER` (all text).

    A scenarios workbook's rows also have :data:`SCENARIO_KEY`.

    Raises
    ------
    InputError
        The workbook has no keys sheet.
    """
    keys = sheet_rows(book, KEYS_SHEET, path, kind)
    return [dict(zip((*KEYS_HEADER, SCENARIO_KEY), (_text(v) for v in row), strict=False))
            for row in keys[1:] if row and row[0] not in ("", None)]


def read_keyed_table(book: object, path: Path, entry: dict[str, str], kind: str,
                     table: str) -> pd.DataFrame:
    """Read the table one keys-sheet entry points at.

    Parameters
    ----------
    book : python_calamine.CalamineWorkbook
        The open workbook.
    path : Path
        Its file, for messages.
    entry : dict
        A row of :func:`key_entries`.
    kind : str
        What the workbook should be, for messages.
    table : str
        The table's name in :mod:`capitation.columns` ("level", "parties"),
        which says which columns hold text.

    Returns
    -------
    pandas.DataFrame
        Indexed by the first column (text, named by the key row), then the
        key row's columns in order: text columns as strings (a blank cell is
        missing), figures as float64 (a blank is NaN).

    Raises
    ------
    InputError
        Naming the file and sheet when the table's sheet is missing.
    """
    key_row, first, count = int(entry["key_row"]), int(entry["first_row"]), int(entry["rows"])
    cells = sheet_rows(book, entry["sheet"], path, kind)
    names = [_text(v) for v in cells[key_row - 1]] if len(cells) >= key_row else []
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise InputError(f"row {key_row} holds no column names (it should: the hidden key row)",
                         file=path, sheet=entry["sheet"])
    data = [list(row) + [None] * (len(names) - len(row))
            for row in cells[first - 1:first - 1 + count]]
    codes = pd.Index([_text(row[0]) for row in data], dtype="str", name=names[0])
    columns: dict[str, object] = {}
    for c, name in enumerate(names[1:], start=1):
        values = [row[c] for row in data]
        known = find(name, table)
        text = (known.dtype == "str" if known is not None
                else any(isinstance(v, str) and v != "" for v in values))
        if text:
            columns[name] = pd.array([None if v in ("", None) else _text(v) for v in values],
                                     dtype="str")
        else:
            columns[name] = np.array([np.nan if v in ("", None) else float(v) for v in values],
                                     dtype="float64")
    return pd.DataFrame(columns, index=codes)
