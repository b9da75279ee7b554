"""The GP register: NHS Digital's patients registered at a GP practice, by sex and age.

This module reads the "Patients registered at a GP practice" single-year-of-age
CSV published monthly by NHS Digital (docs/methods/weighted-capitation.md#from-the-register: n(p, s,
a), people
registered at practice p, of sex s, at single year of age a). A seeded
synthetic register of the same shape, and a writer of the published format,
are in :mod:`capitation.register.synthetic`.

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

from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError, clip
from capitation.inputs import (
    also_rows,
    find_columns,
    listed,
    number_column,
    read_csv,
    refuse_rows,
    text_column,
)

__all__ = ["PUBLISHED_COLUMNS", "REGISTER_COLUMNS", "TOP_AGE", "read_register",
           "missing_practices"]

#: Columns of the long-form register, in order.
REGISTER_COLUMNS: tuple[str, ...] = ("practice", "sex", "age", "patients", "sub_icb")

#: The oldest single year of age; the published "95+" counts as 95.
TOP_AGE = 95
_SEX_CODES = {"MALE": "M", "FEMALE": "F", "ALL": "ALL"}
_AGE_CODES: dict[str, int] = {str(a): a for a in range(TOP_AGE)} | {"95+": TOP_AGE}
_ALL = -1  # the age code of an AGE == "ALL" total row
_MAX_LISTED = 5  # offending rows or codes named in one message
_SUB_ICB_NAMES = ("SUB_ICB_LOCATION_CODE", "CCG_CODE")
#: The columns of NHS Digital's published file, in order.
PUBLISHED_COLUMNS = (
    "EXTRACT_DATE",
    "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE",
    "ORG_CODE",
    "POSTCODE",
    "SEX",
    "AGE",
    "NUMBER_OF_PATIENTS",
)
_ROWS = "one row per practice, sex and age"
_COUNT = "a count of patients, 0 or more"
_REQUIRED = {
    "extract_date": ("EXTRACT_DATE",),
    "sub_icb": _SUB_ICB_NAMES,
    "practice": ("ORG_CODE",),
    "sex": ("SEX",),
    "age": ("AGE",),
    "patients": ("NUMBER_OF_PATIENTS",),
}


# --------------------------------------------------------------------------- #
# read_register
# --------------------------------------------------------------------------- #


def read_register(path: Path) -> pd.DataFrame:
    """Read NHS Digital's GP register CSV by single year of age.

    Method: docs/methods/weighted-capitation.md#from-the-register.

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
    table = read_csv(path, keep=[n for names in _REQUIRED.values() for n in names],
                     expect_rows=_ROWS)
    text, rows = table.frame, table.rows
    columns = find_columns(table.headers, _REQUIRED, file=path, case_sensitive=False)

    practice = text_column(text[columns["practice"]], what="a GP practice code such as A81001",
                           file=path, column=columns["practice"], rows=rows)
    sub_icb = text_column(text[columns["sub_icb"]], what="a sub-ICB location code such as 16C",
                          file=path, column=columns["sub_icb"], rows=rows)

    sex_text = text[columns["sex"]]
    sex = _upper(sex_text).map(_SEX_CODES)
    refuse_rows(sex.isna(), lambda i: f'"{clip(sex_text.iloc[i])}" is not a sex code '
                                      "(expected MALE, FEMALE or ALL)",
                file=path, column=columns["sex"], rows=rows)

    age_text = text[columns["age"]]
    age = _upper(age_text).map(_AGE_CODES | {"ALL": _ALL})
    refuse_rows(age.isna(), lambda i: f'"{clip(age_text.iloc[i])}" is not an age '
                                      '(expected 0 to 94, "95+" or ALL)',
                file=path, column=columns["age"], rows=rows)
    age = age.astype(np.int64)

    patients = number_column(text[columns["patients"]], what=_COUNT, whole=True, file=path,
                             column=columns["patients"], rows=rows).astype(np.int64)

    extract = text[columns["extract_date"]]
    first_extract = extract.iloc[0]
    refuse_rows(extract != first_extract,
                lambda i: f'"{clip(extract.iloc[i])}" differs from the first row\'s '
                          f'"{clip(first_extract)}" '
                          "(expected one extract per file)",
                file=path, column=columns["extract_date"], rows=rows)

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
    return "95+" if age == TOP_AGE else str(age)


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
        + also_rows(rows[totals][where[1:]]),
        file=path,
        row=int(rows[totals][where[0]]),
        column=column,
    )


def missing_practices(missing: pd.Index) -> str:
    """Say which practices of the register a file lacks.

    ``"2 practices of the register are missing: P2, P3"``, naming up to five.
    """
    noun, verb = ("practice", "is") if len(missing) == 1 else ("practices", "are")
    return f"{len(missing)} {noun} of the register {verb} missing: {listed(missing)}"
