"""Overrides of agreement keys: Agreement.with_values and ``risk-share settle/simulate --set``."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from capitation import InputError
from risk_share import Agreement
from risk_share.agreement_file import agreement_to_dict
from risk_share.cli import main

ROOT = Path(__file__).resolve().parents[2]
AGREEMENT = ROOT / "models" / "msk_agreement.toml"
OUTTURN = ROOT / "models" / "msk_outturn.csv"


@pytest.fixture(scope="module")
def agreement():
    return Agreement.from_toml(AGREEMENT)


def test_the_issue_example(agreement):
    changed = agreement.with_values({"party.Acute trust.max_loss": 0.03,
                                     "pool.loss_band.2.shares.Acute trust": 0.5,
                                     "pool.loss_band.2.shares.CCG": 0.3})
    assert changed.party("Acute trust").max_loss == 0.03
    assert dict(changed.loss_bands[1].shares) == {"CCG": 0.3, "Acute trust": 0.5,
                                                  "Community MSK": 0.2}
    # The original is unchanged.
    assert agreement.party("Acute trust").max_loss == 0.02
    assert dict(agreement.loss_bands[1].shares) == {"CCG": 0.4, "Acute trust": 0.4,
                                                    "Community MSK": 0.2}
    assert [a.text for a in changed.overrides] == [
        "party.Acute trust.max_loss = 0.03 (file had: 0.02)",
        "pool.loss_band.2.shares.Acute trust = 0.5 (file had: 0.4)",
        "pool.loss_band.2.shares.CCG = 0.3 (file had: 0.4)"]


def test_tables_of_the_agreement_read_back_to_the_same_agreement(agreement):
    again = Agreement.from_dict(agreement_to_dict(agreement))
    assert agreement_to_dict(again) == agreement_to_dict(agreement)
    # A settlement under the round-tripped agreement is the same to the penny.
    assert again.settle(OUTTURN).parties.equals(agreement.settle(OUTTURN).parties)


def file_error(folder: Path, old: str, new: str) -> str:
    text = AGREEMENT.read_text(encoding="utf-8")
    assert old in text
    path = folder / "msk_agreement.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Agreement.from_toml(path)
    return str(caught.value)


@pytest.mark.parametrize(("values", "written", "old", "new"), [
    ({"pool.loss_band.2.shares.Acute trust": 0.5}, "pool.loss_band.2.shares.Acute trust = 0.5",
     '"Acute trust" = 0.4, "Community', '"Acute trust" = 0.5, "Community'),
    ({"party.Acute trust.max_los": 0.03}, "party.Acute trust.max_los = 0.03",
     "max_loss = 0.02 ", "max_los = 0.03\nmax_loss = 0.02 "),
    ({"party.Acute trust.max_loss": "3%"}, 'party.Acute trust.max_loss = "3%"',
     "max_loss = 0.02 ", 'max_loss = "3%" '),
    ({"pool.mode": "corridoor"}, 'pool.mode = "corridoor"', 'mode = "corridor"',
     'mode = "corridoor"'),
])
def test_a_bad_override_is_refused_as_the_file_would_be(agreement, tmp_path, values, written,
                                                        old, new):
    with pytest.raises(InputError) as caught:
        agreement.with_values(values)
    assert str(caught.value) == f"{written}: {file_error(tmp_path, old, new)}"


def test_a_rule_across_keys_names_the_override(agreement):
    # Capping the residual party is refused under pool.residual, a key no override names.
    with pytest.raises(InputError, match=r"^party.CCG.max_loss = 0.1: msk_agreement.toml, key "
                                         r"pool.residual: 'CCG' is the residual party"):
        agreement.with_values({"party.CCG.max_loss": 0.1})


def test_bands_are_counted_from_one(agreement):
    with pytest.raises(InputError, match=r'pool.loss_band has no entry "3" \(entries: 2 '
                                         r"entries, counted from 1\)"):
        agreement.with_values({"pool.loss_band.3.upto": 0.1})
    assert agreement.with_values({"pool.loss_band.1.upto": 0.02}).loss_bands[0].upto == 0.02


# -- the command line ------------------------------------------------------------------


def test_settle_with_set_records_the_override(tmp_path, capsys):
    out = tmp_path / "settlement.xlsx"
    assert main(["settle", str(AGREEMENT), str(OUTTURN), "--out", str(out), "--quiet",
                 "--set", "pool.loss_band.2.shares.Acute trust=0.5",
                 "--set", "pool.loss_band.2.shares.CCG=0.3"]) == 0
    book = openpyxl.load_workbook(out, read_only=True, data_only=True)
    assert book.sheetnames == ["settled_lines", "parties", "agreement_terms", "assumptions",
                              "_columns"]
    rows = [tuple(r) for r in book["assumptions"].iter_rows(values_only=True)]
    book.close()
    assert rows[0] == ("item", "value")  # the hidden key row; the title block, the header
    assert rows[5] == ("Item", "Value")
    assert rows[6:] == [
        ("overridden", "pool.loss_band.2.shares.Acute trust = 0.5 (file had: 0.4)"),
        ("overridden", "pool.loss_band.2.shares.CCG = 0.3 (file had: 0.4)")]


def test_simulate_with_set_records_the_override(tmp_path, capsys):
    out = tmp_path / "simulation.xlsx"
    assert main(["simulate", str(AGREEMENT), str(OUTTURN), "-n", "200", "--cv", "0.05",
                 "--seed", "1", "--out", str(out), "--quiet",
                 "--set", "party.Acute trust.max_loss=0.03"]) == 0
    book = openpyxl.load_workbook(out, read_only=True, data_only=True)
    rows = [tuple(r) for r in book["assumptions"].iter_rows(values_only=True)]
    book.close()
    assert ("overridden", "party.Acute trust.max_loss = 0.03 (file had: 0.02)") in rows


@pytest.mark.parametrize("command", ["settle", "simulate"])
@pytest.mark.parametrize(("setting", "words"), [
    ("party.Acute trust.max_los=0.03", 'unknown key (did you mean "max_loss"?'),
    ("party.Acute trust.max_loss=abc", "expected a number, found 'abc'"),
    ("pool.loss_band.2.shares.Acute trust=0.5", "shares add up to 1.1, not 1"),
])
def test_bad_set_exits_2_naming_the_override(tmp_path, capsys, command, setting, words):
    out = tmp_path / "out.xlsx"
    extra = ["-n", "100", "--cv", "0.05"] if command == "simulate" else []
    code = main([command, str(AGREEMENT), str(OUTTURN), *extra, "--out", str(out),
                 "--set", setting])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"risk-share: error: --set {setting}: msk_agreement.toml, key ")
    assert words in lines[0]
    assert not out.exists()
