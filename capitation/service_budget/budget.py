"""Capitated service budget from current spend (docs/methods/service-budget.md).

Baseline activity and prices by provider and point of delivery (POD) are
grown and repriced, adjusted for planned activity changes and new services,
with stranded-cost support that tapers as providers release cost. The result
is a :class:`CapitatedBudget`: one row per line (and new service) per year,
and the bridge from baseline spend to budget, which ties out to the penny.

The calculation is vectorised over lines × years; money is rounded with
R(x) (:func:`capitation.rounding.round_pence`) where
docs/methods/service-budget.md#definitions says and added in integer pence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capitation.rounding import check_money, round_pence
from capitation.service_budget.stranded_costs import release_fraction, released_pence, support_pence

__all__ = [
    "LINE_COLUMNS",
    "NEW_SERVICE_COLUMNS",
    "BUDGET_LINE_COLUMNS",
    "BRIDGE_COLUMNS",
    "ServiceBudgetInputs",
    "CapitatedBudget",
    "build_budget",
]

#: Columns of :attr:`ServiceBudgetInputs.lines`: text, counts (activity a year),
#: pounds, fractions (cost shares summing to 1) and years (release periods).
LINE_COLUMNS = (
    "provider",
    "pod",
    "activity",
    "price_gbp",
    "fixed",
    "semi_fixed",
    "variable",
    "fixed_release_years",
    "semi_fixed_release_years",
)

#: Columns of :attr:`ServiceBudgetInputs.new_services`.
NEW_SERVICE_COLUMNS = ("provider", "name")

#: Columns of :attr:`CapitatedBudget.budget_lines`: the issue's twelve, then extras.
BUDGET_LINE_COLUMNS = (
    "provider",
    "pod",
    "year",
    "grown_activity",
    "planned_activity",
    "price_gbp",
    "planned_value_gbp",
    "removed_value_gbp",
    "released_cost_gbp",
    "stranded_cost_gbp",
    "support_gbp",
    "budget_gbp",
    # extras, after the contract's columns
    "kind",
    "year_number",
    "baseline_activity",
    "baseline_price_gbp",
    "growth_factor",
    "price_factor",
    "activity_change",
    "baseline_value_gbp",
    "grown_value_gbp",
    "repriced_value_gbp",
    "fixed",
    "semi_fixed",
    "variable",
    "fixed_release_years",
    "semi_fixed_release_years",
    "release_fraction",
    "stranded_support",
)

#: Columns of :attr:`CapitatedBudget.budget_bridge` (pounds).
BRIDGE_COLUMNS = (
    "baseline_gbp",
    "growth_gbp",
    "price_gbp",
    "activity_change_gbp",
    "new_services_gbp",
    "stranded_support_gbp",
    "budget_gbp",
    "do_nothing_gbp",
    "net_saving_gbp",
)

_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


def _check_year(year: str) -> int:
    match = _YEAR.match(year)
    if match is None or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"{year!r} is not a financial year like '2017/18'")
    return int(match.group(1))


@dataclass(frozen=True, eq=False)
class ServiceBudgetInputs:
    """Validated inputs of a capitated service budget (docs/methods/service-budget.md#definitions).

    Build it with :func:`capitation.service_budget.budget_file.read_service_budget`,
    which validates a model file's ``[service_budget]`` table. Frames are
    copied on the way in and never changed.

    Parameters
    ----------
    name : str
        The budget's name ("MSK").
    baseline_year : str
        The year of current spend, ``"YYYY/YY"``.
    years : tuple of str
        Budget years, consecutive, starting the year after ``baseline_year``.
    growth : float
        Demographic growth a year, a fraction, compounding.
    price_uplift : numpy.ndarray
        Price uplift in each budget year (fractions), compounding; shape (Y,).
    stranded_support : numpy.ndarray
        Fraction of stranded cost funded in each year, in [0, 1]; shape (Y,).
    lines : pandas.DataFrame
        One row per provider × POD, columns :data:`LINE_COLUMNS`: baseline
        activity (a year), baseline price (pounds), cost shares (fractions
        summing to 1) and release periods (years, 0 = at once).
    activity_change : pandas.DataFrame
        Cumulative activity change per line (a fraction of grown activity, ≥ −1),
        same index as ``lines``, one column per budget year.
    new_services : pandas.DataFrame
        One row per new service, columns :data:`NEW_SERVICE_COLUMNS`.
    patients : pandas.DataFrame
        Patients a year per new service, same index as ``new_services``, one
        column per budget year.
    cost_per_patient_gbp : pandas.DataFrame
        Cost per patient in each year's cash terms (pounds), same shape as ``patients``.
    """

    name: str
    baseline_year: str
    years: tuple[str, ...]
    growth: float
    price_uplift: np.ndarray
    stranded_support: np.ndarray
    lines: pd.DataFrame
    activity_change: pd.DataFrame
    new_services: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(NEW_SERVICE_COLUMNS))
    )
    patients: pd.DataFrame | None = None
    cost_per_patient_gbp: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        """Check shapes and years; copy frames and arrays so the caller's are never shared."""
        years = tuple(self.years)
        if not years:
            raise ValueError("a service budget needs at least one budget year")
        first = _check_year(self.baseline_year)
        for k, year in enumerate(years, start=1):
            if _check_year(year) != first + k:
                raise ValueError(
                    f"years must be consecutive from the year after {self.baseline_year}: "
                    f"got {list(years)}"
                )
        n_years = len(years)
        object.__setattr__(self, "years", years)
        for name in ("price_uplift", "stranded_support"):
            values = np.array(getattr(self, name), dtype=float).reshape(-1)
            if values.shape != (n_years,):
                raise ValueError(f"{name} needs {n_years} values, one per year")
            object.__setattr__(self, name, values)
        object.__setattr__(self, "lines", self._frame(self.lines, LINE_COLUMNS, "lines"))
        object.__setattr__(
            self,
            "new_services",
            self._frame(self.new_services, NEW_SERVICE_COLUMNS, "new_services"),
        )
        per_year = (
            ("activity_change", self.lines),
            ("patients", self.new_services),
            ("cost_per_patient_gbp", self.new_services),
        )
        for name, owner in per_year:
            frame = getattr(self, name)
            if frame is None:
                frame = pd.DataFrame(index=owner.index, columns=list(years), dtype=float)
            frame = frame.astype(float)
            if list(frame.columns) != list(years) or not frame.index.equals(owner.index):
                raise ValueError(f"{name} must have one column per budget year {list(years)}")
            object.__setattr__(self, name, frame.copy())

    @staticmethod
    def _frame(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> pd.DataFrame:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing columns {missing}")
        return frame.loc[:, list(columns)].copy()


@dataclass(frozen=True, eq=False)
class CapitatedBudget:
    """A capitated service budget: lines, the bridge and budgets by provider.

    Parameters
    ----------
    name : str
        The budget's name.
    baseline_year : str
        The year of current spend.
    years : tuple of str
        Budget years.
    budget_lines : pandas.DataFrame
        One row per line and new service per year (year by year, lines first,
        then new services), columns :data:`BUDGET_LINE_COLUMNS`. Money in
        pounds (whole pence), activity a year, ``kind`` is ``"line"`` or
        ``"new_service"``. A new service's ``pod`` is its name, its activity
        its patients and its ``price_gbp`` its cost per patient.
    budget_bridge : pandas.DataFrame
        Indexed by ``year``, columns :data:`BRIDGE_COLUMNS` (pounds): baseline +
        growth + price + activity_change + new_services + stranded_support =
        budget, exactly; do_nothing = baseline + growth + price; net_saving =
        do_nothing − budget.
    budget_by_provider : pandas.DataFrame
        Budget in pounds, index ``provider`` (in order of first appearance),
        one column per year (columns named ``year``).
    inputs : ServiceBudgetInputs
        What the budget was built from.
    """

    name: str
    baseline_year: str
    years: tuple[str, ...]
    budget_lines: pd.DataFrame
    budget_bridge: pd.DataFrame
    budget_by_provider: pd.DataFrame
    inputs: ServiceBudgetInputs


def _long(block: np.ndarray) -> np.ndarray:
    """Rows × years to the long, year-by-year order of ``budget_lines``."""
    return np.ascontiguousarray(block.T).reshape(-1)


def build_budget(inputs: ServiceBudgetInputs) -> CapitatedBudget:
    """Build the capitated budget of docs/methods/service-budget.md#definitions.

    Parameters
    ----------
    inputs : ServiceBudgetInputs
        Validated inputs.

    Returns
    -------
    CapitatedBudget
        Budget lines, the bridge from baseline to budget per year and budgets
        per provider, all in pounds (whole pence, added in integer pence).

    Examples
    --------
    >>> from capitation.service_budget.budget_file import read_service_budget
    >>> inputs = read_service_budget(table, base_dir, file)  # doctest: +SKIP
    >>> build_budget(inputs).budget_bridge["net_saving_gbp"]  # doctest: +SKIP
    """
    years = inputs.years
    n_years = len(years)
    year_number = np.arange(1, n_years + 1, dtype=float)
    lines = inputs.lines
    new = inputs.new_services

    growth_factor = (1.0 + inputs.growth) ** year_number  # G_y
    price_factor = np.cumprod(1.0 + inputs.price_uplift)  # P_y

    # Lines: n × Y arrays, in docs/methods/service-budget.md#definitions's order of operations.
    activity = lines["activity"].to_numpy(dtype=float)
    price = lines["price_gbp"].to_numpy(dtype=float)
    change = inputs.activity_change.to_numpy(dtype=float)
    grown_activity = activity[:, None] * growth_factor[None, :]
    planned_activity = grown_activity * (1.0 + change)
    year_price = price[:, None] * price_factor[None, :]

    baseline_p = np.asarray(round_pence(
        activity * price, "service budget: a line's baseline value")).astype(np.int64)
    baseline_p = np.broadcast_to(baseline_p[:, None], grown_activity.shape)
    grown_p = np.asarray(round_pence(
        grown_activity * price[:, None], "service budget: a line's grown value")).astype(np.int64)
    repriced_p = np.asarray(round_pence(
        grown_activity * year_price, "service budget: a line's repriced value")).astype(np.int64)
    planned_p = np.asarray(round_pence(
        planned_activity * year_price, "service budget: a line's planned value")).astype(np.int64)
    removed_p = np.maximum(0, repriced_p - planned_p)
    fraction = release_fraction(
        year_number,
        lines["fixed"].to_numpy(dtype=float),
        lines["semi_fixed"].to_numpy(dtype=float),
        lines["variable"].to_numpy(dtype=float),
        lines["fixed_release_years"].to_numpy(dtype=float),
        lines["semi_fixed_release_years"].to_numpy(dtype=float),
    )
    released_p = released_pence(removed_p, fraction)
    stranded_p = removed_p - released_p
    support_p = support_pence(stranded_p, inputs.stranded_support)
    budget_p = planned_p + support_p

    # New services: R(patients_y × cost_per_patient_y), cash terms, nothing stranded.
    # __post_init__ replaces a None patients or cost table by an empty one per year.
    assert inputs.patients is not None and inputs.cost_per_patient_gbp is not None
    patients = inputs.patients.to_numpy(dtype=float)
    cost = inputs.cost_per_patient_gbp.to_numpy(dtype=float)
    new_p = np.asarray(round_pence(patients * cost, "service budget: a new service's cost")
                       ).astype(np.int64).reshape(patients.shape)

    # The bridge, in integer pence, per year.
    baseline_y = baseline_p.sum(axis=0)
    grown_y = grown_p.sum(axis=0)
    repriced_y = repriced_p.sum(axis=0)
    planned_y = planned_p.sum(axis=0)
    new_y = new_p.sum(axis=0)
    support_y = support_p.sum(axis=0)
    bridge_p = {
        "baseline_gbp": baseline_y,
        "growth_gbp": grown_y - baseline_y,
        "price_gbp": repriced_y - grown_y,
        "activity_change_gbp": planned_y - repriced_y,
        "new_services_gbp": new_y,
        "stranded_support_gbp": support_y,
    }
    budget_y = sum(bridge_p.values())
    bridge_p["budget_gbp"] = budget_y
    bridge_p["do_nothing_gbp"] = repriced_y  # baseline + growth + price, telescoped
    bridge_p["net_saving_gbp"] = repriced_y - budget_y
    for name, pence in bridge_p.items():  # sums over lines: each line within the bound, not so all
        check_money(np.asarray(pence) / 100.0, f"service budget: {name} in a year")
    year_index = pd.Index(list(years), name="year")
    bridge = pd.DataFrame({k: v / 100.0 for k, v in bridge_p.items()}, index=year_index)

    budget_lines = _budget_lines_frame(
        inputs,
        year_number=year_number,
        growth_factor=growth_factor,
        price_factor=price_factor,
        line_blocks={
            "grown_activity": grown_activity,
            "planned_activity": planned_activity,
            "price_gbp": year_price,
            "planned_value_gbp": planned_p / 100.0,
            "removed_value_gbp": removed_p / 100.0,
            "released_cost_gbp": released_p / 100.0,
            "stranded_cost_gbp": stranded_p / 100.0,
            "support_gbp": support_p / 100.0,
            "budget_gbp": budget_p / 100.0,
            "baseline_value_gbp": baseline_p / 100.0,
            "grown_value_gbp": grown_p / 100.0,
            "repriced_value_gbp": repriced_p / 100.0,
            "release_fraction": fraction,
        },
        new_blocks={
            "grown_activity": patients,
            "planned_activity": patients,
            "price_gbp": cost,
            "planned_value_gbp": new_p / 100.0,
            "budget_gbp": new_p / 100.0,
        },
    )

    all_providers = np.concatenate(
        [lines["provider"].to_numpy(dtype=object), new["provider"].to_numpy(dtype=object)]
    )
    codes, providers = pd.factorize(all_providers, sort=False)
    all_budget_p = np.concatenate([budget_p, new_p], axis=0)
    by_provider_p = np.zeros((len(providers), n_years), dtype=np.int64)
    np.add.at(by_provider_p, codes, all_budget_p)
    by_provider = pd.DataFrame(
        by_provider_p / 100.0,
        index=pd.Index(list(providers), name="provider"),
        columns=year_index,
    )
    return CapitatedBudget(
        name=inputs.name,
        baseline_year=inputs.baseline_year,
        years=years,
        budget_lines=budget_lines,
        budget_bridge=bridge,
        budget_by_provider=by_provider,
        inputs=inputs,
    )


def _budget_lines_frame(
    inputs: ServiceBudgetInputs,
    *,
    year_number: np.ndarray,
    growth_factor: np.ndarray,
    price_factor: np.ndarray,
    line_blocks: dict[str, np.ndarray],
    new_blocks: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Assemble the long table: for each year, the lines then the new services."""
    lines = inputs.lines
    new = inputs.new_services
    n_lines, n_new, n_years = len(lines), len(new), len(inputs.years)
    n_rows = n_lines + n_new

    def stacked(name: str) -> np.ndarray:
        """Stack a column's lines block over its new services block (0 where absent)."""
        top = line_blocks.get(name)
        top = np.zeros((n_lines, n_years)) if top is None else np.asarray(top, dtype=float)
        bottom = new_blocks.get(name)
        bottom = np.zeros((n_new, n_years)) if bottom is None else np.asarray(bottom, dtype=float)
        return np.concatenate([top, bottom], axis=0)

    def per_row(values: np.ndarray) -> np.ndarray:
        """Repeat a per-line input over years; NaN for new services (not theirs)."""
        column = np.concatenate([np.asarray(values, dtype=float), np.full(n_new, np.nan)])
        return np.tile(column, n_years)

    def per_year(values: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=float), n_rows)

    release = stacked("release_fraction")
    release[n_lines:, :] = np.nan  # a new service releases nothing: no fraction
    text = {
        "provider": np.concatenate(
            [lines["provider"].to_numpy(dtype=object), new["provider"].to_numpy(dtype=object)]
        ),
        "pod": np.concatenate(
            [lines["pod"].to_numpy(dtype=object), new["name"].to_numpy(dtype=object)]
        ),
    }
    kind = np.array(["line", "new_service"], dtype=object)
    kind_codes = np.concatenate([np.zeros(n_lines, dtype=np.intp), np.ones(n_new, dtype=np.intp)])
    data: dict[str, object] = {
        "provider": np.tile(text["provider"], n_years),
        "pod": np.tile(text["pod"], n_years),
        "year": np.repeat(np.array(inputs.years, dtype=object), n_rows),
    }
    for name in BUDGET_LINE_COLUMNS[3:12]:
        data[name] = _long(stacked(name))
    data["kind"] = np.tile(kind[kind_codes], n_years)
    data["year_number"] = per_year(year_number)
    data["baseline_activity"] = per_row(lines["activity"].to_numpy(dtype=float))
    data["baseline_price_gbp"] = per_row(lines["price_gbp"].to_numpy(dtype=float))
    data["growth_factor"] = per_year(growth_factor)
    data["price_factor"] = per_year(price_factor)
    change = np.concatenate(
        [inputs.activity_change.to_numpy(dtype=float), np.full((n_new, n_years), np.nan)]
    )
    data["activity_change"] = _long(change)
    for name in ("baseline_value_gbp", "grown_value_gbp", "repriced_value_gbp"):
        data[name] = _long(stacked(name))
    for name in (
        "fixed",
        "semi_fixed",
        "variable",
        "fixed_release_years",
        "semi_fixed_release_years",
    ):
        data[name] = per_row(lines[name].to_numpy(dtype=float))
    data["release_fraction"] = _long(release)
    data["stranded_support"] = per_year(inputs.stranded_support)
    frame = pd.DataFrame(data, columns=list(BUDGET_LINE_COLUMNS))
    frame["year_number"] = frame["year_number"].astype(np.int64)
    return frame
