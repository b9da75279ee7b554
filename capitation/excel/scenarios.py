"""Scenarios → one workbook: the comparison, the headline figures, and each scenario's sheets.

Every sheet is laid out to print as the results workbook's are
(:mod:`capitation.excel.board`: a title block, labels for the header, a
hidden row of the exact column names, page setup). Sheets, in order:

- ``comparison``: one row per organisation at the compared level (the base's
  name beside each code), the columns of
  :func:`capitation.comparison.compare`, then a totals row of the money
  columns. Each change is a live formula
  with Python's value cached: ``change_gbp__<s>`` is
  ``ROUND(allocation_s − allocation_base, 2)`` and ``change__<s>`` that change
  ÷ the base's allocation (blank where the base has none); allocations and
  distances from target are values (each scenario's own sheets hold their
  working).
- ``headlines``: one row per scenario: largest and total shortfall, how many
  organisations are at their floor or cap.
- per scenario, its level sheets as ``capitation run`` writes them (live
  formulas), named ``<scenario> <level>`` (cut to Excel's 31 characters, a
  number added when two would be the same), each read back by
  ``read_results(path, level, scenario=...)``.
- ``assumptions``: per scenario its provenance and every override with what
  the file had.
- ``_columns`` (hidden): where each scenario's level tables sit
  (:mod:`capitation.excel.results_reader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from capitation.columns import number_format
from capitation.excel.board import (
    FIRST_ROW,
    KEY_ROW,
    Page,
    adds_up,
    board_label,
    column_width,
    finish_page,
    write_page_top,
    write_text_table,
    write_totals,
)
from capitation.excel.keyed_tables import KEYS_HEADER, SCENARIO_KEY, write_keys
from capitation.excel.names import FORBIDDEN, sheet_name
from capitation.excel.tables import write_cell
from capitation.excel.write import (
    _cached,
    _formats,
    _level_templates,
    _write_level,
    assumptions_page,
    level_page,
)
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
                     ) -> list[tuple[str, str, str]]:
    """(sheet name, level, year) for each level sheet of a scenario's run."""
    prefix = "".join("_" if ch in FORBIDDEN else ch for ch in scenario).strip("'")
    multi = len(results.years) > 1
    out: list[tuple[str, str, str]] = []
    for year in results.years:
        for level in results.levels:
            name = _unique(f"{prefix} {sheet_name(level, year if multi else None)}", taken)
            out.append((name, level, year))
    return out


_COMPARISON_UNITS = ("Money in pounds (£); changes as a percentage of the base's allocation; "
                     "distance from target as a percentage of the target.")
_COMPARISON_SIGN = ("Change: negative = less than in the base. Distance from target: negative "
                    "= below target (less than the fair share by need).")
_HEADLINES_UNITS = ("Largest shortfall: the largest distance below target (%); total shortfall "
                    "in pounds (£); organisations held at their floor or cap.")

_ASSUMPTIONS_UNITS = ("As text, per scenario: what its run read, and each setting it changes "
                      "with what the model file had.")


def _page(base: Results, title: str, units: str, sign: str) -> Page:
    return Page(base.spec.name, title, units, sign, base.run_at)


def _write_comparison(book: xlsxwriter.Workbook, comparison: Comparison, base: str,
                      formats: dict, runs: Mapping[str, Results]) -> None:
    """Write the comparison laid out to print, with the base's names beside the codes.

    Each change is a live formula (module docstring); a totals row sums the
    allocations and changes in pounds.
    """
    sheet = book.add_worksheet("comparison")
    level = str(comparison.index.name)
    base_run = runs[base]
    base_table = base_run.table(level, base_run.years[0])
    named = "name" in base_table.columns
    columns = [str(c) for c in comparison.columns]
    keys = [level, *(["name"] if named else []), *columns]
    offset = 2 if named else 1
    letter = {c: xl_col_to_name(i) for i, c in enumerate(columns, start=offset)}
    labels = [level.replace("_", " "), *(["Name"] if named else []),
              *(board_label(c, "comparison") for c in columns)]
    page = _page(base_run, comparison.caption, _COMPARISON_UNITS, _COMPARISON_SIGN)
    board = formats["board"]
    write_page_top(sheet, page, keys, labels, board)
    codes = comparison.index.to_numpy(dtype=object)
    for r, code in enumerate(codes, start=FIRST_ROW):
        sheet.write_string(r, 0, str(code))
    widths = [column_width(labels[0], codes, level, None)]
    if named:
        names = base_table["name"].reindex(comparison.index).to_numpy(dtype=object)
        for r, value in enumerate(names, start=FIRST_ROW):
            write_cell(sheet, r, 1, value)
        widths.append(column_width("Name", names, "name", "level"))
    base_col = letter[f"allocation_gbp__{base}"]
    number_formats: dict[int, str] = {}
    sums: list[tuple[int, str, float]] = []
    for c, name in enumerate(columns, start=offset):
        fmt = formats["columns"](name, "comparison")
        number_formats[c] = number_format(name, "comparison")
        values = comparison[name].to_numpy(dtype=float)
        widths.append(column_width(labels[c], values, name, "comparison"))
        if adds_up(name, "comparison"):
            sums.append((c, name, float(np.nansum(values))))
        scenario = name.split("__", 1)[1]
        for r, value in enumerate(values, start=FIRST_ROW):
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
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    write_totals(sheet, len(comparison), sums, board, number_formats)
    finish_page(sheet, page, len(keys), len(comparison), offset, totals=True)


