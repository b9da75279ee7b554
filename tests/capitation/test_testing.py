"""capitation.testing helpers: they pass on good results and fail on broken ones."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from capitation import Model
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
    # domain.md §8.2: transfers -137,820 + 91,880 + 45,940 = 0; finals 1,095,500.
    parties = pd.DataFrame({"pool_transfer_gbp": [-137_820.0, 91_880.0, 45_940.0],
                            "final_position_gbp": [491_880.0, 679_680.0, -76_060.0]})
    assert_transfers_balance(parties, 1_095_500.0)
    with pytest.raises(AssertionError):
        assert_transfers_balance(parties, 1_095_500.01)
