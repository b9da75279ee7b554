"""risk_share.compare: settlements and simulations of the MSK agreement under two share options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import risk_share
from capitation import InputError

ROOT = Path(__file__).resolve().parents[2]
AGREEMENT = ROOT / "models" / "msk_agreement.toml"
OUTTURN = ROOT / "models" / "msk_outturn.csv"

#: Option B: the Acute trust takes 30% of band 2 of a loss (not 40%), the CCG 50% (not 40%).
OPTION_B = {"pool.loss_band.2.shares.Acute trust": 0.3, "pool.loss_band.2.shares.CCG": 0.5}


@pytest.fixture(scope="module")
def agreements():
    base = risk_share.Agreement.from_toml(AGREEMENT)
    return base, base.with_values(OPTION_B)


def test_settlements_compared_per_party(agreements):
    base, option = agreements
    comparison = risk_share.compare({"A": base.settle(OUTTURN), "B": option.settle(OUTTURN)})
    assert comparison.index.name == "party"
    assert list(comparison.index) == ["CCG", "Acute trust", "Community MSK"]
    assert list(comparison.columns) == ["final_position_gbp__A", "final_position_gbp__B",
                                        "change_gbp__B"]
    # The outturn pools V = £1,052,915.34 (models/msk_outturn.csv); band 1 (to 1% of £40m =
    # £400,000) is the CCG's alone, so band 2 holds £652,915.34. Moving 10 points of band 2
    # from the Acute trust to the CCG moves 0.1 × 652,915.34 = £65,291.534: by largest
    # remainder, A gives the Acute trust 261,166.13 of band 2 and B 195,874.60.
    assert comparison["change_gbp__B"].tolist() == [65_291.53, -65_291.53, 0.0]
    assert comparison.loc["Acute trust", "final_position_gbp__A"] == 185_816.98 + 261_166.13
    assert comparison.loc["Acute trust", "final_position_gbp__B"] == 185_816.98 + 195_874.60
    assert np.round(comparison["change_gbp__B"].to_numpy() * 100).astype(int).sum() == 0


def test_simulations_compared_per_party(agreements):
    base, option = agreements
    runs = {name: a.simulate(OUTTURN, n=2_000, cv=0.05, seed=7)
            for name, a in (("A", base), ("B", option))}
    comparison = risk_share.compare(runs)
    assert list(comparison.columns) == ["mean_gbp__A", "p95_gbp__A", "cvar95_gbp__A",
                                        "mean_gbp__B", "p95_gbp__B", "cvar95_gbp__B"]
    for name, run in runs.items():
        summary = run.summary()
        for figure in ("mean_gbp", "p95_gbp", "cvar95_gbp"):
            assert comparison[f"{figure}__{name}"].tolist() == summary[figure].tolist()


def test_settlements_and_simulations_do_not_mix(agreements):
    base, _ = agreements
    with pytest.raises(InputError, match="not Settlement and Simulation"):
        risk_share.compare({"A": base.settle(OUTTURN),
                            "B": base.simulate(OUTTURN, n=10, seed=1)})


def test_options_compare_the_same_parties(agreements):
    base, _ = agreements
    renamed = base.with_values({"party.Community MSK.name": "MSK service",
                                "pool.loss_band.2.shares": {"CCG": 0.4, "Acute trust": 0.4,
                                                            "MSK service": 0.2},
                                "pool.gain_band.2.shares": {"CCG": 0.5, "Acute trust": 0.3,
                                                            "MSK service": 0.2}})
    lines = base.settle(OUTTURN).lines[["party", "pod", "planned_activity", "actual_activity",
                                        "price_gbp"]].replace({"Community MSK": "MSK service"})
    with pytest.raises(InputError, match="option 'B' has other parties"):
        risk_share.compare({"A": base.settle(OUTTURN), "B": renamed.settle(lines)})


def test_agreement_sweep_settles_each_value(agreements):
    base, _ = agreements
    values = [0.0, 0.005, 0.02]
    frame = base.sweep("party.Acute trust.max_loss", values, OUTTURN)
    assert frame.index.names == ["party.Acute trust.max_loss", "party"]
    for value in values:
        direct = base.with_values({"party.Acute trust.max_loss": value}).settle(OUTTURN).parties
        assert frame.loc[value].equals(direct)
    # A cap of 0.5% of £40m (£200,000) holds the Acute trust's pool share to £200,000.
    assert frame.loc[(0.005, "Acute trust"), "pool_share_gbp"] == 200_000.0


def test_agreement_sweep_simulates_with_common_scenarios(agreements):
    base, _ = agreements
    frame = base.sweep("pool.loss_band.1.upto", [0.005, 0.02], OUTTURN, n=500, cv=0.05, seed=11)
    direct = base.with_values({"pool.loss_band.1.upto": 0.02}).simulate(
        OUTTURN, n=500, cv=0.05, seed=11).summary()
    assert frame.loc[0.02].equals(direct)
    with pytest.raises(TypeError, match="cv need n"):
        base.sweep("pool.loss_band.1.upto", [0.02], OUTTURN, cv=0.05)
