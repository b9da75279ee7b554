"""Pace of change: worked examples, the LP against scipy, bad inputs.

Method: docs/methods/pace-of-change.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.common.base import Availability
from scipy import sparse
from scipy.optimize import linprog

from capitation.errors import InputError, SolverError
from capitation.pace_of_change import PaceOfChange, PaceOutcome, set_pace, solve_lp
from capitation.pace_of_change.data import prepare
from capitation.pace_of_change.fairest import (
    check_against_lp,
    fairest_allocation,
    water_level,
)
from capitation.rounding import ceil_pence, floor_pence, largest_remainder
from capitation.solver import highs, solve

ENVELOPE_YEAR_1 = 30_000_000_000  # £300,000,000 in pence
CODES = pd.Index(["A", "B", "C"], name="ICB")


def year_1() -> tuple[pd.Series, pd.Series]:
    # docs/methods/pace-of-change.md#worked-example, year 1: targets and baselines in the table.
    target = pd.Series([12_000_000_000, 10_000_000_000, 8_000_000_000], index=CODES)
    baseline = pd.Series([125_000_000.0, 93_000_000.0, 70_000_000.0], index=CODES)
    return target, baseline


def assert_constraints(
    outcome: PaceOutcome, target: pd.Series, envelope_pence: int, capped: bool
) -> None:
    """Every constraint of docs/methods/pace-of-change.md, checked on the rounded result."""
    allocation = outcome.allocation_pence
    assert allocation.dtype == np.int64
    assert allocation.index.equals(target.index)
    assert outcome.floor_pence.index.equals(target.index)
    assert outcome.cap_pence.index.equals(target.index)
    assert int(allocation.sum()) == envelope_pence
    assert (allocation >= outcome.floor_pence).all()
    if capped:
        assert outcome.cap_pence.notna().all()
        assert (allocation <= outcome.cap_pence.astype(np.int64)).all()
    else:
        assert outcome.cap_pence.isna().all()
    assert isinstance(outcome.summary, PaceOfChange)


# -- docs/methods/pace-of-change.md#worked-example worked example
# ----------------------------------------------------


def test_year_1_uncapped_matches_domain_example():
    # docs/methods/pace-of-change.md#worked-example, year 1, no cap. Floors 1.02 × baseline:
    # 127,500,000.00;
    # 94,860,000.00; 71,400,000.00. A is above target and held at its floor;
    # λ = 172,500,000 / 180,000,000; in pence B, C = 9,583,333,333.33 and
    # 7,666,666,666.67; the missing penny goes to C (0.67 beats 0.33).
    target, baseline = year_1()
    outcome = set_pace(target, baseline, ENVELOPE_YEAR_1, min_growth=0.02)
    assert outcome.floor_pence.tolist() == [12_750_000_000, 9_486_000_000, 7_140_000_000]
    assert outcome.allocation_pence.tolist() == [12_750_000_000, 9_583_333_333, 7_666_666_667]
    # s* = 1 − 172.5/180 = 0.0416667; U* = A's excess over target = £7,500,000.00.
    assert outcome.summary.largest_shortfall == pytest.approx(1 - 172.5 / 180, rel=1e-9)
    assert outcome.summary.total_shortfall_gbp == pytest.approx(7_500_000.00, abs=1e-3)
    assert outcome.summary.status == "optimal"
    assert outcome.summary.build_seconds >= 0 and outcome.summary.solve_seconds >= 0
    assert_constraints(outcome, target, ENVELOPE_YEAR_1, capped=False)
    # Growth and distance from target as in the table (B 3.0466%, C 9.5238%, DfT −4.1667%).
    allocation_gbp = outcome.allocation_pence / 100
    growth = allocation_gbp / baseline - 1
    assert growth.round(6).tolist() == [0.02, 0.030466, 0.095238]
    dft = allocation_gbp / (target / 100) - 1
    assert dft.round(6).tolist() == [0.0625, -0.041667, -0.041667]


def test_year_1_with_cap_matches_domain_example():
    # docs/methods/pace-of-change.md#worked-example, max_growth 8%: caps A 135,000,000; B
    # 100,440,000; C 75,600,000.
    # C is held at its cap so s* = 1 − 75.6/80 = 0.055; stage 2 gives B the rest:
    # A 127,500,000.00, B 96,900,000.00 (λ = 0.969), C 75,600,000.00; U* = £7,500,000.00.
    target, baseline = year_1()
    outcome = set_pace(target, baseline, ENVELOPE_YEAR_1, min_growth=0.02, max_growth=0.08)
    assert outcome.cap_pence.tolist() == [13_500_000_000, 10_044_000_000, 7_560_000_000]
    assert outcome.allocation_pence.tolist() == [12_750_000_000, 9_690_000_000, 7_560_000_000]
    assert outcome.summary.largest_shortfall == pytest.approx(0.055, rel=1e-9)
    assert outcome.summary.total_shortfall_gbp == pytest.approx(7_500_000.00, abs=1e-3)
    assert_constraints(outcome, target, ENVELOPE_YEAR_1, capped=True)
    assert fairest_allocation(
        prepare(target, baseline, ENVELOPE_YEAR_1, 0.02, 0.08)
    ).level == pytest.approx(0.969, rel=1e-12)


def test_year_2_starts_from_year_1_allocation():
    # docs/methods/pace-of-change.md#worked-example, year 2: envelope £315,000,000; targets 124m,
    # 106m, 85m;
    # baselines are year 1's allocations. Floors A 130,050,000.00, B 97,750,000.00,
    # C 78,200,000.01 (1.02 × 76,666,666.67 = 78,200,000.0034, rounded up).
    # A at floor; λ = 184,950,000 / 191,000,000; B 102,642,408.38, C 82,307,591.62
    # (B takes the missing penny: 0.696 beats 0.304); s* = 0.0316754; U* = £6,050,000.00.
    target, baseline = year_1()
    year_1_outcome = set_pace(target, baseline, ENVELOPE_YEAR_1, min_growth=0.02)
    target_2 = pd.Series([12_400_000_000, 10_600_000_000, 8_500_000_000], index=CODES)
    envelope_2 = 31_500_000_000
    outcome = set_pace(target_2, year_1_outcome.allocation_pence / 100, envelope_2, 0.02)
    assert outcome.floor_pence.tolist() == [13_005_000_000, 9_775_000_000, 7_820_000_001]
    assert outcome.allocation_pence.tolist() == [13_005_000_000, 10_264_240_838, 8_230_759_162]
    assert outcome.summary.largest_shortfall == pytest.approx(1 - 184.95 / 191, rel=1e-9)
    assert round(outcome.summary.largest_shortfall, 7) == 0.0316754
    assert outcome.summary.total_shortfall_gbp == pytest.approx(6_050_000.00, abs=1e-3)
    assert_constraints(outcome, target_2, envelope_2, capped=False)


def test_result_does_not_depend_on_row_order():
    # docs/methods/rounding.md: a canonical order, so reordering rows changes nothing.
    target, baseline = year_1()
    reordered = target.index[[2, 0, 1]]
    outcome = set_pace(target[reordered], baseline, ENVELOPE_YEAR_1, 0.02)
    assert outcome.allocation_pence.index.tolist() == ["C", "A", "B"]
    assert outcome.allocation_pence.index.name == "ICB"
    assert outcome.allocation_pence["C"] == 7_666_666_667
    assert outcome.allocation_pence.sort_index().tolist() == [
        12_750_000_000,
        9_583_333_333,
        7_666_666_667,
    ]


def test_inputs_are_not_changed():
    target, baseline = year_1()
    target_copy, baseline_copy = target.copy(), baseline.copy()
    set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02, 0.08)
    pd.testing.assert_series_equal(target, target_copy)
    pd.testing.assert_series_equal(baseline, baseline_copy)


# -- docs/methods/pace-of-change.md#the-rule the rule
# ----------------------------------------------------------


def test_rule_matches_domain_example():
    # docs/methods/pace-of-change.md#the-rule: floors leave £6,240,000; gaps B 5,140,000 and C
    # 8,600,000;
    # B = 94,860,000 + 6,240,000 × 5.14/13.74 = 97,194,323.14 (−2.81%),
    # C = 71,400,000 + 6,240,000 × 8.60/13.74 = 75,305,676.86 (−5.87%).
    target, baseline = year_1()
    outcome = set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02, method="rule")
    assert outcome.allocation_pence.tolist() == [12_750_000_000, 9_719_432_314, 7_530_567_686]
    assert outcome.summary.status == "rule"
    # s* and U* of the rule's allocation: C is worst at 1 − 75,305,676.86/80,000,000.
    assert outcome.summary.largest_shortfall == pytest.approx(1 - 75_305_676.86 / 80e6, rel=1e-12)
    assert outcome.summary.total_shortfall_gbp == pytest.approx(7_500_000.00, abs=1e-6)
    assert_constraints(outcome, target, ENVELOPE_YEAR_1, capped=False)


def test_rule_rewards_whoever_is_closest_where_lp_treats_alike():
    # docs/methods/pace-of-change.md#the-rule: the LP puts B and C at the same −4.17%; the rule
    # leaves
    # B at −2.81% and C at −5.87%, a worse largest shortfall.
    target, baseline = year_1()
    lp = set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02, method="lp")
    rule = set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02, method="rule")
    dft_lp = (lp.allocation_pence / target - 1).round(4)
    dft_rule = (rule.allocation_pence / target - 1).round(4)
    assert dft_lp[["B", "C"]].tolist() == [-0.0417, -0.0417]
    assert dft_rule[["B", "C"]].tolist() == [-0.0281, -0.0587]
    assert rule.summary.largest_shortfall > lp.summary.largest_shortfall + 0.017


def test_rule_past_target_shares_the_rest_in_proportion_to_target():
    # docs/methods/pace-of-change.md#the-rule, last step: with £330m everyone below target reaches
    # it
    # (B 100m, C 80m, A already at floor 127.5m: £307.5m), and the remaining
    # £22.5m goes in proportion to target: A 120/300, B 100/300, C 80/300.
    target, baseline = year_1()
    envelope = 33_000_000_000
    outcome = set_pace(target, baseline, envelope, 0.02, method="rule")
    assert outcome.allocation_pence.tolist() == [
        12_750_000_000 + 900_000_000,
        10_000_000_000 + 750_000_000,
        8_000_000_000 + 600_000_000,
    ]
    assert_constraints(outcome, target, envelope, capped=False)


def test_rule_stops_at_caps_and_passes_the_rest_on():
    # With max_growth 8% C's cap (75.6m) is below where its gap share would take it
    # (75,305,676.86 is not, so the rule is unchanged)...
    target, baseline = year_1()
    outcome = set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02, 0.08, method="rule")
    assert outcome.allocation_pence.tolist() == [12_750_000_000, 9_719_432_314, 7_530_567_686]
    # ...but at max_growth 7.5% (C capped at 75,250,000) C stops at its cap and B
    # takes the rest: 300m − 127.5m − 75.25m = 97.25m.
    outcome = set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02, 0.075, method="rule")
    assert outcome.allocation_pence.tolist() == [12_750_000_000, 9_725_000_000, 7_525_000_000]
    assert_constraints(outcome, target, ENVELOPE_YEAR_1, capped=True)


# -- the LP against an independent formulation ------------------------------------------


def linprog_two_stage(
    target_pence: np.ndarray, floor_pence: np.ndarray, cap_pence: np.ndarray, envelope: int
) -> tuple[float, float]:
    """Domain.md §5.1 solved with scipy's HiGHS, in pounds, variables [s, A, u]."""
    n = len(target_pence)
    t = target_pence / 100.0
    lower = floor_pence / 100.0
    upper = cap_pence / 100.0
    e = envelope / 100.0
    eye = sparse.identity(n, format="csr")
    # Stage 1 over [s, A]: −T_i s − A_i <= −T_i; Σ A = E.
    a_ub = sparse.hstack([-sparse.csr_matrix(t.reshape(-1, 1)), -eye]).tocsr()
    a_eq = sparse.csr_matrix(np.concatenate([[0.0], np.ones(n)]).reshape(1, -1))
    bounds = [(0.0, None)] + list(zip(lower, upper, strict=True))
    stage_1 = linprog(
        np.concatenate([[1.0], np.zeros(n)]),
        A_ub=a_ub,
        b_ub=-t,
        A_eq=a_eq,
        b_eq=[e],
        bounds=bounds,
        method="highs",
    )
    assert stage_1.status == 0, stage_1.message
    s_star = stage_1.x[0]
    # Stage 2 over [s, A, u]: add −A_i − u_i <= −T_i; hold s <= s* (1 + 1e-9) + 1e-12.
    zero = sparse.csr_matrix((n, n))
    a_ub_2 = sparse.vstack(
        [sparse.hstack([a_ub, zero]), sparse.hstack([sparse.csr_matrix((n, 1)), -eye, -eye])]
    ).tocsr()
    a_eq_2 = sparse.hstack([a_eq, sparse.csr_matrix((1, n))]).tocsr()
    bounds_2 = [(0.0, s_star * (1 + 1e-9) + 1e-12)] + bounds[1:] + [(0.0, None)] * n
    stage_2 = linprog(
        np.concatenate([np.zeros(n + 1), np.ones(n)]),
        A_ub=a_ub_2,
        b_ub=np.concatenate([-t, -t]),
        A_eq=a_eq_2,
        b_eq=[e],
        bounds=bounds_2,
        method="highs",
    )
    assert stage_2.status == 0, stage_2.message
    return s_star, stage_2.fun


