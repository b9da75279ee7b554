"""Cost weights by sex and age band, need indices by practice, and register-weighted counts.

domain.md §2.1: a component's cost weights give w(s, a) by sex and age band,
an optional need index file gives m(p) per practice, and the weighted count
of practice p is

    X_p = m(p) × Σ_{s,a} n(p, s, a) × w(s, a)

where n(p, s, a) is the GP register (:func:`capitation.register.read_register`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs.csv_tables import numbers_in_cells
from capitation.register import read_csv_as_text

__all__ = ["CostWeights", "read_cost_weights", "read_need_index", "register_weighted_counts"]

_TOP_AGE = 95  # the register's "95+" counts as 95
_N_AGES = _TOP_AGE + 1
_SEXES = ("M", "F")  # row order of CostWeights.by_age()
_MAX_LISTED = 5


@dataclass(frozen=True, eq=False)
class CostWeights:
    """A component's cost weights w(s, a) by sex and age band (domain.md §2.1).

    Parameters
    ----------
    bands : pandas.DataFrame
        One row per band with columns ``sex`` (``"M"``/``"F"``), ``age_from``
        (int64, years), ``age_to`` (float64, years, inclusive; NaN for the
        open top band) and ``weight`` (float64, relative cost per person,
        0 or more). For each sex the bands cover ages 0 to 95 (95 is "95+")
        without gaps or overlaps. The frame is copied on the way in; it is
        checked when read by :func:`read_cost_weights`.
    """

    bands: pd.DataFrame

    def __post_init__(self) -> None:
        """Copy the frame so that later changes to the caller's frame do not leak in."""
        object.__setattr__(self, "bands", self.bands.copy())

    def by_age(self) -> np.ndarray:
        """Return the weight of every sex and single year of age.

        Returns
        -------
        numpy.ndarray
            float64 of shape (2, 96): row 0 is sex M, row 1 sex F; column a
            is age a (column 95 is "95+").
        """
        table = np.full((len(_SEXES), _N_AGES), np.nan)
        bands = self.bands
        sex_row = bands["sex"].map({s: i for i, s in enumerate(_SEXES)}).to_numpy()
        start = bands["age_from"].to_numpy(dtype=np.int64)
        stop = np.where(bands["age_to"].isna(), _TOP_AGE, bands["age_to"]).astype(np.int64) + 1
        lengths = stop - start
        which = np.repeat(np.arange(len(bands)), lengths)
        ages = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        table[sex_row[which], start[which] + ages] = bands["weight"].to_numpy()[which]
        return table


def _cells(
    text: pd.DataFrame, rows: np.ndarray, column: str, file: Path, *, what: str
) -> pd.Series:
    """Return a text column as numbers; a cell that is not a finite number is an error."""
    values = pd.Series(numbers_in_cells(text[column], file=file, column=column, rows=rows),
                       index=text.index)
    bad = (text[column] != "").to_numpy() & ~np.isfinite(values.to_numpy())
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise InputError(
            f'"{text[column].iloc[at]}" is not a number (expected {what})',
            file=file,
            row=int(rows[at]),
            column=column,
        )
    return values


def _first_bad(bad: np.ndarray | pd.Series) -> int | None:
    """Return the position of the first True in ``bad``, or None."""
    where = np.flatnonzero(np.asarray(bad))
    return int(where[0]) if len(where) else None


def _columns(text: pd.DataFrame, wanted: tuple[str, ...], file: Path) -> dict[str, str]:
    """Map each wanted (lower-case) column name to the file's spelling of it."""
    by_lower = {name.lower(): name for name in text.columns}
    for name in wanted:
        if name not in by_lower:
            raise InputError(
                f"column is missing (expected the columns {', '.join(wanted)}; "
                f"found {', '.join(text.columns) or 'none'})",
                file=file,
                row=1,
                column=name,
            )
    return {name: by_lower[name] for name in wanted}


