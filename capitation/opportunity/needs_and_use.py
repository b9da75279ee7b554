"""Needs versus use in a model run: the ``[opportunity]`` section computed on the run's results.

:func:`run_section` is what :meth:`capitation.Model.run` calls when the model
file has an ``[opportunity]`` section (:mod:`capitation.opportunity.model_section`).
It reads the activity table, takes expected activity from the run (each
unit's share of the weighted population at the section's level, in the
first year of the run) or by indirect standardisation from the population by
sex and age (the GP register or person-level rows), gathers the need
indicators, and calls :func:`capitation.opportunity.value_opportunity`.

Need indicators are looked up by name, in this order:

- ``share_over_65``: the share of the unit's registered persons aged 65 or
  over (needs the register or person-level rows);
- a column of the run's level table (``need_index``, ``population``,
  ``weighted_population``, ``weighted_population_<component>``, ...);
- otherwise a numeric column of the practice table (such as
  ``Health Ineq WP``), summed to the unit and divided by the unit's
  registered population: a count per head.

The result is a :class:`NeedsAndUse`, held by :class:`capitation.Results`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import find_columns, number_column, read_csv, text_column
from capitation.inputs.csv_tables import Fail
from capitation.opportunity.activity import Activity, read_activity
from capitation.opportunity.expected import (
    expected_by_age_sex,
    expected_by_weighted_population,
    population_by_age_band,
    reference_rates,
)
from capitation.opportunity.model_section import OpportunitySpec
from capitation.opportunity.opportunity import Opportunity, value_opportunity
from capitation.population import Population, read_table
from capitation.rounding import round_pence
from capitation.sources import RegisterPopulation

if TYPE_CHECKING:
    from capitation.model_file import ModelSpec
    from capitation.sources import PopulationSource

__all__ = ["NeedsAndUse", "TABLE_COLUMNS", "ages_of", "run_section"]

#: Columns of :meth:`NeedsAndUse.table`, in order (those without data are left out).
TABLE_COLUMNS = ("name", "observed", "expected", "ratio", "ratio_lower_95", "ratio_upper_95",
                 "z", "z_adjusted", "lower_95", "upper_95", "lower_998", "upper_998",
                 "flag_95", "flag_998", "best_peers_ratio", "peer_median_ratio",
                 "lowest_quartile_ratio", "benchmark_ratio", "above_benchmark", "cost_gbp",
                 "unit_cost_gbp", "opportunity_activity", "opportunity_gbp")
_OVER_65 = "share_over_65"
#: Where the practice table is: its file, its sheet (a workbook) and its practice code column.
PracticeTable = tuple[Path, str | None, str]


@dataclass(frozen=True, eq=False)
class NeedsAndUse:
    """Needs versus use of a model run, at one level.

    Attributes
    ----------
    opportunity : Opportunity
        Ratios, funnels, peers, benchmarks and the value opportunity
        (:func:`capitation.opportunity.value_opportunity`).
    level : str
        The level of the units.
    names : pandas.Series or None
        Each unit's name (``[opportunity] names``), indexed by unit code.
    cost_gbp : pandas.DataFrame or None
        Spend per unit (rows) and service (columns), pounds, when the
        activity table gives ``cost_gbp``.
    indicators : pandas.DataFrame
        The need indicators per unit the peers were found by (module docstring).
    cohorts : pandas.DataFrame or None
        With person-level activity: needs profiles ranked by activity per
        head, and the cohort holding half of each unit's activity, at the
        system, each level and each practice
        (:func:`capitation.opportunity.cohorts.needs_profiles`).
    spec : OpportunitySpec
        The section the analysis was run from.
    """

    opportunity: Opportunity
    level: str
    names: pd.Series | None
    cost_gbp: pd.DataFrame | None
    indicators: pd.DataFrame
    spec: OpportunitySpec
    cohorts: pd.DataFrame | None = None

    @property
    def services(self) -> tuple[str, ...]:
        """The services, in the activity table's order."""
        return self.opportunity.services

    def table(self, service: str) -> pd.DataFrame:
        """One service's per-unit table.

        Parameters
        ----------
        service : str
            A service of the activity table.

        Returns
        -------
        pandas.DataFrame
            Indexed by unit code (named after the level, sorted), with the
            columns of :data:`TABLE_COLUMNS` that apply: ``name`` (with
            ``[opportunity] names``), observed and expected activity, the
            ratio and its exact Poisson interval, the funnel's z-scores,
            limits and flags, the benchmarks, ``above_benchmark``, spend
            ``cost_gbp`` (with cost), ``unit_cost_gbp``,
            ``opportunity_activity`` and ``opportunity_gbp``.

        Raises
        ------
        KeyError
            For a service the activity table does not have.
        """
        if service not in self.services:
            raise KeyError(f'no service "{service}" (services are {", ".join(self.services)})')
        units = cast(pd.DataFrame, self.opportunity.units.xs(service, level="service")).copy()
        units.index.name = self.level
        if self.names is not None:
            units["name"] = self.names.reindex(units.index).to_numpy(dtype=object)
        if self.cost_gbp is not None:
            units["cost_gbp"] = self.cost_gbp[service].reindex(units.index).to_numpy()
        return units.loc[:, [c for c in TABLE_COLUMNS if c in units.columns]]

    def totals(self, service: str) -> pd.Series:
        """One service's totals: observed, expected, their ratio, spend and the opportunity.

        Returns
        -------
        pandas.Series
            ``observed``, ``expected`` (activity), ``ratio`` (Σ observed ÷ Σ
            expected), ``cost_gbp`` (with cost), ``opportunity_activity`` and
            ``opportunity_gbp`` (with cost or a price, added in whole pence).
        """
        table = self.table(service)
        out = {"observed": float(table["observed"].sum()),
               "expected": float(table["expected"].sum())}
        out["ratio"] = out["observed"] / out["expected"]
        if "cost_gbp" in table.columns:
            out["cost_gbp"] = float(table["cost_gbp"].sum())
        out["opportunity_activity"] = float(table["opportunity_activity"].sum())
        if "opportunity_gbp" in table.columns:
            pence = np.asarray(round_pence(table["opportunity_gbp"].to_numpy()), dtype=np.int64)
            out["opportunity_gbp"] = int(pence.sum()) / 100.0
        return pd.Series(out, name=service)

    def cohort_summary(self) -> pd.DataFrame:
        """Per level, unit and service: the cohort holding half of the activity.

        Returns
        -------
        pandas.DataFrame
            Indexed by (``level``, ``unit``, ``service``): ``profiles`` (needs
            profiles in the cohort), ``persons`` (in the cohort),
            ``persons_share`` (of the unit's persons) and ``activity_share``
            (of its activity in the service, at least one half).

        Raises
        ------
        KeyError
            Without person-level activity (``[opportunity] person_activity``).
        """
        if self.cohorts is None:
            raise KeyError("no cohorts: they need person-level activity ([opportunity] "
                           "person_activity) with person-level rows")
        table = self.cohorts
        keys = ["level", "unit", "service"]
        inside = table[table["in_cohort"]]
        out = inside.groupby(keys, sort=False).agg(
            profiles=("rank", "size"), persons=("persons", "sum"),
            activity=("activity", "sum"))
        everyone = table.groupby(keys, sort=False).agg(all_persons=("persons", "sum"),
                                                       all_activity=("activity", "sum"))
        everyone = everyone.reindex(out.index)
        out["persons_share"] = out["persons"] / everyone["all_persons"]
        out["activity_share"] = out["activity"] / everyone["all_activity"]
        return out.loc[:, ["profiles", "persons", "persons_share", "activity_share"]]

    def summary(self) -> pd.DataFrame:
        """Per service: units above benchmark, of which funnel outliers, and the opportunity.

        See :meth:`capitation.opportunity.Opportunity.summary`.
        """
        return self.opportunity.summary()

    def activity_changes(self, realised: float | None = None,
                         years: int | list[str] | None = None) -> pd.DataFrame:
        """Planned activity changes by provider and service, in the shape of a ``[service_budget]``.

        Parameters
        ----------
        realised : float, optional
            Share of the opportunity planned out by the last year (default
            ``[opportunity] realised``, else 0.5).
        years : int or list of str, optional
            How many years, or the years (default ``[opportunity] years``, else 3).

        Returns
        -------
        pandas.DataFrame
            See :meth:`capitation.opportunity.Opportunity.activity_changes`.
        """
        return self.opportunity.activity_changes(
            self.spec.realised if realised is None else realised,
            self.spec.years if years is None else years)


