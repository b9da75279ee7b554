"""The value opportunity: use above what need and similar units predict, in activity and £.

For each unit u and service s, with observed activity O, expected activity E
(:mod:`capitation.opportunity.expected`) and a benchmark ratio b
(:mod:`capitation.opportunity.peers`):

    opportunity_activity = max(0, O − b × E)
    opportunity_gbp      = R(opportunity_activity × unit cost)

where the unit cost is the unit's own cost per activity (cost ÷ activity) or
a given price per service. Only units whose ratio O/E is above the benchmark
carry opportunity. Each is also placed on the service's funnel plot
(:func:`capitation.opportunity.funnel`): an opportunity inside the funnel's
limits is noise as likely as not, so :meth:`Opportunity.summary` counts both.

:meth:`Opportunity.decomposition` splits each unit's spend gap to its
benchmark into access, intensity and price (LMDI-I,
:mod:`capitation.opportunity.decomposition`), and
:meth:`Opportunity.activity_changes` turns a realised share of the
opportunity into planned activity changes by provider and service, phased
over years, in the shape of a capitated service budget's lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import check_consecutive, is_financial_year, year_suffix
from capitation.opportunity.activity import Activity
from capitation.opportunity.decomposition import spend_decomposition
from capitation.opportunity.expected import standardised_ratios
from capitation.opportunity.funnel import FUNNEL_COLUMNS, Funnel, funnel
from capitation.opportunity.peers import (
    BENCHMARKS,
    Peers,
    benchmark_sums,
    find_peers,
    peer_benchmarks,
)
from capitation.population import Population
from capitation.rounding import round_pence

__all__ = ["Opportunity", "value_opportunity"]


@dataclass(frozen=True, eq=False)
class Opportunity:
    """Needs versus use: ratios, funnels, benchmarks and the value opportunity.

    Attributes
    ----------
    units : pandas.DataFrame
        Indexed by (unit, service), units sorted, services in the activity's
        order. Activity: ``observed``, ``expected``. Ratios: ``ratio`` (O/E),
        ``ratio_lower_95``, ``ratio_upper_95`` (exact Poisson). The service's
        funnel: ``z``, ``z_adjusted``, ``lower_95``, ``upper_95``,
        ``lower_998``, ``upper_998``, ``flag_95``, ``flag_998``. Benchmarks
        (ratios): ``best_peers_ratio``, ``peer_median_ratio``,
        ``lowest_quartile_ratio`` and ``benchmark_ratio`` (the one used);
        ``above_benchmark`` (bool); ``opportunity_activity``. With cost or a
        price: ``unit_cost_gbp`` (pounds per activity) and ``opportunity_gbp``
        (whole pence).
    funnels : mapping of str to Funnel
        Each service's funnel plot.
    peers : Peers
        Each unit's similar units.
    benchmark : str
        ``"best_peers"``, ``"peer_median"`` or ``"lowest_quartile"``.
    best : int
        How many of the lowest-ratio peers the best-peers benchmark takes.
    activity : Activity
        The activity analysed.
    level_codes : pandas.Series or None
        Each practice's unit code, or None when the units are practices.
    price_gbp : pandas.Series or None
        The given price per service (pounds per activity), if any.
    """

    units: pd.DataFrame
    funnels: Mapping[str, Funnel]
    peers: Peers
    benchmark: str
    best: int
    activity: Activity
    level_codes: pd.Series | None
    price_gbp: pd.Series | None

    @property
    def services(self) -> tuple[str, ...]:
        """The services, in the activity's order."""
        return tuple(self.funnels)

    def summary(self) -> pd.DataFrame:
        """Per service: how many units carry opportunity, how many are outliers, and how much.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``service``: ``units``; ``units_above_benchmark`` (units
            carrying opportunity); ``also_high_95`` and ``also_high_998`` (of
            those, how many the funnel flags high); ``observed``, ``expected``
            and ``opportunity_activity`` (activity); ``opportunity_gbp`` (with
            cost or a price); ``phi`` and ``tau2`` (the funnel's overdispersion).
        """
        units = self.units
        above = units["above_benchmark"]
        grouped = units.assign(
            units=1, units_above_benchmark=above.astype(np.int64),
            also_high_95=(above & (units["flag_95"] == "high")).astype(np.int64),
            also_high_998=(above & (units["flag_998"] == "high")).astype(np.int64),
        ).groupby(level="service", sort=False)
        columns = ["units", "units_above_benchmark", "also_high_95", "also_high_998",
                   "observed", "expected", "opportunity_activity"]
        if "opportunity_gbp" in units.columns:
            columns.append("opportunity_gbp")
        out = grouped[columns].sum()
        if "opportunity_gbp" in out.columns:  # add whole pence as integers
            pence = pd.Series(round_pence(units["opportunity_gbp"].to_numpy()),
                              index=units.index)
            out["opportunity_gbp"] = pence.groupby(level="service", sort=False).sum() / 100.0
        out["phi"] = [self.funnels[s].phi for s in out.index]
        out["tau2"] = [self.funnels[s].tau2 for s in out.index]
        return out.reindex(list(self.services))

    def decomposition(self) -> pd.DataFrame:
        """Each unit's spend gap to its benchmark, split into access, intensity and price.

        Needs ``patients`` and ``cost_gbp`` in the activity table. The
        benchmark's intensity (activity per patient) and price (cost per
        activity) are pooled over the unit's benchmark group: its ``best``
        lowest-ratio peers, all its peers, or every unit at or below the
        lower quartile (:mod:`capitation.opportunity.decomposition`).

        Returns
        -------
        pandas.DataFrame
            Indexed like :attr:`units`: ``spend_gbp``, ``benchmark_spend_gbp``,
            ``gap_gbp`` (spend − benchmark), ``access_effect_gbp``,
            ``intensity_effect_gbp`` and ``price_effect_gbp`` (adding up to the
            gap exactly); pounds in whole pence. NaN where the benchmark
            group has no activity.

        Raises
        ------
        InputError
            When the activity table has no patients or no cost.
        """
        for needed, present in (("patients", self.activity.has_patients),
                                ("cost_gbp", self.activity.has_cost)):
            if not present:
                raise InputError(f'the decomposition into access, intensity and price needs '
                                 f'column "{needed}" in the activity table',
                                 file=self.activity.source, column=needed)
        units_index = self.peers.table.index
        shape = (len(units_index), len(self.services))
        totals = self.activity.totals(units_index, self.level_codes)

        def wide(column: str) -> np.ndarray:
            return totals[column].to_numpy(dtype=float).reshape(shape)[
                :, _positions(totals, self.services)]

        activity, patients, cost = wide("activity"), wide("patients"), wide("cost_gbp")
        ratios = self.units["ratio"].unstack("service").reindex(
            index=units_index, columns=list(self.services))
        sums = benchmark_sums(ratios, self.peers, self.best, self.benchmark,
                              {"activity": activity, "patients": patients, "cost": cost})
        expected = self.units["expected"].to_numpy(dtype=float).reshape(shape)
        benchmark = self.units["benchmark_ratio"].to_numpy(dtype=float).reshape(shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            intensity_b = sums["activity"] / sums["patients"]
            price_b = sums["cost"] / sums["activity"]
            benchmark_spend = benchmark * expected * price_b
            access = patients * intensity_b / (benchmark * expected)
            intensity = activity / patients / intensity_b
            price = cost / activity / price_b
        usable = np.isfinite(intensity_b) & np.isfinite(price_b) & (intensity_b > 0)
        benchmark_spend = np.where(usable, benchmark_spend, np.nan)
        columns = spend_decomposition(
            cost.reshape(-1), benchmark_spend.reshape(-1),
            np.stack([access.reshape(-1), intensity.reshape(-1), price.reshape(-1)], axis=1))
        return pd.DataFrame(columns, index=self.units.index)

    def activity_changes(self, realised: float = 0.5,
                         years: int | Sequence[str] = 3) -> pd.DataFrame:
        """Planned activity changes by provider and service, phased over years.

        Each unit's opportunity in a service is shared across its providers in
        proportion to its activity with each, and summed by provider. A share
        ``realised`` of it is taken out in equal steps: by year k of n the
        cumulative change is −realised × opportunity / activity × k / n, a
        fraction of the line's activity, as a capitated service budget's
        ``activity_change`` (:class:`capitation.service_budget.ServiceBudgetInputs`).

        Parameters
        ----------
        realised : float
            Fraction of the opportunity to realise by the last year, 0 to 1.
        years : int or sequence of str
            How many years, or the budget years themselves
            (``["2026/27", "2027/28", "2028/29"]``, consecutive).

        Returns
        -------
        pandas.DataFrame
            One row per provider and service (sorted by provider, services in
            order): ``provider``, ``pod`` (the service), ``activity`` (now),
            ``price_gbp`` (pooled cost per activity, or the given price),
            ``opportunity_activity``, then ``activity_change_<year>`` per year
            (``activity_change_2026_27``, or ``activity_change_1`` ... for a
            count), the columns of a ``[service_budget]`` lines file.

        Raises
        ------
        InputError
            Without a provider column, without cost or a price, or for a
            ``realised`` or ``years`` out of range.
        """
        if isinstance(realised, bool) or not isinstance(realised, int | float) or not (
                0 <= realised <= 1):
            raise InputError(f"realised must be a fraction from 0 to 1, got {realised!r}",
                             key="realised")
        labels = _year_labels(years)
        if not self.activity.has_provider:
            raise InputError('activity changes by provider need column "provider" in the '
                             "activity table", file=self.activity.source, column="provider")
        if not self.activity.has_cost and self.price_gbp is None:
            raise InputError('activity changes need a price: column "cost_gbp" in the '
                             "activity table, or price_gbp", file=self.activity.source,
                             column="cost_gbp")
        units_index = self.peers.table.index
        by_provider = self.activity.totals(units_index, self.level_codes, by=["provider"])
        unit_name = units_index.name or "practice"
        keys = cast(pd.MultiIndex, by_provider.index).droplevel("provider")
        unit_activity = by_provider["activity"].groupby(level=[unit_name, "service"]).sum()
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 where no activity
            share = (by_provider["activity"].to_numpy()
                     / unit_activity.reindex(keys).to_numpy())
        opportunity = self.units["opportunity_activity"].reindex(keys).to_numpy()
        # A unit with no activity in a service has no opportunity there: 0 × (0/0) is 0.
        moved = np.where(opportunity > 0, opportunity * share, 0.0)
        frame = by_provider.assign(opportunity_activity=moved).groupby(
            level=["provider", "service"], sort=True).sum()
        if self.price_gbp is not None:
            price = self.price_gbp.reindex(frame.index.get_level_values("service")).to_numpy()
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                price = (frame["cost_gbp"] / frame["activity"]).to_numpy()
        activity = frame["activity"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.where(activity > 0, frame["opportunity_activity"] / activity, 0.0)
        out = pd.DataFrame({
            "provider": frame.index.get_level_values("provider").to_numpy(dtype=str),
            "pod": frame.index.get_level_values("service").to_numpy(dtype=str),
            "activity": activity,
            "price_gbp": price,
            "opportunity_activity": frame["opportunity_activity"].to_numpy(),
        })
        n = len(labels)
        for k, label in enumerate(labels, start=1):  # a loop over a few years
            out[f"activity_change_{label}"] = -realised * fraction * k / n
        order = {s: i for i, s in enumerate(self.services)}
        out = out.sort_values(["provider", "pod"], key=lambda c: c.map(order)
                              if c.name == "pod" else c, kind="stable")
        return out.reset_index(drop=True)


def _year_labels(years: int | Sequence[str]) -> list[str]:
    if isinstance(years, bool):
        raise InputError(f"years must be a number of years or a list of financial years, got "
                         f"{years!r}", key="years")
    if isinstance(years, int | np.integer):
        if years < 1:
            raise InputError(f"years must be 1 or more, got {years}", key="years")
        return [str(k) for k in range(1, int(years) + 1)]
    listed = list(years)
    if not listed or not all(is_financial_year(y) for y in listed):
        raise InputError(f'years must be a number or a list of financial years such as '
                         f'"2026/27", got {years!r}', key="years")
    check_consecutive(listed, key="years")
    return [year_suffix(y) for y in listed]


def _positions(totals: pd.DataFrame, services: Sequence[str]) -> list[int]:
    """Positions of ``services`` among the sorted services of a totals frame."""
    order = list(totals.index.get_level_values("service").unique())
    return [order.index(s) for s in services]


def value_opportunity(
    activity: Activity,
    expected: pd.DataFrame,
    indicators: pd.DataFrame,
    *,
    population: Population | None = None,
    level: str = "practice",
    similar: int = 10,
    best: int = 5,
    benchmark: str = "best_peers",
    price_gbp: Mapping[str, float] | pd.Series | None = None,
    method: str = "log",
    overdispersion: bool | str = True,
    trim: float = 0.10,
) -> Opportunity:
    """Set use beside need: ratios, funnels, peers, benchmarks and the opportunity.

    Parameters
    ----------
    activity : Activity
        Observed activity by practice and service (:func:`read_activity`).
    expected : pandas.DataFrame
        Expected activity, units × services (index named after the level, one
        column per service of ``activity``):
        :func:`expected_by_weighted_population` or :func:`expected_by_age_sex`.
    indicators : pandas.DataFrame
        Need indicators per unit (same units), one column each, for the peers.
    population : Population, optional
        Needed when ``level`` is not ``practice``, to sum practices to units.
    level : str
        The level of the units (``practice``, or a level of ``population``).
    similar : int
        Peers per unit.
    best : int
        Lowest-ratio peers averaged by the ``best_peers`` benchmark.
    benchmark : {"best_peers", "peer_median", "lowest_quartile"}
        The benchmark ratio opportunity is measured against.
    price_gbp : mapping or pandas.Series, optional
        Price per activity by service (pounds); default: each unit's own cost
        per activity (column ``cost_gbp``). Without either, opportunity is in
        activity only.
    method, overdispersion, trim
        The funnel plot's (:func:`funnel`).

    Returns
    -------
    Opportunity

    Raises
    ------
    InputError
        Units or services that differ between the inputs, activity at a
        practice outside the units, a price missing for a service, or a bad
        argument (each naming it).
    """
    if benchmark not in BENCHMARKS:
        raise InputError(f"benchmark must be one of {', '.join(BENCHMARKS)}, got {benchmark!r}",
                         key="benchmark")
    services = list(activity.services)
    price = _prices(price_gbp, services)
    level_codes = None
    if level != "practice":
        if population is None:
            raise InputError(f'units at level "{level}" need the population, to sum practices '
                             "to them", key="population")
        if level not in population.levels:
            raise InputError(f'no level "{level}" (levels are practice, '
                             f"{', '.join(population.levels)})", key="level")
        level_codes = population.level_codes(level)
    units = expected.index.rename(level)
    if sorted(map(str, expected.columns)) != sorted(services):
        raise InputError(f"expected has services {', '.join(map(str, expected.columns))} and "
                         f"the activity {', '.join(services)} (expected the same)",
                         key="expected")
    observed = activity.table("activity", units, level_codes)
    ordered_expected = expected.set_axis(units, axis=0).reindex(index=observed.index,
                                                                columns=services)
    ratios = standardised_ratios(observed, ordered_expected)
    peers = find_peers(indicators.set_axis(indicators.index.rename(level), axis=0), similar)
    wide_ratio = ratios["ratio"].unstack("service").reindex(index=peers.table.index,
                                                            columns=services)
    if wide_ratio.isna().any().any():
        raise InputError("the indicators' units differ from the expected activity's (expected "
                         "the same units)", key="indicators")
    benchmarks = peer_benchmarks(wide_ratio, peers, best)
    funnels = {}
    pieces = []
    for service in services:  # a loop over a few services
        part = ratios.xs(service, level="service")
        fit = funnel(part["observed"], part["expected"], kind="ratio", method=method,
                     overdispersion=overdispersion, trim=trim)
        funnels[service] = fit
        pieces.append(fit.units.assign(service=service).set_index("service", append=True))
    funnel_units = pd.concat(pieces).reindex(ratios.index)
    units_table = ratios.join(funnel_units[list(FUNNEL_COLUMNS[1:])]).join(benchmarks)
    units_table["benchmark_ratio"] = units_table[BENCHMARKS[benchmark]]
    o = units_table["observed"].to_numpy()
    e = units_table["expected"].to_numpy()
    b = units_table["benchmark_ratio"].to_numpy()
    units_table["above_benchmark"] = o > b * e
    units_table["opportunity_activity"] = np.maximum(0.0, o - b * e)
    unit_cost = None
    if price is not None:
        unit_cost = price.reindex(units_table.index.get_level_values("service")).to_numpy()
    elif activity.has_cost:
        cost = activity.table("cost_gbp", units, level_codes).stack()
        with np.errstate(invalid="ignore", divide="ignore"):
            unit_cost = (cost.reindex(units_table.index).to_numpy() / o)
    if unit_cost is not None:
        units_table["unit_cost_gbp"] = unit_cost
        amount = np.where(units_table["opportunity_activity"] > 0,
                          units_table["opportunity_activity"] * unit_cost, 0.0)
        units_table["opportunity_gbp"] = np.asarray(round_pence(amount)) / 100.0
    return Opportunity(units=units_table, funnels=funnels, peers=peers, benchmark=benchmark,
                       best=best, activity=activity, level_codes=level_codes, price_gbp=price)


def _prices(price_gbp: Mapping[str, float] | pd.Series | None,
            services: list[str]) -> pd.Series | None:
    if price_gbp is None:
        return None
    given = pd.Series(price_gbp, dtype=object)
    missing = [s for s in services if s not in given.index]
    if missing:
        raise InputError(f"no price for service {', '.join(missing)}", key="price_gbp")
    values = pd.to_numeric(given.reindex(services), errors="coerce")
    bad = ~(np.isfinite(values.to_numpy(dtype=float)) & (values.to_numpy(dtype=float) >= 0))
    if bad.any():
        service = services[int(np.flatnonzero(bad)[0])]
        raise InputError(f'{given[service]!r} for "{service}" is not a price (expected pounds '
                         "per activity, 0 or more)", key="price_gbp")
    return values.astype(float)