def random_instance(seed: int, size: int) -> tuple[pd.Series, pd.Series, int]:
    rng = np.random.default_rng(seed)
    codes = pd.Index([f"Q{i:04d}" for i in range(size)], name="place")
    baseline_gbp = pd.Series(np.round(rng.uniform(2e6, 4e8, size), 2), index=codes)
    # Targets spread ±25% around baseline, scaled to an envelope 3.5% above baseline.
    envelope = int(round(baseline_gbp.sum() * 103.5))
    weight = baseline_gbp * rng.uniform(0.75, 1.25, size)
    target = largest_remainder(weight / weight.sum() * envelope / 100, envelope)
    return target, baseline_gbp, envelope


def test_lp_optimum_equals_independent_linprog_on_300_organisations():
    # The "LP against an independent formulation": same LP in pounds
    # (not £ millions), variables in another order, solved by scipy's linprog.
    # Tolerance: s* to 1e-8 absolute, U* to 1e-7 relative (HiGHS's primal
    # feasibility tolerance is 1e-7 in the toolkit's £-million units).
    target, baseline, envelope = random_instance(seed=20250401, size=300)
    outcome = set_pace(target, baseline, envelope, min_growth=0.015, max_growth=0.06)
    data = prepare(target, baseline, envelope, 0.015, 0.06)
    s_star, u_star = linprog_two_stage(
        data.target_pence, data.floor_pence, data.cap_pence, envelope
    )
    # The instance exercises floors, caps and free organisations alike.
    allocation = outcome.allocation_pence
    assert (allocation == outcome.floor_pence).sum() > 10
    assert (allocation == outcome.cap_pence.astype(np.int64)).sum() > 10
    assert s_star > 0.01 and u_star > 1e6
    assert outcome.summary.largest_shortfall == pytest.approx(s_star, abs=1e-8)
    assert outcome.summary.total_shortfall_gbp == pytest.approx(u_star, rel=1e-7)
    assert_constraints(outcome, target, envelope, capped=True)
    # The rounded allocation attains the optimum to within a penny per organisation.
    gap = (target - allocation).clip(lower=0)
    assert (gap / target).max() == pytest.approx(s_star, abs=1e-8)
    assert gap.sum() / 100 == pytest.approx(u_star, abs=300 * 0.01)