def run_section(spec: ModelSpec, source: PopulationSource,
                level_tables: Mapping[str, pd.DataFrame]) -> NeedsAndUse:
    """Run the ``[opportunity]`` section of a model on its run's results.

    Parameters
    ----------
    spec : ModelSpec
        The model, with ``spec.opportunity`` set.
    source : PopulationSource
        The population of the run's first year: a practice table, the GP
        register (:class:`capitation.sources.RegisterPopulation`) or
        person-level rows, whose people by sex and age give ``age_sex``
        expected activity and ``share_over_65``.
    level_tables : mapping of str to pandas.DataFrame
        The run's first-year tables by level (``results.table(level)``).

    Returns
    -------
    NeedsAndUse

    Raises
    ------
    InputError
        Naming the activity file (row and column), the practice table, or
        the model file and key.
    """
    section = spec.opportunity
    population_spec = spec.population
    assert section is not None and population_spec is not None  # model_file checks both
    practice_table: PracticeTable | None = None  # a register alone has no other columns
    if population_spec.files:
        practice_table = (population_spec.files[spec.years[0]], population_spec.sheet,
                          population_spec.id)
    elif population_spec.practices is not None:
        practice_table = (population_spec.practices, None, population_spec.id)
    try:
        result = _run(section, source.population, level_tables[section.level],
                      ages_of(source), practice_table)
        if section.person_activity is None:
            return result
        return replace(result, cohorts=_cohorts(section, source))
    except InputError as exc:
        if exc.file is not None:
            raise
        key = "opportunity" if exc.key is None else f"opportunity.{exc.key}"
        raise InputError(exc.reason, file=spec.path, column=exc.column, key=key) from None