def read_cost_weights(path: Path) -> CostWeights:
    """Read a component's cost weights by sex and age band (domain.md §2.1).

    Parameters
    ----------
    path : Path
        A UTF-8 CSV with columns ``sex`` (``M`` or ``F``), ``age_from`` (whole
        years, 0 to 95), ``age_to`` (whole years, inclusive, up to 95 where
        95 means "95+"; blank for the open top band) and ``weight`` (relative
        cost per person, 0 or more). Column names match ignoring case and
        outer whitespace; other columns are ignored. For each sex the bands
        must cover ages 0 to 95 without gaps or overlaps.

    Returns
    -------
    CostWeights
        The bands sorted by sex and age_from.

    Raises
    ------
    InputError
        Naming the file, the row (header is row 1), the column and what was
        expected, when the file cannot be read, a column is missing, there are
        no rows, a sex is not M or F, an age is not a whole number in 0 to 95
        or ``age_to`` is below ``age_from``, a weight is not a number 0 or
        more, the bands of a sex leave a gap or overlap ("ages 65 to 69 are
        not covered for sex F"), or a sex has no bands at all.
    """
    path = Path(path)
    text, rows = read_csv_as_text(path)
    col = _columns(text, ("sex", "age_from", "age_to", "weight"), path)
    if len(text) == 0:
        raise InputError(
            "the file has no data rows (expected bands of sex, age_from, age_to, weight)",
            file=path,
            row=2,
        )

    sex = text[col["sex"]].str.upper()
    at = _first_bad(~sex.isin(_SEXES))
    if at is not None:
        raise InputError(
            f'"{text[col["sex"]].iloc[at]}" is not a sex code (expected M or F)',
            file=path,
            row=int(rows[at]),
            column=col["sex"],
        )

    age_from = _cells(text, rows, col["age_from"], path, what="a whole number of years, 0 to 95")
    age_to = _cells(
        text, rows, col["age_to"], path, what="a whole number of years up to 95, or blank"
    )
    for name, values, blank_ok in (
        (col["age_from"], age_from, False),
        (col["age_to"], age_to, True),
    ):
        blank = values.isna().to_numpy()
        present = values.to_numpy()
        with np.errstate(invalid="ignore"):
            bad = (blank & (not blank_ok)) | (
                ~blank & ((np.mod(present, 1) != 0) | (present < 0) | (present > _TOP_AGE))
            )
        at = _first_bad(bad)
        if at is not None:
            shown = text[name].iloc[at]
            expected = "0 to 95" + (", or blank for the open top band" if blank_ok else "")
            raise InputError(
                f'"{shown}" is not an age (expected a whole number of years, {expected}; '
                '95 stands for "95+")',
                file=path,
                row=int(rows[at]),
                column=name,
            )
    at = _first_bad((age_to < age_from).to_numpy())
    if at is not None:
        raise InputError(
            f"age_to {age_to.iloc[at]:g} is below age_from {age_from.iloc[at]:g} "
            "(expected age_from ≤ age_to)",
            file=path,
            row=int(rows[at]),
            column=col["age_to"],
        )

    weight = _cells(text, rows, col["weight"], path, what="a weight, 0 or more")
    at = _first_bad((weight.isna() | (weight < 0)).to_numpy())
    if at is not None:
        shown = text[col["weight"]].iloc[at] or "blank"
        raise InputError(
            f"{shown} is not a valid weight (expected a number, 0 or more)",
            file=path,
            row=int(rows[at]),
            column=col["weight"],
        )

    bands = pd.DataFrame(
        {
            "sex": sex.astype(str),
            "age_from": age_from.astype(np.int64),
            "age_to": age_to.astype(np.float64),
            "weight": weight.astype(np.float64),
        }
    )
    _check_coverage(bands, rows, path, col["age_from"])
    order = np.lexsort((bands["age_from"].to_numpy(), bands["sex"].to_numpy()))
    return CostWeights(bands.iloc[order].reset_index(drop=True))


