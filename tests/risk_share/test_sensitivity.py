"""What drives each party's risk: Sobol indices with known answers, the tornado, solvency.

The linear case. Commissioner C (its own line 0, paid at actual: rate 1), provider P
(lines 1 and 2, marginal rate 0.4 either way, no tolerance, and a fixed line 4) and Q
(line 3, a block: rate 0); one band each side sharing C 0.5, P 0.3, Q 0.2; no caps.
With v_l the variance of line l, V = v0 + 0.4 (v1 + v2), so

    P's final position = 0.6 (v1 + v2) + 0.3 V = 0.3 v0 + 0.72 (v1 + v2)
    Q's final position = v3 + 0.2 V          = 0.2 v0 + 0.08 (v1 + v2) + v3

Under normal multipliers v_l = planned value_l × cv_l × z_l (cv of at most 8% never
clips at 0), so each position is linear in independent normals with b_l σ_l =
coefficient × planned value × cv, and the first-order index of line i is
b_i² σ_i² / Σ_j b_j² σ_j², equal to the total index. Positions are rounded to whole
pence (noise below 1e-10 of the variance).

Sampling error: over 8 seeds at N = 20,000 the indices of P spread with a standard
deviation of about 0.006; the tolerance is 0.025 (about 4 of them), for a fixed seed.
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import risk_share
from capitation import InputError
from risk_share import plots as risk_plots

ROOT = Path(__file__).resolve().parents[2]
AGREEMENT = ROOT / "models" / "msk_agreement.toml"
OUTTURN = ROOT / "models" / "msk_outturn.csv"
TOLERANCE = 0.025

LINES = pd.DataFrame({
    "party": ["C", "P", "P", "Q", "P"], "pod": ["own", "a", "b", "c", "d"],
    "planned_activity": [1000.0, 2000.0, 500.0, 1000.0, 100.0],
    "price_gbp": [500.0, 400.0, 1000.0, 300.0, 50.0],
    "fixed": [False, False, False, False, True]})
CV = [0.04, 0.05, 0.08, 0.06, 0.0]
PLANNED = LINES["planned_activity"] * LINES["price_gbp"]  # 500,000 800,000 500,000 300,000
#: b_l × planned value_l × cv_l for lines 0-3 (the module docstring's coefficients).
C_P = np.array([0.3, 0.72, 0.72, 0.0]) * PLANNED[:4].to_numpy() * CV[:4]  # 6,000 28,800 ...
C_Q = np.array([0.2, 0.08, 0.08, 1.0]) * PLANNED[:4].to_numpy() * CV[:4]  # 4,000 3,200 ...


def linear_agreement():
    shares = {"C": 0.5, "P": 0.3, "Q": 0.2}
    return risk_share.Agreement.from_dict({
        "agreement": {"name": "linear", "year": "2025/26", "commissioner": "C"},
        "party": [{"name": "C"}, {"name": "P"}, {"name": "Q"}],
        "pool": {"budget_gbp": 10_000_000, "mode": "corridor",
                 "loss_band": [{"shares": shares}], "gain_band": [{"shares": shares}]},
        "marginal_rate": [{"party": "P", "pod": "*", "above_plan": 0.4, "below_plan": 0.4}]})


@pytest.fixture(scope="module")
def independent():
    simulation = linear_agreement().simulate(LINES, n=10, cv=CV, distribution="normal", seed=5)
    return simulation.sensitivity(n=20_000, seed=5)


def test_sobol_indices_of_a_linear_position_are_its_variance_shares(independent):
    sobol = independent.sobol
    assert sobol.index.names == ["party", "line"]
    assert list(sobol.columns) == ["first_order", "total"]
    assert sorted(set(sobol.index.get_level_values("line"))) == [0, 1, 2, 3]  # not fixed 4
    for party, c in (("P", C_P), ("Q", C_Q)):
        expected = c**2 / (c**2).sum()  # P: 0.0212, 0.4894, 0.4894, 0; Q: 0.044 ... 0.899
        got = sobol.loc[party]
        assert got["first_order"].to_numpy() == pytest.approx(expected, abs=TOLERANCE)
        assert got["total"].to_numpy() == pytest.approx(expected, abs=TOLERANCE)
        assert got["first_order"].to_numpy() == pytest.approx(got["total"].to_numpy(),
                                                              abs=TOLERANCE)
    assert (sobol.loc[("P", 3)] == 0).all()  # P never sees Q's block line


def test_correlated_lines_give_full_and_independent_indices():
    # Mara and Tarantola (2012) for Y = Σ c_j Z_j with Z ~ N(0, R), R equicorrelated
    # (ρ = 0.5): full first-order S_i = (R c)_i² / cᵀRc; independent total
    # S_Ti = c_i² (1 − ρ² (m−1) / (1 + (m−2) ρ)) / cᵀRc, the variance of Z_i given the
    # other m − 1 = 3 lines being 1 − 0.25 × 3 / 2 = 0.625.
    simulation = linear_agreement().simulate(LINES, n=10, cv=CV, distribution="normal",
                                             correlation=0.5, seed=5)
    sobol = simulation.sensitivity(n=20_000, seed=3).sobol.loc["P"]
    r = np.full((4, 4), 0.5)
    np.fill_diagonal(r, 1.0)
    variance = C_P @ r @ C_P
    assert sobol["first_order"].to_numpy() == pytest.approx((r @ C_P) ** 2 / variance,
                                                            abs=TOLERANCE)
    assert sobol["total"].to_numpy() == pytest.approx(C_P**2 * 0.625 / variance, abs=TOLERANCE)


def test_tornado_ends_are_direct_settlements_of_the_moved_line():
    agreement = risk_share.Agreement.from_toml(AGREEMENT)
    simulation = agreement.simulate(OUTTURN, n=100, cv=0.05, seed=1)
    result = simulation.sensitivity(n=50, seed=1)
    tornado = result.tornado
    assert tornado.index.names == ["party", "line"]
    assert list(tornado.columns) == ["low_gbp", "high_gbp"]
    plan = pd.read_csv(OUTTURN)
    # docs/methods/monte-carlo.md: a lognormal multiplier with cv is exp(σ z − σ²/2), σ² = ln(1 +
    # cv²);
    # its p5 and p95 are at z = Φ⁻¹(0.05) and Φ⁻¹(0.95).
    sigma = np.sqrt(np.log1p(0.05**2))
    for column, level in (("low_gbp", 0.05), ("high_gbp", 0.95)):
        multiplier = np.exp(sigma * NormalDist().inv_cdf(level) - sigma**2 / 2)
        for line in result.lines.index:
            lines = plan.assign(actual_activity=plan["planned_activity"])
            lines.loc[line, "actual_activity"] = plan.loc[line, "planned_activity"] * multiplier
            direct = agreement.settle(lines).parties["final_position_gbp"]
            assert tornado.xs(line, level="line")[column].equals(direct.rename(column)), \
                (line, column)


def test_tornado_chart_draws_the_table(independent):
    fig = risk_plots.tornado(independent, "P")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    lines = [int(label.split(":")[0]) for label in labels]
    assert labels[-1].startswith(("1: P / a", "2: P / b"))  # largest swing at the top
    rows = independent.tornado.loc["P"].loc[lines]
    assert list(ax.containers[0].datavalues) == rows["low_gbp"].tolist()
    assert list(ax.containers[1].datavalues) == rows["high_gbp"].tolist()
    with pytest.raises(KeyError, match="no party 'Z'"):
        risk_plots.tornado(independent, "Z")


def test_solvency_counts_caps_and_what_the_residual_absorbs():
    agreement = risk_share.Agreement.from_toml(AGREEMENT)
    simulation = agreement.simulate(OUTTURN, n=4_000, cv=0.08, correlation=0.3, seed=9)
    table = simulation.solvency()
    assert table.index.name == "party"
    assert list(table.columns) == ["p_at_cap", "p_at_collar", "absorbed_p95_gbp"]
    # The Acute trust's loss cap is 2% of £40m = £800,000: at its cap its pool share is
    # exactly that (whole pence); its band share was at least as large.
    pool_share = simulation.positions - simulation.kept_gbp  # whole pence, with float noise
    acute = np.round(pool_share["Acute trust"] * 100).astype(np.int64)
    assert table.loc["Acute trust", "p_at_cap"] == (acute >= 80_000_000).mean() > 0
    assert table.loc["Acute trust", "p_at_collar"] == (acute <= -80_000_000).mean()
    assert np.isnan(table.loc["CCG", "p_at_cap"])  # the residual party has no cap
    # What the CCG absorbs: its pool share less what it would hold if nobody were capped
    # (the Acute trust's cap and collar at 100% of the budget never bind here).
    uncapped = agreement.with_values({"party.Acute trust.max_loss": 1.0,
                                      "party.Acute trust.max_gain": 1.0})
    free = risk_share.Simulation.from_variances(uncapped, simulation.pooled_variance_gbp)
    extra = pool_share["CCG"] - free.positions["CCG"]
    assert table.loc["CCG", "absorbed_p95_gbp"] == pytest.approx(
        np.percentile(extra, 95), abs=0.02)
    assert table.loc["CCG", "absorbed_p95_gbp"] > 0
    assert table[["absorbed_p95_gbp"]].drop(index="CCG").isna().all().all()


def test_sensitivity_needs_plan_lines():
    agreement = linear_agreement()
    from_variances = risk_share.Simulation.from_variances(agreement, [1_000.0, -500.0])
    with pytest.raises(InputError, match="needs a simulation of plan lines"):
        from_variances.sensitivity()
    simulation = agreement.simulate(LINES, n=10, cv=CV, seed=1)
    with pytest.raises(InputError, match="n: the number of base samples"):
        simulation.sensitivity(n=1)
