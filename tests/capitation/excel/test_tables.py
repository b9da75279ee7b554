"""Plain tables to a workbook (capitation/excel/tables.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import capitation.excel.tables as tables


def test_a_table_longer_than_a_sheet_is_refused_not_cut(tmp_path, monkeypatch):
    # Excel's 1,048,576 rows, lowered to 5 data rows here: xlsxwriter would drop the 6th row
    # without a word, so the writer refuses and writes nothing.
    assert tables.MAX_SHEET_ROWS == 1_048_576 - 1
    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 5)
    out = tmp_path / "t.xlsx"
    frame = pd.DataFrame({"value": range(6)}, index=pd.Index(range(6), name="row"))
    with pytest.raises(ValueError, match="sheet long: 6 rows do not fit in a sheet"):
        tables.write_tables(out, {"long": frame})
    assert list(tmp_path.iterdir()) == []
    tables.write_tables(out, {"short": frame.iloc[:5]})
    assert out.exists()


def test_split_rows_puts_every_row_on_exactly_one_sheet(monkeypatch):
    # 12 rows at 5 a sheet: rows 0-4, 5-9 and 10-11 on three sheets.
    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 5)
    frame = pd.DataFrame({"value": range(12)}, index=pd.Index(range(12), name="row"))
    parts = tables.split_rows("positions", frame)
    assert list(parts) == ["positions", "positions_2", "positions_3"]
    assert [len(p) for p in parts.values()] == [5, 5, 2]
    pd.testing.assert_frame_equal(pd.concat(parts.values()), frame)
    assert list(tables.split_rows("positions", frame.iloc[:5])) == ["positions"]


def test_progress_counts_every_row_and_notes_go_under_the_table(tmp_path, monkeypatch):
    import openpyxl

    monkeypatch.setattr(tables, "PROGRESS_ROWS", 4)
    frame = pd.DataFrame({"mean_gbp": [1.5, -2_000_000.25, 3.0] * 3},
                         index=pd.Index(range(9), name="party"))
    calls: list[int] = []
    out = tables.write_tables(tmp_path / "t.xlsx", {"s": frame}, notes={"s": ["a note"]},
                              progress=calls.append)
    assert calls == [4, 4, 1]
    sheet = openpyxl.load_workbook(out)["s"]
    assert sheet["A12"].value == "a note" and sheet["A11"].value is None
    assert sheet["B2"].number_format == "£#,##0.00;-£#,##0.00"
    # "-£2,000,000.25" is 14 characters: the column is wider.
    assert sheet.column_dimensions["B"].width > 14


def test_fit_width_measures_numbers_as_their_format_shows_them():
    import numpy as np

    assert tables.fit_width("p", np.array([0.5, 0.123456]), "0.00%") == len("50.00%") + 3
    assert tables.fit_width("x", np.array([-1234567.891]), "#,##0.00") == len(
        "-1,234,567.89") + 3
    assert tables.fit_width("name", np.array(["Community MSK", None], dtype=object),
                            "General") == len("Community MSK") + 3
    assert tables.fit_width("t", np.array(["x" * 200], dtype=object), "General") == 60
