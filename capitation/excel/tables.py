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

from capitation.files import write_atomically

__all__ = ["write_tables", "write_cell"]

MONEY_FORMAT = "#,##0.00;-#,##0.00"


def write_cell(sheet, row: int, col: int, value, fmt=None) -> None:
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


def write_tables(path: str | Path, tables: Mapping[str, pd.DataFrame]) -> Path:
    """Write each DataFrame to its own sheet, index first, atomically.

    Columns ending in ``_gbp`` get a pounds number format.

    Parameters
    ----------
    path : str or Path
        Output ``.xlsx`` file.
    tables : mapping of str to pandas.DataFrame
        Sheet name to table; the index (named) becomes the first column(s).

    Returns
    -------
    Path
        ``path``.
    """

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "nan_inf_to_errors": True})
        money = book.add_format({"num_format": MONEY_FORMAT})
        bold = book.add_format({"bold": True})
        for name, frame in tables.items():
            sheet = book.add_worksheet(name)
            flat = frame.reset_index()
            for c, column in enumerate(flat.columns):
                sheet.write_string(0, c, str(column), bold)
            columns = [flat[c].to_numpy(dtype=object) for c in flat.columns]
            for c, column in enumerate(flat.columns):
                fmt = money if str(column).endswith("_gbp") else None
                values = columns[c]
                for r in range(len(flat)):
                    write_cell(sheet, r + 1, c, values[r], fmt)
            sheet.freeze_panes(1, 1)
        book.close()

    return write_atomically(path, write)
