"""Model workbooks: TOML → workbook → same results to the penny; errors by sheet and cell."""

import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from capitation import InputError, Model
from capitation.cli import main
from capitation.excel.model_export import export_model
from capitation.excel.templates import TEMPLATES, write_templates
from tests.capitation.excel.test_formulas import _pace_model
from tests.support.libreoffice import recalculate

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "models" / "demo.toml"
MSK = ROOT / "models" / "msk.toml"


def assert_same_results(a, b):
    assert a.years == b.years and a.levels == b.levels
    for year in a.years:
        for level in a.levels:
            pd.testing.assert_frame_equal(a.table(level, year), b.table(level, year),
                                          check_exact=True)
    assert (a.budget is None) == (b.budget is None)
    if a.budget is not None:
        pd.testing.assert_frame_equal(a.budget_lines, b.budget_lines, check_exact=True)
        pd.testing.assert_frame_equal(a.budget_bridge, b.budget_bridge, check_exact=True)


@pytest.fixture(scope="module")
def demo_workbook(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    return export_model(DEMO, out)


def test_demo_workbook_gives_exactly_the_toml_results(demo_workbook):
    assert_same_results(Model.from_toml(DEMO).run(), Model.from_excel(demo_workbook).run())


def test_workbook_layout_mirrors_the_toml(demo_workbook):
    book = CalamineWorkbook.from_path(str(demo_workbook))
    assert book.sheet_names[:4] == ["instructions", "model", "population", "component"]
    assert "population_data" in book.sheet_names
    population = book.get_sheet_by_name("population").to_python()
    assert [r[:2] for r in population[1:]] == [
        ["file", "population_data"], ["id", "Practice_Code"], ["population", "Population"],
        ["levels_1_1", "ICB"], ["levels_1_2", "LAD"], ["levels_2", "ICB"],
        ["names:practice", "GP_Practice_Name"], ["names:ICB/LAD", "LTLA"],
        ["names:ICB", "ICBname"]]
    component = book.get_sheet_by_name("component").to_python()
    assert component[0] == ["name", "share", "weighted_population:Final WP",
                            "weighted_population:Primary Medical Care WP",
                            "weighted_population:Health Ineq WP"]


def test_names_round_trip_through_the_model_workbook(demo_workbook):
    toml, workbook = Model.from_toml(DEMO), Model.from_excel(demo_workbook)
    assert workbook.spec.population.names == toml.spec.population.names == {
        "practice": "GP_Practice_Name", "ICB/LAD": "LTLA", "ICB": "ICBname"}
    assert workbook.spec.raw["population"]["names"] == toml.spec.raw["population"]["names"]
    results = workbook.run()
    assert results.table("ICB").loc["QWO", "name"] == "NHS West Yorkshire ICB"


def test_a_name_column_the_sheet_lacks_is_named(demo_workbook, tmp_path):
    book = openpyxl.load_workbook(demo_workbook)
    sheet = book["population"]
    row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "names:ICB")
    sheet.cell(row, 2).value = "ICB_name"
    book.save(tmp_path / "renamed.xlsx")
    with pytest.raises(InputError, match=r'key population.names.ICB: no column "ICB_name" '
                                         r"\(the columns are: Practice_Code"):
        Model.from_excel(tmp_path / "renamed.xlsx").run()


def test_the_template_practice_names_flow_through_to_results():
    # workbooks/allocation_model.xlsx, practices sheet: P001 is "Riverside Surgery"
    # (capitation/excel/templates.py, _PRACTICES).
    results = Model.from_excel(ROOT / "workbooks" / "allocation_model.xlsx").run()
    practice = results.table("practice")
    assert practice.columns[0] == "name"
    assert practice.loc["P001", "name"] == "Riverside Surgery"
    assert "name" not in results.table("ICB").columns  # the template names practices only


def test_service_budget_workbook_gives_exactly_the_toml_results(tmp_path):
    out = export_model(MSK, tmp_path / "msk.xlsx")
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names == ["instructions", "model", "service_budget", "line",
                                "new_service"]
    rows = book.get_sheet_by_name("service_budget").to_python()
    assert ["price_uplift_2017_18", 0.02] in [r[:2] for r in rows]
    assert_same_results(Model.from_toml(MSK).run(), Model.from_excel(out).run())


def test_pace_of_change_model_with_baselines_sheet(tmp_path):
    model = _pace_model(tmp_path / "m", "ICB", "toolkit")
    out = export_model(model, tmp_path / "pace.xlsx")
    assert "baselines" in CalamineWorkbook.from_path(str(out)).sheet_names
    assert_same_results(Model.from_toml(model).run(), Model.from_excel(out).run())


def test_workbook_saved_by_libreoffice_still_runs_the_same(tmp_path):
    model = _pace_model(tmp_path / "m", "ICB", "nhs_england")
    out = export_model(model, tmp_path / "in" / "pace.xlsx")
    [saved] = recalculate([out], tmp_path / "saved")
    assert_same_results(Model.from_toml(model).run(), Model.from_excel(saved).run())


