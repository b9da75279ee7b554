"""Workbook sheets of the person-level path: ``tiers`` and ``opportunity``.

Method: docs/methods/weighted-capitation.md#from-people.

Derived columns are live Excel formulas over the cells beside them, each
with its Python value cached, so a finance team can audit them: on
``tiers`` the population share, need share and target per head; on
``opportunity`` the reduction needed within each tier (reduction / need
share). Person budgets never go into a workbook (the assumptions sheet says
where any Parquet parts went).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from capitation.excel.tables import CellFormats, write_cell

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["add_persons_sheets"]


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
    header = book.add_format({"bold": True, "bottom": 1, "text_wrap": True})
    formats = CellFormats(book)
    names = ["tier", "persons", "population_share", "need_share", "target_gbp",
             "target_per_head_gbp"]
    fmt = [formats(name, "tiers") for name in names]
    tiers = results.tiers
    n = len(tiers)
    last = n  # zero-based row of the last tier
    sheet = book.add_worksheet("tiers")
    for c, name in enumerate(names):
        sheet.write_string(0, c, name, header)

    def cell(row: int, col: int, absolute: bool = False) -> str:
        return xl_rowcol_to_cell(row, col, row_abs=absolute, col_abs=absolute)

    persons_range = f"{cell(1, 1, True)}:{cell(last, 1, True)}"
    target_range = f"{cell(1, 4, True)}:{cell(last, 4, True)}"
    for r, (tier, row) in enumerate(tiers.iterrows(), start=1):  # a few tiers
        sheet.write_string(r, 0, str(tier))
        write_cell(sheet, r, 1, int(row["persons"]), fmt[1])
        sheet.write_formula(r, 2, f"={cell(r, 1)}/SUM({persons_range})", fmt[2],
                            float(row["population_share"]))
        write_cell(sheet, r, 3, float(row["need_share"]), fmt[3])
        write_cell(sheet, r, 4, float(row["target_gbp"]), fmt[4])
        value = row["target_per_head_gbp"]
        sheet.write_formula(r, 5, f'=IF({cell(r, 1)}=0,"",{cell(r, 4)}/{cell(r, 1)})', fmt[5],
                            "" if np.isnan(value) else float(value))
    sheet.write_string(last + 2, 0, "total")
    sheet.write_formula(last + 2, 1, f"=SUM({persons_range})", fmt[1],
                        int(tiers["persons"].sum()))
    sheet.write_formula(last + 2, 4, f"=SUM({target_range})", fmt[4],
                        float(tiers["target_gbp"].sum()))
    sheet.write_string(last + 3, 0, "need_share: each tier's share of the unrounded person "
                                    "budgets (docs/methods/weighted-capitation.md#from-people)")
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 5, 18)
    sheet.freeze_panes(1, 1)

    opportunity = results.opportunity(reduction)
    sheet = book.add_worksheet("opportunity")
    sheet.write_string(0, 0, "reduction", header)
    sheet.write_number(0, 1, reduction, formats("reduction", "opportunity"))
    sheet.write_string(1, 0, "cohort_50_share", header)
    sheet.write_number(1, 1, opportunity.cohort_50_share, formats("cohort_50_share", "opportunity"))
    sheet.write_string(2, 0, "smallest top-ranked fraction of persons whose need reaches half "
                             "of the total")
    top = 4
    names = ["tier", "need_share", "required_reduction_in_tier", "possible"]
    fmt = [formats(name, "opportunity") for name in names]
    for c, name in enumerate(names):
        sheet.write_string(top, c, name, header)
    for r, (tier, row) in enumerate(opportunity.tiers.iterrows(), start=top + 1):
        sheet.write_string(r, 0, str(tier))
        write_cell(sheet, r, 1, float(row["need_share"]), fmt[1])
        required = float(row["required_reduction_in_tier"])
        sheet.write_formula(r, 2, f"={cell(0, 1, True)}/{cell(r, 1)}", fmt[2],
                            required if np.isfinite(required) else "")
        sheet.write_formula(r, 3, f"={cell(r, 2)}<=1", fmt[3], bool(row["possible"]))
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 3, 22)
