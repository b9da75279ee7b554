"""Risk tiers, opportunity and patient-specific budgets on the pandas engine.

Method: docs/methods/weighted-capitation.md#from-people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation import Model
from capitation.persons.tiers import (
    RiskTier,
    assign_tiers,
    boundaries_by_sort,
    order_key,
    rank_boundaries,
)
from tests.capitation.persons.helpers import (
    practices_frame,
    tiered_persons,
    write_model,
    write_persons,
)


@pytest.fixture(scope="module")
def roland(tmp_path_factory):
    # docs/methods/weighted-capitation.md#from-people: 20,000 persons in tiers of 0.5%, 4.5%, 15%
    # and 80%:
    # 100, 900, 3,000 and 16,000 persons, weights 18.6, 5.5, 1.7 and 0.5.
    tmp = tmp_path_factory.mktemp("roland")
    persons = tiered_persons([100, 900, 3_000, 16_000])
    write_persons(persons, tmp / "persons", parts=3)
    model = write_model(tmp, "persons", practices_frame(["P1", "P2", "P3", "P4"]),
                        envelope=19_910_000)
    return Model.from_toml(model).run(), persons


def test_tier_shares_are_the_domain_figures(roland):
    # Weights: 100 × 18.6 = 1,860; 900 × 5.5 = 4,950; 3,000 × 1.7 = 5,100;
    # 16,000 × 0.5 = 8,000; total 19,910 (the seed's 0.093, 0.2475, 0.255 and 0.4
    # out of 0.9955). Shares 9.34%, 24.86%, 25.62%, 40.18%.
    results, _ = roland
    tiers = results.tiers
    assert tiers.index.tolist() == ["very high", "high", "moderate", "low"]
    assert tiers["persons"].tolist() == [100, 900, 3_000, 16_000]
    assert np.round(tiers["need_share"].to_numpy() * 100, 2).tolist() == [
        9.34, 24.86, 25.62, 40.18]
    assert tiers["population_share"].tolist() == pytest.approx([0.005, 0.045, 0.15, 0.8])
    # The envelope is £1,000 per unit of weight: the top tier's target is £1,860,000.
    assert tiers["target_gbp"].tolist() == [1_860_000.0, 4_950_000.0, 5_100_000.0, 8_000_000.0]
    assert tiers["target_per_head_gbp"].tolist() == pytest.approx([18_600, 5_500, 1_700, 500])


def test_opportunity_of_a_ten_percent_cut(roland):
    # docs/methods/weighted-capitation.md#from-people: 10% through the top 0.5% needs 10 / 9.342 =
    # 107.0% of its
    # own need (impossible); through the next 4.5%, 10 / 24.862 = 40.2%.
    results, _ = roland
    opportunity = results.opportunity(0.10)
    required = opportunity.tiers["required_reduction_in_tier"]
    assert round(required["very high"] * 100, 1) == 107.0
    assert round(required["high"] * 100, 1) == 40.2
    assert opportunity.tiers["possible"].tolist() == [False, True, True, True]


def test_cohort_reaching_half_of_need(roland):
    # Half of 19,910 is 9,955. The top 1,000 persons hold 1,860 + 4,950 = 6,810;
    # the remaining 3,145 takes 3,145 / 1.7 = 1,850 persons of the next tier.
    # Cohort: 2,850 of 20,000 persons = 14.25% (within one person for float sums).
    results, _ = roland
    assert results.opportunity().cohort_50_share == pytest.approx(0.1425, abs=1 / 20_000)


def test_person_budgets_add_up_to_practice_targets(roland):
    results, persons = roland
    budgets = results.person_budgets()
    assert len(budgets) == 20_000 and budgets.index.name == "person_id"
    per_practice = (budgets.groupby("practice")["budget_gbp"].sum() * 100).round().astype(int)
    targets = (results.table("practice")["target_gbp"] * 100).round().astype(int)
    assert per_practice.to_dict() == targets.to_dict()
    # Everyone in a tier weighs the same, so budgets within a practice and tier
    # differ by at most one penny (largest remainder).
    spread = budgets.groupby(["practice", "tier"])["budget_gbp"].agg(["min", "max"])
    assert ((spread["max"] - spread["min"]) <= 0.0100001).all()
    top = results.person_budgets(tiers="very high", practice="P1")
    assert set(top["tier"]) == {"very high"} and set(top["practice"]) == {"P1"}
    assert len(top) == 25


def test_workbook_has_tiers_and_opportunity(roland, tmp_path):
    import openpyxl

    results, _ = roland
    out = results.to_excel(tmp_path / "out.xlsx")
    book = openpyxl.load_workbook(out)
    assert {"tiers", "opportunity"} <= set(book.sheetnames)
    # Four tiers on rows 7-10 (under the title block and the header); the reduction each
    # tier's formula reads sits under them, on row 12.
    sheet = book["opportunity"]
    assert sheet["C7"].value == "=$B$12/B7"
    assert (sheet["A12"].value, sheet["B12"].value) == ("System-wide reduction (%)", 0.1)
    assert book["tiers"]["B11"].value == "=SUBTOTAL(9,B7:B10)"  # 20,000 persons


def test_tier_boundaries_on_1000_persons(tmp_path):
    # 1,000 persons: a 0-0.5% tier holds ranks floor(0) .. floor(0.005 × 1000 + 0.5) - 1
    # = ranks 0-4. Persons ranked 3 to 7 share one score, so ids decide: of the
    # tied ids 50, 40, 30, 20, 10 the two lowest (10 and 20) take ranks 3 and 4.
    n = 1_000
    score = np.linspace(1000.0, 1.0, n)
    score[3:8] = score[3]  # ranks 3-7 tie
    ids = np.arange(1, n + 1) + 100
    ids[3:8] = [50, 40, 30, 20, 10]
    persons = pd.DataFrame({"person_id": ids, "practice": "P1", "sex": "F", "age": 70,
                            "risk_score": score})
    write_persons(persons, tmp_path / "persons")
    tiers = [("top", 0.0, 0.005, 10.0), ("rest", 0.005, 1.0, 1.0)]
    model = write_model(tmp_path, "persons", practices_frame(["P1"]), envelope=1_000_000,
                        tiers=tiers)
    results = Model.from_toml(model).run()
    assert results.tiers["persons"].tolist() == [5, 995]
    budgets = results.person_budgets()
    assert sorted(budgets.index[budgets["tier"] == "top"]) == [10, 20, 101, 102, 103]


def test_boundary_keys_match_ranks_with_many_ties():
    # The Dask engine assigns tiers by boundary keys; they must give the same
    # tiers as ranking everyone, also with heavy ties and empty tiers.
    rng = np.random.default_rng(5)
    n = 5_003
    score = rng.integers(0, 40, n).astype(float)
    ids = rng.permutation(n) * 3 + 7
    tiers = [RiskTier("a", 0.0, 0.0001, 1), RiskTier("b", 0.0001, 0.013, 1),
             RiskTier("c", 0.013, 0.5, 1), RiskTier("d", 0.5, 1.0, 1)]
    u = order_key(score)
    bounds, order = boundaries_by_sort(u, ids, tiers)
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    expected = np.searchsorted(rank_boundaries(tiers, n)[1:-1], ranks, side="right")
    assert np.array_equal(assign_tiers(u, ids, bounds), expected)
    assert np.bincount(expected, minlength=4).tolist() == [1, 64, 2_437, 2_501]


def test_order_key_descends_with_score():
    score = np.array([0.0, -0.0, 1e-300, 0.5, 2.0, 1e300])
    u = order_key(score)
    assert u[0] == u[1]
    assert (np.diff(u[1:].astype(object)) < 0).all()


def test_given_tier_column(tmp_path):
    persons = tiered_persons([10, 90])
    persons["tier"] = np.where(persons["risk_score"] > persons["risk_score"].iloc[10] + 1e-9,
                               "top", "rest")
    write_persons(persons.drop(columns="risk_score"), tmp_path / "persons")
    model = write_model(tmp_path, "persons", practices_frame(["P1", "P2", "P3", "P4"]),
                        envelope=100_000, tiers=[("top", 0.0, 0.1, 9.0), ("rest", 0.1, 1.0, 1.0)],
                        risk='risk_tier = "tier"')
    results = Model.from_toml(model).run()
    assert results.tiers["persons"].tolist() == [10, 90]
    assert results.tiers["need_share"].tolist() == pytest.approx([0.5, 0.5])


def test_component_tier_weights_override(tmp_path):
    persons = tiered_persons([100, 900, 3_000, 16_000])
    write_persons(persons, tmp_path / "persons")
    components = ('[[component]]\nname = "core"\nshare = 0.5\n\n'
                  '[[component]]\nname = "flat"\nshare = 0.5\n'
                  'tier_weights = { "very high" = 1.0, "high" = 1.0, "moderate" = 1.0, '
                  '"low" = 1.0 }\n')
    model = write_model(tmp_path, "persons", practices_frame(["P1", "P2", "P3", "P4"]),
                        envelope=19_910_000, components=components)
    results = Model.from_toml(model).run()
    # Half the envelope by Roland weights, half per head: 0.5 × 9.342% + 0.5 × 0.5%.
    assert results.tiers["need_share"].iloc[0] == pytest.approx(0.5 * 1_860 / 19_910
                                                                + 0.5 * 0.005)
