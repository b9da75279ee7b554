"""The [service_budget] table → validated inputs: CSV form, inline form, bad input."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation.errors import InputError
from capitation.service_budget.budget import build_budget
from capitation.service_budget.budget_file import read_service_budget

_spec = importlib.util.spec_from_file_location(
    "_sb_example", Path(__file__).with_name("test_budget.py")
)
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
worked_example_table = _example.worked_example_table

MODEL = Path("/models/msk.toml")  # only its name appears in messages


def read(table: dict, base_dir: Path = Path("/nonexistent")):
    return read_service_budget(table, base_dir, MODEL)


def write_csvs(folder: Path, table: dict) -> dict:
    """The worked example's lines and new services as CSVs with per-year columns."""
    years = [y.replace("/", "_") for y in table["years"]]
    rows = []
    for line in table["line"]:
        row = {k: v for k, v in line.items() if k != "activity_change"}
        row.update({f"activity_change_{y}": c for y, c in zip(years, line["activity_change"],
                                                               strict=True)})
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "msk_lines.csv", index=False)
    new_rows = []
    for new in table["new_service"]:
        row = {"provider": new["provider"], "name": new["name"]}
        row.update({f"patients_{y}": p for y, p in zip(years, new["patients"], strict=True)})
        row.update({f"cost_per_patient_gbp_{y}": c
                    for y, c in zip(years, new["cost_per_patient_gbp"], strict=True)})
        new_rows.append(row)
    pd.DataFrame(new_rows).to_csv(folder / "msk_new.csv", index=False)
    csv_table = {k: v for k, v in table.items() if k not in ("line", "new_service")}
    csv_table["lines"] = "msk_lines.csv"
    csv_table["new_services"] = "msk_new.csv"
    return csv_table


def assert_same_budget(a, b) -> None:
    pd.testing.assert_frame_equal(a.budget_lines, b.budget_lines)
    pd.testing.assert_frame_equal(a.budget_bridge, b.budget_bridge)
    pd.testing.assert_frame_equal(a.budget_by_provider, b.budget_by_provider)


def test_csv_form_equals_inline_form(tmp_path):
    table = worked_example_table()
    inline = build_budget(read(table))
    from_csv = build_budget(read(write_csvs(tmp_path, table), tmp_path))
    assert_same_budget(inline, from_csv)


def test_csv_single_column_means_every_year(tmp_path):
    table = worked_example_table()
    csv_table = write_csvs(tmp_path, table)
    lines = pd.read_csv(tmp_path / "msk_lines.csv")
    lines = lines.drop(columns=[c for c in lines.columns if c.startswith("activity_change_")])
    lines["activity_change"] = [-0.25, -0.1]
    lines.to_csv(tmp_path / "msk_lines.csv", index=False)
    table["line"][0]["activity_change"] = -0.25  # a single number: the same every year
    table["line"][1]["activity_change"] = [-0.1, -0.1, -0.1]
    assert_same_budget(build_budget(read(table)), build_budget(read(csv_table, tmp_path)))


def test_scalar_cost_per_patient_means_every_year():
    table = worked_example_table()
    table["new_service"][0]["cost_per_patient_gbp"] = 120.0
    inputs = read(table)
    assert inputs.cost_per_patient_gbp.to_numpy().tolist() == [[120.0, 120.0, 120.0]]


def test_inputs_shapes():
    inputs = read(worked_example_table())
    assert inputs.years == ("2017/18", "2018/19", "2019/20")
    assert inputs.activity_change.columns.tolist() == list(inputs.years)
    np.testing.assert_array_equal(inputs.price_uplift, [0.02, 0.015, 0.015])
    assert inputs.lines["pod"].tolist() == ["Outpatient first", "Elective inpatient"]


def _set(path: tuple, value):
    """A change to the worked example table: set (or with value=DELETE, remove) a nested key."""
    def change(table: dict) -> dict:
        table = copy.deepcopy(table)
        *parents, last = path
        target = table
        for p in parents:
            target = target[p]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
        return table
    return change


DELETE = object()