def test_water_level_finds_the_level_exactly():
    # Σ clip(λ w, lo, hi) = total with breakpoints lo/w = 0.5, 1, 2 and hi/w = 1.5, 3.
    weight = np.array([2.0, 1.0, 4.0])
    lower = np.array([1.0, 1.0, 8.0])
    upper = np.array([3.0, 3.0, np.inf])
    # λ = 1.2: 2.4 + 1.2 + 8 (held at lower) = 11.6
    level, amount = water_level(weight, lower, upper, 11.6)
    assert level == pytest.approx(1.2, rel=1e-15)
    assert amount.tolist() == pytest.approx([2.4, 1.2, 8.0])
    # total at Σ lower gives the smallest level at which nothing moves.
    level, amount = water_level(weight, lower, upper, 10.0)
    assert amount.tolist() == pytest.approx([1.0, 1.0, 8.0])
    # λ = 2.6: the first capped at 3 (from λ = 1.5), then 2.6 + 10.4: 3 + 2.6 + 10.4 = 16.
    level, amount = water_level(weight, lower, upper, 16.0)
    assert level == pytest.approx(2.6, rel=1e-15)
    assert amount.tolist() == pytest.approx([3.0, 2.6, 10.4])
    # λ = 3.5: both bounded ones capped, 3 + 3 + 14 = 20.
    level, amount = water_level(weight, lower, upper, 20.0)
    assert level == pytest.approx(3.5, rel=1e-15)


