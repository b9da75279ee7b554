"""budget_lines and budget_bridge sheets: live formulas whose cached values are Python's."""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xlsxwriter

from capitation.excel.budget_sheets import BRIDGE_SHEET, LINES_SHEET, add_budget_sheets
from capitation.service_budget.budget import BRIDGE_COLUMNS, BUDGET_LINE_COLUMNS, build_budget
from capitation.service_budget.budget_file import read_service_budget

REPO = Path(__file__).resolve().parents[3]

_spec = importlib.util.spec_from_file_location(
    "_sb_example", Path(__file__).resolve().parents[1] / "service_budget" / "test_budget.py"
)
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)


def example_budget():
    """docs/methods/service-budget.md#worked-example's two lines, one new service, three years."""
    return build_budget(read_service_budget(_example.worked_example_table(), REPO, REPO / "x.toml"))


def msk_budget():
    path = REPO / "models" / "msk.toml"
    table = tomllib.loads(path.read_text())["service_budget"]
    return build_budget(read_service_budget(table, path.parent, path))


def write(budget, path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    add_budget_sheets(book, budget)
    book.close()
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    budget = example_budget()
    path = write(budget, tmp_path_factory.mktemp("budget") / "budget.xlsx")
    return budget, path


def formula_cells(path: Path) -> dict[tuple[str, str], str]:
    book = openpyxl.load_workbook(path)
    return {
        (sheet.title, cell.coordinate): cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    }


def test_lines_sheet_has_the_formulas_of_domain_6_1(written):
    _, path = written
    sheet = openpyxl.load_workbook(path)[LINES_SHEET]
    header = [c.value for c in sheet[1]]
    assert header == list(BUDGET_LINE_COLUMNS)
    col = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
    # Row 7 (under the title block and the header) is 2017/18 Outpatient first.
    expected = {
        "grown_activity": f"={col['baseline_activity']}7*{col['growth_factor']}7",
        "planned_activity": f"={col['grown_activity']}7*(1+{col['activity_change']}7)",
        "price_gbp": f"={col['baseline_price_gbp']}7*{col['price_factor']}7",
        "planned_value_gbp": f"=ROUND({col['planned_activity']}7*{col['price_gbp']}7,2)",
        "removed_value_gbp": (
            f"=MAX(0,ROUND({col['repriced_value_gbp']}7-{col['planned_value_gbp']}7,2))"
        ),
        "released_cost_gbp": f"=ROUND({col['removed_value_gbp']}7*{col['release_fraction']}7,2)",
        "stranded_cost_gbp": f"=ROUND({col['removed_value_gbp']}7-{col['released_cost_gbp']}7,2)",
        "support_gbp": f"=ROUND({col['stranded_cost_gbp']}7*{col['stranded_support']}7,2)",
        "budget_gbp": f"={col['planned_value_gbp']}7+{col['support_gbp']}7",
        "repriced_value_gbp": f"=ROUND({col['grown_activity']}7*{col['price_gbp']}7,2)",
        "growth_factor": f"=(1+0.01)^{col['year_number']}7",
        "price_factor": "=(1+0.02)",
    }
    for name, formula in expected.items():
        assert sheet[f"{col[name]}7"].value == formula, name
    assert sheet[f"{col['price_factor']}13"].value == "=(1+0.02)*(1+0.015)*(1+0.015)"
    assert sheet[f"{col['release_fraction']}7"].value.startswith("=MIN(1,")
    # Inputs are numbers; text is text.
    for name in ("baseline_activity", "activity_change", "fixed", "stranded_support"):
        assert sheet[f"{col[name]}7"].data_type == "n", name
    for name in ("provider", "pod", "year", "kind"):
        assert sheet[f"{col[name]}7"].data_type == "s", name
    # Row 9 is the new service: activity and price are inputs, its money still formulas.
    assert sheet[f"{col['pod']}9"].value == "Physiotherapy-led triage"
    assert sheet[f"{col['grown_activity']}9"].data_type == "n"
    assert sheet[f"{col['budget_gbp']}9"].data_type == "f"


def test_bridge_sheet_sums_the_lines_sheet(written):
    _, path = written
    sheet = openpyxl.load_workbook(path)[BRIDGE_SHEET]
    assert [c.value for c in sheet[1]][: len(BRIDGE_COLUMNS) + 1] == ["year", *BRIDGE_COLUMNS]
    assert [sheet[f"A{r}"].value for r in (7, 8, 9)] == ["2017/18", "2018/19", "2019/20"]
    # 2018/19 is rows 10-12 of budget_lines (its data starts on row 7, under the title block);
    # baseline sums baseline_value_gbp (column T) there.
    assert sheet["B8"].value == "=SUM(budget_lines!$T$10:$T$12)"
    by_kind = "SUMIFS(budget_lines!$G$10:$G$12,budget_lines!$M$10:$M$12,"
    assert sheet["E8"].value == f'={by_kind}"line")-SUM(budget_lines!$V$10:$V$12)'
    assert sheet["F8"].value == f'={by_kind}"new_service")'
    assert sheet["H8"].value == "=SUM(B8:G8)"
    assert sheet["J8"].value == "=I8-H8"


def test_cached_values_are_pythons(written):
    budget, path = written
    book = openpyxl.load_workbook(path, data_only=True)
    lines = book[LINES_SHEET]
    rows = list(lines.iter_rows(min_row=7, max_row=6 + len(budget.budget_lines),
                                values_only=True))
    assert len(rows) == len(budget.budget_lines)
    for c, name in enumerate(BUDGET_LINE_COLUMNS):
        got = [row[c] for row in rows]
        want = budget.budget_lines[name].tolist()
        if name in ("provider", "pod", "year", "kind"):
            assert got == want, name
        else:
            got_f = np.array([np.nan if v is None else v for v in got], dtype=float)
            np.testing.assert_array_equal(got_f, np.array(want, dtype=float), err_msg=name)
    bridge = book[BRIDGE_SHEET]
    for k, year in enumerate(budget.years, start=7):
        for c, name in enumerate(BRIDGE_COLUMNS, start=1):
            assert bridge.cell(k, c + 1).value == budget.budget_bridge.loc[year, name], (year, name)
    # docs/methods/service-budget.md#worked-example: the 2019/20 net saving is £499,207.83.
    assert bridge["J9"].value == 499_207.83


def test_waterfall_charts_have_an_invisible_base(written):
    budget, path = written
    with zipfile.ZipFile(path) as archive:
        charts = sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == len(budget.years)
        xml = archive.read(charts[0]).decode()
    assert '<c:grouping val="stacked"/>' in xml
    first_series = xml.split("<c:ser>")[1]
    assert "<a:noFill/>" in first_series  # the base series is invisible
    assert "budget_bridge!$D$" in first_series  # base_gbp helper column


def _series(xml: str) -> list[dict]:
    """Each series of a chart part: name, fill colour, label format, values range."""
    found = []
    for part in xml.split("<c:ser>")[1:]:
        part = part.split("</c:ser>")[0]
        fill = re.search(r'<c:spPr><a:solidFill><a:srgbClr val="(\w+)"/>', part)
        labels = re.search(r'<c:dLbls><c:numFmt formatCode="([^"]*)"', part)
        found.append({"name": re.search(r"<c:tx><c:v>([^<]*)</c:v></c:tx>", part).group(1),
                      "fill": fill.group(1) if fill else None,
                      "labels": html.unescape(labels.group(1)) if labels else None,
                      "values": re.search(r"<c:val><c:numRef><c:f>([^<]*)</c:f>", part).group(1)})
    return found


def test_waterfall_reads_increase_decrease_total_in_the_png_colours(written):
    # The native chart matches capitation.plots.budget_waterfall: the same colours
    # (capitation.chart_style), a legend a person reads, steps labelled in £m, and a value
    # axis that starts near the lowest running total instead of at £0.
    from capitation.chart_style import DECREASE, INCREASE, TOTAL, waterfall_range

    budget, path = written
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/charts/chart1.xml").decode()
    series = _series(xml)
    assert [s["name"] for s in series] == ["Base", "Increase", "Decrease", "Total"]
    assert [s["fill"] for s in series] == [None, INCREASE[1:].upper(), DECREASE[1:].upper(),
                                          TOTAL[1:].upper()]
    assert '<c:legendEntry><c:idx val="0"/><c:delete val="1"/>' in xml  # no "Base" in it
    assert series[0]["labels"] is None
    assert series[1]["labels"] == '£#,##0.00,,"m";"−£"#,##0.00,,"m";'  # £m, zero unlabelled
    assert series[2]["labels"] == '"−£"#,##0.00,,"m";£#,##0.00,,"m";'  # a decrease: a minus
    assert "budget_bridge!$F$" in series[1]["values"]  # increase_gbp
    assert "budget_bridge!$G$" in series[2]["values"]  # decrease_gbp
    assert "budget_bridge!$E$" in series[3]["values"]  # total_gbp
    low = float(re.search(r'<c:min val="([^"]+)"/>', xml).group(1))
    high = float(re.search(r'<c:max val="([^"]+)"/>', xml).group(1))
    row = budget.budget_bridge.iloc[0]
    steps = [row[c] for c in ("growth_gbp", "price_gbp", "activity_change_gbp",
                              "new_services_gbp", "stranded_support_gbp")]
    assert (low, high) == waterfall_range(row["baseline_gbp"], steps, row["budget_gbp"])
    # docs/methods/service-budget.md#worked-example, 2017/18: running totals from £10,147,470 to
    # £12,033,700, so the axis
    # starts well above £0 and below the lowest of them.
    assert 0 < low < 10_147_470 and high > 12_033_700


def _excel_shows(value: float, code: str) -> str:
    """What Excel shows for ``value`` in number format ``code`` (the £m formats' features).

    Excel's rules (ECMA-376 Part 1, 18.8.31 numFmts): sections for positive;negative;zero,
    a negative shown by its own section without its sign, an empty section shows nothing;
    each comma after the last digit placeholder divides by 1,000; quoted text is shown as
    it is; the figure is rounded half away from zero to the decimals shown.
    """
    from decimal import ROUND_HALF_UP, Decimal

    sections = code.split(";")  # these formats have no ";" inside their quotes
    if value > 0:
        section, amount = sections[0], Decimal(repr(value))
    elif value < 0:
        section, amount = sections[1], Decimal(repr(-value))
    else:
        section, amount = (sections[2] if len(sections) > 2 else sections[0]), Decimal(0)
    shown = []
    for part in re.findall(r'"[^"]*"|[#0,.]+|.', section):
        if part.startswith('"'):
            shown.append(part[1:-1])
        elif re.fullmatch(r"[#0,.]+", part):
            digits = part.rstrip(",")
            scaled = amount / Decimal(1000) ** (len(part) - len(digits))
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            figure = scaled.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
            shown.append(f"{figure:,.{decimals}f}" if "," in digits else f"{figure:.{decimals}f}")
        else:
            shown.append(part)
    return "".join(shown)


def test_excel_shows_reads_the_formats_as_excel_does():
    # Excel displays 4315250.25 in £#,##0.00,,"m" as £4.32m, and 5000 (half of £0.01m) as
    # £0.01m: halves away from zero.
    assert _excel_shows(4_315_250.25, '£#,##0.00,,"m";"−£"#,##0.00,,"m";') == "£4.32m"
    assert _excel_shows(-4_315_250.25, '£#,##0.00,,"m";"−£"#,##0.00,,"m";') == "−£4.32m"
    assert _excel_shows(5_000.0, '£#,##0.00,,"m"') == "£0.01m"
    assert _excel_shows(0.0, '£#,##0.00,,"m";"−£"#,##0.00,,"m";') == ""


def test_png_and_native_waterfalls_label_the_same_bars_with_the_same_text(tmp_path):
    # The msk demo's bridge as the PNG (capitation.plots.budget_waterfall) labels it and as
    # the workbook's native chart shows it: the chart's label formats applied, by Excel's
    # rules, to the values its series read from the budget_bridge sheet (cached). One label
    # per bar in the same order, the same text; a zero step (stranded support in 2019/20)
    # unlabelled in both.
    from capitation import Model, plots

    results = Model.from_toml(REPO / "models" / "msk.toml").run()
    path = results.to_excel(tmp_path / "msk.xlsx")
    sheet = openpyxl.load_workbook(path, data_only=True)[BRIDGE_SHEET]
    with zipfile.ZipFile(path) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist()
                  if n.startswith("xl/charts/chart")]
    for year in results.years:
        (xml,) = [x for x in charts if f"budget bridge {year}" in x]
        bars: list[list[str]] = []
        for series in _series(xml):
            if series["labels"] is None:
                continue  # the invisible base
            cells = sheet[series["values"].split("!")[1].replace("$", "")]
            for k, (cell,) in enumerate(cells):
                if k == len(bars):
                    bars.append([])
                text = _excel_shows(float(cell.value), series["labels"])
                if text:
                    bars[k].append(text)
        assert len(bars) == 7 and all(len(b) <= 1 for b in bars), bars
        native = [b[0] for b in bars if b]
        (ax,) = plots.budget_waterfall(results, year).axes
        png = [t.get_text() for t in ax.texts]
        assert png == native, (year, png, native)
        if year == "2017/18":
            # models/msk.toml's 2017/18 activity change is −£4,315,250.25 (budget_bridge).
            assert native[3] == "−£4.32m"
        if year == "2019/20":
            assert len(native) == 6  # stranded support is £0.00 in the last year


