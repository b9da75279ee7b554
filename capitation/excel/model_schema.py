"""How a model file (TOML) maps to a model workbook, one to one, and back.

A TOML table (``[model]``, ``[population]``, ``[pace_of_change]``,
``[service_budget]``, ``[opportunity]``) is a key/value sheet: the TOML key in column A, its
value in column B (column C says what it is). An array of tables
(``[[component]]``, ``[[service_budget.line]]``, ``[[service_budget.new_service]]``)
is a sheet with a header row of TOML keys and one row per entry. Inside
either, a key's value is spread over several rows (or columns) when it is:

- a per-year list: one per year, ``price_uplift_2017_18``, ``share_2026_27``;
- another list: numbered from 1, ``levels_1``, ``levels_2``; a list inside a
  list adds a second number, ``levels_1_1``, ``levels_1_2`` (a level made of
  several columns, such as ``["ICB", "LAD"]``);
- a table: one per name, ``file:2025/26``, ``weighted_population:Final WP``;
  a list inside a table is numbered, ``peers:indicators_1``, ``peers:indicators_2``.

Input files named in the model (the population table, baselines, cost
weights, ...) are sheets of the workbook: the key's value is the sheet's name.

A workbook written by ``capitation export`` records which sections it has:
the ``model`` sheet's key :data:`SECTIONS_KEY` lists them (``model,
population, component, pace_of_change``), so that a section whose sheet is
deleted is an error rather than a model without it. It is not a key of the
model file: the reader takes it out. Templates and older workbooks have no
such row; then only the sheets a model needs are checked.

What each key holds (text, a number, a fraction, one of a few choices) is a
:class:`Schema`; the model's is :data:`MODEL_SCHEMA`. Another workbook laid
out the same way (the risk share agreement workbook) passes its own schema to
the writer (:func:`capitation.excel.model_export.write_model_workbook`) and
the reader (:class:`capitation.excel.input_sheets.SheetReader`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from capitation.errors import clip
from capitation.inputs.csv_tables import number_in_text, stored_as_text
from capitation.inputs.toml_keys import percentage_mistake
from capitation.inputs.years import year_suffix
from capitation.model_file import CONVENTIONS, METHODS
from capitation.opportunity.model_section import METHODS as OPPORTUNITY_METHODS
from capitation.opportunity.model_section import OVERDISPERSION
from capitation.opportunity.peers import BENCHMARKS

__all__ = ["KEY_VALUE_SHEETS", "ARRAY_SHEETS", "SECTIONS_KEY", "SECTIONS_ABOUT", "PER_YEAR",
           "LISTS", "TEXT", "FRACTIONS", "FILES", "CHOICES", "ABOUT", "Schema", "MODEL_SCHEMA",
           "flatten", "Cell", "unflatten", "convert", "Problem"]

KEY_VALUE_SHEETS = ("model", "population", "pace_of_change", "service_budget", "opportunity")
#: The key (in the first key/value sheet) listing the sections an exported workbook has.
SECTIONS_KEY = "sections"
#: What column C says about it.
SECTIONS_ABOUT = ("the sheets this workbook was exported with; a missing one is an error "
                  "(delete its name here to drop that section on purpose)")
#: Array sheet → (TOML table holding the array or None for the top level, key of the array).
ARRAY_SHEETS = {"component": (None, "component"), "line": ("service_budget", "line"),
                "new_service": ("service_budget", "new_service")}
#: Which table's years a section's per-year lists follow.
YEARS_OF = {"model": "model", "population": "model", "component": "model",
            "pace_of_change": "model", "service_budget": "service_budget",
            "line": "service_budget", "new_service": "service_budget", "opportunity": "model"}
PER_YEAR = {
    "model": {"envelope_gbp"},
    "component": {"share", "pot_gbp"},
    "pace_of_change": {"min_growth", "max_growth"},
    "service_budget": {"price_uplift", "stranded_support"},
    "line": {"activity_change"},
    "new_service": {"patients", "cost_per_patient_gbp"},
}
LISTS = {"levels", "years", "multipliers", "indicators", "age_bands"}
TEXT = {
    "model": {"name", "year", "need_index_convention", SECTIONS_KEY},
    "population": {"file", "sheet", "id", "population", "levels", "register", "practices",
                   "names"},
    "component": {"name", "multipliers", "cost_weights", "need_index"},
    "pace_of_change": {"level", "baseline", "baseline_column", "method", "years"},
    "service_budget": {"name", "baseline_year", "years", "lines", "new_services"},
    "line": {"provider", "pod"},
    "new_service": {"provider", "name"},
    "opportunity": {"activity", "sheet", "expected", "level", "names", "components", "benchmark",
                    "method", "overdispersion", "person_activity", "age_bands"},
}
NUMBERS = {
    "model": {"envelope_gbp"},
    "component": {"share", "pot_gbp", "weighted_population", "tier_weights"},
    "pace_of_change": {"min_growth", "max_growth"},
    "service_budget": {"growth", "price_uplift", "stranded_support"},
    "line": {"activity", "price_gbp", "fixed", "semi_fixed", "variable", "fixed_release_years",
             "semi_fixed_release_years", "activity_change"},
    "new_service": {"patients", "cost_per_patient_gbp"},
    "opportunity": {"price_gbp", "trim", "realised"},
}
#: Fractions: 0.05 means 5%; a value above 1 (up to 100) is a percentage typed by mistake.
FRACTIONS = {
    "component": {"share"},
    "pace_of_change": {"min_growth", "max_growth"},
    "service_budget": {"growth", "price_uplift", "stranded_support"},
    "line": {"fixed", "semi_fixed", "variable", "activity_change"},
    "opportunity": {"trim", "realised"},
}
#: Keys whose value is a file: in a workbook, the name of a sheet holding the table.
FILES = {
    "population": {"file", "register", "practices"},
    "component": {"cost_weights", "need_index"},
    "pace_of_change": {"baseline"},
    "service_budget": {"lines", "new_services"},
    "opportunity": {"activity", "expected", "person_activity"},
}
CHOICES = {("model", "need_index_convention"): CONVENTIONS, ("pace_of_change", "method"): METHODS,
           ("opportunity", "benchmark"): tuple(BENCHMARKS),
           ("opportunity", "method"): OPPORTUNITY_METHODS,
           ("opportunity", "overdispersion"): OVERDISPERSION}
ABOUT = {
    ("model", "name"): "name of the model, shown on results",
    ("model", "year"): 'first financial year, like "2025/26"',
    ("model", "envelope_gbp"): "money to allocate (£); per year with pace of change",
    ("model", "need_index_convention"): "toolkit or nhs_england (docs/methods/need-index.md)",
    ("model", SECTIONS_KEY): SECTIONS_ABOUT,
    ("population", "file"): "sheet (or file) with one row per practice",
    ("population", "id"): "column of practice codes",
    ("population", "population"): "column of registered population",
    ("population", "levels"): "grouping columns, innermost first; levels_1_1, levels_1_2 "
                              "join two columns into one level",
    ("population", "names"): "column of organisation names for a level (names:ICB, "
                             "names:practice); optional",
    ("pace_of_change", "level"): "level the pace of change is set at",
    ("pace_of_change", "baseline"): "sheet (or file) of last year's allocation per "
                                    "organisation (columns: the level, baseline_gbp)",
    ("pace_of_change", "min_growth"): "least growth on baseline (fraction: 0.02 is 2%)",
    ("pace_of_change", "max_growth"): "most growth on baseline (fraction); blank: no cap",
    ("pace_of_change", "method"): "lp (fairest optimum) or rule",
    ("service_budget", "growth"): "demographic growth a year (fraction)",
    ("service_budget", "price_uplift"): "price uplift a year (fraction)",
    ("service_budget", "stranded_support"): "share of stranded cost funded (0 to 1)",
    ("opportunity", "activity"): "sheet (or file) of activity: one row per practice and service",
    ("opportunity", "expected"): "weighted_population, age_sex, or a sheet (or file) of "
                                 "reference rates (service, sex, age_band, rate)",
    ("opportunity", "level"): "level the units are compared at (practice or a level)",
    ("opportunity", "peers"): "peers:indicators_1, _2, ... need indicators; peers:similar "
                              "peers per unit; peers:best lowest-ratio peers averaged",
    ("opportunity", "names"): "column of the practice table naming each unit",
    ("opportunity", "components"): "components:<service> = the service's component",
    ("opportunity", "benchmark"): "best_peers, peer_median or lowest_quartile",
    ("opportunity", "price_gbp"): "price_gbp:<service> = pounds per activity (default: each "
                                  "unit's own cost per activity)",
    ("opportunity", "realised"): "share of the opportunity planned out (fraction)",
    ("opportunity", "years"): "years to plan it out over: a number, or years_1, years_2, ...",
}

_YEAR_KEY = re.compile(r"^(.+)_(\d{4})_(\d{2})$")
_LIST_KEY = re.compile(r"^(.+?)_(\d+)(?:_(\d+))?$")


@dataclass(frozen=True, eq=False)
class Schema:
    """What each key of a workbook's sections holds, for its writer and its reader.

    Attributes
    ----------
    text, numbers, fractions : dict of str to set of str
        Section → keys read as text, as numbers, as fractions (0.05 means 5%;
        a value above 1, up to 100, is a percentage typed by mistake).
    choices : dict of (str, str) to tuple of str
        (section, key) → the values its drop-down list offers.
    about : dict of (str, str) to str
        (section, key) → what column C of a key/value sheet says about it.
    fraction_bounds : dict of str to (float, float)
        Section → range of its fraction cells' data validation (default -1
        to 1: growth may fall).
    """

    text: Mapping[str, set[str]]
    numbers: Mapping[str, set[str]]
    fractions: Mapping[str, set[str]]
    choices: Mapping[tuple[str, str], tuple[str, ...]]
    about: Mapping[tuple[str, str], str]
    fraction_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def kind_of(self, section: str, key: str) -> str:
        """Return how a key's cells are read: ``text``, ``fraction``, ``number`` or ``any``."""
        if key in self.text.get(section, ()):
            return "text"
        if key in self.fractions.get(section, ()):
            return "fraction"
        if key in self.numbers.get(section, ()):
            return "number"
        return "any"


