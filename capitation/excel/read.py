"""Reading worksheets into raw frames (values only, never formulas).

The rest of the package asks this module for a sheet's cells; it never opens a
workbook itself. Cell values are read as the workbook stores them (formula
results, not formulas), with python-calamine.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from capitation.errors import InputError

__all__ = ["read_sheet_table", "sheet_names", "column_letter"]


def column_letter(index: int) -> str:
    """Return the Excel column letter of a zero-based column index (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sheet_names(path: str | Path) -> list[str]:
    """Return the sheet names of a workbook, in order."""
    try:
        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as exc:  # calamine raises its own types for corrupt files
        raise InputError(f"cannot be read as an Excel workbook ({exc})", file=path) from None


def read_sheet_table(path: str | Path, sheet: str) -> pd.DataFrame:
    """Read a sheet whose first row is a header into a DataFrame of objects.

    Parameters
    ----------
    path : str or Path
        The workbook.
    sheet : str
        The sheet name.

    Returns
    -------
    pandas.DataFrame
        One column per header cell (header text as written), one row per data
        row below it; empty cells are None. Row ``i`` of the frame is
        worksheet row ``i + 2``.
    """
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise InputError(f"cannot be read as an Excel workbook ({exc})", file=path) from None
    if sheet not in book.sheet_names:
        raise InputError(
            f'no sheet "{sheet}" (sheets are: {", ".join(book.sheet_names)})', file=path
        )
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    if not rows:
        raise InputError("the sheet is empty (expected a header row and data rows)",
                         file=path, sheet=sheet)
    header = ["" if h is None else str(h) for h in rows[0]]
    body = [list(r) + [None] * (len(header) - len(r)) for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    frame = frame.map(lambda v: None if v == "" else v)
    return frame
