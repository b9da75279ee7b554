"""Public test helpers: check that money ties out.

For anyone testing a model built on the toolkit (and for our own tests):

>>> from capitation.testing import assert_ties_out
>>> assert_ties_out(Model.from_toml("models/demo.toml").run())   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capitation.allocation import Allocation
from capitation.rounding import round_pence

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["assert_ties_out", "assert_whole_pence", "assert_transfers_balance"]

MONEY_COLUMNS = ("target_gbp", "allocation_gbp")

WHOLE_PENCE_ULPS = 4
"""Float noise a whole-pence amount in pounds may carry, in units of its last place."""
WHOLE_PENCE_FLOOR_GBP = 1e-5
"""...and at least this (a thousandth of a penny), for small amounts."""


def _pence(values: pd.Series, what: str = "an amount checked to tie out") -> np.ndarray:
    return np.asarray(round_pence(values.to_numpy(dtype=float), what), dtype=np.int64)


def assert_whole_pence(values: pd.Series, what: str = "amounts") -> None:
    """Assert every amount (pounds) is a whole number of pence.

    In integer pence: an amount is whole when a whole number of pence, back in
    pounds, is the amount itself up to float noise of :data:`WHOLE_PENCE_ULPS`
    units in its last place (at least :data:`WHOLE_PENCE_FLOOR_GBP`). The
    tolerance grows with the amount, as float64's resolution does: a fixed one
    in pence is finer than float64 above about £88bn, and fails whole amounts.
    Up to about £2 trillion an amount half a penny off is always caught.

    Parameters
    ----------
    values : pandas.Series
        Amounts in pounds.
    what : str
        Named in the assertion message.
    """
    amounts_gbp = values.to_numpy(dtype=float)
    pence = _pence(values, what)
    tolerance = np.maximum(WHOLE_PENCE_ULPS * np.spacing(np.abs(amounts_gbp)),
                           WHOLE_PENCE_FLOOR_GBP)
    # The nearest whole pence or either neighbour: near £10 trillion a few units in the
    # last place are a good part of a penny, and noise may tip R(x) to the next penny.
    nearest = np.min([np.abs(amounts_gbp - (pence + step) / 100.0) for step in (-1, 0, 1)],
                     axis=0)
    off = nearest > tolerance
    assert not off.any(), f"{what}: not whole pence at {list(values.index[off][:5])}"


def assert_ties_out(results: Results | Allocation) -> None:
    """Assert a run's (or one allocation's) money ties out at every level and year.

    Every level's ``target_gbp``, ``allocation_gbp`` and component targets are
    whole pence and add up to the same total as the practice level, and the
    component targets add up to the target of each organisation.

    Parameters
    ----------
    results : capitation.Results or capitation.Allocation
        What ``Model.run`` or ``allocate`` returned.
    """
    if isinstance(results, Allocation):
        allocation = results

        def table(level: str, year: str | None) -> pd.DataFrame:
            return allocation.table(level)

        years: list[str | None] = [None]
        expected_total: int | None = allocation.envelope_pence
    else:
        table, years, expected_total = results.table, list(results.years), None
    for year in years:
        practice = table("practice", year)
        components = [c for c in practice.columns if c.startswith("target_") and c != "target_gbp"]
        totals = {c: int(_pence(practice[c]).sum()) for c in (*MONEY_COLUMNS, *components)}
        assert totals["target_gbp"] == totals["allocation_gbp"], (
            f"{year}: targets add up to {totals['target_gbp']}p, allocations to "
            f"{totals['allocation_gbp']}p")
        if expected_total is not None:
            assert totals["target_gbp"] == expected_total, (
                f"targets add up to {totals['target_gbp']}p, the envelope is {expected_total}p")
        for level in results.levels:
            level_table = table(level, year)
            for column, total in totals.items():
                assert_whole_pence(level_table[column], f"{year} {level} {column}")
                got = int(_pence(level_table[column]).sum())
                assert got == total, f"{year} {level} {column}: {got}p, expected {total}p"
            by_component = np.asarray(sum(_pence(level_table[c]) for c in components))
            assert (by_component == _pence(level_table["target_gbp"])).all(), (
                f"{year} {level}: component targets do not add up to target_gbp")


def assert_transfers_balance(parties: pd.DataFrame, total_variance_gbp: float) -> None:
    """Assert a settlement's pool transfers add up to zero and finals to the variance.

    Parameters
    ----------
    parties : pandas.DataFrame
        ``Settlement.parties`` (``pool_transfer_gbp``, ``final_position_gbp``).
    total_variance_gbp : float
        Σ variance over all plan lines (pounds).
    """
    assert int(_pence(parties["pool_transfer_gbp"]).sum()) == 0, "pool transfers do not net to 0"
    finals = int(_pence(parties["final_position_gbp"]).sum())
    expected = round_pence(float(total_variance_gbp))
    assert finals == expected, f"final positions add up to {finals}p, variance is {expected}p"
