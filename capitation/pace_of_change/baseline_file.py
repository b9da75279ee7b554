"""The baselines file: each organisation's baseline in pounds, for pace of change.

Method: docs/methods/pace-of-change.md.

A model's ``[pace_of_change] baseline = "baselines.csv"`` names a CSV with one
row per organisation at the pace-of-change level: a column named after the
level (``ICB``) holding its code and a column ``baseline_gbp`` holding its
baseline (last year's allocation or recurrent spend) in pounds, above 0.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError, clip
from capitation.inputs import (
    find_columns,
    listed,
    number_column,
    read_csv,
    refuse_repeats,
    refuse_rows,
    text_column,
)

__all__ = ["read_baseline"]

_POUNDS = "a baseline in pounds, above 0"


def read_baseline(path: str | Path, level: str, codes: pd.Index) -> pd.Series:
    """Read each organisation's baseline from a baselines CSV.

    Parameters
    ----------
    path : str or Path
        The CSV: columns ``{level}`` (organisation code) and ``baseline_gbp``
        (pounds, above 0); headers match after whitespace is tidied. Other
        columns are ignored.
    level : str
        The pace-of-change level (``"ICB"``), the name of the code column.
    codes : pandas.Index
        The model's organisations at ``level``; each needs a baseline.

    Returns
    -------
    pandas.Series
        float64 pounds, indexed by ``codes`` in their order.

    Raises
    ------
    InputError
        Naming the file, row and column: a column is missing, a code is blank
        or appears twice, a baseline is not a number above 0, or an
        organisation of the model has no baseline.

    Warns
    -----
    UserWarning
        Naming the rows of organisations that are not in the model: a file
        may cover more organisations than the model runs (they are not used).
    """
    path = Path(path)
    table = read_csv(path, expect_rows=f"one row per {level}")
    frame, rows = table.frame, table.rows
    column = find_columns(table.headers, [level, "baseline_gbp"], file=path)
    code = text_column(frame[column[level]], what=f"the {level} code", file=path,
                       column=column[level], rows=rows)
    refuse_repeats(code, what=level, file=path, column=column[level], rows=rows)
    value = number_column(frame[column["baseline_gbp"]], what=_POUNDS, file=path,
                          column=column["baseline_gbp"], rows=rows, money=True)
    refuse_rows(value == 0, f"0 is not above 0 (expected {_POUNDS})", file=path,
                column=column["baseline_gbp"], rows=rows)
    series = pd.Series(value, index=pd.Index(code.to_numpy(dtype=str), name=level))
    missing = codes.difference(series.index)
    if len(missing):
        raise InputError(f"no baseline for {level} {listed(missing)} (expected one row per {level} "
                         "of the model)", file=path, column=column[level])
    extra = np.flatnonzero(~series.index.isin(codes))
    if extra.size:
        noun = "row" if extra.size == 1 else "rows"
        named = listed([f"{row} ({clip(code)})" for row, code in zip(rows[extra],
                                                                      series.index[extra],
                                                                      strict=True)])
        warnings.warn(f"{path.name}: {noun} {named}: {level} not in the model, not used",
                      UserWarning, stacklevel=2)
    return series.reindex(codes)