def _check_coverage(bands: pd.DataFrame, rows: np.ndarray, path: Path, column: str) -> None:
    """Check that each sex's bands cover ages 0..95 once each; name a gap or overlap."""
    for sex in _SEXES:  # a loop over two sexes, not over rows
        mine = (bands["sex"] == sex).to_numpy()
        if not mine.any():
            raise InputError(
                f"there are no bands for sex {sex} (expected bands covering ages 0 to 95 "
                "for both M and F)",
                file=path,
                column="sex",
            )
        start = bands["age_from"].to_numpy()[mine]
        stop = np.where(
            np.isnan(bands["age_to"].to_numpy()[mine]), _TOP_AGE, bands["age_to"].to_numpy()[mine]
        ).astype(np.int64)
        band_rows = rows[mine]
        # Count the bands covering each age with a difference array.
        delta = np.zeros(_N_AGES + 1, dtype=np.int64)
        np.add.at(delta, start, 1)
        np.add.at(delta, stop + 1, -1)
        cover = np.cumsum(delta)[:_N_AGES]
        for problem, ages in (("gap", cover == 0), ("overlap", cover > 1)):
            if not ages.any():
                continue
            first = int(np.flatnonzero(ages)[0])
            last = first
            while last + 1 < _N_AGES and ages[last + 1]:
                last += 1
            span = f"age {first}" if first == last else f"ages {first} to {last}"
            if problem == "gap":
                # Name the band starting just after the gap, else the one ending before it.
                after = band_rows[start == last + 1]
                before = band_rows[stop == first - 1]
                row = int(after[0]) if len(after) else int(before[0]) if len(before) else None
                verb = "is" if first == last else "are"
                message = (
                    f"{span} {verb} not covered for sex {sex} (expected bands covering 0 to 95)"
                )
            else:
                covering = np.sort(band_rows[(start <= last) & (stop >= first)])
                row = int(covering[1])
                listed = ", ".join(str(r) for r in covering[:_MAX_LISTED])
                verb = "is" if first == last else "are"
                message = (
                    f"{span} {verb} covered by more than one band for sex {sex} (rows {listed}; "
                    "expected each age in exactly one band)"
                )
            raise InputError(message, file=path, row=row, column=column)


def read_need_index(path: Path, practices: pd.Index) -> pd.Series:
    """Read a component's need index m(p) per practice (domain.md §2.1).

    Parameters
    ----------
    path : Path
        A UTF-8 CSV with columns ``practice`` (GP practice code) and
        ``need_index`` (a multiplier, greater than 0). Column names match
        ignoring case and outer whitespace; other columns are ignored.
    practices : pandas.Index
        The practices of the register; each must appear in the file.
        Practices in the file but not in ``practices`` are allowed and
        ignored without comment, so that one national file can serve any
        register.

    Returns
    -------
    pandas.Series
        float64 need index (dimensionless), indexed by ``practices`` in their
        order (index named ``practice``), named ``need_index``.

    Raises
    ------
    InputError
        Naming the file, row and column, when the file cannot be read, a
        column is missing, a practice code is blank or appears twice, a need
        index is not a number greater than 0, or a practice of the register
        is missing from the file (naming up to five codes: a missing
        practice never silently gets 1).
    """
    path = Path(path)
    text, rows = read_csv_as_text(path)
    col = _columns(text, ("practice", "need_index"), path)
    code = text[col["practice"]]
    at = _first_bad((code == "").to_numpy())
    if at is not None:
        raise InputError(
            "the practice code is blank (expected a GP practice code)",
            file=path,
            row=int(rows[at]),
            column=col["practice"],
        )
    duplicated = code.duplicated(keep=False).to_numpy()
    if duplicated.any():
        first = code[duplicated].iloc[0]
        again = rows[(code == first).to_numpy()]
        raise InputError(
            f"practice {first} appears again in row {', '.join(str(r) for r in again[1:])} "
            "(expected one row per practice)",
            file=path,
            row=int(again[0]),
            column=col["practice"],
        )
    value = _cells(text, rows, col["need_index"], path, what="a need index greater than 0")
    at = _first_bad((value.isna() | (value <= 0)).to_numpy())
    if at is not None:
        shown = text[col["need_index"]].iloc[at] or "blank"
        raise InputError(
            f"{shown} is not a valid need index (expected a number greater than 0)",
            file=path,
            row=int(rows[at]),
            column=col["need_index"],
        )
    given = pd.Series(value.to_numpy(), index=pd.Index(code.astype(str), name="practice"))
    wanted = pd.Index(practices, name="practice")
    missing = wanted[~wanted.isin(given.index)]
    if len(missing):
        shown = ", ".join(str(c) for c in missing[:_MAX_LISTED])
        more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
        noun = "practice" if len(missing) == 1 else "practices"
        raise InputError(
            f"{len(missing)} {noun} of the register {'is' if len(missing) == 1 else 'are'} "
            f"missing: {shown}{more} (expected a need index for every practice)",
            file=path,
            column=col["practice"],
        )
    return given.reindex(wanted).rename("need_index")


