"""CSV files at the edge: one reader, and one check of a column's cells.

:func:`read_csv` reads any input CSV the same way: UTF-8 with or without a
byte-order mark (Excel's "CSV UTF-8"), every cell as stripped text, rows
numbered as a user sees them in a spreadsheet (the header is row 1). Rows
whose cells are all blank are dropped, keeping the numbers of the others.

:func:`number_column` and :func:`text_column` check a column's cells and
raise at the first bad row, naming the file, the row and the column, with one
wording per kind of mistake:

=============  ==============================================================
blank          ``is blank (expected a number, 0 or more)``
not a number   ``"2k" is not a number (expected a number, 0 or more)``
not whole      ``"400.5" is not a whole number (expected a count of patients, 0 or more)``
negative       ``-1500 is negative (expected a number, 0 or more)``
too much money ``5e+17 is above the largest amount the toolkit accepts
               (£10,000,000,000,000)`` (money columns: ``money=True``)
=============  ==============================================================

When more rows share the first bad row's problem, the message adds
``(also rows 5, 9 and 3 more)``.

A number written as text with a thousands separator, a pound sign or a
percent sign (``"41,300"``, ``"£1,200"``, ``"5%"``) is read as that number
(5% as 0.05) with a warning naming the first such cell of the column:
``lines.csv, row 3, column actual_activity: "41,300" is a number stored as
text; read as 41300``. A workbook's input cells follow the same rule in the
same words (:func:`number_in_text`, used by
:func:`capitation.excel.model_schema.convert`); in a workbook a plain number
stored as text (``"41300"`` in a text cell) is noted too, while in a CSV
file, where every cell is text, it is simply a number. Every input follows
this rule: person rows read an age or risk score the same way
(:mod:`capitation.persons.read`, through :func:`numbers_in_cells`), and a
warning about a model workbook's embedded table names the workbook and sheet
(:meth:`capitation.Model.run`).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError, clip
from capitation.inputs.files import read_bytes
from capitation.inputs.headers import normalise_header
from capitation.rounding import MAX_MONEY_GBP, beyond_money

__all__ = ["CsvTable", "read_csv", "number_column", "text_column", "first_bad", "also_rows",
           "refuse_rows", "refuse_repeats", "listed", "to_numbers", "MAX_LISTED_ROWS",
           "number_in_text", "numbers_in_cells", "stored_as_text"]

#: Further rows named in one message.
MAX_LISTED_ROWS = 5
_BOM = b"\xef\xbb\xbf"

#: Builds the error for the cell at a position: (message, position) → InputError.
Fail = Callable[[str, int], InputError]


@dataclass(frozen=True, eq=False)
class CsvTable:
    """A CSV file read as text.

    Attributes
    ----------
    frame : pandas.DataFrame
        One column per header cell, named by the header as written (use
        :func:`capitation.inputs.find_columns` to find one). Every cell is a
        ``str`` with outer whitespace stripped; a blank cell is ``""``. On a
        fresh ``RangeIndex``.
    rows : numpy.ndarray
        int64, one per row of ``frame``: its row number as a user sees the
        file in a spreadsheet (the header is row 1).
    file : Path
        The file read.
    headers : tuple of str
        Every header cell of the file as written, including columns not kept
        (for "the columns are: ..." messages).
    """

    frame: pd.DataFrame
    rows: np.ndarray
    file: Path = field(default_factory=Path)
    headers: tuple[str, ...] = ()

    def __len__(self) -> int:
        """Return the number of data rows."""
        return len(self.frame)


def read_csv(path: str | Path, *, expect_rows: str | None = "data rows",
             keep: Collection[str] | None = None, what: str = "file") -> CsvTable:
    """Read a UTF-8 CSV file with every cell as stripped text.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    expect_rows : str or None
        What the data rows are, named when the file has a header but no rows
        (``"one row per practice, sex and age"``); None allows no rows.
    keep : collection of str, optional
        Read only the columns whose header matches one of these names after
        whitespace is tidied, ignoring case (for large files); None reads all.
    what : str
        What the file is, for the not-found message (``"lines file"``).

    Returns
    -------
    CsvTable

    Raises
    ------
    InputError
        ``file not found``; ``cannot be read (...)``; ``is not a regular file
        (...)`` (:func:`capitation.inputs.files.check_file`); ``is not UTF-8 text (byte
        219): save it as CSV UTF-8`` (naming the row of that byte); ``the file is
        empty (expected a header row and data rows)``; ``the file has a header
        but no data rows (expected ...)``; ``is not a well-formed CSV (Expected 6
        fields in line 4, saw 8)`` (naming the row); ``looks separated by ";", not
        commas: save it as comma-separated (CSV UTF-8)``; ``holds a NUL character
        (code 0) ...`` (naming the row and column); ``repeats the header row
        (...)`` (naming the row).
    """
    path = Path(path)
    raw = read_bytes(path, what=what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(_BOM) if raw.startswith(_BOM) else 0)
        raise InputError(f"is not UTF-8 text (byte {offset}): save it as CSV UTF-8", file=path,
                         row=raw.count(b"\n", 0, offset) + 1) from None
    if not text.strip():
        raise InputError("the file is empty (expected a header row and data rows)", file=path)
    _refuse_other_separators(text, path)
    wanted = None if keep is None else {normalise_header(k).casefold() for k in keep}
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=False,
            usecols=None if wanted is None
            else (lambda name: normalise_header(name).casefold() in wanted))
    except pd.errors.ParserError as exc:
        reason = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        found = re.search(r"line (\d+)", reason)
        raise InputError(f"is not a well-formed CSV ({clip(reason)})", file=path,
                         row=int(found.group(1)) if found else None) from None
    frame.columns = [str(c) for c in frame.columns]
    headers = tuple(frame.columns) if wanted is None else tuple(
        str(c) for c in pd.read_csv(io.StringIO(text), nrows=0).columns)
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    if len(frame):
        frame = frame.apply(_strip_text)
        filled = (frame != "").any(axis=1).to_numpy()
        frame = frame.loc[filled].reset_index(drop=True)
        rows = rows[filled]
    if "\x00" in text:
        _refuse_nul(frame, rows, path)
    _refuse_repeated_header(frame, rows, path)
    if len(frame) == 0 and expect_rows is not None:
        raise InputError(f"the file has a header but no data rows (expected {expect_rows})",
                         file=path)
    return CsvTable(frame=frame, rows=rows, file=path, headers=headers)


#: Other separators a spreadsheet may save with, and how a message names them.
_SEPARATORS = ((";", '";"'), ("\t", "tabs"))


def _refuse_other_separators(text: str, path: Path) -> None:
    """Refuse a file whose header row has more semicolons (or tabs) than commas."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]
    for separator, name in _SEPARATORS:
        if header.count(separator) > header.count(","):
            raise InputError(f"looks separated by {name}, not commas: save it as comma-separated "
                             "(CSV UTF-8)", file=path, row=1)


