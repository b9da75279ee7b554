"""The model file (TOML) → validated specification; errors name the file and key.

The format is the public contract of issues 3 and 4 (see README.md, "The
model file"). Paths inside the file are relative to the file. Nothing here
reads the data files themselves: :mod:`capitation.model` does that.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitation.inputs import TomlKeys, financial_year, financial_years, read_toml
from capitation.needs.formula import MAX_WEIGHT
from capitation.pace_of_change.data import MAX_GROWTH
from capitation.rounding import MAX_MONEY_PENCE, beyond_money, round_pence, snap_pence

if TYPE_CHECKING:
    from capitation.opportunity.model_section import OpportunitySpec
    from capitation.overrides import Applied
    from capitation.persons.spec import PersonsSpec
    from capitation.persons.tiers import RiskTier
    from capitation.population import LevelSpec

__all__ = ["ModelSpec", "PopulationSpec", "ComponentSpec", "PaceSpec", "read_model_file",
           "parse_model"]

CONVENTIONS = ("toolkit", "nhs_england")
#: Bounds of min_growth and max_growth (a fraction: 0.02 is 2%), as the model workbook's
#: data validation gives them: from -1 (everything lost) to 1 (doubled). A value from 1 to
#: 100 is refused as a percentage typed as a whole number.
GROWTH: dict[str, Any] = {"low": -1.0, "high": MAX_GROWTH, "fraction": True}
METHODS = ("lp", "rule")
KNOWN_TABLES = {"model", "population", "component", "pace_of_change", "service_budget",
                "risk_tier", "opportunity", "scenario"}
"""Top-level tables of a model file; ``[[scenario]]`` tables are read by
:mod:`capitation.scenarios` (a run ignores them)."""


@dataclass(frozen=True, eq=False)
class PopulationSpec:
    """The ``[population]`` table.

    Attributes
    ----------
    files : dict of str to Path
        Year → practice table (CSV or workbook); empty on the register path.
    sheet : str or None
        Sheet name when the files are workbooks.
    id : str
        Practice code column.
    population : str
        Raw population column.
    levels : list
        Level specs, innermost first (a column name or a list of columns).
    register : Path or None
        NHS Digital GP register CSV (docs/methods/weighted-capitation.md#from-the-register).
    practices : Path or None
        Practice → level codes table for the register path.
    names : dict of str to str
        ``[population] names``: level (``practice`` or a level name) → column
        of the practice table holding organisation names; empty without names.
    """

    files: dict[str, Path]
    sheet: str | None
    id: str
    population: str
    levels: list[LevelSpec]
    register: Path | None = None
    practices: Path | None = None
    # person-level rows (docs/methods/weighted-capitation.md#from-people)
    persons: PersonsSpec | None = None
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ComponentSpec:
    """One ``[[component]]`` entry, with per-year shares or pots."""

    name: str
    shares: list[float] | None
    pots_pence: list[int] | None
    blend: dict[str, float]
    multipliers: list[str]
    cost_weights: Path | None
    need_index: Path | None
    # tier name → weight (person-level path, docs/methods/weighted-capitation.md#from-people)
    tier_weights: dict[str, float] | None = None


@dataclass(frozen=True, eq=False)
class PaceSpec:
    """The ``[pace_of_change]`` table (docs/methods/pace-of-change.md)."""

    level: str
    baseline: Path | None
    baseline_column: str | None
    min_growth: list[float]
    max_growth: list[float | None]
    method: str


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A validated model file.

    Attributes
    ----------
    path : Path
        The model file.
    name, year : str
        ``[model] name`` and the first financial year.
    years : list of str
        Every year the run covers (``[pace_of_change] years`` or just ``year``).
    envelope_pence : list of int or None
        Envelope per year in pence (None: the sum of pots).
    convention : str
        ``toolkit`` or ``nhs_england`` (docs/methods/need-index.md).
    population : PopulationSpec or None
    components : list of ComponentSpec
    pace : PaceSpec or None
    service_budget : dict or None
        The raw ``[service_budget]`` table, read by ``capitation.service_budget.budget_file``.
    raw : dict
        The whole parsed TOML, for the assumptions sheet.
    risk_tiers : list of RiskTier or None
        ``[[risk_tier]]`` in rank order.
    sheets : tuple of str
        For a model workbook, the sheets read as inputs (which ``--with-inputs``
        never replaces); empty for a model file.
        The whole parsed TOML, for the assumptions sheet (with any overrides applied).
    overrides : tuple of capitation.overrides.Applied
        The overrides applied to the file (:meth:`capitation.Model.with_values`).
    base : ModelSpec or None
        The specification the overrides were applied to (it keeps a model
        workbook's embedded tables alive).
    """

    path: Path
    name: str
    year: str
    years: list[str]
    envelope_pence: list[int | None]
    convention: str
    population: PopulationSpec | None
    components: list[ComponentSpec]
    pace: PaceSpec | None
    service_budget: dict[str, Any] | None
    raw: dict[str, Any] = field(default_factory=dict)
    risk_tiers: list[RiskTier] | None = None  # [[risk_tier]] in rank order
    sheets: tuple[str, ...] = ()
    opportunity: OpportunitySpec | None = None  # [opportunity]: needs versus use
    overrides: tuple[Applied, ...] = ()
    base: ModelSpec | None = field(default=None, repr=False)


def read_model_file(path: str | Path) -> ModelSpec:
    """Read and validate a model file.

    Parameters
    ----------
    path : str or Path
        The TOML model file.

    Returns
    -------
    ModelSpec

    Raises
    ------
    InputError
        Naming the file and key of the first problem found.
    """
    path = Path(path)
    return parse_model(read_toml(path, what="model file"), path)


def parse_model(data: dict[str, Any], path: Path) -> ModelSpec:
    """Validate a parsed model (TOML or workbook) read from ``path``."""
    r = TomlKeys(path)
    r.check_keys(data, "", KNOWN_TABLES)
    model = r.table(data, "model")
    r.check_keys(model, "model", {"name", "year", "envelope_gbp", "need_index_convention"})
    name = r.text(model, "model.name")
    year = financial_year(r.text(model, "model.year"), file=path, key="model.year")
    convention = r.choice(model.get("need_index_convention", "toolkit"),
                          "model.need_index_convention", CONVENTIONS)

    pace_table = r.table(data, "pace_of_change", required=False)
    years = [year]
    if pace_table is not None and "years" in pace_table:
        years = financial_years(pace_table["years"], first=year, first_is="the model year",
                                file=path, key="pace_of_change.years")

    components = _components(r, data, years)
    envelope = r.per_year(model, "model.envelope_gbp", years, required=False, low=0.0,
                          money=True)
    envelope_pence: list[int | None] = [None] * len(years)
    if envelope is not None:
        envelope_pence = [int(round_pence(e, "model.envelope_gbp")) for e in envelope]
        for i, e in enumerate(envelope):
            if abs(snap_pence(e) - envelope_pence[i]) > 1e-3:  # float64 noise at £bn scale
                raise r.error("model.envelope_gbp", f"{e!r} is not whole pence")
    if components:
        # _components gives each component exactly one of shares and pots_pence
        shares = [c.shares for c in components if c.shares is not None]
        pots = [c.pots_pence for c in components if c.pots_pence is not None]
        if len(shares) == len(components):
            if envelope is None:
                raise r.error("model.envelope_gbp",
                              "missing: components give shares of the envelope")
            for i, y in enumerate(years):
                total = sum(s[i] for s in shares)
                if abs(total - 1.0) > 1e-9:
                    shown = ", ".join(f"{c.name} {s[i]:g}"
                                      for c, s in zip(components, shares, strict=True))
                    raise r.error("component.share",
                                  f"shares add up to {total:.10g} in {y} ({shown}); "
                                  "expected 1")
        elif not shares:
            for i, y in enumerate(years):
                total_pence = sum(p[i] for p in pots)
                if total_pence > MAX_MONEY_PENCE:
                    raise r.error("component.pot_gbp", f"the components' pot_gbp add up to "
                                  f"{beyond_money(total_pence / 100)} in {y}")
                given = envelope_pence[i]
                if given is None:
                    envelope_pence[i] = total_pence
                elif given != total_pence:
                    raise r.error("model.envelope_gbp",
                                  f"£{given / 100:,.2f} in {y} but the components' "
                                  f"pot_gbp add up to £{total_pence / 100:,.2f}")
        else:
            raise r.error("component", "every component gives share, or every one gives "
                                       "pot_gbp; they cannot be mixed")

    from capitation.persons.spec import check_tier_weights, parse_risk_tiers

    risk_tiers = parse_risk_tiers(r, data)
    for i, c in enumerate(components):
        if c.tier_weights is not None:
            components[i] = replace(c, tier_weights=check_tier_weights(
                r, f"component[{i + 1}].tier_weights", c.tier_weights, risk_tiers))
    population = _population(r, data, years, risk_tiers) if "population" in data else None
    if risk_tiers is not None and (population is None or population.persons is None):
        raise r.error("risk_tier", "risk tiers need person-level rows ([population] persons)")
    if components and population is None:
        raise r.error("population", "missing table: components need a population")
    if population is None and components == [] and "service_budget" not in data:
        raise r.error("component", "the model has no components and no service budget")
    if population is not None and not components:
        raise r.error("component", "missing: a population needs at least one [[component]]")
    uses_register = population is not None and (population.register is not None
                                                 or population.persons is not None)
    for i, c in enumerate(components):
        if uses_register and c.blend:
            raise r.error(f"component[{i + 1}].weighted_population",
                          "the register path counts need with cost_weights, not a blend")
        if not uses_register and not c.blend:
            raise r.error(f"component[{i + 1}].weighted_population",
                          "missing: expected a blend such as { \"Final WP\" = 1.0 }")

    pace = _pace(r, pace_table, years) if pace_table is not None else None
    if pace is not None and population is not None:
        level_names = ["practice"] + [
            lv if isinstance(lv, str) else "/".join(lv) for lv in population.levels]
        if pace.level not in level_names:
            raise r.error("pace_of_change.level",
                          f'"{pace.level}" is not a level (expected one of '
                          f'{", ".join(level_names)})')
    service_budget = data.get("service_budget")
    if service_budget is not None and not isinstance(service_budget, dict):
        raise r.error("service_budget", "expected a table")
    opportunity = None
    if "opportunity" in data:
        from capitation.opportunity.model_section import parse_opportunity

        if population is None:
            raise r.error("opportunity", "needs versus use needs a population ([population] "
                                         "and [[component]]) to set need beside use")
        opportunity = parse_opportunity(
            r, data, levels=["practice", *(lv if isinstance(lv, str) else "/".join(lv)
                                           for lv in population.levels)],
            components=[c.name for c in components],
            ages=population.register is not None or population.persons is not None,
            persons_engine=None if population.persons is None else population.persons.engine)
    return ModelSpec(path=path, name=name, year=year, years=years,
                     envelope_pence=envelope_pence, convention=convention,
                     population=population, components=components, pace=pace,
                     service_budget=service_budget, raw=data, risk_tiers=risk_tiers,
                     opportunity=opportunity)


def _components(r: TomlKeys, data: dict[str, Any], years: list[str]) -> list[ComponentSpec]:
    entries = data.get("component", [])
    if not isinstance(entries, list):
        raise r.error("component", "expected [[component]] entries")
    out: list[ComponentSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        key = f"component[{i + 1}]"
        if not isinstance(entry, dict):
            raise r.error(key, "expected a table")
        r.check_keys(entry, key, {"name", "share", "pot_gbp", "weighted_population",
                                  "multipliers", "cost_weights", "need_index", "tier_weights"})
        name = r.text(entry, f"{key}.name")
        if name in seen:
            raise r.error(f"{key}.name", f'component "{name}" is named twice')
        seen.add(name)
        shares = r.per_year(entry, f"{key}.share", years, required=False, low=0.0, high=1.0,
                            fraction=True)
        pots = r.per_year(entry, f"{key}.pot_gbp", years, required=False, low=0.0, money=True)
        if (shares is None) == (pots is None):
            raise r.error(key, "give exactly one of share and pot_gbp")
        pots_pence = None
        if pots is not None:
            pots_pence = [int(round_pence(p, f"{key}.pot_gbp")) for p in pots]
            for p, q in zip(pots, pots_pence, strict=True):
                if abs(snap_pence(p) - q) > 1e-3:
                    raise r.error(f"{key}.pot_gbp", f"{p!r} is not whole pence")
        blend_raw = entry.get("weighted_population", {})
        if not isinstance(blend_raw, dict):
            raise r.error(f"{key}.weighted_population",
                          "expected a table of column = weight")
        blend = {str(col): r.number(w, f"{key}.weighted_population.{col}", low=0.0,
                                    high=MAX_WEIGHT)
                 for col, w in blend_raw.items()}
        multipliers = entry.get("multipliers", [])
        if not isinstance(multipliers, list) or not all(isinstance(m, str) for m in multipliers):
            raise r.error(f"{key}.multipliers", "expected a list of column names")
        cost_weights = (r.path_of(entry["cost_weights"], f"{key}.cost_weights")
                        if "cost_weights" in entry else None)
        need_index = (r.path_of(entry["need_index"], f"{key}.need_index")
                      if "need_index" in entry else None)
        out.append(ComponentSpec(name=name, shares=shares, pots_pence=pots_pence, blend=blend,
                                 multipliers=list(multipliers), cost_weights=cost_weights,
                                 need_index=need_index,
                                 tier_weights=entry.get("tier_weights")))
    return out


def _population(r: TomlKeys, data: dict[str, Any], years: list[str],
                risk_tiers: list[RiskTier] | None = None) -> PopulationSpec:
    table = r.table(data, "population")
    from capitation.persons.spec import PERSON_KEYS, parse_persons

    r.check_keys(table, "population", {"file", "sheet", "id", "population", "levels",
                                       "register", "practices", "names", *PERSON_KEYS})
    levels = table.get("levels", [])
    if not isinstance(levels, list):
        raise r.error("population.levels", "expected a list of column names")
    for i, level in enumerate(levels):
        ok = isinstance(level, str) or (
            isinstance(level, list) and level and all(isinstance(x, str) for x in level))
        if not ok:
            raise r.error(f"population.levels[{i + 1}]",
                          "expected a column name or a list of column names")
    names = _names(r, table, levels)
    if names and ("persons" in table or "register" in table):
        raise r.error("population.names", "names are read from the practice table "
                                          "(population.file); the register and person-level "
                                          "paths take none")
    if "persons" in table:
        persons = parse_persons(r, table, years, risk_tiers)
        if "practices" not in table:
            raise r.error("population.practices",
                          "missing: the person-level path needs a practices file")
        return PopulationSpec(files={}, sheet=None, id=persons.practice,
                              population=table.get("population", "population"), levels=levels,
                              practices=r.path_of(table["practices"], "population.practices"),
                              persons=persons)
    extra = sorted(set(table) & (PERSON_KEYS - {"persons"}))
    if extra:
        raise r.error(f"population.{extra[0]}", "applies to person-level rows only "
                                                "([population] persons)")
    register = table.get("register")
    files: dict[str, Path] = {}
    if register is not None:
        if "file" in table:
            raise r.error("population", "give file or register, not both")
        if len(years) > 1:
            raise r.error("population.register", "the register path runs one year at a time")
        register_path = r.path_of(register, "population.register")
        practices = (r.path_of(table["practices"], "population.practices")
                     if "practices" in table else None)
        if levels and practices is None:
            raise r.error("population.practices",
                          "missing: levels on the register path come from a practices file")
        return PopulationSpec(files={}, sheet=None, id=table.get("id", "practice"),
                              population="population", levels=levels,
                              register=register_path, practices=practices)
    file = table.get("file")
    if file is None:
        raise r.error("population.file", "missing (expected a CSV or workbook path)")
    if isinstance(file, dict):
        for y in years:
            if y not in file:
                raise r.error("population.file", f'no file for year "{y}"')
        extra = sorted(set(file) - set(years))
        if extra:
            raise r.error(f"population.file.{extra[0]}", "is not a year of the run")
        files = {y: r.path_of(file[y], f"population.file.{y}") for y in years}
    else:
        one = r.path_of(file, "population.file")
        files = {y: one for y in years}
    return PopulationSpec(files=files, sheet=r.text(table, "population.sheet", required=False),
                          id=r.text(table, "population.id"),
                          population=r.text(table, "population.population"), levels=levels,
                          names=names)


def _names(r: TomlKeys, table: dict[str, Any], levels: list[Any]) -> dict[str, str]:
    """Read ``[population] names`` (level → column of organisation names) for known levels."""
    given = r.table(table, "population.names", required=False)
    if given is None:
        return {}
    known = ["practice"] + [lv if isinstance(lv, str) else "/".join(lv) for lv in levels]
    names: dict[str, str] = {}
    for level, column in given.items():
        key = f"population.names.{level}"
        if level not in known:
            raise r.error(key, f'"{level}" is not a level (expected one of '
                               f'{", ".join(known)})')
        names[level] = r.text_value(column, key)
    return names


def _pace(r: TomlKeys, table: dict[str, Any], years: list[str]) -> PaceSpec:
    key = "pace_of_change"
    r.check_keys(table, key, {"level", "baseline", "baseline_column", "min_growth",
                              "max_growth", "method", "years"})
    level = r.text(table, f"{key}.level")
    baseline = table.get("baseline")
    column = table.get("baseline_column")
    if (baseline is None) == (column is None):
        raise r.error(key, "give exactly one of baseline (a CSV) and baseline_column")
    baseline_path = r.path_of(baseline, f"{key}.baseline") if baseline is not None else None
    if column is not None and not isinstance(column, str):
        raise r.error(f"{key}.baseline_column", "expected a column name")
    min_growth = r.per_year(table, f"{key}.min_growth", years, **GROWTH)
    max_given = r.per_year(table, f"{key}.max_growth", years, required=False, **GROWTH)
    max_growth: list[float | None] = ([None] * len(years) if max_given is None
                                      else list(max_given))
    for i, (low, high) in enumerate(zip(min_growth, max_growth, strict=True)):
        if high is not None and high < low:
            raise r.error(f"{key}.max_growth",
                          f"{high:g} is below min_growth {low:g} in {years[i]}")
    method = r.choice(table.get("method", "lp"), f"{key}.method", METHODS)
    return PaceSpec(level=level, baseline=baseline_path, baseline_column=column,
                    min_growth=min_growth, max_growth=max_growth, method=method)
