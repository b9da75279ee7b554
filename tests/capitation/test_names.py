"""Organisation names beside codes: [population] names, level tables and every output."""

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capitation import Component, InputError, Model, NeedsFormula, Population, allocate
from capitation.cli import _summary_text
from capitation.model_file import read_model_file

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo.toml"
DATA = ROOT / "capitation" / "data" / "gp_practice_weighted_populations_2025_26.csv"


@pytest.fixture(scope="module")
def demo():
    return Model.from_toml(DEMO).run()


def _source_row(code: str) -> pd.Series:
    """The NHS England file's row for a practice, read with pandas alone (not the toolkit)."""
    table = pd.read_csv(DATA, dtype=str, encoding="utf-8-sig").set_index("Practice_Code")
    return table.loc[code]


# ---------------------------------------------------------------- the demo's names


def test_demo_icb_table_names_qwo_as_the_data_file_does(demo):
    # Row 461 of the shipped file, practice B82007: ICB "QWO", ICBname "NHS West Yorkshire ICB".
    assert _source_row("B82007")[["ICB", "ICBname"]].tolist() == ["QWO", "NHS West Yorkshire ICB"]
    icb = demo.table("ICB")
    assert icb.columns[0] == "name"  # right after the code (the index)
    assert icb.loc["QWO", "name"] == "NHS West Yorkshire ICB"
    assert icb["name"].notna().all() and icb["name"].is_unique


def test_demo_practice_and_place_rows_show_their_names(demo):
    # Row 2 of the shipped file: A81001, "THE DENSHAM SURGERY"; row 534: B83002 in
    # QWO/E08000032, LTLA "Bradford" (the inner part of the composite level).
    assert _source_row("A81001")["GP_Practice_Name"] == "THE DENSHAM SURGERY"
    assert _source_row("B83002")[["ICB", "LAD", "LTLA"]].tolist() == [
        "QWO", "E08000032", "Bradford"]
    assert demo.table("practice").loc["A81001", "name"] == "THE DENSHAM SURGERY"
    assert demo.table("practice").loc["B83002", "name"] == "ILKLEY & WHARFEDALE MEDICAL PRACTICE"
    places = demo.table("ICB/LAD")
    assert places.columns[0] == "name"
    assert places.loc["QWO/E08000032", "name"] == "Bradford"


def test_summary_and_pace_path_carry_the_name(demo):
    assert demo.summary().columns[0] == "name"
    assert demo.summary().loc["QWO", "name"] == "NHS West Yorkshire ICB"
    path = demo.pace_of_change_path
    assert path.loc[("QWO", "2025/26"), "name"] == "NHS West Yorkshire ICB"


# ---------------------------------------------------------------- blanks and absence


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"code": ["P1", "P2", "P3", "P4"], "ICB": ["A", "A", "B", "C"],
                         "pop": [1000, 1000, 1000, 1000], "WP": [1400, 1200, 2000, 900],
                         "icb_name": [None, "NHS A", " ", None],
                         "practice_name": ["One", "Two", "Three", None]})


def _allocate(population: Population):
    formula = NeedsFormula((Component("core", share=1.0, blend={"WP": 1.0}),))
    return allocate(population, formula, envelope_gbp=4_000_000)


def test_a_missing_name_is_blank_never_the_code():
    population = Population.from_frame(_frame(), id="code", population="pop", levels=["ICB"],
                                       columns=["WP"],
                                       names={"ICB": "icb_name", "practice": "practice_name"})
    allocation = _allocate(population)
    icb = allocation.table("ICB")
    # A: P1 is blank, P2 names it; B: a blank (spaces only) cell; C: no name at all.
    assert icb["name"].tolist()[0] == "NHS A"
    assert icb["name"].isna().tolist() == [False, True, True]
    assert not icb["name"].isin(icb.index).any()
    practice = allocation.table("practice")
    assert practice["name"].tolist()[:3] == ["One", "Two", "Three"]
    assert pd.isna(practice.loc["P4", "name"])


def test_a_level_without_names_has_no_name_column():
    population = Population.from_frame(_frame(), id="code", population="pop", levels=["ICB"],
                                       columns=["WP"], names={"practice": "practice_name"})
    allocation = _allocate(population)
    assert "name" in allocation.table("practice").columns
    assert "name" not in allocation.table("ICB").columns
    bare = Population.from_frame(_frame(), id="code", population="pop", levels=["ICB"],
                                 columns=["WP"])
    assert bare.names == {}
    assert all("name" not in _allocate(bare).table(level).columns for level in ("practice", "ICB"))


