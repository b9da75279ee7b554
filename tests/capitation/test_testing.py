"""capitation.testing helpers: they pass on good results and fail on broken ones."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import Component, Model, NeedsFormula, Population, allocate
from capitation.testing import assert_ties_out, assert_transfers_balance, assert_whole_pence

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_demo_ties_out():
    assert_ties_out(Model.from_toml(MODELS / "demo.toml").run())


def test_broken_results_fail():
    results = Model.from_toml(MODELS / "register_example" / "model.toml").run()
    year = results.years[0]
    broken_table = results.tables[year]["ICB"].copy()
    broken_table.iloc[0, broken_table.columns.get_loc("allocation_gbp")] += 0.01
    broken = dataclasses.replace(results, tables={year: {**results.tables[year],
                                                         "ICB": broken_table}})
    with pytest.raises(AssertionError, match="ICB allocation_gbp"):
        assert_ties_out(broken)


def test_whole_pence_and_transfers():
    assert_whole_pence(pd.Series([1.23, 4.5]))
    with pytest.raises(AssertionError):
        assert_whole_pence(pd.Series([1.234]))
    # docs/methods/settlement.md: transfers -137,820 + 91,880 + 45,940 = 0; finals 1,095,500.
    parties = pd.DataFrame({"pool_transfer_gbp": [-137_820.0, 91_880.0, 45_940.0],
                            "final_position_gbp": [491_880.0, 679_680.0, -76_060.0]})
    assert_transfers_balance(parties, 1_095_500.0)
    with pytest.raises(AssertionError):
        assert_transfers_balance(parties, 1_095_500.01)


def _one_practice(envelope_gbp):
    """One practice in one ICB: every figure of every level is the whole envelope."""
    frame = pd.DataFrame({"code": ["P1"], "ICB": ["I1"], "pop": [10], "wp": [10.0]})
    population = Population.from_frame(frame, id="code", population="pop", levels=["ICB"],
                                       columns=["wp"])
    formula = NeedsFormula((Component("core", share=1.0, blend={"wp": 1.0}),))
    return allocate(population, formula, envelope_gbp=envelope_gbp)


def _with_figures(allocation, change):
    tables = {level: table.assign(**{c: change(table[c]) for c in
                                     ("target_gbp", "allocation_gbp", "target_core_gbp")})
              for level, table in allocation.tables.items()}
    return dataclasses.replace(allocation, tables=tables)


def test_ties_out_above_100bn_in_integer_pence():
    # £871,663,848,928.81 is whole pence. In float64 its last place is 2**-13 pounds
    # (0.0122p), so a whole amount carried through a sum or two in pounds may sit a few
    # units in the last place away. Four (0.049p) failed the old fixed tolerance of 0.001p
    # after the snap; the check is now in integer pence with a tolerance of float noise.
    allocation = _one_practice(871_663_848_928.81)
    assert_ties_out(allocation)

    def noisy(values):
        out = values.to_numpy(dtype=float)
        for _ in range(4):
            out = np.nextafter(out, np.inf)
        return pd.Series(out, index=values.index)

    assert_ties_out(_with_figures(allocation, noisy))
    # Half a penny off is not whole pence, at £871bn as at £1.
    with pytest.raises(AssertionError, match="not whole pence"):
        assert_whole_pence(pd.Series([871_663_848_928.815]))
    # A penny off is whole pence but no longer adds up to the envelope.
    with pytest.raises(AssertionError, match="the envelope is 87166384892881p"):
        assert_ties_out(_with_figures(allocation, lambda v: v + 0.01))


def test_whole_pence_is_checked_above_a_trillion():
    # The snap keeps 15 significant digits, whole pence from £1 trillion: the old check
    # passed £2,000,000,000,000.006 (0.6p off); integer pence catch it.
    assert_whole_pence(pd.Series([2_000_000_000_000.01]))
    with pytest.raises(AssertionError, match="not whole pence"):
        assert_whole_pence(pd.Series([2_000_000_000_000.006]))
