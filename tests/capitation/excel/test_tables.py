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