def _refuse_nul(frame: pd.DataFrame, rows: np.ndarray, path: Path) -> None:
    """Refuse a NUL character in a header or cell (a damaged file, or one saved as UTF-16)."""
    reason = ("holds a NUL character (code 0), which text never has: the file is damaged, or "
              "saved as UTF-16: save it as CSV UTF-8")
    for column in frame.columns:
        if "\x00" in column:
            raise InputError(reason, file=path, row=1, column=clip(repr(column)))
    for column in frame.columns:
        refuse_rows(frame[column].str.contains("\x00", regex=False), reason, file=path,
                    column=column, rows=rows)


def _refuse_repeated_header(frame: pd.DataFrame, rows: np.ndarray, path: Path) -> None:
    """Refuse a data row that repeats the header row (files pasted together)."""
    if len(frame) == 0 or len(frame.columns) == 0:
        return
    candidates = np.ones(len(frame), dtype=bool)
    for column in frame.columns:  # a few columns, each compared whole (vectorised)
        name = "" if column.startswith("Unnamed: ") else column.strip().lower()
        candidates &= (frame[column].str.lower() == name).to_numpy(dtype=bool)
        if not candidates.any():
            return
    refuse_rows(candidates, "repeats the header row (expected one header row, at the top: "
                            "were two files pasted together? delete this row)",
                file=path, rows=rows)


