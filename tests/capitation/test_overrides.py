"""Overrides of model-file keys: Model.with_values and ``capitation run --set``.

The worked example is docs/methods/pace-of-change.md#worked-example (three organisations, targets A
120m, B 100m,
C 80m, baselines 125m / 93m / 70m, £300m, min_growth 2%); with max_growth 8%, C is
held at its cap 75,600,000, A at its floor 127,500,000 and B takes the rest,
96,900,000 (as tests/capitation/test_allocation.py::test_pace_year_one_capped).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from capitation import InputError, Model, read_results
from capitation.cli import main
from capitation.overrides import (
    Override,
    parse_assignment,
    split_key,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo.toml"

MODEL = """
[model]
name = "three organisations"
year = "2025/26"
envelope_gbp = 300_000_000
[population]
file = "practices.csv"
id = "code"
population = "pop"
levels = ["ICB"]
[[component]]
name = "core"
share = 1.0
weighted_population = { "wp" = 1.0 }
[pace_of_change]
level = "ICB"
baseline = "baselines.csv"
min_growth = 0.02
"""


def three_organisations(folder: Path, body: str = MODEL) -> Path:
    (folder / "practices.csv").write_text(
        "code,ICB,pop,wp\nA1,A,120,120\nB1,B,100,100\nC1,C,80,80\n")
    (folder / "baselines.csv").write_text(
        "ICB,baseline_gbp\nA,125000000\nB,93000000\nC,70000000\n")
    (folder / "model.toml").write_text(body)
    return folder / "model.toml"


def test_max_growth_override_gives_the_capped_worked_example(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    capped = model.with_values({"pace_of_change.max_growth": 0.08}).run()
    assert capped.table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.00, 96_900_000.00, 75_600_000.00]
    # The original model is unchanged: still the uncapped §5.3 year 1.
    assert "max_growth" not in model.spec.raw["pace_of_change"]
    assert model.spec.pace.max_growth == [None]
    assert model.run().table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.00, 95_833_333.33, 76_666_666.67]
    assert ("overridden", "pace_of_change.max_growth = 0.08 (file had: not set)") in \
        capped.provenance()


def test_override_is_recorded_in_the_assumptions_sheet(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    out = model.with_values({"pace_of_change.min_growth": 0.01}).run().to_excel(
        tmp_path / "out.xlsx")
    book = openpyxl.load_workbook(out, read_only=True)
    rows = [tuple(r) for r in book["assumptions"].iter_rows(values_only=True)]
    book.close()
    assert ("overridden", "pace_of_change.min_growth = 0.01 (file had: 0.02)") in rows
    assert ("parameter pace_of_change.min_growth", "0.01") in rows


def test_components_by_name_or_position_and_years_by_position(tmp_path):
    body = MODEL.replace('name = "core"\nshare = 1.0', 'name = "core"\nshare = 0.9') + """
