"""Plain tables to a workbook: one sheet per DataFrame, text written as text.

For outputs that need no formulas (simulations). Written with xlsxwriter to a
temporary file and renamed, so nothing is half-written, row by row in its
constant-memory mode, so a table of millions of rows takes little memory. A
sheet holds at most :data:`MAX_SHEET_ROWS` rows under its header: a longer
table is split across sheets with :func:`split_rows` (``positions``,
``positions_2``, ...), never cut. Columns are as wide as their longest
header or value as the sheet shows it; notes (units, the sign convention)
go under the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from capitation.columns import GENERAL, MONEY_FORMAT, find, number_format
from capitation.files import write_atomically

__all__ = ["write_tables", "write_rows", "write_cell", "split_rows", "fit_width", "CellFormats",
           "MAX_SHEET_ROWS", "MONEY_FORMAT"]

MAX_SHEET_ROWS = 1_048_575
"""Rows of data a sheet can hold under its header row (Excel's limit is 1,048,576 rows)."""
PROGRESS_ROWS = 10_000
"""Rows written between calls of :func:`write_tables`' ``progress``."""
_WIDEST = 60
"""Widest column, in characters (longer text runs on over the cells beside it)."""


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


def split_rows(name: str, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a table across as many sheets as it needs: ``name``, ``name_2``, ``name_3``, ...

    Parameters
    ----------
    name : str
        The first sheet's name (at most 27 characters, so ``_999`` fits).
    frame : pandas.DataFrame
        The table.

    Returns
    -------
    dict of str to pandas.DataFrame
        Sheet name to consecutive rows, at most :data:`MAX_SHEET_ROWS` each, in
        order; ``{name: frame}`` when it fits in one sheet. Every row is in
        exactly one part.
    """
    rows = MAX_SHEET_ROWS
    if len(frame) <= rows:
        return {name: frame}
    parts = math.ceil(len(frame) / rows)
    return {(name if k == 0 else f"{name}_{k + 1}"): frame.iloc[k * rows:(k + 1) * rows]
            for k in range(parts)}


def fit_width(header: str, values: np.ndarray, code: str) -> float:
    """Return a column width (characters) that shows the header and every value in full.

    Numbers are measured as the number format ``code`` shows them (thousands
    separators, decimals, a pound or percent sign), from the column's
    smallest and largest values; text by its longest value.

    Parameters
    ----------
    header : str
        The column's header.
    values : numpy.ndarray
        The column's values (any dtype; NaN and None are blank).
    code : str
        The column's Excel number format.

    Returns
    -------
    float
        Width in characters, with a margin, at most 60.
    """
    longest = len(header)
    series = pd.Series(values).infer_objects()
    if pd.api.types.is_bool_dtype(series):
        longest = max(longest, len("FALSE"))
    elif pd.api.types.is_numeric_dtype(series):
        if series.notna().any():
            for value in (float(series.min()), float(series.max())):
                longest = max(longest, len(_shown_number(value, code)))
    elif len(series):
        shown = series.dropna().astype(str).str.len()
        longest = max(longest, int(shown.max()) if len(shown) else 0)
    return float(min(_WIDEST, longest + 3))


def _shown_number(value: float, code: str) -> str:
    """Return a number roughly as Excel shows it in format ``code`` (for widths only)."""
    section = code.split(";")[0]
    decimals = len(section.split(".")[1].rstrip("%")) if "." in section else 0
    if section.endswith("%"):
        return f"{value:.{decimals}%}"
    if code == "General":
        return f"{value:.10g}"
    text = f"{value:,.{decimals}f}" if "," in section else f"{value:.{decimals}f}"
    return ("£" if "£" in code else "") + text


def write_rows(sheet: Worksheet, first_row: int, columns: Sequence[np.ndarray],
               formats: Sequence[Format | None],
               progress: Callable[[int], object] | None = None) -> None:
    """Write a table's cells row by row, in order (as a constant-memory workbook needs).

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        The sheet.
    first_row : int
        Zero-based row of the first data row.
    columns : sequence of numpy.ndarray
        The values, one array per column, all the same length.
    formats : sequence of Format or None
        Each column's cell format.
    progress : callable, optional
        Called with the rows just written, every :data:`PROGRESS_ROWS` rows and at the end.
    """
    rows = len(columns[0]) if len(columns) else 0
    done = 0
    for r in range(rows):
        for c, values in enumerate(columns):
            write_cell(sheet, first_row + r, c, values[r], formats[c])
        done += 1
        if progress is not None and done == PROGRESS_ROWS:
            progress(done)
            done = 0
    if progress is not None and done:
        progress(done)


def write_tables(path: str | Path, tables: Mapping[str, pd.DataFrame],
                 schema: Mapping[str, str] | None = None,
                 notes: Mapping[str, Sequence[str]] | None = None,
                 progress: Callable[[int], object] | None = None) -> Path:
    """Write each DataFrame to its own sheet, index first, atomically.

    Each column gets the number format of :mod:`capitation.columns` and a
    width that fits it (:func:`fit_width`); the header row and first
    column stay in view (frozen panes).

    Parameters
    ----------
    path : str or Path
        Output ``.xlsx`` file.
    tables : mapping of str to pandas.DataFrame
        Sheet name to table; the index (named) becomes the first column(s).
        A table longer than a sheet is refused: split it first with
        :func:`split_rows`.
    schema : mapping of str to str, optional
        Sheet name to its table in :data:`capitation.columns.TABLES`: every
        column of that sheet must be in the schema (KeyError otherwise). A
        sheet without one formats the columns the schema knows and leaves
        the others as they are.
    notes : mapping of str to sequence of str, optional
        Sheet name to lines of text written under its table, after one blank
        row (units, the sign convention, where the rest of a table is).
    progress : callable, optional
        Called with the number of rows just written, every
        :data:`PROGRESS_ROWS` rows and at the end of each sheet (a progress
        bar's ``update``).

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
        # constant_memory: each row goes to disk once the next one starts, so rows are
        # written in order and a long table takes no more memory than a short one.
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "nan_inf_to_errors": True,
                       "constant_memory": True})
        bold = book.add_format({"bold": True, "bottom": 1})
        note_format = book.add_format({"italic": True, "font_color": "#595959"})
        formats = CellFormats(book)

        for name, frame in tables.items():
            sheet = book.add_worksheet(name)
            flat = frame.reset_index()
            headers = [str(column) for column in flat.columns]
            table = None if schema is None else schema.get(name)
            codes = [_format_code(header, table) for header in headers]
            columns = [flat[c].to_numpy(dtype=object) for c in flat.columns]
            cell_formats = [formats.number(code) for code in codes]
            for c, header in enumerate(headers):
                sheet.set_column(c, c, fit_width(header, columns[c], codes[c]))
            for c, header in enumerate(headers):
                sheet.write_string(0, c, header, bold)
            write_rows(sheet, 1, columns, cell_formats, progress)
            for k, line in enumerate((notes or {}).get(name, ())):
                sheet.write_string(len(flat) + 2 + k, 0, line, note_format)
            sheet.freeze_panes(1, 1)
        book.close()

    return write_atomically(path, write)


def _format_code(name: str, table: str | None) -> str:
    """Return the number format of a column: by its table, or as the schema knows it."""
    if table:
        return number_format(name, table)
    entry = find(name)
    return GENERAL if entry is None else entry.number_format
