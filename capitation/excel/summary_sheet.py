"""The results workbook's first sheet, ``summary``: the run's headline figures and its chart.

The figures come from :meth:`capitation.results.Results.headlines` and
:meth:`capitation.results.Results.movers` (this module computes nothing); the
chart is a native Excel bar chart of distance from target at the pace-of-change
level (or the top level without pace of change), drawn from that level's sheet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from capitation.excel.board import FIRST_ROW, BoardFormats
from capitation.excel.formulas import quote_sheet
from capitation.excel.read import column_letter
from capitation.excel.tables import CellFormats, write_cell

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["add_summary_sheet", "SUMMARY_SHEET"]

SUMMARY_SHEET = "summary"


def add_summary_sheet(book: xlsxwriter.Workbook, results: Results,
                      sheets: dict[str, str], formats: BoardFormats,
                      cells: CellFormats) -> Worksheet:
    """Add the ``summary`` sheet (call it first: it opens the workbook).

    Parameters
    ----------
    book : xlsxwriter.Workbook
        The results workbook.
    results : Results
        The run.
    sheets : dict of str to str
        Level → its sheet name, for the first year.
    formats : BoardFormats
        Title and header formats.
    cells : CellFormats
        Number formats.

    Returns
    -------
    xlsxwriter.worksheet.Worksheet
    """
    sheet = book.add_worksheet(SUMMARY_SHEET)
    year = results.years[0]
    level = results.chart_level()
    sheet.write_string(0, 0, f"{results.spec.name}: summary, {year}", formats.title)
    sheet.write_string(1, 0, "Money in pounds (£). Distance from target: negative = below "
                             "target (less than the fair share by need).", formats.note)
    sheet.write_string(2, 0, f"Run at {results.run_at} (UTC)", formats.note)
    sheet.write_string(4, 0, "Headline figures", formats.header)
    sheet.write_string(4, 1, "", formats.header)
    row = 5
    for label, value, number_format in results.headlines(year):
        sheet.write_string(row, 0, label)
        write_cell(sheet, row, 1, value, cells.number(number_format))
        row += 1
    movers = results.movers(year)
    if movers is not None and len(movers):
        row += 1
        sheet.write_string(row, 0, f"Biggest movers by {level}: growth from the baseline",
                           formats.header)
        columns = [("Growth (%)", "growth"), ("Allocation (£)", "allocation_gbp"),
                   ("Distance from target (%)", "distance_from_target")]
        sheet.write_string(row + 1, 0, "Organisation", formats.header)
        for c, (label, _) in enumerate(columns, start=1):
            sheet.write_string(row + 1, c, label, formats.header)
        for r, (code, values) in enumerate(movers.iterrows(), start=row + 2):
            name = values.get("name") if "name" in movers.columns else None
            shown = f"{name} ({code})" if isinstance(name, str) and name else str(code)
            sheet.write_string(r, 0, shown)
            for c, (_, column) in enumerate(columns, start=1):
                write_cell(sheet, r, c, values[column], cells(column, "level"))
        row += 2 + len(movers)
    sheet.set_column(0, 0, 46)
    sheet.set_column(1, 3, 22)
    _add_chart(book, sheet, results, level, sheets[level], row + 1)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 1)
    sheet.set_footer(f"&L{results.spec.name.replace('&', '&&')}&RPage &P of &N")
    sheet.activate()
    return sheet


def _add_chart(book: xlsxwriter.Workbook, sheet: Worksheet, results: Results, level: str,
               name: str, row: int) -> None:
    """Add a bar chart of distance from target, one bar per organisation, from the level's sheet."""
    table = results.table(level)
    columns = list(map(str, table.columns))
    first, last = FIRST_ROW + 1, FIRST_ROW + len(table)
    where = quote_sheet(name)
    label = "B" if columns[:1] == ["name"] else "A"
    value = column_letter(columns.index("distance_from_target") + 1)
    chart = book.add_chart({"type": "bar"})
    chart.add_series({
        "name": "Distance from target",
        "categories": f"={where}!${label}${first}:${label}${last}",
        "values": f"={where}!${value}${first}:${value}${last}",
        "fill": {"color": "#005EB8"},
        "invert_if_negative": False,
    })
    chart.set_title({"name": f"Distance from target by {level}, {results.years[0]}"})
    chart.set_x_axis({"num_format": "0.0%", "name": "Distance from target (negative = below)"})
    chart.set_y_axis({"reverse": True, "num_font": {"size": 7}})
    chart.set_legend({"none": True})
    chart.set_size({"width": 900, "height": max(320, 14 * len(table) + 80)})
    sheet.insert_chart(row, 0, chart)
