"""settle --with-inputs: the settlement sheets in a copy of the agreement workbook.

The team's agreement workbook (models/msk_agreement.toml and msk_outturn.csv
exported, then given the team's own sheet with a chart, a comment, a
sparkline, an image, a formula and defined names) gets the settlement sheets
``settled_lines``, ``parties`` and ``agreement_terms``; every other part is
kept byte for byte (only the index parts may change, and the styles and
shared strings only by appending: tests/capitation/test_excel_patch.py's
``assert_kept``). The patched sheets hold the same formulas and cached values
as ``write_settlement`` writes, and LibreOffice recalculates them to Python's
values (tests/risk_share/excel/test_settlement_workbook.py's ``_compare``: money
within £0.01, other numbers within 1e-9 x max(1, |value|)).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from risk_share import Agreement
from risk_share.agreement_file import export_agreement
from risk_share.cli import main
from risk_share.excel.settlement_workbook import write_settlement, write_settlement_into
from tests.capitation.excel.test_patch import PNG, add_team_sheet, assert_kept, parts
from tests.risk_share.excel.test_agreement_workbook import assert_same_settlement
from tests.risk_share.excel.test_settlement_workbook import _compare, _formula_cells
from tests.support.libreoffice import recalculate, soffice

ROOT = Path(__file__).resolve().parents[3]
MSK_AGREEMENT = ROOT / "models" / "msk_agreement.toml"
MSK_OUTTURN = ROOT / "models" / "msk_outturn.csv"
SETTLEMENT_SHEETS = ["settled_lines", "parties", "agreement_terms", "_columns"]


def team_agreement_workbook(exported: Path, path: Path, folder: Path) -> Path:
    """The exported agreement's sheets, cell for cell, after a team sheet with its own parts."""
    (folder / "logo.png").write_bytes(PNG)
    source = CalamineWorkbook.from_path(str(exported))
    book = xlsxwriter.Workbook(str(path))
    add_team_sheet(book, folder, "Check the caps with the CFO")
    for name in source.sheet_names:
        sheet = book.add_worksheet(name)
        for r, row in enumerate(source.get_sheet_by_name(name).to_python(skip_empty_area=False)):
            for c, value in enumerate(row):
                if isinstance(value, str) and value:
                    sheet.write_string(r, c, value)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(r, c, value)
    book.close()
    return path


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    assert soffice() is not None, "LibreOffice is needed: run .ci/ensure_libreoffice.sh"
    folder = tmp_path_factory.mktemp("with_inputs")
    exported = export_agreement(MSK_AGREEMENT, folder / "exported.xlsx", MSK_OUTTURN)
    team = team_agreement_workbook(exported, folder / "team.xlsx", folder)
    before = parts(team)
    settlement = Agreement.from_excel(team).settle(team)
    out = write_settlement_into(settlement, team, folder / "out.xlsx")
    assert parts(team) == before, "the input workbook was modified"
    # A second settlement of the patched workbook replaces the sheets it added.
    again = write_settlement_into(Agreement.from_excel(out).settle(out), out,
                                  folder / "again.xlsx")
    plain = write_settlement(settlement, folder / "plain.xlsx")
    recalculated = dict(zip(["out", "again"], recalculate([out, again], folder / "lo"),
                            strict=True))
    return {"exported": exported, "team": team, "before": before, "settlement": settlement,
            "out": out, "again": again, "plain": plain, "recalculated": recalculated}


def test_every_other_part_is_kept_byte_for_byte(workbooks):
    before = workbooks["before"]
    assert any(n.startswith("xl/charts/") for n in before)
    assert any("comments" in n for n in before)
    for name in ("out", "again"):
        assert_kept(before, parts(workbooks[name]))
    team_sheets = CalamineWorkbook.from_path(str(workbooks["team"])).sheet_names
    for name in ("out", "again"):
        names = CalamineWorkbook.from_path(str(workbooks[name])).sheet_names
        assert names == [*team_sheets, *SETTLEMENT_SHEETS], name


