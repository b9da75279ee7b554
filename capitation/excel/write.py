"""Results → workbook: one sheet per level (per year), pace of change, budget, assumptions.

Every table sheet is laid out to print (:mod:`capitation.excel.board`): a
title block, a header of labels, one row per organisation, a totals row; what
a program reads is fixed: a hidden row of the exact ``results.table`` column
names (the level's name over the code column) and the hidden ``_columns``
sheet saying where each level sits (:mod:`capitation.excel.results_reader`).
The ``assumptions`` sheet is a table of text with the same title block and
page setup. Text is always written as text.

Every figure a finance team audits is a live formula with Python's value
cached (:mod:`capitation.excel.formulas` gives the formulas); money rounded by
largest remainder at the practice level, and the inputs, are values.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, SupportsFloat, cast

import numpy as np
import pandas as pd
import xlsxwriter
import xlsxwriter.worksheet
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from capitation.columns import number_format
from capitation.excel.board import (
    FIRST_ROW,
    KEY_ROW,
    BoardFormats,
    Page,
    adds_up,
    board_label,
    column_width,
    finish_page,
    fit_header,
    write_page_top,
    write_text_table,
    write_totals,
)
from capitation.excel.formulas import LevelLayout, level_templates
from capitation.excel.keyed_tables import write_keys
from capitation.excel.names import OWN_SHEETS, unique_sheet_names
from capitation.excel.tables import CellFormats, write_cell
from capitation.files import write_atomically

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["write_results", "flatten_parameters"]

# How xlsxwriter stores a formula cell (see _write_formula_column).
_CELL_FORMULA = getattr(xlsxwriter.worksheet, "CellFormulaTuple", None)


def flatten_parameters(data: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Every parameter of a parsed TOML as (dotted key, value text) rows."""
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            rows.extend(flatten_parameters(value, full))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                rows.extend(flatten_parameters(item, f"{full}[{i + 1}]"))
        else:
            rows.append((full, str(value)))
    return rows


def _formats(book: xlsxwriter.Workbook) -> dict:
    """Return the header format and the columns' number formats (:mod:`capitation.columns`)."""
    return {"header": book.add_format({"bold": True, "bottom": 1, "text_wrap": True}),
            "columns": CellFormats(book), "board": BoardFormats(book)}


def _cached(value: object) -> float | str:
    """Return the cached result of a formula cell: Python's number, or "" for NaN (a blank)."""
    number = float(cast(SupportsFloat, value))  # a formula column holds numbers
    return "" if np.isnan(number) else number


def _write_level(sheet: Worksheet, frame: pd.DataFrame, index_label: str, formats: dict,
                 templates: dict[str, str | None], table: str = "level",
                 page: Page | None = None, totals: bool = True) -> None:
    """Write one level's table; columns with a template become live formulas.

    Each formula cell caches Python's value, so readers that do not calculate
    see the same numbers as Excel or LibreOffice. Codes and other text are
    written as text, never as formulas. With ``page``, the sheet is laid out
    to print (:mod:`capitation.excel.board`: hidden key row, title block,
    labelled header, totals row); without, a header row of the exact column
    names and the organisations from row 2.
    """
    columns = [str(c) for c in frame.columns]
    first = FIRST_ROW if page is not None else 1
    if page is None:
        sheet.write_string(0, 0, index_label, formats["header"])
        for c, column in enumerate(columns, start=1):
            sheet.write_string(0, c, column, formats["header"])
    else:
        labels = [index_label.replace("_", " ")] + [board_label(c, table) for c in columns]
        write_page_top(sheet, page, [index_label, *columns], labels, formats["board"])
    codes = frame.index.to_numpy(dtype=object)
    for r, code in enumerate(codes, start=first):
        sheet.write_string(r, 0, str(code))
    number_formats: dict[int, str] = {}
    sums: list[tuple[int, str, float]] = []
    widths = [column_width(index_label, codes, index_label, None)]
    for c, column in enumerate(columns, start=1):
        fmt = formats["columns"](column, table)
        number_formats[c] = number_format(column, table)
        values = frame[column].to_numpy(dtype=object)
        template = templates.get(column)
        if page is not None:
            widths.append(column_width(board_label(column, table), values, column, table))
            if totals and adds_up(column, table):
                sums.append((c, column, float(np.nansum(values.astype(float)))))
        if template is None:
            for r, value in enumerate(values, start=first):
                write_cell(sheet, r, c, value, fmt)
            continue
        _write_formula_column(sheet, c, template, fmt, [_cached(v) for v in values], first)
    if page is None:
        sheet.freeze_panes(1, 1)
        sheet.set_column(0, 0, 14)
        sheet.set_column(1, len(columns), 16)
        return
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    fit_header(sheet, labels, widths)
    if totals:
        write_totals(sheet, len(frame), sums, formats["board"], number_formats)
    fixed = 2 if columns[:1] == ["name"] else 1
    finish_page(sheet, page, len(columns) + 1, len(frame), fixed, totals)


