"""Model workbook → validated model (``Model.from_excel``, ``capitation run MODEL.xlsx``).

The reader rebuilds, from the workbook's sheets, exactly the dict that
``tomllib`` would give for the equivalent model file
(:mod:`capitation.excel.model_schema` describes the mapping), and hands it
to :func:`capitation.model_file.parse_model`, so a workbook and its TOML are
validated by the same code and run to the same penny.

Input tables embedded as sheets: a file key whose value is the name of a
sheet of the workbook reads that sheet. The practice table (``population``
``file``, one sheet for every year) is read straight from the workbook, so
its errors name the sheet and cell (``population_data!U7``). Every other
embedded table (baselines, cost weights, a need index, a register, a
practices table, a population per year) is copied to a CSV file in a private
temporary folder (named ``<workbook>.<sheet>.csv``, with the sheet's row
numbers) that lives as long as the returned specification.

A value of a file key that is not a sheet name is a file path relative to
the workbook, and must name a file in the workbook's folder or below (no
absolute path, nothing outside it once ``..`` and symbolic links are
resolved): a workbook comes from elsewhere, and may not make the toolkit read
files it was not given. A workbook written by ``capitation export`` lists its
sections (``model`` sheet, key ``sections``); a listed section whose sheet is
gone is an error naming the sheet, not a model without that section.

Every value is checked in its cell: a value in the wrong form is an error
naming the sheet and cell (``component!C3: expected a number, found "twelve"``),
as are error values (``#DIV/0!``), merged cells over inputs, and percentages
typed as whole numbers where a fraction belongs. Unambiguous forms are read
with a warning: numbers stored as text, "£1,200", "5%", hidden rows. Sheets
that are not part of the model (a team's own) are ignored and listed in a
warning; results sheets and ``instructions`` are skipped silently.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import logging
import shutil
import tempfile
import warnings
import weakref
from pathlib import Path, PureWindowsPath
from typing import cast

from capitation.errors import InputError
from capitation.excel.input_sheets import (
    SheetReader,
    check_sections,
    read_array,
    read_key_value,
)
from capitation.excel.model_schema import ARRAY_SHEETS, FILES, KEY_VALUE_SHEETS
from capitation.excel.names import OWN_SHEETS, sheet_name
from capitation.excel.read import read_sheet_rows
from capitation.inputs.files import check_file
from capitation.model_file import KNOWN_TABLES, ModelSpec, parse_model

__all__ = ["read_model_workbook", "RESULTS_SHEETS", "embedded_sheet"]

log = logging.getLogger(__name__)

#: Sheets the toolkit writes that are never inputs.
RESULTS_SHEETS = {"instructions", *OWN_SHEETS}


class _ModelReader(SheetReader):
    """A :class:`SheetReader` with a private folder for embedded tables copied as CSV."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.temp: Path | None = None


def _level_sheets(data: dict, years: list[str]) -> set[str]:
    levels = ["practice"]
    population = data.get("population")
    if isinstance(population, dict) and isinstance(population.get("levels"), list):
        levels += ["/".join(map(str, lv)) if isinstance(lv, list) else str(lv)
                   for lv in population["levels"]]
    names = {sheet_name(level) for level in levels}
    names |= {sheet_name(level, year) for level in levels for year in years}
    return names


_TEMP_PREFIX = "capitation-workbook-"


def embedded_sheet(workbook: str | Path, file: str | Path) -> str | None:
    """Return the sheet whose temporary CSV copy ``file`` is, or None if it is not one.

    Errors about an embedded table name its copy (``<workbook>.<sheet>.csv`` in
    a ``capitation-workbook-`` folder); :meth:`capitation.Model.run` names the
    workbook and sheet instead.
    """
    file, stem = Path(file), f"{Path(workbook).stem}."
    if (not file.parent.name.startswith(_TEMP_PREFIX) or not file.name.startswith(stem)
            or file.suffix != ".csv"):
        return None
    return file.name[len(stem):-len(".csv")]


