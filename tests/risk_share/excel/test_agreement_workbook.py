"""Agreement workbooks: TOML → workbook → the same settlement to the penny; errors by sheet!cell."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from risk_share import Agreement, InputError
from risk_share.agreement_file import export_agreement
from risk_share.cli import main
from tests.support.libreoffice import recalculate

ROOT = Path(__file__).resolve().parents[3]
MSK_AGREEMENT = ROOT / "models" / "msk_agreement.toml"
MSK_OUTTURN = ROOT / "models" / "msk_outturn.csv"
TEMPLATE = ROOT / "workbooks" / "risk_share_agreement.xlsx"
HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)"]


def assert_same_settlement(a, b):
    pd.testing.assert_frame_equal(a.lines, b.lines, check_exact=True)
    pd.testing.assert_frame_equal(a.parties, b.parties, check_exact=True)
    assert a.pooled_variance_gbp == b.pooled_variance_gbp


@pytest.fixture(scope="module")
def msk_workbook(tmp_path_factory):
    out = tmp_path_factory.mktemp("agreement") / "msk_agreement.xlsx"
    return export_agreement(MSK_AGREEMENT, out, MSK_OUTTURN)


def edited(path: Path, folder: Path, edits: dict[str, object], name: str = "edited.xlsx") -> Path:
    """Copy a workbook with cells changed, as a team would with Excel (``sheet!A1`` → value)."""
    book = openpyxl.load_workbook(path)
    for ref, value in edits.items():
        sheet, cell = ref.split("!")
        book[sheet][cell].value = value
    book.save(folder / name)
    return folder / name


def test_msk_workbook_settles_exactly_as_the_toml(msk_workbook):
    toml = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    workbook = Agreement.from_excel(msk_workbook)
    assert workbook.source == str(msk_workbook)
    assert_same_settlement(toml, workbook.settle(msk_workbook))  # lines from plan_lines
    assert_same_settlement(toml, workbook.settle(MSK_OUTTURN))


def test_workbook_saved_by_libreoffice_reads_the_same(msk_workbook, tmp_path):
    saved = recalculate([msk_workbook], tmp_path)[0]
    toml = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    assert_same_settlement(toml, Agreement.from_excel(saved).settle(saved))


def test_layout_mirrors_the_toml(msk_workbook):
    book = openpyxl.load_workbook(msk_workbook)
    assert book.sheetnames == ["instructions", "agreement", "party", "pool", "loss_band",
                               "gain_band", "marginal_rate", "plan_lines"]
    pool = {row[0].value: row[1].value for row in book["pool"].iter_rows(min_row=2)}
    assert pool == {"budget_gbp": 40_000_000, "mode": "corridor", "residual": "CCG"}
    assert [c.value for c in book["loss_band"][1]] == [
        "upto", "shares:CCG", "shares:Acute trust", "shares:Community MSK"]
    assert [c.value for c in book["loss_band"][2]] == [0.01, 1, None, None]
    assert [c.value for c in book["party"][1]] == ["name", "influence", "max_loss", "max_gain"]
    assert [c.value for c in book["plan_lines"][1]] == [
        "party", "pod", "planned_activity", "actual_activity", "price_gbp", "fixed"]
    # Conventions of the model workbook: a list of modes, fractions 0..1, formats, input style.
    rules = {(str(v.sqref), v.type, v.formula1, v.formula2)
             for v in book["pool"].data_validations.dataValidation}
    assert ("B3", "list", '"corridor,first_dollar"', None) in rules
    fractions = {str(v.sqref): (v.type, v.formula1, v.formula2)
                 for v in book["loss_band"].data_validations.dataValidation}
    for ref in ("B2:B3", "C2:C3"):  # upto, shares:CCG
        kind, low, high = fractions[ref]
        assert (kind, float(low), float(high)) == ("decimal", 0.0, 1.0)
    assert book["loss_band"]["B2"].number_format.endswith("%")
    assert book["pool"]["B2"].number_format.startswith("#,##0.00")
    assert book["pool"]["B2"].fill.fgColor.rgb.endswith("FFF2CC")
    assert book["pool"]["A2"].fill.fgColor.rgb in (None, "00000000")


@pytest.mark.parametrize(("edits", "message"), [
    ({"loss_band!C3": "twelve"}, r'loss_band!C3: expected a number, found "twelve"'),
    ({"party!B3": "half"}, r'party!B3: expected a number, found "half"'),
    ({"loss_band!B3": 40}, r"loss_band!B3: 40 looks like a percentage"),
    ({"loss_band!D3": 0.3}, r"loss_band!B3: shares add up to 1.1, not 1"),
    ({"pool!B3": "corridors"}, r'pool!B3: "corridors" is not one of corridor, first_dollar'),
    ({"pool!B4": "Acute trust"}, r"pool!B4: 'Acute trust' is the residual party"),
    ({"marginal_rate!A3": "Acute"}, r"marginal_rate!A3: 'Acute' is not a \[\[party\]\]"),
    ({"marginal_rate!C2": -0.2}, r"marginal_rate!C2: -0.2 is below 0 \(must be between 0 and 1\)"),
    ({"gain_band!A3": 0.5}, r"gain_band!A3: the last band must have no upto"),
    ({"gain_band!A2": -0.01}, r"gain_band!A2: -0.01 is below 0 \(must be between 0 and 1\)"),
    ({"agreement!B4": None}, r"agreement!B4: is missing"),
])
def test_errors_name_sheet_and_cell(msk_workbook, tmp_path, edits, message):
    path = edited(msk_workbook, tmp_path, edits)
    with pytest.raises(InputError, match=message):
        Agreement.from_excel(path)


@pytest.mark.parametrize(("edits", "message"), [
    ({"plan_lines!C3": "lots"}, r'plan_lines!C3: expected a number, found "lots"'),
    ({"plan_lines!A4": "Acute"}, r"plan_lines!A4: 'Acute' is not a party to the agreement"),
    ({"plan_lines!E5": -1}, r"plan_lines!E5: -1 is negative"),
    ({"plan_lines!B3": "Outpatient first"}, r"plan_lines!B3: 'Acute trust', 'Outpatient first'"
                                            r" appears twice"),
])
def test_plan_line_errors_name_sheet_and_cell(msk_workbook, tmp_path, edits, message):
    path = edited(msk_workbook, tmp_path, edits)
    agreement = Agreement.from_excel(path)
    with pytest.raises(InputError, match=message):
        agreement.settle(path)


def test_text_numbers_are_read_with_a_warning(msk_workbook, tmp_path):
    path = edited(msk_workbook, tmp_path, {"pool!B2": "£40,000,000", "plan_lines!E2": "165.648"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agreement = Agreement.from_excel(path)
        settlement = agreement.settle(path)
    assert agreement.budget_gbp == 40_000_000
    assert any("pool!B2" in str(w.message) for w in caught)
    assert any("plan_lines!E2" in str(w.message) for w in caught)
    assert_same_settlement(Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN), settlement)


def test_missing_sheet_is_named(msk_workbook, tmp_path):
    book = openpyxl.load_workbook(msk_workbook)
    book["loss_band"].title = "loss_band "
    book.save(tmp_path / "renamed.xlsx")
    with pytest.raises(InputError, match=r'no sheet "loss_band" \(found "loss_band ": rename'):
        Agreement.from_excel(tmp_path / "renamed.xlsx")


def test_template_is_domain_8_2(tmp_path):
    # workbooks/risk_share_agreement.xlsx holds docs/methods/settlement.md's agreement and lines.
    settlement = Agreement.from_excel(TEMPLATE).settle(TEMPLATE)
    assert settlement.pooled_variance_gbp == 629_700.00
    assert settlement.parties["pool_share_gbp"].tolist() == [491_880.00, 91_880.00, 45_940.00]
    assert settlement.parties["final_position_gbp"].tolist() == [491_880.00, 679_680.00,
                                                                -76_060.00]


def _hostile_toml(names: dict[str, str]) -> str:
    """The pool method's agreement with the parties renamed (JSON strings are TOML strings).

    Source: docs/methods/risk-reward-pool.md.
    """
    ccg, acute, community = (json.dumps(names[n]) for n in ("CCG", "Acute trust",
                                                             "Community MSK"))
    return f"""
