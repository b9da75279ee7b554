from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from capitation.rounding import (
    ceil_pence,
    excel_round,
    floor_pence,
    grown_pence,
    half_away,
    half_up,
    largest_remainder,
    largest_remainder_grouped,
    largest_remainder_pence,
    largest_remainder_rows,
    round_gbp,
    round_pence,
)


def test_spare_penny_goes_to_largest_remainder():
    # docs/methods/rounding.md. £10.00 in the ratio 1:2:3 is 166.67p, 333.33p, 500.00p.
    # Floors add up to 999p; the spare penny goes to the largest remainder (a).
    amounts_gbp = pd.Series([1, 2, 3], index=["a", "b", "c"]) / 6 * 10
    assert largest_remainder(amounts_gbp, total_pence=1_000).tolist() == [167, 333, 500]


def test_worked_example_section_2_1_rounds_p2_down():
    # docs/methods/weighted-capitation.md#from-the-register: X = 1,400, 1,200, 2,000 of 4,600 on
    # £3,000,000.
    # Unrounded pence 91,304,347.83 / 78,260,869.57 / 130,434,782.61: floors sum to
    # 299,999,999, one penny missing; remainders .83, .57, .61 -> P1 gets it, so P2
    # (remainder 0.565p) rounds down although plain rounding would round it up.
    x = pd.Series([1_400, 1_200, 2_000], index=["P1", "P2", "P3"])
    pence = largest_remainder(x / x.sum() * 3_000_000, 300_000_000)
    assert pence.tolist() == [91_304_348, 78_260_869, 130_434_783]
    assert pence.sum() == 300_000_000


def test_ties_go_to_lowest_code_whatever_the_order():
    # Three equal thirds of 100p: 33.33p each, one penny spare, tie -> lowest code "a".
    forward = pd.Series([1 / 3] * 3, index=["a", "b", "c"])
    backward = forward.iloc[::-1]
    assert largest_remainder(forward, 100).to_dict() == {"a": 34, "b": 33, "c": 33}
    assert largest_remainder(backward, 100).to_dict() == {"a": 34, "b": 33, "c": 33}


def test_explicit_order_breaks_ties():
    # Components: ties go to the earlier component, not the lower name.
    amounts = pd.Series([1 / 3] * 3, index=["z", "y", "x"])
    assert largest_remainder(amounts, 100, order=["z", "y", "x"]).to_dict() == {
        "z": 34, "y": 33, "x": 33}


def test_snap_before_rounding_halves():
    # docs/methods/index.md#conventions: 712,873.935 must give .94; 0.3 × 2/3 is 0.1999... in float.
    assert round_pence(712_873.935) == 71_287_394
    assert round_gbp(0.3 * 2 / 3) == 0.2
    assert round_pence(-0.005) == -1  # halves away from zero, as Excel's ROUND
    assert round_pence(0.005) == 1


def test_snap_before_ceil_and_floor():
    # docs/methods/pace-of-change.md: 7,000,000,000p × 1.08 is 7,560,000,000.000001 in float64.
    assert ceil_pence(70_000_000 * 1.08) == 7_560_000_000
    # §5.3 year 2: 1.02 × 76,666,666.67 = 78,200,000.0034, rounded up.
    assert ceil_pence(1.02 * 76_666_666.67) == 7_820_000_001
    assert floor_pence(1.08 * 70_000_000) == 7_560_000_000


def test_excel_round_three_places():
    assert excel_round(0.9465, 3) == 0.947
    assert excel_round(1.0165, 3) == 1.017


def test_signed_amounts_floor_down():
    # Settlements: floor of a negative goes down, remainders stay in [0, 1).
    amounts = pd.Series([-1 / 3, -1 / 3, -1 / 3], index=["a", "b", "c"])
    assert largest_remainder(amounts, -100).to_dict() == {"a": -33, "b": -33, "c": -34}


def test_grouped_matches_per_group():
    amounts = pd.Series([1 / 3, 1 / 3, 1 / 3, 0.505, 0.495], index=list("abcde"))
    groups = pd.Series(list("xxxyy"), index=amounts.index)
    out = largest_remainder_grouped(amounts, groups, pd.Series({"x": 100, "y": 100}))
    assert out.tolist() == [34, 33, 33, 51, 49]


def test_rows_ties_to_earlier_column():
    out = largest_remainder_rows(np.array([[100 / 3] * 3, [50.5, 49.5, 0.0]]),
                                 np.array([100, 100]))
    assert out.tolist() == [[34, 33, 33], [51, 49, 0]]


