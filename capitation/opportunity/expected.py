"""Expected use from need, and the standardised ratio of observed to expected.

Two ways give each unit's expected activity E per service:

- **Weighted population share.** The service's total activity shared across
  units in proportion to their weighted population (for the service's
  component of the needs formula): E_us = (Σ_v O_vs) × WP_us / Σ_v WP_vs, so
  a unit of average need per head is expected to use the average per head.
- **Indirect standardisation.** Reference rates by sex and age band r(s, g, a)
  (activity per person: from the whole set, Σ_u O / Σ_u N, or a given
  reference table) times the unit's population by sex and age band:
  E_us = Σ_{g,a} r(s, g, a) × N_u(g, a).

With rates or shares from the same set, Σ_u E_us = Σ_u O_us. The standardised
ratio is O / E, with the exact Poisson 95% interval of O (Garwood 1936;
Ulm 1990, Am J Epidemiol 131:373):

    lower = χ²(0.025; 2O) / 2 / E    (0 when O = 0)
    upper = χ²(0.975; 2O + 2) / 2 / E

where χ²(p; k) is the p quantile of the chi-square distribution on k degrees
of freedom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np
import pandas as pd
from scipy.stats import chi2

from capitation.allocation import Allocation
from capitation.errors import InputError
from capitation.opportunity.activity import Activity

__all__ = [
    "expected_by_age_sex",
    "expected_by_weighted_population",
    "poisson_interval",
    "population_by_age_band",
    "reference_rates",
    "standardised_ratios",
]

_BAND_KEYS = ("sex", "age_band")


def expected_by_weighted_population(
    observed: pd.DataFrame,
    weighted_population: pd.Series | pd.DataFrame | Allocation,
    *,
    components: Mapping[str, str] | None = None,
    level: str = "practice",
) -> pd.DataFrame:
    """Share each service's activity across units by weighted population (expected activity).

    Parameters
    ----------
    observed : pandas.DataFrame
        Observed activity, units × services (:meth:`Activity.table`).
    weighted_population : pandas.Series, pandas.DataFrame or Allocation
        Weighted population (persons) per unit: one Series for every
        service, a DataFrame with one column per service, or an
        :class:`~capitation.Allocation` whose table at ``level`` gives it.
    components : mapping of str to str, optional
        With an Allocation: each service's component of the needs formula
        (its ``weighted_population_<component>`` column is used); None uses
        the total ``weighted_population``.
    level : str
        With an Allocation: the level whose table to read.

    Returns
    -------
    pandas.DataFrame
        Expected activity, on the index and columns of ``observed``.

    Raises
    ------
    InputError
        When the units differ from those of the weighted population, a
        weighted population is missing or negative, or a service's weighted
        populations add up to zero.
    """
    weights = _weights_frame(weighted_population, list(observed.columns), components, level)
    _same_units(observed.index, weights.index, "observed", "weighted_population")
    weights = weights.reindex(observed.index)
    values = weights.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise InputError(f"{observed.index.name} \"{observed.index[row]}\": {values[row, col]!r} "
                         "is not a weighted population (expected a number, 0 or more)",
                         key=f"weighted_population.{weights.columns[col]}")
    totals = values.sum(axis=0)
    if (totals <= 0).any():
        service = weights.columns[int(np.flatnonzero(totals <= 0)[0])]
        raise InputError(f'the weighted populations for "{service}" add up to 0 '
                         "(expected some need to share the activity by)",
                         key="weighted_population")
    observed_total = observed.to_numpy(dtype=float).sum(axis=0)
    expected = values / totals[None, :] * observed_total[None, :]
    return pd.DataFrame(expected, index=observed.index, columns=observed.columns)


def _weights_frame(weighted_population: pd.Series | pd.DataFrame | Allocation,
                   services: list[str], components: Mapping[str, str] | None,
                   level: str) -> pd.DataFrame:
    if isinstance(weighted_population, Allocation):
        table = weighted_population.table(level)
        if components is None:
            return pd.DataFrame({s: table["weighted_population"] for s in services})
        columns = {}
        for service in services:
            if service not in components:
                raise InputError(f'no component for service "{service}" (components name '
                                 f"one for each of: {', '.join(services)})", key="components")
            name = f"weighted_population_{components[service]}"
            if name not in table.columns:
                raise InputError(f'component "{components[service]}" of service "{service}" '
                                 "is not a component of the needs formula", key="components")
            columns[service] = table[name]
        return pd.DataFrame(columns)
    if isinstance(weighted_population, pd.Series):
        return pd.DataFrame({s: weighted_population for s in services})
    missing = [s for s in services if s not in weighted_population.columns]
    if missing:
        raise InputError(f"no weighted population for service {', '.join(missing)} (the "
                         f"columns are: {', '.join(map(str, weighted_population.columns))})",
                         key="weighted_population")
    return weighted_population.loc[:, services]


def _same_units(left: pd.Index, right: pd.Index, left_name: str, right_name: str) -> None:
    """Refuse two tables whose units differ (labels are the contract)."""
    if left.has_duplicates or right.has_duplicates:
        which, index = (left_name, left) if left.has_duplicates else (right_name, right)
        raise InputError(f'unit "{index[index.duplicated()][0]}" appears twice', key=which)
    only_left = left.difference(right)
    only_right = right.difference(left)
    if len(only_left) or len(only_right):
        name, where, codes = ((left_name, right_name, only_left) if len(only_left)
                              else (right_name, left_name, only_right))
        more = f" and {len(codes) - 5} more" if len(codes) > 5 else ""
        raise InputError(f"{', '.join(map(str, codes[:5]))}{more} in {name} but not in "
                         f"{where} (expected the same units in both)", key=name)


def population_by_age_band(register: pd.DataFrame, bands: Sequence[str]) -> pd.DataFrame:
    """Count a GP register by sex and age band.

    Parameters
    ----------
    register : pandas.DataFrame
        Long register with columns ``practice``, ``sex`` (``"M"``/``"F"``),
        ``age`` (whole years, 95 standing for "95+") and ``patients``, as
        :func:`capitation.register.read_register` returns it.
    bands : sequence of str
        Age band labels ``"0-17"``, ``"18-64"``, ``"65+"``: from and to ages
        inclusive, the last open-ended; together covering 0 to 95 without gaps
        or overlaps.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice``, ``sex``, ``age_band`` and ``population``
        (persons), one row per practice, sex and band, sorted.

    Raises
    ------
    InputError
        A label that is not ``a-b`` or ``a+``, or bands that leave a gap or overlap.
    """
    edges = []
    for label in bands:
        text = str(label).strip()
        try:
            if text.endswith("+"):
                start, stop = int(text[:-1]), 95
            else:
                low, high = text.split("-")
                start, stop = int(low), int(high)
        except ValueError:
            raise InputError(f'"{label}" is not an age band (expected "a-b" or "a+", such as '
                             '"65-74" or "85+")', key="age_bands") from None
        edges.append((start, stop, text))
    edges.sort()
    expected_start = 0
    for start, stop, text in edges:
        if start != expected_start or stop < start:
            raise InputError(f'age band "{text}" starts at {start}, expected {expected_start} '
                             "(bands must cover ages 0 to 95+ without gaps or overlaps)",
                             key="age_bands")
        expected_start = stop + 1
    if expected_start != 96:
        raise InputError("the age bands stop before 95+ (the last band must be open, such "
                         'as "85+")', key="age_bands")
    starts = np.array([e[0] for e in edges])
    labels = np.array([e[2] for e in edges], dtype=object)
    ages = register["age"].to_numpy(dtype=np.int64)
    band = labels[np.searchsorted(starts, ages, side="right") - 1]
    grouped = (register.assign(age_band=band)
               .groupby(["practice", "sex", "age_band"], sort=True)["patients"].sum())
    return grouped.astype(float).rename("population").reset_index()


def _population_frame(population: pd.DataFrame) -> pd.Series:
    """Return the population by (practice, sex, age_band), validated."""
    missing = [c for c in ("practice", *_BAND_KEYS, "population") if c not in population.columns]
    if missing:
        raise InputError(f"no column {', '.join(missing)} (expected practice, sex, age_band and "
                         "population)", key="population_by_age_sex")
    counts = pd.to_numeric(population["population"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(counts) | (counts < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{population['population'].iloc[i]!r} is not a population (expected "
                         "a number, 0 or more)", key=f"population_by_age_sex index "
                         f"{population.index[i]!r}", column="population")
    keys = population[["practice", *_BAND_KEYS]].astype(str)
    repeated = keys.duplicated().to_numpy()
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        shown = ", ".join(f'{k} "{keys[k].iloc[i]}"' for k in keys.columns)
        raise InputError(f"{shown} appears twice (expected one row per practice, sex and "
                         "age band)", key=f"population_by_age_sex index {population.index[i]!r}")
    index = pd.MultiIndex.from_frame(keys)
    return pd.Series(counts, index=index, name="population")


def reference_rates(activity: Activity, population_by_age_sex: pd.DataFrame) -> pd.DataFrame:
    """Return reference rates by service, sex and age band from the whole set.

    r(s, g, a) = Σ_u O_u(s, g, a) / Σ_u N_u(g, a), over every practice of the
    population table.

    Parameters
    ----------
    activity : Activity
        With ``sex`` and ``age_band``.
    population_by_age_sex : pandas.DataFrame
        Columns ``practice``, ``sex``, ``age_band``, ``population`` (persons),
        as :func:`population_by_age_band` returns.

    Returns
    -------
    pandas.DataFrame
        Columns ``service``, ``sex``, ``age_band`` and ``rate`` (activity per
        person), one row per service and every sex and band of the population.

    Raises
    ------
    InputError
        Activity without sex and age band; activity at a practice, or in a
        sex and band, that the population does not have; activity in a band
        whose population is 0.
    """
    if not activity.has_age_sex:
        raise InputError("reference rates need activity by sex and age band (columns sex and "
                         "age_band)", file=activity.source)
    people = _population_frame(population_by_age_sex)
    frame = activity.frame
    practices = people.index.get_level_values("practice")
    unknown = ~frame["practice"].isin(practices).to_numpy()
    if unknown.any():
        code = frame["practice"].iloc[int(np.flatnonzero(unknown)[0])]
        raise InputError(f'practice "{code}" has activity but no population by age and sex',
                         file=activity.source, column="practice")
    band_people = people.groupby(level=list(_BAND_KEYS)).sum()
    used = frame.groupby(["service", *_BAND_KEYS], sort=True)["activity"].sum()
    cells = pd.MultiIndex.from_tuples(
        [(s, *band) for s in sorted(activity.services) for band in band_people.index],
        names=["service", *_BAND_KEYS])
    extra = used.index.difference(cells)
    if len(extra):
        service, sex, band = extra[0]
        raise InputError(f'activity for sex {sex}, age band "{band}" ({service}), but the '
                         "population has no such band", file=activity.source,
                         column="age_band")
    # Cells without rows had no activity (an extract lists only what happened): zero.
    used = used.reindex(cells, fill_value=0.0)
    denominators = band_people.reindex(cells.droplevel(["service"])).to_numpy()
    empty = (denominators == 0) & (used.to_numpy() > 0)
    if empty.any():
        service, sex, band = cells[int(np.flatnonzero(empty)[0])]
        raise InputError(f'activity for sex {sex}, age band "{band}" ({service}), where the '
                         "population is 0", file=activity.source, column="age_band")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(denominators > 0, used.to_numpy() / denominators, 0.0)
    return pd.DataFrame({"rate": rate}, index=cells).reset_index()


def expected_by_age_sex(population_by_age_sex: pd.DataFrame, rates: pd.DataFrame, *,
                        units: pd.Index | None = None,
                        level_codes: pd.Series | None = None) -> pd.DataFrame:
    """Return expected activity by indirect standardisation: reference rates × population.

    E_us = Σ_{g,a} r(s, g, a) × N_u(g, a), summed from practices to units.

    Parameters
    ----------
    population_by_age_sex : pandas.DataFrame
        Columns ``practice``, ``sex``, ``age_band``, ``population`` (persons).
    rates : pandas.DataFrame
        Columns ``service``, ``sex``, ``age_band``, ``rate`` (activity per
        person): :func:`reference_rates`, or a reference table.
    units : pandas.Index, optional
        The units to report, named after the level; default: the practices.
    level_codes : pandas.Series, optional
        Each practice's unit code (:meth:`capitation.Population.level_codes`).

    Returns
    -------
    pandas.DataFrame
        Expected activity, units (sorted) × services (in the order of ``rates``).

    Raises
    ------
    InputError
        A sex and band with people but no rate for a service, or a rate
        that is not a number 0 or more.
    """
    people = _population_frame(population_by_age_sex)
    for column in ("service", *_BAND_KEYS, "rate"):
        if column not in rates.columns:
            raise InputError(f'no column "{column}" (expected service, sex, age_band and rate)',
                             key="rates")
    rate_values = pd.to_numeric(rates["rate"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(rate_values) | (rate_values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{rates['rate'].iloc[i]!r} is not a rate (expected activity per "
                         "person, 0 or more)", key=f"rates index {rates.index[i]!r}",
                         column="rate")
    services = list(pd.unique(rates["service"].astype(str)))
    table = pd.Series(rate_values, index=pd.MultiIndex.from_frame(
        rates[["service", *_BAND_KEYS]].astype(str)))
    if table.index.has_duplicates:
        service, sex, band = table.index[table.index.duplicated()][0]
        raise InputError(f'service "{service}", sex {sex}, age band "{band}" has two rates',
                         key="rates")
    bands = _multi(people[people > 0].index).droplevel("practice").unique()
    columns = {}
    for service in services:  # a loop over a few services
        by_band = table.xs(service, level="service")
        missing = bands.difference(by_band.index)
        if len(missing):
            sex, band = missing[0]
            raise InputError(f'no rate for service "{service}", sex {sex}, age band "{band}" '
                             "(the population has people there)", key="rates")
        per_person = by_band.reindex(_multi(people.index).droplevel("practice")).to_numpy()
        # A band with no people contributes nothing, whatever its rate: 0 × missing is 0.
        contribution = np.where(people.to_numpy() > 0, people.to_numpy() * per_person, 0.0)
        columns[service] = pd.Series(contribution, index=people.index).groupby(
            level="practice").sum()
    expected = pd.DataFrame(columns)
    expected.index.name = "practice"
    return _to_units(expected, units, level_codes)


def _multi(index: pd.Index) -> pd.MultiIndex:
    """Return an index known to be a MultiIndex as one (for the type checker)."""
    return cast(pd.MultiIndex, index)


def _to_units(by_practice: pd.DataFrame, units: pd.Index | None,
              level_codes: pd.Series | None) -> pd.DataFrame:
    if level_codes is not None:
        codes = level_codes.reindex(by_practice.index)
        if codes.isna().any():
            missing = by_practice.index[codes.isna().to_numpy()][0]
            raise InputError(f'practice "{missing}" has a population but no code at the level',
                             key="level_codes")
        grouped = by_practice.groupby(codes.to_numpy()).sum()
        grouped.index.name = level_codes.name
        by_practice = grouped
    if units is None:
        return by_practice.sort_index()
    _same_units(units, by_practice.index, "units", "population_by_age_sex")
    out = by_practice.reindex(units.sort_values())
    out.index.name = units.name or by_practice.index.name
    return out


def poisson_interval(observed: np.ndarray | pd.Series | float,
                     level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson interval for a count (Garwood 1936), by the chi-square formula.

    Parameters
    ----------
    observed : array-like
        Observed counts, 0 or more.
    level : float
        Coverage, such as 0.95.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper limits of the Poisson mean: χ²((1 − level)/2; 2O)/2
        (0 when O = 0) and χ²((1 + level)/2; 2O + 2)/2.
    """
    counts = np.asarray(observed, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(counts > 0, chi2.ppf(alpha / 2, 2 * np.maximum(counts, 1e-300)) / 2,
                         0.0)
    upper = chi2.ppf(1 - alpha / 2, 2 * counts + 2) / 2
    return lower, upper


def standardised_ratios(observed: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """Observed over expected per unit and service, with exact Poisson 95% intervals.

    Parameters
    ----------
    observed, expected : pandas.DataFrame
        Units × services, with the same units and services.

    Returns
    -------
    pandas.DataFrame
        Indexed by (unit, service): ``observed``, ``expected`` (activity),
        ``ratio``, ``ratio_lower_95`` and ``ratio_upper_95``.

    Raises
    ------
    InputError
        Different units or services, or an expected count that is not above 0.
    """
    _same_units(observed.index, expected.index, "observed", "expected")
    missing = [s for s in observed.columns if s not in expected.columns]
    if missing or len(expected.columns) != len(observed.columns):
        raise InputError(f"observed has services {', '.join(map(str, observed.columns))} and "
                         f"expected {', '.join(map(str, expected.columns))} (expected the same)",
                         key="expected")
    expected = expected.reindex(index=observed.index, columns=observed.columns)
    name = observed.index.name or "unit"
    o = cast(pd.Series, observed.stack())
    e = cast(pd.Series, expected.stack())
    o.index.names = e.index.names = [name, "service"]
    check_expected(e)
    lower, upper = poisson_interval(o.to_numpy(dtype=float))
    values = e.to_numpy(dtype=float)
    return pd.DataFrame({"observed": o.to_numpy(dtype=float), "expected": values,
                         "ratio": o.to_numpy(dtype=float) / values,
                         "ratio_lower_95": lower / values, "ratio_upper_95": upper / values},
                        index=o.index)


def check_expected(expected: pd.Series) -> None:
    """Refuse an expected count that is not a number above 0, naming its label."""
    values = expected.to_numpy(dtype=float)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        label = expected.index[int(np.flatnonzero(bad)[0])]
        raise InputError(f"expected activity {values[bad][0]!r} at {label!r} (expected a number "
                         "above 0: a unit with no expected activity cannot have a ratio)",
                         key="expected")
