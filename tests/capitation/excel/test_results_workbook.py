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


def test_header_row_is_tall_enough_for_its_wrapped_labels(demo_book):
    from capitation.excel.board import header_lines

    # Words wrap whole: "Weighted population: primary medical care" in 16 characters (14 of
    # room after the cell's padding) is "Weighted" / "population:" / "primary medical" / "care".
    assert header_lines("Weighted population: primary medical care", 16) == 4
    assert header_lines("Target (£)", 12) == 1
    sheet = _sheets(demo_book)["ICB"]
    labels = [c.value for c in sheet[6]]
    widths = [next(d.width for d in sheet.column_dimensions.values() if d.min <= c <= d.max)
              for c in range(1, len(labels) + 1)]
    lines = [header_lines(t, w) for t, w in zip(labels, widths, strict=True)]
    # Every label wraps onto at most three lines, and the row is three 15-point lines tall
    # (a row left at its default height printed only the last line or two of a label).
    assert max(lines) == 3, dict(zip(labels, lines, strict=True))
    assert sheet.row_dimensions[6].height == 45


SCREENSHOT = ROOT / "docs" / "images" / "icb_sheet_printed.png"


def _ink_box(png: Path) -> tuple[float, float, float, float]:
    """The box around everything printed on a page, as fractions of its width and height."""
    from PIL import Image, ImageOps

    with Image.open(png) as image:
        ink = ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 40 else 0)
        left, top, right, bottom = ink.getbbox()
        return left / ink.width, top / ink.height, right / ink.width, bottom / ink.height


@pytest.mark.slow
def test_screenshot_of_the_printed_icb_sheet_is_current(demo, demo_book, tmp_path):
    # The README and the docs show page 1 of the demo's ICB sheet as LibreOffice prints it
    # (docs/images/icb_sheet_printed.png). UPDATE_SCREENSHOTS=1 writes it afresh; otherwise
    # this checks the picture still shows what the sheet prints: one page, the same size,
    # the printed area in the same place (to 2% of the page: not pixel for pixel, as fonts
    # render a little differently from machine to machine), every ICB named beside its code.
    import os

    from tests.support.libreoffice import only_sheet, page_png, page_text, pdf_pages, to_pdf

    alone = only_sheet(demo_book, tmp_path / "icb.xlsx", "ICB")
    pdf = to_pdf(alone, tmp_path / "pdf")
    png = page_png(pdf, tmp_path / "icb_sheet_printed.png")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        partial = SCREENSHOT.with_suffix(".png.partial")
        partial.write_bytes(png.read_bytes())
        partial.replace(SCREENSHOT)
    assert pdf_pages(pdf) == 1  # the picture is the whole sheet: 42 ICBs and the totals
    text = page_text(pdf)
    for code, row in demo.table("ICB").iterrows():
        assert f"{code}" in text and str(row["name"]) in text, (code, row["name"])
    assert "NHS West Yorkshire ICB" in text and "QWO" in text and "Total" in text
    assert SCREENSHOT.is_file(), "no screenshot: run this test with UPDATE_SCREENSHOTS=1"
    from PIL import Image

    with Image.open(SCREENSHOT) as shown, Image.open(png) as printed:
        assert shown.size == printed.size  # A4 landscape at 150 dpi: 1754 x 1240 pixels
    for was, now in zip(_ink_box(SCREENSHOT), _ink_box(png), strict=True):
        assert abs(was - now) <= 0.02, (_ink_box(SCREENSHOT), _ink_box(png))


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


# -- every table sheet of every results workbook: the checks of a board-ready sheet ----------
#
# The three workbooks a run writes: the demo's results workbook (models/demo.toml), the
# demo's scenarios workbook (models/demo_scenarios.toml: names with spaces and "%"), and
# the demo exported as a model workbook and run with --with-inputs (its results sheets
# patched into a copy of the team's workbook, capitation/excel/patch.py).


