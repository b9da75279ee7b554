"""LMDI-I: access, intensity and price add up exactly to the spend gap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitation.opportunity import lmdi, log_mean, spend_decomposition


def test_log_mean_by_hand():
    # L(a, b) = (a − b)/(ln a − ln b); L(a, a) = a (Ang 2005).
    assert log_mean(np.array([150.0]), np.array([100.0]))[0] == pytest.approx(
        50 / math.log(1.5), rel=1e-14)
    assert log_mean(np.array([7.0]), np.array([7.0]))[0] == 7.0
    # Near a = b the log1p form stays accurate: L(a, a(1 + ε)) ≈ a(1 + ε/2).
    assert log_mean(np.array([1.0]), np.array([1.0 + 1e-10]))[0] == pytest.approx(
        1 + 0.5e-10, rel=1e-15)


def test_three_factors_by_hand():
    # V_b = £100; access doubles, intensity halves, price is 1.5 times: V = £150.
    # L(150, 100) = 50/ln 1.5; effects 50 ln 2/ln 1.5 = 85.4755..., −85.4755..., 50.
    # In pence: floors 8,547, −8,548 and 5,000 leave 1p, which goes to the largest
    # remainder (access, 0.55p): £85.48, −£85.48, £50.00 — adding up to £50.00.
    ratios = np.array([[2.0, 0.5, 1.5]])
    effects = lmdi(np.array([150.0]), np.array([100.0]), ratios)[0]
    np.testing.assert_allclose(effects, [50 * math.log(2) / math.log(1.5),
                                         -50 * math.log(2) / math.log(1.5), 50.0], rtol=1e-13)
    out = spend_decomposition(np.array([150.0]), np.array([100.0]), ratios)
    assert out["gap_gbp"][0] == 50.0
    assert [out["access_effect_gbp"][0], out["intensity_effect_gbp"][0],
            out["price_effect_gbp"][0]] == [85.48, -85.48, 50.0]


def test_a_difference_in_price_only_is_all_price():
    # Same patients and activity per patient as the benchmark, 25% dearer: the
    # whole £250.37 gap is price.
    out = spend_decomposition(np.array([1_251.87]), np.array([1_001.50]),
                              np.array([[1.0, 1.0, 1_251.87 / 1_001.50]]))
    assert out["gap_gbp"][0] == pytest.approx(250.37, abs=1e-9)
    assert out["access_effect_gbp"][0] == 0 and out["intensity_effect_gbp"][0] == 0
    assert out["price_effect_gbp"][0] == out["gap_gbp"][0]


def test_zeros_take_the_whole_gap_as_ang_and_liu():
    # No patients: all of the (negative) gap is access; activity at no cost: all price.
    out = spend_decomposition(np.array([0.0, 0.0]), np.array([80.0, 80.0]),
                              np.array([[0.0, np.nan, np.nan], [1.1, 0.9, 0.0]]))
    assert out["access_effect_gbp"].tolist() == [-80.0, 0.0]
    assert out["price_effect_gbp"].tolist() == [0.0, -80.0]
    # No benchmark: no effects.
    out = spend_decomposition(np.array([10.0]), np.array([np.nan]), np.ones((1, 3)))
    assert np.isnan(out["access_effect_gbp"][0]) and np.isnan(out["gap_gbp"][0])


amounts = st.floats(0.01, 5e6, allow_nan=False)
factors = st.floats(0.05, 20.0, allow_nan=False)


@given(st.lists(st.tuples(amounts, factors, factors, factors), min_size=1, max_size=30))
def test_effects_add_up_to_the_gap_to_the_penny(rows):
    bench = np.array([r[0] for r in rows])
    ratios = np.array([r[1:] for r in rows])
    spend = bench * ratios.prod(axis=1)
    out = spend_decomposition(spend, bench, ratios)
    pence = {k: np.rint(np.asarray(v) * 100).astype(np.int64) for k, v in out.items()}
    total = pence["access_effect_gbp"] + pence["intensity_effect_gbp"] + pence["price_effect_gbp"]
    assert (total == pence["gap_gbp"]).all()
    assert (pence["spend_gbp"] - pence["benchmark_spend_gbp"] == pence["gap_gbp"]).all()
    # Each rounded effect is within a penny of the unrounded LMDI effect.
    exact = lmdi(spend, bench, ratios) * 100
    assert np.abs(np.stack([pence["access_effect_gbp"], pence["intensity_effect_gbp"],
                            pence["price_effect_gbp"]], axis=1) - exact).max() < 1.0 + 1e-6
