"""Funnel plots: Spiegelhalter (2005) worked by hand, and FunnelPlotR translated from R."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2, norm

from capitation import InputError
from capitation.opportunity import FUNNEL_COLUMNS, funnel
from tests.capitation.opportunity import funnelplotr

# A fixed, overdispersed set of 30 units (expected to 2 decimal places, as the
# SHMI rounds them): drawn once from Poisson(E × Gamma(8, 1/8)), seed 2005.
EXPECTED = np.array([
    346.97, 207.83, 215.35, 143.22, 113.82, 254.73, 106.85, 194.3, 125.77, 66.45, 715.82, 22.22,
    392.7, 54.74, 88.19, 79.55, 288.72, 44.49, 262.06, 161.61, 134.9, 249.04, 2116.95, 52.91,
    75.58, 243.21, 68.09, 55.25, 267.34, 18.1])
OBSERVED = np.array([
    362, 289, 171, 152, 148, 337, 216, 360, 136, 116, 835, 20, 584, 73, 79, 57, 192, 25, 147,
    149, 126, 291, 2758, 51, 103, 203, 74, 38, 220, 16], dtype=float)
# Proportions: numerators of Binomial(N, 0.3 × Gamma(10, 1/10)), same seed.
DENOMINATORS = np.array([
    682, 270, 1281, 1239, 53, 409, 1782, 456, 922, 521, 669, 448, 707, 645, 880, 816, 1145, 677,
    1953, 741, 1170, 970, 915, 1372, 1389, 468, 201, 923, 961, 458], dtype=float)
NUMERATORS = np.array([
    258, 109, 319, 293, 15, 153, 796, 76, 187, 164, 281, 143, 240, 216, 253, 243, 308, 185, 484,
    233, 295, 246, 256, 293, 350, 118, 41, 231, 174, 197], dtype=float)
CODES = [f"P{i:02d}" for i in range(30)]


def _flags(units: pd.DataFrame, level: str) -> np.ndarray:
    return (units[f"flag_{level}"] != "").to_numpy().astype(int)


# -- exact Poisson limits ------------------------------------------------------

@pytest.mark.parametrize("e", [10.0, 100.0, 1_000.0])
def test_unadjusted_limits_are_exact_poisson_from_the_chi_square_formula(e):
    # Exact Poisson limits of the ratio at expected E (Spiegelhalter 2005, section 2;
    # Garwood 1936): lower = χ²(α/2; 2E) / (2E), upper = χ²(1 − α/2; 2E + 2) / (2E),
    # with α = 0.05 (95%) and 0.002 (99.8%).
    fit = funnel([e, e], [e, e], overdispersion=False)
    limits = fit.limits([e]).iloc[0]
    assert limits["lower_95"] == pytest.approx(chi2.ppf(0.025, 2 * e) / (2 * e), rel=1e-12)
    assert limits["upper_95"] == pytest.approx(chi2.ppf(0.975, 2 * e + 2) / (2 * e), rel=1e-12)
    assert limits["lower_998"] == pytest.approx(chi2.ppf(0.001, 2 * e) / (2 * e), rel=1e-12)
    assert limits["upper_998"] == pytest.approx(chi2.ppf(0.999, 2 * e + 2) / (2 * e), rel=1e-12)


def test_exact_poisson_limits_match_printed_tables():
    # Chi-square tables (e.g. Neave, Statistics Tables, table 5.1) give
    # χ²(0.025; 20) = 9.591 and χ²(0.975; 22) = 36.781, so at E = 10 the 95%
    # limits are 9.591/20 = 0.47955 and 36.781/20 = 1.83905.
    limits = funnel([10, 10], [10.0, 10.0], overdispersion=False).limits([10.0]).iloc[0]
    assert limits["lower_95"] == pytest.approx(0.47955, abs=5e-5)
    assert limits["upper_95"] == pytest.approx(1.83905, abs=5e-5)


def test_exact_poisson_limits_match_funnelplotrs_published_test():
    # FunnelPlotR tests/testthat/test-poisson_limits.R, E = 15, 20, 30.
    limits = funnel([1, 1], [1.0, 1.0], overdispersion=False).limits([15.0, 20.0, 30.0])
    np.testing.assert_allclose(limits["lower_95"], [0.5596924, 0.6108260, 0.6746958], atol=5e-8)
    np.testing.assert_allclose(limits["upper_95"], [1.649348, 1.544419, 1.427562], atol=5e-7)
    np.testing.assert_allclose(limits["lower_998"], [0.3862650, 0.4479107, 0.5289724],
                               atol=5e-8)
    np.testing.assert_allclose(limits["upper_998"], [2.082907, 1.902094, 1.702771], atol=5e-7)


# -- φ and τ² by hand ------------------------------------------------------------

def _log_counts(z: list[float], e: float = 100.0) -> np.ndarray:
    """Observed counts whose log-method z-score √E ln(O/E) is z."""
    return e * np.exp(np.array(z) / math.sqrt(e))


def test_phi_and_tau2_log_method_by_hand():
    # Ten units, E = 100 each, z = √E ln(O/E) chosen. Truncation keeps average
    # ranks r with 0.1 ≤ r/(n+1) < 0.9, so r = 2..9 of 10 (1/11 and 10/11 are out):
    # the z of -3 and 4 go. Kept: -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2; Σz² = 11, φ = 11/8.
    # DerSimonian-Laird with w = 1/s² = E = 100: Σw = 800, Σw²/Σw = 100,
    # τ² = (8 × 1.375 − 7) / (800 − 100) = 4/700.
    z = [-3, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4]
    fit = funnel(_log_counts(z), np.full(10, 100.0))
    assert fit.phi == pytest.approx(11 / 8, rel=1e-12)
    assert fit.tau2 == pytest.approx(4 / 700, rel=1e-12)
    assert fit.trimmed.tolist() == [True] + [False] * 8 + [True]
    np.testing.assert_allclose(fit.units["z"], z, atol=1e-12)
    # Additive adjustment: y / √(s² + τ²), with y = ln(O/E) = z s and s² = 1/100.
    np.testing.assert_allclose(fit.units["z_adjusted"],
                               np.array(z) / 10 / math.sqrt(0.01 + 4 / 700), rtol=1e-12)


def test_log_limits_with_overdispersion_are_exp_of_z_root_one_over_e_plus_tau2():
    # Spiegelhalter 2005, eq. 10 on the log scale: exp(±q √(1/E + τ²)).
    fit = funnel(_log_counts([-3, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4]), np.full(10, 100.0))
    tau2 = 4 / 700
    limits = fit.limits([10.0, 100.0, 1_000.0])
    for e, row in limits.iterrows():
        for level, q in (("95", norm.ppf(0.975)), ("998", norm.ppf(0.999))):
            assert row[f"lower_{level}"] == pytest.approx(math.exp(-q * math.sqrt(1 / e + tau2)),
                                                          rel=1e-12)
            assert row[f"upper_{level}"] == pytest.approx(math.exp(q * math.sqrt(1 / e + tau2)),
                                                          rel=1e-12)


def test_multiplicative_overdispersion_scales_z_by_root_phi():
    # Spiegelhalter 2005, section 3.1: z / √φ, limits exp(±q √φ / √E).
    fit = funnel(_log_counts([-3, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4]), np.full(10, 100.0),
                 overdispersion="multiplicative")
    phi = 11 / 8
    np.testing.assert_allclose(fit.units["z_adjusted"], fit.units["z"] / math.sqrt(phi),
                               rtol=1e-12)
    assert fit.limits([100.0])["upper_95"].iloc[0] == pytest.approx(
        math.exp(norm.ppf(0.975) * math.sqrt(phi) / 10), rel=1e-12)


def test_truncation_boundary_at_exactly_a_tenth():
    # n = 19: r/(n+1) = r/20, so rank 2 sits exactly on 0.1 and is kept, and
    # rank 18 sits exactly on 0.9 and is truncated (floor(18 × 10 / 20) = 9).
    z = list(range(-9, 10))
    fit = funnel(_log_counts(z), np.full(19, 100.0))
    assert np.flatnonzero(fit.trimmed.to_numpy()).tolist() == [0, 17, 18]
    # n = 20: ranks 1, 2 and 19, 20 are truncated (2/21 < 0.1, 19/21 ≥ 0.9).
    fit = funnel(_log_counts(list(range(-10, 10))), np.full(20, 100.0))
    assert np.flatnonzero(fit.trimmed.to_numpy()).tolist() == [0, 1, 18, 19]


def test_phi_and_tau2_sqrt_method_with_winsorisation_by_hand():
    # Eleven units, E = 100. On the square-root scale z = 2(√O − √E), so
    # O = (10 + z/2)². The 10% and 90% quantiles (type 7: position (n−1)p = 1
    # and 9 of 0..10) are -2 and 2, so -5 → -2 and 6 → 2. Winsorised Σz² =
    # 4+4+1+1+0+0+0+1+1+4+4 = 20, φ = 20/11. With w = 1/s² = 4E = 400:
    # Σw = 4,400, Σw²/Σw = 400, τ² = (11 × 20/11 − 10)/(4,400 − 400) = 10/4,000.
    z = np.array([-5, -2, -1, -1, 0, 0, 0, 1, 1, 2, 6], dtype=float)
    fit = funnel((10 + z / 2) ** 2, np.full(11, 100.0), method="sqrt")
    assert fit.phi == pytest.approx(20 / 11, rel=1e-12)
    assert fit.tau2 == pytest.approx(10 / 4_000, rel=1e-12)
    assert np.flatnonzero(fit.trimmed.to_numpy()).tolist() == [0, 10]
    # Its limits are squared back to the ratio scale: (1 ± q √(1/(4E) + τ²))².
    q = norm.ppf(0.975)
    limits = fit.limits([25.0]).iloc[0]
    assert limits["upper_95"] == pytest.approx((1 + q * math.sqrt(0.01 + 0.0025)) ** 2,
                                               rel=1e-12)
    assert limits["lower_95"] == pytest.approx((1 - q * math.sqrt(0.01 + 0.0025)) ** 2,
                                               rel=1e-12)


def test_winsorisation_interpolates_between_order_statistics():
    # n = 12: position (n − 1) × 0.1 = 1.1, so the low clamp is z(1) + 0.1 (z(2) − z(1))
    # = -3 + 0.1 × 1 = -2.9, and the high one z(9) + 0.9 (z(10) − z(9)) = 3 + 0.9 × 1 = 3.9.
    z = np.array([-8, -3, -2, -1, 0, 0, 0, 1, 2, 3, 4, 9], dtype=float)
    fit = funnel((10 + z / 2) ** 2, np.full(12, 100.0), method="sqrt")
    clamped = np.clip(z, -2.9, 3.9)
    assert fit.phi == pytest.approx(float(np.mean(clamped**2)), rel=1e-12)


def test_no_adjustment_when_not_overdispersed():
    # Observed equal to expected: every z is 0, φ = 0 ≤ 1, so exact Poisson limits.
    e = np.array([10.0, 20.0, 50.0, 100.0])
    fit = funnel(e, e)
    assert fit.phi == 0 and fit.tau2 == 0 and not fit.adjusted
    assert fit.units["lower_95"].iloc[0] == pytest.approx(chi2.ppf(0.025, 20) / 20, rel=1e-12)
    assert (fit.units["z_adjusted"] == fit.units["z"]).all()


def test_a_truncated_zero_count_is_low_on_the_log_scale():
    # 20 units: the zero has rank 1, so truncation leaves it out of φ; its ratio 0
    # is below every lower limit and its z-score is −∞.
    observed = np.r_[0.0, _log_counts(list(np.linspace(-2, 2, 19)))]
    fit = funnel(observed, np.full(20, 100.0))
    assert fit.trimmed.iloc[0] and np.isfinite(fit.phi)
    assert fit.units["flag_998"].iloc[0] == "low" and fit.units["z"].iloc[0] == -np.inf


def test_flags_high_and_low_against_the_unit_limits():
    fit = funnel(pd.Series(OBSERVED, index=CODES), pd.Series(EXPECTED, index=CODES))
    units = fit.units
    assert list(units.columns) == list(FUNNEL_COLUMNS)
    assert list(units.index) == CODES
    high = units["ratio"] > units["upper_95"]
    low = units["ratio"] < units["lower_95"]
    assert (units["flag_95"] == np.where(high, "high", np.where(low, "low", ""))).all()
    assert high.any() and low.any()


# -- FunnelPlotR, translated -----------------------------------------------------

def test_log_method_agrees_with_funnelplotr():
    # FunnelPlotR funnel_plot(data_type = "SR", sr_method = "SHMI", trim_by = 0.1,
    # draw_adjusted = TRUE), translated in funnelplotr.py. Its quantiles are
    # rounded to 7 significant figures, hence 1e-6.
    reference = funnelplotr.funnel_plot(OBSERVED, EXPECTED, "SR", "SHMI")
    fit = funnel(OBSERVED, EXPECTED, kind="ratio", method="log")
    assert reference["draw_adjusted"] and fit.adjusted
    assert fit.phi == pytest.approx(reference["phi"], rel=1e-12)
    assert fit.tau2 == pytest.approx(reference["tau2"], rel=1e-12)
    for name, values in zip(("lower_95", "upper_95", "lower_998", "upper_998"),
                            reference["limits"], strict=True):
        np.testing.assert_allclose(fit.units[name], values, rtol=1e-6)
    assert (_flags(fit.units, "95") == reference["outlier95"]).all()
    assert (_flags(fit.units, "998") == reference["outlier99"]).all()


def test_log_method_falls_back_to_poisson_as_funnelplotr_does():
    # Under-dispersed data (O close to E): φ ≤ 1, both use exact Poisson limits.
    observed = np.round(EXPECTED)
    reference = funnelplotr.funnel_plot(observed, EXPECTED, "SR", "SHMI")
    fit = funnel(observed, EXPECTED)
    assert not reference["draw_adjusted"] and not fit.adjusted
    assert fit.phi == pytest.approx(reference["phi"], rel=1e-12)
    for name, values in zip(("lower_95", "upper_95", "lower_998", "upper_998"),
                            reference["limits"], strict=True):
        np.testing.assert_allclose(fit.units[name], values, rtol=1e-12)


def test_proportions_agree_with_funnelplotr():
    reference = funnelplotr.funnel_plot(NUMERATORS, DENOMINATORS, "PR")
    fit = funnel(NUMERATORS, DENOMINATORS, kind="proportion")
    assert fit.target == pytest.approx(NUMERATORS.sum() / DENOMINATORS.sum(), rel=1e-15)
    assert reference["draw_adjusted"] and fit.adjusted
    assert fit.phi == pytest.approx(reference["phi"], rel=1e-12)
    assert fit.tau2 == pytest.approx(reference["tau2"], rel=1e-12)
    for name, values in zip(("lower_95", "upper_95", "lower_998", "upper_998"),
                            reference["limits"], strict=True):
        np.testing.assert_allclose(fit.units[name], values, rtol=1e-6)
    assert (_flags(fit.units, "95") == reference["outlier95"]).all()
    assert (_flags(fit.units, "998") == reference["outlier99"]).all()


def test_sqrt_method_agrees_with_funnelplotr_except_its_unsquared_limits():
    # FunnelPlotR's CQC limits with overdispersion are 1 ± q √(s² + τ²), left on
    # the square-root scale (its open issue 33); ours are squared back.
    reference = funnelplotr.funnel_plot(OBSERVED, EXPECTED, "SR", "CQC")
    fit = funnel(OBSERVED, EXPECTED, method="sqrt")
    assert reference["draw_adjusted"] and fit.adjusted
    assert fit.phi == pytest.approx(reference["phi"], rel=1e-12)
    assert fit.tau2 == pytest.approx(reference["tau2"], rel=1e-12)
    for name, values in zip(("lower_95", "upper_95", "lower_998", "upper_998"),
                            reference["limits"], strict=True):
        np.testing.assert_allclose(fit.units[name], np.maximum(values, 0) ** 2, rtol=1e-6)
        assert not np.allclose(fit.units[name], values, rtol=1e-3)


# -- invariants and errors -------------------------------------------------------

counts = st.lists(st.tuples(st.integers(1, 5_000), st.floats(1.0, 5_000.0)), min_size=3,
                  max_size=40)


@given(counts, st.sampled_from(["log", "sqrt"]), st.booleans())
def test_limits_nest_and_surround_the_target(pairs, method, overdispersion):
    o = np.array([p[0] for p in pairs], dtype=float)
    e = np.array([p[1] for p in pairs])
    fit = funnel(o, e, method=method, overdispersion=overdispersion)
    u = fit.units
    assert (u["lower_998"] <= u["lower_95"]).all() and (u["upper_95"] <= u["upper_998"]).all()
    assert (u["lower_95"] <= fit.target).all() and (fit.target <= u["upper_95"]).all()
    assert fit.tau2 >= 0 and fit.phi >= 0


@given(counts)
def test_order_of_units_does_not_matter(pairs):
    o = pd.Series([p[0] for p in pairs], dtype=float)
    e = pd.Series([p[1] for p in pairs])
    order = np.arange(len(o))[::-1]
    forward = funnel(o, e).units
    backward = funnel(o.iloc[order], e.iloc[order]).units
    pd.testing.assert_frame_equal(forward, backward.sort_index(), rtol=1e-12)


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: funnel([-1, 2], [1.0, 2.0]), "observed -1 at 0 is not a count, 0 or more"),
    (lambda: funnel([1, 2], [0.0, 2.0]), "expected 0 at 0 is not a number above 0"),
    (lambda: funnel([1, 2], [1.0]), "observed has 2 units and expected 1"),
    (lambda: funnel([3, 2], [2.0, 2.0], kind="proportion"), "above the denominator"),
    (lambda: funnel([1, 2], [1.0, 2.0], method="arcsine"), 'must be "log" or "sqrt"'),
    (lambda: funnel([1, 2], [1.0, 2.0], kind="rate"), 'kind must be "ratio" or "proportion"'),
    (lambda: funnel([1, 2], [1.0, 2.0], trim=0.5), "trim must be a fraction"),
    (lambda: funnel([0, 0, 0, 5], [1.0, 2.0, 3.0, 4.0], trim=0.0), "cannot weigh a zero"),
])
def test_bad_arguments_name_the_problem(call, fragment):
    with pytest.raises(InputError, match=None) as raised:
        call()
    assert fragment in str(raised.value)