def _but_when(rows: list[list]) -> list[list]:
    """The rows with the title block's "Run at ..." (when each was settled) left out."""
    return [row for row in rows if not (row and str(row[0]).startswith("Run at "))]


def test_settlement_sheets_are_those_write_settlement_writes(workbooks):
    ours = openpyxl.load_workbook(workbooks["plain"])
    cached = CalamineWorkbook.from_path(str(workbooks["plain"]))
    for name in ("out", "again"):
        patched = openpyxl.load_workbook(workbooks[name])
        patched_cached = CalamineWorkbook.from_path(str(workbooks[name]))
        for sheet in SETTLEMENT_SHEETS:
            formulas = _but_when([[c.value for c in row] for row in ours[sheet].iter_rows()])
            assert _but_when([[c.value for c in row]
                              for row in patched[sheet].iter_rows()]) == formulas
            assert (_but_when(patched_cached.get_sheet_by_name(sheet).to_python())
                    == _but_when(cached.get_sheet_by_name(sheet).to_python())), (name, sheet)
            # The print setup survives the copy: print titles, fit to one page wide.
            assert patched[sheet].print_title_cols == ours[sheet].print_title_cols, sheet
            assert patched[sheet].print_title_rows == ours[sheet].print_title_rows, sheet
            assert (patched[sheet].page_setup.orientation
                    == ours[sheet].page_setup.orientation), sheet


def test_libreoffice_recalculates_the_patched_sheets_to_python(workbooks):
    expected = sum(len(_formula_cells(workbooks["plain"])[s]) for s in SETTLEMENT_SHEETS)
    assert expected > 50
    for name in ("out", "again"):
        cells = _formula_cells(workbooks[name])
        assert sum(len(cells[s]) for s in SETTLEMENT_SHEETS) == expected
        count, problems = _compare(workbooks[name], workbooks["recalculated"][name])
        assert count == expected + 1, count  # and the team's own =SUM(A2:A5)
        assert not problems, "\n".join(problems[:10])


def test_the_patched_workbook_settles_the_same(workbooks):
    out = workbooks["out"]
    assert_same_settlement(workbooks["settlement"], Agreement.from_excel(out).settle(out))
    assert_same_settlement(Agreement.from_toml(MSK_AGREEMENT).settle(MSK_OUTTURN),
                           workbooks["settlement"])


def test_cli_settle_with_inputs(workbooks, tmp_path, capsys):
    exported = workbooks["exported"]
    out = tmp_path / "settled.xlsx"
    assert main(["settle", str(exported), "--with-inputs", "--out", str(out), "--quiet"]) == 0
    assert_kept(parts(exported), parts(out))
    names = CalamineWorkbook.from_path(str(out)).sheet_names
    assert names == [*CalamineWorkbook.from_path(str(exported)).sheet_names, *SETTLEMENT_SHEETS]
    # With a lines file, the settlement is of those lines; the plan_lines sheet is kept.
    with_csv = tmp_path / "with_csv.xlsx"
    assert main(["settle", str(exported), str(MSK_OUTTURN), "--with-inputs", "--out",
                 str(with_csv), "--quiet"]) == 0
    assert_kept(parts(exported), parts(with_csv))
    capsys.readouterr()

    before = parts(exported)
    refused = [
        (["settle", str(MSK_AGREEMENT), str(MSK_OUTTURN), "--with-inputs", "--out",
          str(tmp_path / "a.xlsx")], "--with-inputs needs an agreement workbook (.xlsx)"),
        (["settle", str(exported), "--with-inputs"], "--with-inputs needs --out"),
        (["settle", str(exported), "--with-inputs", "--out", str(exported)],
         "would overwrite the agreement"),
        (["settle", str(exported), "--out", str(exported)], "would overwrite the agreement"),
    ]
    for argv, message in refused:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "a.xlsx").exists()
    assert parts(exported) == before
