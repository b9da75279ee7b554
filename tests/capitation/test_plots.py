"""The data behind capitation.plots: bar heights and positions, not pixels."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from capitation import Model, plots

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def demo():
    return Model.from_toml(MODELS / "demo.toml").run()


@pytest.fixture(scope="module")
def msk():
    return Model.from_toml(MODELS / "msk.toml").run()


def _codes(ax):
    """The organisation codes of the y tick labels ("NHS West Yorkshire ICB (QWO)" → "QWO")."""
    return [re.sub(r"^.* \((.+)\)$", r"\1", label.get_text()) for label in ax.get_yticklabels()]


# ------------------------------------------------------------------ waterfall

# docs/methods/service-budget.md#worked-example, the bridge table: the worked example's three years
# (pounds).
WORKED_BRIDGE = pd.DataFrame(
    {
        "baseline_gbp": [11_000_000.00, 11_000_000.00, 11_000_000.00],
        "growth_gbp": [110_000.00, 221_100.00, 333_311.00],
        "price_gbp": [222_200.00, 396_104.83, 576_066.53],
        "activity_change_gbp": [-1_184_730.00, -1_636_969.77, -2_111_207.83],
        "new_services_gbp": [1_560_000.00, 1_586_000.00, 1_612_000.00],
        "stranded_support_gbp": [326_230.00, 95_929.95, 0.00],
        "budget_gbp": [12_033_700.00, 11_662_165.01, 11_410_169.70],
    },
    index=pd.Index(["2017/18", "2018/19", "2019/20"], name="year"),
)


def test_waterfall_of_the_worked_example_steps_end_at_the_budget():
    # docs/methods/service-budget.md#worked-example: 11,000,000 + 110,000 + 222,200 - 1,184,730 +
    # 1,560,000 + 326,230
    # = 12,033,700, the 2017/18 budget. Each step starts where the one before ended.
    fig = plots.budget_waterfall(WORKED_BRIDGE, "2017/18")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    bars = list(ax.containers[0])
    starts = [bar.get_y() for bar in bars]
    ends = [bar.get_y() + bar.get_height() for bar in bars]
    assert starts == pytest.approx(
        [0.0, 11_000_000, 11_110_000, 11_332_200, 10_147_470, 11_707_470, 0.0], abs=1e-6
    )
    assert ends == pytest.approx(
        [11_000_000, 11_110_000, 11_332_200, 10_147_470, 11_707_470, 12_033_700, 12_033_700],
        abs=1e-6,
    )
    assert ax.get_title() == "2017/18"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "Baseline", "Growth", "Price", "Activity change", "New services",
        "Stranded support", "Budget",
    ]


def test_waterfall_bars_are_the_bridge_of_every_year(msk):
    bridge = msk.budget_bridge
    fig = plots.budget_waterfall(msk)
    assert [ax.get_title() for ax in fig.axes] == list(bridge.index)
    columns = ["baseline_gbp", "growth_gbp", "price_gbp", "activity_change_gbp",
               "new_services_gbp", "stranded_support_gbp", "budget_gbp"]
    for ax, year in zip(fig.axes, bridge.index, strict=True):
        np.testing.assert_array_equal(ax.containers[0].datavalues,
                                      bridge.loc[year, columns].to_numpy(dtype=float))
        last_step = ax.containers[0][5]
        assert last_step.get_y() + last_step.get_height() == pytest.approx(
            bridge.loc[year, "budget_gbp"], abs=0.005)


def test_waterfall_colours_legend_labels_and_axis_match_the_workbook_chart():
    # capitation.chart_style holds what the PNG and the native chart share: red up, blue down,
    # grey totals, a legend "Increase", "Decrease", "Total", labels in £m and an axis that does
    # not start at £0 (docs/methods/service-budget.md#worked-example, 2017/18: the lowest running
    # total is £10,147,470).
    from matplotlib.colors import to_hex

    from capitation.chart_style import DECREASE, INCREASE, TOTAL, waterfall_range

    fig = plots.budget_waterfall(WORKED_BRIDGE, "2017/18")
    (ax,) = fig.axes
    colours = [to_hex(bar.get_facecolor()) for bar in ax.containers[0]]
    # Baseline, growth +, price +, activity change −, new services +, stranded support +, budget.
    assert colours == [TOTAL, INCREASE, INCREASE, DECREASE, INCREASE, INCREASE, TOTAL]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["Increase", "Decrease", "Total"]
    assert [to_hex(h.get_facecolor()) for h in legend.legend_handles] == [INCREASE, DECREASE,
                                                                          TOTAL]
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["£11.00m", "£0.11m", "£0.22m", "−£1.18m", "£1.56m", "£0.33m", "£12.03m"]
    row = WORKED_BRIDGE.loc["2017/18"]
    steps = row[["growth_gbp", "price_gbp", "activity_change_gbp", "new_services_gbp",
                 "stranded_support_gbp"]].tolist()
    low, high = ax.get_ylim()
    assert (low, high) == waterfall_range(row["baseline_gbp"], steps, row["budget_gbp"])
    assert 0 < low < 10_147_470 and high > 12_033_700


def test_waterfall_range_starts_below_the_lowest_running_total():
    from capitation.chart_style import waterfall_range

    # Running totals 100, 110, 90, 95 (the total): span 20, so 90 − 10 = 80 to 110 + 2.4 =
    # 112.4, widened to whole steps of 5 (a tenth of 32.4 is 3.24, rounded up to 5).
    assert waterfall_range(100.0, [10.0, -20.0], 95.0) == (80.0, 115.0)
    # Never below zero when every running total is at or above zero.
    assert waterfall_range(10.0, [-10.0], 0.0)[0] == 0.0
    # Nothing moves: a band around the level.
    low, high = waterfall_range(50.0, [0.0], 50.0)
    assert low < 50.0 < high


def test_waterfall_stranded_support_tapers_to_nothing(msk):
    # models/msk.toml: stranded_support = [1.0, 0.5, 0.0], so the last year's bar is empty.
    fig = plots.budget_waterfall(msk)
    heights = [ax.containers[0][5].get_height() for ax in fig.axes]
    assert heights[0] > heights[1] > heights[2] == 0.0


def test_waterfall_refuses_a_run_without_a_budget_and_an_unknown_year(demo, msk):
    with pytest.raises(KeyError, match="no service budget"):
        plots.budget_waterfall(demo)
    with pytest.raises(KeyError, match="2030/31"):
        plots.budget_waterfall(msk, ["2017/18", "2030/31"])


# ------------------------------------------------------------------ distance from target


def test_distance_from_target_bars_are_before_and_after_pace_of_change(demo):
    table = demo.table("ICB")
    fig = plots.distance_from_target(demo)
    (ax,) = fig.axes
    before, after = ax.containers
    assert before.get_label() == "before pace of change"
    assert after.get_label() == "after pace of change"
    codes = _codes(ax)
    assert sorted(codes) == sorted(table.index) and len(codes) == 42
    np.testing.assert_array_equal(before.datavalues,
                                  table.loc[codes, "baseline_distance_from_target"].to_numpy())
    np.testing.assert_array_equal(after.datavalues,
                                  table.loc[codes, "distance_from_target"].to_numpy())
    # Furthest below target at the top (barh draws the first code at the bottom).
    assert list(before.datavalues) == sorted(before.datavalues, reverse=True)


def test_distance_from_target_unsorted_keeps_the_table_order(demo):
    table = demo.table("ICB")
    (ax,) = plots.distance_from_target(table, sort=False).axes
    assert _codes(ax) == list(table.index)


def test_distance_from_target_needs_pace_of_change(msk):
    with pytest.raises(KeyError, match="no pace of change"):
        plots.distance_from_target(msk)
    with pytest.raises(KeyError, match="baseline_distance_from_target"):
        plots.distance_from_target(pd.DataFrame({"distance_from_target": [0.0]}))


# ------------------------------------------------------------------ need index


def test_need_index_bars_run_from_one_to_each_index(demo):
    table = demo.table("ICB")
    (ax,) = plots.need_index(demo).axes
    codes = _codes(ax)
    bars = list(ax.containers[0])
    assert len(bars) == 42
    assert [bar.get_x() for bar in bars] == [1.0] * 42
    ends = np.array([bar.get_x() + bar.get_width() for bar in bars])
    np.testing.assert_allclose(ends, table.loc[codes, "need_index"].to_numpy(), rtol=0, atol=1e-12)
    assert list(ends) == sorted(ends)


def test_need_index_of_the_places_within_one_icb(demo):
    places = demo.table("ICB/LAD")
    inside = places[places["ICB"] == "QWO"]
    (ax,) = plots.need_index(demo, "ICB/LAD", within="QWO", column="need_index_in_parent").axes
    codes = _codes(ax)
    assert sorted(codes) == sorted(inside.index)
    ends = [bar.get_x() + bar.get_width() for bar in ax.containers[0]]
    np.testing.assert_allclose(ends, inside.loc[codes, "need_index_in_parent"], atol=1e-12)
    assert "QWO" in ax.get_title()
    assert ax.get_title().endswith("within ICB NHS West Yorkshire ICB (QWO)")
    assert "Bradford (QWO/E08000032)" in [t.get_text() for t in ax.get_yticklabels()]


def test_chart_labels_show_names_beside_codes(demo):
    # models/demo.toml names each ICB by NHS England's ICBname column (row 461 of
    # capitation/data/gp_practice_weighted_populations_2025_26.csv: QWO,
    # "NHS West Yorkshire ICB").
    (ax,) = plots.need_index(demo).axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "NHS West Yorkshire ICB (QWO)" in labels
    (ax,) = plots.distance_from_target(demo).axes
    assert "NHS West Yorkshire ICB (QWO)" in [t.get_text() for t in ax.get_yticklabels()]
    # Without names (or with a blank one), the label is the code alone.
    table = demo.table("ICB")
    assert plots.organisation_labels(table.drop(columns="name"), ["QWO"]) == ["QWO"]
    table.loc["QWO", "name"] = None
    assert plots.organisation_labels(table, ["QWO", "QYG"]) == [
        "QWO", "NHS Cheshire and Merseyside ICB (QYG)"]


def test_need_index_refuses_what_it_cannot_draw(demo):
    with pytest.raises(KeyError, match="top level"):
        plots.need_index(demo, "ICB", within="QWO")
    with pytest.raises(KeyError, match="no ICB/LAD inside ICB"):
        plots.need_index(demo, "ICB/LAD", within="NOPE")
    with pytest.raises(KeyError, match="no column"):
        plots.need_index(demo, column="need")


def test_need_index_of_a_model_with_one_icb_shows_its_places(tmp_path):
    # models/persons_demo.toml has one ICB and three places: one bar of 1 for the ICB would
    # be an empty chart, so the chart (and write_charts' file) shows the places instead.
    persons = Model.from_toml(MODELS / "persons_demo.toml").run()
    assert len(persons.table("ICB")) == 1
    places = persons.table("place")
    (ax,) = plots.need_index(persons).axes
    codes = _codes(ax)
    assert sorted(codes) == sorted(places.index) and len(codes) == 3
    ends = [bar.get_x() + bar.get_width() for bar in ax.containers[0]]
    np.testing.assert_allclose(ends, places.loc[codes, "need_index"], atol=1e-12)
    assert ax.get_title().startswith("Need index by place (the model has one ICB")
    (ax,) = plots.need_index(persons, "ICB").axes  # asked for by name: drawn as asked
    assert len(ax.containers[0]) == 1
    assert [p.name for p in plots.write_charts(persons, tmp_path)] == ["need_index_place.png"]


def test_figures_write_to_png(tmp_path, demo):
    path = tmp_path / "need.png"
    plots.need_index(demo).savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ PNG files and --charts


def test_write_charts_names_each_chart_the_run_has(tmp_path, demo, msk):
    written = plots.write_charts(demo, tmp_path / "demo")
    assert sorted(p.name for p in written) == ["distance_from_target.png", "need_index_ICB.png"]
    assert [p.name for p in plots.write_charts(msk, tmp_path / "msk")] == ["budget_waterfall.png"]
    for path in written:
        assert path.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(
        p.name for p in written)  # no temporary files left behind


def test_cli_run_writes_charts(tmp_path, capsys):
    from capitation.cli import main

    status = main(["run", str(MODELS / "msk.toml"), "--out", str(tmp_path / "msk.xlsx"),
                   "--charts", str(tmp_path / "charts")])
    assert status == 0
    assert (tmp_path / "charts" / "budget_waterfall.png").is_file()
    assert f"charts (1 PNG): {(tmp_path / 'charts').resolve()}" in capsys.readouterr().out


def test_waterfall_label_rounds_hundredths_of_a_million_half_away_from_zero():
    from capitation.chart_style import waterfall_label

    # £0.01m is 1,000,000 pence: half of it rounds up, one penny less down, either sign, as
    # Excel shows £#,##0.00,,"m"; nothing at all is no label.
    assert waterfall_label(500_000) == "£0.01m"
    assert waterfall_label(499_999) == "£0.00m"
    assert waterfall_label(-500_000) == "−£0.01m"
    assert waterfall_label(-1) == "−£0.00m"
    assert waterfall_label(123_456_789_012) == "£1,234.57m"
    assert waterfall_label(0) == ""


def test_compare_labels_each_organisation_with_its_name_and_code():
    from capitation import compare

    # models/demo.toml names its ICBs: the chart reads "NHS West Yorkshire ICB (QWO)", also
    # when drawn from a selection of the comparison's columns (as notebook 05 does).
    model = Model.from_toml(MODELS / "demo.toml")
    runs = {"base": model.run(),
            "floor 1%": model.with_values({"pace_of_change.min_growth": 0.01}).run()}
    comparison = compare(runs, level="ICB")
    (ax,) = plots.compare(comparison[["change_gbp__floor 1%"]]).axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 42 and "NHS West Yorkshire ICB (QWO)" in labels
    change = dict(zip(labels, ax.containers[0].datavalues, strict=True))
    assert change["NHS West Yorkshire ICB (QWO)"] == comparison.loc["QWO", "change_gbp__floor 1%"]
