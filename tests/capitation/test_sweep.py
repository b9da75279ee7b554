"""Model.sweep: at every value exactly what a fresh run with that override gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from capitation import InputError, Model, compare, plots
from capitation.comparison import HEADLINES, headlines
from tests.capitation.test_overrides import MODEL, three_organisations

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo.toml"

TWO_YEARS = MODEL.replace("min_growth = 0.02", 'min_growth = 0.02\nyears = ["2025/26", '
                          '"2026/27"]').replace(
    "envelope_gbp = 300_000_000", "envelope_gbp = [300_000_000, 315_000_000]")

TWO_COMPONENTS = MODEL.replace('name = "core"\nshare = 1.0', 'name = "core"\nshare = 0.9') + """
[[component]]
name = "flat"
share = 0.1
weighted_population = { "pop" = 1.0 }
"""


def fresh(model: Model, key: str, value: object) -> list[dict]:
    results = model.with_values({key: value}).run()
    return [headlines(results, year) for year in results.years]


@pytest.mark.parametrize(("key", "values"), [
    ("pace_of_change.min_growth", [0.0, 0.01, 0.02, 0.025]),
    ("pace_of_change.max_growth", [0.06, 0.08, 0.2]),
    ("pace_of_change.method", ["lp", "rule"]),
    ("model.envelope_gbp", [296_000_000, 300_000_000, 310_000_000]),
])
def test_sweep_is_a_fresh_run_at_each_value(tmp_path, key, values):
    model = Model.from_toml(three_organisations(tmp_path))
    frame = model.sweep(key, values)
    assert frame.index.name == key
    assert frame.index.tolist() == values
    assert list(frame.columns) == list(HEADLINES)
    for value in values:
        assert frame.loc[value].to_dict() == fresh(model, key, value)[0], value


def test_sweep_of_the_worked_example(tmp_path):
    # docs/methods/pace-of-change.md#worked-example through a sweep: with max_growth 8% C is held at
    # its cap and A at its
    # floor, and s* = 0.055 (C at 75.6m of 80m).
    model = Model.from_toml(three_organisations(tmp_path))
    frame = model.sweep("pace_of_change.max_growth", [0.08])
    assert frame.loc[0.08, "largest_shortfall"] == pytest.approx(0.055, abs=1e-9)
    assert (frame.loc[0.08, "at_floor"], frame.loc[0.08, "at_cap"]) == (1, 1)
    assert frame["at_floor"].dtype == "int64"


def test_sweep_over_years_and_components(tmp_path):
    (tmp_path / "a").mkdir()
    two_years = Model.from_toml(three_organisations(tmp_path / "a", TWO_YEARS))
    frame = two_years.sweep("pace_of_change.min_growth", [0.01, 0.02])
    assert frame.index.names == ["pace_of_change.min_growth", "year"]
    for value in (0.01, 0.02):
        expected = fresh(two_years, "pace_of_change.min_growth", value)
        assert [frame.loc[(value, y)].to_dict() for y in ("2025/26", "2026/27")] == expected
    (tmp_path / "b").mkdir()
    components = Model.from_toml(three_organisations(tmp_path / "b", TWO_COMPONENTS))
    envelopes = components.sweep("model.envelope_gbp", [298_000_000, 305_000_000])
    for value in (298_000_000, 305_000_000):
        assert envelopes.loc[value].to_dict() == fresh(components, "model.envelope_gbp",
                                                       value)[0]
    with pytest.raises(InputError, match="^component.core.share = 0.5: model.toml, key "
                                         "component.share: shares add up to 0.6"):
        components.sweep("component.core.share", [0.9, 0.5])


def test_sweep_of_the_demo_matches_fresh_runs():
    model = Model.from_toml(DEMO)
    values = [0.01, 0.03]
    frame = model.sweep("pace_of_change.min_growth", values)
    for value in values:
        assert frame.loc[value].to_dict() == fresh(
            Model.from_toml(DEMO), "pace_of_change.min_growth", value)[0]


def test_a_bad_value_is_refused_before_anything_runs(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    with pytest.raises(InputError, match=r"^pace_of_change.min_growth = \"two\": model.toml, "
                                         r"key pace_of_change.min_growth: expected a number"):
        model.sweep("pace_of_change.min_growth", [0.01, "two"])


def test_sweep_chart_draws_the_frame(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    frame = model.sweep("pace_of_change.min_growth", [0.0, 0.01, 0.02])
    fig = plots.sweep(frame)
    left, right = fig.axes
    assert left.lines[0].get_xdata().tolist() == [0.0, 0.01, 0.02]
    assert left.lines[0].get_ydata().tolist() == frame["largest_shortfall"].tolist()
    assert right.lines[0].get_ydata().tolist() == frame["at_floor"].tolist()
    assert right.lines[1].get_ydata().tolist() == frame["at_cap"].tolist()


def test_compare_chart_draws_the_changes(tmp_path):
    model = Model.from_toml(three_organisations(tmp_path))
    comparison = compare({"base": model.run(),
                          "capped": model.with_values({"pace_of_change.max_growth": 0.08}).run()})
    fig = plots.compare(comparison)
    (ax,) = fig.axes
    codes = [label.get_text() for label in ax.get_yticklabels()]
    assert codes == ["C", "A", "B"]  # sorted by change, largest gain at the top
    changes = pd.Series(list(ax.containers[0].datavalues), index=codes)
    assert changes.to_dict() == {"C": -1_066_666.67, "A": 0.0, "B": 1_066_666.67}
    with pytest.raises(KeyError, match="no change_gbp__"):
        plots.compare(compare({"base": model.run()}))
