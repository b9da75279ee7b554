"""The GP register: NHS Digital's patients registered at a GP practice, by sex and age.

This module reads the "Patients registered at a GP practice" single-year-of-age
CSV published monthly by NHS Digital (domain.md §2.1: n(p, s, a), people
registered at practice p, of sex s, at single year of age a). A seeded
synthetic register of the same shape, and a writer of the published format,
are in :mod:`capitation.synthetic_register`.

The published columns are ``EXTRACT_DATE``, ``SUB_ICB_LOCATION_CODE``,
``ONS_SUB_ICB_LOCATION_CODE``, ``ORG_CODE``, ``POSTCODE``, ``SEX``
(``MALE``/``FEMALE``, and ``ALL`` on total rows), ``AGE`` (``"0"`` to
``"94"``, ``"95+"`` and ``"ALL"``) and ``NUMBER_OF_PATIENTS``. Files before
July 2022 say ``CCG_CODE``/``ONS_CCG_CODE`` instead of the sub-ICB columns;
some releases add ``PUBLICATION`` or ``TYPE``. Unknown extra columns are
ignored.

The long form used everywhere else has one row per practice, sex and age,
with the columns

========  ======  =========================================================
practice  str     GP practice code (``ORG_CODE``)
sex       str     ``"M"`` or ``"F"``
age       int64   0 to 95; 95 stands for "95+"
patients  int64   registered patients, 0 or more
sub_icb   str     sub-ICB location (or CCG) code, for grouping levels
========  ======  =========================================================
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs.csv_tables import numbers_in_cells

__all__ = [
    "REGISTER_COLUMNS",
    "read_csv_as_text",
    "read_register",
]

#: Columns of the long-form register, in order.
REGISTER_COLUMNS: tuple[str, ...] = ("practice", "sex", "age", "patients", "sub_icb")

_TOP_AGE = 95
_SEX_CODES = {"MALE": "M", "FEMALE": "F", "ALL": "ALL"}
_AGE_CODES: dict[str, int] = {str(a): a for a in range(_TOP_AGE)} | {"95+": _TOP_AGE}
_ALL = -1  # the age code of an AGE == "ALL" total row
_MAX_LISTED = 5  # offending rows or codes named in one message
_SUB_ICB_NAMES = ("SUB_ICB_LOCATION_CODE", "CCG_CODE")
_PUBLISHED_COLUMNS = (
    "EXTRACT_DATE",
    "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE",
    "ORG_CODE",
    "POSTCODE",
    "SEX",
    "AGE",
    "NUMBER_OF_PATIENTS",
)


# --------------------------------------------------------------------------- #
# Reading a CSV as text, with row numbers a user sees
# --------------------------------------------------------------------------- #


def read_csv_as_text(
    path: Path, keep: Collection[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a UTF-8 CSV file with every cell as stripped text.

    Shared by the register, cost-weight and need-index readers so that they
    report problems the same way.

    Parameters
    ----------
    path : Path
        The CSV file. A UTF-8 byte-order mark (as Excel's "CSV UTF-8" writes)
        is allowed.
    keep : collection of str, optional
        Read only the columns whose normalised name, upper-cased, is in
        ``keep`` (also upper-case); None reads every column. A column not in
        the file is simply absent from the result.

    Returns
    -------
    frame : pandas.DataFrame
        One column per header cell, named by the header text with outer
        whitespace stripped and inner runs of whitespace collapsed to one
        space. Every cell is a ``str`` with outer whitespace stripped; an
        empty cell is ``""``. Rows whose cells are all empty are dropped.
    rows : numpy.ndarray
        int64, one per row of ``frame``: its row number as a user sees the
        file in a spreadsheet (the header is row 1).

    Raises
    ------
    InputError
        If the file cannot be read, is not UTF-8, has no header, or a row has
        more cells than the header.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"cannot be read ({reason})", file=path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, offset) + 1
        byte = raw[offset : offset + 1].hex().upper()
        raise InputError(
            f"byte 0x{byte} is not UTF-8 text (expected a file saved as CSV UTF-8)",
            file=path,
            row=line,
        ) from exc
    if not text.strip():
        raise InputError(
            "the file is empty (expected a header row and data rows)", file=path, row=1
        )
    wanted = None if keep is None else {name.upper() for name in keep}
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            usecols=None if wanted is None else lambda name: _normalise(name).upper() in wanted,
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise InputError(
            f"cannot be read as CSV ({exc})".replace("Error tokenizing data. C error: ", ""),
            file=path,
            row=int(found.group(1)) if found else None,
        ) from exc
    frame.columns = [_normalise(name) for name in frame.columns]
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    if len(frame):
        frame = frame.apply(_strip_text)
        keep = (frame != "").any(axis=1).to_numpy()
        frame = frame.loc[keep].reset_index(drop=True)
        rows = rows[keep]
    return frame, rows


def _normalise(name: object) -> str:
    """Strip a column name and collapse inner runs of whitespace to one space."""
    return " ".join(str(name).split())


def _strip_text(column: pd.Series) -> pd.Series:
    """Strip outer whitespace from each cell, working on the distinct values only."""
    codes, uniques = pd.factorize(column)
    stripped = pd.Index(uniques, dtype=str).str.strip()
    return pd.Series(stripped.take(codes), index=column.index, dtype=str, name=column.name)


def _list_rows(rows: np.ndarray) -> str:
    """Say which further rows have the same problem: ``" (also rows 5, 9 and 3 more)"``."""
    if len(rows) == 0:
        return ""
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    word = "row" if len(rows) == 1 else "rows"
    return f" (also {word} {shown}{more})"


def _raise_bad_cells(
    bad: np.ndarray,
    values: pd.Series,
    rows: np.ndarray,
    column: str,
    reason: str,
    file: Path,
) -> None:
    """Raise an :class:`InputError` at the first row where ``bad`` holds.

    ``reason`` is formatted with ``{value}``, the offending cell's text.
    """
    if not bad.any():
        return
    where = np.flatnonzero(bad)
    first = where[0]
    value = values.iloc[first]
    message = reason.replace("{value}", str(value)) + _list_rows(rows[where[1:]])
    raise InputError(message, file=file, row=int(rows[first]), column=column)


def _require_columns(
    frame: pd.DataFrame, required: dict[str, tuple[str, ...]], file: Path
) -> dict[str, str]:
    """Find each required column under any of its names (case-insensitive).

    Returns the column each required name was found under.
    """
    by_upper = {name.upper(): name for name in frame.columns}
    found: dict[str, str] = {}
    for wanted, names in required.items():
        match = next((by_upper[n.upper()] for n in names if n.upper() in by_upper), None)
        if match is None:
            expected = ", ".join(" or ".join(alternatives) for alternatives in required.values())
            have = ", ".join(frame.columns) or "none"
            raise InputError(
                f"column is missing (expected the columns {expected}; found {have})",
                file=file,
                row=1,
                column=" or ".join(names),
            )
        found[wanted] = match
    return found


# --------------------------------------------------------------------------- #
# read_register
# --------------------------------------------------------------------------- #


def read_register(path: Path) -> pd.DataFrame:
    """Read NHS Digital's GP register CSV by single year of age (domain.md §2.1).

    Total rows (``AGE == "ALL"`` or ``SEX == "ALL"``) are checked against the
    sum of the single-year rows they cover and then dropped: they are never
    counted. Ages or sexes absent from the file count no patients (the
    published files list every age, with zeros).

    Parameters
    ----------
    path : Path
        The register CSV (UTF-8, with or without a byte-order mark). Required
        columns: ``EXTRACT_DATE``, ``SUB_ICB_LOCATION_CODE`` (or, in older
        files, ``CCG_CODE``), ``ORG_CODE``, ``SEX``, ``AGE`` and
        ``NUMBER_OF_PATIENTS``. Column names are matched ignoring case and
        outer whitespace; other columns (``ONS_SUB_ICB_LOCATION_CODE``,
        ``POSTCODE``, ``PUBLICATION``, ``TYPE``, ...) are ignored.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per practice, sex and age present in the file,
        with columns ``practice`` (str), ``sex`` (``"M"``/``"F"``), ``age``
        (int64, 0 to 95 where 95 is "95+"), ``patients`` (int64, people) and
        ``sub_icb`` (str), sorted by practice, sex (``"F"`` before ``"M"``)
        and age, on a fresh ``RangeIndex``.

    Raises
    ------
    InputError
        Naming the file, the row as a user sees it (header is row 1), the
        column, the offending value and what was expected, when: the file
        cannot be read or is not UTF-8; it has no data rows; a column is
        missing; a practice or sub-ICB code is blank; a sex is not ``MALE``,
        ``FEMALE`` or ``ALL``; an age is not 0 to 94, ``"95+"`` or ``"ALL"``;
        a count is not a whole number or is negative; a (practice, sex, age)
        appears twice; the file mixes extract dates; a practice sits in two
        sub-ICBs; a total row disagrees with the single-year rows it covers
        (naming the practice and both numbers); or no single-year rows remain.

    Examples
    --------
    >>> register = read_register(Path("models/register_example/register.csv"))
    >>> register.groupby("practice")["patients"].sum().tolist()
    [1000, 1000, 1000]
    """
    path = Path(path)
    required = {
        "extract_date": ("EXTRACT_DATE",),
        "sub_icb": _SUB_ICB_NAMES,
        "practice": ("ORG_CODE",),
        "sex": ("SEX",),
        "age": ("AGE",),
        "patients": ("NUMBER_OF_PATIENTS",),
    }
    text, rows = read_csv_as_text(path, keep=[n for names in required.values() for n in names])
    columns = _require_columns(text, required, path)
    if len(text) == 0:
        raise InputError(
            "the file has no data rows (expected one row per practice, sex and age)",
            file=path,
            row=2,
        )

    practice = text[columns["practice"]]
    _raise_bad_cells(
        (practice == "").to_numpy(),
        practice,
        rows,
        columns["practice"],
        "the practice code is blank (expected a GP practice code such as A81001)",
        path,
    )
    sub_icb = text[columns["sub_icb"]]
    _raise_bad_cells(
        (sub_icb == "").to_numpy(),
        sub_icb,
        rows,
        columns["sub_icb"],
        "the sub-ICB location code is blank (expected a code such as 16C)",
        path,
    )

    sex_text = text[columns["sex"]]
    sex = _upper(sex_text).map(_SEX_CODES)
    _raise_bad_cells(
        sex.isna().to_numpy(),
        sex_text,
        rows,
        columns["sex"],
        '"{value}" is not a sex code (expected MALE, FEMALE or ALL)',
        path,
    )

    age_text = text[columns["age"]]
    age = _upper(age_text).map(_AGE_CODES | {"ALL": _ALL})
    _raise_bad_cells(
        age.isna().to_numpy(),
        age_text,
        rows,
        columns["age"],
        '"{value}" is not an age (expected 0 to 94, "95+" or ALL)',
        path,
    )
    age = age.astype(np.int64)

    count_text = text[columns["patients"]]
    count = numbers_in_cells(count_text, file=path, column=columns["patients"], rows=rows)
    with np.errstate(invalid="ignore"):
        not_whole = ~np.isfinite(count) | (np.mod(count, 1) != 0) | (np.abs(count) >= 2.0**53)
    _raise_bad_cells(
        not_whole,
        count_text,
        rows,
        columns["patients"],
        '"{value}" is not a count of patients (expected a whole number, 0 or more)',
        path,
    )
    _raise_bad_cells(
        count < 0,
        count_text,
        rows,
        columns["patients"],
        "{value} is negative (expected a count of patients, 0 or more)",
        path,
    )
    patients = count.astype(np.int64)

    extract = text[columns["extract_date"]]
    first_extract = extract.iloc[0]
    _raise_bad_cells(
        (extract != first_extract).to_numpy(),
        extract,
        rows,
        columns["extract_date"],
        '"{value}" differs from the first row\'s "' + first_extract + '" '
        "(expected one extract per file)",
        path,
    )

    long = pd.DataFrame(
        {
            "practice": practice.astype(str),
            "sex": sex.astype(str),
            "age": age,
            "patients": patients,
            "sub_icb": sub_icb.astype(str),
        }
    )

    duplicated = long.duplicated(["practice", "sex", "age"], keep=False).to_numpy()
    if duplicated.any():
        dup_rows = rows[duplicated]
        first = long.loc[duplicated].iloc[0]
        same = (
            long.loc[duplicated, ["practice", "sex", "age"]]
            .eq(first[["practice", "sex", "age"]])
            .all(axis=1)
            .to_numpy()
        )
        age_label = "ALL" if first["age"] == _ALL else _age_label(int(first["age"]))
        others = ", ".join(str(r) for r in dup_rows[same][1:_MAX_LISTED])
        raise InputError(
            f"practice {first['practice']}, SEX {_sex_label(first['sex'])}, AGE {age_label} "
            f"appears again in row {others} (expected one row per practice, sex and age)",
            file=path,
            row=int(dup_rows[0]),
            column=columns["practice"],
        )

    sub_icbs = long.groupby("practice", sort=False)["sub_icb"].transform("first")
    moved = (long["sub_icb"] != sub_icbs).to_numpy()
    if moved.any():
        at = int(np.flatnonzero(moved)[0])
        code = long["practice"].iloc[at]
        first_row = int(rows[np.flatnonzero((long["practice"] == code).to_numpy())[0]])
        raise InputError(
            f'practice {code} is in sub-ICB "{long["sub_icb"].iloc[at]}" here but in '
            f'"{sub_icbs.iloc[at]}" in row {first_row} (expected one sub-ICB per practice)',
            file=path,
            row=int(rows[at]),
            column=columns["sub_icb"],
        )

    single = ((long["sex"] != "ALL") & (long["age"] != _ALL)).to_numpy()
    _check_totals(long, single, rows, path, columns["patients"])
    if not single.any():
        raise InputError(
            "the file has only total (ALL) rows (expected one row per practice, sex and age)",
            file=path,
            row=int(rows[0]),
            column=columns["age"],
        )

    out = long.loc[single].sort_values(["practice", "sex", "age"], kind="stable")
    return out.reset_index(drop=True)[list(REGISTER_COLUMNS)]


def _upper(column: pd.Series) -> pd.Series:
    """Upper-case each cell, working on the distinct values only."""
    codes, uniques = pd.factorize(column)
    upper = pd.Index(uniques, dtype=str).str.upper()
    return pd.Series(upper.take(codes), index=column.index, dtype=str, name=column.name)


def _sex_label(sex: str) -> str:
    """Return the published SEX text for a long-form sex code."""
    return {"M": "MALE", "F": "FEMALE"}.get(sex, sex)


def _age_label(age: int) -> str:
    """Return the published AGE text for an age 0..95."""
    return "95+" if age == _TOP_AGE else str(age)


def _check_totals(
    long: pd.DataFrame, single: np.ndarray, rows: np.ndarray, path: Path, column: str
) -> None:
    """Check every total (ALL) row against the single-year rows it covers."""
    totals = ~single
    if not totals.any():
        return
    detail = long.loc[single]
    tot = long.loc[totals]
    by_practice_sex = detail.groupby(["practice", "sex"])["patients"].sum()
    by_practice_age = detail.groupby(["practice", "age"])["patients"].sum()
    by_practice = detail.groupby("practice")["patients"].sum()

    sex_all = (tot["sex"] == "ALL").to_numpy()
    age_all = (tot["age"] == _ALL).to_numpy()
    expected = np.zeros(len(tot), dtype=np.int64)
    # A total whose single-year rows are all absent covers no patients, so its
    # expected sum is 0 (the published files list every age, with zeros).
    part = ~sex_all & age_all
    keys = pd.MultiIndex.from_arrays([tot["practice"][part], tot["sex"][part]])
    expected[part] = by_practice_sex.reindex(keys).fillna(0).to_numpy(dtype=np.int64)
    part = sex_all & ~age_all
    keys = pd.MultiIndex.from_arrays([tot["practice"][part], tot["age"][part]])
    expected[part] = by_practice_age.reindex(keys).fillna(0).to_numpy(dtype=np.int64)
    part = sex_all & age_all
    expected[part] = by_practice.reindex(tot["practice"][part]).fillna(0).to_numpy(np.int64)

    stated = tot["patients"].to_numpy()
    wrong = stated != expected
    if not wrong.any():
        return
    where = np.flatnonzero(wrong)
    first = tot.iloc[where[0]]
    age = "ALL" if first["age"] == _ALL else _age_label(int(first["age"]))
    what = f"SEX {_sex_label(first['sex'])}, AGE {age}"
    raise InputError(
        f"the total row for practice {first['practice']} ({what}) says "
        f"{stated[where[0]]:,} patients but its single-year-of-age rows add up to "
        f"{expected[where[0]]:,} (expected the total to equal the sum)"
        + _list_rows(rows[totals][where[1:]]),
        file=path,
        row=int(rows[totals][where[0]]),
        column=column,
    )
