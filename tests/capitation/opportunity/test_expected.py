"""Expected use from need: indirect standardisation, weighted population, Poisson intervals."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitation import Component, InputError, NeedsFormula, Population, allocate
from capitation.opportunity import (
    expected_by_age_sex,
    expected_by_weighted_population,
    poisson_interval,
    population_by_age_band,
    read_activity,
    reference_rates,
    standardised_ratios,
)

# Three practices, two age bands (one sex), the populations of
# docs/methods/weighted-capitation.md#from-the-register.
PEOPLE = pd.DataFrame({
    "practice": ["P1", "P1", "P2", "P2", "P3", "P3"],
    "sex": "F",
    "age_band": ["0-64", "65+"] * 3,
    "population": [800, 200, 900, 100, 500, 500],
})
ADMISSIONS = pd.DataFrame({
    "practice": ["P1", "P1", "P2", "P2", "P3", "P3"],
    "service": "emergency_admissions",
    "sex": "F",
    "age_band": ["0-64", "65+"] * 3,
    "activity": [40, 50, 27, 30, 20, 120],
})


def test_indirect_standardisation_by_hand():
    # Reference rates from the three practices' totals:
    #   0-64: (40 + 27 + 20) / (800 + 900 + 500) = 87/2,200;  65+: (50 + 30 + 120)/800 = 1/4.
    # Expected = Σ rate × population:
    #   P1 = 800 × 87/2,200 + 200/4 = 898/11,  P2 = 900 × 87/2,200 + 100/4 = 1,333/22,
    #   P3 = 500 × 87/2,200 + 500/4 = 3,185/22; they add up to 287 = 90 + 57 + 140 observed.
    # Ratios O/E: 90 × 11/898, 57 × 22/1,333, 140 × 22/3,185.
    activity = read_activity(ADMISSIONS)
    rates = reference_rates(activity, PEOPLE).set_index(["sex", "age_band"])["rate"]
    assert rates[("F", "0-64")] == pytest.approx(87 / 2_200, rel=1e-15)
    assert rates[("F", "65+")] == 0.25
    expected = expected_by_age_sex(PEOPLE, reference_rates(activity, PEOPLE))
    by_hand = [Fraction(898, 11), Fraction(1_333, 22), Fraction(3_185, 22)]
    np.testing.assert_allclose(expected["emergency_admissions"], [float(f) for f in by_hand],
                               rtol=1e-12)
    assert expected["emergency_admissions"].sum() == pytest.approx(287, rel=1e-12)
    observed = activity.table("activity", expected.index)
    ratios = standardised_ratios(observed, expected)
    np.testing.assert_allclose(
        ratios["ratio"],
        [float(Fraction(90) / by_hand[0]), float(Fraction(57) / by_hand[1]),
         float(Fraction(140) / by_hand[2])], rtol=1e-12)


def test_indirect_standardisation_sums_to_a_level():
    population = Population.from_frame(
        pd.DataFrame({"code": ["P1", "P2", "P3"], "pop": [1_000, 1_000, 1_000],
                      "place": ["A", "A", "B"]}),
        id="code", population="pop", levels=["place"])
    activity = read_activity(ADMISSIONS, practices=population)
    rates = reference_rates(activity, PEOPLE)
    places = expected_by_age_sex(PEOPLE, rates, units=pd.Index(["A", "B"], name="place"),
                                 level_codes=population.level_codes("place"))
    # A = P1 + P2 = 898/11 + 1,333/22 = 3,129/22; B = P3 = 3,185/22.
    np.testing.assert_allclose(places["emergency_admissions"], [3_129 / 22, 3_185 / 22],
                               rtol=1e-12)
    assert places.index.name == "place"


def test_a_given_reference_table_is_used_as_is():
    rates = pd.DataFrame({"service": "emergency_admissions", "sex": "F",
                          "age_band": ["0-64", "65+"], "rate": [0.05, 0.2]})
    expected = expected_by_age_sex(PEOPLE, rates)
    # P1 = 800 × 0.05 + 200 × 0.2 = 80.
    assert expected.loc["P1", "emergency_admissions"] == pytest.approx(80, rel=1e-15)
    with pytest.raises(InputError, match='no rate for service "emergency_admissions", sex F, '
                                         'age band "65\\+"'):
        expected_by_age_sex(PEOPLE, rates.iloc[:1])


@given(st.lists(st.tuples(st.integers(1, 3_000), st.integers(1, 3_000), st.integers(0, 300),
                          st.integers(0, 300)), min_size=2, max_size=12))
def test_expected_adds_up_to_observed_when_rates_come_from_the_set(rows):
    codes = [f"P{i}" for i in range(len(rows))]
    people = pd.DataFrame({"practice": np.repeat(codes, 2), "sex": "M",
                           "age_band": ["0-64", "65+"] * len(rows),
                           "population": [n for r in rows for n in r[:2]]})
    activity = read_activity(pd.DataFrame({
        "practice": np.repeat(codes, 2), "service": "a_and_e", "sex": "M",
        "age_band": ["0-64", "65+"] * len(rows), "activity": [n for r in rows for n in r[2:]]}))
    expected = expected_by_age_sex(people, reference_rates(activity, people))
    total = sum(r[2] + r[3] for r in rows)
    assert expected["a_and_e"].sum() == pytest.approx(total, rel=1e-12, abs=1e-9)


def test_weighted_population_share_by_hand():
    # docs/methods/weighted-capitation.md#from-the-register's weighted counts 1,400, 1,200 and 2,000
    # (total 4,600); 287
    # admissions shared in proportion: 287 × 1,400/4,600 = 87.3478..., and so on.
    observed = pd.DataFrame({"emergency_admissions": [90.0, 57.0, 140.0]},
                            index=pd.Index(["P1", "P2", "P3"], name="practice"))
    weights = pd.Series([2_000.0, 1_200.0, 1_400.0], index=["P3", "P2", "P1"])  # any order
    expected = expected_by_weighted_population(observed, weights)
    np.testing.assert_allclose(expected["emergency_admissions"],
                               [287 * 1_400 / 4_600, 287 * 1_200 / 4_600, 287 * 2_000 / 4_600],
                               rtol=1e-12)


def test_weighted_population_from_an_allocation():
    # allocate() reports weighted_population = target / Σ target × Σ population, from
    # targets in whole pence (docs/methods/weighted-capitation.md#the-weighted-population-reported):
    # 913.04, 782.61 and 1,304.35 of 3,000.
    df = pd.DataFrame({"code": ["P1", "P2", "P3"], "pop": [1_000, 1_000, 1_000],
                       "WP": [1_400, 1_200, 2_000]})
    population = Population.from_frame(df, id="code", population="pop", columns=["WP"])
    formula = NeedsFormula((Component("core", share=1.0, blend={"WP": 1.0}),))
    allocation = allocate(population, formula, envelope_gbp=3_000_000)
    observed = pd.DataFrame({"a_and_e": [300.0, 300.0, 400.0]},
                            index=pd.Index(["P1", "P2", "P3"], name="practice"))
    by_total = expected_by_weighted_population(observed, allocation)
    by_component = expected_by_weighted_population(observed, allocation,
                                                   components={"a_and_e": "core"})
    np.testing.assert_allclose(by_total["a_and_e"], [1_000 * 1_400 / 4_600,
                                                     1_000 * 1_200 / 4_600,
                                                     1_000 * 2_000 / 4_600], rtol=1e-8)
    pd.testing.assert_frame_equal(by_total, by_component)
    with pytest.raises(InputError, match='component "msk" of service "a_and_e" is not'):
        expected_by_weighted_population(observed, allocation, components={"a_and_e": "msk"})


def test_weighted_population_refuses_other_units():
    observed = pd.DataFrame({"a_and_e": [1.0, 2.0]}, index=pd.Index(["P1", "P2"]))
    with pytest.raises(InputError, match="P3 in weighted_population but not in observed"):
        expected_by_weighted_population(observed, pd.Series([1.0, 1.0, 1.0],
                                                            index=["P1", "P2", "P3"]))


def test_exact_poisson_interval_by_hand():
    # With 2 degrees of freedom the chi-square is exponential: χ²(p; 2) = −2 ln(1 − p).
    # O = 0: lower 0, upper χ²(0.975; 2)/2 = −ln 0.025 = 3.68888.
    # O = 1: lower χ²(0.025; 2)/2 = −ln 0.975 = 0.025318; upper χ²(0.975; 4)/2, and the
    # chi-square on 4 df has P(X ≤ x) = 1 − e^(−x/2)(1 + x/2): 5.5716 solves it (Garwood 1936).
    lower, upper = poisson_interval(np.array([0.0, 1.0]))
    assert lower[0] == 0 and upper[0] == pytest.approx(-math.log(0.025), rel=1e-12)
    assert lower[1] == pytest.approx(-math.log(0.975), rel=1e-12)
    x = 2 * upper[1]
    assert 1 - math.exp(-x / 2) * (1 + x / 2) == pytest.approx(0.975, rel=1e-12)
    assert upper[1] == pytest.approx(5.5716, abs=1e-4)


def test_standardised_ratio_intervals_divide_by_expected():
    observed = pd.DataFrame({"s": [0.0, 1.0]}, index=pd.Index(["A", "B"], name="place"))
    expected = pd.DataFrame({"s": [2.0, 4.0]}, index=pd.Index(["A", "B"], name="place"))
    ratios = standardised_ratios(observed, expected)
    assert list(ratios.columns) == ["observed", "expected", "ratio", "ratio_lower_95",
                                    "ratio_upper_95"]
    assert ratios.loc[("A", "s"), "ratio_upper_95"] == pytest.approx(-math.log(0.025) / 2)
    assert ratios.loc[("B", "s"), "ratio_lower_95"] == pytest.approx(-math.log(0.975) / 4)
    with pytest.raises(InputError, match="expected a number above 0"):
        standardised_ratios(observed, expected * 0)


def test_population_by_age_band_counts_the_register():
    register = pd.DataFrame({"practice": ["P1"] * 4, "sex": ["F", "F", "F", "M"],
                             "age": [3, 64, 95, 70], "patients": [10, 20, 5, 7]})
    out = population_by_age_band(register, ["0-64", "65+"])
    assert out.to_dict("records") == [
        {"practice": "P1", "sex": "F", "age_band": "0-64", "population": 30.0},
        {"practice": "P1", "sex": "F", "age_band": "65+", "population": 5.0},
        {"practice": "P1", "sex": "M", "age_band": "65+", "population": 7.0}]
    with pytest.raises(InputError, match='age band "66\\+" starts at 66, expected 65'):
        population_by_age_band(register, ["0-64", "66+"])
    with pytest.raises(InputError, match='"old" is not an age band'):
        population_by_age_band(register, ["0-64", "old"])


def test_reference_rates_name_what_is_missing():
    activity = read_activity(ADMISSIONS)
    with pytest.raises(InputError, match='practice "P3" has activity but no population'):
        reference_rates(activity, PEOPLE[PEOPLE["practice"] != "P3"])
    other_band = PEOPLE.assign(age_band=PEOPLE["age_band"].replace({"65+": "65-120"}))
    with pytest.raises(InputError, match='age band "65\\+" \\(emergency_admissions\\), but the '
                                         "population has no such band"):
        reference_rates(activity, other_band)
    no_age = read_activity(ADMISSIONS.groupby(["practice", "service"], as_index=False)
                           ["activity"].sum())
    with pytest.raises(InputError, match="need activity by sex and age band"):
        reference_rates(no_age, PEOPLE)
