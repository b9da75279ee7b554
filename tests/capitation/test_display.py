"""HTML tables for Jupyter: money as pounds with thousands separators."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import Model
from capitation.display import format_table, html_table, pounds

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (120_000_000_000.0, "£120,000,000,000.00"),
        (-1_234.5, "-£1,234.50"),
        (0.0, "£0.00"),
        (np.nan, ""),
    ],
)
def test_pounds(value, shown):
    assert pounds(value) == shown


def test_columns_are_formatted_by_their_names():
    frame = pd.DataFrame(
        {
            "population": [1_870_895.3],
            "need_index": [1.1073271],
            "target_gbp": [3_893_589_011.11],
            "distance_from_target": [-0.0137782],
            "note": ["text"],
        },
        index=pd.Index(["QE1"], name="ICB"),
    )
    shown = format_table(frame)
    assert shown.loc["QE1"].tolist() == ["1,870,895", "1.107", "£3,893,589,011.11", "-1.38%",
                                         "text"]
    assert frame.loc["QE1", "target_gbp"] == 3_893_589_011.11  # the input is untouched


def test_html_escapes_text_and_caption():
    out = html_table(pd.DataFrame({"name": ["<b>x</b>"]}), caption="A & B")
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "A &amp; B" in out


def test_results_render_the_top_level_with_pounds():
    results = Model.from_toml(MODELS / "msk.toml").run()
    out = results._repr_html_()
    assert "bridge from baseline spend to budget" in out
    budget = results.budget_bridge.loc["2017/18", "budget_gbp"]
    assert pounds(budget) == "£44,779,106.46" and "£44,779,106.46" in out
