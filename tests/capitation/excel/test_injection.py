"""Text from inputs is written as text, never as a formula (=, +, -, @ at the start)."""

import openpyxl
import pandas as pd

from capitation import Model
from capitation.excel.model_export import export_model
from tests.capitation.helpers import write_model

HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)"]

BODY = """
[model]
name = "=cmd|' /C calc'!A0"
year = "2025/26"
envelope_gbp = 1_000_000

[population]
file = "data.csv"
id = "code"
population = "pop"
levels = ["ICB"]

[[component]]
name = "core"
share = 1.0
weighted_population = { "wp" = 1.0 }
"""


def test_codes_and_names_starting_like_formulas_stay_text(tmp_path):
    data = pd.DataFrame({"code": HOSTILE, "ICB": ["=1+1", "=1+1", "@A", "@A"],
                         "pop": [100, 200, 300, 400], "wp": [110.0, 190.0, 320.0, 380.0]})
    model = write_model(tmp_path, BODY, data)
    results = Model.from_toml(model).run()
    out = results.to_excel(tmp_path / "results.xlsx")
    book = openpyxl.load_workbook(out)
    codes = {c.value: c.data_type for c in book["practice"]["A"][6:-1]}  # data, not Total
    assert codes == {code: "s" for code in sorted(HOSTILE)}
    parents = [c for c in book["practice"][7] if c.value == "=1+1" or c.value == "@A"]
    assert parents and all(c.data_type == "s" for c in parents)
    assert book["ICB"]["A7"].data_type == "s"

    workbook = export_model(model, tmp_path / "model.xlsx")
    book = openpyxl.load_workbook(workbook)
    assert book["model"]["B2"].data_type == "s"
    assert book["model"]["B2"].value.startswith("=cmd")
    data_codes = [c for c in book["population_data"]["A"][1:]]
    assert [c.value for c in data_codes] == HOSTILE
    assert all(c.data_type == "s" for c in data_codes)
    again = Model.from_excel(workbook).run()
    assert list(again.table("practice").index) == sorted(HOSTILE)