def _write_headlines(book: xlsxwriter.Workbook, comparison: Comparison, formats: dict,
                     base: Results) -> None:
    """Write one row per scenario, laid out to print; no totals (figures of different runs)."""
    sheet = book.add_worksheet("headlines")
    frame = comparison.headlines
    columns = [str(c) for c in frame.columns]
    keys = ["scenario", *columns]
    labels = [board_label(k, "headlines") for k in keys]
    compared = comparison.caption.split(": ", 1)[0]  # "ICB allocations, 2025/26"
    page = _page(base, f"headline figures per scenario ({compared})", _HEADLINES_UNITS, "")
    write_page_top(sheet, page, keys, labels, formats["board"])
    values = frame.to_numpy(dtype=object)
    scenarios = frame.index.to_numpy(dtype=object)
    for r, scenario in enumerate(scenarios, start=FIRST_ROW):
        sheet.write_string(r, 0, str(scenario))
        for c, name in enumerate(columns, start=1):
            write_cell(sheet, r, c, values[r - FIRST_ROW][c - 1],
                       formats["columns"](name, "headlines"))
    sheet.set_column(0, 0, column_width(labels[0], scenarios, "scenario", "headlines"))
    for c, name in enumerate(columns, start=1):
        sheet.set_column(c, c, column_width(labels[c], frame[name].to_numpy(dtype=object), name,
                                            "headlines"))
    finish_page(sheet, page, len(keys), len(frame), 1, totals=False)


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
    taken = {"comparison", "headlines", "assumptions", "_columns"}
    plans = {name: _scenario_sheets(name, results_by_name[name], taken) for name in names}

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "nan_inf_to_errors": True})
        formats = _formats(book)
        base = results_by_name[names[0]]
        _write_comparison(book, comparison, names[0], formats, results_by_name)
        _write_headlines(book, comparison, formats, base)
        keys: list[tuple[str | int, ...]] = []
        for name in names:
            results = results_by_name[name]
            plan = plans[name]
            per_year = max(1, len(results.levels))
            for start in range(0, len(plan), per_year):
                chunk = plan[start:start + per_year]
                year = chunk[0][2]
                sheet_names = [s for s, _, _ in chunk]
                templates = _level_templates(results, year, results.levels, sheet_names,
                                             FIRST_ROW + 1)
                for depth, (sheet, level, _) in enumerate(chunk):
                    table = results.table(level, year)
                    _write_level(book.add_worksheet(sheet), table, level, formats,
                                 templates[depth],
                                 page=level_page(results, level, year, table, scenario=name))
                    keys.append((sheet, level, year, KEY_ROW + 1, FIRST_ROW + 1, len(table),
                                 name))
        rows = [(name, item, value) for name in names
                for item, value in results_by_name[name].provenance()]
        years = ", ".join(dict.fromkeys(y for r in results_by_name.values() for y in r.years))
        write_text_table(book.add_worksheet("assumptions"),
                         assumptions_page(base, years, "assumptions of each scenario",
                                          _ASSUMPTIONS_UNITS),
                         ["scenario", "item", "value"],
                         ["Scenario", board_label("item", "assumptions"),
                          board_label("value", "assumptions")], rows, formats["board"])
        write_keys(book, keys, (*KEYS_HEADER, SCENARIO_KEY))
        book.close()

    return write_atomically(path, write)

