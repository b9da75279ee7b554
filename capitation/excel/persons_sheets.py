"""Workbook sheets of the person-level path: ``tiers`` and ``opportunity``.

Method: docs/methods/weighted-capitation.md#from-people.

Derived columns are live Excel formulas over the cells beside them, each
with its Python value cached, so a finance team can audit them: on
``tiers`` the population share, need share and target per head; on
``opportunity`` the reduction needed within each tier (reduction / need
share). Person budgets never go into a workbook (the assumptions sheet says
where any Parquet parts went).

Both are laid out to print (:mod:`capitation.excel.board`): a hidden row of
the exact column names, the title block, a header of labels from
:mod:`capitation.columns`, one row per tier from row 7; ``tiers`` ends in a
totals row, ``opportunity`` in the reduction analysed (the cell its formulas
read) and the cohort holding half the need.
"""

from __future__ import annotations

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
    print_columns,
    write_page_top,
    write_totals,
)
from capitation.excel.tables import CellFormats, write_cell

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["add_persons_sheets"]

_TIERS_UNITS = ("People as whole numbers; shares as % of the whole population or of its "
                "need; money in pounds (£).")
_OPPORTUNITY_UNITS = "Shares and reductions as %."


def _cell(row: int, col: int, absolute: bool = False) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=absolute, col_abs=absolute)


def _lay_out(sheet: xlsxwriter.worksheet.Worksheet, labels: list[str],
             values: list[np.ndarray], keys: list[str], table: str,
             first: float = 0.0) -> list[float]:
    """Set each column's width to fit its label and values (the first at least ``first``)."""
    widths = [column_width(label, column, key, table)
              for label, column, key in zip(labels, values, keys, strict=True)]
    widths[0] = max(widths[0], first)
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    fit_header(sheet, labels, widths)
    return widths


def add_persons_sheets(book: xlsxwriter.Workbook, results: Results,
                       reduction: float = 0.10) -> None:
    """Add the ``tiers`` and ``opportunity`` sheets.

    Parameters
    ----------
    book : xlsxwriter.Workbook
        The results workbook being written.
    results : capitation.results.Results
        A run with person-level rows.
    reduction : float
        The cut analysed on the ``opportunity`` sheet (0.10 means 10%).
    """
    board = BoardFormats(book)
    formats = CellFormats(book)
    model, years = results.spec.name, ", ".join(results.years)
    names = ["tier", "persons", "population_share", "need_share", "target_gbp",
             "target_per_head_gbp"]
    labels = [board_label(name, "tiers") for name in names]
    fmt = [formats(name, "tiers") for name in names]
    tiers = results.tiers
    n = len(tiers)
    last = FIRST_ROW + n - 1  # zero-based row of the last tier
    sheet = book.add_worksheet("tiers")
    page = Page(model, f"risk tiers of the person-level population, {years}", _TIERS_UNITS,
                "", results.run_at)
    write_page_top(sheet, page, names, labels, board)
    persons_range = f"{_cell(FIRST_ROW, 1, True)}:{_cell(last, 1, True)}"
    for r, (tier, row) in enumerate(tiers.iterrows(), start=FIRST_ROW):  # a few tiers
        sheet.write_string(r, 0, str(tier))
        write_cell(sheet, r, 1, int(row["persons"]), fmt[1])
        sheet.write_formula(r, 2, f"={_cell(r, 1)}/SUM({persons_range})", fmt[2],
                            float(row["population_share"]))
        write_cell(sheet, r, 3, float(row["need_share"]), fmt[3])
        write_cell(sheet, r, 4, float(row["target_gbp"]), fmt[4])
        value = row["target_per_head_gbp"]
        sheet.write_formula(r, 5, f'=IF({_cell(r, 1)}=0,"",{_cell(r, 4)}/{_cell(r, 1)})',
                            fmt[5], "" if np.isnan(value) else float(value))
    sums = [(1, "persons", float(tiers["persons"].sum())),
            (4, "target_gbp", float(tiers["target_gbp"].sum()))]
    write_totals(sheet, n, sums, board, {c: number_format(name, "tiers") for c, name, _ in sums})
    note = last + 3
    text = ("Need share: each tier's share of the unrounded person budgets "
            "(docs/methods/weighted-capitation.md#from-people).")
    sheet.write_string(note, 0, text, board.note)
    values = [tiers.index.to_numpy(dtype=object),
              *(tiers[name].to_numpy(dtype=object) for name in names[1:])]
    widths = _lay_out(sheet, labels, values, names, "tiers")
    finish_page(sheet, page, len(names), n, 1, totals=True)
    # The note prints too, and the title whole.
    sheet.print_area(1, 0, note, print_columns(page, widths, [text]) - 1)

    opportunity = results.opportunity(reduction)
    sheet = book.add_worksheet("opportunity")
    page = Page(model, f"reduction in need each risk tier would have to make, {years}",
                _OPPORTUNITY_UNITS, "", results.run_at)
    names = ["tier", "need_share", "required_reduction_in_tier", "possible"]
    labels = [board_label(name, "opportunity") for name in names]
    fmt = [formats(name, "opportunity") for name in names]
    write_page_top(sheet, page, names, labels, board)
    rows = len(opportunity.tiers)
    below = FIRST_ROW + rows + 1  # the reduction analysed, under the table
    reduction_cell = _cell(below, 1, True)
    for r, (tier, row) in enumerate(opportunity.tiers.iterrows(), start=FIRST_ROW):
        sheet.write_string(r, 0, str(tier))
        write_cell(sheet, r, 1, float(row["need_share"]), fmt[1])
        required = float(row["required_reduction_in_tier"])
        sheet.write_formula(r, 2, f"={reduction_cell}/{_cell(r, 1)}", fmt[2],
                            required if np.isfinite(required) else "")
        sheet.write_formula(r, 3, f"={_cell(r, 2)}<=1", fmt[3], bool(row["possible"]))
    sheet.write_string(below, 0, board_label("reduction", "opportunity"), board.total_label)
    sheet.write_number(below, 1, reduction, formats("reduction", "opportunity"))
    sheet.write_string(below + 1, 0, board_label("cohort_50_share", "opportunity"),
                       board.total_label)
    sheet.write_number(below + 1, 1, opportunity.cohort_50_share,
                       formats("cohort_50_share", "opportunity"))
    text = ("Cohort with half the need: the smallest top-ranked fraction of persons whose "
            "need reaches half of the total.")
    sheet.write_string(below + 2, 0, text, board.note)
    values = [opportunity.tiers.index.to_numpy(dtype=object),
              *(opportunity.tiers[name].to_numpy(dtype=object) for name in names[1:])]
    widths = _lay_out(sheet, labels, values, names, "opportunity",
                      first=len(board_label("cohort_50_share", "opportunity")) + 4.0)
    finish_page(sheet, page, len(names), rows, 1, totals=False)
    # The reduction analysed prints too, and the title whole.
    sheet.print_area(1, 0, below + 2, print_columns(page, widths, [text]) - 1)
