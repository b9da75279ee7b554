"""The opportunity_<service> sheets: live formulas that LibreOffice recalculates to Python's values.

models/opportunity_demo.toml (131 practices, 4 services) is written once; its
formula cells (ratio, above_benchmark, unit cost, opportunity in activity and
pounds, the totals) are recalculated by LibreOffice (headless, a throwaway
profile set to recalculate on load) and compared with results.opportunity_table:
ratios and activity within 1e-9 relative, pounds within £0.01 (ROUND to the
penny). One cached ratio is made stale on purpose first, so the comparison
shows LibreOffice's arithmetic, not the cache.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from capitation import Model
from capitation.columns import number_format
from capitation.excel.opportunity_sheets import opportunity_sheet_names
from tests.support.libreoffice import recalculate, soffice

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ["emergency_admissions", "elective_inpatient", "outpatient_first", "a_and_e"]
SHEETS = {"emergency_admissions": "opportunity_emergency_admission",
          "elective_inpatient": "opportunity_elective_inpatient",
          "outpatient_first": "opportunity_outpatient_first",
          "a_and_e": "opportunity_a_and_e"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    results = Model.from_toml(ROOT / "models" / "opportunity_demo.toml").run()
    path = results.to_excel(tmp_path_factory.mktemp("opportunity") / "results.xlsx")
    return results, path


def _rows(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def test_one_sheet_per_service_with_the_table_cached(written):
    results, path = written
    book = openpyxl.load_workbook(path)
    assert [n for n in book.sheetnames if n.startswith("opportunity_")] == list(SHEETS.values())
    for service, sheet in SHEETS.items():
        table = results.opportunity_table(service)
        rows = _rows(path, sheet)
        assert rows[0] == ["practice", *table.columns]  # the hidden key row
        assert rows[5][:3] == ["practice", "Name", "Observed"]  # the header people read
        assert [r[0] for r in rows[6:6 + len(table)]] == list(table.index)
        for c, column in enumerate(table.columns, start=1):
            for r, value in enumerate(table[column], start=6):
                cell = rows[r][c]
                if isinstance(value, str):
                    assert cell == value
                elif isinstance(value, bool):
                    assert cell is value
                elif not math.isfinite(value):  # NaN, and a zero count's log-scale z
                    assert cell == ""
                else:  # xlsxwriter stores 17 significant digits at most
                    assert cell == pytest.approx(value, rel=1e-15, abs=0), (sheet, column, r)
        total = rows[len(table) + 6]
        assert total[0] == "Total"
        assert total[2] == pytest.approx(table["observed"].sum(), rel=1e-12)
    sheet = book[SHEETS["a_and_e"]]
    # The documented formulas, on the first unit's row (row 7, under the title block and
    # the header), and the totals row under the 131 practices (row 138).
    assert sheet["E7"].value == "=C7/D7"
    assert sheet["T7"].value == "=C7>S7*D7"
    assert sheet["V7"].value == '=IF(C7=0,"",U7/C7)'
    assert sheet["W7"].value == "=MAX(0,C7-S7*D7)"
    assert sheet["X7"].value == "=IF(W7>0,ROUND(W7*V7,2),0)"
    assert sheet["C138"].value == "=SUBTOTAL(9,C7:C137)"
    assert sheet["E138"].value == "=C138/D138"
    # Number formats come from the column schema.
    assert sheet["E7"].number_format == number_format("ratio", "opportunity_table")
    assert sheet["X7"].number_format == number_format("opportunity_gbp", "opportunity_table")
    assert sheet["L7"].number_format == number_format("lower_998", "opportunity_table")


def test_sheet_names_fit_and_never_repeat():
    names = opportunity_sheet_names(["emergency_admissions", "emergency_admissions_2",
                                     "x/y"], taken={"OPPORTUNITY_X_Y"})
    assert names["emergency_admissions"] == "opportunity_emergency_admission"
    # Both cut to opportunity_emergency_admission: the second ends in _2 within 31 characters.
    assert names["emergency_admissions_2"] == "opportunity_emergency_admissi_2"
    assert names["x/y"] == "opportunity_x_y_2"
    assert all(len(n) <= 31 for n in names.values())


def _stale(path: Path, out: Path) -> Path:
    """Copy the workbook with the a_and_e sheet's first cached ratio (E7) set to 999."""
    with zipfile.ZipFile(path) as source:
        names = openpyxl.load_workbook(path, read_only=True).sheetnames
        part = f"xl/worksheets/sheet{names.index(SHEETS['a_and_e']) + 1}.xml"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == part:
                    data, n = re.subn(rb'(<c r="E7"[^>]*><f>C7/D7</f><v>)[^<]*(</v>)',
                                      rb"\g<1>999\g<2>", data)
                    assert n == 1
                target.writestr(item, data)
    return out


def test_libreoffice_recalculates_ratios_and_opportunity_to_pythons(written, tmp_path):
    assert soffice() is not None, "LibreOffice is needed: run .ci/ensure_libreoffice.sh"
    results, path = written
    source = _stale(path, tmp_path / "stale.xlsx")
    assert _rows(source, SHEETS["a_and_e"])[6][4] == 999
    [engine] = recalculate([source], tmp_path / "out")
    checked = 0
    for service, sheet in SHEETS.items():
        table = results.opportunity_table(service)
        rows = _rows(engine, sheet)
        for r, (_, row) in enumerate(table.iterrows(), start=6):
            got = dict(zip(rows[0], rows[r], strict=True))
            assert got["ratio"] == pytest.approx(row["ratio"], rel=1e-9, abs=0)
            assert got["above_benchmark"] is bool(row["above_benchmark"])
            if math.isnan(row["unit_cost_gbp"]):  # nothing observed: no cost per activity
                assert got["unit_cost_gbp"] == "" and row["observed"] == 0
            else:
                assert got["unit_cost_gbp"] == pytest.approx(row["unit_cost_gbp"], rel=1e-9)
            assert got["opportunity_activity"] == pytest.approx(row["opportunity_activity"],
                                                                rel=1e-9, abs=1e-9)
            assert abs(got["opportunity_gbp"] - row["opportunity_gbp"]) < 0.01
            checked += 1
        total = dict(zip(rows[0], rows[len(table) + 6], strict=True))
        totals = results.needs_and_use.totals(service)
        assert total["ratio"] == pytest.approx(totals["ratio"], rel=1e-12)
        assert abs(total["opportunity_gbp"] - totals["opportunity_gbp"]) < 0.01
    assert checked == 4 * 131
