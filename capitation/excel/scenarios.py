"""Scenarios → one workbook: the comparison, the headline figures, and each scenario's sheets.

Sheets, in order:

- ``comparison``: one row per organisation at the compared level, the columns
  of :func:`capitation.comparison.compare`. Each change is a live formula
  with Python's value cached: ``change_gbp__<s>`` is
  ``ROUND(allocation_s − allocation_base, 2)`` and ``change__<s>`` that change
  ÷ the base's allocation (blank where the base has none); allocations and
  distances from target are values (each scenario's own sheets hold their
  working).
- ``headlines``: one row per scenario: largest and total shortfall, how many
  organisations are at their floor or cap.
- per scenario, its level sheets as ``capitation run`` writes them (live
  formulas), named ``<scenario> <level>`` (cut to Excel's 31 characters, a
  number added when two would be the same).
- ``assumptions``: per scenario its provenance and every override with what
  the file had.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from capitation.excel.names import FORBIDDEN, sheet_name
from capitation.excel.tables import write_cell
from capitation.excel.write import _cached, _formats, _level_templates, _write_level
from capitation.files import write_atomically

if TYPE_CHECKING:
    from capitation.comparison import Comparison
    from capitation.results import Results

__all__ = ["write_scenarios"]

_MAX_SHEET = 31


def _unique(name: str, taken: set[str]) -> str:
    name = name[:_MAX_SHEET]
    k = 2
    candidate = name
    while candidate.lower() in taken:
        suffix = f" ({k})"
        candidate = name[:_MAX_SHEET - len(suffix)] + suffix
        k += 1
    taken.add(candidate.lower())
    return candidate


def _scenario_sheets(scenario: str, results: Results, taken: set[str]
                     ) -> list[tuple[str, str, str | None]]:
    """(sheet name, level, year) for each level sheet of a scenario's run."""
    prefix = "".join("_" if ch in FORBIDDEN else ch for ch in scenario).strip("'")
    multi = len(results.years) > 1
    out: list[tuple[str, str, str | None]] = []
    for year in results.years:
        for level in results.levels:
            name = _unique(f"{prefix} {sheet_name(level, year if multi else None)}", taken)
            out.append((name, level, year))
    return out


def _write_comparison(book: xlsxwriter.Workbook, comparison: Comparison, base: str,
                      formats: dict) -> None:
    sheet = book.add_worksheet("comparison")
    level = str(comparison.index.name)
    columns = [str(c) for c in comparison.columns]
    letter = {c: xl_col_to_name(i) for i, c in enumerate(columns, start=1)}
    sheet.write_string(0, 0, level, formats["header"])
    for c, name in enumerate(columns, start=1):
        sheet.write_string(0, c, name, formats["header"])
    for r, code in enumerate(comparison.index, start=1):
        sheet.write_string(r, 0, str(code))
    base_col = letter[f"allocation_gbp__{base}"]
    for c, name in enumerate(columns, start=1):
        fmt = formats["columns"](name, "comparison")
        values = comparison[name].to_numpy(dtype=float)
        scenario = name.split("__", 1)[1]
        for r, value in enumerate(values, start=1):
            row = r + 1
            if name.startswith("change_gbp__"):
                formula = f"=ROUND({letter['allocation_gbp__' + scenario]}{row}-{base_col}{row},2)"
            elif name.startswith("change__"):
                change = letter[f"change_gbp__{scenario}"]
                formula = f'=IF({base_col}{row}=0,"",{change}{row}/{base_col}{row})'
            else:
                write_cell(sheet, r, c, value, fmt)
                continue
            sheet.write_formula(r, c, formula, fmt, _cached(value))
    sheet.freeze_panes(1, 1)
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, len(columns), 18)


def _write_headlines(book: xlsxwriter.Workbook, comparison: Comparison, formats: dict) -> None:
    sheet = book.add_worksheet("headlines")
    frame = comparison.headlines
    sheet.write_string(0, 0, "scenario", formats["header"])
    for c, name in enumerate(frame.columns, start=1):
        sheet.write_string(0, c, str(name), formats["header"])
    values = frame.to_numpy(dtype=object)
    for r, scenario in enumerate(frame.index, start=1):
        sheet.write_string(r, 0, str(scenario))
        for c, name in enumerate(frame.columns, start=1):
            write_cell(sheet, r, c, values[r - 1][c - 1],
                       formats["columns"](str(name), "headlines"))
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, len(frame.columns), 18)


def write_scenarios(results_by_name: Mapping[str, Results], comparison: Comparison,
                    path: str | Path) -> Path:
    """Write the scenarios workbook atomically.

    Parameters
    ----------
    results_by_name : mapping of str to Results
        Scenario name → run, the base first (as :func:`capitation.compare` takes them).
    comparison : Comparison
        :func:`capitation.compare` of those runs.
    path : str or Path
        Output ``.xlsx``.

    Returns
    -------
    Path
        ``path``.
    """
    names = list(results_by_name)
    taken = {"comparison", "headlines", "assumptions"}
    plans = {name: _scenario_sheets(name, results_by_name[name], taken) for name in names}

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "nan_inf_to_errors": True})
        formats = _formats(book)
        _write_comparison(book, comparison, names[0], formats)
        _write_headlines(book, comparison, formats)
        for name in names:
            results = results_by_name[name]
            plan = plans[name]
            per_year = max(1, len(results.levels))
            for start in range(0, len(plan), per_year):
                chunk = plan[start:start + per_year]
                year = chunk[0][2]
                sheet_names = [s for s, _, _ in chunk]
                templates = _level_templates(results, year, results.levels, sheet_names)
                for depth, (sheet, level, _) in enumerate(chunk):
                    _write_level(book.add_worksheet(sheet), results.table(level, year), level,
                                 formats, templates[depth])
        notes = book.add_worksheet("assumptions")
        for c, header in enumerate(("scenario", "item", "value")):
            notes.write_string(0, c, header, formats["header"])
        r = 1
        for name in names:
            for item, value in results_by_name[name].provenance():
                for c, text in enumerate((name, item, value)):
                    notes.write_string(r, c, text)
                r += 1
        notes.set_column(0, 0, 20)
        notes.set_column(1, 1, 40)
        notes.set_column(2, 2, 70)
        book.close()

    return write_atomically(path, write)

