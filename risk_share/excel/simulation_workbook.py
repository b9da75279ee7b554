"""Simulation workbook (``risk-share simulate --out``): summary, positions, assumptions.

The ``summary`` sheet is laid out for a board (:mod:`capitation.excel.board`):
a hidden row of the exact column names, a title block (the agreement, the
year, how many scenarios and the seed, the units, the sign convention, when
it was run), a header of labels from :mod:`capitation.columns`, money as £
and the chance of a loss as %, the notes under the table, and the page set
up to print (landscape, one page wide, print titles, the agreement and "Page
x of y" in the footer). It has no totals row: percentiles and risk measures
of parties do not add up.

Each ``positions`` sheet (``positions``, ``positions_2``, ...) is data, one
row per scenario under a single header row (the scenario, then each party's
name), so a sheet holds :data:`capitation.excel.tables.MAX_SHEET_ROWS`
scenarios; panes frozen, an autofilter, widths that fit, and set to print
landscape, one page wide. ``assumptions`` lists the settings
(:func:`capitation.excel.board.write_text_table`).

The workbook is written in constant memory: each row goes to disk once the
next one starts, so a million scenarios take no more memory than ten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from capitation.excel.board import (
    FIRST_ROW,
    BoardFormats,
    Page,
    board_label,
    column_width,
    finish_page,
    fit_header,
    write_page_top,
    write_text_table,
)
from capitation.excel.tables import CellFormats, write_rows
from capitation.files import write_atomically
from risk_share.settlement import POSITION_SIGN

__all__ = ["SimulationPages", "write_simulation_workbook"]

_SUMMARY = "simulation_summary"
_POSITIONS = "positions"


@dataclass(frozen=True)
class SimulationPages:
    """What the title blocks of a simulation workbook say.

    Attributes
    ----------
    agreement : str
        The agreement's name (title and footer).
    year : str
        Its financial year.
    scenarios : int
        How many scenarios were simulated.
    seed : int or None
        The seed (the same seed gives the same scenarios).
    drawn : str
        How the scenarios were drawn ("cv 0.05, correlation 0.2, lognormal").
    run_at : str
        When it was run (UTC).
    """

    agreement: str
    year: str
    scenarios: int
    seed: int | None
    drawn: str
    run_at: str

    def page(self, title: str, units: str, sign: str) -> Page:
        """Return the title block of one sheet."""
        return Page(self.agreement, f"{title}, {self.year}: {self.scenarios:,} scenarios, "
                                    f"seed {self.seed}", units, sign, self.run_at)


def write_simulation_workbook(path: str | Path, pages: SimulationPages, summary: pd.DataFrame,
                              positions: Mapping[str, pd.DataFrame],
                              settings: Sequence[tuple[str, str]], notes: Sequence[str],
                              progress: Callable[[int], object] | None = None) -> Path:
    """Write the simulation workbook, atomically.

    Parameters
    ----------
    path : str or Path
        Output ``.xlsx``.
    pages : SimulationPages
        The title blocks.
    summary : pandas.DataFrame
        :meth:`risk_share.simulation.Simulation.summary` (index ``party``).
    positions : mapping of str to pandas.DataFrame
        Sheet name to its part of :attr:`risk_share.simulation.Simulation.positions`
        (:func:`capitation.excel.tables.split_rows`).
    settings : sequence of (str, str)
        The ``assumptions`` sheet's (item, value) rows.
    notes : sequence of str
        Lines written under the summary table, after one blank row.
    progress : callable, optional
        Called with the number of rows just written (a progress bar's ``update``).

    Returns
    -------
    Path
        ``path``.
    """
    sign = f"Final positions: {POSITION_SIGN}."

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "strings_to_numbers": False,
                                              "nan_inf_to_errors": True,
                                              "constant_memory": True})
        board = BoardFormats(book)
        cells = CellFormats(book)
        note = book.add_format({"italic": True, "font_color": "#595959"})
        sheet = book.add_worksheet("summary")
        page = pages.page("simulated final positions",
                          f"Money in pounds (£); the chance of a loss as %. Scenarios drawn "
                          f"with {pages.drawn}.", sign)
        _write_summary(sheet, page, summary, notes, board, cells, note)
        if progress is not None:
            progress(len(summary))
        for name, frame in positions.items():
            _write_positions(book.add_worksheet(name), page, frame, board, cells, progress)
        text = book.add_worksheet("assumptions")
        write_text_table(text, pages.page("simulation settings", "As text.", ""),
                         ["item", "value"], ["Item", "Value"], settings, board)
        if progress is not None:
            progress(len(settings))
        book.close()

    return write_atomically(path, write)


def _write_summary(sheet: Worksheet, page: Page, summary: pd.DataFrame, notes: Sequence[str],
                   board: BoardFormats, cells: CellFormats, note: xlsxwriter.format.Format
                   ) -> None:
    """Write the summary in the board layout; rows strictly in order (constant memory)."""
    flat = summary.reset_index()
    names = [str(c) for c in flat.columns]
    labels = [board_label(name, _SUMMARY) for name in names]
    columns = [flat[name].to_numpy(dtype=object) for name in names]
    widths = [column_width(label, values, name, _SUMMARY)
              for name, label, values in zip(names, labels, columns, strict=True)]
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    write_page_top(sheet, page, names, labels, board)
    fit_header(sheet, labels, widths)
    formats = [cells(name, _SUMMARY) if c else None for c, name in enumerate(names)]
    write_rows(sheet, FIRST_ROW, columns, formats)
    for k, line in enumerate(notes):
        sheet.write_string(FIRST_ROW + len(flat) + 1 + k, 0, line, note)
    finish_page(sheet, page, len(names), len(flat), 1, totals=False)


def _write_positions(sheet: Worksheet, page: Page, frame: pd.DataFrame, board: BoardFormats,
                     cells: CellFormats, progress: Callable[[int], object] | None) -> None:
    """Write one sheet of scenarios under a single header row of labels; set it up to filter."""
    flat = frame.reset_index()
    names = [str(c) for c in flat.columns]
    labels = [board_label(names[0], _POSITIONS), *names[1:]]  # then each party, by name
    columns = [flat[name].to_numpy() for name in names]
    for c, (name, label, values) in enumerate(zip(names, labels, columns, strict=True)):
        ends = (np.array([np.nanmin(values), np.nanmax(values)], dtype=object) if len(values)
                else np.array([], dtype=object))  # the widest shown is the least or the most
        sheet.set_column(c, c, column_width(label, ends, name, _POSITIONS))
    for c, label in enumerate(labels):
        sheet.write_string(0, c, label, board.header)
    formats = [cells(name, _POSITIONS) for name in names]
    write_rows(sheet, 1, columns, formats, progress)
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(flat), 1), len(names) - 1)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.repeat_columns(0)
    sheet.set_footer(f"&L{page.model.replace('&', '&&')}&RPage &P of &N")
