"""Targets by need on the worked data, through capitation.allocate.

Source: docs/methods/weighted-capitation.md#from-the-register.
"""

import pandas as pd
import pytest

from capitation import Component, Model, NeedsFormula, Population, allocate
from tests.capitation.helpers import WORKED, worked_model

POPULATION = Population.from_frame(WORKED, id="code", population="pop", levels=["ICB"],
                                   columns=["age_0_64", "age_65_plus", "mff"])
BANDS = {"age_0_64": 1.0, "age_65_plus": 3.0}
ONE_COMPONENT = NeedsFormula((Component("core", share=1.0, blend=BANDS),))


def test_worked_example_section_2_1_blend_path():
    # docs/methods/weighted-capitation.md#from-the-register: X = 800 + 3×200 = 1,400; 900 + 3×100 =
    # 1,200; 500 + 3×500 = 2,000.
    # target = 3,000,000 × X / 4,600, rounded by largest remainder (P2 rounds down).
    allocation = allocate(POPULATION, ONE_COMPONENT, envelope_gbp=3_000_000)
    table = allocation.table("practice")
    assert table["weighted_population_core"].tolist() == [1_400, 1_200, 2_000]
    assert table["target_gbp"].tolist() == [913_043.48, 782_608.69, 1_304_347.83]
    assert table["allocation_gbp"].tolist() == table["target_gbp"].tolist()
    # need index = (target/pop) / (3,000,000/3,000): 0.91304348, 0.78260869, 1.30434783
    assert table["need_index"].round(8).tolist() == [0.91304348, 0.78260869, 1.30434783]
    # weighted population = target / Σ target × Σ population (§2.4): P1 913.04
    assert table.loc["P1", "weighted_population"] == pytest.approx(913.04348, abs=1e-5)
    icb = allocation.table("ICB")
    assert icb["target_gbp"].tolist() == [913_043.48 + 782_608.69, 1_304_347.83]
    # in parent: P1 per head 913.04348 over I1's 847.826085 per head
    assert table.loc["P1", "need_index_in_parent"] == pytest.approx(
        913.04348 / ((913_043.48 + 782_608.69) / 2_000), rel=1e-12)
    assert (table["distance_from_target"] == 0).all()


def test_worked_example_through_the_model_file(tmp_path):
    # The same example read from a model file gives the same table.
    components = """
[[component]]
name = "core"
share = 1.0
weighted_population = { "age_0_64" = 1.0, "age_65_plus" = 3.0 }
"""
    results = Model.from_toml(worked_model(tmp_path, components)).run()
    direct = allocate(POPULATION, ONE_COMPONENT, envelope_gbp=3_000_000)
    for level in ["practice", "ICB"]:
        pd.testing.assert_frame_equal(results.table(level), direct.table(level))


def test_need_index_file_equivalent_by_multiplier():
    # docs/methods/weighted-capitation.md#from-the-register: need index 1.1 for P3 only -> X3 =
    # 2,200, ΣX = 4,800, P3 £1,375,000.00.
    # Through the blend path, a multiplier column does the same for that component only.
    formula = NeedsFormula((Component("core", share=1.0, blend=BANDS, multipliers=("mff",)),))
    table = allocate(POPULATION, formula, envelope_gbp=3_000_000).table("practice")
    assert table.loc["P3", "target_gbp"] == 1_375_000.00
    assert table["target_gbp"].sum() == 3_000_000


def test_multiplier_applies_to_its_component_only():
    # Two components of £1,500,000 each; only "hchs" carries the multiplier (P3 × 1.1).
    # hchs: X = 1,400, 1,200, 2,200 of 4,800 -> 437,500.00, 375,000.00, 687,500.00
    # plain: X = 1,000 each -> 500,000.00 each
    population = Population.from_frame(WORKED, id="code", population="pop", levels=["ICB"],
                                       columns=["age_0_64", "age_65_plus", "mff", "pop"])
    formula = NeedsFormula((
        Component("hchs", share=0.5, blend=BANDS, multipliers=("mff",)),
        Component("plain", share=0.5, blend={"pop": 1.0}),
    ))
    table = allocate(population, formula, envelope_gbp=3_000_000).table("practice")
    assert table["target_hchs_gbp"].tolist() == [437_500.0, 375_000.0, 687_500.0]
    assert table["target_plain_gbp"].tolist() == [500_000.0, 500_000.0, 500_000.0]
    assert table["target_gbp"].tolist() == [937_500.0, 875_000.0, 1_187_500.0]
    assert table.loc["P3", "weighted_population_hchs"] == pytest.approx(2_200)


def test_pots_by_largest_remainder_ties_to_earlier_component():
    # £1.00 in thirds: 33.33p each, the spare penny to the first component
    # (docs/methods/rounding.md).
    formula = NeedsFormula(tuple(Component(n, share=1 / 3, blend={"age_0_64": 1.0})
                                 for n in ["zeta", "alpha", "mid"]))
    table = allocate(POPULATION, formula, envelope_gbp=1.00).table("ICB")
    assert table[["target_zeta_gbp", "target_alpha_gbp", "target_mid_gbp"]].sum().tolist() == [
        0.34, 0.33, 0.33]


def test_pot_gbp_components_define_the_envelope():
    formula = NeedsFormula((
        Component("a", pot_pence=100_000_001, blend={"age_0_64": 1.0}),
        Component("b", pot_pence=200_000_000, blend={"age_65_plus": 1.0}),
    ))
    allocation = allocate(POPULATION, formula)
    table = allocation.table("practice")
    assert allocation.envelope_pence == 300_000_001
    assert round(table["target_gbp"].sum(), 2) == 3_000_000.01
    # b: 2,000,000 × 200/800, 100/800, 500/800
    assert table["target_b_gbp"].tolist() == [500_000.0, 250_000.0, 1_250_000.0]


def test_pot_gbp_components_in_a_model_file(tmp_path):
    components = """
[[component]]
name = "a"
pot_gbp = 1_000_000.01
weighted_population = { "pop" = 1.0 }
[[component]]
name = "b"
pot_gbp = 2_000_000
weighted_population = { "age_65_plus" = 1.0 }
"""
    body = worked_model(tmp_path, components).read_text().replace(
        "envelope_gbp = 3_000_000\n", "")
    (tmp_path / "model.toml").write_text(body)
    table = Model.from_toml(tmp_path / "model.toml").run().table("practice")
    assert round(table["target_gbp"].sum(), 2) == 3_000_000.01
    assert table["target_b_gbp"].tolist() == [500_000.0, 250_000.0, 1_250_000.0]


def test_table_is_a_copy():
    allocation = allocate(POPULATION, ONE_COMPONENT, envelope_gbp=3_000_000)
    table = allocation.table("practice")
    table.loc["P1", "target_gbp"] = 0
    assert allocation.table("practice").loc["P1", "target_gbp"] == 913_043.48
    assert isinstance(table, pd.DataFrame)
