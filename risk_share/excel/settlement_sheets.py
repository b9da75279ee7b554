"""Settlement workbook: ``settled_lines``, ``parties`` and ``agreement_terms``, with live formulas.

A risk share settlement (docs/methods (marginal rates, risk reward pool)) as a workbook a finance
team can audit. Every figure the settlement derives is a live formula over
the cells it comes from, and caches the value Python computed, so readers
that do not calculate see the same numbers as Excel or LibreOffice. R(x) is
``ROUND(x, 2)``; "V" is the pooled variance on ``agreement_terms``.

``settled_lines`` (one row per plan line; the line number in column A, then
the settlement's line columns, then ``above_plan``, ``below_plan``,
``tolerance`` and ``excess_gbp``, the rates as cells of the row)::

    planned_gbp           = ROUND(planned_activity × price_gbp, 2)
    actual_gbp            = ROUND(actual_activity × price_gbp, 2)
    variance_gbp          = ROUND(actual_gbp − planned_gbp, 2)
    tolerance_gbp         = ROUND(tolerance × planned_gbp, 2)
    excess_gbp            = SIGN(v) × MAX(0, ROUND(|v| − tolerance_gbp, 2))
    marginal_rate         = above_plan if v > 0, below_plan if v < 0, else 1 on an
                            own line and 0 otherwise
    marginal_payment_gbp  = ROUND(marginal_rate × excess_gbp, 2)

(The commissioner's own lines carry rates 1 and tolerance 0, so their
payment is their variance; a block carries rates 0.)

``agreement_terms``: the parameters the formulas need (budget, mode,
commissioner, residual), V = SUM of the marginal payments, one row per band
(bounds in pounds and the band's slice of V; shares one column per party),
and each party's cap and collar in pounds.

    upper_gbp  = ROUND(upto × budget_gbp, 8)        lower_gbp = the previous band's upper
    loss_cap_gbp, gain_collar_gbp = ROUNDDOWN(max_loss or max_gain × budget_gbp, 2):
               inward to whole pence, so no rounding takes a party past its cap
    slice_gbp  corridor:     the part of |V| between lower and upper, signed like V
               first_dollar: V when |V| is in (lower, upper], else 0
    (loss bands when V > 0, gain bands when V < 0)

``parties`` (one row per party, agreement order; the four settlement columns,
then one column per band, ``band_share_gbp`` and ``unrounded_pool_share_gbp``)::

    variance_before_pool_gbp  provider: SUMIFS(variance) − SUMIFS(payment) over its lines;
                              commissioner: V
    <side>_band_<k>_gbp       = slice_gbp × the party's share of the band
    band_share_gbp            = SUM of its band columns
    unrounded_pool_share_gbp  capped: MIN(band share, cap) (a loss) or −MIN(−band share,
                              collar) (a gain); residual: its band share plus what every
                              capped party gave up; others: the band share
    pool_share_gbp            a value: rounded by largest remainder (no formula does that)
    final_position_gbp        provider: before + pool share; commissioner: pool share
    pool_transfer_gbp         = final − before

Every sheet is laid out for a board (:mod:`capitation.excel.board`): a title
block (the agreement, what the sheet is, the year, the units, the sign
convention, when it was settled), a header of labels from
:mod:`capitation.columns`, money as £ and rates as %, and the page set up to
print (landscape, one page wide, print titles, the agreement and "Page x of
y" in the footer). ``settled_lines`` and ``parties`` start with a hidden row
of the exact column names (the machine key), the title block and the
labelled header (row 6), the data from row 7 and, under it, a totals row of
live ``SUBTOTAL`` formulas for the money; panes frozen under the header, an
autofilter on it. A hidden sheet ``_columns`` says where each table sits
(:mod:`capitation.excel.keyed_tables`), so
:func:`risk_share.excel.settlement_reader.read_settlement` reads the parties
back whatever the visible header says. ``agreement_terms`` stacks three
tables under its title block (the terms, the bands with their total, the
caps), so it has no autofilter.

Under each table, after a blank row, a note states the sign convention
(:data:`risk_share.settlement.SIGN_CONVENTION`); no formula refers to it.

A party name that ``SUMIFS`` would read as a pattern or a comparison (``*``,
``?``, ``~``, a leading ``=``, ``<``, ``>``, or a name equal to another but for
case) is matched exactly with ``SUMPRODUCT(--EXACT(...))`` instead. Text from
the inputs (party names, PODs) is always written as text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsFloat, cast

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from capitation.columns import number_format
from capitation.excel.board import (
    FIRST_ROW,
    HEADER_ROW,
    KEY_ROW,
    BoardFormats,
    Page,
    adds_up,
    board_label,
    column_width,
    finish_page,
    fit_header,
    header_lines,
    write_page_top,
    write_text_table,
    write_totals,
)
from capitation.excel.keyed_tables import write_keys
from capitation.excel.tables import CellFormats, write_cell
from capitation.files import write_atomically
from risk_share.settlement import SIGN_CONVENTION

__all__ = ["SettlementSheets", "write_settlement_workbook", "LINES_SHEET", "PARTIES_SHEET",
           "TERMS_SHEET", "TERM_ROWS", "SIGN_NOTES", "KEY_ROW", "HEADER_ROW", "FIRST_ROW"]

LINES_SHEET = "settled_lines"
PARTIES_SHEET = "parties"
TERMS_SHEET = "agreement_terms"
# Zero-based rows of ``settled_lines`` and ``parties`` (:mod:`capitation.excel.board`):
# KEY_ROW, the hidden key row (the exact column names, read by
# :func:`risk_share.excel.settlement_reader.read_settlement`); the title block; HEADER_ROW,
# the labelled header; FIRST_ROW, the first row of data.
#: Rows of the key/value block of ``agreement_terms`` (under its header, :data:`HEADER_ROW`).
TERM_ROWS = ("name", "year", "commissioner", "residual", "mode", "budget_gbp",
             "pooled_variance_gbp")
_TERM_ABOUT = {
    "budget_gbp": "pool budget: band bounds and cap fractions refer to it",
    "pooled_variance_gbp": "V: the sum of the marginal payments (positive = loss)",
    "mode": "corridor: each slice at its band's shares; first_dollar: all of V at the "
            "shares of the band it falls in",
    "residual": "takes what a capped party cannot",
}
_LINE_FORMULAS = {
    "planned_gbp": "=ROUND({planned_activity}{r}*{price_gbp}{r},2)",
    "actual_gbp": "=ROUND({actual_activity}{r}*{price_gbp}{r},2)",
    "variance_gbp": "=ROUND({actual_gbp}{r}-{planned_gbp}{r},2)",
    "tolerance_gbp": "=ROUND({tolerance}{r}*{planned_gbp}{r},2)",
    "excess_gbp": ("=SIGN({variance_gbp}{r})"
                   "*MAX(0,ROUND(ABS({variance_gbp}{r})-{tolerance_gbp}{r},2))"),
    "marginal_rate": ('=IF({variance_gbp}{r}>0,{above_plan}{r},IF({variance_gbp}{r}<0,'
                      '{below_plan}{r},IF({rate_rule}{r}="own line",1,0)))'),
    "marginal_payment_gbp": "=ROUND({marginal_rate}{r}*{excess_gbp}{r},2)",
}
#: The note under each sheet's tables: how to read the signs of its money.
SIGN_NOTES = {
    LINES_SHEET: ("Sign: a variance is positive when actual is above plan (an overspend); "
                  "a marginal payment is positive when the commissioner pays more than plan "
                  "(it adds to the pooled variance) and negative when it pays less."),
    PARTIES_SHEET: SIGN_CONVENTION,
    TERMS_SHEET: ("Sign: the pooled variance and each band's slice are positive for an "
                  "overspend (a loss to share) and negative for a saving (a gain to share); "
                  "a loss cap and a gain collar are amounts, each limiting a party's loss or "
                  "gain."),
}
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _.,&'()/-]*")
_BANDS_HEADER_ROW = FIRST_ROW + len(TERM_ROWS) + 1  # one blank row after the key/value block
#: What each sheet is, for its title block.
_TITLES = {LINES_SHEET: "settled plan lines", PARTIES_SHEET: "settlement by party",
           TERMS_SHEET: "agreement terms, bands and caps", "assumptions": "assumptions"}
_UNITS = {
    LINES_SHEET: "Money in pounds (£); activity in each line's own units; rates and "
                 "tolerances as % (a marginal rate of 100% passes the whole excess on).",
    PARTIES_SHEET: "Money in pounds (£).",
    TERMS_SHEET: "Money in pounds (£); band bounds, shares and caps as % (of the budget).",
    "assumptions": "As text: money in pounds (£), rates as fractions (0.02 = 2%).",
}
#: Height of one line of a wrapped header (points), as :mod:`capitation.excel.board` sets it.
_LINE_POINTS = 15.0


@dataclass(frozen=True, eq=False)
class SettlementSheets:
    """What a settlement workbook shows, computed by :mod:`risk_share.excel.settlement_workbook`.

    Attributes
    ----------
    lines : pandas.DataFrame
        Index ``line``; party, pod, planned_activity, actual_activity,
        price_gbp, fixed, planned_gbp, actual_gbp, variance_gbp, rate_rule,
        tolerance_gbp, marginal_rate, marginal_payment_gbp (the settlement's
        lines, in that order), then above_plan, below_plan, tolerance (the
        rates of the line: 1, 1, 0 on own lines; 0, 0, 0 on a block) and
        excess_gbp.
    parties : pandas.DataFrame
        Index ``party`` (agreement order); variance_before_pool_gbp,
        pool_share_gbp, final_position_gbp, pool_transfer_gbp, then one
        ``<side>_band_<k>_gbp`` column per band of :attr:`bands` (in its
        order), band_share_gbp and unrounded_pool_share_gbp.
    terms : dict
        name, year, commissioner, residual, mode (``corridor`` or
        ``first_dollar``), budget_gbp and pooled_variance_gbp.
    bands : pandas.DataFrame
        One row per band, loss bands then gain bands: side (``loss`` or
        ``gain``), band (from 1), upto (NaN on the last), lower_gbp,
        upper_gbp (NaN on the last), slice_gbp, then one share column per
        party (``share:<party>``, agreement order).
    caps : pandas.DataFrame
        Index ``party`` (agreement order): max_loss, max_gain (fractions of
        the budget, NaN when none or given in pounds), loss_cap_gbp,
        gain_collar_gbp (NaN when none).
    assumptions : tuple of (str, str)
        (item, value) rows of an ``assumptions`` sheet, written only when there
        are any: the overrides of the agreement's file.
    run_at : str
        When the outturn was settled (UTC), for each sheet's title block.
    """

    lines: pd.DataFrame
    parties: pd.DataFrame
    terms: dict
    bands: pd.DataFrame
    caps: pd.DataFrame
    assumptions: tuple[tuple[str, str], ...] = ()
    run_at: str = ""


def write_settlement_workbook(sheets: SettlementSheets, path: str | Path) -> Path:
    """Write a settlement workbook with live formulas, atomically.

    Parameters
    ----------
    sheets : SettlementSheets
        The settlement's tables and the agreement's terms.
    path : str or Path
        Output ``.xlsx``.

    Returns
    -------
    Path
        ``path``.
    """

    def write(tmp: Path) -> None:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_urls": False,
                                              "strings_to_numbers": False,
                                              "nan_inf_to_errors": True})
        formats = {
            "board": BoardFormats(book),
            "columns": CellFormats(book),
            "about": book.add_format({"italic": True, "font_color": "#595959"}),
            "sign": book.add_format({"italic": True, "font_color": "#404040", "text_wrap": True,
                                     "valign": "top"}),
        }
        pages = {name: _page(sheets, name) for name in _TITLES}
        lines = book.add_worksheet(LINES_SHEET)
        parties = book.add_worksheet(PARTIES_SHEET)
        terms = book.add_worksheet(TERMS_SHEET)
        line_cols = _write_lines(lines, sheets.lines, formats, pages[LINES_SHEET])
        layout = _write_terms(terms, sheets, line_cols, formats, pages[TERMS_SHEET])
        _write_parties(parties, sheets, line_cols, layout, formats, pages[PARTIES_SHEET])
        # Below every table, after one blank row: the lines and the parties (each with its
        # totals row), the caps.
        below = {LINES_SHEET: FIRST_ROW + len(sheets.lines) + 2,
                 PARTIES_SHEET: FIRST_ROW + len(sheets.parties) + 2,
                 TERMS_SHEET: layout.below}
        for sheet, name in ((lines, LINES_SHEET), (parties, PARTIES_SHEET),
                            (terms, TERMS_SHEET)):
            sheet.write_string(below[name], 0, SIGN_NOTES[name], formats["about"])
        if sheets.assumptions:
            notes = book.add_worksheet("assumptions")
            write_text_table(notes, pages["assumptions"], ["item", "value"], ["Item", "Value"],
                             sheets.assumptions, formats["board"])
        year = str(sheets.terms["year"])
        write_keys(book, [(sheet, sheet, year, KEY_ROW + 1, FIRST_ROW + 1, len(table))
                          for sheet, table in ((LINES_SHEET, sheets.lines),
                                               (PARTIES_SHEET, sheets.parties))])
        book.close()

    return write_atomically(path, write)


def _page(sheets: SettlementSheets, sheet: str) -> Page:
    """Return the title block of one sheet: the agreement, what the sheet is, the year."""
    title = f"{_TITLES[sheet]}, {sheets.terms['year']}"
    return Page(str(sheets.terms["name"]), title, _UNITS[sheet], SIGN_NOTES.get(sheet, ""),
                sheets.run_at)


def _labels(names: list[str], table: str) -> list[str]:
    """Return the visible header of a table: each column's label (:mod:`capitation.columns`)."""
    return [board_label(name, table) for name in names]