def register_weighted_counts(
    register: pd.DataFrame,
    weights: CostWeights | None,
    need_index: pd.Series | None,
) -> pd.DataFrame:
    """Weighted count X_p of each practice from the register (domain.md §2.1).

    X_p = m(p) × Σ_{s,a} n(p, s, a) × w(s, a).

    Parameters
    ----------
    register : pandas.DataFrame
        Long-form register from :func:`capitation.register.read_register`:
        columns ``practice``, ``sex`` (``"M"``/``"F"``), ``age`` (0..95) and
        ``patients`` (people).
    weights : CostWeights or None
        w(s, a); None weights everyone 1.
    need_index : pandas.Series or None
        m(p), indexed by practice code, covering every practice of the
        register (extra practices are ignored); None means 1 for all.

    Returns
    -------
    pandas.DataFrame
        Indexed by practice code (index named ``practice``, sorted), with
        columns ``population`` (int64, Σ n: registered people) and
        ``weighted`` (float64, X_p: weighted people).

    Raises
    ------
    InputError
        If the register lacks a column or has a sex other than M/F or an
        age outside 0..95, or ``need_index`` misses a register practice, has
        a duplicated practice, or a value that is not greater than 0.
    """
    for column in ("practice", "sex", "age", "patients"):
        if column not in register.columns:
            raise InputError("the register has no such column", column=column)
    sex_row = register["sex"].map({s: i for i, s in enumerate(_SEXES)})
    if sex_row.isna().any():
        raise InputError('sex must be "M" or "F"', column="sex")
    age = register["age"].to_numpy(dtype=np.int64)
    if ((age < 0) | (age > _TOP_AGE)).any():
        raise InputError("age must be 0 to 95 (95 stands for 95+)", column="age")

    patients = register["patients"].to_numpy(dtype=np.int64)
    if weights is None:
        weighted = patients.astype(np.float64)
    else:
        table = weights.by_age()
        if not np.isfinite(table).all():
            raise InputError(
                "the cost weights do not give a weight for every sex and age 0 to 95",
                column="weight",
            )
        weighted = patients * table[sex_row.to_numpy(dtype=np.int64), age]
    frame = pd.DataFrame(
        {
            "practice": register["practice"].to_numpy(),
            "population": patients,
            "weighted": weighted,
        }
    )
    out = frame.groupby("practice", sort=True)[["population", "weighted"]].sum()
    out.index = pd.Index(out.index.astype(str), name="practice")
    out["population"] = out["population"].astype(np.int64)

    if need_index is not None:
        if need_index.index.has_duplicates:
            dup = need_index.index[need_index.index.duplicated()][0]
            raise InputError(f"practice {dup} has two need indices", column="need_index")
        missing = out.index[~out.index.isin(need_index.index)]
        if len(missing):
            shown = ", ".join(str(c) for c in missing[:_MAX_LISTED])
            raise InputError(
                f"{len(missing)} practice(s) of the register have no need index: {shown}",
                column="need_index",
            )
        m = need_index.reindex(out.index).to_numpy(dtype=np.float64)
        if not (np.isfinite(m) & (m > 0)).all():
            raise InputError("need indices must be numbers greater than 0", column="need_index")
        out["weighted"] = out["weighted"].to_numpy() * m
    return out
