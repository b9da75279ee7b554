"""Every sheet of the risk-share workbooks is board-ready (tests/support/board_ready.py).

Cases: the settlement workbook of models/msk_agreement.toml with
models/msk_outturn.csv (as ``risk-share settle --out`` writes it, and with an
override so it has an ``assumptions`` sheet), and a small simulation
workbook of the same agreement (60 scenarios, seed 5). Each visible sheet:
a title block naming the agreement; headers of labels (no underscore, no
"gbp"); money in £, fractions in %; landscape, one page wide, print titles,
the agreement and "Page x of y" in the footer; the table sheets an
autofilter and a totals row of live SUBTOTALs for their money.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from risk_share import Agreement
from risk_share.cli import main
from risk_share.excel.settlement_workbook import settlement_sheets
from tests.support.board_ready import assert_formats, assert_labels, assert_prints

ROOT = Path(__file__).resolve().parents[3]
MSK_AGREEMENT = ROOT / "models" / "msk_agreement.toml"
MSK_OUTTURN = ROOT / "models" / "msk_outturn.csv"
NAME = Agreement.from_toml(MSK_AGREEMENT).name


@pytest.fixture(scope="module")
def settlement_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("board") / "settlement.xlsx"
    assert main(["settle", str(MSK_AGREEMENT), str(MSK_OUTTURN), "--out", str(out), "--quiet",
                 "--set", "party.Acute trust.max_loss=0.03"]) == 0
    return openpyxl.load_workbook(out)


@pytest.fixture(scope="module")
def simulation_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("board") / "simulation.xlsx"
    assert main(["simulate", str(MSK_AGREEMENT), str(MSK_OUTTURN), "-n", "60", "--cv", "0.05",
                 "--seed", "5", "--out", str(out), "--quiet"]) == 0
    return openpyxl.load_workbook(out)


def _row(sheet, r: int) -> list:
    return [c.value for c in sheet[r] if c.value is not None]


def _title_block(sheet, where: str) -> None:
    assert sheet.row_dimensions[1].hidden, where  # the machine key row
    assert sheet["A2"].value.startswith(f"{NAME}: "), where
    assert "2018/19" in sheet["A2"].value, where
    assert "£" in sheet["A3"].value or sheet["A3"].value == "As text.", where
    assert sheet["A5"].value.startswith("Run at "), where


def test_every_settlement_sheet_is_board_ready(settlement_book):
    book = settlement_book
    visible = [s.title for s in book.worksheets if s.sheet_state == "visible"]
    assert visible == ["settled_lines", "parties", "agreement_terms", "assumptions"]
    assert book["_columns"].sheet_state == "hidden"
    for name in visible:
        sheet = book[name]
        _title_block(sheet, name)
        assert_prints(sheet, NAME, name)
    # The sign convention in the title block, where money can be negative.
    for name in ("settled_lines", "parties", "agreement_terms"):
        assert book[name]["A4"].value.startswith("Sign: "), name

    for name, rows, fixed in (("settled_lines", 9, "$A:$C"), ("parties", 3, "$A:$A")):
        sheet = book[name]
        keys = [c.value for c in sheet[1]]
        labels = [c.value for c in sheet[6]]
        assert len(labels) == len(keys), name
        assert_labels(labels, name)
        assert assert_formats(sheet, 7, keys, name, name) >= 4, name
        assert sheet.print_title_rows == "$6:$6" and sheet.print_title_cols == fixed, name
        assert sheet.auto_filter.ref.startswith("A6:"), name
        total = 7 + rows
        assert sheet[f"A{total}"].value == "Total", name
        money = [c for c, key in enumerate(keys, start=1)
                 if key.endswith("_gbp") and key != "price_gbp"]
        letter = openpyxl.utils.get_column_letter
        for c in money:
            assert sheet.cell(total, c).value == (
                f"=SUBTOTAL(9,{letter(c)}7:{letter(c)}{total - 1})"), (name, keys[c - 1])
            assert sheet.cell(total, c).number_format.startswith("£#,##0"), name
    assert book["settled_lines"].freeze_panes == "D7"
    assert book["parties"].freeze_panes == "B7"

    # agreement_terms: three tables stacked under the title block, each with a labelled header.
    terms = book["agreement_terms"]
    settlement = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    sheets = settlement_sheets(settlement)
    assert _row(terms, 6) == ["Item", "Value", "About"]
    items = [terms.cell(r, 1).value for r in range(7, 14)]
    assert_labels(items, "agreement_terms items")
    assert items[5:] == ["Budget (£)", "Pooled variance (£)"]
    assert all(terms.cell(r, 2).number_format.startswith("£#,##0") for r in (12, 13))
    bands_header = next(r for r in range(14, 30) if terms.cell(r, 1).value == "Side")
    assert_labels(_row(terms, bands_header), "bands")
    assert assert_formats(terms, bands_header + 1, list(sheets.bands.columns),
                          "agreement_terms", "bands") >= 6
    caps_header = next(r for r in range(bands_header + 1, 40)
                       if terms.cell(r, 1).value == "Party")
    assert_labels(_row(terms, caps_header), "caps")
    acute = list(sheets.caps.index).index("Acute trust") + 1
    assert assert_formats(terms, caps_header + acute, ["party", *sheets.caps.columns],
                          "agreement_terms", "caps") == 4

    notes = book["assumptions"]
    assert _row(notes, 6) == ["Item", "Value"]
    assert notes["A7"].value == "overridden"


def test_every_simulation_sheet_is_board_ready(simulation_book):
    book = simulation_book
    assert book.sheetnames == ["summary", "positions", "assumptions"]
    summary = book["summary"]
    _title_block(summary, "summary")
    assert summary["A2"].value.endswith("60 scenarios, seed 5")
    assert summary["A4"].value == ("Final positions: positive = a loss borne by the party, "
                                   "negative = a gain.")
    keys = [c.value for c in summary[1]]
    assert_labels([c.value for c in summary[6]], "summary")
    assert assert_formats(summary, 7, keys, "simulation_summary", "summary") == 8
    assert summary.print_title_rows == "$6:$6" and summary.print_title_cols == "$A:$A"
    assert summary.freeze_panes == "B7" and summary.auto_filter.ref.startswith("A6:")

    positions = book["positions"]
    header = [c.value for c in positions[1]]
    assert header == ["Scenario", "CCG", "Acute trust", "Community MSK"]
    assert_labels(header, "positions")
    assert assert_formats(positions, 2, ["scenario", *header[1:]], "positions",
                          "positions") == 3
    assert positions.freeze_panes == "B2" and positions.auto_filter.ref == "A1:D61"
    widths = {c: d.width for d in positions.column_dimensions.values()
              for c in range(d.min, d.max + 1)}
    for c in (2, 3, 4):  # as wide as the widest amount as shown: -£1,234.56
        values = [positions.cell(r, c).value for r in range(2, 62)]
        shown = max(len(("-" if v < 0 else "") + f"£{abs(v):,.2f}") for v in values)
        assert widths[c] >= shown, (c, widths[c], shown)

    notes = book["assumptions"]
    _title_block(notes, "assumptions")
    assert _row(notes, 6) == ["Item", "Value"]
    for sheet in book.worksheets:
        assert_prints(sheet, NAME, sheet.title)
