"""Calibrating shared-band shares to influence and risk appetite (docs/methods/calibration.md)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from risk_share import Agreement, InputError, Simulation, calibrate
from risk_share.calibration import build_model, calibration_data, extract_shares, solve_model

INFLUENCE = {"CCG": 0.3, "Acute trust": 0.5, "Community MSK": 0.2}
# docs/methods/calibration.md's 20 scenarios of S, £m.
S_MILLIONS = [
    -1.5,
    -1.2,
    -1.0,
    -0.8,
    -0.6,
    -0.5,
    -0.3,
    -0.2,
    -0.1,
    0,
    0.1,
    0.2,
    0.3,
    0.5,
    0.7,
    0.9,
    1.2,
    1.6,
    2.0,
    2.5,
]


def influence_agreement(caps=None, loss_threshold=None):
    """One loss band and one gain band, both shared by influence (docs/methods/calibration.md)."""
    caps = caps or {}
    loss = [{"shares": dict(INFLUENCE)}]
    if loss_threshold is not None:
        loss.insert(0, {"upto": loss_threshold, "shares": {"CCG": 1.0}})
    return Agreement.from_dict(
        {
            "agreement": {"name": "calibration", "year": "2018/19", "commissioner": "CCG"},
            "party": [{"name": p, "influence": i, **caps.get(p, {})} for p, i in INFLUENCE.items()],
            "pool": {
                "budget_gbp": 40_000_000,
                "mode": "corridor",
                "loss_band": loss,
                "gain_band": [{"shares": dict(INFLUENCE)}],
            },
        }
    )


def section_10_simulation(ag):
    # Providers hold nothing outside the pool (b = 0), so S_j = V_j.
    return Simulation.from_variances(ag, np.array(S_MILLIONS) * 1e6)


def test_section_10_example():
    # docs/methods/calibration.md: α = 0.95 with 20 scenarios makes CVaR the worst scenario, S =
    # £2.5m.
    # Before (shares = influence): 0.3 / 0.5 / 0.2 × 2.5m = 750,000 / 1,250,000 / 500,000.
    # Acute trust's appetite £500,000 allows h = 0.5m / 2.5m = 0.2. θ* solves
    # 0.3θ + 0.2 + 0.2θ = 1: θ* = 1.6; shares CCG 0.48, Acute trust 0.20, Community MSK 0.32;
    # after: 0.48 / 0.20 / 0.32 × 2.5m = 1,200,000 / 500,000 / 800,000.
    ag = influence_agreement()
    new = calibrate(ag, section_10_simulation(ag), appetite={"Acute trust": 500_000})
    table = new.calibration
    assert table.index.tolist() == list(INFLUENCE)
    assert table.index.name == "party"
    np.testing.assert_allclose(table["share"], [0.48, 0.20, 0.32], atol=1e-9)
    np.testing.assert_allclose(table["influence"], [0.3, 0.5, 0.2])
    np.testing.assert_allclose(table["cvar_before_gbp"], [750_000, 1_250_000, 500_000], atol=0.01)
    np.testing.assert_allclose(table["cvar_after_gbp"], [1_200_000, 500_000, 800_000], atol=0.01)
    assert table.loc["Acute trust", "appetite_gbp"] == 500_000
    assert math.isnan(table.loc["CCG", "appetite_gbp"])
    for band in (*new.loss_bands, *new.gain_bands):
        assert band.shares["CCG"] == pytest.approx(0.48, abs=1e-9)
        assert band.shares["Acute trust"] == pytest.approx(0.20, abs=1e-9)
    # The original agreement is unchanged.
    assert ag.loss_bands[0].shares["Acute trust"] == 0.5
    assert ag.calibration is None


def test_lp_steps_separately():
    # θ* = 1.6 from the LP alone (tolerance 1e-7 relative: HiGHS's feasibility tolerance).
    ag = influence_agreement()
    data = calibration_data(ag, section_10_simulation(ag), {"Acute trust": 500_000})
    assert data.outside.shape == (20, 3) and not data.outside.any()
    np.testing.assert_allclose(data.shared, np.array(S_MILLIONS) * 1e6)
    model = build_model(data)
    assert solve_model(model) == "optimal"
    shares, theta = extract_shares(model, data)
    assert theta == pytest.approx(1.6, rel=1e-7)
    assert shares.sum() == pytest.approx(1.0, abs=1e-12)
    # Every constraint holds: w ≤ θ π, and the appetite.
    assert (shares <= theta * np.array(list(INFLUENCE.values())) + 1e-9).all()
    assert data.cvar_at(1, shares[1]) <= 500_000 + 0.01


def test_threshold_bands_stay_and_count_outside():
    # The CCG's first 1% (£400,000) of losses is a single-party band: it stays, and its part
    # of V counts in what the CCG holds outside the shared bands (b), not in S.
    ag = influence_agreement(loss_threshold=0.01)
    sim = section_10_simulation(ag)
    data = calibration_data(ag, sim, {})
    v = np.array(S_MILLIONS) * 1e6
    np.testing.assert_allclose(data.outside[:, 0], np.clip(v, 0, 400_000))
    np.testing.assert_allclose(data.shared, np.where(v > 0, np.maximum(v - 400_000, 0), v))
    new = calibrate(ag, sim, {})
    assert dict(new.loss_bands[0].shares) == {"CCG": 1.0}
    np.testing.assert_allclose(new.calibration["share"], [0.3, 0.5, 0.2], atol=1e-9)


def test_appetites_hold_when_recomputed_from_the_scenarios(agreement, settlement_lines):
    # An agreement without caps, simulated; each party's CVaR95 under the returned shares,
    # recomputed here from the scenarios as the mean of the worst 5% (n × 0.05 = 500 exactly),
    # is within its appetite.
    data = {
        "agreement": {"name": "t", "year": "2018/19", "commissioner": "CCG"},
        "party": [{"name": p, "influence": i} for p, i in INFLUENCE.items()],
        "pool": {
            "budget_gbp": 40_000_000,
            "mode": "corridor",
            "loss_band": [
                {"upto": 0.005, "shares": {"CCG": 1.0}},
                {"shares": {"CCG": 0.4, "Acute trust": 0.4, "Community MSK": 0.2}},
            ],
            "gain_band": [{"shares": {"CCG": 0.5, "Acute trust": 0.3, "Community MSK": 0.2}}],
        },
        "marginal_rate": [
            {"party": "Acute trust", "pod": "*", "above_plan": 0.2, "below_plan": 0.2}
        ],
    }
    ag = Agreement.from_dict(data)
    plan = settlement_lines.drop(columns="actual_activity")
    sim = ag.simulate(plan, n=10_000, cv=0.08, correlation=0.3, seed=11)
    before = worst_five_percent_mean(sim.positions.to_numpy())
    at_share_0 = worst_five_percent_mean(sim.kept_gbp.to_numpy())
    # Appetites halfway between what each provider holds alone and what it carries now.
    appetite = {
        "Acute trust": (at_share_0[1] + before[1]) / 2,
        "Community MSK": (at_share_0[2] + before[2]) / 2,
    }
    new = calibrate(ag, sim, appetite)
    positions = sim.kept_gbp + new.share(sim.pooled_variance_gbp)
    after = worst_five_percent_mean(positions.to_numpy())
    assert after[1] <= appetite["Acute trust"] + 0.01
    assert after[2] <= appetite["Community MSK"] + 0.01
    np.testing.assert_allclose(new.calibration["cvar_after_gbp"], after, atol=1e-6)
    np.testing.assert_allclose(new.calibration["cvar_before_gbp"], before, atol=1e-6)
    # Someone is held down by their appetite, so the others carry more than influence.
    assert new.calibration.loc["CCG", "share"] > 0.3


def worst_five_percent_mean(losses):
    worst = np.sort(losses, axis=0)[-len(losses) // 20 :]
    return worst.mean(axis=0)


def test_party_that_cannot_be_satisfied_is_named_with_pounds():
    # The Acute trust keeps £1m of its own line variance in the worst scenario before any
    # share: at share 0 its CVaR95 (worst of 20) is £1,000,000, £600,000 over £400,000.
    ag = influence_agreement()
    kept = np.zeros((20, 3))
    kept[-1, 1] = 1_000_000.0
    sim = Simulation.from_variances(ag, np.array(S_MILLIONS) * 1e6, kept)
    with pytest.raises(InputError) as caught:
        calibrate(ag, sim, {"Acute trust": 400_000})
    message = str(caught.value)
    assert "Acute trust cannot be satisfied: £600,000.00 over appetite at share 0" in message


def test_appetites_that_fail_only_together_give_the_uncovered_pounds():
    # Largest shares: Acute 0.5m/2.5m = 0.2, CCG 0.25m/2.5m = 0.1, MSK 0.25m/2.5m = 0.1: together
    # 0.4 of the shared bands; the other 0.6 of the pool's CVaR95 of £2.5m, £1,500,000, is
    # uncovered.
    ag = influence_agreement()
    appetite = {"Acute trust": 500_000, "CCG": 250_000, "Community MSK": 250_000}
    with pytest.raises(InputError, match=r"together cannot take the whole pool.*£1,500,000\.00"):
        calibrate(ag, section_10_simulation(ag), appetite)


def test_party_over_appetite_after_caps_is_warned():
    # Community MSK's loss share is capped at £400,000; its excess in the worst scenario
    # (0.32 × 2.5m − 400,000 = 400,000) goes to the residual CCG, whose CVaR becomes
    # 1,200,000 + 400,000 = 1,600,000 > its £1,300,000 appetite (the LP, without caps, met it).
    ag = influence_agreement(caps={"Community MSK": {"max_loss_gbp": 400_000}})
    sim = section_10_simulation(ag)
    with pytest.warns(UserWarning, match=r"CCG is over its appetite after caps") as caught:
        new = calibrate(ag, sim, {"Acute trust": 500_000, "CCG": 1_300_000})
    assert len(caught) == 1
    assert new.calibration.loc["CCG", "cvar_after_gbp"] == pytest.approx(1_600_000)


def test_no_warning_without_caps():
    ag = influence_agreement()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calibrate(ag, section_10_simulation(ag), {"Acute trust": 500_000})


@pytest.mark.parametrize(
    ("change", "arguments", "message"),
    [
        ("drop influence", {}, r"party\[2\].influence: calibration needs an influence"),
        ("bad influence sum", {}, r"key party.influence: influences add up to 1.1, not 1"),
        (None, {"appetite": {"GP": 1.0}}, "appetite: 'GP' is not a party"),
        (None, {"bounds": {"CCG": (0.6, 0.5)}}, "bounds: 'CCG' needs 0 ≤ lowest ≤ highest ≤ 1"),
        (None, {"alpha": 1.0}, "alpha: 1.0 is not between 0 and 1"),
    ],
)
def test_bad_calibration_inputs(change, arguments, message):
    ag = influence_agreement()
    sim = section_10_simulation(ag)
    if change == "drop influence":
        ag = Agreement.from_dict(
            {
                "agreement": {"name": "t", "year": "2018/19", "commissioner": "CCG"},
                "party": [
                    {"name": "CCG", "influence": 0.5},
                    {"name": "Acute trust"},
                    {"name": "Community MSK", "influence": 0.5},
                ],
                "pool": {
                    "budget_gbp": 1e6,
                    "mode": "corridor",
                    "loss_band": [{"shares": dict(INFLUENCE)}],
                    "gain_band": [{"shares": dict(INFLUENCE)}],
                },
            }
        )
    if change == "bad influence sum":
        ag = Agreement.from_dict(
            {
                "agreement": {"name": "t", "year": "2018/19", "commissioner": "CCG"},
                "party": [
                    {"name": "CCG", "influence": 0.4},
                    {"name": "Acute trust", "influence": 0.5},
                    {"name": "Community MSK", "influence": 0.2},
                ],
                "pool": {
                    "budget_gbp": 1e6,
                    "mode": "corridor",
                    "loss_band": [{"shares": dict(INFLUENCE)}],
                    "gain_band": [{"shares": dict(INFLUENCE)}],
                },
            }
        )
    kwargs = {"appetite": {}, **arguments}
    with pytest.raises(InputError, match=message):
        calibrate(ag, sim, **kwargs)


def test_bounds_hold_a_share():
    ag = influence_agreement()
    new = calibrate(ag, section_10_simulation(ag), {}, bounds={"Acute trust": (0.0, 0.25)})
    # θ* solves 0.3θ + 0.25 + 0.2θ = 1: θ = 1.5; CCG 0.45, MSK 0.30.
    np.testing.assert_allclose(new.calibration["share"], [0.45, 0.25, 0.30], atol=1e-9)


def test_pruned_lp_has_the_same_optimum(settlement_lines):
    # Leaving out scenarios that can never be in a party's tail (tail_candidates) must not
    # move the optimum: compare θ* and the shares with the full Rockafellar-Uryasev LP.
    rng = np.random.default_rng(5)
    ag = influence_agreement(loss_threshold=0.002)
    n = 2_000
    kept = np.column_stack([np.zeros(n), rng.normal(0, 150_000, (n, 2))])
    sim = Simulation.from_variances(ag, rng.normal(300_000, 1_000_000, n), kept)
    before = sim.summary()["cvar95_gbp"]
    appetite = {"Acute trust": 0.7 * before["Acute trust"], "CCG": 1.4 * before["CCG"]}
    data = calibration_data(ag, sim, appetite)
    results = []
    for prune in (True, False):
        model = build_model(data, prune=prune)
        assert solve_model(model) == "optimal"
        results.append(extract_shares(model, data))
        if prune:
            assert len(model.tail_index) < 0.5 * len(appetite) * n
    (pruned, theta_pruned), (full, theta_full) = results
    assert theta_pruned == pytest.approx(theta_full, rel=1e-7)
    np.testing.assert_allclose(pruned, full, atol=1e-7)


def test_progress_bar_changes_nothing():
    import pathlib

    import risk_share

    models = pathlib.Path(__file__).resolve().parents[2] / "models"
    agreement = risk_share.Agreement.from_toml(models / "msk_agreement.toml")
    sim = agreement.simulate(models / "msk_outturn.csv", n=2_000, cv=0.05, seed=3)
    quiet = risk_share.calibrate(agreement, sim, appetite={"Acute trust": 1_000_000})
    shown = risk_share.calibrate(agreement, sim, appetite={"Acute trust": 1_000_000},
                                 progress=True)
    assert quiet.calibration["share"].tolist() == shown.calibration["share"].tolist()
