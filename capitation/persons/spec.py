"""The person-level keys of the model file: ``[population] persons = ...`` and ``[[risk_tier]]``.

Called by :mod:`capitation.model_file` with its key reader
(:class:`capitation.inputs.TomlKeys`), so every error names the model file and
the TOML key in the words every reader uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitation.needs.formula import MAX_WEIGHT
from capitation.persons.tiers import RiskTier, check_tiers

if TYPE_CHECKING:
    from capitation.inputs import TomlKeys

__all__ = ["PersonsSpec", "PERSON_KEYS", "ENGINES", "parse_persons", "parse_risk_tiers",
           "check_tier_weights", "default_tiers"]

ENGINES = ("auto", "pandas", "dask")
PERSON_KEYS = {"persons", "person_id", "sex", "age", "risk_score", "risk_tier", "engine",
               "dask_scheduler", "dask_workers"}


@dataclass(frozen=True, eq=False)
class PersonsSpec:
    """Where the person rows are and how to run them.

    Attributes
    ----------
    path : Path
        A Parquet file, a folder of Parquet parts, or a CSV.
    person_id, practice, sex, age : str
        Column names (practice is ``[population] id``).
    risk_score, risk_tier : str or None
        Exactly one is given: a score column (ranked into tiers) or a column
        of tier names.
    engine : str
        ``auto`` (chosen by size, :func:`capitation.persons.engine.choose_engine`),
        ``pandas`` or ``dask``.
    dask_scheduler : str or None
        Address of an existing cluster; None starts a LocalCluster.
    dask_workers : int
        Workers of a LocalCluster the run starts.
    tiers : list of RiskTier
        The ``[[risk_tier]]`` entries in rank order.
    """

    path: Path
    person_id: str
    practice: str
    sex: str
    age: str
    risk_score: str | None
    risk_tier: str | None
    engine: str = "auto"
    dask_scheduler: str | None = None
    dask_workers: int = 2
    tiers: list[RiskTier] = field(default_factory=list)


def default_tiers() -> list[RiskTier]:
    """One tier holding everyone, weight 1 (a person model without ``[[risk_tier]]``)."""
    return [RiskTier(name="all", start=0.0, stop=1.0, weight=1.0)]


def parse_risk_tiers(r: TomlKeys, data: dict[str, Any]) -> list[RiskTier] | None:
    """Read ``[[risk_tier]]`` entries; errors name the key (gaps, overlaps, bad values)."""
    entries = data.get("risk_tier")
    if entries is None:
        return None
    if not isinstance(entries, list) or not entries:
        raise r.error("risk_tier", "expected [[risk_tier]] entries")
    tiers = []
    for i, entry in enumerate(entries):
        key = f"risk_tier[{i + 1}]"
        if not isinstance(entry, dict):
            raise r.error(key, "expected a table")
        r.check_keys(entry, key, {"name", "from", "to", "weight"},
                     {"from": "a number", "to": "a number", "weight": "a number"})
        name = r.text(entry, f"{key}.name")
        tiers.append(RiskTier(name=name,
                              start=r.number(entry["from"], f"{key}.from", low=0.0, high=1.0,
                                             fraction=True),
                              stop=r.number(entry["to"], f"{key}.to", low=0.0, high=1.0,
                                            fraction=True),
                              weight=r.number(entry["weight"], f"{key}.weight", low=0.0,
                                              high=MAX_WEIGHT)))
    problem = check_tiers(tiers)
    if problem is not None:
        raise r.error("risk_tier", problem)
    return tiers


def parse_persons(r: TomlKeys, table: dict[str, Any], years: list[str],
                  tiers: list[RiskTier] | None) -> PersonsSpec:
    """Read the person keys of ``[population]`` (the practices file is read by the caller)."""
    if "file" in table or "register" in table:
        raise r.error("population", "give one of file, register and persons")
    if len(years) > 1:
        raise r.error("population.persons", "the person-level path runs one year at a time")
    value = table["persons"]
    if not isinstance(value, str) or not value.strip():
        raise r.error("population.persons", f"expected a path, found {value!r}")
    # Not checked here: synth-persons writes it. Reading it says when it is missing.
    path = (r.base / value).resolve()
    score = r.text(table, "population.risk_score", required=False)
    tier = r.text(table, "population.risk_tier", required=False)
    if score is not None and tier is not None:
        raise r.error("population", "give risk_score or risk_tier, not both")
    if tier is not None and tiers is None:
        raise r.error("risk_tier", "missing: risk_tier names a column of [[risk_tier]] names")
    if tiers is not None and score is None and tier is None:
        raise r.error("population.risk_score",
                      "missing: [[risk_tier]] needs a risk_score (or risk_tier) column")
    engine = r.text(table, "population.engine", required=False, default="auto")
    if engine not in ENGINES:
        raise r.error("population.engine", f'"{engine}" is not one of {", ".join(ENGINES)}')
    scheduler = r.text(table, "population.dask_scheduler", required=False)
    workers = table.get("dask_workers", 2)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise r.error("population.dask_workers", f"expected a whole number >= 1, found {workers!r}")
    return PersonsSpec(
        path=path,
        person_id=r.text(table, "population.person_id", required=False, default="person_id"),
        practice=r.text(table, "population.id", required=False, default="practice"),
        sex=r.text(table, "population.sex", required=False, default="sex"),
        age=r.text(table, "population.age", required=False, default="age"),
        risk_score=score, risk_tier=tier, engine=engine, dask_scheduler=scheduler,
        dask_workers=workers, tiers=tiers if tiers is not None else default_tiers())


def check_tier_weights(r: TomlKeys, key: str, value: object, tiers: list[RiskTier] | None
                       ) -> dict[str, float]:
    """Validate a component's ``tier_weights`` table against the tier names."""
    if not isinstance(value, dict):
        raise r.error(key, 'expected a table of tier name = weight, like { "very high" = 10.0 }')
    if tiers is None:
        raise r.error(key, "tier_weights need [[risk_tier]] entries")
    names = [t.name for t in tiers]
    for name, weight in value.items():
        if name not in names:
            raise r.error(f"{key}.{name}", f'"{name}" is not a tier (tiers are: '
                                           f'{", ".join(names)})')
        r.number(weight, f"{key}.{name}", low=0.0, high=MAX_WEIGHT)
    return {str(k): float(v) for k, v in value.items()}
