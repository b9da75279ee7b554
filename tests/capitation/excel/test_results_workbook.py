"""The results workbook read back by machine keys (``read_results``), and laid out for print."""

from pathlib import Path

import pandas as pd
import pytest

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
    with pytest.raises(InputError, match="no sheet '_columns': not a results workbook"):
        read_results(tmp_path / "plain.xlsx", "ICB")


def test_read_results_is_public():
    assert capitation.read_results is read_results