def _write_formula_column(sheet: Worksheet, col: int, template: str, fmt: Format | None,
                          cached: list[float | str], first: int = 1) -> None:
    """Write ``template`` down a column from zero-based row ``first``, one formula per value.

    xlsxwriter's ``write_formula`` runs some 30 regular expressions over every
    formula to expand newer Excel functions; our templates use none of them,
    so when preparing the template leaves it unchanged, the cells are stored
    the way ``write_formula`` stores them, without the regular expressions.
    """
    if not cached:
        return
    body = template[1:]
    cell_formula = _CELL_FORMULA
    fast = (cell_formula is not None and not sheet.constant_memory
            and sheet._prepare_formula(template) == body
            and not xlsxwriter.worksheet.re_dynamic_function.search(template))
    if cell_formula is None or not fast:
        for r, value in enumerate(cached, start=first):
            sheet.write_formula(r, col, template.replace("{r}", str(r + 1)), fmt, value)
        return
    last = first + len(cached) - 1
    sheet.write_formula(last, col, template.replace("{r}", str(last + 1)), fmt,
                        cached[-1])  # the public call checks the bounds once
    table = sheet.table
    for r, value in enumerate(cached[:-1], start=first):
        table[r][col] = cell_formula(body.replace("{r}", str(r + 1)), fmt, value)


def _level_templates(results: Results, year: str | None, levels: list[str],
                     names: list[str], first: int = 2) -> list[dict[str, str | None]]:
    """Build the formula templates of every level sheet of one year (data from row ``first``)."""
    tables = [results.table(level, year) for level in levels]
    layouts = [LevelLayout(level=level, sheet=name, columns=tuple(map(str, table.columns)),
                           rows=len(table), first=first)
               for level, name, table in zip(levels, names, tables, strict=True)]
    components = [c.name for c in results.spec.components]
    pace_level = results.spec.pace.level if results.spec.pace is not None else None
    pace_depth = levels.index(pace_level) if pace_level in levels else None
    return [level_templates(layouts, depth, components, results.spec.convention, pace_depth)
            for depth in range(len(levels))]


_UNITS = ("Money in pounds (£); population in persons (weighted by need where it says so); "
          "need indices: 1 = the model's average.")
_SIGN = "Distance from target: negative = below target (less than the fair share by need)."
_GROWTH_SIGN = " Growth: negative = a fall from the baseline."


_ASSUMPTIONS_UNITS = "As text: money in pounds (£), rates as fractions (0.02 = 2%)."


def level_page(results: Results, level: str, year: str, table: pd.DataFrame,
               scenario: str | None = None) -> Page:
    """Return the title block of a level's sheet (of one scenario, when named)."""
    sign = _SIGN + (_GROWTH_SIGN if "growth" in table.columns else "")
    title = f"allocation by {level}, {year}"
    if scenario is not None:
        title = f'scenario "{scenario}": {title}'
    return Page(results.spec.name, title, _UNITS, sign, results.run_at)


