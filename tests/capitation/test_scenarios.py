"""Scenarios compared: capitation.compare, [[scenario]] tables and ``capitation scenarios``.

The three-organisation case is docs/methods/pace-of-change.md#worked-example year 1 (see
tests/capitation/test_overrides.py):
uncapped A 127,500,000.00, B 95,833,333.33, C 76,666,666.67; with max_growth 8%
A 127,500,000.00, B 96,900,000.00, C 75,600,000.00, so B gains 1,066,666.67 and C
loses as much. A is at its floor (1.02 × 125m) in both; C is at its cap (1.08 × 70m)
only when capped. s* is 0.0416667 uncapped (B and C at 172.5/180 of target) and 0.055
capped (C at 75.6m of 80m).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from capitation import InputError, Model, read_results
from capitation.cli import main
from capitation.comparison import Comparison, compare
from capitation.scenarios import read_scenarios, run_scenarios, scenarios_of
from tests.capitation.test_overrides import MODEL, three_organisations
from tests.support.libreoffice import recalculate, soffice

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo.toml"
DEMO_SCENARIOS = ROOT / "models" / "demo_scenarios.toml"

SCENARIOS = """
[[scenario]]
name = "capped"
pace_of_change.max_growth = 0.08

[[scenario]]
name = "rule"
"pace_of_change.method" = "rule"
"""


def pence(values) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float) * 100).astype(np.int64)


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    folder = tmp_path_factory.mktemp("three")
    model = Model.from_toml(three_organisations(folder, MODEL + SCENARIOS))
    return folder, model, run_scenarios(model, scenarios_of(model))


def test_compare_the_worked_example(three):
    _, _, runs = three
    comparison = compare(runs, level="ICB")
    assert isinstance(comparison, Comparison)
    assert comparison.index.name == "ICB"
    assert list(comparison.columns) == [
        "allocation_gbp__base", "distance_from_target__base",
        "allocation_gbp__capped", "change_gbp__capped", "change__capped",
        "distance_from_target__capped",
        "allocation_gbp__rule", "change_gbp__rule", "change__rule", "distance_from_target__rule"]
    assert comparison["allocation_gbp__base"].tolist() == [
        127_500_000.00, 95_833_333.33, 76_666_666.67]
    assert comparison["allocation_gbp__capped"].tolist() == [
        127_500_000.00, 96_900_000.00, 75_600_000.00]
    assert comparison["change_gbp__capped"].tolist() == [0.0, 1_066_666.67, -1_066_666.67]
    assert comparison["change__capped"].to_numpy() == pytest.approx(
        [0.0, 106_666_667 / 9_583_333_333, -106_666_667 / 7_666_666_667], rel=1e-15)
    assert comparison["distance_from_target__capped"].to_numpy() == pytest.approx(
        [127.5 / 120 - 1, 96.9 / 100 - 1, 75.6 / 80 - 1], rel=1e-12)
    # docs/methods/pace-of-change.md#the-rule: the rule gives B 97,194,323.14 and C 75,305,676.86.
    assert comparison["allocation_gbp__rule"].tolist() == [
        127_500_000.00, 97_194_323.14, 75_305_676.86]
    heads = comparison.headlines
    assert heads.index.name == "scenario"
    assert list(heads.index) == ["base", "capped", "rule"]
    assert heads.loc["base", "largest_shortfall"] == pytest.approx(0.0416667, abs=1e-7)
    assert heads.loc["capped", "largest_shortfall"] == pytest.approx(0.055, abs=1e-9)
    assert heads.loc["capped", "total_shortfall_gbp"] == pytest.approx(
        (100e6 - 96.9e6) + (80e6 - 75.6e6), abs=0.01)
    assert heads[["at_floor", "at_cap"]].to_numpy().tolist() == [[1, 0], [1, 1], [1, 0]]


def test_html_view_shows_pounds_and_headlines(three):
    _, _, runs = three
    shown = compare(runs, level="ICB")._repr_html_()
    assert "£96,900,000.00" in shown and "Headline figures" in shown


def test_changes_sum_to_zero_at_every_level_of_the_demo():
    model = Model.from_toml(DEMO)
    runs = run_scenarios(model, scenarios_of(model, DEMO_SCENARIOS))
    for level in ["practice", "ICB/LAD", "ICB"]:
        comparison = compare(runs, level=level)
        for name in list(runs)[1:]:
            assert pence(comparison[f"change_gbp__{name}"]).sum() == 0, (level, name)
            assert (pence(comparison[f"allocation_gbp__{name}"]) - pence(
                comparison["allocation_gbp__base"]) == pence(
                comparison[f"change_gbp__{name}"])).all()


def test_a_larger_envelope_changes_by_the_difference(three):
    folder, model, runs = three
    bigger = model.with_values({"model.envelope_gbp": 303_000_000}).run()
    comparison = compare({"base": runs["base"], "bigger": bigger}, level="ICB")
    assert pence(comparison["change_gbp__bigger"]).sum() == 300_000_000


def test_runs_of_other_organisations_are_refused(three, tmp_path):
    _, _, runs = three
    (tmp_path / "practices.csv").write_text("code,ICB,pop,wp\nA1,A,120,120\nD1,D,100,100\n")
    (tmp_path / "baselines.csv").write_text("ICB,baseline_gbp\nA,125000000\nD,93000000\n")
    (tmp_path / "model.toml").write_text(MODEL.replace("300_000_000", "230_000_000"))
    other = Model.from_toml(tmp_path / "model.toml").run()
    with pytest.raises(InputError, match="scenario 'other' has other ICB organisations"):
        compare({"base": runs["base"], "other": other}, level="ICB")
    with pytest.raises(InputError, match=r"scenario 'base': no level \"LAD\""):
        compare(runs, level="LAD")


# -- [[scenario]] tables ------------------------------------------------------------


def test_scenarios_from_the_model_file_and_from_their_own(three, tmp_path):
    folder, model, _ = three
    own = scenarios_of(model)
    assert [(s.name, [(o.key, o.value) for o in s.overrides]) for s in own] == [
        ("capped", [("pace_of_change.max_growth", 0.08)]),
        ("rule", [("pace_of_change.method", "rule")])]
    (tmp_path / "more.toml").write_text('[[scenario]]\nname = "floor 1%"\n'
                                        'component."core".share = 1.0\n'
                                        'pace_of_change.min_growth = 0.01\n')
    separate = scenarios_of(model, tmp_path / "more.toml")
    assert [(o.key, o.value) for o in separate[0].overrides] == [
        ("component.core.share", 1.0), ("pace_of_change.min_growth", 0.01)]
    assert separate[0].overrides[1].written == (
        'more.toml, scenario "floor 1%": pace_of_change.min_growth = 0.01')


@pytest.mark.parametrize(("body", "words"), [
    ('[[scenario]]\npace_of_change.min_growth = 0.01\n',
     "key scenario[1].name: is missing (expected text, the scenario's name)"),
    ('[[scenario]]\nname = "base"\npace_of_change.min_growth = 0.01\n',
     'key scenario[1].name: "base" names the model as it is'),
    ('[[scenario]]\nname = "a"\npace_of_change.min_growth = 0.01\n'
     '[[scenario]]\nname = "a"\npace_of_change.min_growth = 0.02\n',
     'key scenario[2].name: "a" is already scenario[1]'),
    ('[[scenario]]\nname = "a"\n', 'key scenario[1]: scenario "a" changes nothing'),
    ('scenario = 3\n', "key scenario: expected [[scenario]] tables"),
])
def test_bad_scenario_tables_are_named(tmp_path, body, words):
    with pytest.raises(InputError, match="^s.toml, " + words.replace("(", r"\(").replace(
            ")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        import tomllib

        read_scenarios(tomllib.loads(body), tmp_path / "s.toml")


def test_a_bad_override_in_a_scenario_names_it(three, tmp_path):
    _, model, _ = three
    (tmp_path / "bad.toml").write_text('[[scenario]]\nname = "typo"\n'
                                       'pace_of_change.min_growh = 0.01\n')
    with pytest.raises(InputError, match=r'^bad.toml, scenario "typo": '
                                         r"pace_of_change.min_growh = 0.01: model.toml, key "
                                         r"pace_of_change.min_growh: unknown key"):
        run_scenarios(model, scenarios_of(model, tmp_path / "bad.toml"))


def test_a_scenarios_file_holds_only_scenarios(three, tmp_path):
    _, model, _ = three
    (tmp_path / "s.toml").write_text('[model]\nname = "x"\n')
    with pytest.raises(InputError, match=r"s.toml, key model: unknown key"):
        scenarios_of(model, tmp_path / "s.toml")


# -- the command line and the workbook ------------------------------------------------


def test_cli_scenarios_writes_one_workbook(three, tmp_path, capsys):
    folder, _, _ = three
    out = tmp_path / "scenarios.xlsx"
    assert main(["scenarios", str(folder / "model.toml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "base and 2 scenarios at ICB" in printed
    book = openpyxl.load_workbook(out, read_only=True, data_only=True)
    assert book.sheetnames == ["comparison", "headlines", "base practice", "base ICB",
                               "capped practice", "capped ICB", "rule practice", "rule ICB",
                               "assumptions", "_columns"]
    notes = [tuple(r) for r in book["assumptions"].iter_rows(values_only=True)]
    book.close()
    assert ("capped", "overridden", "pace_of_change.max_growth = 0.08 (file had: not set)") \
        in notes


def test_read_results_reads_each_scenario_back(three, tmp_path):
    # Each scenario's level sheets read back by their machine keys as that run's table
    # (to Excel's 16 significant digits); the base is the default.
    folder, _, runs = three
    out = tmp_path / "scenarios.xlsx"
    assert main(["scenarios", str(folder / "model.toml"), "--out", str(out), "--quiet"]) == 0
    for name, results in runs.items():
        for level in results.levels:
            pd.testing.assert_frame_equal(read_results(out, level, scenario=name),
                                          results.table(level), check_exact=False,
                                          rtol=1e-14, atol=0)
    pd.testing.assert_frame_equal(read_results(out, "ICB"), runs["base"].table("ICB"),
                                  check_exact=False, rtol=1e-14, atol=0)
    # The worked example (module docstring): capped, B gets 96,900,000.00.
    assert read_results(out, "ICB", scenario="capped").loc["B", "allocation_gbp"] == 96_900_000
    with pytest.raises(InputError, match=r'no scenario "nope" \(scenarios are base, capped, '
                                         r'rule\)'):
        read_results(out, "ICB", scenario="nope")
    plain = runs["base"].to_excel(tmp_path / "plain.xlsx")
    with pytest.raises(InputError, match='no scenario "base" .a results workbook'):
        read_results(plain, "ICB", scenario="base")


def test_cli_bad_scenario_exits_2_and_writes_nothing(three, tmp_path, capsys):
    folder, _, _ = three
    (tmp_path / "bad.toml").write_text('[[scenario]]\nname = "x"\n'
                                       'pace_of_change.min_growth = "abc"\n')
    out = tmp_path / "out.xlsx"
    assert main(["scenarios", str(folder / "model.toml"), "--scenarios",
                 str(tmp_path / "bad.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        'capitation: error: bad.toml, scenario "x": pace_of_change.min_growth = "abc": ')
    assert not out.exists()


def test_libreoffice_recalculates_the_comparison_to_python(three, tmp_path):
    # The expected values are LibreOffice's: every formula cell of the workbook (the
    # comparison's changes and each scenario's level sheets) recalculated from its inputs.
    assert soffice() is not None, "LibreOffice is needed: run .ci/ensure_libreoffice.sh"
    folder, _, _ = three
    out = tmp_path / "in" / "scenarios.xlsx"
    out.parent.mkdir()
    assert main(["scenarios", str(folder / "model.toml"), "--out", str(out)]) == 0
    [again] = recalculate([out], tmp_path / "out")
    formulas = openpyxl.load_workbook(out, read_only=True)
    ours, theirs = CalamineWorkbook.from_path(str(out)), CalamineWorkbook.from_path(str(again))
    count, problems = 0, []
    for sheet in formulas.worksheets:
        cached = ours.get_sheet_by_name(sheet.title).to_python(skip_empty_area=False)
        engine = theirs.get_sheet_by_name(sheet.title).to_python(skip_empty_area=False)
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                count += 1
                r, c = cell.row - 1, cell.column - 1
                expected, got = cached[r][c], engine[r][c]
                header = str(cached[0][c])
                if expected in ("", None):
                    ok = got in ("", None)
                else:
                    tolerance = 0.005 if "_gbp" in header else 1e-9 * max(1.0, abs(expected))
                    ok = isinstance(got, float | int) and math.isclose(
                        got, expected, rel_tol=0, abs_tol=tolerance)
                if not ok:
                    problems.append(f"{sheet.title}!{cell.coordinate} {cell.value}: "
                                    f"{expected!r} vs {got!r}")
    formulas.close()
    # Under the hidden key row, the title block and the header (rows 0 to 5), the three
    # organisations, then the totals row.
    comparison = ours.get_sheet_by_name("comparison").to_python(skip_empty_area=False)
    assert comparison[0][4] == "change_gbp__capped"
    assert [row[4] for row in comparison[6:9]] == [0.0, 1_066_666.67, -1_066_666.67]
    assert comparison[9][0] == "Total"
    assert count > 12
    assert not problems, problems[:10]
    # After LibreOffice recalculates, each scenario's totals rows of target and allocation
    # equal the envelope (tests/capitation/test_overrides.py MODEL: 300,000,000) to the
    # penny, and the comparison's changes in pounds add up to zero.
    keys = theirs.get_sheet_by_name("_columns").to_python()
    assert keys[0][-1] == "scenario" and len(keys) == 1 + 6
    for sheet, _level, _year, key_row, first, rows, _scenario in keys[1:]:
        cells = theirs.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        names, total = cells[int(key_row) - 1], cells[int(first) - 1 + int(rows)]
        assert total[0] == "Total"
        for column in ("target_gbp", "allocation_gbp"):
            assert round(total[names.index(column)] * 100) == 300_000_000 * 100, (sheet, column)
    recalculated = theirs.get_sheet_by_name("comparison").to_python(skip_empty_area=False)
    totals = dict(zip(recalculated[0], recalculated[9], strict=True))
    assert totals["change_gbp__capped"] == 0 and totals["change_gbp__rule"] == 0
    assert round(totals["allocation_gbp__capped"] * 100) == 300_000_000 * 100