def test_text_from_inputs_is_never_a_formula(tmp_path):
    table = _example.worked_example_table()
    table["line"][0]["pod"] = "=HYPERLINK(\"http://example.com\")"
    table["new_service"][0]["provider"] = "+Community MSK"
    budget = build_budget(read_service_budget(table, REPO, REPO / "x.toml"))
    sheet = openpyxl.load_workbook(write(budget, tmp_path / "t.xlsx"))[LINES_SHEET]
    assert sheet["B7"].data_type == "s" and sheet["B7"].value == "=HYPERLINK(\"http://example.com\")"
    assert sheet["A9"].data_type == "s" and sheet["A9"].value == "+Community MSK"


# -- a real spreadsheet engine recalculates every formula ------------------------------

_RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def recalculate(path: Path, out_dir: Path) -> Path:
    """Open in LibreOffice headless with "always recalculate" and save as xlsx again."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (soffice) is needed: run .ci/ensure_libreoffice.sh"
    profile = out_dir / "profile"
    (profile / "user").mkdir(parents=True)
    # Without this LibreOffice keeps the cached values of an xlsx file instead of recalculating.
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_PROFILE)
    result = subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "xlsx", "--outdir", str(out_dir / "out"), str(path)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    converted = out_dir / "out" / path.name
    assert converted.exists(), result.stderr + result.stdout
    return converted


@pytest.mark.parametrize("make_budget", [example_budget, msk_budget], ids=["domain_6_2", "msk"])
def test_libreoffice_recalculates_every_formula_to_pythons_value(tmp_path, make_budget):
    budget = make_budget()
    path = write(budget, tmp_path / "budget.xlsx")
    # test_libreoffice_really_recalculates shows the engine does not just keep the cached values.
    recalculated = openpyxl.load_workbook(recalculate(path, tmp_path), data_only=True)
    cached = openpyxl.load_workbook(path, data_only=True)
    formulas = formula_cells(path)
    assert len(formulas) > 100
    worst = 0.0
    for sheet, cell in formulas:
        python = cached[sheet][cell].value
        engine = recalculated[sheet][cell].value
        assert isinstance(engine, int | float), (sheet, cell, formulas[sheet, cell], engine)
        worst = max(worst, abs(engine - python))
        # Within £0.01 is the contract; closer than half a penny means no R(x) went another way
        # (models/msk.toml once caught a 1p flip on 2018/19 Elective inpatient support).
        assert abs(engine - python) < 0.005, (sheet, cell, formulas[sheet, cell], python, engine)
    assert worst < 0.005


def test_libreoffice_really_recalculates(tmp_path):
    # A stale cached value (999 for =A1*3 with A1 = 2) must come back as 6: the engine recalculated,
    # so the comparison above compares LibreOffice's arithmetic with Python's.
    path = tmp_path / "stale.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_number(0, 0, 2)
    sheet.write_formula(0, 1, "=A1*3", None, 999)
    book.close()
    assert openpyxl.load_workbook(path, data_only=True).active["B1"].value == 999
    recalculated = openpyxl.load_workbook(recalculate(path, tmp_path), data_only=True)
    assert recalculated.active["B1"].value == 6


def random_budget(seed: int = 2017, n_lines: int = 300):
    """Many lines with awkward numbers, to look for an R(x) that LibreOffice rounds another way."""
    import pandas as pd

    from capitation.service_budget.budget import ServiceBudgetInputs

    rng = np.random.default_rng(seed)
    years = ("2017/18", "2018/19", "2019/20", "2020/21")
    fixed = rng.integers(0, 60, n_lines) / 100
    semi = rng.integers(0, 40, n_lines) / 100
    lines = pd.DataFrame({
        "provider": rng.choice(["Acute trust", "Community MSK"], n_lines),
        "pod": [f"POD {i}" for i in range(n_lines)],
        "activity": rng.integers(0, 50_000, n_lines).astype(float),
        "price_gbp": rng.integers(100, 800_000, n_lines) / 100,
        "fixed": fixed,
        "semi_fixed": semi,
        "variable": 1.0 - fixed - semi,
        "fixed_release_years": rng.integers(0, 5, n_lines).astype(float),
        "semi_fixed_release_years": rng.integers(0, 3, n_lines).astype(float),
    })
    change = np.cumsum(-rng.integers(0, 10, (n_lines, len(years))) / 100, axis=1)
    inputs = ServiceBudgetInputs(
        name="random", baseline_year="2016/17", years=years, growth=0.013,
        price_uplift=np.array([0.021, 0.015, 0.017, 0.011]),
        stranded_support=np.array([1.0, 0.75, 0.5, 0.25]),
        lines=lines,
        activity_change=pd.DataFrame(change, columns=list(years)),
        new_services=pd.DataFrame({"provider": ["Community MSK"], "name": ["Triage"]}),
        patients=pd.DataFrame([[13000.0, 13100.0, 13200.0, 13300.0]], columns=list(years)),
        cost_per_patient_gbp=pd.DataFrame([[120.5, 122.25, 124.0, 125.75]], columns=list(years)),
    )
    return build_budget(inputs)


def test_libreoffice_agrees_on_many_awkward_lines(tmp_path):
    budget = random_budget()
    path = write(budget, tmp_path / "random.xlsx")
    recalculated = openpyxl.load_workbook(recalculate(path, tmp_path), data_only=True)
    cached = openpyxl.load_workbook(path, data_only=True)
    differ = [
        (sheet, cell, cached[sheet][cell].value, recalculated[sheet][cell].value)
        for sheet, cell in formula_cells(path)
        if abs(recalculated[sheet][cell].value - cached[sheet][cell].value) >= 0.005
    ]
    assert differ == []
