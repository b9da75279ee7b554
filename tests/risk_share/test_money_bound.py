"""The one money bound (capitation.rounding.MAX_MONEY_GBP) in risk shares.

Found by a black-box test: a plan line priced at £1e17 settled with exit status 0
and a pooled variance that looked plausible, because planned and actual values
both saturated int64 pence alike. Prices, planned and actual values (activity ×
price), pool budgets, caps in pounds, variances and appetites beyond £10 trillion
are refused, naming the row, key or figure. File cases: tests/bad_inputs/
(lines_*_too_large.csv, ag_budget_*, ag_cap_gbp_too_large.toml).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from risk_share import Agreement, InputError, Simulation, calibrate

BOUND = "is above the largest amount the toolkit accepts (£10,000,000,000,000)"


def test_plan_lines_beyond_the_bound_are_refused_naming_the_line(agreement, settlement_lines):
    lines = settlement_lines.copy()
    lines.loc[2, "price_gbp"] = 1e17
    with pytest.raises(InputError) as caught:
        agreement.settle(lines)
    assert str(caught.value) == f"column price_gbp, key lines index 2: 1e+17 {BOUND}"
    # Each within the bound, their product not: 1e6 × £1e10 = £1e16 of actual activity.
    lines = settlement_lines.copy()
    lines.loc[1, ["actual_activity", "price_gbp"]] = [1e6, 1e10]
    lines.loc[1, "planned_activity"] = 1.0
    with pytest.raises(InputError) as caught:
        agreement.settle(lines)
    assert str(caught.value) == (
        f"column actual_activity, key lines index 1: actual_activity × price_gbp = 1e+16 {BOUND}")


def test_a_pooled_variance_beyond_the_bound_is_refused(issue_dict):
    # Two of the commissioner's own lines, each £9e12 over plan and within the bound;
    # together their variance, pooled at rate 1, is £1.8e13.
    data = issue_dict()
    del data["marginal_rate"]  # its rates name lines these plan lines do not have
    lines = pd.DataFrame({"party": ["CCG", "CCG"], "pod": ["A", "B"],
                          "planned_activity": [0.0, 0.0], "actual_activity": [9.0, 9.0],
                          "price_gbp": [1e12, 1e12]})
    with pytest.raises(InputError, match=re.escape(
            f"the pooled variance (the sum of marginal payments): 1.8e+13 {BOUND}")):
        Agreement.from_dict(data).settle(lines)


def test_variances_given_in_pounds_are_bounded(agreement):
    with pytest.raises(InputError, match=re.escape(f"variance_gbp: 5e+17 {BOUND}")):
        agreement.share(5e17)
    with pytest.raises(InputError, match=re.escape(f"variance_gbp: 5e+17 {BOUND}")):
        agreement.share(np.array([1.0, 5e17]))
    with pytest.raises(InputError, match=re.escape(f"pooled_variance_gbp: 5e+17 {BOUND}")):
        Simulation.from_variances(agreement, [1.0, 5e17])


@pytest.mark.parametrize(("key", "value", "message"), [
    (("pool", "budget_gbp"), 5e17, f"5e+17 {BOUND}"),
    (("pool", "budget_gbp"), 5e-324, "is below 0.01 (must be at least 0.01, a penny)"),
    (("pool", "budget_gbp"), 0.004, "0.004 is below 0.01 (must be at least 0.01, a penny)"),
    (("party", 1, "max_loss_gbp"), 5e17, f"5e+17 {BOUND}"),
])
def test_agreement_amounts_are_bounded(issue_dict, key, value, message):
    data = issue_dict()
    table = data
    for part in key[:-1]:
        table = table[part]
    if key[-1] == "max_loss_gbp":
        del table["max_loss"]
    table[key[-1]] = value
    with pytest.raises(InputError) as caught:
        Agreement.from_dict(data)
    assert message in str(caught.value)
    assert caught.value.key == ".".join(str(k) for k in key).replace(".1.", "[2].")


def test_a_budget_of_a_penny_is_accepted(issue_dict):
    data = issue_dict()
    data["pool"]["budget_gbp"] = 0.01
    assert Agreement.from_dict(data).budget_gbp == 0.01


def test_an_appetite_beyond_the_bound_is_refused(agreement):
    sim = Simulation.from_variances(agreement, [100.0, -100.0, 300.0])
    with pytest.raises(InputError, match=re.escape(f"appetite: 'CCG' has 5e+17 {BOUND}")):
        calibrate(agreement, sim, appetite={"CCG": 5e17})
