"""Allocation: a population's need turned into targets and allocations, in memory.

:func:`allocate` is the central step of the toolkit, in the order of the
methods (docs/methods (weighted capitation, need index, rounding, pace of change)):

1. count need: each practice's weighted count per component of the needs
   formula (:mod:`capitation.sources`);
2. share the envelope into component pots, then each pot across practices in
   proportion to weighted count, in whole pence by largest remainder
   (:mod:`capitation.targets`); a practice's target is the sum;
3. move allocations from baseline toward target at the pace-of-change level
   (:mod:`capitation.pace_of_change`), then share each organisation's
   allocation across its practices in proportion to target, by largest
   remainder within the organisation;
4. sum to every level and add need indices (:mod:`capitation.level_tables`).

No file is read or written: :meth:`capitation.Model.run` reads a model file
and calls :func:`allocate` once a year, each year's baseline the previous
year's allocation.

>>> import pandas as pd
>>> from capitation import Component, NeedsFormula, Population, allocate
>>> df = pd.DataFrame({"code": ["P1", "P2", "P3"], "ICB": ["A", "A", "B"],
...                    "pop": [1000, 1000, 1000], "WP": [1400, 1200, 2000]})
>>> population = Population.from_frame(df, id="code", population="pop", levels=["ICB"],
...                                    columns=["WP"])
>>> formula = NeedsFormula((Component("core", share=1.0, blend={"WP": 1.0}),))
>>> allocate(population, formula, envelope_gbp=3_000_000).table("practice")[
...     "allocation_gbp"].tolist()
[913043.48, 782608.69, 1304347.83]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.level_tables import CONVENTIONS, level_tables
from capitation.needs import NeedsFormula
from capitation.pace_of_change import PaceOfChange, PaceOutcome, set_pace
from capitation.population import Population
from capitation.rounding import (
    MAX_MONEY_GBP,
    MAX_MONEY_PENCE,
    beyond_money,
    largest_remainder_grouped,
    round_pence,
    snap_pence,
)
from capitation.sources import PopulationSource, PracticeTable
from capitation.targets import component_pots, practice_targets

__all__ = ["Allocation", "Pace", "allocate", "pace_at_level"]


@dataclass(frozen=True, eq=False)
class Pace:
    """Pace of change: how far allocations may move from baseline in one year (section 5).

    Attributes
    ----------
    level : str
        The level whose organisations get floors and caps (``ICB``,
        ``ICB/LAD`` or ``practice``).
    baseline_gbp : pandas.Series
        Last year's allocation per organisation, pounds, indexed by the
        level's codes (any order; extra codes are ignored, a missing one is an error).
    min_growth : float
        Minimum growth on baseline, a fraction (0.02 is 2%).
    max_growth : float or None
        Maximum growth on baseline, a fraction; None for no cap.
    method : {"lp", "rule"}
        The two-stage LP (section 5.1, the default) or the rule (section 5.4).
    """

    level: str
    baseline_gbp: pd.Series
    min_growth: float
    max_growth: float | None = None
    method: str = "lp"


@dataclass(frozen=True, eq=False)
class Allocation:
    """Targets and allocations of one year, per level, in whole pence.

    Attributes
    ----------
    levels : tuple of str
        ``practice`` and each level of the population, innermost first.
    tables : mapping of str to pandas.DataFrame
        Level → table (see :meth:`table`).
    envelope_pence : int
        The money allocated, whole pence; every money column of every table
        adds up to it exactly.
    pace : Pace or None
        The pace of change applied, if any.
    pace_outcome : PaceOutcome or None
        Allocation, floor and cap at the pace level in whole pence, and the
        optimum; None without pace of change.
    """

    levels: tuple[str, ...]
    tables: Mapping[str, pd.DataFrame]
    envelope_pence: int
    pace: Pace | None
    pace_outcome: PaceOutcome | None

    def table(self, level: str) -> pd.DataFrame:
        """One level's table (a copy).

        Parameters
        ----------
        level : str
            ``practice`` or a level name (``ICB``, ``ICB/LAD``).

        Returns
        -------
        pandas.DataFrame
            Indexed by organisation code (index named after the level), sorted:
            ``name`` (the organisation's name, blank where it has none; only
            when the population gives names at this level),
            ``population`` and ``weighted_population`` (persons),
            ``need_index`` and ``need_index_in_parent`` (ratios),
            ``target_gbp`` and ``allocation_gbp`` (pounds in whole pence, each
            adding up to the envelope), ``distance_from_target`` (fraction),
            ``allocation_per_head_gbp``; at the pace level and above
            ``baseline_gbp``, ``growth`` and ``baseline_distance_from_target``;
            per component ``weighted_population_<c>`` and ``target_<c>_gbp``;
            then the codes of the levels above.

        Raises
        ------
        KeyError
            For a level the population does not have.
        """
        if level not in self.tables:
            raise KeyError(f'no level "{level}" (levels are {", ".join(self.levels)})')
        return self.tables[level].copy()

    @property
    def pace_of_change(self) -> PaceOfChange | None:
        """The pace-of-change optimum (s*, U*, status, timings), or None without pace."""
        return None if self.pace_outcome is None else self.pace_outcome.summary

    def allocation_gbp(self, level: str) -> pd.Series:
        """Allocation per organisation at ``level``, pounds (whole pence), sorted by code."""
        return self.table(level)["allocation_gbp"]


def allocate(
    population: Population | PopulationSource,
    formula: NeedsFormula,
    envelope_gbp: float | None = None,
    pace: Pace | None = None,
    convention: str = "toolkit",
) -> Allocation:
    """Allocate an envelope by need, optionally at a controlled pace of change.

    Parameters
    ----------
    population : Population or PopulationSource
        Practices and their level codes; a ``Population`` counts need from its
        own columns (:class:`capitation.sources.PracticeTable`).
    formula : NeedsFormula
        The components of the envelope and how each counts need.
    envelope_gbp : float, optional
        The money to allocate, pounds in whole pence. None when every
        component gives its pot in pounds (the envelope is their sum).
    pace : Pace, optional
        Floors and caps on growth from baseline at one level; without it,
        allocations equal targets.
    convention : {"toolkit", "nhs_england"}
        How need indices are reported (docs/methods/need-index.md).

    Returns
    -------
    Allocation
        Per-level tables in whole pence that add up exactly to the envelope.

    Raises
    ------
    InputError
        Naming the argument (``envelope_gbp``, ``pace.baseline_gbp``, ...)
        and, for a Series, the row label of the first problem; or the
        pace-of-change inputs that make it infeasible.
    SolverError
        When HiGHS fails (pace of change, ``method="lp"``).
    """
    source: PopulationSource = (PracticeTable(population) if isinstance(population, Population)
                                else population)
    if convention not in CONVENTIONS:
        raise InputError(f'convention must be one of {", ".join(CONVENTIONS)}, got '
                         f"{convention!r}", key="convention")
    practices = source.population
    envelope_pence = _envelope_pence(formula, envelope_gbp)
    counts = source.weighted_counts(formula)
    targets = practice_targets(counts, component_pots(formula, envelope_pence))
    frame = practices.frame.copy()
    for c in formula.names:
        frame[f"x_{c}"] = counts[c]
        frame[f"target_{c}_pence"] = targets[c].astype(np.int64)
    target_pence = targets.sum(axis=1).astype(np.int64)

    outcome = None
    baseline_pence = None
    if pace is None:
        frame["allocation_pence"] = target_pence
    else:
        codes = _level_codes(practices, pace.level)
        level_target, baseline_gbp, outcome = pace_at_level(practices, target_pence, pace)
        at_level = outcome.allocation_pence.astype(np.int64)
        baseline_pence = pd.Series(round_pence(baseline_gbp.to_numpy(dtype=float),
                                               "pace_of_change: a baseline"),
                                   index=level_target.index)
        frame["allocation_pence"] = _share_to_practices(at_level, level_target, target_pence,
                                                        codes, pace.level)
    tables = level_tables(frame, list(practices.levels), formula.names, convention,
                          None if pace is None else pace.level, baseline_pence,
                          names=practices.names)
    return Allocation(levels=("practice", *practices.levels), tables=tables,
                      envelope_pence=envelope_pence, pace=pace, pace_outcome=outcome)


def pace_at_level(practices: Population, target_pence: pd.Series,
                  pace: Pace) -> tuple[pd.Series, pd.Series, PaceOutcome]:
    """Set the pace of change at its level: step 3 of :func:`allocate`, before practices.

    Parameters
    ----------
    practices : Population
        The practices and their level codes.
    target_pence : pandas.Series
        Each practice's target, whole pence (int64), on ``practices``' index.
    pace : Pace
        Floors, caps and the baseline at one level.

    Returns
    -------
    level_target : pandas.Series
        Target per organisation at the level, whole pence (index named after the level).
    baseline_gbp : pandas.Series
        The baseline on the same codes, pounds.
    outcome : PaceOutcome
        Allocation, floor and cap at the level in whole pence, and s*, U*.
    """
    codes = _level_codes(practices, pace.level)
    level_target = target_pence.groupby(codes).sum().astype(np.int64)
    level_target.index.name = pace.level
    baseline_gbp = _baseline(pace, level_target.index)
    outcome = set_pace(level_target, baseline_gbp, int(level_target.sum()),
                       pace.min_growth, pace.max_growth, pace.method)
    return level_target, baseline_gbp, outcome


def _envelope_pence(formula: NeedsFormula, envelope_gbp: float | None) -> int:
    """Return the envelope in whole pence; refuse an amount that is not whole pence."""
    if envelope_gbp is None:
        pots = [c.pot_pence for c in formula.components]
        if any(p is None for p in pots):
            raise InputError("missing: the components give shares of the envelope, so an "
                             "envelope in pounds is needed", key="envelope_gbp")
        total = int(sum(p for p in pots if p is not None))
        if abs(total) > MAX_MONEY_PENCE:
            raise InputError(f"the components' pots add up to {beyond_money(total / 100)}",
                             key="envelope_gbp")
        return total
    if isinstance(envelope_gbp, bool) or not isinstance(envelope_gbp, int | float | np.number):
        raise InputError(f"{envelope_gbp!r} is not a number of pounds", key="envelope_gbp")
    if not math.isfinite(envelope_gbp) or envelope_gbp < 0:
        raise InputError(f"{envelope_gbp!r}: expected a finite amount of pounds, 0 or more",
                         key="envelope_gbp")
    if envelope_gbp > MAX_MONEY_GBP:
        raise InputError(beyond_money(float(envelope_gbp)), key="envelope_gbp")
    pence = int(round_pence(envelope_gbp, "envelope_gbp"))
    if abs(float(snap_pence(envelope_gbp)) - pence) > 1e-3:  # float64 noise at £bn scale
        raise InputError(f"{envelope_gbp!r} is not whole pence", key="envelope_gbp")
    return pence


def _level_codes(practices: Population, level: str) -> pd.Series:
    if level != "practice" and level not in practices.levels:
        shown = ", ".join(("practice", *practices.levels))
        raise InputError(f'no level "{level}" (levels are {shown})', key="pace.level")
    return practices.level_codes(level)


def _baseline(pace: Pace, codes: pd.Index) -> pd.Series:
    """``pace.baseline_gbp`` as float pounds on ``codes``; bad labels and values named."""
    given = pace.baseline_gbp
    if not isinstance(given, pd.Series):
        raise InputError(f"expected a pandas Series of pounds indexed by {pace.level} code, "
                         f"got {type(given).__name__}", key="pace.baseline_gbp")
    labels = given.index.astype(str)
    duplicated = labels.duplicated()
    if duplicated.any():
        raise InputError(f'{pace.level} "{labels[duplicated][0]}" appears twice',
                         key="pace.baseline_gbp")
    values = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f'{pace.level} "{labels[i]}": {given.iloc[i]!r} is not a number of '
                         "pounds", key="pace.baseline_gbp")
    series = pd.Series(values, index=labels)
    missing = codes.difference(series.index)
    if len(missing):
        more = " and more" if len(missing) > 5 else ""
        raise InputError(f"no baseline for {pace.level} {', '.join(missing[:5])}{more}",
                         key="pace.baseline_gbp")
    return series.reindex(codes)


def _share_to_practices(at_level: pd.Series, level_target: pd.Series, target_pence: pd.Series,
                        codes: pd.Series, level: str) -> pd.Series:
    """Each organisation's allocation shared across its practices in proportion to target.

    Whole pence by largest remainder within the organisation, so each
    organisation's practices add up exactly to its allocation.
    """
    if level == "practice":
        return at_level.reindex(target_pence.index)
    parent_alloc = at_level.reindex(codes.to_numpy()).to_numpy(float)
    parent_target = level_target.reindex(codes.to_numpy()).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(parent_target > 0, target_pence.to_numpy(float) / parent_target, 0.0)
    amounts_gbp = pd.Series(parent_alloc * share / 100.0, index=target_pence.index)
    return largest_remainder_grouped(amounts_gbp, codes, at_level)
