"""capitation.allocate on DataFrames: the worked examples of docs/methods, with no file.

Sources: docs/methods/weighted-capitation.md#from-the-register (three practices, £3,000,000), §2.3
(blends and
multipliers), §5.3 (pace of change, year 1 uncapped and capped, year 2) and
§5.4 (the rule). Each test also checks that nothing was written to disk.
"""

import inspect
import os

import numpy as np
import pandas as pd
import pytest

from capitation import (
    Allocation,
    Component,
    InputError,
    NeedsFormula,
    Pace,
    Population,
    RegisterPopulation,
    allocate,
)
from capitation.register.cost_weights import CostWeights


@pytest.fixture(autouse=True)
def no_files_written(tmp_path, monkeypatch):
    """Run each test in an empty folder and check it is still empty afterwards."""
    monkeypatch.chdir(tmp_path)
    yield
    assert os.listdir(tmp_path) == []


def three_practices(x=(1400, 1200, 2000), need=(1.0, 1.0, 1.0)):
    df = pd.DataFrame({"code": ["P1", "P2", "P3"], "ICB": ["A", "A", "B"],
                       "pop": [1000, 1000, 1000], "WP": list(x), "need": list(need)})
    return Population.from_frame(df, id="code", population="pop", levels=["ICB"],
                                 columns=["WP", "need"])


CORE = NeedsFormula((Component("core", share=1.0, blend={"WP": 1.0}),))


def test_three_practices_to_the_penny():
    # docs/methods/weighted-capitation.md#from-the-register: X = 1,400 / 1,200 / 2,000 of 4,600;
    # £3,000,000 shared in
    # proportion is 913,043.478 / 782,608.696 / 1,304,347.826; plain rounding
    # would total £3,000,000.01, so largest remainder gives P2 the floor (0.565p
    # loses to 0.826p and 0.783p... the spare pennies go to P3 and P1).
    allocation = allocate(three_practices(), CORE, envelope_gbp=3_000_000)
    practice = allocation.table("practice")
    assert practice["target_gbp"].tolist() == [913_043.48, 782_608.69, 1_304_347.83]
    assert practice["allocation_gbp"].tolist() == [913_043.48, 782_608.69, 1_304_347.83]
    assert practice["need_index"].to_numpy() == pytest.approx(
        [1400 / 1533.3333, 1200 / 1533.3333, 2000 / 1533.3333], rel=1e-7)
    icb = allocation.table("ICB")
    assert icb.loc["A", "allocation_gbp"] == 913_043.48 + 782_608.69
    assert allocation.pace_of_change is None
    assert allocation.levels == ("practice", "ICB")


def test_need_index_as_a_multiplier():
    # docs/methods/weighted-capitation.md#from-the-register: a need index of 1.1 for P3 only: X3 =
    # 2,200, ΣX = 4,800,
    # P3's target 3,000,000 × 2,200 / 4,800 = £1,375,000.00 (§2.3: multipliers).
    formula = NeedsFormula((Component("core", share=1.0, blend={"WP": 1.0},
                                      multipliers=("need",)),))
    allocation = allocate(three_practices(need=(1.0, 1.0, 1.1)), formula,
                          envelope_gbp=3_000_000)
    assert allocation.table("practice").loc["P3", "target_gbp"] == 1_375_000.00


def test_register_in_memory():
    # docs/methods/weighted-capitation.md#from-the-register through the register: weight 1.0 for
    # ages 0-64, 3.0 for 65+.
    rows = []
    for practice, young, old in [("P1", 800, 200), ("P2", 900, 100), ("P3", 500, 500)]:
        rows += [(practice, "M", 30, young), (practice, "M", 70, old)]
    register = pd.DataFrame(rows, columns=["practice", "sex", "age", "patients"])
    bands = pd.DataFrame({"sex": ["M", "M", "F", "F"], "age_from": [0, 65, 0, 65],
                          "age_to": [64.0, np.nan, 64.0, np.nan], "weight": [1.0, 3.0, 1.0, 3.0]})
    formula = NeedsFormula((Component("core", share=1.0, cost_weights=CostWeights(bands)),))
    source = RegisterPopulation(three_practices(), register)
    allocation = allocate(source, formula, envelope_gbp=3_000_000)
    assert allocation.table("practice")["allocation_gbp"].tolist() == [
        913_043.48, 782_608.69, 1_304_347.83]


def organisations(target=(120, 100, 80)):
    # One practice per organisation, weighted so targets are A 120m, B 100m, C 80m.
    df = pd.DataFrame({"code": ["A1", "B1", "C1"], "ICB": ["A", "B", "C"],
                       "pop": list(target), "WP": list(target)})
    return Population.from_frame(df, id="code", population="pop", levels=["ICB"],
                                 columns=["WP"])


BASELINE = pd.Series({"A": 125_000_000.0, "B": 93_000_000.0, "C": 70_000_000.0})


