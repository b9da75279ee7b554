"""Scenarios side by side: each organisation's allocation beside the base, and headline figures.

:func:`compare` takes runs of one model under different assumptions (a dict of
name → :class:`~capitation.results.Results`, the first being the base) and
lines up, per organisation at one level, each scenario's allocation and
distance from target, with the change from the base in pounds and as a
fraction. Changes are taken in whole pence, so when every scenario has the
base's envelope the changes at any level add up to exactly zero pence.

:func:`headlines` gives the figures a board asks for first: the largest
shortfall below target (s*), the total shortfall in pounds (U*), and how many
organisations sit at their floor or their cap (docs/methods/pace-of-change.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capitation.errors import InputError

if TYPE_CHECKING:
    from capitation.pace_of_change import PaceOutcome
    from capitation.results import Results

__all__ = ["Comparison", "HEADLINES", "compare", "headlines", "pace_headlines"]

HEADLINES = ("largest_shortfall", "total_shortfall_gbp", "at_floor", "at_cap")
"""The headline figures of a run, in order (see :func:`headlines`)."""


class Comparison(pd.DataFrame):
    """A comparison of scenarios: a DataFrame (see :func:`compare`) with an HTML view.

    Attributes
    ----------
    headlines : pandas.DataFrame
        Indexed by ``scenario`` (base first): ``largest_shortfall``,
        ``total_shortfall_gbp``, ``at_floor``, ``at_cap`` (empty where there
        are none, as for settlements).
    caption : str
        What is compared (level and year), shown above the HTML table.
    names : pandas.Series or None
        Each organisation's name by code, from the base's table (None where
        the level has no names): shown beside the codes in the HTML view and
        on :func:`capitation.plots.compare`'s labels, never a column.
    """

    _metadata = ["headlines", "caption", "names"]
    headlines: pd.DataFrame
    caption: str
    names: pd.Series | None

    @property
    def _constructor(self) -> type[Comparison]:
        return Comparison

    def _repr_html_(self) -> str:
        """Jupyter's view: names beside codes, money as £1,234.56, percentages, headlines."""
        from capitation.display import html_table

        caption = getattr(self, "caption", None)
        shown = pd.DataFrame(self)
        names = getattr(self, "names", None)
        if isinstance(names, pd.Series) and "name" not in shown.columns:
            shown.insert(0, "name", names.reindex(shown.index).to_numpy(dtype=object))
        parts = [html_table(shown, caption)]
        extra = getattr(self, "headlines", None)
        if isinstance(extra, pd.DataFrame) and not extra.empty:
            parts.append(html_table(extra, "Headline figures"))
        return "".join(parts)


def pace_headlines(outcome: PaceOutcome) -> dict[str, Any]:
    """Return s*, U* and the counts at floor and at cap of one pace-of-change outcome.

    Parameters
    ----------
    outcome : capitation.pace_of_change.PaceOutcome
        Allocation, floor and cap at the pace level in whole pence.

    Returns
    -------
    dict
        ``largest_shortfall`` (fraction), ``total_shortfall_gbp`` (pounds) as
        the optimiser reports them, ``at_floor`` and ``at_cap`` (organisations
        whose allocation equals their floor or their cap to the penny).
    """
    allocation = outcome.allocation_pence.to_numpy(dtype=np.int64)
    floor = outcome.floor_pence.to_numpy(dtype=np.int64)
    cap = outcome.cap_pence.to_numpy(dtype="float64", na_value=np.nan)
    return {
        "largest_shortfall": float(outcome.summary.largest_shortfall),
        "total_shortfall_gbp": float(outcome.summary.total_shortfall_gbp),
        "at_floor": int((allocation == floor).sum()),
        "at_cap": int((allocation.astype("float64") == cap).sum()),  # exact below 2**53 pence
    }