def test_names_change_no_figure():
    named = _allocate(Population.from_frame(_frame(), id="code", population="pop",
                                            levels=["ICB"], columns=["WP"],
                                            names={"ICB": "icb_name"}))
    bare = _allocate(Population.from_frame(_frame(), id="code", population="pop",
                                           levels=["ICB"], columns=["WP"]))
    pd.testing.assert_frame_equal(named.table("ICB").drop(columns="name"), bare.table("ICB"),
                                  check_exact=True)


def test_a_code_with_two_names_is_refused_naming_both():
    frame = _frame().assign(icb_name=["NHS A", "NHS Aye", None, None])
    with pytest.raises(InputError) as caught:
        Population.from_frame(frame, id="code", population="pop", levels=["ICB"],
                              names={"ICB": "icb_name"})
    message = str(caught.value)
    assert 'ICB "A" has two names: "NHS A" (row 2) and "NHS Aye" (row 3)' in message
    assert "key population.names.ICB" in message and "column icb_name" in message


# ---------------------------------------------------------------- the model file


def _model(tmp_path: Path, names: str, extra: str = "") -> Path:
    frame = _frame().rename(columns={"code": "Practice_Code", "pop": "Population"})
    frame.to_csv(tmp_path / "practices.csv", index=False)
    path = tmp_path / "model.toml"
    path.write_text(f"""
[model]
name = "Names"
year = "2025/26"
envelope_gbp = 4_000_000

[population]
file = "practices.csv"
id = "Practice_Code"
population = "Population"
levels = ["ICB"]
{names}
{extra}
[[component]]
name = "core"
share = 1.0
weighted_population = {{ "WP" = 1.0 }}
""")
    return path


@pytest.mark.parametrize(("names", "message"), [
    ('names = { Region = "icb_name" }',
     'key population.names.Region: "Region" is not a level (expected one of practice, ICB)'),
    ('names = { ICB = 3 }', "key population.names.ICB: expected text, found 3"),
    ('names = { ICB = "" }', "key population.names.ICB: expected text, found ''"),
    ('names = "icb_name"', "key population.names: expected a table, found str"),
    ('names = { ICB = "ICB name" }',
     'key population.names.ICB: no column "ICB name" (the columns are: Practice_Code, ICB,'),
])
def test_bad_names_in_the_model_file(tmp_path, names, message):
    with pytest.raises(InputError) as caught:
        Model.from_toml(_model(tmp_path, names)).run()
    assert message in str(caught.value)
    assert "model.toml" in str(caught.value) or "practices.csv" in str(caught.value)


def test_names_are_for_the_practice_table_path_only(tmp_path):
    path = _model(tmp_path, 'names = { ICB = "icb_name" }', 'register = "practices.csv"')
    text = path.read_text().replace('file = "practices.csv"\n', "")
    path.write_text(text)
    with pytest.raises(InputError, match="key population.names: names are read from the "
                                         r"practice table \(population.file\)"):
        read_model_file(path)


def test_model_file_names_reach_the_tables(tmp_path):
    spec = read_model_file(_model(tmp_path, 'names = { ICB = "icb_name" }'))
    assert spec.population.names == {"ICB": "icb_name"}
    results = Model(spec).run()
    assert results.table("ICB").loc["A", "name"] == "NHS A"


# ---------------------------------------------------------------- every output


def test_results_workbook_shows_names_beside_codes(demo, tmp_path):
    out = demo.to_excel(tmp_path / "demo.xlsx")
    book = openpyxl.load_workbook(out, read_only=True)
    for sheet, code_header in (("practice", "practice"), ("ICB_LAD", "ICB/LAD"), ("ICB", "ICB"),
                               ("pace_of_change_path", "ICB")):
        rows = list(book[sheet].iter_rows(max_row=6, values_only=True))
        assert rows[0][:2] == (code_header, "name"), sheet  # the hidden row of names
        assert rows[5][:2] == (code_header, "Name"), sheet  # the header a person reads
    icb = {row[0]: row[1] for row in book["ICB"].iter_rows(min_row=7, values_only=True)}
    assert icb["QWO"] == "NHS West Yorkshire ICB"
    practice = {row[0]: row[1]
                for row in book["practice"].iter_rows(min_row=7, max_row=8, values_only=True)}
    assert practice["A81001"] == "THE DENSHAM SURGERY"


def test_terminal_summary_and_html_show_names(demo):
    text = _summary_text(demo)
    # QYG has the highest need index of the 42 ICBs (the demo's summary lists it first).
    assert "QYG" in text and "NHS Cheshire and Merseyside ICB" in text
    assert "NaN" not in text
    html = demo._repr_html_()
    assert "NHS West Yorkshire ICB" in html


def test_blank_names_print_blank(demo):
    from capitation.cli import _formatted
    from capitation.display import html_table

    table = demo.summary().head(3).copy()
    table.loc[table.index[0], "name"] = np.nan
    assert "NaN" not in _formatted(table).to_string()
    assert "NaN" not in html_table(table)
