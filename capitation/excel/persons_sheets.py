"""Workbook sheets of the person-level path (domain.md §2.2): ``tiers`` and ``opportunity``.

Derived columns are live Excel formulas over the cells beside them, each
with its Python value cached, so a finance team can audit them: on
``tiers`` the population share, need share and target per head; on
``opportunity`` the reduction needed within each tier (reduction / need
share). Person budgets never go into a workbook (the assumptions sheet says
where any Parquet parts went).
"""

from __future__ import annotations

import numpy as np
from xlsxwriter.utility import xl_rowcol_to_cell

from capitation.excel.tables import MONEY_FORMAT, write_cell

__all__ = ["add_persons_sheets"]


def add_persons_sheets(book, results, reduction: float = 0.10) -> None:
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
    money = book.add_format({"num_format": MONEY_FORMAT})
    percent = book.add_format({"num_format": "0.00%"})
    count = book.add_format({"num_format": "#,##0"})
    tiers = results.tiers
    n = len(tiers)
    last = n  # zero-based row of the last tier
    sheet = book.add_worksheet("tiers")
    for c, name in enumerate(["tier", "persons", "population_share", "need_share",
                              "target_gbp", "target_per_head_gbp"]):
        sheet.write_string(0, c, name, header)

    def cell(row: int, col: int, absolute: bool = False) -> str:
        return xl_rowcol_to_cell(row, col, row_abs=absolute, col_abs=absolute)

    persons_range = f"{cell(1, 1, True)}:{cell(last, 1, True)}"
    target_range = f"{cell(1, 4, True)}:{cell(last, 4, True)}"
    for r, (name, row) in enumerate(tiers.iterrows(), start=1):  # a few tiers
        sheet.write_string(r, 0, str(name))
        write_cell(sheet, r, 1, int(row["persons"]), count)
        sheet.write_formula(r, 2, f"={cell(r, 1)}/SUM({persons_range})", percent,
                            float(row["population_share"]))
        write_cell(sheet, r, 3, float(row["need_share"]), percent)
        write_cell(sheet, r, 4, float(row["target_gbp"]), money)
        value = row["target_per_head_gbp"]
        sheet.write_formula(r, 5, f'=IF({cell(r, 1)}=0,"",{cell(r, 4)}/{cell(r, 1)})', money,
                            "" if np.isnan(value) else float(value))
    sheet.write_string(last + 2, 0, "total")
    sheet.write_formula(last + 2, 1, f"=SUM({persons_range})", count,
                        int(tiers["persons"].sum()))
    sheet.write_formula(last + 2, 4, f"=SUM({target_range})", money,
                        float(tiers["target_gbp"].sum()))
    sheet.write_string(last + 3, 0, "need_share: each tier's share of the unrounded person "
                                    "budgets (domain.md 2.2)")
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 5, 18)
    sheet.freeze_panes(1, 1)

    opportunity = results.opportunity(reduction)
    sheet = book.add_worksheet("opportunity")
    sheet.write_string(0, 0, "reduction", header)
    sheet.write_number(0, 1, reduction, percent)
    sheet.write_string(1, 0, "cohort_50_share", header)
    sheet.write_number(1, 1, opportunity.cohort_50_share, percent)
    sheet.write_string(2, 0, "smallest top-ranked fraction of persons whose need reaches half "
                             "of the total")
    top = 4
    for c, name in enumerate(["tier", "need_share", "required_reduction_in_tier", "possible"]):
        sheet.write_string(top, c, name, header)
    for r, (name, row) in enumerate(opportunity.tiers.iterrows(), start=top + 1):
        sheet.write_string(r, 0, str(name))
        write_cell(sheet, r, 1, float(row["need_share"]), percent)
        required = float(row["required_reduction_in_tier"])
        sheet.write_formula(r, 2, f"={cell(0, 1, True)}/{cell(r, 1)}", percent,
                            required if np.isfinite(required) else "")
        sheet.write_formula(r, 3, f"={cell(r, 2)}<=1", None, bool(row["possible"]))
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 3, 22)