def headlines(results: Results, year: str | None = None) -> dict[str, Any]:
    """Return a run's headline figures for one year.

    Parameters
    ----------
    results : Results
        A model run.
    year : str, optional
        Financial year (default: the first).

    Returns
    -------
    dict
        ``largest_shortfall`` (s*, fraction), ``total_shortfall_gbp`` (U*,
        pounds), ``at_floor`` and ``at_cap`` (counts of organisations at the
        pace level). Without pace of change allocations are targets: zeros.
    """
    year = results.years[0] if year is None else year
    outcome = results.pace_outcomes.get(year)
    if outcome is None:
        return {"largest_shortfall": 0.0, "total_shortfall_gbp": 0.0, "at_floor": 0,
                "at_cap": 0}
    return pace_headlines(outcome)


def _pence(values: pd.Series) -> np.ndarray:
    from capitation.rounding import round_pence

    return np.asarray(round_pence(values.to_numpy(dtype=float), "an allocation"), dtype=np.int64)


def compare(results_by_name: Mapping[str, Results], level: str = "ICB",
            year: str | None = None) -> Comparison:
    """Compare runs of a model side by side at one level.

    Parameters
    ----------
    results_by_name : mapping of str to Results
        Scenario name → its run, the first being the base. Every run must
        have ``level`` and the same organisations at it.
    level : str
        The level to compare (``ICB``, ``ICB/LAD``, ``practice``).
    year : str, optional
        Financial year (default: the base's first year).

    Returns
    -------
    Comparison
        A DataFrame indexed by organisation code (index named after the
        level): ``allocation_gbp__<base>`` and ``distance_from_target__<base>``;
        then per other scenario ``allocation_gbp__<name>``,
        ``change_gbp__<name>`` (allocation − the base's, pounds, whole pence),
        ``change__<name>`` (that change ÷ the base's allocation, a fraction;
        NaN where the base has none) and ``distance_from_target__<name>``.
        Its ``headlines`` attribute holds :func:`headlines` per scenario
        (index ``scenario``); its ``names`` attribute the organisations' names
        (the base's ``name`` column), shown beside the codes in the HTML view.

    Raises
    ------
    InputError
        Fewer than one run, a run without the level or year, or runs whose
        organisations at the level differ (named).
    """
    names = list(results_by_name)
    if not names:
        raise InputError("compare needs at least one run (the base)")
    base_name = names[0]
    year = results_by_name[base_name].years[0] if year is None else year
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        try:
            tables[name] = results_by_name[name].table(level, year)
        except KeyError as error:
            raise InputError(f"scenario {name!r}: {error.args[0]}") from None
    base = tables[base_name]
    for name in names[1:]:
        codes = tables[name].index
        missing, extra = base.index.difference(codes), codes.difference(base.index)
        if len(missing) or len(extra):
            shown = ", ".join(map(str, [*missing[:3], *extra[:3]]))
            raise InputError(f"scenario {name!r} has other {level} organisations than "
                             f"{base_name!r} ({shown}); scenarios compare the same "
                             "organisations")
    base_pence = _pence(base["allocation_gbp"])
    columns: dict[str, Any] = {
        f"allocation_gbp__{base_name}": base["allocation_gbp"].to_numpy(dtype=float),
        f"distance_from_target__{base_name}": base["distance_from_target"].to_numpy(dtype=float),
    }
    for name in names[1:]:
        table = tables[name].reindex(base.index)
        change_pence = _pence(table["allocation_gbp"]) - base_pence
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.where(base_pence != 0, change_pence / base_pence, np.nan)
        columns[f"allocation_gbp__{name}"] = table["allocation_gbp"].to_numpy(dtype=float)
        columns[f"change_gbp__{name}"] = change_pence / 100.0
        columns[f"change__{name}"] = fraction
        columns[f"distance_from_target__{name}"] = table["distance_from_target"].to_numpy(
            dtype=float)
    out = Comparison(columns, index=base.index.copy())
    out.headlines = pd.DataFrame(
        [headlines(results_by_name[name], year) for name in names],
        index=pd.Index(names, name="scenario"), columns=list(HEADLINES))
    out.names = base["name"].copy() if "name" in base.columns else None
    out.caption = f"{level} allocations, {year}: {', '.join(names[1:]) or 'no scenario'} " \
                  f"against {base_name}"
    return out
