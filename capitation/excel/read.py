"""Reading worksheets into raw frames (values only, never formulas).

The rest of the package asks this module for a sheet's cells; it never opens a
workbook itself. Every workbook first passes :func:`capitation.excel.guard.check_workbook`
(zip and XML bombs, damaged files), and every sheet a streaming pass
(:func:`capitation.excel.sheet_scan.scan_sheet`) that refuses a value beyond
the limits of an input sheet before calamine allocates the sheet, and finds
error cells (``#DIV/0!``, ``#REF!``, which calamine reads as blanks) and
formula cells with no saved value (which it reads as blanks too), reported by
sheet and cell. Cell values are read as the workbook stores them (formula
results, not formulas), with python-calamine.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from capitation.errors import InputError
from capitation.excel.guard import check_workbook
from capitation.excel.sheet_scan import SheetScan, column_letter, scan_sheet

__all__ = ["read_sheet_table", "read_sheet_rows", "read_sheet", "sheet_names", "column_letter",
           "hidden_rows", "merged_ranges", "open_workbook"]


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


def hidden_rows(path: str | Path, sheet: str) -> list[int]:
    """Return the (1-based) numbers of a sheet's hidden rows."""
    return list(scan_sheet(path, sheet).hidden_rows)


def merged_ranges(path: str | Path, sheet: str) -> list[str]:
    """Return a sheet's merged ranges such as ``["B3:C3"]``."""
    return list(scan_sheet(path, sheet).merged)


def read_sheet(path: str | Path, sheet: str, book: CalamineWorkbook | None = None
               ) -> tuple[list[list], SheetScan]:
    """Read a sheet's cells, and what the streaming pass found in it.

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
    rows : list of list
        As :func:`read_sheet_rows` returns them.
    scan : SheetScan
        Its used range, hidden rows and merged ranges.

    Raises
    ------
    InputError
        When the sheet is missing or damaged, uses more than an input sheet
        may, or a cell holds an error such as ``#DIV/0!`` or a formula with no
        saved value.
    """
    book = open_workbook(path) if book is None else book
    if sheet not in book.sheet_names:
        raise InputError(
            f'no sheet "{sheet}" (sheets are: {", ".join(book.sheet_names)})', file=path
        )
    scan = scan_sheet(path, sheet)
    if scan.errors:
        errors, count = scan.errors, scan.error_count
        shown = ", ".join(f"{ref} {text}" for ref, text in errors[:5])
        more = f" and {count - 5} more" if count > 5 else ""
        raise InputError(f"holds an error value ({shown}{more}); expected a value: fix the "
                         "formula or type the value", file=path, sheet=sheet,
                         cell=errors[0][0])
    if scan.formulas_without_value:
        count = scan.formula_count
        more = f" (and {count - 1} more formula cells)" if count > 1 else ""
        raise InputError(f"holds a formula with no saved value{more}: recalculate and save "
                         "in Excel, or type the value", file=path, sheet=sheet,
                         cell=scan.formulas_without_value[0])
    try:
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise InputError(f"cannot be read ({exc}; part {scan.part}); the workbook is damaged",
                         file=path, sheet=sheet) from None
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows], scan


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
        When the sheet is missing or damaged, uses more than an input sheet
        may (:mod:`capitation.excel.sheet_scan`), or a cell holds an error
        such as ``#DIV/0!`` or a formula with no saved value.
    """
    return read_sheet(path, sheet, book)[0]


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
