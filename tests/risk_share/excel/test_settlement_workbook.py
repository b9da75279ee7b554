"""Settlement workbooks: live formulas recalculated by LibreOffice equal Python's settlement.

Every formula cell of each settlement workbook is recalculated by LibreOffice
(headless, throwaway profile set to recalculate on load; one run for every
workbook) and compared with the value Python cached in it: money within
£0.01, every other number within 1e-9 x max(1, |value|). Cases: docs/methods/settlement.md's worked
settlement (corridor, both modes), the same lines with the
Acute trust capped (a loss) and collared (a gain), models/msk_agreement.toml
with models/msk_outturn.csv in both modes, and party names that start like
formulas.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from risk_share import Agreement
from risk_share.excel.settlement_workbook import settlement_sheets, write_settlement
from tests.risk_share.conftest import ISSUE_AGREEMENT
from tests.support.libreoffice import recalculate, soffice

ROOT = Path(__file__).resolve().parents[3]
MSK_AGREEMENT = ROOT / "models" / "msk_agreement.toml"
MSK_OUTTURN = ROOT / "models" / "msk_outturn.csv"
HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)"]

# docs/methods/settlement.md's five lines.
LINES = pd.DataFrame({
    "party": ["Acute trust", "Acute trust", "Acute trust", "Community MSK", "CCG"],
    "pod": ["Outpatient first", "Elective inpatient", "Emergency", "Physiotherapy-led triage",
            "Independent sector"],
    "planned_activity": [15_000, 1_900, 3_000, 13_000, 500],
    "actual_activity": [16_500, 1_750, 3_400, 12_000, 650],
    "price_gbp": [155.0, 4_100.0, 2_500.0, 122.0, 4_000.0],
})


def _agreement(mode: str = "corridor", names: dict[str, str] | None = None,
               max_loss_gbp: float | None = None, three_bands: bool = False) -> Agreement:
    data = copy.deepcopy(ISSUE_AGREEMENT)
    data["pool"]["mode"] = mode
    if three_bands:  # a middle band, between 1% and 3% of the budget
        data["pool"]["loss_band"].insert(
            1, {"upto": 0.03, "shares": {"CCG": 0.5, "Community MSK": 0.5}})
    if max_loss_gbp is not None:  # a cap in pounds instead of a fraction
        del data["party"][1]["max_loss"]
        data["party"][1]["max_loss_gbp"] = max_loss_gbp
    if names:
        text = repr(data)
        for old, new in names.items():
            text = text.replace(repr(old), repr(new))
        data = eval(text)  # noqa: S307 - our own dict's repr
    return Agreement.from_dict(data)


def _lines(actual_scale: float = 1.0, names: dict[str, str] | None = None) -> pd.DataFrame:
    lines = LINES.copy()
    lines["actual_activity"] = lines["actual_activity"] * actual_scale
    if names:
        lines["party"] = lines["party"].replace(names)
    return lines


def _cases(folder: Path) -> dict[str, tuple]:
    hostile = {"Acute trust": HOSTILE[0], "Community MSK": HOSTILE[1], "CCG": HOSTILE[2]}
    cases = {
        # docs/methods/settlement.md: V = £629,700.00; CCG 491,880 / Acute 91,880 / Community
        # 45,940.
        "example_corridor": (_agreement("corridor"), LINES),
        "example_first_dollar": (_agreement("first_dollar"), LINES),
        # Actual activity up by 60%: V is large enough for the Acute trust's cap to bind.
        "capped_loss": (_agreement("corridor"), _lines(1.6)),
        "capped_loss_gbp": (_agreement("first_dollar", max_loss_gbp=300_000), _lines(1.3)),
        # Actual activity down by 40%: the Acute trust's collar binds.
        "collared_gain": (_agreement("corridor"), _lines(0.4)),
        "collared_gain_first_dollar": (_agreement("first_dollar"), _lines(0.4)),
        # At 1.6 times the activity V is £7.1m (18% of B): every band of three has a slice.
        # docs/methods/settlement.md's V of £629,700 (1.57%) lies in the middle band, 1% to 3%.
        "three_bands_corridor": (_agreement("corridor", three_bands=True), _lines(1.6)),
        "three_bands_first_dollar": (_agreement("first_dollar", three_bands=True), LINES),
        "hostile_names": (_agreement("corridor", hostile), _lines(1.6, hostile)),
        "msk_corridor": (Agreement.from_toml(MSK_AGREEMENT), MSK_OUTTURN),
    }
    msk = Agreement.from_toml(MSK_AGREEMENT)
    cases["msk_first_dollar"] = (dataclasses.replace(msk, mode="first_dollar"), MSK_OUTTURN)
    written = {}
    for name, (agreement, lines) in cases.items():
        settlement = agreement.settle(lines)
        written[name] = (write_settlement(settlement, folder / f"{name}.xlsx"), settlement)
    return written


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    assert soffice() is not None, "LibreOffice is needed: run .ci/ensure_libreoffice.sh"
    folder = tmp_path_factory.mktemp("settlements")
    written = _cases(folder / "in")
    started = time.perf_counter()
    outputs = recalculate([path for path, _ in written.values()], folder / "out")
    seconds = time.perf_counter() - started
    print(f"LibreOffice recalculated {len(outputs)} settlement workbooks in {seconds:.1f} s")
    return {name: (path, out, settlement) for (name, (path, settlement)), out
            in zip(written.items(), outputs, strict=True)}


def _formula_cells(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    book = openpyxl.load_workbook(path)
    cells = {sheet.title: [(c.row - 1, c.column - 1, c.value) for row in sheet.iter_rows()
                           for c in row if c.data_type == "f"] for sheet in book.worksheets}
    book.close()
    return cells


def _money_cells(path: Path) -> set[tuple[str, int, int]]:
    """(sheet, row, column), zero-based, of every cell shown in pounds (a £ number format)."""
    book = openpyxl.load_workbook(path)
    money = {(sheet.title, c.row - 1, c.column - 1) for sheet in book.worksheets
             for row in sheet.iter_rows() for c in row if "£" in c.number_format}
    book.close()
    return money


def _compare(source: Path, recalculated_path: Path) -> tuple[int, list[str]]:
    cached = CalamineWorkbook.from_path(str(source))
    engine = CalamineWorkbook.from_path(str(recalculated_path))
    money_cells = _money_cells(source)
    count, problems = 0, []
    for sheet, cells in _formula_cells(source).items():
        ours = cached.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        theirs = engine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        for r, c, formula in cells:
            count += 1
            expected, got = ours[r][c], theirs[r][c]
            money = (sheet, r, c) in money_cells
            if not isinstance(got, int | float) or isinstance(got, bool):
                ok = False
            else:
                tolerance = 0.01 if money else 1e-9 * max(1.0, abs(expected))
                ok = math.isclose(got, expected, rel_tol=0, abs_tol=tolerance)
            if not ok:
                problems.append(f"{sheet}!{openpyxl.utils.get_column_letter(c + 1)}{r + 1} "
                                f"{formula}: Python {expected!r}, LibreOffice {got!r}")
    return count, problems


@pytest.mark.parametrize("name", ["example_corridor", "example_first_dollar", "capped_loss",
                                  "capped_loss_gbp", "collared_gain",
                                  "collared_gain_first_dollar", "three_bands_corridor",
                                  "three_bands_first_dollar", "hostile_names",
                                  "msk_corridor", "msk_first_dollar"])
def test_every_formula_matches_python(recalculated, name):
    source, out, _ = recalculated[name]
    count, problems = _compare(source, out)
    assert count > 0
    assert not problems, "\n".join(problems[:10])


def test_cases_exercise_caps_collars_and_bands(recalculated):
    def parties(name):
        return settlement_sheets(recalculated[name][2]).parties

    # docs/methods/settlement.md's table.
    assert parties("example_corridor")["pool_share_gbp"].tolist() == [491_880.0, 91_880.0,
                                                                      45_940.0]
    for name, cap in (("capped_loss", 800_000.0), ("capped_loss_gbp", 300_000.0)):
        assert parties(name).loc["Acute trust", "pool_share_gbp"] == cap, name
        assert parties(name).loc["Acute trust", "band_share_gbp"] > cap, name
    for name in ("collared_gain", "collared_gain_first_dollar"):
        assert parties(name).loc["Acute trust", "pool_share_gbp"] == -800_000.0, name
        assert parties(name).loc["Acute trust", "band_share_gbp"] < -800_000.0, name


def test_settlement_columns_kept_and_lr_money_is_a_value(recalculated):
    source, _, settlement = recalculated["example_corridor"]
    book = openpyxl.load_workbook(source)
    assert book.sheetnames == ["settled_lines", "parties", "agreement_terms", "_columns"]
    assert book["_columns"].sheet_state == "hidden"
    # Row 1: the hidden key row (the exact names); rows 2-5 the title block; row 6 the
    # printed header, labels from capitation.columns; data from row 7.
    for sheet in ("settled_lines", "parties"):
        assert book[sheet].row_dimensions[1].hidden, sheet
        assert not book[sheet].row_dimensions[6].hidden, sheet
    lines = [c.value for c in book["settled_lines"][1]]
    assert lines[: 1 + len(settlement.lines.columns)] == ["line", *settlement.lines.columns]
    assert [c.value for c in book["settled_lines"][6]][:4] == [
        "Line", "Party", "Point of delivery", "Planned activity"]
    parties = book["parties"]
    assert [c.value for c in parties[1]][:5] == ["party", "variance_before_pool_gbp",
                                                "pool_share_gbp", "final_position_gbp",
                                                "pool_transfer_gbp"]
    assert [c.value for c in parties[6]][:5] == ["Party", "Variance before pool (£)",
                                                "Pool share (£)", "Final position (£)",
                                                "Pool transfer (£)"]
    assert all(parties[f"C{r}"].data_type == "n" for r in (7, 8, 9))  # largest remainder
    assert all(parties[f"{c}{r}"].data_type == "f" for c in "BDE" for r in (7, 8, 9))
    assert parties["B8"].value.startswith(
        "=SUMIFS(settled_lines!$J$7:$J$11,settled_lines!$B$7:$B$11,$A8)")
    assert book["settled_lines"]["N7"].value == "=ROUND(M7*R7,2)"
    assert book["settled_lines"]["H7"].value == "=ROUND(D7*F7,2)"
    # The totals rows: live SUBTOTALs of the money under each table, the slices' SUM.
    assert parties["A10"].value == "Total"
    assert parties["C10"].value == "=SUBTOTAL(9,C7:C9)"
    assert book["settled_lines"]["N12"].value == "=SUBTOTAL(9,N7:N11)"  # marginal payments
    terms = book["agreement_terms"]
    assert terms["A13"].value == "Pooled variance (£)"  # the terms in rows 7-13
    assert terms["A15"].value == "Side"  # the bands' header; the bands from row 16
    total = next(r for r in range(15, 30) if terms[f"A{r}"].value == "Total")
    assert terms[f"F{total}"].value == f"=SUM(F16:F{total - 1})"


def test_text_from_inputs_stays_text(recalculated):
    source, _, _ = recalculated["hostile_names"]
    book = openpyxl.load_workbook(source)
    names = [book["parties"][f"A{r}"] for r in (7, 8, 9)]
    assert [c.value for c in names] == [HOSTILE[2], HOSTILE[0], HOSTILE[1]]
    assert all(c.data_type == "s" for c in names)
    line_parties = [c for c in book["settled_lines"]["B"][6:] if c.value is not None]
    assert len(line_parties) == len(LINES)
    assert all(c.data_type == "s" for c in line_parties)
    terms = book["agreement_terms"]
    assert terms["A9"].value == "Commissioner"
    assert terms["B9"].value == HOSTILE[2] and terms["B9"].data_type == "s"
    # A name SUMIFS would read as a comparison is matched exactly instead.
    assert book["parties"]["B8"].value.startswith("=SUMPRODUCT(--EXACT(")


def test_every_sheet_states_the_sign_convention_below_its_tables(tmp_path):
    from risk_share.excel.settlement_sheets import SIGN_NOTES
    from risk_share.settlement import SIGN_CONVENTION

    settlement = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    book = openpyxl.load_workbook(write_settlement(settlement, tmp_path / "s.xlsx"))
    assert SIGN_NOTES["parties"] == SIGN_CONVENTION
    for sheet in book.worksheets:
        if sheet.sheet_state == "hidden":  # _columns: the machine keys, no money
            continue
        cells = [(c.row, c.value) for row in sheet.iter_rows() for c in row
                 if c.value is not None]
        last_row = max(r for r, _ in cells)
        notes = [v for r, v in cells if r == last_row]
        assert notes == [SIGN_NOTES[sheet.title]], sheet.title
        assert all(r < last_row - 1 for r, _ in cells if r != last_row)  # a blank row above
        # No formula reads the note's row.
        formulas = " ".join(str(v) for _, v in cells if str(v).startswith("="))
        assert f"{last_row}" not in formulas.replace("$", " ").split(), sheet.title
    parties = book["parties"]
    # 3 parties in rows 7-9, the totals in row 10, row 11 blank; the title block says it too.
    assert parties["A12"].value == SIGN_CONVENTION
    assert parties["A4"].value == SIGN_CONVENTION