def _strip_text(column: pd.Series) -> pd.Series:
    """Strip outer whitespace from each cell (vectorised on pandas' Arrow-backed text)."""
    return column.fillna("").astype(str).str.strip()


def to_numbers(cells: pd.Series) -> np.ndarray:
    """Return cells as float64: NaN where a cell is missing or not a number.

    As :func:`pandas.to_numeric` with ``errors="coerce"``; text held by Arrow
    (as :func:`read_csv` gives it) whose every present cell is a number is
    converted by Arrow at once, which is many times faster on large files.
    """
    if isinstance(cells.dtype, pd.StringDtype) and cells.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            numbers = pc.cast(pa.array(cells.array), pa.float64())
        except pa.ArrowInvalid:  # a cell Arrow cannot read: pandas says which are numbers
            pass
        else:
            return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
    return pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)


def first_bad(mask: np.ndarray | pd.Series) -> int | None:
    """Return the position of the first True in ``mask``, or None."""
    hits = np.flatnonzero(np.asarray(mask))
    return int(hits[0]) if hits.size else None


def listed(values: Collection[object] | pd.Index) -> str:
    """Return the first few values joined by commas, and how many more: ``"P1, P2 and 3 more"``."""
    shown = list(values)
    text = ", ".join(clip(v) for v in shown[:MAX_LISTED_ROWS])
    more = len(shown) - MAX_LISTED_ROWS
    return f"{text} and {more} more" if more > 0 else text


def also_rows(rows: np.ndarray) -> str:
    """Say which further rows have the same problem: ``" (also rows 5, 9 and 3 more)"``."""
    if len(rows) == 0:
        return ""
    shown = ", ".join(str(r) for r in rows[:MAX_LISTED_ROWS])
    more = f" and {len(rows) - MAX_LISTED_ROWS} more" if len(rows) > MAX_LISTED_ROWS else ""
    return f" (also {'row' if len(rows) == 1 else 'rows'} {shown}{more})"


def refuse_rows(bad: np.ndarray | pd.Series, message: str | Callable[[int], str], *,
                file: str | Path | None = None, column: str | None = None,
                rows: np.ndarray | None = None, fail: Fail | None = None) -> None:
    """Raise at the first row where ``bad`` holds, listing the further rows.

    Parameters
    ----------
    bad : numpy.ndarray or pandas.Series
        bool, one per cell of a column.
    message : str or callable
        The reason, or ``position → reason`` to echo the first bad cell.
    file, column, rows, fail : optional
        As for :func:`number_column`.

    Raises
    ------
    InputError
        ``file, row 4, column SEX: "M" is not a sex code (...) (also rows 7, 9)``.
    """
    explain = message if callable(message) else (lambda _position: message)
    _raise_first(np.asarray(bad, dtype=bool), explain, _failer(fail, file, column, rows), rows)


def refuse_repeats(codes: pd.Series, *, what: str, file: str | Path | None = None,
                   column: str | None = None, rows: np.ndarray | None = None,
                   fail: Fail | None = None) -> None:
    """Raise when a code appears in more than one row, at the first of them.

    Parameters
    ----------
    codes : pandas.Series
        The codes, one per row, as text.
    what : str
        What a code names (``"practice"``, ``"ICB"``).
    file, column, rows, fail : optional
        As for :func:`number_column`.

    Raises
    ------
    InputError
        ``row 3, column practice: practice "P2" appears again in row 5 (expected
        one row per practice)``.
    """
    repeated = codes.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    first = codes[repeated].iloc[0]
    where = np.flatnonzero((codes == first).to_numpy())
    seen = rows[where] if rows is not None else where + 2
    again = ", ".join(str(r) for r in seen[1:MAX_LISTED_ROWS + 1])
    more = f" and {len(seen) - 1 - MAX_LISTED_ROWS} more" if len(seen) - 1 > MAX_LISTED_ROWS \
        else ""
    noun = "row" if len(seen) == 2 else "rows"
    raise _failer(fail, file, column, rows)(
        f'{what} "{clip(first)}" appears again in {noun} {again}{more} '
        f"(expected one row per {what})",
        int(where[0]))


def _failer(fail: Fail | None, file: str | Path | None, column: str | None,
            rows: np.ndarray | None) -> Fail:
    if fail is not None:
        return fail

    def default(message: str, position: int) -> InputError:
        row = int(rows[position]) if rows is not None else position + 2
        return InputError(message, file=file, row=row, column=column)

    return default