[agreement]
name = "hostile"
year = "2018/19"
commissioner = {ccg}

[[party]]
name = {ccg}
[[party]]
name = {acute}
max_loss = 0.02
[[party]]
name = {community}

[pool]
budget_gbp = 40_000_000
mode = "corridor"

[[pool.loss_band]]
upto = 0.01
shares = {{ {ccg} = 1.0 }}
[[pool.loss_band]]
shares = {{ {ccg} = 0.4, {acute} = 0.4, {community} = 0.2 }}

[[pool.gain_band]]
shares = {{ {ccg} = 0.5, {acute} = 0.3, {community} = 0.2 }}

[[marginal_rate]]
party = {acute}
pod = "*"
above_plan = 0.2
below_plan = 0.2
"""


def test_names_starting_like_formulas_stay_text(tmp_path):
    names = {"CCG": HOSTILE[2], "Acute trust": HOSTILE[0], "Community MSK": HOSTILE[1]}
    toml = tmp_path / "hostile.toml"
    toml.write_text(_hostile_toml(names))
    lines = pd.read_csv(MSK_OUTTURN)
    lines["party"] = lines["party"].replace(names)
    lines["pod"] = lines["pod"].where(lines.index != 0, HOSTILE[3])
    lines.to_csv(tmp_path / "hostile.csv", index=False)
    out = export_agreement(toml, tmp_path / "hostile.xlsx", tmp_path / "hostile.csv")
    book = openpyxl.load_workbook(out)
    cells = [book["party"]["A2"], book["party"]["A3"], book["party"]["A4"],
             book["agreement"]["B4"], book["plan_lines"]["A2"], book["plan_lines"]["B2"],
             book["marginal_rate"]["A2"]]
    assert [c.value for c in cells] == [HOSTILE[2], HOSTILE[0], HOSTILE[1], HOSTILE[2],
                                        HOSTILE[0], HOSTILE[3], HOSTILE[0]]
    assert all(c.data_type == "s" for c in cells)
    assert f"shares:{HOSTILE[0]}" in [c.value for c in book["loss_band"][1]]
    again = Agreement.from_excel(out)
    assert again.party_names == [HOSTILE[2], HOSTILE[0], HOSTILE[1]]
    assert_same_settlement(Agreement.from_toml(toml).settle(tmp_path / "hostile.csv"),
                           again.settle(out))


def test_cli_export_then_settle_the_workbook(tmp_path, capsys):
    workbook = tmp_path / "agreement.xlsx"
    assert main(["export", str(MSK_AGREEMENT), str(MSK_OUTTURN), "--out", str(workbook)]) == 0
    out = tmp_path / "settlement.xlsx"
    assert main(["settle", str(workbook), "--out", str(out), "--quiet"]) == 0
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["settled_lines", "parties", "agreement_terms", "_columns"]
    book.close()
    capsys.readouterr()
    assert main(["settle", str(MSK_AGREEMENT), "--out", str(tmp_path / "no.xlsx")]) == 2
    assert "give a lines CSV" in capsys.readouterr().err
    assert not (tmp_path / "no.xlsx").exists()
    bad = edited(workbook, tmp_path, {"loss_band!C3": "twelve"}, "bad.xlsx")
    assert main(["settle", str(bad), "--out", str(tmp_path / "bad_out.xlsx")]) == 2
    assert 'loss_band!C3: expected a number, found "twelve"' in capsys.readouterr().err
    assert not (tmp_path / "bad_out.xlsx").exists()


def test_a_number_written_as_text_reads_the_same_from_a_csv_and_a_workbook(msk_workbook,
                                                                             tmp_path):
    # One rule (capitation.inputs.csv_tables): "41,300" in a number column is read as 41300
    # with a warning naming the cell, in the agreement workbook's plan_lines sheet and in a
    # lines CSV alike, in the same words after the place. Row 3 of models/msk_outturn.csv is
    # Outpatient follow-up, actual_activity 41300 (column D of the sheet).
    csv = tmp_path / "lines.csv"
    csv.write_text(MSK_OUTTURN.read_text().replace(",41300,", ',"41,300",'))
    book = edited(msk_workbook, tmp_path, {"plan_lines!D3": "41,300"})
    messages = {}
    for route, agreement, lines in (("csv", Agreement.from_toml(MSK_AGREEMENT), csv),
                                    ("workbook", Agreement.from_excel(book), book)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            settlement = agreement.settle(lines)
        messages[route] = [str(w.message) for w in caught]
        assert_same_settlement(Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN),
                               settlement)
    said = '"41,300" is a number stored as text; read as 41300'
    assert messages["csv"] == [f"lines.csv, row 3, column actual_activity: {said}"]
    assert messages["workbook"] == [f"edited.xlsx, plan_lines!D3: {said}"]
