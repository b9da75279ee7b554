"""A sheet a board can print: title block, labelled header, totals, widths, page setup.

Every table sheet of the results workbook has the same shape (zero-based rows):

====  =================================================================
row   what
====  =================================================================
0     hidden: the exact column names (the machine key, read by
      :func:`capitation.excel.results_reader.read_results`)
1     the title: model, what the table is, the year
2     the units
3     the sign convention, where money or a change can be negative
4     when the model was run
5     the header: each column's label from :mod:`capitation.columns`
6     the first row of data
====  =================================================================

then, under the data, a totals row where a column adds up (money and
people, a live ``SUBTOTAL`` so a filtered view totals what it shows). The
page is set up to print: landscape, one page wide, the header and the code
(and name) columns repeated on every page, the model and "Page x of y" in the
footer; panes frozen under the header, an autofilter on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from capitation.columns import find

__all__ = ["Page", "BoardFormats", "KEY_ROW", "HEADER_ROW", "FIRST_ROW", "board_label",
           "adds_up", "column_width", "header_lines", "write_page_top", "fit_header",
           "write_totals", "finish_page", "write_text_table", "print_columns"]

KEY_ROW = 0
HEADER_ROW = 5
FIRST_ROW = 6

#: Widest a column grows for long text (names), in characters: the longest ICB name,
#: "NHS Bath and North East Somerset, Swindon and Wiltshire ICB", prints whole.
_MAX_WIDTH = 60
#: Widest the last column of a table of text grows (its text wraps past it), in characters.
_MAX_TEXT_WIDTH = 80
#: Widest the other columns of a table of text grow (items such as "Population file").
_MAX_KEY_WIDTH = 48

#: Width Excel gives a column it was given no width (characters).
_DEFAULT_WIDTH = 8.43
#: How much wider than 11-point text the 14-point bold title is, per character (as
#: LibreOffice printed the person-level demo's tiers).
_TITLE_SCALE = 1.2

#: Height of one line of the header (points): 11-point bold text and its leading.
_LINE_POINTS = 15.0


@dataclass(frozen=True)
class Page:
    """What the title block and the footer of one sheet say.

    Attributes
    ----------
    model : str
        The model's name (footer and title).
    title : str
        What the table is ("Allocation by ICB, 2025/26").
    units : str
        The units of its figures.
    sign : str
        The sign convention ("" where nothing can be negative).
    run_at : str
        When the model was run (UTC).
    """

    model: str
    title: str
    units: str
    sign: str
    run_at: str


class BoardFormats:
    """The formats of the title block, header and totals of one workbook."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self._book = book
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.note = book.add_format({"italic": True, "font_color": "#404040"})
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "bottom",
                                       "bottom": 1, "bg_color": "#DCE6F1"})
        self.total_label = book.add_format({"bold": True, "top": 1, "bottom": 6})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self._totals: dict[str, Format] = {}

    def total(self, number_format: str) -> Format:
        """Return the bold, ruled format of a totals cell with ``number_format``."""
        if number_format not in self._totals:
            self._totals[number_format] = self._book.add_format(
                {"bold": True, "top": 1, "bottom": 6, "num_format": number_format})
        return self._totals[number_format]


def board_label(name: str, table: str | None) -> str:
    """Return the header a person reads: the schema's label, never an identifier.

    A component, party or level named with underscores shows them as spaces.
    """
    entry = find(name, table) if table is not None else find(name)
    text = entry.label if entry is not None else name
    return text.replace("_", " ")


def adds_up(name: str, table: str | None) -> bool:
    """Say whether a column's total means something: money and people, not rates per head."""
    entry = find(name, table) if table is not None else find(name)
    if entry is None or entry.unit not in ("gbp", "persons"):
        return False
    return "per_head" not in name and "price" not in name


