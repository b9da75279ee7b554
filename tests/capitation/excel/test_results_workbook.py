"""The results workbook read back by machine keys (``read_results``), and laid out for print."""

from pathlib import Path

import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

import capitation
from capitation import InputError, Model, read_results
from tests.capitation.excel.test_formulas import _pace_model

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "models" / "demo.toml"


@pytest.fixture(scope="module")
def demo():
    return Model.from_toml(DEMO).run()


@pytest.fixture(scope="module")
def demo_book(demo, tmp_path_factory):
    return demo.to_excel(tmp_path_factory.mktemp("book") / "demo.xlsx")


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    # Excel stores a number to 16 significant digits (xlsxwriter writes "%.16G"), so
    # figures agree to about 1e-15 relative; money in whole pence agrees to the penny.
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-14, atol=0)


@pytest.mark.parametrize("level", ["practice", "ICB/LAD", "ICB"])
def test_read_results_returns_the_table_for_every_level_of_the_demo(demo, demo_book, level):
    got = read_results(demo_book, level)
    expected = demo.table(level)
    _same(got, expected)
    assert list(got.columns) == list(expected.columns)
    money = (got["allocation_gbp"] * 100).round().astype("int64")
    assert (money == (expected["allocation_gbp"] * 100).round().astype("int64")).all()


def test_read_results_finds_each_year(tmp_path):
    results = Model.from_toml(_pace_model(tmp_path / "m", "ICB", "toolkit")).run()
    out = results.to_excel(tmp_path / "pace.xlsx")
    for year in results.years:
        for level in results.levels:
            _same(read_results(out, level, year), results.table(level, year))
    _same(read_results(out, "ICB"), results.table("ICB", results.years[0]))


def test_read_results_names_what_it_has(demo_book):
    with pytest.raises(InputError, match='no level "CCG".*levels are practice, ICB/LAD, ICB'):
        read_results(demo_book, "CCG")
    with pytest.raises(InputError, match='no level "ICB" in year "2030/31"'):
        read_results(demo_book, "ICB", "2030/31")


def test_read_results_refuses_a_workbook_without_keys(tmp_path):
    pd.DataFrame({"a": [1]}).to_excel(tmp_path / "plain.xlsx")
    with pytest.raises(InputError, match='no sheet "_columns": not a results workbook'):
        read_results(tmp_path / "plain.xlsx", "ICB")


def test_read_results_is_public():
    assert capitation.read_results is read_results


def _sheets(book_path):
    import openpyxl

    return openpyxl.load_workbook(book_path)


def test_level_sheets_are_labelled_formatted_and_set_up_to_print(demo, demo_book):
    book = _sheets(demo_book)
    for level, sheet_name in [("practice", "practice"), ("ICB/LAD", "ICB_LAD"), ("ICB", "ICB")]:
        sheet = book[sheet_name]
        table = demo.table(level)
        keys = [c.value for c in sheet[1]]
        assert keys == [level, *table.columns]  # the hidden machine key
        assert sheet.row_dimensions[1].hidden
        # The title block: model, what, year, units, the sign convention, the run date.
        assert sheet["A2"].value == f"{demo.spec.name}: allocation by {level}, 2025/26"
        assert "£" in sheet["A3"].value
        assert "negative = below target" in sheet["A4"].value
        assert sheet["A5"].value == f"Run at {demo.run_at} (UTC)"
        labels = [c.value for c in sheet[6]]
        assert labels[:3] == [level, "Name", "Population"]
        assert "Allocation (£)" in labels and "Distance from target (%)" in labels
        for text in labels:
            assert "_" not in text and "gbp" not in text, text
        data = sheet[7]
        formats = {keys[c]: data[c].number_format for c in range(len(keys))}
        assert formats["allocation_gbp"] == "£#,##0.00;-£#,##0.00"
        assert formats["target_core_gbp"].startswith("£#,##0")
        assert formats["distance_from_target"].endswith("%")
        assert formats["need_index"] == "0.000"
        assert formats["population"] == "#,##0"
        # The totals row: a live subtotal of each column that adds up, blank for indices.
        total_row = 7 + len(table)
        total = {keys[c]: sheet.cell(total_row, c + 1).value for c in range(len(keys))}
        assert total[level] == "Total"
        last = total_row - 1
        letter = {k: get_column_letter(c + 1) for c, k in enumerate(keys)}
        a = letter["allocation_gbp"]
        assert total["allocation_gbp"] == f"=SUBTOTAL(9,{a}7:{a}{last})"
        assert total["population"] == f"=SUBTOTAL(9,C7:C{last})"
        assert total["need_index"] is None and total["distance_from_target"] is None
        assert total["allocation_per_head_gbp"] is None  # a rate per head does not add up
        # Columns wide enough for their values; panes frozen under the header, beside the
        # code and name; a filter on the header.
        assert sheet.freeze_panes == "C7"
        assert sheet.auto_filter.ref == f"A6:{sheet.cell(6, len(keys)).column_letter}{last}"
        widest = len(f"£{table['allocation_gbp'].max():,.2f}")
        col = keys.index("allocation_gbp") + 1
        width = next(d.width for d in sheet.column_dimensions.values() if d.min <= col <= d.max)
        assert width >= widest
        # Page setup: landscape A4, one page wide, header and code + name on every page,
        # the model and "Page x of y" in the footer.
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        # fitToWidth left out means 1, the default of the file format (ECMA-376 18.3.1.63).
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
        assert sheet.print_title_rows == "$6:$6" and sheet.print_title_cols == "$A:$B"
        assert demo.spec.name in sheet.oddFooter.left.text
        assert sheet.oddFooter.right.text == "Page &P of &N"


