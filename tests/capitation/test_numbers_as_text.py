"""Numbers stored as text follow one rule in every input (capitation/inputs/csv_tables.py).

"41,300", "£1,200" and "5%" are read as 41300, 1200 and 0.05 with one warning
naming the file, the row and the column, in the words of
:func:`capitation.inputs.csv_tables.stored_as_text`; a cell that holds no
number is refused (tests/bad_inputs/manifest.toml, "numbers stored as text").
Here: person rows (CSV and Parquet), the need index file, and the activity
table as a CSV and as the model workbook's ``opportunity_activity`` sheet.
Expected values: the same run with the numbers typed plainly.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capitation import Model
from capitation.excel.model_export import export_model

DATA = Path(__file__).resolve().parents[1] / "bad_inputs" / "data"
PLAIN_PERSONS = ("person_id,practice_code,sex,age,risk_score\n1,SYN001,M,34,0.2\n"
                 "2,SYN001,F,71,1200\n3,SYN001,F,5,0.05\n4,SYN002,M,52,0.7\n5,SYN002,F,88,2.4\n")


def _model(template: str, file: Path, folder: Path) -> Path:
    text = (DATA / template).read_text(encoding="utf-8")
    path = folder / f"{file.stem}_model.toml"
    path.write_text(text.replace("{file}", file.as_posix()).replace("{data}", DATA.as_posix()),
                    encoding="utf-8")
    return path


def _run(model: Path) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = Model.from_excel(model) if model.suffix == ".xlsx" else Model.from_toml(model)
        table = run.run().table("practice")
    return table, [str(w.message) for w in caught if "stored as text" in str(w.message)]


def test_person_rows_read_numbers_stored_as_text(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text(PLAIN_PERSONS, encoding="utf-8")
    typed = tmp_path / "typed.csv"
    typed.write_text(PLAIN_PERSONS.replace(",1200\n", ',"1,200"\n').replace(",0.05\n", ",5%\n")
                     .replace("M,34,", 'M,"£34",'), encoding="utf-8")
    expected, none = _run(_model("persons_model.toml", plain, tmp_path))
    got, said = _run(_model("persons_model.toml", typed, tmp_path))
    assert none == []
    assert said == [
        'typed.csv, row 2, column age: "£34" is a number stored as text; read as 34',
        'typed.csv, row 3, column risk_score: "1,200" is a number stored as text; read as 1200 '
        "(also row 4)"]
    pd.testing.assert_frame_equal(got, expected)


def test_person_rows_in_parquet_with_text_scores(tmp_path):
    plain = pd.read_csv(pd.io.common.StringIO(PLAIN_PERSONS))
    plain.to_parquet(tmp_path / "plain.parquet", index=False)
    typed = plain.assign(risk_score=["0.2", "1,200", "5%", "0.7", "2.4"])
    typed.to_parquet(tmp_path / "typed.parquet", index=False)
    expected, _ = _run(_model("persons_model.toml", tmp_path / "plain.parquet", tmp_path))
    got, said = _run(_model("persons_model.toml", tmp_path / "typed.parquet", tmp_path))
    # A Parquet part has no header row: its rows are numbered from 1.
    assert said == ['typed.parquet, row 2, column risk_score: "1,200" is a number stored as '
                    "text; read as 1200 (also row 3)"]
    pd.testing.assert_frame_equal(got, expected)


def test_plain_person_rows_never_take_the_slow_route(tmp_path, monkeypatch):
    # Numbers Arrow reads at once (every age and score here) skip the rule's per-cell reading.
    import capitation.persons.read as read

    def slow(*args, **kwargs):
        raise AssertionError("the slow route was taken for plain numbers")

    monkeypatch.setattr(read, "numbers_in_cells", slow)
    plain = tmp_path / "plain.csv"
    plain.write_text(PLAIN_PERSONS, encoding="utf-8")
    table, said = _run(_model("persons_model.toml", plain, tmp_path))
    assert said == [] and table["population"].sum() == 5


def test_need_index_file_reads_numbers_stored_as_text(tmp_path):
    plain = tmp_path / "plain_index.csv"
    plain.write_text("practice,need_index\nP1,1.05\nP2,0.95\n", encoding="utf-8")
    typed = tmp_path / "typed_index.csv"
    typed.write_text("practice,need_index\nP1,105%\nP2,95%\n", encoding="utf-8")
    expected, _ = _run(_model("need_index_model.toml", plain, tmp_path))
    got, said = _run(_model("need_index_model.toml", typed, tmp_path))
    assert said == ['typed_index.csv, row 2, column need_index: "105%" is a number stored as '
                    "text; read as 1.05 (also row 3)"]
    pd.testing.assert_frame_equal(got, expected)


def _typed_activity(tmp_path: Path) -> Path:
    text = (DATA / "activity.csv").read_text(encoding="utf-8")
    typed = tmp_path / "typed_activity.csv"
    typed.write_text(text.replace("P001,a_and_e,Acute trust,310,220,55800.00",
                                  'P001,a_and_e,Acute trust,"310",220,"£55,800.00"'),
                     encoding="utf-8")
    return typed


def test_activity_csv_and_workbook_sheet_read_numbers_stored_as_text(tmp_path):
    expected, _ = _run(_model("activity_model.toml", DATA / "activity.csv", tmp_path))
    got, said = _run(_model("activity_model.toml", _typed_activity(tmp_path), tmp_path))
    assert said == ['typed_activity.csv, row 2, column cost_gbp: "£55,800.00" is a number '
                    "stored as text; read as 55800"]
    pd.testing.assert_frame_equal(got, expected)

    # The model workbook's opportunity_activity sheet: the warning names the workbook and
    # the sheet (never the private CSV copy the run reads), in the same words.
    book = export_model(_model("activity_model.toml", DATA / "activity.csv", tmp_path),
                        tmp_path / "model.xlsx")
    edited = openpyxl.load_workbook(book)
    sheet = edited["opportunity_activity"]
    assert [c.value for c in sheet[1]][3:6] == ["activity", "patients", "cost_gbp"]
    sheet["D2"] = "1,310"   # a number stored as text, in a text cell
    sheet["D3"] = 480       # unchanged
    edited.save(tmp_path / "typed.xlsx")
    got, said = _run(tmp_path / "typed.xlsx")
    assert said == ['typed.xlsx, sheet opportunity_activity, row 2, column activity: "1,310" '
                    "is a number stored as text; read as 1310"]
    assert np.isfinite(got["population"]).all()


@pytest.mark.parametrize("cell, words", [("41,3OO", '"41,3OO" is not a number')])
def test_a_cell_with_no_number_in_the_workbook_sheet_is_refused(tmp_path, cell, words):
    from capitation import InputError

    book = export_model(_model("activity_model.toml", DATA / "activity.csv", tmp_path),
                        tmp_path / "model.xlsx")
    edited = openpyxl.load_workbook(book)
    edited["opportunity_activity"]["D3"] = cell
    edited.save(tmp_path / "bad.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError) as raised:
            Model.from_excel(tmp_path / "bad.xlsx").run()
    assert str(raised.value).startswith(
        "bad.xlsx, sheet opportunity_activity, row 3, column activity: ")
    assert words in str(raised.value)