# -- infeasible and malformed inputs (docs/methods/pace-of-change.md#the-fairest-optimum)
# -----------------------------------


def test_floors_costing_more_than_the_envelope_are_refused():
    # Floors cost 127.5m + 94.86m + 71.4m = £293,760,000; envelope £290,000,000.
    target, baseline = year_1()
    target = (target * 29 / 30).round().astype(np.int64)
    with pytest.raises(InputError, match=r"floors cost £3,760,000\.00 more than the envelope"):
        set_pace(target, baseline, 29_000_000_000, min_growth=0.02)
    try:
        set_pace(target, baseline, 29_000_000_000, min_growth=0.02)
    except InputError as error:
        assert error.key == "pace_of_change.min_growth"


def test_caps_that_cannot_spend_the_envelope_are_refused():
    # Caps at 3%: 128,750,000 + 95,790,000 + 72,100,000 = £296,640,000,
    # £3,360,000 less than the £300m envelope.
    target, baseline = year_1()
    with pytest.raises(
        InputError,
        match=r"caps can spend at most £296,640,000\.00, £3,360,000\.00 less than the envelope",
    ) as caught:
        set_pace(target, baseline, ENVELOPE_YEAR_1, min_growth=0.02, max_growth=0.03)
    assert caught.value.key == "pace_of_change.max_growth"


