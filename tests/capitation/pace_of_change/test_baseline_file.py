"""Tests for capitation/pace_of_change/baseline_file.py: the baselines CSV."""

import pandas as pd
import pytest

from capitation.errors import InputError
from capitation.pace_of_change.baseline_file import read_baseline

CODES = pd.Index(["QB", "QA"], name="ICB")


def _file(tmp_path, text: str):
    path = tmp_path / "baselines.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_baselines_come_back_in_the_order_of_the_codes(tmp_path):
    path = _file(tmp_path, " ICB ,baseline_gbp,note\nQA,480000.50,x\n\nQB, 470000 ,y\n")
    baseline = read_baseline(path, "ICB", CODES)
    assert baseline.index.tolist() == ["QB", "QA"]
    assert baseline.tolist() == [470_000.0, 480_000.5]


@pytest.mark.parametrize("text, message", [
    ("ICB,baseline\nQA,1\n",
     'baselines.csv, column baseline_gbp: no column "baseline_gbp" (the columns are: ICB, '
     "baseline)"),
    ("ICB,baseline_gbp\nQA,1\n,2\n",
     "baselines.csv, row 3, column ICB: is blank (expected the ICB code)"),
    ("ICB,baseline_gbp\nQA,\nQB,2\n",
     "baselines.csv, row 2, column baseline_gbp: is blank (expected a baseline in pounds, "
     "above 0)"),
    ("ICB,baseline_gbp\nQA,-5\nQB,2\n",
     "baselines.csv, row 2, column baseline_gbp: -5 is negative (expected a baseline in "
     "pounds, above 0)"),
    ("ICB,baseline_gbp\nQA,1\nQB,0\n",
     "baselines.csv, row 3, column baseline_gbp: 0 is not above 0 (expected a baseline in "
     "pounds, above 0)"),
    ("ICB,baseline_gbp\nQA,1\nQB,2\nQA,3\nQA,4\n",
     'baselines.csv, row 2, column ICB: ICB "QA" appears again in rows 4, 5 (expected one '
     "row per ICB)"),
    ("ICB,baseline_gbp\nQA,1\n",
     "baselines.csv, column ICB: no baseline for ICB QB (expected one row per ICB of the "
     "model)"),
    ("ICB,baseline_gbp\n", "baselines.csv: the file has a header but no data rows (expected "
                           "one row per ICB)"),
])
def test_bad_baselines_name_file_row_and_column(tmp_path, text, message):
    with pytest.raises(InputError) as caught:
        read_baseline(_file(tmp_path, text), "ICB", CODES)
    assert str(caught.value) == message


def test_rows_of_organisations_not_in_the_model_are_named_in_a_warning(tmp_path):
    # A file may cover more organisations than the model runs (a national file):
    # not an error, but the rows are named, not dropped silently.
    path = _file(tmp_path, "ICB,baseline_gbp\nQA,1\nQZ,5\nQB,2\nQY,7\n")
    with pytest.warns(UserWarning) as caught:
        baseline = read_baseline(path, "ICB", CODES)
    assert [str(w.message) for w in caught] == [
        "baselines.csv: rows 3 (QZ), 5 (QY): ICB not in the model, not used"]
    assert baseline.tolist() == [2.0, 1.0]