def _raise_first(mask: np.ndarray, message: Callable[[int], str], fail: Fail,
                 rows: np.ndarray | None) -> None:
    hits = np.flatnonzero(mask)
    if hits.size:
        suffix = also_rows(rows[hits[1:]]) if rows is not None else ""
        raise fail(message(int(hits[0])) + suffix, int(hits[0]))


def _is_blank(cells: pd.Series) -> np.ndarray:
    text = cells.astype(object).where(cells.notna(), "").astype(str).str.strip()
    return (text == "").to_numpy()


def number_in_text(text: str) -> float | None:
    """Return the number a text cell holds, or None when it holds none.

    Outer spaces, thousands separators, spaces and pound signs are dropped;
    a trailing percent sign divides by 100 (``"5%"`` is 0.05).

    Parameters
    ----------
    text : str
        The cell as text (``"41,300"``, ``"£1,200"``, ``"5%"``, ``"12"``).

    Returns
    -------
    float or None
    """
    cleaned = str(text).strip().replace(",", "").replace("£", "").replace(" ", "")
    percent = cleaned.endswith("%")
    try:
        number = float(cleaned.rstrip("%"))
    except ValueError:
        return None
    return number / 100 if percent else number


def stored_as_text(text: str, number: float) -> str:
    """Return the warning for a number read from text: ``"41,300" is a number stored as ...``."""
    shown = str(int(number)) if float(number).is_integer() else f"{number:.15g}"
    return f'"{str(text).strip()}" is a number stored as text; read as {shown}'


def numbers_in_cells(cells: pd.Series, *, file: str | Path | None = None,
                     column: str | None = None, rows: np.ndarray | None = None,
                     fail: Fail | None = None) -> np.ndarray:
    """Return a column's cells as numbers, reading numbers written as text, with a warning.

    For readers with their own checks and wordings (baselines, cost weights,
    a GP register's counts): the reading of :func:`number_column` without its
    checks. ``"41,300"``, ``"£1,200"`` and ``"5%"`` are read (one warning,
    naming the first such cell and the rows of the others).

    Parameters
    ----------
    cells : pandas.Series
        The column as read.
    file, column, rows, fail : optional
        Where the cells are, as for :func:`number_column`.

    Returns
    -------
    numpy.ndarray
        float64, one per cell; NaN for a blank cell or one that holds no number.
    """
    fail = _failer(fail, file, column, rows)
    is_blank = _is_blank(cells)
    values = pd.to_numeric(cells.where(~is_blank, None), errors="coerce").to_numpy(dtype=float)
    return _read_formatted(cells, values, is_blank, fail, rows)


def _read_formatted(cells: pd.Series, values: np.ndarray, is_blank: np.ndarray, fail: Fail,
                    rows: np.ndarray | None) -> np.ndarray:
    """Read text cells that hold formatted numbers ("41,300", "£1,200", "5%"), warning once."""
    unread = np.flatnonzero(~is_blank & np.isnan(values))
    if unread.size == 0:
        return values
    found = {int(i): number_in_text(cells.iloc[i]) for i in unread
             if isinstance(cells.iloc[i], str)}
    read = np.array([i for i, n in found.items() if n is not None and not np.isnan(n)],
                    dtype=np.int64)
    if read.size == 0:
        return values
    values = values.copy()
    values[read] = [found[int(i)] for i in read]
    first = int(read[0])
    message = stored_as_text(cells.iloc[first], values[first])
    if rows is not None:
        message += also_rows(rows[read[1:]])
    elif read.size > 1:
        message += f" (also {read.size - 1:,} more in the column)"
    warnings.warn(fail(message, first).args[0], stacklevel=4)
    return values


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return clip(str(value).strip())