@pytest.fixture(scope="module")
def demo_scenarios(tmp_path_factory):
    from capitation.cli import main

    out = tmp_path_factory.mktemp("scenarios") / "demo_scenarios.xlsx"
    assert main(["scenarios", str(DEMO), "--scenarios", str(DEMO.with_name("demo_scenarios.toml")),
                 "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def demo_with_inputs(tmp_path_factory):
    from capitation.excel.model_export import export_model
    from capitation.excel.patch import write_results_into

    folder = tmp_path_factory.mktemp("with_inputs")
    workbook = export_model(DEMO, folder / "demo_model.xlsx")
    results = Model.from_excel(workbook).run()
    return results, workbook, write_results_into(results, workbook, folder / "with_inputs.xlsx")


#: Table sheets whose table in capitation.columns has the sheet's name (budget, persons).
_NAMED_TABLES = ("comparison", "headlines", "assumptions", "pace_of_change_path",
                 "budget_lines", "budget_bridge", "tiers", "opportunity")


def _tables(book) -> dict[str, str]:
    """Each table sheet of a workbook → its table in capitation.columns (by the machine keys)."""
    tables = {name: name for name in _NAMED_TABLES if name in book.sheetnames}
    for name in book.sheetnames:  # needs versus use: one sheet per service
        if name.startswith("opportunity_"):
            tables[name] = "opportunity_table"
    for row in book["_columns"].iter_rows(min_row=2, values_only=True):
        tables[row[0]] = "level"
    return tables


def assert_board_ready(book, sheet_name: str, table: str, model: str) -> None:
    """Check one table sheet as the board-ready checklist asks (see the section header)."""
    from capitation.columns import find

    sheet = book[sheet_name]
    where = sheet_name
    assert sheet.sheet_state == "visible", where
    assert sheet.row_dimensions[1].hidden, where  # the machine key row
    keys = [c.value for c in sheet[1]]
    labels = [c.value for c in sheet[6]]
    assert len(labels) == len(keys), where
    assert sheet["A2"].value.startswith(f"{model}: "), where  # the title block
    assert sheet["A5"].value.startswith("Run at "), where
    for label in labels:
        assert label and "_" not in label and "gbp" not in label.lower(), (where, label)
    data = sheet[7]
    for c, key in enumerate(keys):
        entry = find(key, table) if c else None
        shown = data[c].number_format
        if entry is None:
            continue
        if entry.unit == "gbp":
            assert shown.startswith("£#,##0"), (where, key, shown)
        elif entry.unit == "fraction":
            assert shown.endswith("%"), (where, key, shown)
        elif entry.unit == "index":
            assert shown == "0.000", (where, key, shown)
        elif entry.unit == "persons":
            assert shown == "#,##0", (where, key, shown)
    assert sheet.page_setup.orientation == "landscape", where
    assert sheet.sheet_properties.pageSetUpPr.fitToPage, where
    # fitToWidth left out means 1 (ECMA-376 18.3.1.63); 0 pages high: as many as it needs.
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0, where
    assert sheet.print_title_rows == "$6:$6", where
    assert sheet.print_title_cols in ("$A:$A", "$A:$B"), where
    assert sheet.freeze_panes in ("B7", "C7"), where
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A6:"), where
    assert model in sheet.oddFooter.left.text and sheet.oddFooter.right.text == "Page &P of &N"


def _check_workbook(path, model: str, expected: set[str]) -> None:
    import openpyxl

    book = openpyxl.load_workbook(path)
    assert book["_columns"].sheet_state == "hidden"
    tables = _tables(book)
    assert expected <= set(tables), expected - set(tables)
    for sheet_name, table in tables.items():
        assert_board_ready(book, sheet_name, table, model)


def test_every_sheet_of_the_demo_results_is_board_ready(demo, demo_book):
    _check_workbook(demo_book, demo.spec.name, {"practice", "ICB_LAD", "ICB", "assumptions",
                                                "pace_of_change_path"})


def test_every_sheet_of_the_demo_scenarios_is_board_ready(demo, demo_scenarios):
    _check_workbook(demo_scenarios, demo.spec.name,
                    {"comparison", "headlines", "assumptions", "base ICB", "cap 6% ICB",
                     "floor 1% practice", "more primary care ICB_LAD"})


def test_every_results_sheet_of_the_with_inputs_copy_is_board_ready(demo_with_inputs):
    results, _, out = demo_with_inputs
    _check_workbook(out, results.spec.name, {"practice", "ICB_LAD", "ICB", "assumptions",
                                             "pace_of_change_path"})


def test_read_results_reads_the_with_inputs_copy_of_the_demo(demo_with_inputs):
    results, _, out = demo_with_inputs
    assert results.levels == ["practice", "ICB/LAD", "ICB"]
    for level in results.levels:
        _same(read_results(out, level), results.table(level))


def test_the_with_inputs_copy_keeps_print_titles_and_the_team_selected_sheet(demo_with_inputs):
    import openpyxl

    _, workbook, out = demo_with_inputs
    team = openpyxl.load_workbook(workbook, read_only=True)
    book = openpyxl.load_workbook(out)
    # The copy opens on the sheet the team's workbook opens on, and only that one is
    # selected (two selected sheets open grouped, and an edit would change both).
    assert book.active.title == team.active.title
    selected = [s.title for s in book.worksheets if s.sheet_view.tabSelected]
    assert selected == [team.active.title]
    assert book["ICB"].print_area == "'ICB'!$A$2:$Q$49"  # title block to the totals row
    team.close()


def test_the_scenarios_comparison_names_each_organisation_and_totals_the_money(demo,
                                                                                demo_scenarios):
    import openpyxl

    sheet = openpyxl.load_workbook(demo_scenarios)["comparison"]
    icb = demo.table("ICB")
    keys = [c.value for c in sheet[1]]
    assert keys[:3] == ["ICB", "name", "allocation_gbp__base"]
    assert sheet["A2"].value.endswith("ICB allocations, 2025/26: floor 1%, cap 6%, more "
                                      "primary care against base")
    rows = {sheet.cell(r, 1).value: sheet.cell(r, 2).value for r in range(7, 7 + len(icb))}
    assert rows == icb["name"].to_dict()
    total = [c.value for c in sheet[7 + len(icb)]]
    assert total[0] == "Total"
    last = 6 + len(icb)
    letter = get_column_letter(keys.index("change_gbp__cap 6%") + 1)
    assert total[keys.index("change_gbp__cap 6%")] == f"=SUBTOTAL(9,{letter}7:{letter}{last})"
    assert total[keys.index("change__cap 6%")] is None  # a percentage does not add up
    labels = [c.value for c in sheet[6]]
    assert "Change: cap 6% (£)" in labels and "Change: cap 6% (%)" in labels
    headlines = openpyxl.load_workbook(demo_scenarios)["headlines"]
    assert headlines["A2"].value == (f"{demo.spec.name}: headline figures per scenario "
                                     "(ICB allocations, 2025/26)")
    assert [c.value for c in headlines[6]] == ["Scenario", "Largest shortfall (%)",
                                               "Total shortfall (£)", "At floor", "At cap"]
    assert [headlines.cell(r, 1).value for r in range(7, 11)] == [
        "base", "floor 1%", "cap 6%", "more primary care"]  # models/demo_scenarios.toml


# The budget, needs-versus-use and person-level sheets, on the models that write them: the
# MSK capitated budget (models/msk.toml), needs versus use on 131 practices
# (models/opportunity_demo.toml) and 200,000 synthetic persons (models/persons_demo.toml).
_MORE = {"msk": {"budget_lines", "budget_bridge", "assumptions"},
         "opportunity_demo": {"opportunity_emergency_admission", "opportunity_a_and_e",
                              "assumptions"},
         "persons_demo": {"tiers", "opportunity", "assumptions"}}


@pytest.mark.parametrize("model", sorted(_MORE))
def test_every_sheet_of_the_budget_opportunity_and_persons_models_is_board_ready(model,
                                                                                 tmp_path):
    results = Model.from_toml(ROOT / "models" / f"{model}.toml").run()
    path = results.to_excel(tmp_path / f"{model}.xlsx")
    _check_workbook(path, results.spec.name, _MORE[model])


def test_budget_sheets_total_the_lines_and_print_the_waterfalls(tmp_path):
    import openpyxl

    results = Model.from_toml(ROOT / "models" / "msk.toml").run()
    book = openpyxl.load_workbook(results.to_excel(tmp_path / "msk.xlsx"))
    lines = book["budget_lines"]
    n = len(results.budget.budget_lines)
    keys = [c.value for c in lines[1]]
    total = [c.value for c in lines[7 + n]]
    assert total[0] == "Total"
    letter = get_column_letter(keys.index("budget_gbp") + 1)
    assert total[keys.index("budget_gbp")] == f"=SUBTOTAL(9,{letter}7:{letter}{6 + n})"
    assert total[keys.index("price_gbp")] is None  # a price does not add up
    assert total[keys.index("activity_change")] is None  # nor a percentage
    assert [c.value for c in lines[6]][:3] == ["Provider", "Point of delivery", "Year"]
    bridge = book["budget_bridge"]
    # The page runs from the title block through the last year's waterfall (20 rows a year,
    # under the table, a blank row and its own rows) and across to the chart beside it.
    years = len(results.budget.years)
    last_row = 6 + years + 2 + 20 * years
    assert bridge.print_area == f"'budget_bridge'!$A$2:$P${last_row}"  # 672 pixels: I to P
    anchors = [c.anchor._from for c in bridge._charts]
    assert [(a.row, a.col) for a in anchors] == [(6 + years + 2 + 20 * k, 8)
                                                 for k in range(years)]


def test_a_narrow_table_prints_its_title_whole():
    from capitation.excel.board import Page, print_columns

    # A title of 102 characters in 14-point bold needs about 1.2 × 102 = 122.4 characters
    # of 11-point width: two 10-character columns, then 13 empty ones of 8.43 (20 + 109.6).
    page = Page("M" * 10, "t" * 90, "units", "", "2026-01-01T00:00:00+00:00")
    assert print_columns(page, [10.0, 10.0]) == 15
    # A note wider than the title sets the width instead: 150 characters.
    assert print_columns(page, [10.0, 10.0], ["n" * 150]) == 18
    # A table wider than its title prints its own columns only.
    assert print_columns(Page("M", "t", "u", "", "now"), [10.0] * 5) == 5
