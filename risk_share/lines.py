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

from capitation.errors import InputError

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
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _where(file: str | None, position: int, label: object) -> dict:
    if file is not None:
        return {"file": file, "row": position + 2}  # row 1 is the header
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
        price, an unknown party or a repeated party × POD, naming file, row and
        column.
    """
    file: str | None = None
    if isinstance(lines, (str, Path)) and Path(lines).suffix.lower() in WORKBOOK_SUFFIXES:
        return _read_lines_sheet(Path(lines), parties, need_actual=need_actual)
    if isinstance(lines, (str, Path)):
        file = str(lines)
        try:
            frame = pd.read_csv(lines, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                                skipinitialspace=True)
        except FileNotFoundError:
            raise InputError("lines file not found", file=file) from None
        except UnicodeDecodeError as error:
            # As capitation.population.read_table: Excel's "CSV" (not "CSV UTF-8") is cp1252.
            raise InputError(f"is not UTF-8 text (byte {error.start}): save it as CSV UTF-8",
                             file=file) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise InputError(f"not a readable CSV file: {error}", file=file) from None
        frame.columns = [str(c).strip() for c in frame.columns]
    elif isinstance(lines, pd.DataFrame):
        frame = lines.copy()
    else:
        raise InputError(
            f"plan lines must be a DataFrame or a CSV path, not {type(lines).__name__}"
        )

    required = ["party", "pod", "planned_activity", "price_gbp"]
    if need_actual:
        required.insert(3, "actual_activity")
    for column in required:
        if column not in frame.columns:
            raise InputError(
                f"missing column {column!r} ({LINE_COLUMNS[column]}); columns found: "
                f"{', '.join(map(str, frame.columns))}",
                file=file,
                column=column,
            )
    if len(frame) == 0:
        raise InputError("no plan lines", file=file)

    out = pd.DataFrame(index=pd.RangeIndex(len(frame), name="line"))
    labels = frame.index
    known = set(parties)
    for column in ("party", "pod"):
        values = frame[column]
        text = values.astype(str).str.strip().to_numpy(dtype=str)
        blank = np.flatnonzero((text == "") | values.isna().to_numpy())
        if blank.size:
            i = int(blank[0])
            raise InputError(f"is blank (expected the {LINE_COLUMNS[column]})", column=column,
                             **_where(file, i, labels[i]))
        out[column] = text
    unknown = np.flatnonzero(~out["party"].isin(known).to_numpy())
    if unknown.size:
        i = int(unknown[0])
        raise InputError(
            f"{out['party'].iloc[i]!r} is not a party to the agreement "
            f"(parties: {', '.join(parties)})",
            column="party",
            **_where(file, i, labels[i]),
        )
    for column in required[2:]:
        raw = frame[column]
        numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(numbers))
        if bad.size:
            i = int(bad[0])
            value = raw.iloc[i]
            what = (
                f"is blank (expected the {LINE_COLUMNS[column]})"
                if str(value).strip() in ("", "nan", "None")
                else (f"{value!r} is not a number")
            )
            raise InputError(what, column=column, **_where(file, i, labels[i]))
        negative = np.flatnonzero(numbers < 0)
        if negative.size:
            i = int(negative[0])
            raise InputError(
                f"{numbers[i]:g} is negative ({LINE_COLUMNS[column]})",
                column=column,
                **_where(file, i, labels[i]),
            )
        out[column] = numbers
    if "fixed" in frame.columns:
        out["fixed"] = _flags(frame["fixed"], file, labels)
    else:
        out["fixed"] = False
    repeated = np.flatnonzero(out.duplicated(["party", "pod"]).to_numpy())
    if repeated.size:
        i = int(repeated[0])
        party, pod = out["party"].iloc[i], out["pod"].iloc[i]
        raise InputError(
            f"{party!r}, {pod!r} appears twice: give each party one line per POD",
            column="pod",
            **_where(file, i, labels[i]),
        )
    return out


def _read_lines_sheet(path: Path, parties: list[str], *, need_actual: bool) -> pd.DataFrame:
    """Validate a workbook's ``plan_lines`` sheet, naming the sheet and cell of a problem."""
    from risk_share.excel.agreement_workbook import PLAN_LINES_SHEET, read_plan_lines_sheet

    if not path.exists():
        raise InputError("lines workbook not found", file=path)
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


def _flags(raw: pd.Series, file: str | None, labels: pd.Index) -> np.ndarray:
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
            f"{raw.iloc[i]!r} is not true or false", column="fixed", **_where(file, i, labels[i])
        )
    return true