def _cohorts(section: OpportunitySpec, source: PopulationSource) -> pd.DataFrame:
    """Needs profiles of the person-level rows (pandas engine) and their activity."""
    from capitation.opportunity.cohorts import needs_profiles, read_person_activity
    from capitation.persons.engine import PersonsRun

    assert section.person_activity is not None
    if not isinstance(source, PersonsRun) or source.plan_frame() is None:
        raise InputError("cohorts by needs profile need person-level rows read by the pandas "
                         "engine", key="person_activity")
    frame = source.plan_frame()
    assert frame is not None  # checked above
    population = source.population
    codes = source.codes[frame["practice"].to_numpy(np.int64)]
    tiers = [t.name for t in source.tiers]
    persons = pd.DataFrame({
        "person_id": frame["person_id"].astype(str).to_numpy(),
        "practice": codes,
        "tier": np.asarray(tiers, dtype=object)[frame["tier"].to_numpy(np.int64)],
        "sex": np.where(frame["sex"].to_numpy() == 0, "M", "F"),  # persons: 0 is M, 1 is F
        "age": frame["age"].to_numpy(np.int64)})
    for level in population.levels:
        persons[level] = population.level_codes(level).reindex(codes).to_numpy(dtype=object)
    activity = read_person_activity(section.person_activity, pd.Index(persons["person_id"]))
    return needs_profiles(persons, activity, levels=population.levels, tiers=tiers,
                          age_bands=section.age_bands)


def ages_of(source: PopulationSource) -> pd.DataFrame | None:
    """Return the registered persons by practice, sex and age, where the population has them.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``practice``, ``sex`` (``"M"``/``"F"``), ``age`` (whole
        years, 95 meaning 95 or over) and ``patients`` (persons), from the GP
        register or the person-level rows; None for a practice table.
    """
    if isinstance(source, RegisterPopulation):
        return source.register.loc[:, ["practice", "sex", "age", "patients"]]
    from capitation.persons.engine import PersonsRun

    if isinstance(source, PersonsRun):
        cells = source.cells.groupby(["practice", "sex", "age"], sort=True)["n"].sum().reset_index()
        return pd.DataFrame({
            "practice": source.codes[cells["practice"].to_numpy(np.int64)],
            "sex": np.where(cells["sex"].to_numpy() == 0, "M", "F"),  # persons: 0 is M, 1 is F
            "age": cells["age"].to_numpy(np.int64),
            "patients": cells["n"].to_numpy(np.float64)})
    return None


