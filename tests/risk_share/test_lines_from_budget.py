"""Plan lines from capitation's service budget."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from risk_share import Agreement, InputError, plan_lines_from_budget


def budget():
    # A hand-made budget_lines frame shaped like docs/methods/service-budget.md#worked-example (two
    # years of two acute lines,
    # the triage new service, and stranded-cost support on the acute lines).
    return SimpleNamespace(
        budget_lines=pd.DataFrame(
            {
                "provider": ["Acute trust", "Acute trust", "Community MSK"] * 2,
                "pod": ["Outpatient first", "Elective inpatient", "Physiotherapy-led triage"] * 2,
                "year": ["2017/18"] * 3 + ["2018/19"] * 3,
                "planned_activity": [15_150, 1_919, 13_000, 15_301.5, 1_836.18, 13_000],
                "price_gbp": [153.0, 4_080.0, 120.0, 155.295, 4_141.2, 122.0],
                "support_gbp": [154_530.0, 171_700.0, 0.0, 39_604.11, 56_325.84, 0.0],
                "kind": ["line", "line", "new_service"] * 2,
            }
        )
    )


def test_plan_lines_for_a_year():
    lines = plan_lines_from_budget(budget(), year="2018/19")
    assert lines.columns.tolist() == ["party", "pod", "planned_activity", "price_gbp", "fixed"]
    assert lines["party"].tolist() == ["Acute trust", "Acute trust", "Community MSK", "Acute trust"]
    assert lines["pod"].tolist() == [
        "Outpatient first",
        "Elective inpatient",
        "Physiotherapy-led triage",
        "Stranded-cost support",
    ]
    assert lines["planned_activity"].tolist() == [15_301.5, 1_836.18, 13_000, 1.0]
    # Support: 39,604.11 + 56,325.84 = 95,929.95 (docs/methods/service-budget.md#worked-example's
    # 2018/19 stranded_support).
    assert lines["price_gbp"].tolist() == [155.295, 4_141.2, 122.0, 95_929.95]
    assert lines["fixed"].tolist() == [False, False, False, True]


def test_the_example_agreement_takes_plan_lines_from_the_msk_budget():
    # The issue: models/msk_agreement.toml works with plan lines built from models/msk.toml.
    from capitation.model import Model

    results = Model.from_toml("models/msk.toml").run()
    lines = plan_lines_from_budget(results, year="2018/19")
    support = lines[lines["pod"] == "Stranded-cost support"]
    assert support["fixed"].tolist() == [True]
    ag = Agreement.from_toml("models/msk_agreement.toml")
    sim = ag.simulate(lines, n=200, cv=0.05, seed=3)
    assert sim.positions.shape == (200, 3)
    # The support line is fixed and every other line has some variance.
    assert sim.lines.loc[sim.lines["fixed"], "pod"].tolist() == ["Stranded-cost support"]


def test_unknown_year_and_missing_column():
    with pytest.raises(
        InputError, match=r"year '2030/31' is not in the budget \(years: 2017/18, 2018/19\)"
    ):
        plan_lines_from_budget(budget(), year="2030/31")
    broken = budget()
    broken.budget_lines = broken.budget_lines.drop(columns="support_gbp")
    with pytest.raises(InputError, match="missing column 'support_gbp'"):
        plan_lines_from_budget(broken, year="2018/19")