def _shown(value: object, unit: str | None) -> str:
    """Roughly how a value looks in its cell (for the column's width)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if unit == "gbp":
            return f"-£{abs(number):,.2f}"
        if unit == "fraction":
            return f"{number * 100:.2f}%"
        if unit == "index":
            return f"{number:.3f}"
        if unit == "persons":
            return f"{number:,.0f}"
        return f"{number:,.4f}"
    return str(value)


def column_width(label: str, values: np.ndarray, name: str, table: str | None) -> float:
    """Return a width (characters) that fits the column's values and its label, wrapped.

    The label may wrap onto three lines but no word is split; values never
    wrap (a number too wide shows ``###``), so the widest value sets the floor.
    """
    entry = find(name, table) if table is not None else find(name)
    unit = entry.unit if entry is not None else None
    widest = max((len(_shown(v, unit)) for v in values), default=0)
    longest_word = max((len(w) for w in label.split()), default=0)
    wanted = max(widest, longest_word, -(-len(label) // 3))
    while wanted + 2 < _MAX_WIDTH and header_lines(label, wanted + 2) > 3:
        wanted += 1  # whole words may need a little more room than a third of the label
    return float(min(_MAX_WIDTH, wanted + 2))


def header_lines(label: str, width: float) -> int:
    """Return how many lines ``label`` wraps onto in a column ``width`` characters wide.

    Words wrap whole, as Excel and LibreOffice wrap them; a cell's padding
    and bold type take about two characters of the width (the margin
    :func:`column_width` adds).
    """
    room = max(1.0, width - 2)
    lines, used = 1, 0
    for word in label.split():
        if used and used + 1 + len(word) > room:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def fit_header(sheet: Worksheet, labels: list[str], widths: list[float]) -> None:
    """Make the header row tall enough for its longest wrapped label.

    A row left to its default height is not always grown to fit wrapped text
    when the sheet is printed (LibreOffice showed the last two lines of a
    three-line label); the height is set from the wrapping instead.

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        The sheet.
    labels : list of str
        The header, one label per column.
    widths : list of float
        The columns' widths (characters), in the same order.
    """
    lines = max((header_lines(t, w) for t, w in zip(labels, widths, strict=True)), default=1)
    sheet.set_row(HEADER_ROW, _LINE_POINTS * lines)


def write_page_top(sheet: Worksheet, page: Page, keys: list[str], labels: list[str],
                   formats: BoardFormats) -> None:
    """Write the hidden key row, the title block and the header.

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        The sheet.
    page : Page
        Its title block.
    keys : list of str
        The exact column names, code column first (the hidden machine key).
    labels : list of str
        The visible header, one per key.
    formats : BoardFormats
        The workbook's formats.
    """
    for c, key in enumerate(keys):
        sheet.write_string(KEY_ROW, c, key)
    sheet.set_row(KEY_ROW, None, None, {"hidden": True})
    sheet.write_string(1, 0, f"{page.model}: {page.title}", formats.title)
    sheet.write_string(2, 0, page.units, formats.note)
    if page.sign:
        sheet.write_string(3, 0, page.sign, formats.note)
    sheet.write_string(4, 0, f"Run at {page.run_at} (UTC)", formats.note)
    for c, text in enumerate(labels):
        sheet.write_string(HEADER_ROW, c, text, formats.header)


def write_totals(sheet: Worksheet, rows: int, columns: list[tuple[int, str, float]],
                 formats: BoardFormats, number_formats: dict[int, str]) -> None:
    """Write the totals row under ``rows`` data rows: a live SUBTOTAL per column that adds up.

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        The sheet.
    rows : int
        Data rows (from :data:`FIRST_ROW`).
    columns : list of (int, str, float)
        Zero-based column, its name, and Python's total (the cached value).
    formats : BoardFormats
        The workbook's formats.
    number_formats : dict of int to str
        Column → its Excel number format.
    """
    row = FIRST_ROW + rows
    sheet.write_string(row, 0, "Total", formats.total_label)
    first, last = FIRST_ROW + 1, FIRST_ROW + rows
    for col, _, total in columns:
        letter = xl_col_to_name(col)
        formula = f"=SUBTOTAL(9,{letter}{first}:{letter}{last})" if rows else "=0"
        sheet.write_formula(row, col, formula, formats.total(number_formats[col]), total)


def finish_page(sheet: Worksheet, page: Page, columns: int, rows: int, fixed: int,
                totals: bool) -> None:
    """Freeze the panes, add the autofilter and set the page up to print.

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        The sheet.
    page : Page
        Its title block (the footer names the model).
    columns : int
        Columns written (code column included).
    rows : int
        Data rows.
    fixed : int
        Columns to keep in view and repeat on every page (code, and name).
    totals : bool
        Whether a totals row follows the data.
    """
    sheet.freeze_panes(FIRST_ROW, fixed)
    sheet.autofilter(HEADER_ROW, 0, HEADER_ROW + max(rows, 1), columns - 1)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.repeat_columns(0, fixed - 1)
    sheet.print_area(1, 0, FIRST_ROW + rows - 1 + (1 if totals else 0), columns - 1)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    model = page.model.replace("&", "&&")
    sheet.set_footer(f"&L{model}&RPage &P of &N")


def write_text_table(sheet: Worksheet, page: Page, keys: list[str], labels: list[str],
                     rows: Sequence[Sequence[str]], formats: BoardFormats) -> None:
    """Write a table of text (provenance, settings) laid out like every other table sheet.

    The hidden key row, the title block and the labelled header, then one row
    per item, written as text; columns as wide as their text (the last one
    wraps past :data:`_MAX_TEXT_WIDTH` characters); no totals; panes frozen
    under the header and beside the first column, an autofilter, and the
    page set up to print (:func:`finish_page`).

    Parameters
    ----------
    sheet : xlsxwriter.worksheet.Worksheet
        The sheet.
    page : Page
        Its title block.
    keys : list of str
        The exact column names (the hidden machine key).
    labels : list of str
        The visible header, one per key.
    rows : sequence of sequence of str
        The rows, one text per key.
    formats : BoardFormats
        The workbook's formats.
    """
    write_page_top(sheet, page, keys, labels, formats)
    last = len(keys) - 1
    for r, row in enumerate(rows, start=FIRST_ROW):
        for c, text in enumerate(row):
            sheet.write_string(r, c, text, formats.wrap if c == last else None)
    for c, label in enumerate(labels):
        longest = max([len(row[c]) for row in rows] + [len(w) for w in label.split()])
        widest = _MAX_TEXT_WIDTH if c == last else _MAX_KEY_WIDTH
        sheet.set_column(c, c, float(min(widest, longest + 2)))
    finish_page(sheet, page, len(keys), len(rows), 1, totals=False)


def print_columns(page: Page, widths: Sequence[float], notes: Sequence[str] = ()) -> int:
    """Return how many columns a page must print so its title block and notes print whole.

    A narrow table (a few tiers) is narrower than its title; the print area
    stops at the table's last column and would cut the title off, so it runs
    on over empty columns (Excel's default width) until the widest line fits.

    Parameters
    ----------
    page : Page
        The title block.
    widths : sequence of float
        The table's columns' widths (characters).
    notes : sequence of str
        Lines of 11-point text under the table, in the first column.

    Returns
    -------
    int
        Columns to print: at least ``len(widths)``.
    """
    lines = [len(f"{page.model}: {page.title}") * _TITLE_SCALE,
             *(len(t) for t in (page.units, page.sign, *notes))]
    wanted = max(lines)
    columns, used = 0, 0.0
    while used < wanted or columns < len(widths):
        used += widths[columns] if columns < len(widths) else _DEFAULT_WIDTH
        columns += 1
    return columns