def _fit_table(sheet: Worksheet, flat: pd.DataFrame, names: list[str], labels: list[str],
               table: str, formats: dict, page: Page, fixed: int) -> None:
    """Size the columns and header, add the totals row and set the page up to print."""
    widths = [column_width(label, flat[name].to_numpy(dtype=object), name, table)
              for name, label in zip(names, labels, strict=True)]
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    fit_header(sheet, labels, widths)
    sums = [(c, name, _total(flat[name].to_numpy(dtype=float)))
            for c, name in enumerate(names) if c and adds_up(name, table)]
    write_totals(sheet, len(flat), sums, formats["board"],
                 {c: number_format(name, table) for c, name, _ in sums})
    finish_page(sheet, page, len(names), len(flat), fixed, totals=True)


def _total(values: np.ndarray) -> float:
    """Return a totals cell's cached value: the blanks left out, summed with one rounding."""
    return math.fsum(values[~np.isnan(values)])


def _format(column: str, table: str, formats: dict) -> Format | None:
    """Return the cell format of a column of ``table`` (capitation.columns)."""
    cell_formats: CellFormats = formats["columns"]
    return cell_formats(column, table)


def _cached(value: object) -> float | str:
    """Return a formula cell's cached result: Python's number, or "" for a blank (NaN)."""
    number = float(cast(SupportsFloat, value))  # formula cells hold numbers
    return "" if math.isnan(number) else number


