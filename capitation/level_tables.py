"""Level tables: practice figures summed to each level, with need indices.

docs/methods/weighted-capitation.md#the-weighted-population-reported (weighted population reported)
and 3 (need index).
Every figure derived from money uses the rounded money (the same numbers
the workbook's formulas see). Money goes in as int64 pence and comes out in
pounds.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from capitation.rounding import excel_round, half_up

__all__ = ["CONVENTIONS", "level_tables", "TABLE_COLUMNS"]

log = logging.getLogger(__name__)

# Need index conventions (docs/methods/need-index.md).
CONVENTIONS = ("toolkit", "nhs_england")

TABLE_COLUMNS = [
    "population",
    "weighted_population",
    "need_index",
    "need_index_in_parent",
    "target_gbp",
    "allocation_gbp",
    "distance_from_target",
    "allocation_per_head_gbp",
]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / denominator
    return np.where(denominator == 0, np.nan, out)


def level_tables(
    frame: pd.DataFrame,
    levels: list[str],
    components: list[str],
    convention: str = "toolkit",
    pace_level: str | None = None,
    baseline_pence: pd.Series | None = None,
    names: Mapping[str, pd.Series] | None = None,
) -> dict[str, pd.DataFrame]:
    """Build one table per level from practice figures.

    Parameters
    ----------
    frame : pandas.DataFrame
        Indexed by practice. Columns: ``population``; one text column per
        level in ``levels``; ``x_<c>`` (weighted count) and ``target_<c>_pence``
        (int64) per component; ``allocation_pence`` (int64).
    levels : list of str
        Level names, innermost first (``practice`` is added in front).
    components : list of str
        Component names in order.
    convention : {"toolkit", "nhs_england"}
        Need index convention (docs/methods/need-index.md).
    pace_level : str, optional
        The pace-of-change level; it and the levels above it get baseline columns.
    baseline_pence : pandas.Series, optional
        int64 baseline per organisation at the pace level (needed with ``pace_level``).
    names : mapping of str to pandas.Series, optional
        Level → organisation name per code (:attr:`capitation.Population.names`).
        A level given names gets a ``name`` column first, right after the code
        (blank where a code has no name); a level without names has no
        ``name`` column.

    Returns
    -------
    dict of str to pandas.DataFrame
        Level name → table indexed by organisation code (index named after the
        level), sorted by code.
    """
    all_levels = ["practice", *levels]
    target_cols = [f"target_{c}_pence" for c in components]
    frame = frame.assign(target_pence=frame[target_cols].sum(axis=1).astype(np.int64))
    total_target = int(frame["target_pence"].sum())
    total_population = float(frame["population"].sort_index().sum())
    model_ratio = total_target / total_population if total_population else np.nan
    sum_cols = ["population", *[f"x_{c}" for c in components], *target_cols, "target_pence",
                "allocation_pence"]
    pace_index = all_levels.index(pace_level) if pace_level is not None else None

    sums: dict[str, pd.DataFrame] = {}
    for level in all_levels:
        if level == "practice":
            summed = frame[sum_cols].copy()
        else:
            summed = frame.groupby(level, sort=True)[sum_cols].sum()
        summed.index.name = level
        sums[level] = summed.sort_index()

    tables: dict[str, pd.DataFrame] = {}
    for depth, level in enumerate(all_levels):
        s = sums[level]
        target = s["target_pence"].to_numpy(dtype=np.int64)
        allocation = s["allocation_pence"].to_numpy(dtype=np.int64)
        population = s["population"].to_numpy(dtype=float)
        weighted = target / total_target * total_population
        table = pd.DataFrame(index=s.index)
        table["population"] = population
        table["weighted_population"] = weighted

        parent = all_levels[depth + 1] if depth + 1 < len(all_levels) else None
        if parent is not None:
            codes = frame[parent] if level == "practice" else (
                frame[[level, parent]].drop_duplicates().set_index(level)[parent])
            parent_code = codes.reindex(s.index)
            parent_sums = sums[parent].reindex(parent_code.to_numpy())
            parent_target = parent_sums["target_pence"].to_numpy(dtype=float)
            parent_population = parent_sums["population"].to_numpy(dtype=float)
        else:
            parent_code = None
            parent_target = np.full(len(s), float(total_target))
            parent_population = np.full(len(s), total_population)

        if convention == "nhs_england" and level != "practice":
            need, in_parent = _nhs_england_indices(
                s.index, weighted, population, parent_target / total_target * total_population,
                parent_population, level)
        else:
            per_head = _ratio(target / 100.0, population)
            need = per_head / (model_ratio / 100.0)
            in_parent = _ratio(per_head, _ratio(parent_target / 100.0, parent_population))
        table["need_index"] = need
        table["need_index_in_parent"] = in_parent
        table["target_gbp"] = target / 100.0
        table["allocation_gbp"] = allocation / 100.0
        table["distance_from_target"] = _ratio((allocation - target).astype(float),
                                               target.astype(float))
        table["allocation_per_head_gbp"] = _ratio(allocation / 100.0, population)
        if pace_index is not None and depth >= pace_index:
            assert baseline_pence is not None, "baseline_pence is needed with pace_level"
            if level == pace_level:
                baseline = baseline_pence.reindex(s.index).to_numpy(dtype=np.int64)
            else:
                codes = frame.index.to_series() if pace_level == "practice" else frame[pace_level]
                mapping = pd.Series(frame[level].to_numpy(), index=codes.to_numpy())
                mapping = mapping[~mapping.index.duplicated()]
                baseline = (baseline_pence.groupby(mapping.reindex(baseline_pence.index))
                            .sum().reindex(s.index).to_numpy(dtype=np.int64))
            table["baseline_gbp"] = baseline / 100.0
            table["growth"] = _ratio((allocation - baseline).astype(float),
                                     baseline.astype(float))
            table["baseline_distance_from_target"] = _ratio(
                (baseline - target).astype(float), target.astype(float))
        for c in components:
            table[f"weighted_population_{c}"] = s[f"x_{c}"].to_numpy(dtype=float)
            table[f"target_{c}_gbp"] = s[f"target_{c}_pence"].to_numpy(dtype=np.int64) / 100.0
        for upper in all_levels[depth + 1:]:
            if level == "practice":
                table[upper] = frame[upper].reindex(s.index).to_numpy()
            else:
                table[upper] = (frame[[level, upper]].drop_duplicates().set_index(level)[upper]
                                .reindex(s.index).to_numpy())
        if names is not None and level in names:
            # Shown beside the code; a code without a name stays blank, never its code.
            table.insert(0, "name", names[level].reindex(s.index).astype("str").to_numpy())
        tables[level] = table
    return tables


def _nhs_england_indices(codes: pd.Index, weighted: np.ndarray, population: np.ndarray,
                         parent_weighted: np.ndarray, parent_population: np.ndarray,
                         level: str) -> tuple[np.ndarray, np.ndarray]:
    """Need indices as NHS England's place-based tools print them (docs/methods/need-index.md).

    Sums of weighted population and population are rounded to whole numbers
    (halves up) first; each ratio uses those integers; the index is rounded to
    3 decimal places (Excel ROUND). A group whose rounded population is 0 has
    no index (NaN) and is named in a warning.
    """
    wp = half_up(weighted)
    pop = half_up(population)
    # The whole model's weighted population equals its population (section 2.4),
    # so the index against the model is the group's own rounded ratio.
    ratio = _ratio(wp, pop)
    parent_ratio = _ratio(half_up(parent_weighted), half_up(parent_population))
    need = excel_round(ratio, 3)
    in_parent = excel_round(_ratio(ratio, parent_ratio), 3)
    empty = pop == 0
    if empty.any():
        names = ", ".join(map(str, codes[empty][:5]))
        message = (f"{level} {names}: rounded population is 0, so no need index "
                   "(left blank; nhs_england convention)")
        log.warning(message)
        warnings.warn(message, stacklevel=3)
    return np.where(empty, np.nan, need), np.where(empty, np.nan, in_parent)
