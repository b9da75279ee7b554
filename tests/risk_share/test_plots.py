"""The data behind risk_share.plots: curve values, band edges and bars, not pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from risk_share import Agreement, Simulation, calibrate, plots

INFLUENCE = {"CCG": 0.3, "Acute trust": 0.5, "Community MSK": 0.2}
MODELS = Path(__file__).resolve().parents[2] / "models"


def _curve(ax, party):
    (line,) = [line for line in ax.lines if line.get_label() == party]
    return dict(zip(line.get_xdata().tolist(), line.get_ydata().tolist(), strict=True))


def _edges(ax):
    return sorted(line.get_xdata()[0] for line in ax.lines if line.get_gid() == plots.BAND_EDGE)


# ------------------------------------------------------------------ share curves

# docs/methods/risk-reward-pool.md's worked examples: (V, mode, CCG, Acute trust, Community MSK).
SECTION_8_1 = [
    (1_500_000, "corridor", 840_000.00, 440_000.00, 220_000.00),
    (1_500_000, "first_dollar", 600_000.00, 600_000.00, 300_000.00),
    (-1_500_000, "corridor", -950_000.00, -330_000.00, -220_000.00),
    (3_000_000, "corridor", 1_680_000.00, 800_000.00, 520_000.00),
    (-4_000_000, "corridor", -2_480_000.00, -800_000.00, -720_000.00),
    (400_000.00, "first_dollar", 400_000.00, 0.00, 0.00),
    (400_000.01, "first_dollar", 160_000.01, 160_000.00, 80_000.00),
]


@pytest.mark.parametrize(("variance", "mode", "ccg", "acute", "community"), SECTION_8_1)
def test_share_curves_pass_through_the_worked_examples(
    agreement, variance, mode, ccg, acute, community
):
    fig = plots.share_curves(agreement)
    ax = fig.axes[list(plots.POOL_MODES).index(mode)]
    assert mode.replace("_", " ") in ax.get_title()
    for party, expected in [("CCG", ccg), ("Acute trust", acute), ("Community MSK", community)]:
        assert _curve(ax, party)[variance] == pytest.approx(expected, abs=1e-9)


def test_share_curves_span_ten_percent_of_budget_and_add_up(agreement):
    fig = plots.share_curves(agreement)
    assert isinstance(fig, Figure)
    for ax in fig.axes[:2]:
        lines = [line for line in ax.lines if line.get_label() in agreement.party_names]
        assert [line.get_label() for line in lines] == agreement.party_names
        x = lines[0].get_xdata()
        # ±10% of the £40m pool budget, every point a whole number of pence.
        assert x[0] == -4_000_000 and x[-1] == 4_000_000
        np.testing.assert_allclose(np.round(x * 100), x * 100, atol=1e-6)
        total = sum(line.get_ydata() for line in lines)
        np.testing.assert_allclose(total, x, atol=1e-6)  # the shares add up to V


def test_share_curves_mark_the_band_edges(agreement):
    # Both threshold bands end at 1% of £40m: edges at -£400,000 and +£400,000.
    fig = plots.share_curves(agreement)
    for ax in fig.axes[:2]:
        assert _edges(ax) == [-400_000.0, 400_000.0]
    narrow = plots.share_curves(agreement, span=0.005, modes=["corridor"])
    assert len(narrow.axes[0].lines) and _edges(narrow.axes[0]) == []


def test_share_curves_leave_the_agreement_as_it_is(agreement):
    plots.share_curves(agreement)
    assert agreement.mode == "corridor"
    with pytest.raises(ValueError, match="unknown mode"):
        plots.share_curves(agreement, modes=["pro_rata"])


def test_variance_grid_holds_each_bound_and_the_penny_beyond(agreement):
    grid = plots.variance_grid(agreement, span=0.02, points=5)
    # -£800k..£800k in steps of £400k, plus ±£400,000.01.
    assert grid.tolist() == [-800_000, -400_000.01, -400_000, 0, 400_000, 400_000.01, 800_000]


# ------------------------------------------------------------------ fan chart


@pytest.fixture(scope="module")
def simulation():
    agreement = Agreement.from_toml(MODELS / "msk_agreement.toml")
    return agreement.simulate(MODELS / "msk_outturn.csv", n=2_000, cv=0.05, seed=2026)


def _party_at(ax):
    """Row position → party name, from the y tick labels."""
    labels = [label.get_text() for label in ax.get_yticklabels()]
    return dict(zip(ax.get_yticks().tolist(), labels, strict=True))


def test_fan_chart_bands_are_the_percentiles_of_each_party(simulation):
    fig = plots.fan_chart(simulation)
    (ax,) = fig.axes
    party_at = _party_at(ax)
    assert sorted(party_at.values()) == sorted(simulation.positions.columns)
    bands = {c.get_label(): c for c in ax.containers}
    for low, high in [(5, 95), (10, 90), (25, 75)]:
        for bar in bands[f"{low}th to {high}th percentile"]:
            values = simulation.positions[party_at[bar.get_y() + bar.get_height() / 2]]
            assert bar.get_x() == pytest.approx(np.percentile(values, low), abs=1e-6)
            assert bar.get_x() + bar.get_width() == pytest.approx(
                np.percentile(values, high), abs=1e-6)
    (median,) = [line for line in ax.lines if line.get_label() == "median"]
    (mean,) = [line for line in ax.lines if line.get_label() == "mean"]
    for x_median, x_mean, y in zip(median.get_xdata(), mean.get_xdata(), median.get_ydata(),
                                   strict=True):
        values = simulation.positions[party_at[y]].to_numpy()
        assert x_median == pytest.approx(np.median(values), abs=1e-6)
        assert x_mean == pytest.approx(values.mean(), abs=1e-6)


def test_first_party_is_at_the_top(simulation):
    (ax,) = plots.fan_chart(simulation).axes
    row = {party: y for y, party in _party_at(ax).items()}
    assert row["CCG"] > row["Acute trust"] > row["Community MSK"]


# ------------------------------------------------------------------ calibration


def test_calibration_chart_of_the_section_10_example():
    # docs/methods/calibration.md: after calibration CVaR £1,200,000 / £500,000 / £800,000;
    # before £750,000 / £1,250,000 / £500,000; appetite only for the Acute trust.
    ag = Agreement.from_dict({
        "agreement": {"name": "calibration", "year": "2018/19", "commissioner": "CCG"},
        "party": [{"name": p, "influence": i} for p, i in INFLUENCE.items()],
        "pool": {"budget_gbp": 40_000_000, "mode": "corridor",
                 "loss_band": [{"shares": dict(INFLUENCE)}],
                 "gain_band": [{"shares": dict(INFLUENCE)}]},
    })
    s_millions = [-1.5, -1.2, -1.0, -0.8, -0.6, -0.5, -0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.5,
                  0.7, 0.9, 1.2, 1.6, 2.0, 2.5]
    calibrated = calibrate(ag, Simulation.from_variances(ag, np.array(s_millions) * 1e6),
                           appetite={"Acute trust": 500_000})
    (ax,) = plots.calibration_chart(calibrated).axes
    before, after = ax.containers
    assert before.get_label() == "CVaR before" and after.get_label() == "CVaR after"
    np.testing.assert_allclose(before.datavalues, [750_000, 1_250_000, 500_000], atol=1)
    np.testing.assert_allclose(after.datavalues, [1_200_000, 500_000, 800_000], atol=1)
    (appetite,) = [line for line in ax.lines if line.get_label() == "appetite"]
    assert np.isnan(appetite.get_xdata()[0]) and appetite.get_xdata()[1] == 500_000
    assert "share 20.0%" in ax.get_yticklabels()[1].get_text()


def test_calibration_chart_needs_a_calibrated_agreement(agreement):
    with pytest.raises(ValueError, match="calibrate"):
        plots.calibration_chart(agreement)


# ------------------------------------------------------------------ PNG files and --charts


def test_cli_settle_and_simulate_write_charts(tmp_path):
    from risk_share.cli import main

    agreement, lines = str(MODELS / "msk_agreement.toml"), str(MODELS / "msk_outturn.csv")
    assert main(["settle", agreement, lines, "--charts", str(tmp_path / "s"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["share_curves.png"]
    assert main(["simulate", agreement, lines, "-n", "500", "--cv", "0.05", "--seed", "1",
                 "--charts", str(tmp_path / "m"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["fan_chart.png",
                                                                  "share_curves.png"]


def test_write_charts_adds_the_calibration(tmp_path, simulation):
    calibrated = calibrate(simulation.agreement, simulation,
                           appetite={"Acute trust": 1_500_000})
    written = plots.write_charts(calibrated, tmp_path, simulation)
    assert [p.name for p in written] == ["share_curves.png", "fan_chart.png", "calibration.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)
