"""Settlement and Simulation in Jupyter: summary() and HTML with money as pounds."""

from __future__ import annotations

import numpy as np
import pytest

from risk_share import Simulation


def test_settlement_summary_and_html(agreement, settlement_lines):
    # docs/methods/settlement.md: V = £629,700.00; the CCG's pool share is £491,880.00.
    settlement = agreement.settle(settlement_lines)
    summary = settlement.summary()
    assert summary.loc["CCG", "pool_share_gbp"] == 491_880.00
    summary.loc["CCG", "pool_share_gbp"] = 0.0  # a copy: the settlement is untouched
    assert settlement.parties.loc["CCG", "pool_share_gbp"] == 491_880.00
    out = settlement._repr_html_()
    assert "pooled variance £629,700.00" in out
    assert "£491,880.00" in out and "-£137,820.00" in out


def test_simulation_percentiles_and_html(agreement):
    variances = np.linspace(-2_000_000, 2_000_000, 101)
    simulation = Simulation.from_variances(agreement, variances)
    table = simulation.percentiles((5, 50, 95))
    assert list(table.columns) == [5, 50, 95]
    assert list(table.index) == agreement.party_names
    for party in agreement.party_names:
        values = simulation.positions[party].to_numpy()
        np.testing.assert_allclose(table.loc[party].to_numpy(),
                                   np.percentile(values, [5, 50, 95]), atol=1e-9)
    summary = simulation.summary()
    assert table.loc["CCG", 95] == pytest.approx(summary.loc["CCG", "p95_gbp"])
    out = simulation._repr_html_()
    assert "101 simulated outturns" in out and "£" in out


def test_agreement_summary_and_html():
    # The agreement: B = £40m, loss and gain threshold bands at 1% held by the CCG.
    import pathlib

    import risk_share

    path = pathlib.Path(__file__).resolve().parents[2] / "models" / "msk_agreement.toml"
    agreement = risk_share.Agreement.from_toml(path)
    bands = agreement.summary()
    assert bands.loc[("loss", 1), "upto_gbp"] == 400_000.0  # 1% of £40,000,000
    assert bands.loc[("loss", 2), "from_gbp"] == 400_000.0
    assert bands.loc[("gain", 2), ["CCG", "Acute trust", "Community MSK"]].tolist() == [
        0.5, 0.3, 0.2]
    assert (bands[agreement.party_names].sum(axis=1) == 1.0).all()
    html = agreement._repr_html_()
    assert "£40,000,000.00" in html and "corridor" in html