def _number(frame: pd.DataFrame, row: int, column: str) -> float:
    """Return a number column's cell (NaN for a blank); pandas-stubs types ``.at`` as any scalar."""
    return cast(float, frame.at[row, column])


def _header(sheet: Worksheet, row: int, labels: list[str], widths: list[float],
            formats: dict) -> None:
    """Write the labelled header of a block of ``agreement_terms``, tall enough to wrap."""
    for c, label in enumerate(labels):
        sheet.write_string(row, c, label, formats["board"].header)
    lines = max((header_lines(t, w) for t, w in zip(labels, widths, strict=False)), default=1)
    sheet.set_row(row, _LINE_POINTS * lines)


def _write_lines(sheet: Worksheet, frame: pd.DataFrame, formats: dict,
                 page: Page) -> dict[str, str]:
    """Write ``settled_lines``; return column name → letter."""
    flat = frame.reset_index()
    names = [str(c) for c in flat.columns]
    letters = {name: xl_col_to_name(c) for c, name in enumerate(names)}
    labels = _labels(names, LINES_SHEET)
    write_page_top(sheet, page, names, labels, formats["board"])
    for c, name in enumerate(names):
        values = flat[name].to_numpy(dtype=object)
        fmt = _format(name, LINES_SHEET, formats)
        template = _LINE_FORMULAS.get(name)
        for r, value in enumerate(values, start=FIRST_ROW):
            if template is None:
                write_cell(sheet, r, c, value, fmt)
            else:
                sheet.write_formula(r, c, template.format(r=r + 1, **letters), fmt,
                                    _cached(value))
    fixed = 3 if names[1:3] == ["party", "pod"] else 1  # the line, its party and POD
    _fit_table(sheet, flat, names, labels, LINES_SHEET, formats, page, fixed)
    return letters