def test_missing_baselines_are_named_up_to_five():
    codes = pd.Index([f"ICB{i}" for i in range(7)], name="ICB")
    target = pd.Series(np.full(7, 1_000_000), index=codes)
    baseline = pd.Series([9_800.0], index=codes[:1])
    with pytest.raises(
        InputError,
        match=r"no baseline for 6 of 7 organisations: ICB1, ICB2, ICB3, ICB4, ICB5 "
        r"and 1 more",
    ) as caught:
        set_pace(target, baseline, 7_000_000, 0.02)
    assert caught.value.key == "pace_of_change.baseline"


def test_nan_baseline_counts_as_missing():
    target, baseline = year_1()
    baseline = baseline.copy()
    baseline["B"] = np.nan
    with pytest.raises(InputError, match=r"no baseline for 1 organisations .*: B"):
        set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02)


def test_baseline_for_unknown_code_is_refused():
    target, baseline = year_1()
    baseline = pd.concat([baseline, pd.Series([1.0], index=["Z"])])
    with pytest.raises(InputError, match=r"organisations with no target: Z"):
        set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02)


@pytest.mark.parametrize("bad", [0, -5])
def test_non_positive_target_is_refused(bad):
    target, baseline = year_1()
    target = target.copy()
    target["C"] = bad
    with pytest.raises(InputError, match=r"target must be above zero.*: C"):
        set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02)


@pytest.mark.parametrize("bad", [0.0, -70e6])
def test_non_positive_baseline_is_refused(bad):
    target, baseline = year_1()
    baseline = baseline.copy()
    baseline["A"] = bad
    with pytest.raises(InputError, match=r"baseline must be above zero.*: A") as caught:
        set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02)
    assert caught.value.key == "pace_of_change.baseline"


def test_max_growth_below_min_growth_is_refused():
    target, baseline = year_1()
    with pytest.raises(InputError, match=r"max_growth \(1\.0000%\) is below min_growth") as caught:
        set_pace(target, baseline, ENVELOPE_YEAR_1, min_growth=0.02, max_growth=0.01)
    assert caught.value.key == "pace_of_change.max_growth"


def test_equal_growth_that_leaves_no_whole_penny_is_refused():
    # 1.02 × 76,666,666.67 = 78,200,000.0034: floor rounds up, cap rounds down.
    target, _ = year_1()
    baseline = pd.Series([125e6, 93e6, 76_666_666.67], index=CODES)
    with pytest.raises(InputError, match=r"floor above cap .* \(C\)"):
        set_pace(target, baseline, ENVELOPE_YEAR_1, min_growth=0.02, max_growth=0.02)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "simplex"}, r'method must be "lp" or "rule"'),
        ({"min_growth": float("nan")}, r"min_growth must be a fraction above -1"),
        ({"envelope_pence": 3e10}, r"the envelope must be whole pence"),
        ({"envelope_pence": 0}, r"the envelope must be above zero"),
    ],
)
def test_malformed_arguments_are_refused(kwargs, message):
    target, baseline = year_1()
    arguments = {"envelope_pence": ENVELOPE_YEAR_1, "min_growth": 0.02, **kwargs}
    with pytest.raises(InputError, match=message):
        set_pace(target, baseline, **arguments)


def test_float_targets_are_refused():
    target, baseline = year_1()
    with pytest.raises(InputError, match=r"targets must be whole pence \(int64\)"):
        set_pace(target.astype(float), baseline, ENVELOPE_YEAR_1, 0.02)


def test_duplicate_codes_are_refused():
    target, baseline = year_1()
    target = pd.concat([target, target.iloc[:1]])
    with pytest.raises(InputError, match=r"appear more than once: A"):
        set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02)


