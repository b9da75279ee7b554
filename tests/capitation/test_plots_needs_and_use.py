"""Needs-versus-use charts: the funnel's limits, target and outlier labels, and the ranked £."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from capitation import Model, plots

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results():
    return Model.from_toml(ROOT / "models" / "opportunity_demo.toml").run()


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_funnel_draws_the_limits_target_and_labels_every_outlier(results):
    needs = results.needs_and_use
    f = needs.opportunity.funnels["emergency_admissions"]
    fig = plots.funnel(f, names=needs.names, title="SYNTHETIC activity")
    ax = fig.axes[0]
    lines = _lines(ax)
    assert {"95% limits", "_95% lower", "99.8% limits", "_99.8% lower", "target"} <= set(lines)
    # Each curve is the funnel's own limits at the x it is drawn at.
    for label, column in (("95% limits", "upper_95"), ("_95% lower", "lower_95"),
                          ("99.8% limits", "upper_998"), ("_99.8% lower", "lower_998")):
        x = lines[label].get_xdata()
        np.testing.assert_allclose(lines[label].get_ydata(), f.limits(x)[column], rtol=1e-12)
    assert lines["target"].get_ydata()[0] == f.target == 1.0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["95% limits",
                                                                   "99.8% limits", "target"]
    # The units: x = expected, y = observed ÷ expected.
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], f.denominators.to_numpy())
    np.testing.assert_allclose(offsets[:, 1], f.units["ratio"].to_numpy())
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("95%") == 2 and texts.count("99.8%") == 2  # both ends of each limit
    outliers = f.units.index[f.units["flag_998"] != ""]
    assert 0 < len(outliers) <= 20
    for code in outliers:
        assert f"{needs.names[code]} ({code})" in texts
    # A unit inside the 99.8% limits is not labelled.
    inside = f.units.index[f.units["flag_998"] == ""][0]
    assert not any(code_text.endswith(f"({inside})") for code_text in texts)
    assert fig._suptitle.get_text() == "SYNTHETIC activity"


def test_funnel_labels_at_most_max_labels_most_extreme_first(results):
    f = results.needs_and_use.opportunity.funnels["outpatient_first"]
    flagged = f.units[f.units["flag_95"] != ""]
    fig = plots.funnel(f, label="95", max_labels=3)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text() not in {"95%", "99.8%"}]
    extreme = flagged["z_adjusted"].abs().sort_values(ascending=False, kind="stable").index[:3]
    assert texts == list(extreme)  # no names given: codes alone
    assert f"{len(flagged)} outside the 95% limits, {len(flagged) - 3} not labelled" in \
        fig.axes[0].get_xlabel()


def test_opportunity_ranked_bars_are_the_top_units_in_pounds(results):
    table = results.opportunity_table("a_and_e")
    fig = plots.opportunity_ranked(table, top=12, title="SYNTHETIC")
    ax = fig.axes[0]
    bars = ax.containers[0]
    top = table.sort_values("opportunity_gbp", ascending=False, kind="stable").head(12)
    np.testing.assert_array_equal(bars.datavalues, top["opportunity_gbp"].to_numpy()[::-1])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{n} ({c})" for c, n in zip(top.index[::-1], top["name"][::-1],
                                                   strict=True)]
    high = [bar.get_facecolor() for bar, flag in zip(bars, top["flag_998"][::-1], strict=True)
            if flag == "high"]
    within = [bar.get_facecolor() for bar, f95 in zip(bars, top["flag_95"][::-1], strict=True)
              if f95 == ""]
    assert high and within and high[0] != within[0]


def test_charts_are_written_for_each_service(results, tmp_path):
    written = plots.write_charts(results, tmp_path, dpi=40)
    names = {p.name for p in written}
    for service in ("emergency_admissions", "elective_inpatient", "outpatient_first",
                    "a_and_e"):
        assert f"funnel_{service}.png" in names and f"opportunity_{service}.png" in names
    assert all(p.stat().st_size > 0 for p in written)
