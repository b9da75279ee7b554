"""Capitated budget sheets: ``budget_lines`` and ``budget_bridge``, with live formulas.

Every figure docs/methods/service-budget.md#definitions derives is a live Excel formula over the
inputs on the same row, and stores Python's value as its cached result, so a
reader that does not calculate (openpyxl ``data_only``) sees the same numbers
as one that does (Excel, LibreOffice). R(x) is ``ROUND(x, 2)``.

Both sheets are laid out to print (:mod:`capitation.excel.board`): a hidden
row of the exact column names, the title block, a header of labels from
:mod:`capitation.columns`, then the table from row 7.

``budget_lines`` has the columns of :attr:`CapitatedBudget.budget_lines`, in
that order, one row per line and new service per year, year by year (lines
first, then new services), so each year is one block of rows, then a totals
row (a live ``SUBTOTAL`` of each money column, so filtering on the year totals
one year). Per line:

    growth_factor      = (1 + growth)^year_number
    price_factor       = (1 + uplift_1) × ... × (1 + uplift_y)
    grown_activity     = baseline_activity × growth_factor
    planned_activity   = grown_activity × (1 + activity_change)
    price_gbp          = baseline_price_gbp × price_factor
    planned_value_gbp  = ROUND(planned_activity × price_gbp, 2)
    removed_value_gbp  = MAX(0, ROUND(repriced_value_gbp − planned_value_gbp, 2))
    released_cost_gbp  = ROUND(removed_value_gbp × release_fraction, 2)
    stranded_cost_gbp  = ROUND(removed_value_gbp − released_cost_gbp, 2)
    support_gbp        = ROUND(stranded_cost_gbp × stranded_support, 2)
    budget_gbp         = planned_value_gbp + support_gbp

Removed and stranded are differences of whole pence, so their ROUND changes
nothing in exact arithmetic; it clears binary floating-point noise before the
next ROUND, as Python's integer pence do (LibreOffice computes 2,483,969.62 −
2,152,773.67 as 331,195.949999997, and half of it would otherwise round to
165,597.97 instead of R(165,597.975) = 165,597.98).

A new service's activity and price are inputs; its removed, released,
stranded and support formulas give 0. ``budget_bridge`` sums each year's block
(``SUM``, and ``SUMIFS`` on ``kind`` to split lines from new services) and
draws each year's bridge as a waterfall chart: a stacked column chart whose
first series, the base, is invisible, then "Increase", "Decrease" and "Total"
in the colours of the PNG chart (:mod:`capitation.chart_style`), each bar
labelled in £m with the PNG's text (number formats
:data:`~capitation.chart_style.WATERFALL_LABEL` and ``WATERFALL_LABEL_DOWN``),
the value axis from below the lowest running total
(:func:`capitation.chart_style.waterfall_range`), not from zero.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import SupportsFloat, cast

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from capitation.chart_style import (
    DECREASE,
    INCREASE,
    TOTAL,
    WATERFALL_LABEL,
    WATERFALL_LABEL_DOWN,
    waterfall_range,
)
from capitation.columns import column as schema_column
from capitation.columns import number_format
from capitation.excel.board import (
    FIRST_ROW,
    BoardFormats,
    Page,
    adds_up,
    board_label,
    column_width,
    finish_page,
    fit_header,
    write_page_top,
    write_totals,
)
from capitation.excel.tables import CellFormats
from capitation.rounding import round_pence
from capitation.service_budget.budget import BRIDGE_COLUMNS, BUDGET_LINE_COLUMNS, CapitatedBudget

__all__ = ["add_budget_sheets", "LINES_SHEET", "BRIDGE_SHEET"]

LINES_SHEET = "budget_lines"
BRIDGE_SHEET = "budget_bridge"

_COL = {name: xl_col_to_name(i) for i, name in enumerate(BUDGET_LINE_COLUMNS)}
_TEXT = ("provider", "pod", "year", "kind")

# Formulas of a line row; "{c}" is a column letter of the same row, "{r}" the row number.
_LINE_FORMULAS = {
    "grown_activity": "={baseline_activity}{r}*{growth_factor}{r}",
    "planned_activity": "={grown_activity}{r}*(1+{activity_change}{r})",
    "price_gbp": "={baseline_price_gbp}{r}*{price_factor}{r}",
    "baseline_value_gbp": "=ROUND({baseline_activity}{r}*{baseline_price_gbp}{r},2)",
    "grown_value_gbp": "=ROUND({grown_activity}{r}*{baseline_price_gbp}{r},2)",
    "repriced_value_gbp": "=ROUND({grown_activity}{r}*{price_gbp}{r},2)",
    "release_fraction": (
        "=MIN(1,{variable}{r}"
        "+{semi_fixed}{r}*IF({semi_fixed_release_years}{r}=0,1,"
        "MIN(1,{year_number}{r}/{semi_fixed_release_years}{r}))"
        "+{fixed}{r}*IF({fixed_release_years}{r}=0,1,MIN(1,{year_number}{r}/{fixed_release_years}{r})))"
    ),
}
# Formulas shared by lines and new services.
_MONEY_FORMULAS = {
    "planned_value_gbp": "=ROUND({planned_activity}{r}*{price_gbp}{r},2)",
    "removed_value_gbp": "=MAX(0,ROUND({repriced_value_gbp}{r}-{planned_value_gbp}{r},2))",
    "released_cost_gbp": "=ROUND({removed_value_gbp}{r}*{release_fraction}{r},2)",
    "stranded_cost_gbp": "=ROUND({removed_value_gbp}{r}-{released_cost_gbp}{r},2)",
    "support_gbp": "=ROUND({stranded_cost_gbp}{r}*{stranded_support}{r},2)",
    "budget_gbp": "={planned_value_gbp}{r}+{support_gbp}{r}",
}

_STEPS = tuple(
    (schema_column(name, "budget_bridge").title, name)
    for name in ("baseline_gbp", "growth_gbp", "price_gbp", "activity_change_gbp",
                 "new_services_gbp", "stranded_support_gbp", "budget_gbp")
)
_WATERFALL_ROWS = 20  # rows per year's block: the table, and room for its chart beside it
#: Width (characters) of the step column and of the money columns, which the
#: waterfalls' helper tables share: "Stranded support" and -£99,999,999.99 fit.
_STEP_WIDTH = 20.0
_WATERFALL_WIDTH = 16.0
#: Where each waterfall chart sits (the column after the helper table) and how wide
#: it is: 1.4 × xlsxwriter's default 480 pixels.
_CHART_COLUMN = 8
_CHART_PIXELS = 672
#: Width of a column Excel gives no width (characters).
_DEFAULT_WIDTH = 8.43


def _chart_end(widths: list[float]) -> int:
    """Return the (0-based) column the waterfall charts end in, from the columns' widths.

    A column ``w`` characters wide is ``int(w × 7 + 5)`` pixels (Calibri 11,
    as xlsxwriter sizes a chart's cells).
    """
    col, used = _CHART_COLUMN, 0
    while True:
        width = widths[col] if col < len(widths) else _DEFAULT_WIDTH
        used += int(width * 7 + 5)
        if used >= _CHART_PIXELS:
            return col
        col += 1
_AXIS_MILLIONS = '£#,##0.0,,"m"'
_WATERFALL_HEADER = (
    "step",
    "amount_gbp",
    "running_gbp",
    "base_gbp",
    "total_gbp",
    "increase_gbp",
    "decrease_gbp",
)


_UNITS = ("Money in pounds (£); activity in attendances, episodes or contacts a year; "
          "shares and rates as %; factors as multipliers (1 = the baseline).")
_LINES_SIGN = ("Activity change: negative = less activity than growth alone would give. "
               "Totals add up the rows shown: filter on Year for one year's figures.")
_BRIDGE_SIGN = ("Steps: negative = a fall from the step before (a saving); net saving: "
                "positive = the budget is below doing nothing.")


def add_budget_sheets(book: xlsxwriter.Workbook, budget: CapitatedBudget,
                      model: str | None = None, run_at: str | None = None) -> None:
    """Add the ``budget_lines`` and ``budget_bridge`` sheets to an open workbook.

    Each is laid out to print (:mod:`capitation.excel.board`): a hidden row
    of the exact column names, the title block, a header of labels, then the
    table; the lines end in a totals row.

    Parameters
    ----------
    book : xlsxwriter.Workbook
        An open workbook; the caller closes it (and writes it atomically).
    budget : CapitatedBudget
        The budget to write. Money in pounds; every formula cell caches
        Python's value.
    model : str, optional
        The model's name, for the title block and the footer (default: the
        budget's name).
    run_at : str, optional
        When the model was run (UTC; default: now).
    """
    name = model if model is not None else budget.name
    when = run_at if run_at is not None else dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds")
    years = f"{budget.years[0]} to {budget.years[-1]}" if budget.years else ""
    formats = {"bold": book.add_format({"bold": True}), "columns": CellFormats(book),
               "board": BoardFormats(book)}
    _write_lines(book.add_worksheet(LINES_SHEET), budget, formats,
                 Page(name, f"capitated budget of {budget.name} by line, {years}", _UNITS,
                      _LINES_SIGN, when))
    _write_bridge(book, book.add_worksheet(BRIDGE_SHEET), budget, formats,
                  Page(name, f"budget bridge of {budget.name} by year, {years}", _UNITS,
                       _BRIDGE_SIGN, when))


def _formula(template: str, row: int) -> str:
    return template.format(r=row + 1, **_COL)


def _value(value: object) -> float | None:
    """Return the cell's float, or None for a blank (NaN)."""
    number = float(cast(SupportsFloat, value))  # the lines' number columns
    return None if math.isnan(number) else number


def _write_lines(sheet: Worksheet, budget: CapitatedBudget, formats: dict, page: Page) -> None:
    frame = budget.budget_lines
    labels = [board_label(name, "budget_lines") for name in BUDGET_LINE_COLUMNS]
    write_page_top(sheet, page, list(BUDGET_LINE_COLUMNS), labels, formats["board"])
    growth = budget.inputs.growth
    uplift = budget.inputs.price_uplift
    factor_formula = {
        year_number: (
            f"=(1+{growth!r})^{{year_number}}{{r}}",
            "=" + "*".join(f"(1+{float(u)!r})" for u in uplift[:year_number]),
        )
        for year_number in range(1, len(budget.years) + 1)
    }
    columns = {name: frame[name].to_numpy() for name in BUDGET_LINE_COLUMNS}
    is_line = columns["kind"] == "line"
    fmts = [formats["columns"](name, "budget_lines") for name in BUDGET_LINE_COLUMNS]
    for i in range(len(frame)):
        row = i + FIRST_ROW
        line = bool(is_line[i])
        for c, name in enumerate(BUDGET_LINE_COLUMNS):
            fmt = fmts[c]
            value = columns[name][i]
            if name in _TEXT:
                sheet.write_string(row, c, str(value))
                continue
            number = _value(value)
            if name in _MONEY_FORMULAS:
                template = _MONEY_FORMULAS[name]
            elif name in ("growth_factor", "price_factor"):
                growth_formula, price_formula = factor_formula[int(columns["year_number"][i])]
                template = growth_formula if name == "growth_factor" else price_formula
            elif line and name in _LINE_FORMULAS:
                template = _LINE_FORMULAS[name]
            else:
                template = None
            if template is not None:
                sheet.write_formula(row, c, _formula(template, row), fmt, number)
            elif number is None:
                sheet.write_blank(row, c, None, fmt)
            else:
                sheet.write_number(row, c, number, fmt)
    widths = [column_width(label, columns[name], name, "budget_lines")
              for label, name in zip(labels, BUDGET_LINE_COLUMNS, strict=True)]
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    fit_header(sheet, labels, widths)
    sums = [(c, name, float(np.nansum(columns[name].astype(float))))
            for c, name in enumerate(BUDGET_LINE_COLUMNS) if adds_up(name, "budget_lines")]
    write_totals(sheet, len(frame), sums, formats["board"],
                 {c: number_format(name, "budget_lines") for c, name, _ in sums})
    finish_page(sheet, page, len(BUDGET_LINE_COLUMNS), len(frame), 2, totals=True)


def _year_blocks(budget: CapitatedBudget) -> list[tuple[int, int, int]]:
    """Per year: first sheet row, first new-service row and end row (0-based, end exclusive)."""
    frame = budget.budget_lines
    years = frame["year"].to_numpy()
    kinds = frame["kind"].to_numpy()
    blocks = []
    for year in budget.years:
        rows = np.flatnonzero(years == year)
        start, end = int(rows[0]) + FIRST_ROW, int(rows[-1]) + FIRST_ROW + 1
        new_rows = rows[kinds[rows] == "new_service"]
        first_new = int(new_rows[0]) + FIRST_ROW if new_rows.size else end
        blocks.append((start, first_new, end))
    return blocks


def _write_bridge(book: xlsxwriter.Workbook, sheet: Worksheet, budget: CapitatedBudget,
                  formats: dict, page: Page) -> None:
    bridge = budget.budget_bridge
    header = ("year", *BRIDGE_COLUMNS, "lines_budget_gbp")
    fmt = {name: formats["columns"](name, "budget_bridge") for name in header}
    labels = [board_label(name, "budget_bridge") for name in header]
    write_page_top(sheet, page, list(header), labels, formats["board"])
    col = {name: xl_col_to_name(c) for c, name in enumerate(header)}

    def lines_range(column: str, start: int, end: int) -> str:
        letter = _COL[column]
        return f"{LINES_SHEET}!${letter}${start + 1}:${letter}${end}"

    def by_kind(column: str, kind: str, start: int, end: int) -> str:
        return (
            f'SUMIFS({lines_range(column, start, end)},{lines_range("kind", start, end)},"{kind}")'
        )

    for k, (year, (start, _first_new, end)) in enumerate(
        zip(budget.years, _year_blocks(budget), strict=True)
    ):
        row = k + FIRST_ROW
        r = row + 1
        values = cast(pd.Series, bridge.loc[year])  # the year's row (years are unique)

        def total(column: str, start: int = start, end: int = end) -> str:
            return f"SUM({lines_range(column, start, end)})"

        formulas = {
            "baseline_gbp": f"={total('baseline_value_gbp')}",
            "growth_gbp": f"={total('grown_value_gbp')}-{total('baseline_value_gbp')}",
            "price_gbp": f"={total('repriced_value_gbp')}-{total('grown_value_gbp')}",
            "activity_change_gbp": (
                f"={by_kind('planned_value_gbp', 'line', start, end)}-{total('repriced_value_gbp')}"
            ),
            "new_services_gbp": f"={by_kind('planned_value_gbp', 'new_service', start, end)}",
            "stranded_support_gbp": f"={total('support_gbp')}",
            "budget_gbp": f"=SUM({col['baseline_gbp']}{r}:{col['stranded_support_gbp']}{r})",
            "do_nothing_gbp": (
                f"={col['baseline_gbp']}{r}+{col['growth_gbp']}{r}+{col['price_gbp']}{r}"
            ),
            "net_saving_gbp": f"={col['do_nothing_gbp']}{r}-{col['budget_gbp']}{r}",
        }
        sheet.write_string(row, 0, str(year))
        for c, name in enumerate(BRIDGE_COLUMNS, start=1):
            sheet.write_formula(row, c, formulas[name], fmt[name], float(values[name]))
        sheet.write_formula(row, len(header) - 1, f"={total('budget_gbp')}",
                            fmt["lines_budget_gbp"], float(values["budget_gbp"]))
    cached = {name: bridge[name].to_numpy(dtype=float) for name in BRIDGE_COLUMNS}
    cached["lines_budget_gbp"] = cached["budget_gbp"]
    widths = [column_width(labels[0], np.asarray(budget.years, dtype=object), "year",
                           "budget_bridge")]
    widths += [max(column_width(label, cached[name], name, "budget_bridge"),
                   _WATERFALL_WIDTH) for label, name in zip(labels[1:], header[1:], strict=True)]
    widths[0] = max(widths[0], _STEP_WIDTH)  # the waterfalls' steps below share the column
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    fit_header(sheet, labels, widths)
    top = FIRST_ROW + len(budget.years) + 2
    _write_waterfalls(book, sheet, budget, formats, col, top=top)
    finish_page(sheet, page, len(header), len(budget.years), 1, totals=False)
    # The page goes on to the waterfalls and their charts beside them.
    sheet.print_area(1, 0, top + len(budget.years) * _WATERFALL_ROWS - 1,
                     max(len(header) - 1, _chart_end(widths)))


def _write_waterfalls(
    book: xlsxwriter.Workbook,
    sheet: Worksheet,
    budget: CapitatedBudget,
    formats: dict,
    col: dict,
    top: int,
) -> None:
    """One waterfall per year: helper columns with live formulas, then a stacked column chart."""
    board = formats["board"]
    fmt = {h: formats["columns"](h, "budget_waterfall") for h in _WATERFALL_HEADER[1:]}
    bridge_pence = np.asarray(round_pence(budget.budget_bridge.to_numpy(dtype=float)))
    bridge_index = {name: i for i, name in enumerate(budget.budget_bridge.columns)}
    name = {h: xl_col_to_name(c) for c, h in enumerate(_WATERFALL_HEADER)}
    for k, year in enumerate(budget.years):
        first = top + k * _WATERFALL_ROWS
        sheet.write_string(first, 0, f"Waterfall {year}", formats["bold"])
        for c, h in enumerate(_WATERFALL_HEADER):
            sheet.write_string(first + 1, c, board_label(h, "budget_waterfall"), board.header)
        running = 0
        data_rows = []
        for s, (label, column) in enumerate(_STEPS):
            row = first + 2 + s
            r = row + 1
            data_rows.append(row)
            amount = int(bridge_pence[k, bridge_index[column]])
            is_total = s in (0, len(_STEPS) - 1)
            previous = running
            running = amount if is_total else running + amount
            sheet.write_string(row, 0, label)
            bridge_cell = f"{col[column]}{FIRST_ROW + k + 1}"
            sheet.write_formula(row, 1, f"={bridge_cell}", fmt["amount_gbp"], amount / 100)
            running_formula = (
                f"={name['amount_gbp']}{r}"
                if is_total
                else (f"={name['running_gbp']}{r - 1}+{name['amount_gbp']}{r}")
            )
            sheet.write_formula(row, 2, running_formula, fmt["running_gbp"], running / 100)
            if is_total:
                cells = {
                    "base_gbp": ("=0", 0),
                    "total_gbp": (f"={name['amount_gbp']}{r}", amount),
                    "increase_gbp": ("=0", 0),
                    "decrease_gbp": ("=0", 0),
                }
            else:
                cells = {
                    "base_gbp": (
                        f"=MIN({name['running_gbp']}{r - 1},{name['running_gbp']}{r})",
                        min(previous, running),
                    ),
                    "total_gbp": ("=0", 0),
                    "increase_gbp": (f"=MAX(0,{name['amount_gbp']}{r})", max(0, amount)),
                    "decrease_gbp": (f"=MAX(0,-{name['amount_gbp']}{r})", max(0, -amount)),
                }
            for c, h in enumerate(_WATERFALL_HEADER[3:], start=3):
                formula, pence = cells[h]
                sheet.write_formula(row, c, formula, fmt[h], pence / 100)
        chart = book.add_chart({"type": "column", "subtype": "stacked"})
        lo, hi = data_rows[0], data_rows[-1]
        categories = [BRIDGE_SHEET, lo, 0, hi, 0]
        series = (  # (helper column, legend name, colour, label format); the base is invisible
            ("base_gbp", "Base", None, None),
            ("increase_gbp", "Increase", INCREASE, WATERFALL_LABEL),
            ("decrease_gbp", "Decrease", DECREASE, WATERFALL_LABEL_DOWN),
            ("total_gbp", "Total", TOTAL, WATERFALL_LABEL),
        )
        for h, legend, colour, labels in series:
            c = _WATERFALL_HEADER.index(h)
            spec: dict = {
                "name": legend,
                "categories": categories,
                "values": [BRIDGE_SHEET, lo, c, hi, c],
                "gap": 50,
            }
            if colour is None:
                spec["fill"] = {"none": True}
                spec["border"] = {"none": True}
            else:
                spec["fill"] = {"color": colour}
                spec["data_labels"] = {"value": True, "num_format": labels,
                                       "position": "inside_end", "font": {"size": 8}}
            chart.add_series(spec)
        steps = [float(bridge_pence[k, bridge_index[column]]) / 100
                 for _, column in _STEPS[1:-1]]
        low, high = waterfall_range(float(bridge_pence[k, bridge_index["baseline_gbp"]]) / 100,
                                    steps,
                                    float(bridge_pence[k, bridge_index["budget_gbp"]]) / 100)
        chart.set_title({"name": f"{budget.name} budget bridge {year}",
                         "name_font": {"size": 12}})
        chart.set_legend({"delete_series": [0], "position": "bottom"})
        chart.set_y_axis({"num_format": _AXIS_MILLIONS, "min": low, "max": high,
                          "name": "£m (not from zero)", "name_font": {"size": 9}})
        sheet.insert_chart(first, _CHART_COLUMN, chart, {"x_scale": 1.4, "y_scale": 1.1})