def _to_csv(reader: _ModelReader, sheet: str) -> Path:
    """Copy an embedded table to a CSV in the reader's temporary folder."""
    if reader.temp is None:
        reader.temp = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX))
    target = reader.temp / f"{reader.path.stem}.{sheet}.csv"
    if target.exists():
        return target
    rows = reader.rows(sheet)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow([_csv_text(v) for v in row])
    return target


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _confined(reader: _ModelReader, key: str, value: object) -> None:
    """Refuse a file a workbook names outside its own folder (or by an absolute path)."""
    if not isinstance(value, str) or not value.strip():
        return  # not a path: parse_model says what it expected
    folder = reader.path.resolve().parent
    sheet, cell = reader.where.get(key, (None, None))
    if Path(value).is_absolute() or PureWindowsPath(value).anchor:
        problem = "is an absolute path"
    else:
        target = (folder / value).resolve()
        if target == folder or folder in target.parents:
            return
        problem = "names a file outside the workbook's folder"
    raise reader.error(f'"{value}" {problem}; a model workbook may name only its own sheets, '
                       "or files in its folder or below (such as data/practices.csv)",
                       sheet, cell)


def _resolve_files(reader: _ModelReader, data: dict) -> set[str]:
    """Turn file keys that name sheets into readable paths; return the sheets used.

    A value that names no sheet is a file path, which must stay inside the
    workbook's folder (:func:`_confined`).
    """
    used: set[str] = set()
    names = set(reader.names)

    def resolve(value: object, key: str) -> object:
        if isinstance(value, str) and value in names:
            used.add(value)
            return str(_to_csv(reader, value))
        _confined(reader, key, value)
        return value

    population = data.get("population")
    if isinstance(population, dict):
        file = population.get("file")
        sheets = set(file.values()) if isinstance(file, dict) else {file}
        if len(sheets) == 1 and next(iter(sheets)) in names:
            sheet = cast(str, next(iter(sheets)))  # one of the sheet names
            whole = str(reader.path.resolve())
            population["file"] = ({y: whole for y in file} if isinstance(file, dict)
                                  else whole)
            population["sheet"] = sheet
            used.add(sheet)
            reader.rows(sheet)  # merged cells refused, hidden rows noted
        elif isinstance(file, dict):
            population["file"] = {y: resolve(v, f"population.file.{y}")
                                  for y, v in file.items()}
        elif file is not None:
            _confined(reader, "population.file", file)
        for key in (FILES["population"] | {"persons"}) - {"file"}:
            if key in population:
                population[key] = resolve(population[key], f"population.{key}")
    for i, component in enumerate(data.get("component", []), start=1):
        for key in FILES["component"]:
            if isinstance(component, dict) and key in component:
                component[key] = resolve(component[key], f"component[{i}].{key}")
    for section in ("pace_of_change", "service_budget", "opportunity"):
        table = data.get(section)
        if isinstance(table, dict):
            for key in FILES[section]:
                if key in table:
                    table[key] = resolve(table[key], f"{section}.{key}")
    return used


def _relocate(reader: _ModelReader, exc: InputError) -> InputError:
    """Name the sheet and cell of a model-file error that names a TOML key."""
    if exc.key is None or (exc.file is not None and Path(exc.file) != reader.path):
        return exc
    key = exc.key
    while key:
        if key in reader.where:
            sheet, cell = reader.where[key]
            return InputError(exc.reason, file=reader.path, sheet=sheet, cell=cell)
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    top = exc.key.split(".")[0].split("[")[0]
    sheet = {"line": "line", "new_service": "new_service"}.get(top, top)
    if sheet in reader.names:
        return InputError(exc.reason, file=reader.path, sheet=sheet)
    return InputError(f"{exc.reason} (TOML key {exc.key}; no sheet {sheet} in the workbook)",
                      file=reader.path)