def number_column(cells: pd.Series, *, what: str = "a number, 0 or more",
                  file: str | Path | None = None, column: str | None = None,
                  rows: np.ndarray | None = None, minimum: float | None = 0.0,
                  maximum: float | None = None, whole: bool = False,
                  blank: float | None = None, fail: Fail | None = None,
                  money: bool = False) -> np.ndarray:
    """Return a column's cells as numbers, raising at the first bad row.

    Parameters
    ----------
    cells : pandas.Series
        The column as read (text, or numbers and None from a worksheet or DataFrame).
    what : str
        What a good cell holds, with its range (``"a count of patients, 0 or
        more"``), shown after "expected".
    file, column : optional
        Where the cells are, named in errors.
    rows : numpy.ndarray, optional
        Row number of each cell as a user sees it (default: position + 2,
        the header being row 1). When given, other bad rows are listed too.
    minimum : float or None
        Smallest allowed value (None: any); only 0 is worded "is negative".
    maximum : float or None
        Largest allowed value (None: any), worded ``96 is above 95``.
    whole : bool
        Whether each value must be a whole number.
    blank : float or None
        Value of a blank cell (NaN is allowed); None makes a blank cell an error.
    fail : callable, optional
        ``(message, position) → InputError`` for tables whose location is not a
        file row (a worksheet cell, a DataFrame's index label).
    money : bool
        The cells are amounts in pounds: beyond
        :data:`~capitation.rounding.MAX_MONEY_GBP` either way is refused.

    Returns
    -------
    numpy.ndarray
        float64, one per cell.

    Raises
    ------
    InputError
        At the first blank (when not allowed), non-numeric (a number written
        with a separator, £ or % is read, with a warning), non-finite, negative
        (below ``minimum``), with ``whole`` fractional, or with ``money`` too
        large cell.
    """
    fail = _failer(fail, file, column, rows)
    is_blank = _is_blank(cells)
    values = to_numbers(cells.where(~is_blank, None))
    values = _read_formatted(cells, values, is_blank, fail, rows)
    if blank is None:
        _raise_first(is_blank, lambda i: f"is blank (expected {what})", fail, rows)
    else:
        values = np.where(is_blank, blank, values)
    _raise_first(~is_blank & np.isnan(values),
                 lambda i: f'"{_shown(cells.iloc[i])}" is not a number (expected {what})',
                 fail, rows)
    _raise_first(np.isinf(values),
                 lambda i: f'"{_shown(cells.iloc[i])}" is not a finite number (expected {what})',
                 fail, rows)
    if whole:
        with np.errstate(invalid="ignore"):
            fractional = ~np.isnan(values) & ((np.mod(values, 1) != 0)
                                              | (np.abs(values) >= 2.0**53))
        _raise_first(fractional,
                     lambda i: f'"{_shown(cells.iloc[i])}" is not a whole number '
                               f"(expected {what})", fail, rows)
    if minimum is not None:
        word = "is negative" if minimum == 0 else f"is below {minimum:g}"
        _raise_first(values < minimum,
                     lambda i: f"{values[i]:g} {word} (expected {what})", fail, rows)
    if maximum is not None:
        _raise_first(values > maximum,
                     lambda i: f"{values[i]:g} is above {maximum:g} (expected {what})", fail, rows)
    if money:
        _raise_first(np.abs(values) > MAX_MONEY_GBP, lambda i: beyond_money(values[i]),
                     fail, rows)
    return values


def text_column(cells: pd.Series, *, what: str, file: str | Path | None = None,
                column: str | None = None, rows: np.ndarray | None = None,
                fail: Fail | None = None) -> pd.Series:
    """Return a column's cells as stripped text, raising at the first blank cell.

    Parameters
    ----------
    cells : pandas.Series
        The column as read. Whole numbers from a worksheet (``1001.0``) read as
        ``"1001"``.
    what : str
        What a good cell holds (``"a GP practice code such as A81001"``).
    file, column, rows, fail : optional
        As for :func:`number_column`.

    Returns
    -------
    pandas.Series
        str, on the index of ``cells``.

    Raises
    ------
    InputError
        ``is blank (expected a GP practice code such as A81001)``.
    """
    fail = _failer(fail, file, column, rows)
    codes, uniques = pd.factorize(cells)  # convert the distinct values only; missing is -1
    distinct = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
                for v in uniques]
    text = pd.Series(np.array([*distinct, ""], dtype=object)[codes], index=cells.index,
                     dtype=str, name=cells.name)
    _raise_first((text == "").to_numpy(), lambda i: f"is blank (expected {what})", fail, rows)
    return text