# -- solver failures are errors, never skips -----------------------------------------


def test_missing_solver_is_an_error(monkeypatch):
    monkeypatch.setattr("capitation.solver.Highs.available", lambda self: Availability.NotFound)
    target, baseline = year_1()
    with pytest.raises(SolverError, match=r"HiGHS is not available .*install highspy"):
        set_pace(target, baseline, ENVELOPE_YEAR_1, 0.02)


def test_infeasible_model_is_a_solver_error():
    model = pyo.ConcreteModel()
    model.x = pyo.Var(bounds=(0, 1))
    model.c = pyo.Constraint(expr=model.x >= 2)
    model.objective = pyo.Objective(expr=model.x)
    with pytest.raises(SolverError, match=r"HiGHS did not solve the test LP: the problem is inf"):
        solve(model, highs(), what="the test LP")


def test_unbounded_model_is_a_solver_error():
    model = pyo.ConcreteModel()
    model.x = pyo.Var()
    model.objective = pyo.Objective(expr=model.x)
    with pytest.raises(SolverError, match=r"HiGHS did not solve the test LP: .*unbounded"):
        solve(model, highs(), what="the test LP")


def test_fairest_allocation_disagreeing_with_lp_is_an_internal_error():
    # docs/methods/pace-of-change.md#the-fairest-optimum: checked against the LP's s* and U* to 1e-7
    # relative.
    target, baseline = year_1()
    fairest = fairest_allocation(prepare(target, baseline, ENVELOPE_YEAR_1, 0.02, None))
    check_against_lp(fairest, 1 - 172.5 / 180, 7_500_000.0)
    with pytest.raises(SolverError, match=r"internal error: .*largest shortfall"):
        check_against_lp(fairest, 1 - 172.5 / 180 + 2e-7, 7_500_000.0)
    with pytest.raises(SolverError, match=r"internal error: .*total shortfall"):
        check_against_lp(fairest, 1 - 172.5 / 180, 7_500_000.0 + 1.0)


def test_floors_and_caps_round_inward_after_the_snap():
    # docs/methods/pace-of-change.md: 7,000,000,000p × 1.08 is 7,560,000,000.000001 in float64 and
    # must give 7,560,000,000; ceil and floor after the 6-decimal snap.
    codes = pd.Index(["X", "Y"], name="ICB")
    target = pd.Series([7_500_000_000, 7_500_000_000], index=codes)
    baseline = pd.Series([70_000_000.0, 70_000_000.0], index=codes)
    outcome = set_pace(target, baseline, 15_000_000_000, min_growth=0.02, max_growth=0.08)
    assert outcome.cap_pence.tolist() == [7_560_000_000, 7_560_000_000]
    assert ceil_pence(1.02 * 70_000_000.0) == 7_140_000_000
    assert floor_pence(1.08 * 70_000_000.0) == 7_560_000_000
    assert outcome.allocation_pence.tolist() == [7_500_000_000, 7_500_000_000]


def test_lp_own_allocation_meets_every_constraint_and_holds_stage_1():
    # docs/methods/pace-of-change.md#the-two-stage-lp: stage 2 keeps s <= s* (1 + 1e-9) + 1e-12, so
    # the LP's own
    # stage 2 allocation is no further below target than s*, meets floors, caps and
    # the envelope (to HiGHS's tolerance, 1e-7 in £ millions = £0.10), and its
    # pounds below target add up to U*.
    target, baseline, envelope = random_instance(seed=7, size=300)
    data = prepare(target, baseline, envelope, 0.015, 0.06)
    solution, _, _ = solve_lp(data)
    assert solution.status == "optimal"
    allocation_gbp = solution.allocation_gbp
    assert allocation_gbp.index.equals(target.index)
    target_gbp = target / 100
    floor_gbp = data.to_input_order(data.floor_pence, "floor") / 100
    cap_gbp = data.to_input_order(data.cap_pence, "cap") / 100
    assert (allocation_gbp >= floor_gbp - 0.10).all()
    assert (allocation_gbp <= cap_gbp + 0.10).all()
    assert allocation_gbp.sum() == pytest.approx(envelope / 100, abs=0.10)
    shortfall = ((target_gbp - allocation_gbp) / target_gbp).max()
    assert shortfall <= solution.largest_shortfall * (1 + 1e-9) + 1e-9
    below = (target_gbp - allocation_gbp).clip(lower=0).sum()
    assert below == pytest.approx(solution.total_shortfall_gbp, abs=300 * 0.10)
