"""``[[scenario]]`` tables: named sets of overrides, run beside the base model.

A scenario table sits in the model file itself or in a TOML file of its own,
and holds a ``name`` and the keys it changes, written as in the model file
(addressed as :mod:`capitation.overrides` says)::

    [[scenario]]
    name = "floor 1%"
    pace_of_change.min_growth = 0.01

    [[scenario]]
    name = "more core"
    component.core.share = 0.92
    component.primary_medical_care.share = 0.08

    [[scenario]]
    name = "capped at 8%"
    "pace_of_change.max_growth" = 0.08      # a quoted dotted key works too

Each key of the scenario table is split at its dots as ``--set`` splits it;
the keys of a table under it (TOML's dotted keys) are taken as they are, so a
name with a dot or space is written quoted: ``component."Core services".share``.
A table value sets each of its keys (it is not replaced whole).

:func:`run_scenarios` runs the base and every scenario; the base is named
``base`` and no scenario may take that name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitation.errors import InputError
from capitation.inputs import TomlKeys, read_toml
from capitation.overrides import Override, format_value, split_key

if TYPE_CHECKING:
    from capitation.model import Model
    from capitation.results import Results

__all__ = ["BASE", "Scenario", "read_scenarios", "run_scenarios", "scenarios_of"]

BASE = "base"
"""The name of the unchanged model in a comparison."""


@dataclass(frozen=True)
class Scenario:
    """A named set of overrides.

    Attributes
    ----------
    name : str
        Shown in column names (``allocation_gbp__<name>``) and sheet names.
    overrides : tuple of Override
        The keys it changes, in the file's order.
    """

    name: str
    overrides: tuple[Override, ...]


def _key_part(part: str) -> str:
    return f'"{part}"' if "." in part or '"' in part else part


def _leaves(table: Mapping[str, Any], prefix: list[str]) -> list[tuple[list[str], Any]]:
    out: list[tuple[list[str], Any]] = []
    for key, value in table.items():
        parts = [*prefix, *(split_key(key) if not prefix else [key])]
        if isinstance(value, Mapping) and value:
            out.extend(_leaves(value, parts))
        else:
            out.append((parts, value))
    return out


def read_scenarios(data: Mapping[str, Any], file: str | Path) -> list[Scenario]:
    """Read the ``[[scenario]]`` tables of a parsed TOML document.

    Parameters
    ----------
    data : mapping
        The document (a model file or a scenarios file).
    file : str or Path
        Its file, named in errors.

    Returns
    -------
    list of Scenario
        In the file's order; empty when the document has none.

    Raises
    ------
    InputError
        Naming the file and key: a table that is not ``[[scenario]]``, a
        missing or repeated ``name``, the name ``base``, a scenario that
        changes nothing.
    """
    keys = TomlKeys(file)
    entries = data.get("scenario", [])
    if not isinstance(entries, list):
        raise keys.error("scenario", "expected [[scenario]] tables, each with a name and the "
                                     "keys it changes")
    out: list[Scenario] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries, start=1):
        where = f"scenario[{i}]"
        if not isinstance(entry, Mapping):
            raise keys.error(where, f"expected a table, found {type(entry).__name__}")
        if "name" not in entry:
            raise keys.missing(f"{where}.name", "text, the scenario's name")
        name = keys.text_value(entry["name"], f"{where}.name").strip()
        if name == BASE:
            raise keys.error(f"{where}.name", f'"{BASE}" names the model as it is; call the '
                                              "scenario something else")
        if name in seen:
            raise keys.error(f"{where}.name", f'"{name}" is already scenario[{seen[name]}]')
        seen[name] = i
        changes = {k: v for k, v in entry.items() if k != "name"}
        if not changes:
            raise keys.error(where, f'scenario "{name}" changes nothing (expected keys of the '
                                    "model file, such as pace_of_change.min_growth = 0.01)")
        overrides = []
        for parts, value in _leaves(changes, []):
            key = ".".join(_key_part(p) for p in parts)
            written = (f"{Path(file).name}, scenario \"{name}\": {key} = {format_value(value)}")
            overrides.append(Override(key=key, value=value, written=written))
        out.append(Scenario(name=name, overrides=tuple(overrides)))
    return out


def scenarios_of(model: Model, file: str | Path | None = None) -> list[Scenario]:
    """Return the scenarios of a model: those of ``file`` if given, else the model file's own.

    Parameters
    ----------
    model : Model
        The base model.
    file : str or Path, optional
        A TOML file of ``[[scenario]]`` tables (and nothing else).

    Returns
    -------
    list of Scenario

    Raises
    ------
    InputError
        No scenarios found, or a bad scenario table (see :func:`read_scenarios`).
    """
    if file is None:
        found = read_scenarios(model.spec.raw, model.spec.path)
        where = model.spec.path
    else:
        data = read_toml(file, what="scenarios file")
        TomlKeys(file).check_keys(data, "", {"scenario"})
        found = read_scenarios(data, file)
        where = Path(file)
    if not found:
        raise InputError("no [[scenario]] tables (expected one or more, each with a name and "
                         "the keys it changes)", file=where, key="scenario")
    return found


def run_scenarios(model: Model, scenarios: list[Scenario],
                  progress: bool = False) -> dict[str, Results]:
    """Run the base model and every scenario.

    Every scenario is validated before anything runs, so a bad override is
    refused at once.

    Parameters
    ----------
    model : Model
        The base model.
    scenarios : list of Scenario
    progress : bool
        Show progress bars (multi-year runs).

    Returns
    -------
    dict of str to Results
        ``base`` first, then each scenario by name.

    Raises
    ------
    InputError
        The first bad override, as written, with the model file's words.
    """
    models = {BASE: model}
    for scenario in scenarios:
        models[scenario.name] = model.with_values(scenario.overrides)
    return {name: m.run(progress=progress) for name, m in models.items()}
