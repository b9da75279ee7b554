"""Plan lines: a CSV file or DataFrame → a validated frame (the edge of risk_share).

A plan line is one party × point of delivery with planned activity, a price,
and for a settlement the actual activity. Problems are
:class:`~capitation.errors.InputError` naming the file, the row (the header is
row 1 of a CSV) and the column; in an agreement workbook's ``plan_lines``
sheet, the sheet and cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError, clip
from capitation.inputs import (
    check_file,
    find_columns,
    normalise_header,
    number_column,
    read_csv,
    text_column,
)
from capitation.inputs.csv_tables import Fail
from capitation.rounding import MAX_MONEY_GBP, beyond_money

__all__ = ["LINE_COLUMNS", "WORKBOOK_SUFFIXES", "read_lines"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
"""A lines path with one of these suffixes is a workbook: its ``plan_lines`` sheet is read."""

LINE_COLUMNS = {
    "party": "party holding the line (the commissioner or a provider), text",
    "pod": "point of delivery, text",
    "planned_activity": "planned activity, a number ≥ 0",
    "actual_activity": "actual activity, a number ≥ 0 (settlements only)",
    "price_gbp": "price per unit of activity in pounds, ≥ 0",
    "fixed": "optional: true for a line that never varies in a simulation",
}
_ROWS = "one plan line per party and POD"
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _where(file: str | None, rows: np.ndarray | None, position: int, label: object) -> dict:
    if file is not None and rows is not None:
        return {"file": file, "row": int(rows[position])}  # as a spreadsheet numbers it
    return {"key": f"lines index {label!r}"}


def read_lines(
    lines: pd.DataFrame | str | Path,
    parties: list[str],
    *,
    need_actual: bool,
) -> pd.DataFrame:
    """Validate plan lines.

    Parameters
    ----------
    lines : pandas.DataFrame or str or Path
        The lines, a CSV file of them (columns in :data:`LINE_COLUMNS`), or a
        workbook (``.xlsx``) whose ``plan_lines`` sheet holds them.
    parties : list of str
        The agreement's parties; every line's party must be one of them.
    need_actual : bool
        Whether ``actual_activity`` is required (settlement) or ignored
        (simulation).

    Returns
    -------
    pandas.DataFrame
        A new frame with a RangeIndex named ``line``: party, pod (str),
        planned_activity, actual_activity (when needed), price_gbp (float),
        fixed (bool), in the input's order.

    Raises
    ------
    InputError
        A missing column, a blank or non-numeric value, a negative activity or
        price, a price or a planned or actual value (activity × price) beyond
        :data:`~capitation.rounding.MAX_MONEY_GBP`, an unknown party or a
        repeated party × POD, naming file, row and column.
    """
    file: str | None = None
    rows: np.ndarray | None = None
    if isinstance(lines, (str, Path)) and Path(lines).suffix.lower() in WORKBOOK_SUFFIXES:
        return _read_lines_sheet(Path(lines), parties, need_actual=need_actual)
    if isinstance(lines, (str, Path)):
        file = str(lines)
        table = read_csv(lines, what="lines file", expect_rows=_ROWS)
        frame, rows = table.frame, table.rows
    elif isinstance(lines, pd.DataFrame):
        frame = lines.copy()
    else:
        raise InputError(
            f"plan lines must be a DataFrame or a CSV path, not {type(lines).__name__}"
        )

    required = ["party", "pod", "planned_activity", "price_gbp"]
    if need_actual:
        required.insert(3, "actual_activity")
    found = find_columns(frame.columns, [*required, *(["fixed"] if _has(frame, "fixed") else [])],
                         file=file, about=LINE_COLUMNS)
    frame = frame.rename(columns={header: name for name, header in found.items()})
    if len(frame) == 0:
        raise InputError(f"the lines have no rows (expected {_ROWS})", file=file)

    out = pd.DataFrame(index=pd.RangeIndex(len(frame), name="line"))
    labels = frame.index
    known = set(parties)
    for column in ("party", "pod"):
        out[column] = text_column(frame[column], what=f"the {LINE_COLUMNS[column]}",
                                  fail=_fail(file, rows, labels, column)).to_numpy(dtype=str)
    unknown = np.flatnonzero(~out["party"].isin(known).to_numpy())
    if unknown.size:
        i = int(unknown[0])
        raise InputError(
            f"{out['party'].iloc[i]!r} is not a party to the agreement "
            f"(parties: {', '.join(parties)})",
            column="party",
            **_where(file, rows, i, labels[i]),
        )
    for column in required[2:]:
        out[column] = number_column(frame[column], what=f"the {LINE_COLUMNS[column]}",
                                    fail=_fail(file, rows, labels, column),
                                    money=column == "price_gbp")
    for column in required[2:-1]:  # the values settled: activity × price, within the bound
        value = out[column].to_numpy(dtype=float) * out["price_gbp"].to_numpy(dtype=float)
        large = np.flatnonzero(np.abs(value) > MAX_MONEY_GBP)
        if large.size:
            i = int(large[0])
            raise InputError(f"{column} × price_gbp = {beyond_money(float(value[i]))}",
                             column=column, **_where(file, rows, i, labels[i]))
    if "fixed" in frame.columns:
        out["fixed"] = _flags(frame["fixed"], file, rows, labels)
    else:
        out["fixed"] = False
    repeated = np.flatnonzero(out.duplicated(["party", "pod"]).to_numpy())
    if repeated.size:
        i = int(repeated[0])
        party, pod = out["party"].iloc[i], out["pod"].iloc[i]
        raise InputError(
            f"{party!r}, {pod!r} appears twice: give each party one line per POD",
            column="pod",
            **_where(file, rows, i, labels[i]),
        )
    return out


def _has(frame: pd.DataFrame, name: str) -> bool:
    return any(normalise_header(c) == name for c in frame.columns)


def _fail(file: str | None, rows: np.ndarray | None, labels: pd.Index, column: str) -> Fail:
    """Name a bad cell by file and row (a CSV) or by index label (a DataFrame)."""
    return lambda message, i: InputError(message, column=column,
                                         **_where(file, rows, i, labels[i]))


def _read_lines_sheet(path: Path, parties: list[str], *, need_actual: bool) -> pd.DataFrame:
    """Validate a workbook's ``plan_lines`` sheet, naming the sheet and cell of a problem."""
    from risk_share.excel.agreement_workbook import PLAN_LINES_SHEET, read_plan_lines_sheet

    check_file(path, what="lines workbook")
    sheet = read_plan_lines_sheet(path)  # values in the wrong form are named by cell here
    # Index by the worksheet row as text, so an error's "lines index '5'" is row 5 of the sheet.
    frame = sheet.frame.set_axis(sheet.frame.index.astype(str))
    try:
        return read_lines(frame, parties, need_actual=need_actual)
    except InputError as error:
        match = re.fullmatch(r"lines index '(\d+)'", error.key or "")
        if match is None:
            raise InputError(
                error.reason, file=path, sheet=PLAN_LINES_SHEET, column=error.column
            ) from None
        cell = sheet.cell(int(match.group(1)), error.column)
        raise InputError(error.reason, file=path, sheet=PLAN_LINES_SHEET, cell=cell) from None


def _flags(raw: pd.Series, file: str | None, rows: np.ndarray | None,
           labels: pd.Index) -> np.ndarray:
    """Parse the optional ``fixed`` column; a blank cell means the line varies."""
    if raw.dtype == bool:
        return raw.to_numpy(dtype=bool)
    # A blank flag is false: the issue makes `fixed` optional, absent = varies.
    text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip().str.lower()
    true = text.isin(_TRUE).to_numpy()
    bad = np.flatnonzero(~true & ~text.isin(_FALSE).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{clip(repr(raw.iloc[i]))} is not true or false", column="fixed",
            **_where(file, rows, i, labels[i])
        )
    return true
