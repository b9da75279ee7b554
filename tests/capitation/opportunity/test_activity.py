"""The activity table: CSV, Parquet, workbook and DataFrame, and the errors that name the cell."""

from __future__ import annotations

import hashlib

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capitation import InputError, Population
from capitation.opportunity import read_activity

HEADER = "practice,service,provider,activity,cost_gbp,patients\n"
GOOD = (HEADER
        + "P1,a_and_e,Trust A,10,1800.50,8\n"
        + "P1,a_and_e,Trust B,4,700,4\n"
        + "P2,a_and_e,Trust A,0,0,0\n"
        + "P2,emergency_admissions,Trust A,3,6000,2\n")


@pytest.fixture
def population() -> Population:
    frame = pd.DataFrame({"code": ["P1", "P2", "P3"], "pop": [1_000, 2_000, 3_000],
                          "place": ["A", "A", "B"]})
    return Population.from_frame(frame, id="code", population="pop", levels=["place"])


def _csv(tmp_path, text: str, name: str = "activity.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_csv_reads_into_typed_columns(tmp_path, population):
    path = _csv(tmp_path, GOOD)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    activity = read_activity(path, practices=population)
    assert list(activity.frame.columns) == ["practice", "service", "provider", "activity",
                                            "cost_gbp", "patients"]
    assert activity.frame["activity"].tolist() == [10.0, 4.0, 0.0, 3.0]
    assert activity.services == ("a_and_e", "emergency_admissions")
    assert activity.has_cost and activity.has_patients and activity.has_provider
    assert not activity.has_age_sex
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # inputs never change


def test_totals_fill_a_missing_row_with_zero_and_sum_to_levels(tmp_path, population):
    activity = read_activity(_csv(tmp_path, GOOD), practices=population)
    table = activity.table("activity", population.codes)
    # P3 has no rows at all and P1 no emergency admissions: zero activity, as an
    # extract lists only what happened.
    assert table.to_dict("index") == {"P1": {"a_and_e": 14.0, "emergency_admissions": 0.0},
                                      "P2": {"a_and_e": 0.0, "emergency_admissions": 3.0},
                                      "P3": {"a_and_e": 0.0, "emergency_admissions": 0.0}}
    places = activity.table("cost_gbp", pd.Index(["A", "B"], name="place"),
                            population.level_codes("place"))
    assert places.loc["A", "a_and_e"] == pytest.approx(2_500.50)
    assert places.index.name == "place"


def test_parquet_workbook_and_dataframe_read_the_same(tmp_path, population):
    frame = pd.read_csv(_csv(tmp_path, GOOD))
    frame.to_parquet(tmp_path / "activity.parquet")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "activity"
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    book.save(tmp_path / "activity.xlsx")
    expected = read_activity(_csv(tmp_path, GOOD), practices=population).frame
    for source in (tmp_path / "activity.parquet", tmp_path / "activity.xlsx", frame):
        pd.testing.assert_frame_equal(read_activity(source, practices=population).frame,
                                      expected)


def _error(tmp_path, text, population=None) -> str:
    with pytest.raises(InputError) as raised:
        read_activity(_csv(tmp_path, text), practices=population)
    return str(raised.value)


@pytest.mark.parametrize(("rows", "message"), [
    ("P9,a_and_e,Trust A,1,10,1\n",
     'activity.csv, row 6, column practice: practice "P9" is not in the population (expected '
     "one of its 3 practices, from DataFrame)"),
    ("P3,a_and_e,Trust A,-2,0,0\n",
     "activity.csv, row 6, column activity: -2 is negative (expected a count of activity, "
     "0 or more)"),
    ("P3,a_and_e,Trust A,2.5,0,0\n",
     'activity.csv, row 6, column activity: "2.5" is not a whole number'),
    ("P3,a_and_e,Trust A,5,10,6\n",
     "activity.csv, row 6, column patients: patients 6 is above activity 5 (expected at most "
     "the activity"),
    ("P3,a_and_e,Trust A,5,10,0\n",
     "activity.csv, row 6, column patients: activity 5 without patients"),
    ("P3,a_and_e,Trust A,0,25.5,0\n",
     "activity.csv, row 6, column cost_gbp: cost £25.50 without activity (expected 0 where "
     "activity is 0)"),
    ("P1,a_and_e,Trust A,1,1,1\n",
     'activity.csv, row 6, column provider: practice "P1", service "a_and_e", provider '
     '"Trust A" appears again (first at row 2; expected one row per practice, service and '
     "provider)"),
    ("P3,,Trust A,1,1,1\n",
     "activity.csv, row 6, column service: is blank (expected the service"),
    ("P3,a_and_e,Trust A,lots,1,1\n",
     'activity.csv, row 6, column activity: "lots" is not a number'),
])
def test_bad_rows_name_file_row_and_column(tmp_path, population, rows, message):
    assert message in _error(tmp_path, GOOD + rows, population)


def test_more_rows_with_the_same_problem_are_listed(tmp_path):
    text = GOOD + "P3,a_and_e,Trust A,-1,0,0\nP3,a_and_e,Trust B,-1,0,0\n"
    assert "(also row 7)" in _error(tmp_path, text)


def test_missing_and_unpaired_columns(tmp_path):
    assert 'activity.csv, column activity: no column "activity"' in _error(
        tmp_path, "practice,service,count\nP1,a_and_e,3\n")
    assert 'column "sex" without column "age_band"' in _error(
        tmp_path, "practice,service,sex,activity\nP1,a_and_e,M,3\n")
    assert '"X" is not a sex (expected M or F)' in _error(
        tmp_path, "practice,service,sex,age_band,activity\nP1,a_and_e,X,0-64,3\n")


def test_sex_is_read_as_m_or_f_in_any_case(tmp_path):
    activity = read_activity(_csv(tmp_path, "practice,service,SEX,Age_Band,activity\n"
                                            "P1,a_and_e,female,0-64,3\nP1,a_and_e,m,0-64,2\n"))
    assert activity.frame["sex"].tolist() == ["F", "M"]


def test_a_dataframe_is_named_by_its_index_label():
    frame = pd.DataFrame({"practice": ["P1", "P2"], "service": "a_and_e",
                          "activity": [1, -1]}, index=[10, 20])
    with pytest.raises(InputError, match="column activity, key activity index 20: -1 is "
                                         "negative"):
        read_activity(frame)
    frame = pd.DataFrame({"practice": ["P1", "P1"], "service": "a_and_e", "activity": [1, 2]})
    with pytest.raises(InputError, match="appears again \\(first at index 0"):
        read_activity(frame)


def test_empty_and_missing_files(tmp_path):
    assert "the file has a header but no data rows (expected one row per practice and " \
           "service)" in _error(tmp_path, HEADER)
    with pytest.raises(InputError, match="nothing.parquet: activity file not found"):
        read_activity(tmp_path / "nothing.parquet")
    with pytest.raises(InputError, match="must be a DataFrame or a path"):
        read_activity(np.zeros(3))  # type: ignore[arg-type]


def test_units_outside_the_level_are_refused(tmp_path, population):
    activity = read_activity(_csv(tmp_path, GOOD), practices=population)
    with pytest.raises(InputError, match='practice "P2" has activity but is not in the '
                                         "practices analysed"):
        activity.table("activity", pd.Index(["P1"], name="practice"))
