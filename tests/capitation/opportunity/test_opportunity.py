"""The value opportunity: it ties out, carries the funnel flags, splits and flows into a budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation import InputError, Population
from capitation.opportunity import (
    expected_by_weighted_population,
    read_activity,
    value_opportunity,
)
from capitation.service_budget import ServiceBudgetInputs, build_budget

CODES = list("ABCDE")
INDICATORS = pd.DataFrame({"need_index": [1.0, 1.2, 0.9, 1.1, 0.8],
                           "share_over_65": [0.20, 0.15, 0.25, 0.18, 0.22]},
                          index=pd.Index(CODES, name="practice"))


def _five(observed_a: float, cost_a: float, patients_a: float) -> tuple:
    """Five practices, one service, 100 expected each; B to E alike: 100 at £10, 50 patients."""
    frame = pd.DataFrame({"practice": CODES, "service": "outpatient_first",
                          "activity": [observed_a, 100, 100, 100, 100],
                          "cost_gbp": [cost_a, 1_000, 1_000, 1_000, 1_000],
                          "patients": [patients_a, 50, 50, 50, 50]})
    expected = pd.DataFrame({"outpatient_first": 100.0},
                            index=pd.Index(CODES, name="practice"))
    return read_activity(frame), expected


def test_opportunity_by_hand():
    # A uses 150 where 100 are expected; its four peers (all the others) use 100 each,
    # so best 4 of similar 4 is 1.0 and A's opportunity is 150 − 1.0 × 100 = 50
    # attendances, at A's own £1,800/150 = £12 each: £600. Each other unit's peers
    # include A (1.5), so their benchmark is (1 + 1 + 1 + 1.5)/4 = 1.125 > 1: none.
    activity, expected = _five(150, 1_800, 75)
    result = value_opportunity(activity, expected, INDICATORS, similar=4, best=4)
    units = result.units.xs("outpatient_first", level="service")
    assert units.loc["A", "benchmark_ratio"] == 1.0
    assert units.loc["A", "opportunity_activity"] == 50.0
    assert units.loc["A", "unit_cost_gbp"] == 12.0
    assert units.loc["A", "opportunity_gbp"] == 600.0
    assert units.loc["B", "benchmark_ratio"] == pytest.approx(1.125)
    assert units["above_benchmark"].tolist() == [True, False, False, False, False]
    assert units.loc[["B", "C", "D", "E"], "opportunity_gbp"].eq(0).all()
    # With a given price of £9 per attendance: 50 × £9 = £450.
    priced = value_opportunity(activity, expected, INDICATORS, similar=4, best=4,
                               price_gbp={"outpatient_first": 9.0})
    assert priced.units.loc[("A", "outpatient_first"), "opportunity_gbp"] == 450.0


def test_a_unit_dearer_in_price_only_has_all_its_gap_in_price():
    # A has the same activity and patients as each of its peers, at £15 not £10 per
    # attendance. Benchmark: ratio 1.0, intensity 400/200 = 2, price £4,000/400 = £10,
    # benchmark spend 1.0 × 100 × £10 = £1,000; A spends £1,500. Access = 50 × 2/100 = 1,
    # intensity = (100/50)/2 = 1, price = 15/10: the £500 gap is all price.
    activity, expected = _five(100, 1_500, 50)
    result = value_opportunity(activity, expected, INDICATORS, similar=4, best=4)
    row = result.decomposition().loc[("A", "outpatient_first")]
    assert row["gap_gbp"] == 500.0
    assert row["access_effect_gbp"] == 0 and row["intensity_effect_gbp"] == 0
    assert row["price_effect_gbp"] == 500.0
    assert result.units.loc[("A", "outpatient_first"), "opportunity_activity"] == 0


def _synthetic(n: int = 120, seed: int = 7) -> tuple:
    """Practices with overdispersed use of two services from two providers (illustrative)."""
    rng = np.random.default_rng(seed)
    codes = [f"P{i:03d}" for i in range(n)]
    population = Population.from_frame(
        pd.DataFrame({"code": codes, "pop": rng.integers(2_000, 15_000, n),
                      "place": [f"PL{i % 6}" for i in range(n)]}),
        id="code", population="pop", levels=["place"])
    need = rng.lognormal(0, 0.2, n)
    weighted = population.frame["population"] * need
    rows = []
    for service, rate, price in (("emergency_admissions", 0.08, 2_100.0),
                                 ("a_and_e", 0.30, 170.0)):
        for provider in ("Trust A", "Trust B"):
            activity = rng.poisson(weighted.to_numpy() * rate / 2 * rng.gamma(15, 1 / 15, n))
            patients = np.where(activity > 0, np.maximum(1, rng.binomial(activity, 0.8)), 0)
            cost = activity * price * rng.gamma(40, 1 / 40, n)
            rows.append(pd.DataFrame({"practice": codes, "service": service,
                                      "provider": provider, "activity": activity,
                                      "patients": patients, "cost_gbp": cost}))
    activity = read_activity(pd.concat(rows, ignore_index=True), practices=population)
    indicators = pd.DataFrame({"need_index": need, "size": np.log(
        population.frame["population"].to_numpy())}, index=population.codes)
    return population, activity, weighted, indicators


def test_opportunity_ties_out_to_observed_minus_benchmark_times_expected():
    # Σ opportunity £ = Σ over units above benchmark of (O − b E) × (cost / activity),
    # to within half a penny a unit (each unit's £ is rounded to whole pence).
    population, activity, weighted, indicators = _synthetic()
    observed = activity.table("activity", population.codes)
    expected = expected_by_weighted_population(observed, weighted)
    result = value_opportunity(activity, expected, indicators)
    units = result.units
    cost = activity.table("cost_gbp", population.codes).stack()
    o, e, b = units["observed"], units["expected"], units["benchmark_ratio"]
    above = o > b * e
    by_hand = ((o - b * e) * cost.reindex(units.index) / o)[above].sum()
    assert units["opportunity_gbp"].sum() == pytest.approx(by_hand, abs=0.005 * above.sum())
    assert (units["opportunity_activity"][~above] == 0).all()
    summary = result.summary()
    assert summary["opportunity_gbp"].sum() == pytest.approx(units["opportunity_gbp"].sum(),
                                                             abs=1e-6)
    # How many carrying opportunity are also flagged high on the funnel.
    for service in result.services:
        part = units.xs(service, level="service")
        carrying = part["above_benchmark"]
        assert summary.loc[service, "units_above_benchmark"] == carrying.sum()
        assert summary.loc[service, "also_high_95"] == (carrying
                                                        & (part["flag_95"] == "high")).sum()
        assert summary.loc[service, "also_high_998"] <= summary.loc[service, "also_high_95"]
        assert summary.loc[service, "phi"] == result.funnels[service].phi
    decomposition = result.decomposition()
    pence = (decomposition * 100).round().astype("Int64")
    assert (pence["access_effect_gbp"] + pence["intensity_effect_gbp"]
            + pence["price_effect_gbp"] == pence["gap_gbp"]).all()


def test_units_at_a_level_sum_their_practices():
    population, activity, weighted, indicators = _synthetic()
    places = pd.Index(sorted(population.frame["place"].unique()), name="place")
    codes = population.level_codes("place")
    observed = activity.table("activity", places, codes)
    expected = expected_by_weighted_population(observed, weighted.groupby(codes).sum())
    place_indicators = indicators.groupby(codes).mean()
    result = value_opportunity(activity, expected, place_indicators, population=population,
                               level="place", similar=3, best=2)
    assert result.units.index.names == ["place", "service"]
    assert result.units["observed"].sum() == activity.frame["activity"].sum()


def test_activity_changes_by_hand_and_into_a_service_budget():
    # A (150 attendances: 100 at Trust X, 50 at Trust Y) has 50 of opportunity,
    # shared 100:50, so 33.33 at X and 16.67 at Y. Realising half over two years:
    # X: −0.5 × 33.33/500 × k/2, Y: −0.5 × 16.67/50 × k/2 for k = 1, 2.
    frame = pd.DataFrame({
        "practice": ["A", "A", "B", "C", "D", "E"], "service": "outpatient_first",
        "provider": ["Trust X", "Trust Y", "Trust X", "Trust X", "Trust X", "Trust X"],
        "activity": [100, 50, 100, 100, 100, 100],
        "cost_gbp": [1_000, 600, 1_000, 1_000, 1_000, 1_000]})
    expected = pd.DataFrame({"outpatient_first": 100.0}, index=pd.Index(CODES, name="practice"))
    result = value_opportunity(read_activity(frame), expected, INDICATORS, similar=4, best=4)
    changes = result.activity_changes(realised=0.5, years=["2026/27", "2027/28"])
    assert list(changes.columns) == ["provider", "pod", "activity", "price_gbp",
                                     "opportunity_activity", "activity_change_2026_27",
                                     "activity_change_2027_28"]
    x, y = changes.iloc[0], changes.iloc[1]
    assert (x["provider"], y["provider"]) == ("Trust X", "Trust Y")
    assert x["activity"] == 500 and x["price_gbp"] == 10.0 and y["price_gbp"] == 12.0
    assert x["opportunity_activity"] == pytest.approx(100 / 3, rel=1e-12)
    assert x["activity_change_2026_27"] == pytest.approx(-0.5 * (100 / 3) / 500 / 2, rel=1e-12)
    assert y["activity_change_2027_28"] == pytest.approx(-0.5 * (50 / 3) / 50, rel=1e-12)
    assert list(result.activity_changes(years=3).columns[-3:]) == [
        "activity_change_1", "activity_change_2", "activity_change_3"]

    # The lines take a cost structure (illustrative) and become a capitated budget.
    lines = changes.assign(fixed=0.3, semi_fixed=0.2, variable=0.5, fixed_release_years=2.0,
                           semi_fixed_release_years=1.0)
    years = ("2026/27", "2027/28")
    budget = build_budget(ServiceBudgetInputs(
        name="Outpatients", baseline_year="2025/26", years=years, growth=0.0,
        price_uplift=np.zeros(2), stranded_support=np.zeros(2), lines=lines,
        activity_change=changes[["activity_change_2026_27", "activity_change_2027_28"]]
        .set_axis(list(years), axis=1)))
    planned = budget.budget_lines.query("year == '2027/28'")["planned_activity"].to_numpy()
    np.testing.assert_allclose(planned, [500 - 100 / 6, 50 - 50 / 6], rtol=1e-12)


def test_bad_arguments_are_named():
    activity, expected = _five(150, 1_800, 75)
    with pytest.raises(InputError, match="benchmark must be one of best_peers, peer_median"):
        value_opportunity(activity, expected, INDICATORS, benchmark="best")
    with pytest.raises(InputError, match="expected has services a_and_e and the activity "
                                         "outpatient_first"):
        value_opportunity(activity, expected.set_axis(["a_and_e"], axis=1), INDICATORS)
    with pytest.raises(InputError, match="no price for service outpatient_first"):
        value_opportunity(activity, expected, INDICATORS, similar=4, price_gbp={"x": 1.0})
    with pytest.raises(InputError, match='units at level "place" need the population'):
        value_opportunity(activity, expected, INDICATORS, level="place")
    result = value_opportunity(activity, expected, INDICATORS, similar=4, best=4)
    with pytest.raises(InputError, match='need column "provider"'):
        result.activity_changes()
    with pytest.raises(InputError, match="realised must be a fraction from 0 to 1"):
        result.activity_changes(realised=1.5)
    no_patients = read_activity(activity.frame.drop(columns=["patients"]))
    with pytest.raises(InputError, match='needs column "patients"'):
        value_opportunity(no_patients, expected, INDICATORS, similar=4, best=4).decomposition()
