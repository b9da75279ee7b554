"""Results of a model run: level tables per year, pace of change, service budget.

Results compute nothing new: they hold what :meth:`capitation.Model.run`
produced and hand it out as DataFrames, or to :mod:`capitation.excel.write`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from capitation.files import sha256_of
from capitation.model_file import ModelSpec
from capitation.pace_of_change import PaceOfChange, PaceOutcome

if TYPE_CHECKING:
    from capitation.opportunity.needs_and_use import NeedsAndUse
    from capitation.persons.opportunity import Opportunity
    from capitation.persons.results import PersonResults
    from capitation.service_budget.budget import CapitatedBudget

__all__ = ["Results", "package_version"]


def package_version() -> str:
    """Return the installed toolkit's version."""
    try:
        return version("ics-capitation")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


@dataclass(frozen=True, eq=False)
class Results:
    """What a run produced.

    Attributes
    ----------
    spec : ModelSpec
        The model that was run.
    levels : list of str
        ``practice`` and each level of the model, innermost first.
    tables : dict
        Year → level → table (see :meth:`table`).
    pace : dict
        Year → :class:`capitation.pace_of_change.PaceOfChange` (empty without pace of change).
    budget : CapitatedBudget or None
        The capitated service budget, when the model has one.
    persons : PersonResults or None
        What the person-level path adds (docs/methods/weighted-capitation.md#from-people), when the
        model has one.
    needs_and_use : NeedsAndUse or None
        Needs versus use (ratios, funnels, peers, the value opportunity),
        when the model has an ``[opportunity]`` section.
    pace_outcomes : dict
        Year → :class:`capitation.pace_of_change.PaceOutcome`: allocation, floor
        and cap at the pace level in whole pence (empty without pace of change).
    inputs : dict of str to Path
        Every input file read, for provenance.
    run_seconds : float
        Wall time of the run.
    """

    spec: ModelSpec
    levels: list[str]
    tables: dict[str, dict[str, pd.DataFrame]]
    pace: dict[str, PaceOfChange]
    budget: CapitatedBudget | None
    inputs: dict[str, Path]
    run_seconds: float
    run_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds"))
    persons: PersonResults | None = None
    needs_and_use: NeedsAndUse | None = None
    pace_outcomes: dict[str, PaceOutcome] = field(default_factory=dict)

    @property
    def years(self) -> list[str]:
        """Years with allocation tables, in order."""
        return list(self.tables)

    def table(self, level: str, year: str | None = None) -> pd.DataFrame:
        """One level's table.

        Parameters
        ----------
        level : str
            ``practice`` or a level name of the model (``ICB``, ``ICB/LAD``).
        year : str, optional
            Financial year (default: the first).

        Returns
        -------
        pandas.DataFrame
            Indexed by organisation code (index named after the level):
            ``name`` (the organisation's name, blank where it has none; only
            for a level the model names, ``[population] names``),
            ``population`` (persons), ``weighted_population`` (persons),
            ``need_index``, ``need_index_in_parent`` (ratios),
            ``target_gbp``, ``allocation_gbp`` (pounds, whole pence, each
            column summing exactly to the envelope), ``distance_from_target``
            (fraction), ``allocation_per_head_gbp``; at the pace level and
            above ``baseline_gbp``, ``growth``, ``baseline_distance_from_target``;
            per component ``weighted_population_<c>`` and ``target_<c>_gbp``;
            then the codes of the levels above. A copy: changing it changes
            nothing here.
        """
        if not self.tables:
            raise KeyError("this model has no allocation (no [population] section)")
        year = self.years[0] if year is None else year
        if year not in self.tables:
            raise KeyError(f'no year "{year}" (years are {", ".join(self.years)})')
        if level not in self.tables[year]:
            raise KeyError(f'no level "{level}" (levels are {", ".join(self.levels)})')
        return self.tables[year][level].copy()

    @property
    def pace_of_change(self) -> pd.DataFrame | None:
        """Pace-of-change optimum by year; None without pace of change.

        Returns
        -------
        pandas.DataFrame or None
            Indexed by ``year`` (one row per year, also for a one-year run):
            ``largest_shortfall`` (s*, fraction), ``total_shortfall_gbp`` (U*,
            pounds), ``status``, ``build_seconds``, ``solve_seconds``.
        """
        if not self.pace:
            return None
        rows = {y: vars(p) for y, p in self.pace.items()}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "year"
        return frame

    @property
    def pace_of_change_path(self) -> pd.DataFrame | None:
        """Long table indexed by (pace level code, ``year``) for charts.

        Columns ``name`` (when the level has names), ``baseline_gbp``,
        ``target_gbp``, ``allocation_gbp``, ``growth``,
        ``baseline_distance_from_target`` and ``distance_from_target``.
        """
        pace = self.spec.pace
        if not self.pace or pace is None:
            return None
        level = pace.level
        columns = ["baseline_gbp", "target_gbp", "allocation_gbp", "growth",
                   "baseline_distance_from_target", "distance_from_target"]
        parts = []
        for year in self.years:
            table = self.tables[year][level]
            named = ["name"] if "name" in table.columns else []  # beside the code
            part = table[named + columns].copy()
            part["year"] = year
            parts.append(part.reset_index())
        path = pd.concat(parts, ignore_index=True).set_index([level, "year"]).sort_index()
        return path

    @property
    def budget_lines(self) -> pd.DataFrame | None:
        """Service budget lines per year (see capitation.service_budget)."""
        return None if self.budget is None else self.budget.budget_lines.copy()

    @property
    def budget_bridge(self) -> pd.DataFrame | None:
        """Bridge from baseline spend to budget, by year."""
        return None if self.budget is None else self.budget.budget_bridge.copy()

    @property
    def budget_by_provider(self) -> pd.DataFrame | None:
        """Budget by provider × year (pounds)."""
        return None if self.budget is None else self.budget.budget_by_provider.copy()

    def _persons(self) -> PersonResults:
        if self.persons is None:
            raise KeyError("this model has no person-level rows ([population] persons)")
        return self.persons

    @property
    def tiers(self) -> pd.DataFrame:
        """Risk tiers, indexed by tier in rank order (highest risk first).

        Method: docs/methods/weighted-capitation.md#from-people.

        Columns ``persons``, ``population_share`` (fraction of persons),
        ``need_share`` (fraction of need: Σ of the tier's unrounded person
        budgets over the total; with one component, Σ of its weights over Σ of
        all weights), ``target_gbp`` (pounds, whole pence by largest
        remainder, summing to the envelope) and ``target_per_head_gbp``.
        """
        return self._persons().tiers.copy()

    def opportunity(self, reduction: float = 0.10) -> Opportunity:
        """Opportunity analysis for a cut of ``reduction`` of total need.

        Method: docs/methods/weighted-capitation.md#from-people.

        Parameters
        ----------
        reduction : float
            Fraction of total need to cut (0.10 means 10%).

        Returns
        -------
        capitation.persons.Opportunity
            ``tiers`` (per tier ``need_share`` and ``required_reduction_in_tier``
            = reduction / need_share, above 1 meaning impossible through that
            tier alone) and ``cohort_50_share`` (smallest top-ranked fraction
            of persons whose need reaches half of the total).
        """
        return self._persons().opportunity(reduction)

    def opportunity_table(self, service: str, level: str | None = None) -> pd.DataFrame:
        """Needs versus use of one service, one row per unit (``[opportunity]``).

        Parameters
        ----------
        service : str
            A service of the activity table (``emergency_admissions``).
        level : str, optional
            The level of the units: ``[opportunity] level`` (the default),
            the only level the analysis is run at.

        Returns
        -------
        pandas.DataFrame
            Indexed by unit code (named after the level): ``name`` (with
            ``[opportunity] names``), ``observed`` and ``expected`` activity,
            ``ratio`` (observed ÷ expected) with its exact Poisson 95%
            interval, the funnel's z-scores, limits (95% and 99.8%) and flags
            (``"high"``, ``"low"`` or ``""``), the benchmark ratios and the one
            used, ``above_benchmark``, ``cost_gbp`` and ``unit_cost_gbp``
            (with cost), ``opportunity_activity`` and ``opportunity_gbp``
            (with cost or a price). See :meth:`capitation.opportunity.NeedsAndUse.table`.

        Raises
        ------
        KeyError
            Without an ``[opportunity]`` section, or for another level or an
            unknown service.
        """
        if self.needs_and_use is None:
            raise KeyError("this model has no needs versus use ([opportunity] section)")
        if level is not None and level != self.needs_and_use.level:
            raise KeyError(f'needs versus use is run at level "{self.needs_and_use.level}" '
                           f'([opportunity] level), not "{level}"')
        return self.needs_and_use.table(service)

    def person_budgets(self, tiers: str | list[str] | None = None,
                       practice: str | list[str] | None = None,
                       to: str | Path | None = None) -> pd.DataFrame | Path:
        """Patient-specific budgets, whole pence by LR within each practice.

        Method: docs/methods/weighted-capitation.md#from-people.

        Parameters
        ----------
        tiers : str or list of str, optional
            Keep only persons in these tiers.
        practice : str or list of str, optional
            Keep only persons registered at these practices.
        to : str or Path, optional
            A new folder to write Parquet parts to; required on the Dask
            engine and above 1,000,000 rows.

        Returns
        -------
        pandas.DataFrame or Path
            Indexed by ``person_id``: ``practice``, ``tier``,
            ``budget_<component>_gbp`` and ``budget_gbp`` (pounds); or the
            folder written.
        """
        return self._persons().person_budgets(tiers=tiers, practice=practice, to=to)

    def summary(self) -> pd.DataFrame:
        """Return a short table: the top level's allocation, or the service budget bridge.

        The top level's ``name`` (when it has names), ``population``,
        ``need_index``, ``target_gbp``, ``allocation_gbp`` and
        ``distance_from_target``; without an allocation, the bridge.
        """
        if self.tables:
            top = self.levels[-1]
            table = self.table(top)
            named = ["name"] if "name" in table.columns else []  # beside the code
            columns = ["population", "need_index", "target_gbp", "allocation_gbp",
                       "distance_from_target"]
            return table[named + columns]
        bridge = self.budget_bridge
        if bridge is None:  # Model.run always gives an allocation or a service budget
            raise KeyError("this model has no allocation and no service budget")
        return bridge

    def chart_level(self) -> str:
        """Return the level the summary charts show: the pace-of-change level, else the top.

        A level with a single organisation gives way to the level below it
        (one bar is no chart).
        """
        level = self.spec.pace.level if self.spec.pace is not None else self.levels[-1]
        depth = self.levels.index(level)
        while depth > 0 and len(self.tables[self.years[0]][self.levels[depth]]) < 2:
            depth -= 1
        return self.levels[depth]

    def headlines(self, year: str | None = None) -> list[tuple[str, object, str]]:
        """Return the run's headline figures for one year, as (label, value, Excel format).

        The envelope (the top level's allocation), how many organisations
        each level has and, with pace of change, the largest and total
        shortfall below target and how many organisations sit at their floor
        (minimum growth) or cap (maximum growth).

        Parameters
        ----------
        year : str, optional
            Financial year (default: the first).

        Returns
        -------
        list of (str, object, str)
        """
        from capitation.columns.schema import (
            GENERAL,
            MONEY_FORMAT,
            PERCENT_FORMAT,
            WHOLE_FORMAT,
        )

        year = self.years[0] if year is None else year
        top = self.table(self.levels[-1], year)
        rows: list[tuple[str, object, str]] = [
            ("Envelope (£)", float(top["allocation_gbp"].sum()), MONEY_FORMAT)]
        for level in reversed(self.levels):
            rows.append((f"Organisations: {level}", len(self.table(level, year)), WHOLE_FORMAT))
        pace = self.pace.get(year)
        outcome = self.pace_outcomes.get(year)
        if pace is not None and self.spec.pace is not None:
            rows.append(("Pace of change applied at", self.spec.pace.level, GENERAL))
            rows.append(("Largest shortfall below target (%)", float(pace.largest_shortfall),
                         PERCENT_FORMAT))
            rows.append(("Total shortfall below target (£)", float(pace.total_shortfall_gbp),
                         MONEY_FORMAT))
        if outcome is not None:
            allocation = outcome.allocation_pence
            at_floor = int((allocation == outcome.floor_pence).sum())
            at_cap = int((allocation == outcome.cap_pence).fillna(False).sum())
            rows.append(("At their floor (minimum growth)", at_floor, WHOLE_FORMAT))
            rows.append(("At their cap (maximum growth)", at_cap, WHOLE_FORMAT))
        return rows

    def movers(self, year: str | None = None, n: int = 5) -> pd.DataFrame | None:
        """Return the organisations whose allocation moves most from the baseline.

        Parameters
        ----------
        year : str, optional
            Financial year (default: the first).
        n : int
            How many: the ``n`` largest growths and the ``n`` smallest, largest first.

        Returns
        -------
        pandas.DataFrame or None
            Rows of the pace level's table (``name`` when it has names,
            ``growth``, ``allocation_gbp``, ``distance_from_target``); None
            without pace of change.
        """
        if self.spec.pace is None or not self.pace:
            return None
        table = self.table(self.spec.pace.level, year)
        named = ["name"] if "name" in table.columns else []
        ranked = table.sort_values("growth", ascending=False, kind="stable")
        picked = ranked if len(ranked) <= 2 * n else pd.concat([ranked.head(n), ranked.tail(n)])
        return picked[named + ["growth", "allocation_gbp", "distance_from_target"]]

    def _repr_html_(self) -> str:
        """Jupyter's view: the top level's table (and any budget bridge), money as £1,234.56."""
        from capitation.display import html_table

        parts = []
        if self.tables:
            top, year = self.levels[-1], self.years[0]
            more = f" (of {', '.join(self.years)})" if len(self.years) > 1 else ""
            parts.append(html_table(self.summary(),
                                    f"{self.spec.name}: {top} allocation, {year}{more}"))
        bridge = self.budget_bridge
        if bridge is not None:
            parts.append(html_table(bridge,
                                    f"{self.spec.name}: bridge from baseline spend to budget"))
        return "".join(parts)

    def provenance(self) -> list[tuple[str, str]]:
        """Rows for the ``assumptions`` sheet: files with SHA-256, version, run time."""
        rows = [("model", self.spec.name), ("model file", str(self.spec.path.name)),
                ("package version", package_version()), ("run at (UTC)", self.run_at),
                ("run seconds", f"{self.run_seconds:.2f}")]
        for label, path in self.inputs.items():
            rows.append((f"{label} file", Path(path).name))
            rows.append((f"{label} sha256", sha256_of(path)))
        if self.persons is not None:
            written = ", ".join(str(p) for p in self.persons.plan.written) or "not written"
            rows.append(("person budgets (Parquet, never in this workbook)", written))
        rows.extend(applied.row() for applied in self.spec.overrides)
        return rows

    def to_excel(self, path: str | Path) -> Path:
        """Write the results workbook (atomically).

        Parameters
        ----------
        path : str or Path
            Output ``.xlsx``.

        Returns
        -------
        Path
            The written file.
        """
        from capitation.excel.write import write_results

        return write_results(self, path)