def _run(section: OpportunitySpec, population: Population, level_table: pd.DataFrame,
         ages: pd.DataFrame | None, practice_table: PracticeTable | None
         ) -> NeedsAndUse:
    level = section.level
    activity = read_activity(section.activity, practices=population,
                             sheet=section.sheet or "activity")
    units = pd.Index(level_table.index, name=level)
    level_codes = None if level == "practice" else population.level_codes(level)
    observed = activity.table("activity", units, level_codes)
    if section.expected == "weighted_population":
        expected = _by_weighted_population(section, observed, level_table)
    else:
        assert ages is not None  # model_section: age_sex and rates need ages
        expected = _by_age_sex(section, activity, ages, units, level_codes)
    numbers = [n for n in section.indicators
               if n != _OVER_65 and n not in level_table.columns]
    texts = [] if section.names is None else [section.names]
    extra = pd.DataFrame(index=population.codes)
    if numbers or texts:
        if practice_table is None:
            key = "peers.indicators" if numbers else "names"
            shown = f'indicator "{numbers[0]}"' if numbers else f'names column "{texts[0]}"'
            raise InputError(f"{shown} is not a column of the results table "
                             f"({', '.join(map(str, level_table.columns))}), and there is no "
                             "practice table to read it from", key=key)
        try:
            extra = _practice_columns(practice_table, numbers, texts, population)
        except InputError as exc:
            if exc.key != "opportunity.peers.indicators":
                raise
            raise InputError(f"{exc.reason}; an indicator is share_over_65, a column of the "
                             f"results table ({', '.join(map(str, level_table.columns))}) or "
                             "a column of the practice table", file=exc.file, sheet=exc.sheet,
                             column=exc.column, key=exc.key) from None
    indicators = _indicators(section, population, level_table, ages, extra[numbers],
                             level_codes)
    opportunity = value_opportunity(
        activity, expected, indicators, population=population, level=level,
        similar=section.similar, best=section.best, benchmark=section.benchmark,
        price_gbp=section.price_gbp, method=section.method,
        overdispersion=section.overdispersion, trim=section.trim)
    names = None
    if section.names is not None:
        assert practice_table is not None  # refused above otherwise
        names = _names(extra[section.names], practice_table[0], level_codes, units)
    cost = activity.table("cost_gbp", units, level_codes) if activity.has_cost else None
    return NeedsAndUse(opportunity=opportunity, level=level, names=names, cost_gbp=cost,
                       indicators=indicators, spec=section)


def _by_weighted_population(section: OpportunitySpec, observed: pd.DataFrame,
                            level_table: pd.DataFrame) -> pd.DataFrame:
    if section.components is None:
        return expected_by_weighted_population(observed, level_table["weighted_population"])
    services = list(observed.columns)
    missing = [s for s in services if s not in section.components]
    if missing:
        raise InputError(f"no component for service {', '.join(missing)} (components name one "
                         f"for each service of the activity: {', '.join(services)})",
                         key="components")
    weights = pd.DataFrame({s: level_table[f"weighted_population_{section.components[s]}"]
                            for s in services})
    return expected_by_weighted_population(observed, weights)


def _by_age_sex(section: OpportunitySpec, activity: Activity, ages: pd.DataFrame,
                units: pd.Index, level_codes: pd.Series | None) -> pd.DataFrame:
    if not activity.has_age_sex:
        raise InputError(f'expected = "{section.expected}" needs activity by sex and age band '
                         '(columns "sex" and "age_band")', file=activity.source,
                         column="age_band")
    bands = sorted(pd.unique(activity.frame["age_band"]))
    try:
        people = population_by_age_band(ages, bands)
    except InputError as exc:
        raise InputError(exc.reason, file=activity.source, column="age_band") from None
    if section.rates is None:
        rates = reference_rates(activity, people)
    else:
        rates = _read_rates(section.rates, activity.services)
    return expected_by_age_sex(people, rates, units=units, level_codes=level_codes).reindex(
        columns=list(activity.services))


def _read_rates(path: Path, services: tuple[str, ...]) -> pd.DataFrame:
    """Read a reference rates file: service, sex, age_band, rate (activity per person)."""
    table = read_csv(path, what="reference rates file",
                     expect_rows="one row per service, sex and age band")
    raw, rows = table.frame, table.rows
    about = {"service": "the service", "sex": "M or F", "age_band": "the age band, such as 65-74",
             "rate": "activity per person a year"}
    found = find_columns(raw.columns, list(about), file=path, case_sensitive=False, about=about)
    out = pd.DataFrame({c: text_column(raw[found[c]], what=about[c], file=path, column=c,
                                       rows=rows).to_numpy(dtype=str)
                        for c in ("service", "sex", "age_band")})
    out["sex"] = out["sex"].str.upper().map({"M": "M", "F": "F", "MALE": "M", "FEMALE": "F"})
    bad = out["sex"].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f'"{raw[found["sex"]].iloc[i]}" is not a sex (expected M or F)',
                         file=path, row=int(rows[i]), column="sex")
    out["rate"] = number_column(raw[found["rate"]], what="a rate, activity per person, 0 or more",
                                file=path, column="rate", rows=rows)
    missing = [s for s in services if s not in set(out["service"])]
    if missing:
        raise InputError(f"no rates for service {', '.join(missing)} (expected rates for every "
                         "service of the activity table)", file=path, column="service")
    return out[out["service"].isin(services)].reset_index(drop=True)


