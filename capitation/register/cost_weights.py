"""Cost weights by sex and age band, need indices by practice, and register-weighted counts.

docs/methods/weighted-capitation.md#from-the-register: a component's cost weights give w(s, a) by
sex and age band,
an optional need index file gives m(p) per practice, and the weighted count
of practice p is

    X_p = m(p) × Σ_{s,a} n(p, s, a) × w(s, a)

where n(p, s, a) is the GP register (:func:`capitation.register.read.read_register`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError, clip
from capitation.inputs import (
    find_columns,
    number_column,
    read_csv,
    refuse_repeats,
    refuse_rows,
    text_column,
)
from capitation.needs.formula import MAX_WEIGHT
from capitation.register.read import TOP_AGE, missing_practices

__all__ = ["CostWeights", "read_cost_weights", "read_need_index", "register_weighted_counts"]

_N_AGES = TOP_AGE + 1
_SEXES = ("M", "F")  # row order of CostWeights.by_age()
_MAX_LISTED = 5
_AGE = 'a whole number of years, 0 to 95 (95 stands for "95+")'


@dataclass(frozen=True, eq=False)
class CostWeights:
    """A component's cost weights w(s, a) by sex and age band.

    Method: docs/methods/weighted-capitation.md#from-the-register.

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
        stop = np.where(bands["age_to"].isna(), TOP_AGE, bands["age_to"]).astype(np.int64) + 1
        lengths = stop - start
        which = np.repeat(np.arange(len(bands)), lengths)
        ages = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        table[sex_row[which], start[which] + ages] = bands["weight"].to_numpy()[which]
        return table


def read_cost_weights(path: Path) -> CostWeights:
    """Read a component's cost weights by sex and age band.

    Method: docs/methods/weighted-capitation.md#from-the-register.

    Parameters
    ----------
    path : Path
        A UTF-8 CSV with columns ``sex`` (``M`` or ``F``), ``age_from`` (whole
        years, 0 to 95), ``age_to`` (whole years, inclusive, up to 95 where
        95 means "95+"; blank for the open top band) and ``weight`` (relative
        cost per person, 0 to :data:`~capitation.needs.formula.MAX_WEIGHT`).
        Column names match ignoring case and outer whitespace; other columns
        are ignored. For each sex the bands must cover ages 0 to 95 without
        gaps or overlaps.

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
    table = read_csv(path, expect_rows="bands of sex, age_from, age_to and weight")
    text, rows = table.frame, table.rows
    col = find_columns(table.headers, ("sex", "age_from", "age_to", "weight"), file=path,
                       case_sensitive=False)

    sex = text[col["sex"]].str.upper()
    refuse_rows(~sex.isin(_SEXES),
                lambda i: f'"{clip(text[col["sex"]].iloc[i])}" is not a sex code (expected M or F)',
                file=path, column=col["sex"], rows=rows)
    age_from = number_column(text[col["age_from"]], what=_AGE, whole=True, maximum=TOP_AGE,
                             file=path, column=col["age_from"], rows=rows)
    age_to = number_column(text[col["age_to"]], what=f"{_AGE}, or blank for the open top band",
                           whole=True, maximum=TOP_AGE, blank=np.nan, file=path,
                           column=col["age_to"], rows=rows)
    refuse_rows(age_to < age_from,
                lambda i: f"age_to {age_to[i]:g} is below age_from {age_from[i]:g} "
                          "(expected age_from ≤ age_to)",
                file=path, column=col["age_to"], rows=rows)
    weight = number_column(text[col["weight"]], what=f"a weight from 0 to {MAX_WEIGHT:g}",
                           maximum=MAX_WEIGHT, file=path, column=col["weight"], rows=rows)

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
            np.isnan(bands["age_to"].to_numpy()[mine]), TOP_AGE, bands["age_to"].to_numpy()[mine]
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
    """Read a component's need index m(p) per practice.

    Method: docs/methods/weighted-capitation.md#from-the-register.

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
    table = read_csv(path, expect_rows="one row per practice")
    text, rows = table.frame, table.rows
    col = find_columns(table.headers, ("practice", "need_index"), file=path, case_sensitive=False)
    code = text_column(text[col["practice"]], what="a GP practice code", file=path,
                       column=col["practice"], rows=rows)
    refuse_repeats(code, what="practice", file=path, column=col["practice"], rows=rows)
    expected = "a need index greater than 0"
    value = number_column(text[col["need_index"]], what=expected, file=path,
                          column=col["need_index"], rows=rows)
    refuse_rows(value == 0, f"0 is not above 0 (expected {expected})", file=path,
                column=col["need_index"], rows=rows)
    given = pd.Series(value, index=pd.Index(code.astype(str), name="practice"))
    wanted = pd.Index(practices, name="practice")
    missing = wanted[~wanted.isin(given.index)]
    if len(missing):
        raise InputError(
            f"{missing_practices(missing)} (expected a need index for every practice)",
            file=path,
            column=col["practice"],
        )
    return given.reindex(wanted).rename("need_index")


def register_weighted_counts(
    register: pd.DataFrame,
    weights: CostWeights | None,
    need_index: pd.Series | None,
) -> pd.DataFrame:
    """Weighted count X_p of each practice from the register.

    Method: docs/methods/weighted-capitation.md#from-the-register.

    X_p = m(p) × Σ_{s,a} n(p, s, a) × w(s, a).

    Parameters
    ----------
    register : pandas.DataFrame
        Long-form register from :func:`capitation.register.read.read_register`:
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
    if ((age < 0) | (age > TOP_AGE)).any():
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