[[component]]
name = "extra"
share = 0.1
weighted_population = { "wp" = 1.0 }
"""
    model = Model.from_toml(three_organisations(tmp_path, body))
    by_name = model.with_values({"component.core.share": 0.8, "component.extra.share": 0.2})
    by_position = model.with_values({"component.1.share": 0.8, "component.2.share": 0.2})
    assert [c.shares for c in by_name.spec.components] == [[0.8], [0.2]]
    assert [c.shares for c in by_position.spec.components] == [[0.8], [0.2]]
    assert [c.shares for c in model.spec.components] == [[0.9], [0.1]]


def test_a_list_value_is_set_whole_or_by_position(tmp_path):
    body = MODEL.replace('min_growth = 0.02', 'min_growth = [0.02, 0.03]\nyears = '
                         '["2025/26", "2026/27"]').replace(
        "envelope_gbp = 300_000_000", "envelope_gbp = [300_000_000, 315_000_000]")
    model = Model.from_toml(three_organisations(tmp_path, body))
    assert model.with_values({"pace_of_change.min_growth.2": 0.01}).spec.pace.min_growth == [
        0.02, 0.01]
    assert model.with_values({"pace_of_change.min_growth": [0.01, 0.015]}).spec.pace.min_growth \
        == [0.01, 0.015]
    with pytest.raises(InputError, match=r'"3" is not a position in it \(1 to 2\)'):
        model.with_values({"pace_of_change.min_growth.3": 0.01})


def test_chained_overrides_keep_what_the_file_had(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    twice = model.with_values({"pace_of_change.min_growth": 0.01}).with_values(
        {"pace_of_change.min_growth": 0.015})
    assert [a.text for a in twice.spec.overrides] == [
        "pace_of_change.min_growth = 0.015 (file had: 0.02)"]


def file_error(folder: Path, body: str) -> str:
    path = three_organisations(folder, body)
    with pytest.raises(InputError) as caught:
        Model.from_toml(path)
    return str(caught.value)


@pytest.mark.parametrize(("values", "written", "edit"), [
    ({"pace_of_change.min_growh": 0.01}, "pace_of_change.min_growh = 0.01",
     ("min_growth = 0.02", "min_growth = 0.02\nmin_growh = 0.01")),
    ({"pace_of_change.min_growth": "abc"}, 'pace_of_change.min_growth = "abc"',
     ("min_growth = 0.02", 'min_growth = "abc"')),
    ({"component.core.share": 0.9}, "component.core.share = 0.9",
     ("share = 1.0", "share = 0.9")),
    ({"model.envelope_gbp": 0.001}, "model.envelope_gbp = 0.001",
     ("envelope_gbp = 300_000_000", "envelope_gbp = 0.001")),
])
def test_a_bad_override_is_refused_as_the_file_would_be(tmp_path, values, written, edit):
    model = Model.from_toml(three_organisations(tmp_path))
    with pytest.raises(InputError) as caught:
        model.with_values(values)
    expected = file_error(tmp_path, MODEL.replace(*edit))
    assert str(caught.value) == f"{written}: {expected}"


def test_an_entry_that_does_not_exist_is_named(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    with pytest.raises(InputError, match=r'^component.cor.share = 0.5: component has no entry '
                                         r'"cor" \(entries: core\)$'):
        model.with_values({"component.cor.share": 0.5})
    with pytest.raises(InputError, match=r"pace_of_change.min_growth is a value \(0.02\), "
                                         "not a table"):
        model.with_values({"pace_of_change.min_growth.low": 0.5})


def test_a_model_workbook_takes_overrides(tmp_path):
    from capitation.excel.model_export import export_model

    workbook = export_model(three_organisations(tmp_path), tmp_path / "model.xlsx")
    model = Model.from_excel(workbook)
    capped = model.with_values({"pace_of_change.max_growth": 0.08}).run()
    assert capped.table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.00, 96_900_000.00, 75_600_000.00]


def test_keys_split_on_dots_outside_quotes():
    assert split_key("pool.loss_band.2.shares.Acute trust") == [
        "pool", "loss_band", "2", "shares", "Acute trust"]
    assert split_key('party."St. Mary\'s".max_loss') == ["party", "St. Mary's", "max_loss"]
    with pytest.raises(InputError, match="is not a key"):
        split_key("pace_of_change..min_growth")


@pytest.mark.parametrize(("text", "value"), [
    ("pace_of_change.min_growth=0.01", 0.01),
    ("pace_of_change.min_growth = 0.01", 0.01),
    ("pool.mode=first_dollar", "first_dollar"),
    ('model.name="A run"', "A run"),
    ("pace_of_change.min_growth=[0.01, 0.02]", [0.01, 0.02]),
    ("model.envelope_gbp=120_000_000_000", 120_000_000_000),
    ("model.year=2025-04-01", "2025-04-01"),
])
def test_set_values_are_read_as_toml(text, value):
    override = parse_assignment(text)
    assert override == Override(key=text.partition("=")[0].strip(), value=value,
                                written=f"--set {text}")


def test_set_without_an_equals_sign_is_refused():
    with pytest.raises(InputError, match=r"--set min_growth: expected KEY=VALUE"):
        parse_assignment("min_growth")


# -- the command line ------------------------------------------------------------------


def test_cli_run_with_set_writes_the_capped_example(tmp_path, capsys):
    model = three_organisations(tmp_path)
    out = tmp_path / "out.xlsx"
    assert main(["run", str(model), "--set", "pace_of_change.max_growth=0.08", "--out",
                 str(out)]) == 0
    book = openpyxl.load_workbook(out, read_only=True, data_only=True)
    rows = [tuple(r) for r in book["assumptions"].iter_rows(values_only=True)]
    book.close()
    icb = read_results(out, "ICB")
    assert list(icb["allocation_gbp"]) == [127_500_000.00, 96_900_000.00, 75_600_000.00]
    assert ("overridden", "pace_of_change.max_growth = 0.08 (file had: not set)") in rows


@pytest.mark.parametrize(("setting", "words"), [
    ("pace_of_change.min_growh=0.01", 'unknown key (did you mean "min_growth"?'),
    ("pace_of_change.min_growth=abc", "expected a number, found 'abc'"),
    ("component.core.share=0.9", "shares add up to 0.9 in 2025/26 (core 0.9); expected 1"),
])
def test_cli_bad_set_exits_2_naming_the_override(tmp_path, capsys, setting, words):
    model = three_organisations(tmp_path)
    out = tmp_path / "out.xlsx"
    assert main(["run", str(model), "--set", setting, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"capitation: error: --set {setting}: model.toml, key ")
    assert words in lines[0]
    assert "Traceback" not in captured.err
    assert not out.exists()