# (change, key named, message fragment)
BAD_TOML = [
    (_set(("line", 1, "fixed"), 0.5), "service_budget.line[2].fixed", "add up to 1.1"),
    (_set(("line", 0, "activity_change"), [-0.25, -0.25]), "service_budget.line[1].activity_change",
     "expected 3 values"),
    (_set(("price_uplift",), [0.02, 0.015]), "service_budget.price_uplift", "expected 3 values"),
    (_set(("new_service", 0, "patients"), [1, 2, 3, 4]), "service_budget.new_service[1].patients",
     "expected 3 values"),
    (_set(("line", 0, "price_gbp"), -150.0), "service_budget.line[1].price_gbp",
     "price -150 must be at least 0"),
    (_set(("line", 1, "activity"), -1), "service_budget.line[2].activity",
     "activity -1 must be at least 0"),
    (_set(("line", 1, "semi_fixed_release_years"), -1),
     "service_budget.line[2].semi_fixed_release_years",
     "release period (years) -1 must be at least 0"),
    (_set(("years",), ["2017/18", "2019/20", "2020/21"]), "service_budget.years", "consecutive"),
    (_set(("years",), ["2018/19", "2019/20", "2020/21"]), "service_budget.years",
     "starting the year after baseline_year 2016/17"),
    (_set(("baseline_year",), "2016-17"), "service_budget.baseline_year", "not a financial year"),
    (_set(("years",), ["2017/19"]), "service_budget.years", "not a financial year"),
    (_set(("growth",), DELETE), "service_budget.growth", "is missing (expected a fraction"),
    (_set(("line", 0, "fixed"), DELETE), "service_budget.line[1].fixed",
     "is missing (expected a number)"),
    (_set(("new_service", 0, "name"), DELETE), "service_budget.new_service[1].name",
     "is missing (expected text)"),
    (_set(("growth",), "1%"), "service_budget.growth", "expected a number, found '1%'"),
    (_set(("line", 0, "activity"), "lots"), "service_budget.line[1].activity",
     "expected a number, found 'lots'"),
    (_set(("line", 0, "activity"), True), "service_budget.line[1].activity",
     "expected a number, found True"),
    # A fraction from 1 to 100 is a percentage typed as a whole number, as in a workbook.
    (_set(("stranded_support",), [1.0, 1.5, 0.0]), "service_budget.stranded_support[2]",
     "1.5 looks like a percentage; expected a fraction such as 0.015 (must be between 0 and 1)"),
    (_set(("stranded_support",), [1.0, 150, 0.0]), "service_budget.stranded_support[2]",
     "150 is above 1"),
    (_set(("stranded_support",), -0.1), "service_budget.stranded_support", "between 0 and 1"),
    (_set(("line", 0, "activity_change"), [-0.25, -1.5, -0.25]),
     "service_budget.line[1].activity_change",
     "activity change in 2018/19: -1.5 looks like a percentage; expected a fraction such as "
     "-0.015 (must be between -1 and 1)"),
    (_set(("line", 0, "activity_change"), [-0.25, -150, -0.25]),
     "service_budget.line[1].activity_change",
     "activity change -150 in 2018/19 must be at least -1"),
    (_set(("line", 0, "activity_change"), [-0.25, 150, -0.25]),
     "service_budget.line[1].activity_change",
     "activity change 150 in 2018/19 must be at most 1"),
    (_set(("new_service", 0, "cost_per_patient_gbp"), [120.0, -1.0, 124.0]),
     "service_budget.new_service[1].cost_per_patient_gbp", "cost per patient in 2018/19"),
    (_set(("line", 0, "fixd"), 0.3), "service_budget.line[1].fixd",
     'unknown key (did you mean "fixed"?'),
    (_set(("groth",), 0.01), "service_budget.groth", "unknown key (did you mean \"growth\"?"),
    (_set(("line", 1, "pod"), "Outpatient first"), "service_budget.line[2].pod",
     "a second line for Acute trust / Outpatient first"),
    (_set(("lines",), "x.csv"), "service_budget.lines", "not both"),
    (_set(("line", 0, "fixed"), 1.2), "service_budget.line[1].fixed", "between 0 and 1"),
    (_set(("price_uplift",), [0.02, -1.0, 0.015]), "service_budget.price_uplift[2]",
     "-1 is not above -1 (must be above -1)"),
]


@pytest.mark.parametrize(("change", "key", "fragment"), BAD_TOML,
                         ids=[f"{k}:{m}" for _, k, m in BAD_TOML])
