"""Reading worksheets into raw frames (values only, never formulas).

The rest of the package asks this module for a sheet's cells; it never opens a
workbook itself. Every workbook first passes :func:`capitation.excel.guard.check_workbook`
(zip and XML bombs, damaged files). Cell values are read as the workbook
stores them (formula results, not formulas), with python-calamine; error
cells (``#DIV/0!``, ``#REF!``), which calamine reads as blanks, are found in
the sheet's XML and reported by sheet and cell.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from capitation.errors import InputError
from capitation.excel.guard import check_workbook, error_cells, sheet_parts

__all__ = ["read_sheet_table", "read_sheet_rows", "sheet_names", "column_letter",
           "hidden_rows", "merged_ranges", "open_workbook"]

_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\s[^>]*?\bhidden=[\"'](?:1|true)[\"'][^>]*>")
_ROW_NUMBER = re.compile(rb"\br=[\"'](\d+)[\"']")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?\bref=[\"']([A-Z]+\d+(?::[A-Z]+\d+)?)[\"']")


def column_letter(index: int) -> str:
    """Return the Excel column letter of a zero-based column index (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def open_workbook(path: str | Path) -> CalamineWorkbook:
    """Check a workbook with the guard, then open it with calamine."""
    check_workbook(path)
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for corrupt files
        raise InputError(f"cannot be read as an Excel workbook ({exc})", file=path) from None


def sheet_names(path: str | Path) -> list[str]:
    """Return the sheet names of a workbook, in order."""
    return list(open_workbook(path).sheet_names)


def _sheet_xml(path: str | Path, sheet: str) -> bytes:
    with zipfile.ZipFile(path) as book:
        part = sheet_parts(book).get(sheet)
        return book.read(part) if part is not None and part in book.namelist() else b""


def hidden_rows(path: str | Path, sheet: str) -> list[int]:
    """Return the (1-based) numbers of a sheet's hidden rows."""
    data = _sheet_xml(path, sheet)
    rows = []
    for match in _HIDDEN_ROW.finditer(data):
        number = _ROW_NUMBER.search(match.group(0))
        if number:
            rows.append(int(number.group(1)))
    return rows


def merged_ranges(path: str | Path, sheet: str) -> list[str]:
    """Return a sheet's merged ranges such as ``["B3:C3"]``."""
    return [m.group(1).decode() for m in _MERGE.finditer(_sheet_xml(path, sheet))]


def read_sheet_rows(path: str | Path, sheet: str, book: CalamineWorkbook | None = None
                    ) -> list[list]:
    """Read a sheet's cells as rows of Python values (row 0 is worksheet row 1).

    Parameters
    ----------
    path : str or Path
        The workbook.
    sheet : str
        The sheet name.
    book : CalamineWorkbook, optional
        The workbook already opened (and checked) with :func:`open_workbook`.

    Returns
    -------
    list of list
        Cells as calamine gives them (float, int, str, bool, date, datetime,
        "" for empty), padded to the sheet's width from A1.

    Raises
    ------
    InputError
        When the sheet is missing, or a cell holds an error such as ``#DIV/0!``.
    """
    book = open_workbook(path) if book is None else book
    if sheet not in book.sheet_names:
        raise InputError(
            f'no sheet "{sheet}" (sheets are: {", ".join(book.sheet_names)})', file=path
        )
    errors = error_cells(path, sheet)
    if errors:
        shown = ", ".join(f"{ref} {text}" for ref, text in errors[:5])
        more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise InputError(f"holds an error value ({shown}{more}); expected a value: fix the "
                         "formula or type the value", file=path, sheet=sheet,
                         cell=errors[0][0])
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows]


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
    rows = read_sheet_rows(path, sheet)
    if not rows:
        raise InputError("the sheet is empty (expected a header row and data rows)",
                         file=path, sheet=sheet)
    header = ["" if h is None else str(h) for h in rows[0]]
    body = [list(r) + [None] * (len(header) - len(r)) for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    frame = frame.map(lambda v: None if v == "" else v)
    return frame
