"""Needs versus use in the results workbook: one ``opportunity_<service>`` sheet per service.

Each sheet is ``results.opportunity_table(service)``, laid out to print
(:mod:`capitation.excel.board`): a hidden row of the exact column names (the
level's name over the code column), the title block, a header of labels from
:mod:`capitation.columns`, one row per unit from row 7, then a totals row and
notes. What a finance team audits is a live formula over
the cells beside it, with Python's value cached (so readers that do not
calculate see the same numbers)::

    ratio                 = observed / expected
    above_benchmark       = observed > benchmark_ratio × expected
    unit_cost_gbp         = cost_gbp / observed   ("" where nothing was observed;
                            a value when a price per activity is given)
    opportunity_activity  = MAX(0, observed − benchmark_ratio × expected)
    opportunity_gbp       = ROUND(opportunity_activity × unit_cost_gbp, 2) where the
                            opportunity is above 0, else 0 (R(x) is ROUND(x, 2))

A z-score of −∞ (nothing observed, on the log scale) is left blank.
Observed and expected activity, the Poisson interval, the funnel's z-scores,
limits and flags, the benchmarks and spend are values: they come from the
whole set of units (the funnel's overdispersion, each unit's peers), which
no cell formula can show. The totals row sums observed, expected, spend and
the opportunity (a live ``SUBTOTAL``, so a filtered view totals what it
shows), and divides the sums for the ratio.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from capitation.columns import number_format
from capitation.excel.board import (
    FIRST_ROW,
    BoardFormats,
    Page,
    board_label,
    column_width,
    finish_page,
    fit_header,
    write_page_top,
    write_totals,
)
from capitation.excel.names import sheet_name
from capitation.excel.tables import CellFormats, write_cell

if TYPE_CHECKING:
    from capitation.opportunity.needs_and_use import NeedsAndUse

__all__ = ["add_opportunity_sheets", "opportunity_sheet_names"]

_TABLE = "opportunity_table"
_UNITS = ("Activity in counts a year; ratios and limits: observed / expected (1 = as "
          "expected by need); money in pounds (£).")
_SIGN = ("z-scores: negative = below expected. Opportunity is never negative: activity "
         "above the benchmark ratio, and its cost.")


def opportunity_sheet_names(services: tuple[str, ...] | list[str],
                            taken: set[str] | None = None) -> dict[str, str]:
    """Return each service's sheet name: ``opportunity_<service>``, at most 31 characters.

    Forbidden characters become ``_``; a name cut to 31 characters that
    would repeat another (or one in ``taken``, compared ignoring case) ends
    in ``_2``, ``_3``, ... instead.
    """
    used = {t.lower() for t in (taken or set())}
    out = {}
    for service in services:
        name = sheet_name(f"opportunity_{service}")
        k = 2
        while name.lower() in used:
            suffix = f"_{k}"
            name = sheet_name(f"opportunity_{service}")[: 31 - len(suffix)] + suffix
            k += 1
        used.add(name.lower())
        out[service] = name
    return out


def add_opportunity_sheets(book: xlsxwriter.Workbook, needs: NeedsAndUse,
                           taken: set[str] | None = None, model: str | None = None,
                           run_at: str | None = None) -> list[str]:
    """Add one ``opportunity_<service>`` sheet per service (module docstring).

    Parameters
    ----------
    book : xlsxwriter.Workbook
        The results workbook being written.
    needs : NeedsAndUse
        ``results.needs_and_use``.
    taken : set of str, optional
        Sheet names already in the workbook.
    model : str, optional
        The model's name, for the title block and the footer.
    run_at : str, optional
        When the model was run (UTC; default: now).

    Returns
    -------
    list of str
        The sheets added, in the services' order.
    """
    board = BoardFormats(book)
    formats = CellFormats(book)
    when = run_at if run_at is not None else dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds")
    names = opportunity_sheet_names(needs.services, taken)
    for service, name in names.items():
        title = f"needs versus use, {service.replace('_', ' ')}, by {needs.level}"
        page = Page(model or "Needs versus use", title, _UNITS, _SIGN, when)
        _sheet(book.add_worksheet(name), needs, service, page, board, formats)
    return list(names.values())


def _sheet(sheet: xlsxwriter.worksheet.Worksheet, needs: NeedsAndUse, service: str,
           page: Page, board: BoardFormats, formats: CellFormats) -> None:
    table = needs.table(service)
    columns = [str(c) for c in table.columns]
    col = {c: i for i, c in enumerate(columns, start=1)}
    priced = needs.opportunity.price_gbp is not None
    labels = [needs.level.replace("_", " ")] + [board_label(c, _TABLE) for c in columns]
    write_page_top(sheet, page, [needs.level, *columns], labels, board)
    fmt = {c: formats(c, _TABLE) for c in columns}

    def at(column: str, row: int) -> str:
        return xl_rowcol_to_cell(row, col[column])

    codes = table.index.to_numpy(dtype=object)
    values = {c: table[c].to_numpy(dtype=object) for c in columns}
    live = {"ratio", "above_benchmark", "opportunity_activity", "opportunity_gbp"}
    if "cost_gbp" in col and not priced:
        live.add("unit_cost_gbp")
    for r, code in enumerate(codes, start=FIRST_ROW):  # one row per unit, as every level sheet
        sheet.write_string(r, 0, str(code))
        o, e, b = at("observed", r), at("expected", r), at("benchmark_ratio", r)
        for c in columns:
            value = values[c][r - FIRST_ROW]
            if c not in live:
                if isinstance(value, float) and np.isinf(value):
                    value = None  # a zero count's log-scale z-score, −∞: left blank
                write_cell(sheet, r, col[c], value, fmt[c])
                continue
            if c == "ratio":
                formula = f"={o}/{e}"
            elif c == "above_benchmark":
                formula = f"={o}>{b}*{e}"
            elif c == "unit_cost_gbp":
                formula = f'=IF({o}=0,"",{at("cost_gbp", r)}/{o})'
            elif c == "opportunity_activity":
                formula = f"=MAX(0,{o}-{b}*{e})"
            else:
                p = at("opportunity_activity", r)
                formula = f"=IF({p}>0,ROUND({p}*{at('unit_cost_gbp', r)},2),0)"
            sheet.write_formula(r, col[c], formula, fmt[c], _cached(value))
    widths = [column_width(labels[0], codes, needs.level, None)]
    widths += [column_width(label, values[c], c, _TABLE)
               for label, c in zip(labels[1:], columns, strict=True)]
    for k, width in enumerate(widths):
        sheet.set_column(k, k, width)
    fit_header(sheet, labels, widths)
    last = _totals(sheet, needs, service, len(codes), col, board)
    fixed = 2 if columns[:1] == ["name"] else 1
    finish_page(sheet, page, len(columns) + 1, len(codes), fixed, totals=True)
    sheet.print_area(1, 0, last, len(columns))  # the notes under the totals print too


def _cached(value: object) -> float | str | bool:
    """Return a formula cell's cached value: Python's, with "" for NaN (a blank)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    number = float(value)  # type: ignore[arg-type]  # formula columns hold numbers
    return "" if np.isnan(number) else number