def edit(path: Path, out: Path, changes: dict, hide_row: tuple | None = None,
         merge: tuple | None = None, extra_sheet: str | None = None) -> Path:
    book = openpyxl.load_workbook(path)
    for (sheet, cell), value in changes.items():
        book[sheet][cell] = value
    if hide_row:
        book[hide_row[0]].row_dimensions[hide_row[1]].hidden = True
    if merge:
        book[merge[0]].merge_cells(merge[1])
    if extra_sheet:
        book.create_sheet(extra_sheet)["A1"] = "our notes"
    book.save(out)
    return out


@pytest.fixture
def small(tmp_path):
    model = _pace_model(tmp_path / "m", "ICB", "toolkit")
    return export_model(model, tmp_path / "small.xlsx")


@pytest.mark.parametrize("changes, message", [
    ({("component", "B2"): "twelve"},
     r'small_bad\.xlsx, component!B2: expected a number, found "twelve"'),
    ({("component", "B3"): 20},
     r"component!B3: 20 looks like a percentage; expected a fraction such as 0\.2"),
    ({("pace_of_change", "B6"): 2},
     r"pace_of_change!B6: 2 looks like a percentage"),
    ({("model", "B2"): None}, r"model!B2: is missing \(expected text\)"),
    ({("component", "A3"): "core"}, r'component!A3: component "core" is named twice'),
    ({("model", "B6"): "metric"}, r'model!B6: "metric" is not one of toolkit, nhs_england'),
])
def test_values_in_the_wrong_form_are_named_by_sheet_and_cell(small, tmp_path, changes, message):
    bad = edit(small, tmp_path / "small_bad.xlsx", changes)
    with pytest.raises(InputError, match=message):
        Model.from_excel(bad)


def test_date_where_a_number_belongs(small, tmp_path):
    import datetime as dt

    bad = edit(small, tmp_path / "date.xlsx", {("model", "B4"): dt.datetime(2025, 4, 1)})
    with pytest.raises(InputError, match=r"model!B4: expected a number, found a date"):
        Model.from_excel(bad)


def test_merged_cells_over_inputs_are_refused(small, tmp_path):
    bad = edit(small, tmp_path / "merged.xlsx", {}, merge=("component", "B2:B3"))
    with pytest.raises(InputError, match=r"component!B2: cells B2:B3 are merged over inputs"):
        Model.from_excel(bad)


def test_unambiguous_forms_are_read_with_a_warning(small, tmp_path):
    expected = Model.from_excel(small).run()
    odd = edit(small, tmp_path / "odd.xlsx",
               {("model", "B4"): "£3,000,000", ("component", "B3"): "20%"},
               hide_row=("component", 3), extra_sheet="our notes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = Model.from_excel(odd).run()
    text = "\n".join(str(w.message) for w in caught)
    assert '"£3,000,000" is a number stored as text; read as 3000000' in text
    assert '"20%" is a number stored as text; read as 0.2' in text
    assert "component: rows 3 are hidden; they were read as inputs" in text
    assert "sheets not part of the model, ignored: our notes" in text
    assert_same_results(expected, results)


def test_missing_model_sheet_is_named(small, tmp_path):
    book = openpyxl.load_workbook(small)
    book["model"].title = "Model "
    book.save(tmp_path / "renamed.xlsx")
    with pytest.raises(InputError, match=r'no sheet "model" \(found "Model ": rename it'):
        Model.from_excel(tmp_path / "renamed.xlsx")


def test_templates_match_the_generator_cell_by_cell(tmp_path):
    written = write_templates(tmp_path)
    for name, fresh in zip(TEMPLATES, written, strict=True):
        checked_in = ROOT / "workbooks" / name
        assert checked_in.exists(), f"workbooks/{name} missing: python -m " \
                                    "capitation.excel.templates workbooks"
        a = CalamineWorkbook.from_path(str(checked_in))
        b = CalamineWorkbook.from_path(str(fresh))
        assert a.sheet_names == b.sheet_names, name
        for sheet in a.sheet_names:
            assert a.get_sheet_by_name(sheet).to_python() == \
                b.get_sheet_by_name(sheet).to_python(), f"{name} {sheet}"


def test_model_templates_run(tmp_path):
    for name in TEMPLATES[:2]:
        results = Model.from_excel(ROOT / "workbooks" / name).run()
        assert results.tables or results.budget is not None


def test_cli_round_trip_writes_results(tmp_path, capsys):
    out = tmp_path / "demo_model.xlsx"
    assert main(["export", str(DEMO), "--out", str(out)]) == 0
    assert main(["run", str(out), "--out", str(tmp_path / "r.xlsx")]) == 0
    assert (tmp_path / "r.xlsx").exists()
    assert f"results workbook: {(tmp_path / 'r.xlsx').resolve()}" in capsys.readouterr().out