@given(st.lists(st.floats(0, 1e9), min_size=1, max_size=30), st.integers(0, 10**11))
def test_each_amount_within_a_penny_and_total_exact(weights, total_pence):
    w = pd.Series(weights, index=[f"c{i:02d}" for i in range(len(weights))])
    if w.sum() <= 0:
        return
    amounts = w / w.sum() * total_pence / 100
    out = largest_remainder(amounts, total_pence)
    assert out.sum() == total_pence
    assert (np.abs(out - amounts * 100) < 1 + 1e-6).all()


def test_snap_holds_at_icb_scale():
    # Amended snap (rounding.py docstring): 1.025 × £125,000,000 is 12,812,499,999.999998p
    # in float64; a 6-decimal snap cannot absorb that, 15 significant digits (Excel) can.
    assert floor_pence(1.025 * 125e6) == 12_812_500_000
    assert ceil_pence(1.025 * 125e6) == 12_812_500_000
    # exact pence values at £bn scale are not moved by the snap
    assert round_pence(123_456_789_012.34) == 12_345_678_901_234


@given(st.integers(1, 10**15), st.integers(-500, 4_000))
def test_floor_and_ceil_exact_on_whole_pence_growth(baseline_pence, growth_basis_points):
    # (1 + g) × B for whole-pence B and g in basis points is a multiple of 1/10,000 pence:
    # exact integer arithmetic gives the true floor and ceiling to compare against.
    g = growth_basis_points / 10_000
    exact_numerator = baseline_pence * (10_000 + growth_basis_points)
    true_floor = exact_numerator // 10_000
    true_ceil = -((-exact_numerator) // 10_000)
    baseline_gbp = np.array([baseline_pence / 100])
    assert grown_pence(baseline_gbp, g, "floor")[0] == true_floor
    assert grown_pence(baseline_gbp, g, "ceil")[0] == true_ceil


def test_equal_pence_fractions_tie_exactly_at_any_size():
    # 40,000,000.4p and 0.4p have the same fraction; float subtraction gives
    # 0.3999999985 for the first. The tie must go to the earlier column, not to noise.
    out = largest_remainder_rows(np.array([[40_000_000.4, 0.4, 0.2]]), np.array([40_000_001]))
    assert out.tolist() == [[40_000_001, 0, 0]]
    series = pd.Series([400_000.004, 0.004, 0.002], index=["a", "b", "c"])
    assert largest_remainder(series, 40_000_001).tolist() == [40_000_001, 0, 0]


def test_half_up_and_half_away_after_the_snap():
    # Counts by a rule (docs/methods/weighted-capitation.md#from-people, floor(from × N + 0.5)):
    # halves go up, towards +inf.
    # 0.1 × 3 × 5 is 1.5000000000000002 and 0.15 × 10 is 1.5 in float64: both are a half.
    assert half_up(np.array([2.5, -2.5, 0.1 * 3 * 5, 0.15 * 10, 2.499999])).tolist() == [
        3.0, -2.0, 2.0, 2.0, 2.0]
    # R() on amounts already in pence (docs/methods/marginal-rates.md): halves away from zero.
    assert half_away(np.array([2.5, -2.5, 0.3 * 5, -0.3 * 5])).tolist() == [3.0, -3.0, 2.0, -2.0]
    assert half_away(0.5).ndim == 0


def test_half_away_on_pence_is_exact_up_to_10bn():
    # R(rate × excess) on excesses of £1m to £10bn, against exact integer arithmetic: with
    # excess e whole pence and rate r = a / b, R is floor((2 a e + b) / (2 b)) for e > 0. Excesses
    # ending in 5p make 0.3 × e and 0.5 × e end in exactly half a penny. A fixed 6-decimal
    # snap (np.round(x, 6)) moves those halves above about 1e10p: x × 1e6 is past 2**53.
    rng = np.random.default_rng(3)
    excess = rng.integers(10**8, 10**12, 5_000)
    excess -= excess % 10 - 5
    for rate in (0.2, 0.3, 0.5, 0.75):
        r = Fraction(str(rate))
        exact = [(2 * r.numerator * int(e) + r.denominator) // (2 * r.denominator) for e in excess]
        assert half_away(rate * excess).astype(np.int64).tolist() == exact
        assert half_away(-rate * excess).astype(np.int64).tolist() == [-x for x in exact]


def test_one_row_and_many_rows_agree():
    rows = np.array([[100 / 3] * 3, [50.5, 49.5, 0.0], [40_000_000.4, 0.4, 0.2]])
    totals = np.array([100, 100, 40_000_001])
    by_row = [largest_remainder_pence(row, total).tolist()
              for row, total in zip(rows, totals, strict=True)]
    assert largest_remainder_rows(rows, totals).tolist() == by_row == [
        [34, 33, 33], [51, 49, 0], [40_000_001, 0, 0]]
