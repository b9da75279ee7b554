"""read_settlement: a settlement workbook's per-party table, by its machine keys.

The expected frame is the Python API's own ``Settlement.parties`` for the
same agreement and outturn (models/msk_agreement.toml with models/msk_outturn.csv,
and the shipped workbooks/risk_share_agreement.xlsx with its plan_lines sheet);
the workbook stores whole pence, so the round trip is exact.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from risk_share import Agreement, InputError, read_settlement
from risk_share.cli import main
from risk_share.excel.settlement_workbook import write_settlement, write_settlement_into

ROOT = Path(__file__).resolve().parents[3]
MSK_AGREEMENT = ROOT / "models" / "msk_agreement.toml"
MSK_OUTTURN = ROOT / "models" / "msk_outturn.csv"
SHIPPED = ROOT / "workbooks" / "risk_share_agreement.xlsx"


def test_round_trip_msk(tmp_path):
    settlement = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    out = write_settlement(settlement, tmp_path / "msk.xlsx")
    pd.testing.assert_frame_equal(read_settlement(out), settlement.parties, check_exact=True)


def test_round_trip_shipped_workbook_and_with_inputs(tmp_path):
    settlement = Agreement.from_excel(SHIPPED).settle(SHIPPED)
    plain = write_settlement(settlement, tmp_path / "plain.xlsx")
    pd.testing.assert_frame_equal(read_settlement(plain), settlement.parties, check_exact=True)
    patched = write_settlement_into(settlement, SHIPPED, tmp_path / "with_inputs.xlsx")
    pd.testing.assert_frame_equal(read_settlement(patched), settlement.parties,
                                  check_exact=True)


def test_round_trip_from_the_command_line(tmp_path):
    out = tmp_path / "settled.xlsx"
    assert main(["settle", str(MSK_AGREEMENT), str(MSK_OUTTURN), "--out", str(out)]) == 0
    expected = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN).parties
    pd.testing.assert_frame_equal(read_settlement(out), expected, check_exact=True)


def test_reads_by_keys_not_by_the_visible_header(tmp_path):
    settlement = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    out = write_settlement(settlement, tmp_path / "msk.xlsx")
    book = openpyxl.load_workbook(out)
    sheet = book["parties"]
    assert sheet.row_dimensions[1].hidden
    for cell in sheet[6]:  # a person relabels the printed header
        if cell.value is not None:
            cell.value = f"Relabelled {cell.value}"
    book.save(tmp_path / "relabelled.xlsx")
    # openpyxl keeps formulas but drops cached values; the keys and pool shares remain.
    got = read_settlement(tmp_path / "relabelled.xlsx")
    assert list(got.columns) == list(settlement.parties.columns)
    assert got.index.tolist() == settlement.parties.index.tolist()
    pd.testing.assert_series_equal(got["pool_share_gbp"], settlement.parties["pool_share_gbp"])


def _without(source: Path, sheet: str, out: Path) -> Path:
    book = openpyxl.load_workbook(source)
    del book[sheet]
    book.save(out)
    return out


@pytest.mark.parametrize("sheet", ["parties", "_columns"])
def test_a_missing_sheet_is_named(tmp_path, sheet):
    settlement = Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN)
    out = write_settlement(settlement, tmp_path / "msk.xlsx")
    cut = _without(out, sheet, tmp_path / "cut.xlsx")
    with pytest.raises(InputError) as caught:
        read_settlement(cut)
    assert str(caught.value) == (f'cut.xlsx: no sheet "{sheet}": not a settlement workbook '
                                 "of this toolkit")


def test_a_results_workbook_is_not_a_settlement(tmp_path):
    book = openpyxl.Workbook()
    keys = book.active
    keys.title = "_columns"
    keys.append(["sheet", "level", "year", "key_row", "first_row", "rows"])
    keys.append(["ICB", "ICB", "2025/26", 1, 7, 2])
    book.save(tmp_path / "results.xlsx")
    with pytest.raises(InputError, match=r'results.xlsx, sheet _columns: lists no "parties" '
                                         "table: not a settlement workbook"):
        read_settlement(tmp_path / "results.xlsx")