@dataclass(frozen=True)
class _TermsLayout:
    """Absolute references on ``agreement_terms`` that the parties sheet uses."""

    variance: str
    band_slice: dict[tuple[str, int], str]
    band_share: dict[tuple[str, int, str], str]
    loss_cap: dict[str, str]
    gain_collar: dict[str, str]
    below: int


def _ref(column: int, row: int) -> str:
    """Absolute reference on agreement_terms (zero-based column and row)."""
    return f"{TERMS_SHEET}!${xl_col_to_name(column)}${row + 1}"


def _write_terms(sheet: Worksheet, sheets: SettlementSheets, line_cols: dict[str, str],
                 formats: dict, page: Page) -> _TermsLayout:
    """Write ``agreement_terms``: title block, terms, bands (and their total), caps; print setup."""
    terms = sheets.terms
    bands = sheets.bands.reset_index(drop=True)
    names = [str(c) for c in bands.columns]
    caps = sheets.caps.reset_index()
    cap_names = [str(c) for c in caps.columns]
    band_labels = _labels(names, TERMS_SHEET)
    cap_labels = _labels(cap_names, TERMS_SHEET)
    term_labels = [board_label(key, TERMS_SHEET) for key in TERM_ROWS]
    widths = [float(min(40, 2 + max(len(t) for t in [*term_labels, "Total", band_labels[0]]
                                    + [str(p) for p in caps.iloc[:, 0]])))]
    widths += [column_width(label, bands[name].to_numpy(dtype=object), name, TERMS_SHEET)
               for name, label in zip(names[1:], band_labels[1:], strict=True)]
    for c, (name, label) in enumerate(zip(cap_names[1:], cap_labels[1:], strict=True), 1):
        width = column_width(label, caps[name].to_numpy(dtype=object), name, TERMS_SHEET)
        if c < len(widths):
            widths[c] = max(widths[c], width)
        else:
            widths.append(width)
    widths[1] = max(widths[1], 16.0)  # the terms' values: the budget, the pooled variance
    for c, width in enumerate(widths):
        sheet.set_column(c, c, width)
    write_page_top(sheet, page, ["item", "value", "about"], ["Item", "Value", "About"],
                   formats["board"])
    # The sign convention is longer than the page is wide: wrapped across the printed columns.
    lines = math.ceil(1.1 * len(page.sign) / sum(widths))
    if lines > 1:
        sheet.merge_range(3, 0, 3, len(widths) - 1, page.sign, formats["sign"])
        sheet.set_row(3, _LINE_POINTS * lines)
    row_of = {key: r for r, key in enumerate(TERM_ROWS, start=FIRST_ROW)}
    n_lines = len(sheets.lines)
    payments = line_cols["marginal_payment_gbp"]
    for key, r in row_of.items():
        sheet.write_string(r, 0, board_label(key, TERMS_SHEET))
        if key == "pooled_variance_gbp":
            sheet.write_formula(
                r, 1, f"=ROUND(SUM({LINES_SHEET}!${payments}${FIRST_ROW + 1}:${payments}"
                      f"${FIRST_ROW + n_lines}),2)",
                _format(key, TERMS_SHEET, formats), _cached(terms[key]))
        else:
            write_cell(sheet, r, 1, terms[key], _format(key, TERMS_SHEET, formats))
        if key in _TERM_ABOUT:
            sheet.write_string(r, 2, _TERM_ABOUT[key], formats["about"])
    budget = f"$B${row_of['budget_gbp'] + 1}"
    variance = f"$B${row_of['pooled_variance_gbp'] + 1}"
    corridor = terms["mode"] == "corridor"

    col = {name: c for c, name in enumerate(names)}
    letter = {name: xl_col_to_name(c) for c, name in enumerate(names)}
    top = _BANDS_HEADER_ROW
    _header(sheet, top, band_labels, widths, formats)
    band_slice, band_share = {}, {}
    for i in range(len(bands)):
        r = top + 1 + i
        side, k = str(bands.at[i, "side"]), int(_number(bands, i, "band"))
        last = i + 1 == len(bands) or str(bands.at[i + 1, "side"]) != side
        sign = ">" if side == "loss" else "<"
        lower, upper = f"{letter['lower_gbp']}{r + 1}", f"{letter['upper_gbp']}{r + 1}"
        for name in names:
            value = bands.at[i, name]
            fmt = _format(name, TERMS_SHEET, formats)
            if name == "lower_gbp" and k > 1:
                sheet.write_formula(r, col[name], f"={letter['upper_gbp']}{r}", fmt,
                                    _cached(value))
            elif name == "upper_gbp" and not last:
                sheet.write_formula(r, col[name],
                                    f"=ROUND({letter['upto']}{r + 1}*{budget},8)", fmt,
                                    _cached(value))
            elif name == "slice_gbp":
                if corridor:
                    piece = (f"MAX(ABS({variance})-{lower},0)" if last else
                             f"MIN(MAX(ABS({variance})-{lower},0),{upper}-{lower})")
                    signed = piece if side == "loss" else f"-{piece}"
                    formula = f"=IF({variance}{sign}0,{signed},0)"
                else:
                    inside = f"ABS({variance})>{lower}" + ("" if last else
                                                          f",ABS({variance})<={upper}")
                    formula = f"=IF(AND({variance}{sign}0,{inside}),{variance},0)"
                sheet.write_formula(r, col[name], formula, fmt, _cached(value))
            else:
                write_cell(sheet, r, col[name], value, fmt)
        band_slice[(side, k)] = _ref(col["slice_gbp"], r)
        for name in names:
            if name.startswith("share:"):
                band_share[(side, k, name[len("share:"):])] = _ref(col[name], r)

    # The bands' total: the slices add up to V, whichever side and mode.
    total_row = top + 1 + len(bands)
    slices = letter["slice_gbp"]
    sheet.write_string(total_row, 0, "Total", formats["board"].total_label)
    sheet.write_formula(
        total_row, col["slice_gbp"],
        f"=SUM({slices}{top + 2}:{slices}{total_row})" if len(bands) else "=0",
        formats["board"].total(number_format("slice_gbp", TERMS_SHEET)),
        _total(bands["slice_gbp"].to_numpy(dtype=float)))

    cap_col = {name: c for c, name in enumerate(cap_names)}
    cap_top = total_row + 2
    _header(sheet, cap_top, cap_labels, widths, formats)
    loss_cap, gain_collar = {}, {}
    for i in range(len(caps)):
        r = cap_top + 1 + i
        party = str(caps.iloc[i, 0])
        for name in cap_names:
            value = caps.at[i, name]
            fmt = _format(name, TERMS_SHEET, formats)
            fraction = {"loss_cap_gbp": "max_loss", "gain_collar_gbp": "max_gain"}.get(name)
            if fraction is not None and not pd.isna(_number(caps, i, fraction)):
                fraction_cell = f"{xl_col_to_name(cap_col[fraction])}{r + 1}"
                sheet.write_formula(r, cap_col[name], f"=ROUNDDOWN({fraction_cell}*{budget},2)",
                                    fmt, _cached(value))
            else:
                write_cell(sheet, r, cap_col[name], value, fmt)
        if not pd.isna(_number(caps, i, "loss_cap_gbp")):
            loss_cap[party] = _ref(cap_col["loss_cap_gbp"], r)
        if not pd.isna(_number(caps, i, "gain_collar_gbp")):
            gain_collar[party] = _ref(cap_col["gain_collar_gbp"], r)
    last_row = cap_top + len(caps)
    # Stacked tables: no frozen panes or autofilter (a filter would hide the others' rows).
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1, 4)  # the title block
    sheet.repeat_columns(0)
    sheet.print_area(1, 0, last_row, len(widths) - 1)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_footer(f"&L{page.model.replace('&', '&&')}&RPage &P of &N")
    return _TermsLayout(variance=_ref(1, row_of["pooled_variance_gbp"]),
                        band_slice=band_slice, band_share=band_share, loss_cap=loss_cap,
                        gain_collar=gain_collar, below=last_row + 2)