def test_bad_toml_input_names_the_key(change, key, fragment):
    with pytest.raises(InputError) as raised:
        read(change(worked_example_table()))
    error = raised.value
    assert error.key == key
    assert fragment in str(error)
    assert str(error).startswith(f"msk.toml, key {key}: ")


def test_cost_shares_within_tolerance_are_accepted():
    table = worked_example_table()
    table["line"][0]["fixed"] = 0.3 + 5e-10  # within 1e-9 of summing to 1
    read(table)
    table["line"][0]["fixed"] = 0.3 + 2e-9
    with pytest.raises(InputError, match="add up to"):
        read(table)


def test_no_lines_at_all():
    table = worked_example_table()
    del table["line"], table["new_service"]
    with pytest.raises(InputError, match="at least one"):
        read(table)


def _csv_case(tmp_path: Path, edit) -> InputError:
    table = worked_example_table()
    csv_table = write_csvs(tmp_path, table)
    lines = pd.read_csv(tmp_path / "msk_lines.csv", dtype=str)
    lines = edit(lines)
    lines.to_csv(tmp_path / "msk_lines.csv", index=False)
    with pytest.raises(InputError) as raised:
        read(csv_table, tmp_path)
    return raised.value


def _cell(row: int, column: str, value: str):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[row, column] = value
        return frame
    return edit


# (edit, CSV row named (header is row 1), column named, message fragment)
BAD_CSV = [
    (_cell(1, "price_gbp", "four thousand"), 3, "price_gbp", '"four thousand" is not a number'),
    (_cell(0, "activity", ""), 2, "activity", "is blank (expected a number)"),
    (_cell(1, "fixed", "0.5"), 3, "fixed", "add up to 1.1"),
    (_cell(0, "price_gbp", "-1"), 2, "price_gbp", "price -1 must be at least 0"),
    (_cell(1, "fixed_release_years", "-2"), 3, "fixed_release_years", "must be at least 0"),
    (_cell(1, "activity_change_2019_20", "-2"), 3, "activity_change_2019_20",
     "activity change in 2019/20: -2 looks like a percentage"),
    (_cell(1, "activity_change_2019_20", "-200"), 3, "activity_change_2019_20",
     "activity change -200 in 2019/20 must be at least -1"),
    (_cell(0, "provider", " "), 2, "provider", "blank"),
    (_cell(1, "activity", "inf"), 3, "activity", '"inf" is not a finite number'),
    (lambda f: f.drop(columns=["activity_change_2019_20"]), None, "activity_change_2019_20",
     "needs one column per year"),
    (lambda f: f.assign(activity_change_2020_21="0"), None, "activity_change_2020_21",
     "2020/21 is not a budget year"),
    (lambda f: f.assign(activity_change="0"), None, "activity_change_2017_18", "not both"),
    (lambda f: f.drop(columns=["variable"]), None, "variable", 'no column "variable"'),
    (lambda f: f.assign(colour="red"), None, "colour", "unknown column"),
]


@pytest.mark.parametrize(("edit", "row", "column", "fragment"), BAD_CSV,
                         ids=[f"{c}:{m}" for _, _, c, m in BAD_CSV])
def test_bad_csv_input_names_file_row_and_column(tmp_path, edit, row, column, fragment):
    error = _csv_case(tmp_path, edit)
    assert Path(error.file).name == "msk_lines.csv"
    assert error.row == row
    assert error.column == column
    assert fragment in str(error)
    assert str(error).startswith("msk_lines.csv, ")


def test_missing_csv_file_names_the_key(tmp_path):
    table = worked_example_table()
    csv_table = write_csvs(tmp_path, table)
    csv_table["lines"] = "nope.csv"
    with pytest.raises(InputError, match="not found") as raised:
        read(csv_table, tmp_path)
    assert raised.value.key == "service_budget.lines"


def test_new_service_csv_bad_row(tmp_path):
    table = worked_example_table()
    csv_table = write_csvs(tmp_path, table)
    new = pd.read_csv(tmp_path / "msk_new.csv", dtype=str)
    new.loc[0, "patients_2018_19"] = "-5"
    new.to_csv(tmp_path / "msk_new.csv", index=False)
    with pytest.raises(InputError, match="patients in 2018/19: -5 must be at least 0") as raised:
        read(csv_table, tmp_path)
    assert (Path(raised.value.file).name, raised.value.row) == ("msk_new.csv", 2)