def test_cached_totals_tie_out_to_the_envelope(demo, demo_book):
    import openpyxl

    book = openpyxl.load_workbook(demo_book, data_only=True)
    sheet = book["ICB"]
    keys = [c.value for c in sheet[1]]
    total = [c.value for c in sheet[7 + len(demo.table("ICB"))]]
    # models/demo.toml: envelope_gbp = 120_000_000_000.
    assert round(total[keys.index("allocation_gbp")] * 100) == 12_000_000_000_000
    assert round(total[keys.index("target_gbp")] * 100) == 12_000_000_000_000


def test_pace_of_change_path_sheet_is_labelled(demo_book):
    sheet = _sheets(demo_book)["pace_of_change_path"]
    labels = [c.value for c in sheet[6]]
    assert labels[:3] == ["ICB", "Name", "Year"]
    assert all("_" not in t for t in labels)
    assert sheet.page_setup.orientation == "landscape"


def test_demo_icb_sheet_prints_on_at_most_two_pages(demo_book, tmp_path):
    from tests.support.libreoffice import only_sheet, pdf_pages, soffice, to_pdf

    assert soffice() is not None, "LibreOffice is needed: run .ci/ensure_libreoffice.sh"
    alone = only_sheet(demo_book, tmp_path / "icb.xlsx", "ICB")
    pages = pdf_pages(to_pdf(alone, tmp_path / "pdf"))
    assert 1 <= pages <= 2, pages  # 42 ICBs, landscape, one page wide


def test_summary_sheet_opens_the_workbook_with_the_headlines_and_a_chart(demo, demo_book):
    import zipfile

    book = _sheets(demo_book)
    assert book.sheetnames[0] == "summary"
    assert book.active.title == "summary"
    sheet = book["summary"]
    assert sheet["A1"].value == f"{demo.spec.name}: summary, 2025/26"
    figures = {sheet.cell(r, 1).value: sheet.cell(r, 2) for r in range(6, 20)}
    # models/demo.toml: envelope_gbp = 120_000_000_000, pace of change at ICB level.
    assert figures["Envelope (£)"].value == pytest.approx(120_000_000_000, abs=0.005)
    assert figures["Envelope (£)"].number_format.startswith("£")
    assert figures["Organisations: ICB"].value == 42
    pace = demo.pace[demo.years[0]]
    shortfall = figures["Largest shortfall below target (%)"].value
    assert shortfall == pytest.approx(pace.largest_shortfall, rel=1e-14)  # 16 digits stored
    total = figures["Total shortfall below target (£)"].value
    assert total == pytest.approx(pace.total_shortfall_gbp, rel=1e-14)
    outcome = demo.pace_outcomes[demo.years[0]]
    at_floor = int((outcome.allocation_pence == outcome.floor_pence).sum())
    assert figures["At their floor (minimum growth)"].value == at_floor
    texts = [sheet.cell(r, 1).value for r in range(1, 40)]
    top = demo.table("ICB").sort_values("growth", ascending=False).iloc[0]
    assert f"{top['name']} ({top.name})" in texts  # the biggest mover, named beside its code
    with zipfile.ZipFile(demo_book) as parts:
        charts = [n for n in parts.namelist() if n.startswith("xl/charts/chart")]
        xml = parts.read(charts[0]).decode()
    # Distance from target (column I) of the 42 ICBs, labelled by name (column B).
    assert "<c:barChart>" in xml and "'ICB'!$I$7:$I$48" in xml
    assert "'ICB'!$B$7:$B$48" in xml


def test_read_results_ignores_the_summary_sheet(demo, demo_book):
    _same(read_results(demo_book, "ICB"), demo.table("ICB"))
