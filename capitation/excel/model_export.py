"""Model file (TOML) → model workbook, one to one (``capitation export``).

The layout is described in :mod:`capitation.excel.model_schema`. The workbook
is self-contained: every input table the model names (the practice table,
baselines, cost weights, a need index file, service budget lines given as
CSV) is copied into a sheet of the workbook, and the key that named the file
names the sheet instead (``file`` = ``population_data``). A table larger than
an input sheet may be (:mod:`capitation.excel.sheet_scan`: over 99,999 rows,
such as a national single-year-of-age register) stays a file, named by a path
relative to the workbook; the file must be in the workbook's folder or below,
the only files a model workbook may name.

An exported workbook records its sections (the ``model`` sheet's key
``sections``), so that a section whose sheet is later deleted is an error.

The workbook holds no version and no run time, so exporting the same model
twice gives the same cells. Input cells are yellow; headers grey; choices
(``need_index_convention``, ``method``) are drop-down lists; fractions are
shown as percentages and checked to lie between -100% and 100%.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from capitation.errors import InputError
from capitation.excel import sheet_scan
from capitation.excel.model_schema import (
    ARRAY_SHEETS,
    MODEL_SCHEMA,
    SECTIONS_KEY,
    YEARS_OF,
    Schema,
    base_key,
    flatten,
)
from capitation.files import write_atomically
from capitation.inputs import read_toml
from capitation.inputs.years import year_suffix
from capitation.model_file import read_model_file
from capitation.population import read_table

__all__ = ["export_model", "write_model_workbook", "INSTRUCTIONS", "MAX_SHEET_ROWS"]

log = logging.getLogger(__name__)

#: The most data rows an embedded table may have: an input sheet's limit, less the header.
MAX_SHEET_ROWS = sheet_scan.MAX_SHEET_ROWS - 1
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook properties carry no run time

INSTRUCTIONS = [
    "Model workbook: every sheet but this one is an input; `capitation run` reads it.",
    "",
    "Key/value sheets (model, population, pace_of_change, service_budget, opportunity): the "
    "key in column A, its value in column B (yellow). Column C says what the key is.",
    "Table sheets (component, line, new_service): one row per entry under a header row of keys.",
    "A per-year value has one row (or column) per year: price_uplift_2017_18, share_2026_27.",
    "A list is numbered: levels_1, levels_2; levels_1_1 and levels_1_2 join two columns into "
    "one level.",
    "A table of names is key:name, such as weighted_population:Final WP (a blend weight) or "
    "file:2025/26.",
    "Fractions are shown as percentages: type 5% (or 0.05) for five per cent, never 5.",
    "Input tables are sheets (population_data, baselines, opportunity_activity, ...): the key "
    "that names a file "
    "names the sheet instead. A value that is not a sheet name is a file path relative to "
    "this workbook.",
    "Sheets you add are ignored (and listed in a note when the model is read). Results "
    "sheets are written to a separate workbook, or added to this one with --with-inputs.",
]

_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_MONEY_KEYS = ("_gbp",)
_INPUT_MONEY = "#,##0.00;-#,##0.00"  # an input cell: what the team types, without a £


def export_model(model_path: str | Path, out: str | Path) -> Path:
    """Write a model file as a self-contained model workbook, atomically.

    Parameters
    ----------
    model_path : str or Path
        The TOML model file (validated first: a bad model is not exported).
    out : str or Path
        The ``.xlsx`` to write.

    Returns
    -------
    Path
        ``out``.
    """
    model_path = Path(model_path)
    read_model_file(model_path)
    data = read_toml(model_path, what="model file")  # as read_model_file read it (BOM allowed)
    return write_model_workbook(data, model_path.parent, out, source=model_path,
                                sections_in="model")


def write_model_workbook(data: dict, base: str | Path, out: str | Path,
                         source: str | Path | None = None,
                         arrays: dict[str, tuple[str | None, str]] | None = None,
                         tables: dict[str, pd.DataFrame] | None = None,
                         instructions: list[str] | None = None,
                         schema: Schema | None = None,
                         sections_in: str | None = None) -> Path:
    """Write a parsed model (or any TOML of tables and arrays of tables) as a workbook.

    Parameters
    ----------
    data : dict
        The parsed TOML (not changed).
    base : str or Path
        Folder that relative file paths in ``data`` are read from.
    out : str or Path
        The ``.xlsx`` to write, atomically.
    source : str or Path, optional
        The model file, named in errors.
    arrays : dict, optional
        Sheet name → (parent table or None, key) of each array of tables
        (default: the model's, ``component``, ``line``, ``new_service``).
    tables : dict of str to DataFrame, optional
        More input tables to add as sheets (such as ``plan_lines``).
    instructions : list of str, optional
        Lines of the ``instructions`` sheet (default: the model's).
    schema : Schema, optional
        What each key holds, for formats, drop-down lists and checks
        (default: the model's, :data:`~capitation.excel.model_schema.MODEL_SCHEMA`).
    sections_in : str, optional
        The key/value sheet in which to record the sections the workbook has
        (a ``sections`` row listing its table and array sheets); none when not
        given (templates, which a team may cut down).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    InputError
        When a table too large for a sheet is outside the workbook's folder.
    """
    data = copy.deepcopy(data)
    base = Path(base)
    out = Path(out)
    source = Path(source) if source is not None else base / "model.toml"
    arrays = ARRAY_SHEETS if arrays is None else arrays
    schema = MODEL_SCHEMA if schema is None else schema
    sheet_of = {where: sheet for sheet, where in arrays.items()}
    embedded = _embed_files(data, base, out, source)
    if sections_in is not None and isinstance(data.get(sections_in), dict):
        data[sections_in][SECTIONS_KEY] = ", ".join(_sections(data, sheet_of))
    embedded.update(tables or {})
    model_years = _years(data)
    budget = data.get("service_budget", {})
    budget_years = list(budget.get("years", [])) if isinstance(budget, dict) else []

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "strings_to_numbers": False})
        book.set_properties({"created": FIXED_TIME, "title": "capitation model workbook"})
        formats = _formats(book)
        _instructions(book.add_worksheet("instructions"), formats,
                      INSTRUCTIONS if instructions is None else instructions)

        def years_of(name: str) -> list[str]:
            return budget_years if YEARS_OF.get(name) == "service_budget" else model_years

        for name, value in data.items():
            if isinstance(value, list):
                sheet = sheet_of.get((None, name), name)
                if value:
                    _array_sheet(book.add_worksheet(sheet), sheet, value, years_of(sheet),
                                 formats, schema)
                continue
            if not isinstance(value, dict):
                continue
            nested = [k for k in value if (name, k) in sheet_of]
            table = {k: v for k, v in value.items() if k not in nested}
            _key_value_sheet(book.add_worksheet(name), name, table, years_of(name), formats,
                             schema)
            for key in nested:
                sheet = sheet_of[(name, key)]
                if value[key]:
                    _array_sheet(book.add_worksheet(sheet), sheet, value[key], years_of(sheet),
                                 formats, schema)
        for sheet_name, frame in embedded.items():
            _data_sheet(book.add_worksheet(sheet_name), frame, formats)
        book.close()

    return write_atomically(out, write)


def _sections(data: dict, sheet_of: dict[tuple[str | None, str], str]) -> list[str]:
    """Return the table and array sheets the writer adds for ``data``, in order."""
    sections = []
    for name, value in data.items():
        if isinstance(value, list) and value:
            sections.append(sheet_of.get((None, name), name))
        elif isinstance(value, dict):
            sections.append(name)
            sections.extend(sheet_of[(name, key)] for key in value
                            if (name, key) in sheet_of and value[key])
    return sections


def _years(data: dict) -> list[str]:
    pace = data.get("pace_of_change", {})
    if isinstance(pace, dict) and isinstance(pace.get("years"), list):
        return [str(y) for y in pace["years"]]
    year = data.get("model", {}).get("year")
    return [str(year)] if year is not None else []


def _embed_files(data: dict, base: Path, out: Path, source: Path) -> dict[str, pd.DataFrame]:
    """Replace file paths in ``data`` by sheet names; return sheet → table."""
    tables: dict[str, pd.DataFrame] = {}

    def embed(path_text: str, sheet_name: str, sheet: str | None = None) -> str:
        path = (base / str(path_text)).resolve()
        if path.suffix.lower() in {".parquet", ".pq"}:  # an activity table may be Parquet
            frame = pd.read_parquet(path)
        else:
            frame = read_table(path, sheet)
        columns = max(len(frame.columns), 1)
        if (len(frame) > MAX_SHEET_ROWS or columns > sheet_scan.MAX_SHEET_COLUMNS
                or (len(frame) + 1) * columns > sheet_scan.MAX_SHEET_CELLS):
            folder = out.resolve().parent
            if folder not in path.parents:
                raise InputError(f"{path.name} ({len(frame):,} rows, {columns} columns) is too "
                                 f"large for a sheet ({sheet_scan.limits_text()}), so the "
                                 "workbook must name the file, and a model workbook may name "
                                 f"only files in its own folder or below: write the workbook "
                                 f"into {os.path.commonpath([folder, path.parent])} or move "
                                 "the file", file=source)
            log.warning("%s has %s rows, too many for a sheet: the workbook names the file",
                        path.name, f"{len(frame):,}")
            return path.relative_to(folder).as_posix()
        if sheet_name not in tables:
            tables[sheet_name] = frame
        return sheet_name

    population = data.get("population")
    if isinstance(population, dict):
        sheet = population.pop("sheet", None)
        file = population.get("file")
        if isinstance(file, dict):
            distinct = {str((base / str(p)).resolve()) for p in file.values()}
            if len(distinct) == 1:
                population["file"] = {y: embed(p, "population_data", sheet)
                                      for y, p in file.items()}
            else:
                population["file"] = {y: embed(p, f"population_data_{year_suffix(y)}", sheet)
                                      for y, p in file.items()}
        elif file is not None:
            population["file"] = embed(file, "population_data", sheet)
        for key in ("register", "practices"):
            if key in population:
                population[key] = embed(population[key], f"{key}_data")
    for i, component in enumerate(data.get("component", []) or [], start=1):
        for key in ("cost_weights", "need_index"):
            if isinstance(component, dict) and key in component:
                component[key] = embed(component[key], f"{key}_{i}")
    pace = data.get("pace_of_change")
    if isinstance(pace, dict) and "baseline" in pace:
        pace["baseline"] = embed(pace["baseline"], "baselines")
    opportunity = data.get("opportunity")
    if isinstance(opportunity, dict) and "activity" in opportunity:
        sheet = opportunity.pop("sheet", None)
        activity = str(opportunity["activity"])
        if sheet is None and activity.lower().endswith((".xlsx", ".xlsm")):
            sheet = "activity"  # read_activity's default sheet
        opportunity["activity"] = embed(activity, "opportunity_activity", sheet)
        expected = opportunity.get("expected")
        if isinstance(expected, str) and expected not in ("weighted_population", "age_sex"):
            opportunity["expected"] = embed(expected, "opportunity_rates")
        if "person_activity" in opportunity:
            opportunity["person_activity"] = embed(opportunity["person_activity"],
                                                   "opportunity_person_activity")
    budget = data.get("service_budget")
    if isinstance(budget, dict):
        for csv_key, inline_key in (("lines", "line"), ("new_services", "new_service")):
            if csv_key in budget:
                frame = read_table((base / str(budget.pop(csv_key))).resolve())
                budget[inline_key] = _records(frame)
    return tables


def _records(frame: pd.DataFrame) -> list[dict]:
    """CSV rows (text) → TOML-like entries with numbers where a column is numeric."""
    columns = {c: _column_values(frame[c]) for c in frame.columns}
    records = []
    for i in range(len(frame)):
        entry = {}
        for c in frame.columns:
            value = columns[c][i]
            if value is not None:
                entry[str(c).strip()] = value
        records.append(entry)
    return records


def _column_values(series: pd.Series) -> list[int | float | str | None]:
    """Return a column's values: numbers when every filled cell is a plain number, else text."""
    values = series.tolist()

    def blank(v: object) -> bool:
        return v is None or (isinstance(v, float) and np.isnan(v)) or (
            isinstance(v, str) and not v.strip())

    filled = [v for v in values if not blank(v)]
    numeric = bool(filled) and all(
        isinstance(v, int | float) and not isinstance(v, bool)
        or (isinstance(v, str) and _NUMBER_TEXT.match(v.strip())
            and not re.match(r"^[+-]?0\d", v.strip()))
        for v in filled)
    out: list[int | float | str | None] = []
    for v in values:
        if blank(v):
            out.append(None)
        elif numeric:
            number = float(v) if isinstance(v, str) else v
            out.append(int(number) if isinstance(number, float) and number.is_integer()
                       and "." not in str(v) and "e" not in str(v).lower() else number)
        elif isinstance(v, dt.date | dt.datetime):
            out.append(v.isoformat())
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _formats(book: xlsxwriter.Workbook) -> dict[str, Format]:
    input_base = {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF"}
    return {
        "header": book.add_format({"bold": True, "bg_color": "#D9D9D9", "bottom": 1}),
        "key": book.add_format({"bold": True}),
        "about": book.add_format({"italic": True, "font_color": "#595959"}),
        "text": book.add_format(input_base),
        "number": book.add_format({**input_base, "num_format": "#,##0.######"}),
        "money": book.add_format({**input_base, "num_format": _INPUT_MONEY}),
        "fraction": book.add_format({**input_base, "num_format": "0.00##%"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "data": book.add_format({}),
    }


def _instructions(sheet: Worksheet, formats: dict, lines: list[str]) -> None:
    sheet.write_string(0, 0, "How to fill in this workbook", formats["title"])
    for r, line in enumerate(lines, start=2):
        sheet.write_string(r, 0, line, formats["wrap"])
    sheet.set_column(0, 0, 110)


def _input_format(section: str, key: str, value: object, formats: dict,
                  schema: Schema) -> Format:
    base = base_key(section, key)
    kind = schema.kind_of(section, base)
    if kind == "fraction":
        return formats["fraction"]
    if base.endswith(_MONEY_KEYS):
        return formats["money"]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return formats["number"]
    return formats["text"]


def _write_value(sheet: Worksheet, row: int, col: int, value: object, fmt: Format) -> None:
    """Write an input value: text always as text, never as a formula."""
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float | np.integer | np.floating):
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def _validate(sheet: Worksheet, row: int, col: int, section: str, key: str, schema: Schema,
              last_row: int | None = None) -> None:
    last_row = row if last_row is None else last_row
    base = base_key(section, key)
    choices = schema.choices.get((section, base))
    if choices is not None:
        sheet.data_validation(row, col, last_row, col, {
            "validate": "list", "source": list(choices),
            "error_message": f"{base}: one of {', '.join(choices)}"})
    elif schema.kind_of(section, base) == "fraction":
        low, high = schema.fraction_bounds.get(section, (-1.0, 1.0))
        sheet.data_validation(row, col, last_row, col, {
            "validate": "decimal", "criteria": "between", "minimum": low, "maximum": high,
            "error_title": "A fraction",
            "error_message": f"Type a fraction from {low:g} to {high:g} such as 0.05, or 5% "
                             "(not 5)."})


def _key_value_sheet(sheet: Worksheet, section: str, table: dict, years: list[str], formats: dict,
                     schema: Schema) -> None:
    for c, title in enumerate(("key", "value", "about")):
        sheet.write_string(0, c, title, formats["header"])
    for r, (key, value) in enumerate(flatten(section, table, years), start=1):
        sheet.write_string(r, 0, key, formats["key"])
        _write_value(sheet, r, 1, value, _input_format(section, key, value, formats, schema))
        _validate(sheet, r, 1, section, key, schema)
        about = schema.about.get((section, base_key(section, key)))
        if about:
            sheet.write_string(r, 2, about, formats["about"])
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 2, 70)
    sheet.freeze_panes(1, 0)


def _array_sheet(sheet: Worksheet, section: str, entries: list, years: list[str], formats: dict,
                 schema: Schema) -> None:
    rows = [dict(flatten(section, entry, years)) if isinstance(entry, dict) else {}
            for entry in entries]
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    for c, key in enumerate(header):
        sheet.write_string(0, c, key, formats["header"])
    for r, row in enumerate(rows, start=1):
        for c, key in enumerate(header):
            value = row.get(key)
            _write_value(sheet, r, c, value, _input_format(section, key, value, formats,
                                                            schema))
    for c, key in enumerate(header):
        if rows:
            _validate(sheet, 1, c, section, key, schema, last_row=len(rows))
    sheet.set_column(0, max(len(header) - 1, 0), 18)
    sheet.freeze_panes(1, 0)


def _data_sheet(sheet: Worksheet, frame: pd.DataFrame, formats: dict) -> None:
    for c, column in enumerate(frame.columns):
        sheet.write_string(0, c, str(column), formats["header"])
    for c, column in enumerate(frame.columns):
        values = _column_values(frame[column])
        for r, value in enumerate(values, start=1):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, float(value))
    sheet.freeze_panes(1, 1)
    sheet.set_column(0, max(len(frame.columns) - 1, 0), 14)