def test_pace_year_one_uncapped():
    # docs/methods/pace-of-change.md#worked-example year 1: A held at its floor 127,500,000; B and C
    # at λ = 0.958333
    # of target; one penny missing goes to C (0.67 beats 0.33).
    allocation = allocate(organisations(), CORE, envelope_gbp=300_000_000,
                          pace=Pace(level="ICB", baseline_gbp=BASELINE, min_growth=0.02))
    icb = allocation.table("ICB")
    assert icb["allocation_gbp"].tolist() == [127_500_000.00, 95_833_333.33, 76_666_666.67]
    assert icb["baseline_gbp"].tolist() == [125_000_000.0, 93_000_000.0, 70_000_000.0]
    assert allocation.pace_of_change.largest_shortfall == pytest.approx(0.0416667, abs=1e-7)
    assert allocation.pace_of_change.total_shortfall_gbp == pytest.approx(7_500_000, abs=0.01)


def test_pace_year_one_capped():
    # docs/methods/pace-of-change.md#worked-example with max_growth 8%: C at its cap 75,600,000, s*
    # = 0.055,
    # B takes the rest: A 127,500,000, B 96,900,000.
    allocation = allocate(organisations(), CORE, envelope_gbp=300_000_000,
                          pace=Pace("ICB", BASELINE, min_growth=0.02, max_growth=0.08))
    assert allocation.table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.00, 96_900_000.00, 75_600_000.00]
    assert allocation.pace_of_change.largest_shortfall == pytest.approx(0.055, abs=1e-9)


def test_pace_year_two_from_year_one():
    # docs/methods/pace-of-change.md#worked-example year 2: targets 124m / 106m / 85m of £315m,
    # baselines year 1's
    # allocations; A at floor 130,050,000; B 102,642,408.38 takes the missing penny.
    year_1 = allocate(organisations(), CORE, envelope_gbp=300_000_000,
                      pace=Pace("ICB", BASELINE, min_growth=0.02))
    year_2 = allocate(organisations((124, 106, 85)), CORE, envelope_gbp=315_000_000,
                      pace=Pace("ICB", year_1.allocation_gbp("ICB"), min_growth=0.02))
    assert year_2.table("ICB")["allocation_gbp"].tolist() == [
        130_050_000.00, 102_642_408.38, 82_307_591.62]
    assert year_2.pace_of_change.largest_shortfall == pytest.approx(0.0316754, abs=1e-7)


def test_pace_rule():
    # docs/methods/pace-of-change.md#the-rule: B 97,194,323.14, C 75,305,676.86.
    allocation = allocate(organisations(), CORE, envelope_gbp=300_000_000,
                          pace=Pace("ICB", BASELINE, min_growth=0.02, method="rule"))
    assert allocation.table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.00, 97_194_323.14, 75_305_676.86]


def test_practices_share_their_organisation_by_target():
    # docs/methods/pace-of-change.md#the-fairest-optimum: below the pace level, practices share
    # their parent's allocation
    # in proportion to target, by largest remainder within the parent.
    df = pd.DataFrame({"code": ["A1", "A2", "B1", "C1"], "ICB": ["A", "A", "B", "C"],
                       "pop": [60, 60, 100, 80], "WP": [60, 60, 100, 80]})
    population = Population.from_frame(df, id="code", population="pop", levels=["ICB"],
                                       columns=["WP"])
    allocation = allocate(population, CORE, envelope_gbp=300_000_000,
                          pace=Pace("ICB", BASELINE, min_growth=0.02))
    practice = allocation.table("practice")
    assert practice.loc[["A1", "A2"], "allocation_gbp"].tolist() == [63_750_000.0] * 2
    assert int(round(practice["allocation_gbp"].sum() * 100)) == 30_000_000_000


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"envelope_gbp": 3_000_000.001}, "key envelope_gbp: 3000000.001 is not whole pence"),
    ({"envelope_gbp": -1.0}, "key envelope_gbp: -1.0: expected a finite amount"),
    ({"envelope_gbp": "3m"}, "key envelope_gbp: '3m' is not a number of pounds"),
    ({"envelope_gbp": 300_000_000, "pace": Pace("ICB", BASELINE.drop("C"), 0.02)},
     "key pace.baseline_gbp: no baseline for ICB C"),
    ({"envelope_gbp": 300_000_000,
      "pace": Pace("ICB", BASELINE.astype(object).replace({93_000_000.0: "n/a"}), 0.02)},
     "key pace.baseline_gbp: ICB \"B\": 'n/a' is not a number of pounds"),
    ({"envelope_gbp": 300_000_000, "pace": Pace("Region", BASELINE, 0.02)},
     'key pace.level: no level "Region" (levels are practice, ICB)'),
    ({"envelope_gbp": 300_000_000, "convention": "nhse"}, "key convention"),
])
def test_bad_arguments_name_the_argument(kwargs, fragment):
    with pytest.raises(InputError) as caught:
        allocate(organisations(), CORE, **kwargs)
    assert fragment in str(caught.value)


def test_a_column_the_formula_names_must_exist():
    formula = NeedsFormula((Component("core", share=1.0, blend={"Final WP": 1.0}),))
    with pytest.raises(InputError, match='component "core" names column "Final WP"'):
        allocate(organisations(), formula, envelope_gbp=300_000_000)


def test_signatures():
    parameters = inspect.signature(allocate).parameters
    assert list(parameters) == ["population", "formula", "envelope_gbp", "pace", "convention"]
    assert parameters["pace"].default is None
    assert parameters["convention"].default == "toolkit"
    assert list(inspect.signature(Pace).parameters) == [
        "level", "baseline_gbp", "min_growth", "max_growth", "method"]
    assert {"table", "pace_of_change", "allocation_gbp"} <= set(dir(Allocation))