def _indicators(section: OpportunitySpec, population: Population, level_table: pd.DataFrame,
                ages: pd.DataFrame | None, counts: pd.DataFrame,
                level_codes: pd.Series | None) -> pd.DataFrame:
    """Need indicators per unit (module docstring); ``counts`` are practice table columns."""
    units = level_table.index
    out = pd.DataFrame(index=pd.Index(units, name=section.level))
    from_practices = []
    for name in section.indicators:  # a loop over a few indicators
        if name == _OVER_65:
            if ages is None:
                raise InputError('indicator "share_over_65" needs the population by age: '
                                 "[population] register or persons", key="peers.indicators")
            out[name] = _share_over_65(ages, level_codes).reindex(units).to_numpy()
        elif name in level_table.columns:
            out[name] = pd.to_numeric(level_table[name], errors="coerce").to_numpy(dtype=float)
        else:
            from_practices.append(name)
    if from_practices:
        people = population.frame["population"]
        keys = population.level_codes(section.level)
        summed = counts.groupby(keys.reindex(counts.index).to_numpy()).sum()
        heads = people.groupby(keys.reindex(people.index).to_numpy()).sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            per_head = summed.div(heads.reindex(summed.index), axis=0)
        for name in from_practices:
            out[name] = per_head[name].reindex(units).to_numpy()
    return out.loc[:, list(section.indicators)]


def _share_over_65(ages: pd.DataFrame, level_codes: pd.Series | None) -> pd.Series:
    """Share of registered persons aged 65 or over, per unit."""
    practice = ages["practice"].to_numpy(dtype=object)
    unit = practice if level_codes is None else level_codes.reindex(practice).to_numpy()
    patients = ages["patients"].to_numpy(dtype=float)
    older = np.where(ages["age"].to_numpy() >= 65, patients, 0.0)
    frame = pd.DataFrame({"unit": unit, "older": older, "all": patients})
    sums = frame.groupby("unit", sort=True)[["older", "all"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums["older"] / sums["all"]


def _practice_columns(practice_table: PracticeTable, numbers: list[str], texts: list[str],
                      population: Population) -> pd.DataFrame:
    """Read columns of the practice table (numbers, then text), one row per practice of the run."""
    path, sheet, id_column = practice_table
    raw = read_table(path, sheet)
    rows = np.arange(2, len(raw) + 2, dtype=np.int64)
    found = find_columns(raw.columns, {"__code__": id_column}, file=path, sheet=sheet,
                         key="population.id")
    found.update(find_columns(raw.columns, numbers, file=path, sheet=sheet,
                              key="opportunity.peers.indicators"))
    found.update(find_columns(raw.columns, texts, file=path, sheet=sheet,
                              key="opportunity.names"))

    def fail(column: str) -> Fail:
        return lambda message, i: InputError(message, file=path, sheet=sheet,
                                             row=int(rows[i]), column=column)

    codes = text_column(raw[found["__code__"]], what="a practice code", rows=rows,
                        fail=fail(str(found["__code__"]))).to_numpy(dtype=str)
    frame = pd.DataFrame(index=pd.Index(codes, name="practice"))
    for c in numbers:  # a loop over a few columns
        frame[c] = number_column(raw[found[c]], what="a number, 0 or more", rows=rows,
                                 fail=fail(c))
    for c in texts:
        frame[c] = text_column(raw[found[c]], what="a name", rows=rows,
                               fail=fail(c)).to_numpy(dtype=object)
    # The model read the same table (or its practices file), so each practice is once in it.
    return frame[~frame.index.duplicated()].reindex(population.codes)


def _names(names: pd.Series, file: Path, level_codes: pd.Series | None,
           units: pd.Index) -> pd.Series:
    column = str(names.name)
    if level_codes is None:
        return names.reindex(units).rename("name")
    keyed = pd.DataFrame({"unit": level_codes.reindex(names.index).to_numpy(),
                          "name": names.to_numpy()})
    distinct = keyed.drop_duplicates()
    repeated = distinct["unit"].duplicated().to_numpy()
    if repeated.any():
        unit = distinct["unit"].iloc[int(np.flatnonzero(repeated)[0])]
        shown = ", ".join(f'"{n}"' for n in distinct.loc[distinct["unit"] == unit, "name"][:3])
        raise InputError(f'{level_codes.name} "{unit}" has several names in column "{column}" '
                         f"({shown}); names must name the unit (expected one per "
                         f"{level_codes.name})", file=file, column=column,
                         key="opportunity.names")
    return distinct.set_index("unit")["name"].reindex(units).rename("name")