#: The model workbook's schema.
MODEL_SCHEMA = Schema(text=TEXT, numbers=NUMBERS, fractions=FRACTIONS, choices=CHOICES,
                      about=ABOUT)


def flatten(section: str, table: dict, years: list[str] | None) -> list[tuple[str, object]]:
    """Spread a TOML table's keys over workbook keys (see the module docstring).

    Parameters
    ----------
    section : str
        Sheet the table goes to (``model``, ``component``, ``line``, ...).
    table : dict
        The TOML table (one entry of an array of tables).
    years : list of str or None
        The years per-year lists follow.

    Returns
    -------
    list of (str, object)
        Workbook key → scalar value, in the table's order.
    """
    out: list[tuple[str, object]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            for name, item in value.items():
                if isinstance(item, list):  # peers:indicators_1, peers:indicators_2, ...
                    out.extend((f"{key}:{name}_{i}", v) for i, v in enumerate(item, start=1))
                else:
                    out.append((f"{key}:{name}", item))
        elif isinstance(value, list):
            if key in PER_YEAR.get(section, ()) and years and len(value) == len(years):
                out.extend((f"{key}_{year_suffix(y)}", v) for y, v in zip(years, value,
                                                                         strict=True))
                continue
            for i, item in enumerate(value, start=1):
                if isinstance(item, list):
                    out.extend((f"{key}_{i}_{j}", v) for j, v in enumerate(item, start=1))
                else:
                    out.append((f"{key}_{i}", item))
        else:
            out.append((key, value))
    return out


@dataclass(frozen=True)
class Cell:
    """A value read from a workbook and where it was (``B4``)."""

    value: object
    ref: str


def base_key(section: str, key: str) -> str:
    """Return the TOML key a workbook key belongs to (``share_2025_26`` → ``share``)."""
    if ":" in key:
        return key.split(":", 1)[0]
    match = _YEAR_KEY.match(key)
    if match and match.group(1) in PER_YEAR.get(section, ()):
        return match.group(1)
    match = _LIST_KEY.match(key)
    if match and match.group(1) in LISTS:
        return match.group(1)
    return key


def unflatten(section: str, cells: dict[str, Cell], prefix: str,
              where: dict[str, str]) -> dict:
    """Rebuild a TOML table from workbook keys, recording where each value came from.

    Parameters
    ----------
    section : str
        Sheet the table came from.
    cells : dict of str to Cell
        Workbook key → converted value and cell, in sheet order; blank cells
        are left out.
    prefix : str
        Dotted TOML key of the table (``component[2]``), for ``where``.
    where : dict
        Filled with dotted TOML key → cell reference (``component[2].share[1]`` → ``C3``).

    Returns
    -------
    dict
        The TOML table.
    """
    table: dict = {}
    per_year: dict[str, list[tuple[str, Cell]]] = {}
    lists: dict[str, list[tuple[int, int, Cell]]] = {}
    inner_lists: dict[tuple[str, str], list[tuple[int, Cell]]] = {}
    for key, cell in cells.items():
        if ":" in key:
            base, name = key.split(":", 1)
            match = _LIST_KEY.match(name)
            if match and match.group(1) in LISTS and match.group(3) is None:
                inner_lists.setdefault((base, match.group(1)), []).append(
                    (int(match.group(2)), cell))
                table.setdefault(base, {})
                where.setdefault(f"{prefix}.{base}", cell.ref)
                continue
            table.setdefault(base, {})[name] = cell.value
            where.setdefault(f"{prefix}.{base}", cell.ref)
            where[f"{prefix}.{base}.{name}"] = cell.ref
            continue
        match = _YEAR_KEY.match(key)
        if match and match.group(1) in PER_YEAR.get(section, ()):
            per_year.setdefault(match.group(1), []).append(
                (f"{match.group(2)}_{match.group(3)}", cell))
            continue
        match = _LIST_KEY.match(key)
        if match and match.group(1) in LISTS:
            inner = int(match.group(3)) if match.group(3) else 0
            lists.setdefault(match.group(1), []).append((int(match.group(2)), inner, cell))
            continue
        table[key] = cell.value
        where[f"{prefix}.{key}"] = cell.ref
    for (base, name), numbered_cells in inner_lists.items():
        numbered_cells.sort(key=lambda item: item[0])
        table[base][name] = [cell.value for _, cell in numbered_cells]
        where.setdefault(f"{prefix}.{base}.{name}", numbered_cells[0][1].ref)
        for i, (_, cell) in enumerate(numbered_cells, start=1):
            where[f"{prefix}.{base}.{name}[{i}]"] = cell.ref
    for key, items in per_year.items():
        items.sort(key=lambda item: item[0])
        table[key] = [cell.value for _, cell in items]
        where.setdefault(f"{prefix}.{key}", items[0][1].ref)
        for i, (_, cell) in enumerate(items, start=1):
            where[f"{prefix}.{key}[{i}]"] = cell.ref
    for key, numbered in lists.items():
        groups: dict[int, list[tuple[int, Cell]]] = {}
        for outer, inner, cell in numbered:
            groups.setdefault(outer, []).append((inner, cell))
        value: list = []
        for outer in sorted(groups):
            group = sorted(groups[outer], key=lambda item: item[0])
            where.setdefault(f"{prefix}.{key}", group[0][1].ref)
            where[f"{prefix}.{key}[{len(value) + 1}]"] = group[0][1].ref
            if len(group) == 1 and group[0][0] == 0:
                value.append(group[0][1].value)
            else:
                value.append([cell.value for _, cell in group])
        table[key] = value
    return table


class Problem(ValueError):
    """A cell's value is in the wrong form (the reader adds the sheet and cell)."""


def convert(value: object, kind: str, notes: list[str]) -> object:
    """Convert one cell to the TOML value its key expects.

    Parameters
    ----------
    value : object
        The cell as calamine reads it (not blank).
    kind : {"text", "number", "fraction", "any"}
        What the key expects (:func:`kind_of`).
    notes : list of str
        Appended with a note when an unambiguous form is accepted (a number
        stored as text, "£1,200", "5%").

    Returns
    -------
    object
        ``str``, ``int`` or ``float``.

    Raises
    ------
    Problem
        With what was expected and what was found.
    """
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        shown = value.isoformat() if hasattr(value, "isoformat") else str(value)
        expected = "text" if kind == "text" else "a number"
        raise Problem(f"expected {expected}, found a date ({shown}); format the cell as "
                      f"{'text' if kind == 'text' else 'a number'} and type it again")
    if isinstance(value, bool):
        raise Problem(f"expected {'text' if kind == 'text' else 'a number'}, found "
                      f"{'TRUE' if value else 'FALSE'}")
    if kind == "text":
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()
    if kind == "any":
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value.strip() if isinstance(value, str) else value
    number = _number(value, notes)
    mistake = percentage_mistake(number) if kind == "fraction" else None
    if mistake is not None:  # the rule of every fraction key, TOML or workbook
        raise Problem(f"{mistake} (or type {number:g}%)")
    return number


def _number(value: object, notes: list[str]) -> int | float:
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip()
        parsed = number_in_text(text)  # the rule of every input table (capitation.inputs)
        if parsed is None:
            raise Problem(f'expected a number, found "{clip(text)}"')
        number = parsed
        notes.append(stored_as_text(text, number))
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number