def _matched_by_sumifs(name: str, names: list[str]) -> bool:
    """Whether SUMIFS with the name as its criterion matches exactly this party's lines."""
    folded = [n.casefold() for n in names]
    return bool(_PLAIN_NAME.fullmatch(name)) and folded.count(name.casefold()) == 1


def _write_parties(sheet: Worksheet, sheets: SettlementSheets, line_cols: dict[str, str],
                   layout: _TermsLayout, formats: dict, page: Page) -> None:
    frame = sheets.parties
    flat = frame.reset_index()
    names = [str(c) for c in flat.columns]
    letter = {name: xl_col_to_name(c) for c, name in enumerate(names)}
    labels = _labels(names, PARTIES_SHEET)
    write_page_top(sheet, page, names, labels, formats["board"])
    parties = [str(p) for p in frame.index]
    n_lines = len(sheets.lines)

    def lines_range(column: str) -> str:
        c = line_cols[column]
        return f"{LINES_SHEET}!${c}${FIRST_ROW + 1}:${c}${FIRST_ROW + n_lines}"

    band_columns = [n for n in names if re.fullmatch(r"(loss|gain)_band_\d+_gbp", n)]
    commissioner = str(sheets.terms["commissioner"])
    residual = str(sheets.terms["residual"])
    capped = [p for p in parties if p in layout.loss_cap or p in layout.gain_collar]
    row_of = {p: r for r, p in enumerate(parties, start=FIRST_ROW + 1)}
    for i, party in enumerate(parties):
        r = i + FIRST_ROW + 1  # 1-based
        cell = {n: f"{letter[n]}{r}" for n in names}
        formulas: dict[str, str] = {}
        if party == commissioner:
            formulas["variance_before_pool_gbp"] = f"={layout.variance}"
            formulas["final_position_gbp"] = f"={cell['pool_share_gbp']}"
        else:
            party_range = lines_range("party")
            if _matched_by_sumifs(party, parties):
                formulas["variance_before_pool_gbp"] = (
                    f"=SUMIFS({lines_range('variance_gbp')},{party_range},$A{r})"
                    f"-SUMIFS({lines_range('marginal_payment_gbp')},{party_range},$A{r})")
            else:
                formulas["variance_before_pool_gbp"] = (
                    f"=SUMPRODUCT(--EXACT({party_range},$A{r}),"
                    f"{lines_range('variance_gbp')}-{lines_range('marginal_payment_gbp')})")
            formulas["final_position_gbp"] = (f"={cell['variance_before_pool_gbp']}"
                                              f"+{cell['pool_share_gbp']}")
        formulas["pool_transfer_gbp"] = (f"={cell['final_position_gbp']}"
                                         f"-{cell['variance_before_pool_gbp']}")
        for name in band_columns:
            side, _, k, _ = name.split("_")
            formulas[name] = (f"={layout.band_slice[(side, int(k))]}"
                              f"*{layout.band_share[(side, int(k), party)]}")
        band = cell["band_share_gbp"]
        formulas["band_share_gbp"] = (f"=SUM({cell[band_columns[0]]}:{cell[band_columns[-1]]})"
                                      if band_columns else "=0")
        cap, collar = layout.loss_cap.get(party), layout.gain_collar.get(party)
        if cap and collar:
            unrounded = f"=IF({band}>0,MIN({band},{cap}),-MIN(-{band},{collar}))"
        elif cap:
            unrounded = f"=IF({band}>0,MIN({band},{cap}),{band})"
        elif collar:
            unrounded = f"=IF({band}<0,-MIN(-{band},{collar}),{band})"
        elif party == residual:
            given_up = "".join(
                f"+({letter['band_share_gbp']}{row_of[p]}"
                f"-{letter['unrounded_pool_share_gbp']}{row_of[p]})" for p in capped)
            unrounded = f"={band}{given_up}"
        else:
            unrounded = f"={band}"
        formulas["unrounded_pool_share_gbp"] = unrounded
        sheet.write_string(r - 1, 0, party)
        for c, name in enumerate(names[1:], start=1):
            value = flat.at[i, name]
            fmt = _format(name, PARTIES_SHEET, formats)
            if name in formulas:
                sheet.write_formula(r - 1, c, formulas[name], fmt, _cached(value))
            else:
                write_cell(sheet, r - 1, c, value, fmt)  # pool_share_gbp: largest remainder
    _fit_table(sheet, flat, names, labels, PARTIES_SHEET, formats, page, 1)
