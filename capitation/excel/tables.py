"""Plain tables to a workbook: one sheet per DataFrame, text written as text.

For outputs that need no formulas (settlements, simulations). Written with
xlsxwriter to a temporary file and renamed, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from capitation.columns import GENERAL, MONEY_FORMAT, find, number_format
from capitation.files import write_atomically

__all__ = ["write_tables", "write_cell", "CellFormats", "MAX_SHEET_ROWS", "MONEY_FORMAT"]

MAX_SHEET_ROWS = 1_048_575
"""Rows of data a sheet can hold under its header row (Excel's limit is 1,048,576 rows)."""


class CellFormats:
    """Cell formats of output columns for one workbook, by :mod:`capitation.columns`.

    Each number format is added to the workbook once, when first asked for;
    ``General`` gives None (no format), as the writers have always left it.

    Parameters
    ----------
    book : xlsxwriter.Workbook
        The workbook being written.
    """

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self._book = book
        self._made: dict[str, Format] = {}

    def number(self, code: str) -> Format | None:
        """Return the format of an Excel number format code (None for ``General``)."""
        if code == GENERAL:
            return None
        if code not in self._made:
            self._made[code] = self._book.add_format({"num_format": code})
        return self._made[code]

    def __call__(self, name: str, table: str | None = None) -> Format | None:
        """Return the format of column ``name`` of ``table`` (KeyError if not in the schema)."""
        return self.number(number_format(name, table))

    def known(self, name: str) -> Format | None:
        """Return the format of a column the schema may not know (None for those it does not)."""
        entry = find(name)
        return None if entry is None else self.number(entry.number_format)


def write_cell(sheet: Worksheet, row: int, col: int, value: object,
               fmt: Format | None = None) -> None:
    """Write one value: text always as text (never a formula), numbers as numbers.

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        Target sheet.
    row, col : int
        Zero-based cell position.
    value : object
        The value; NaN and None are left blank.
    fmt : xlsxwriter.format.Format, optional
        Cell format.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, (bool, np.bool_)):
        sheet.write_boolean(row, col, bool(value), fmt)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def write_tables(path: str | Path, tables: Mapping[str, pd.DataFrame],
                 schema: Mapping[str, str] | None = None) -> Path:
    """Write each DataFrame to its own sheet, index first, atomically.

    Each column gets the number format of :mod:`capitation.columns`.

    Parameters
    ----------
    path : str or Path
        Output ``.xlsx`` file.
    tables : mapping of str to pandas.DataFrame
        Sheet name to table; the index (named) becomes the first column(s).
    schema : mapping of str to str, optional
        Sheet name to its table in :data:`capitation.columns.TABLES`: every
        column of that sheet must be in the schema (KeyError otherwise). A
        sheet without one formats the columns the schema knows and leaves
        the others as they are.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        When a table has more rows than a sheet holds (``MAX_SHEET_ROWS``):
        the writer would drop the rest without a word, so nothing is written.
    """
    for name, frame in tables.items():
        if len(frame) > MAX_SHEET_ROWS:
            raise ValueError(
                f"sheet {name}: {len(frame):,} rows do not fit in a sheet "
                f"(at most {MAX_SHEET_ROWS:,} under the header)"
            )

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "nan_inf_to_errors": True})
        bold = book.add_format({"bold": True})
        formats = CellFormats(book)

        for name, frame in tables.items():
            sheet = book.add_worksheet(name)
            flat = frame.reset_index()
            for c, column in enumerate(flat.columns):
                sheet.write_string(0, c, str(column), bold)
            columns = [flat[c].to_numpy(dtype=object) for c in flat.columns]
            table = None if schema is None else schema.get(name)
            for c, column in enumerate(flat.columns):
                fmt = formats(str(column), table) if table else formats.known(str(column))
                values = columns[c]
                for r in range(len(flat)):
                    write_cell(sheet, r + 1, c, values[r], fmt)
            sheet.freeze_panes(1, 1)
        book.close()

    return write_atomically(path, write)