def assumptions_page(results: Results, years: str, what: str = "assumptions",
                     units: str = _ASSUMPTIONS_UNITS) -> Page:
    """Return the title block of an ``assumptions`` sheet."""
    return Page(results.spec.name, f"{what}, {years}", units, "", results.run_at)


def write_results(results: Results, path: str | Path) -> Path:
    """Write a results workbook atomically.

    Parameters
    ----------
    results : capitation.results.Results
        What a run produced.
    path : str or Path
        Output ``.xlsx``.

    Returns
    -------
    Path
        ``path``.
    """
    years = results.years
    multi = len(years) > 1
    pairs = [(level, year if multi else None) for year in years for level in results.levels]
    names = unique_sheet_names(pairs, taken=OWN_SHEETS, file=results.spec.path)

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "nan_inf_to_errors": True})
        formats = _formats(book)
        by_year = max(1, len(results.levels))
        if results.tables:  # the first sheet: headline figures and the main chart
            from capitation.excel.summary_sheet import add_summary_sheet

            add_summary_sheet(book, results, dict(zip(results.levels, names, strict=False)),
                              formats["board"], formats["columns"])
        keys: list[tuple[str | int, ...]] = []
        for start in range(0, len(pairs), by_year):
            year = years[start // by_year]
            year_names = names[start:start + by_year]
            templates = _level_templates(results, year, results.levels, year_names,
                                         FIRST_ROW + 1)
            for depth, level in enumerate(results.levels):
                table = results.table(level, year)
                _write_level(book.add_worksheet(year_names[depth]), table, level, formats,
                             templates[depth], page=level_page(results, level, year, table))
                keys.append((year_names[depth], level, year, KEY_ROW + 1, FIRST_ROW + 1,
                             len(table)))
        path_frame = results.pace_of_change_path
        if path_frame is not None:
            flat = path_frame.reset_index()
            if "name" in flat.columns:  # the name beside the code, as on the level sheets
                flat = flat[[flat.columns[0], "name",
                             *(c for c in flat.columns[1:] if c != "name")]]
            level = str(flat.columns[0])
            page = Page(results.spec.name, f"pace of change by {level} and year", _UNITS,
                        _SIGN + _GROWTH_SIGN, results.run_at)
            _write_level(book.add_worksheet("pace_of_change_path"), flat.set_index(level),
                         level, formats, {}, "pace_of_change_path", page=page, totals=False)
        if results.budget is not None:
            from capitation.excel.budget_sheets import add_budget_sheets

            add_budget_sheets(book, results.budget, results.spec.name, results.run_at)
        # docs/methods/weighted-capitation.md#from-people: tiers, opportunity
        if getattr(results, "persons", None) is not None:
            from capitation.excel.persons_sheets import add_persons_sheets

            add_persons_sheets(book, results)
        needs = getattr(results, "needs_and_use", None)
        if needs is not None:  # needs versus use: one sheet per service
            from capitation.excel.opportunity_sheets import add_opportunity_sheets

            add_opportunity_sheets(book, needs, taken={w.name for w in book.worksheets()},
                                   model=results.spec.name, run_at=results.run_at)
        rows = [*results.provenance(),
                *[(f"parameter {k}", v) for k, v in flatten_parameters(results.spec.raw)]]
        for pace_year, outcome in results.pace.items():
            for field_name, value in vars(outcome).items():
                shown = f"{value:.10g}" if isinstance(value, float | np.floating) else str(value)
                rows.append((f"pace_of_change {pace_year} {field_name}", shown))
        write_text_table(book.add_worksheet("assumptions"),
                         assumptions_page(results, ", ".join(years)), ["item", "value"],
                         [board_label("item", "assumptions"), board_label("value", "assumptions")],
                         rows, formats["board"])
        write_keys(book, keys)
        book.close()

    return write_atomically(path, write)