def _totals(sheet: xlsxwriter.worksheet.Worksheet, needs: NeedsAndUse, service: str,
            n: int, col: dict[str, int], board: BoardFormats) -> int:
    """Write the totals row and the notes under it; return the last row written (0-based)."""
    row = FIRST_ROW + n
    totals = needs.totals(service)
    sums: list[tuple[int, str, float]] = [(col[column], column, float(totals[column]))
            for column in ("observed", "expected", "cost_gbp", "opportunity_activity",
                           "opportunity_gbp")
            if column in col and column in totals.index]
    ratio = number_format("ratio", _TABLE)
    write_totals(sheet, n, sums, board, {c: number_format(name, _TABLE) for c, name, _ in sums})
    o = xl_rowcol_to_cell(row, col["observed"])
    e = xl_rowcol_to_cell(row, col["expected"])
    sheet.write_formula(row, col["ratio"], f"={o}/{e}", board.total(ratio),
                        float(totals["ratio"]))
    f = needs.opportunity.funnels[service]
    spec = needs.spec
    peers = ", ".join(needs.opportunity.peers.indicators)
    adjusted = (f"{f.overdispersion} overdispersion (φ = {f.phi:.4g}, τ² = {f.tau2:.4g})"
                if f.adjusted else f"no overdispersion adjustment (φ = {f.phi:.4g})")
    benchmark = {"best_peers": f"the mean ratio of the best {spec.best} of the "
                               f"{spec.similar} most similar units",
                 "peer_median": f"the median ratio of the {spec.similar} most similar units",
                 "lowest_quartile": "the lower quartile of the ratio across all units"}
    notes = [
        f"Funnel: {f.method} scale, {adjusted}, target {f.target:g}; limits and flags are "
        "values from the whole funnel.",
        f"Benchmark ratio: {benchmark[needs.opportunity.benchmark]} (Mahalanobis distance "
        f"over {peers}).",
        "Opportunity = MAX(0, observed − benchmark ratio × expected); in pounds at "
        + ("the given price per activity." if needs.opportunity.price_gbp is not None
           else "the unit's own cost per activity."),
    ]
    for k, note in enumerate(notes, start=row + 2):
        sheet.write_string(k, 0, note, board.note)
    return row + 1 + len(notes)
