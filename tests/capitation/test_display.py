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


@pytest.fixture(scope="module")
def demo_runs():
    model = Model.from_toml(MODELS / "demo.toml")
    return {"base": model.run(),
            "floor 1%": model.with_values({"pace_of_change.min_growth": 0.01}).run()}


def _row_of(html: str, code: str) -> list[str]:
    """The cells of the HTML table's row for ``code`` (its index cell, then the data)."""
    import re

    row = re.search(rf"<tr>\s*<th>{code}</th>(.*?)</tr>", html, re.S)
    assert row is not None, code
    return re.findall(r"<td>(.*?)</td>", row.group(1), re.S)


def test_results_show_each_name_beside_its_code(demo_runs):
    # models/demo.toml names its ICBs from NHS England's file: QWO is NHS West Yorkshire ICB.
    out = demo_runs["base"]._repr_html_()
    assert _row_of(out, "QWO")[0] == "NHS West Yorkshire ICB"
    assert _row_of(out, "QE1")[0] == "NHS Lancashire and South Cumbria ICB"


def test_a_comparison_shows_each_name_beside_its_code(demo_runs):
    from capitation import compare

    comparison = compare(demo_runs, level="ICB")
    assert "name" not in comparison.columns  # the names are for show, not a column
    cells = _row_of(comparison._repr_html_(), "QWO")
    assert cells[0] == "NHS West Yorkshire ICB"
    base = demo_runs["base"].table("ICB").loc["QWO", "allocation_gbp"]
    assert cells[1] == pounds(base)  # then the figures, unchanged
    assert comparison[["change_gbp__floor 1%"]].names["QWO"] == "NHS West Yorkshire ICB"

