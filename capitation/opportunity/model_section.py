"""The ``[opportunity]`` section of a model file: needs versus use, read through the key reader.

::

    [opportunity]
    activity = "activity.csv"            # CSV, Parquet or workbook (then sheet = "...")
    expected = "weighted_population"     # or "age_sex", or a reference rates file
    level = "practice"                   # or any level of the model
    peers = { indicators = ["need_index", "share_over_65", "Health Ineq WP"],
              similar = 10, best = 5 }     # one line in a model file

Optional keys: ``sheet`` (the activity workbook's sheet), ``names`` (a text
column of the practice table naming each unit, shown on the outputs),
``components`` (with ``weighted_population``: each service's component of
the needs formula, ``{ emergency_admissions = "core" }``; default the total
weighted population), ``benchmark`` (``best_peers``, ``peer_median`` or
``lowest_quartile``), ``price_gbp`` (pounds per activity by service; default
each unit's own cost per activity), the funnel's ``method`` (``log`` or
``sqrt``), ``overdispersion`` (``additive``, ``multiplicative`` or ``none``)
and ``trim``, ``realised`` and ``years`` (the share of the opportunity
planned out, and over how many years or which years, for
:meth:`~capitation.opportunity.NeedsAndUse.activity_changes`), and, with
person-level rows, ``person_activity`` (a CSV of ``person_id``, ``service``,
``activity``) and ``age_bands`` (the needs profiles' bands, default
``["0-17", "18-64", "65-74", "75-84", "85+"]``) for the cohorts
(:mod:`capitation.opportunity.cohorts`).

A reference rates file has columns ``service``, ``sex``, ``age_band`` and
``rate`` (activity per person a year). Every mistake is an
:class:`~capitation.errors.InputError` naming the model file and key, in the
words of :class:`capitation.inputs.TomlKeys`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitation.opportunity.peers import BENCHMARKS

if TYPE_CHECKING:
    from capitation.inputs import TomlKeys

__all__ = ["EXPECTED", "OPPORTUNITY_KEYS", "OpportunitySpec", "parse_opportunity"]

#: The ways of computing expected activity named by a word (anything else is a rates file).
EXPECTED = ("weighted_population", "age_sex")
#: Every key of ``[opportunity]``.
OPPORTUNITY_KEYS = {"activity", "sheet", "expected", "level", "peers", "names", "components",
                    "benchmark", "price_gbp", "method", "overdispersion", "trim", "realised",
                    "years", "person_activity", "age_bands"}
PEER_KEYS = {"indicators", "similar", "best"}
METHODS = ("log", "sqrt")
OVERDISPERSION = ("additive", "multiplicative", "none")


@dataclass(frozen=True, eq=False)
class OpportunitySpec:
    """A validated ``[opportunity]`` section.

    Attributes
    ----------
    activity : Path
        The activity table (CSV, Parquet or workbook).
    sheet : str or None
        Its sheet, for a workbook.
    expected : str
        ``"weighted_population"``, ``"age_sex"`` or ``"rates"`` (then :attr:`rates`).
    rates : Path or None
        The reference rates file.
    level : str
        The level the units are at (``practice`` or a level of the model).
    indicators : tuple of str
        The need indicators the peers are found by.
    similar, best : int
        Peers per unit, and how many of the lowest-ratio ones the benchmark averages.
    names : str or None
        The practice table's column of unit names.
    components : dict of str to str or None
        Service → component of the needs formula (``weighted_population`` only).
    benchmark : str
        One of :data:`capitation.opportunity.BENCHMARKS`.
    price_gbp : dict of str to float or None
        Pounds per activity by service.
    method, overdispersion : str
        The funnel plot's scale and overdispersion.
    trim : float
        The funnel's trimming fraction at each end.
    realised : float
        Share of the opportunity planned out by the last year (default 0.5).
    years : int or list of str
        How many years, or the years themselves (default 3).
    person_activity : Path or None
        Person-level activity, for the cohorts by needs profile.
    age_bands : tuple of str
        The needs profiles' age bands.
    """

    activity: Path
    sheet: str | None
    expected: str
    rates: Path | None
    level: str
    indicators: tuple[str, ...]
    similar: int
    best: int
    names: str | None
    components: dict[str, str] | None
    benchmark: str
    price_gbp: dict[str, float] | None
    method: str
    overdispersion: str
    trim: float
    realised: float
    years: int | list[str]
    person_activity: Path | None = None
    age_bands: tuple[str, ...] = ("0-17", "18-64", "65-74", "75-84", "85+")


def parse_opportunity(r: TomlKeys, data: dict[str, Any], *, levels: list[str],
                      components: list[str], ages: bool,
                      persons_engine: str | None = None) -> OpportunitySpec:
    """Read and validate ``[opportunity]``.

    Parameters
    ----------
    r : TomlKeys
        The model file's key reader.
    data : dict
        The parsed model file.
    levels : list of str
        ``practice`` and the model's levels.
    components : list of str
        The model's component names.
    ages : bool
        Whether the population has people by sex and age (the register or
        person-level rows), which ``expected = "age_sex"`` needs.
    persons_engine : str, optional
        The person-level engine (``pandas`` or ``dask``), None without
        person-level rows; ``person_activity`` needs ``pandas`` (``auto`` then
        chooses it).

    Returns
    -------
    OpportunitySpec

    Raises
    ------
    InputError
        Naming the model file and key.
    """
    key = "opportunity"
    table = r.table(data, key)
    r.check_keys(table, key, OPPORTUNITY_KEYS,
                 {"activity": "the activity table, a CSV, Parquet or workbook file",
                  "peers": "a table such as { indicators = [\"need_index\"], similar = 10, "
                           "best = 5 }"})
    activity = r.path_of(table["activity"], f"{key}.activity")
    sheet = r.text(table, f"{key}.sheet", required=False)
    expected, rates = _expected(r, table.get("expected", "weighted_population"), ages)
    level = r.text(table, f"{key}.level", required=False, default="practice")
    if level not in levels:
        raise r.error(f"{key}.level", f'"{level}" is not a level (expected one of '
                                      f'{", ".join(levels)})')
    indicators, similar, best = _peers(r, table["peers"])
    names = r.text(table, f"{key}.names", required=False)
    chosen = _components(r, table.get("components"), components)
    if chosen is not None and expected != "weighted_population":
        raise r.error(f"{key}.components", "applies to expected = \"weighted_population\" only")
    benchmark = r.choice(table.get("benchmark", "best_peers"), f"{key}.benchmark",
                         tuple(BENCHMARKS))
    price = _prices(r, table.get("price_gbp"))
    method = r.choice(table.get("method", "log"), f"{key}.method", METHODS)
    overdispersion = r.choice(table.get("overdispersion", "additive"),
                              f"{key}.overdispersion", OVERDISPERSION)
    trim = r.number(table.get("trim", 0.10), f"{key}.trim", low=0.0, high=0.49, fraction=True)
    realised = r.number(table.get("realised", 0.5), f"{key}.realised", low=0.0, high=1.0,
                        fraction=True)
    years = _years(r, table.get("years", 3))
    person_activity = None
    if "person_activity" in table:
        if persons_engine is None:
            raise r.error(f"{key}.person_activity", "person-level activity needs person-level "
                                                    "rows ([population] persons)")
        if persons_engine == "dask":
            raise r.error(f"{key}.person_activity", 'cohorts by needs profile need engine = '
                                                    '"pandas" (the persons are kept in memory)')
        person_activity = r.path_of(table["person_activity"], f"{key}.person_activity")
    bands = table.get("age_bands", ["0-17", "18-64", "65-74", "75-84", "85+"])
    if not isinstance(bands, list) or not bands:
        raise r.error(f"{key}.age_bands", 'expected a list of age bands, such as ["0-17", '
                                          '"18-64", "65+"]')
    age_bands = tuple(r.text_value(b, f"{key}.age_bands[{i}]") for i, b in enumerate(bands, 1))
    return OpportunitySpec(activity=activity, sheet=sheet, expected=expected, rates=rates,
                           level=level, indicators=indicators, similar=similar, best=best,
                           names=names, components=chosen, benchmark=benchmark,
                           price_gbp=price, method=method, overdispersion=overdispersion,
                           trim=trim, realised=realised, years=years,
                           person_activity=person_activity, age_bands=age_bands)


def _expected(r: TomlKeys, value: object, ages: bool) -> tuple[str, Path | None]:
    key = "opportunity.expected"
    text = r.text_value(value, key)
    if text == "age_sex" and not ages:
        raise r.error(key, 'age_sex needs the population by sex and age: [population] '
                           'register or persons (the practice table has no ages); use '
                           '"weighted_population"')
    if text in EXPECTED:
        return text, None
    path = (r.base / text).resolve()
    if not path.exists():
        raise r.error(key, f'"{text}" is not one of {", ".join(EXPECTED)}, nor a reference '
                           f"rates file (none found in {r.base})")
    if not ages:
        raise r.error(key, "reference rates need the population by sex and age: "
                           "[population] register or persons")
    return "rates", path


def _whole(r: TomlKeys, value: object, key: str) -> int:
    number = r.number(value, key, low=1.0)
    if not number.is_integer():
        raise r.error(key, f"{number:g} is not a whole number")
    return int(number)


def _peers(r: TomlKeys, value: object) -> tuple[tuple[str, ...], int, int]:
    key = "opportunity.peers"
    table = r.check_keys(value, key, PEER_KEYS,
                         {"indicators": 'a list of need indicators, such as ["need_index", '
                                        '"share_over_65"]'})
    raw = table["indicators"]
    if not isinstance(raw, list) or not raw:
        raise r.error(f"{key}.indicators", f"expected a list of indicator names, found {raw!r}")
    indicators = tuple(r.text_value(v, f"{key}.indicators[{i}]") for i, v in enumerate(raw, 1))
    repeated = [v for i, v in enumerate(indicators) if v in indicators[:i]]
    if repeated:
        raise r.error(f"{key}.indicators", f'"{repeated[0]}" is listed twice')
    similar = _whole(r, table.get("similar", 10), f"{key}.similar")
    best = _whole(r, table.get("best", 5), f"{key}.best")
    if best > similar:
        raise r.error(f"{key}.best", f"{best} is above similar ({similar}): the best are "
                                     "chosen from the similar peers")
    return indicators, similar, best


def _components(r: TomlKeys, value: object, components: list[str]) -> dict[str, str] | None:
    if value is None:
        return None
    key = "opportunity.components"
    if not isinstance(value, dict) or not value:
        raise r.error(key, 'expected a table of service = component, such as '
                           '{ emergency_admissions = "core" }')
    out = {}
    for service, name in value.items():
        text = r.text_value(name, f"{key}.{service}")
        if text not in components:
            raise r.error(f"{key}.{service}", f'"{text}" is not a component (expected one '
                                              f'of {", ".join(components)})')
        out[str(service)] = text
    return out


def _prices(r: TomlKeys, value: object) -> dict[str, float] | None:
    if value is None:
        return None
    key = "opportunity.price_gbp"
    if not isinstance(value, dict) or not value:
        raise r.error(key, "expected a table of service = pounds per activity, such as "
                           "{ emergency_admissions = 2200.0 }")
    return {str(s): r.number(p, f"{key}.{s}", low=0.0) for s, p in value.items()}


def _years(r: TomlKeys, value: object) -> int | list[str]:
    key = "opportunity.years"
    if isinstance(value, list):
        from capitation.inputs import financial_year, financial_years

        if not value:
            raise r.error(key, "expected a number of years or a list of financial years")
        first = financial_year(value[0], file=r.file, key=f"{key}[1]")
        return financial_years(value, first=first, first_is="the first year", file=r.file,
                               key=key)
    return _whole(r, value, key)