def read_model_workbook(path: str | Path) -> ModelSpec:
    """Read and validate a model workbook (as written by ``capitation export``).

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` model workbook.

    Returns
    -------
    ModelSpec
        The same specification as the equivalent TOML model file; its
        ``path`` is the workbook.

    Raises
    ------
    InputError
        Naming the workbook, sheet and cell of the first problem.

    Warns
    -----
    UserWarning
        For each value read in an unambiguous but unusual form, hidden rows,
        and the sheets that are not part of the model.
    """
    path = Path(path)
    check_file(path, what="model workbook")
    reader = _ModelReader(path)
    if "model" not in reader.names:
        similar = [n for n in reader.names if n.strip().lower() == "model"]
        hint = f' (found "{similar[0]}": rename it "model")' if similar else ""
        raise reader.error(f'no sheet "model"{hint}; a model workbook needs the sheets '
                           f'model, population and component, or model and service_budget '
                           f'(sheets are: {", ".join(reader.names)})')
    data: dict = {}
    used = set(RESULTS_SHEETS)
    inputs: set[str] = set()
    tables = [s for s in KEY_VALUE_SHEETS] + sorted(
        t for t in KNOWN_TABLES if t not in KEY_VALUE_SHEETS and t not in ARRAY_SHEETS)
    for section in tables:
        if section in reader.names:
            used.add(section)
            rows_a1 = read_sheet_rows(path, section, reader.book)[:1]
            is_array = section not in KEY_VALUE_SHEETS and rows_a1 and rows_a1[0] and \
                str(rows_a1[0][0]).strip().lower() != "key"
            data[section] = (read_array(reader, section, section) if is_array
                             else read_key_value(reader, section))
            inputs.add(section)
            if section == "model" and isinstance(data[section], dict):
                check_sections(reader, data[section], "model",
                               KEY_VALUE_SHEETS + tuple(ARRAY_SHEETS))
    for sheet, (parent, key) in ARRAY_SHEETS.items():
        if sheet not in reader.names:
            continue
        used.add(sheet)
        inputs.add(sheet)
        prefix = key if parent is None else f"{parent}.{key}"
        entries = read_array(reader, sheet, prefix)
        if parent is None:
            data[key] = entries
        else:
            if parent not in data:
                raise reader.error(f'sheet "{sheet}" needs a "{parent}" sheet', sheet)
            data[parent][key] = entries
    years = _years(data)
    used |= _level_sheets(data, years)
    if "opportunity" in data:  # its results sheets, opportunity_<service> (--with-inputs)
        used |= {n for n in reader.names if n.startswith("opportunity_")}
    try:
        embedded = _resolve_files(reader, data)
        used |= embedded
        try:
            spec = parse_model(data, path)
        except InputError as exc:
            raise _relocate(reader, exc) from None
        if spec.service_budget is not None:
            from capitation.service_budget.budget_file import read_service_budget

            try:
                read_service_budget(spec.service_budget, path.parent, path)
            except InputError as exc:
                raise _relocate(reader, exc) from None
    except BaseException:
        if reader.temp is not None:
            shutil.rmtree(reader.temp, ignore_errors=True)
        raise
    spec = dataclasses.replace(spec, sheets=tuple(sorted(inputs | embedded | {"instructions"})))
    if reader.temp is not None:
        weakref.finalize(spec, shutil.rmtree, str(reader.temp), True)
    extra = [n for n in reader.names if n not in used]
    if extra:
        reader.notes.append(f"{path.name}: sheets not part of the model, ignored: "
                            f"{', '.join(extra)}")
    for note in reader.notes:
        log.info(note)
        warnings.warn(note, stacklevel=2)
    return spec


def _years(data: dict) -> list[str]:
    pace = data.get("pace_of_change")
    if isinstance(pace, dict) and isinstance(pace.get("years"), list):
        return [str(y) for y in pace["years"]]
    model = data.get("model", {})
    return [str(model["year"])] if isinstance(model, dict) and "year" in model else []
