"""Fixtures for the risk_share tests: the agreement of the risk_share issue.

Method: docs/methods/risk-reward-pool.md.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pandas as pd
import pytest

from risk_share import Agreement

# The agreement of the risk_share issue, as docs/methods/risk-reward-pool.md uses it: B = £40m; loss
# bands
# ≤1% CCG 1.0, then 0.4 / 0.4 / 0.2; gain bands ≤1% CCG 1.0, then 0.5 / 0.3 / 0.2; Acute trust
# max_loss and max_gain 2% (£800,000); residual CCG. Rates are docs/methods/settlement.md's.
ISSUE_AGREEMENT = {
    "agreement": {"name": "Mid-Notts MSK 2018/19", "year": "2018/19", "commissioner": "CCG"},
    "party": [
        {"name": "CCG", "influence": 0.3},
        {"name": "Acute trust", "influence": 0.5, "max_loss": 0.02, "max_gain": 0.02},
        {"name": "Community MSK", "influence": 0.2},
    ],
    "pool": {
        "budget_gbp": 40_000_000,
        "mode": "corridor",
        "residual": "CCG",
        "loss_band": [
            {"upto": 0.01, "shares": {"CCG": 1.0}},
            {"shares": {"CCG": 0.4, "Acute trust": 0.4, "Community MSK": 0.2}},
        ],
        "gain_band": [
            {"upto": 0.01, "shares": {"CCG": 1.0}},
            {"shares": {"CCG": 0.5, "Acute trust": 0.3, "Community MSK": 0.2}},
        ],
    },
    "marginal_rate": [
        {
            "party": "Acute trust",
            "pod": "*",
            "above_plan": 0.2,
            "below_plan": 0.2,
            "tolerance": 0.02,
        },
        {"party": "Acute trust", "pod": "Emergency", "above_plan": 0.3, "below_plan": 0.3},
        {
            "party": "Acute trust",
            "pod": "Elective inpatient",
            "above_plan": 0.75,
            "below_plan": 0.5,
        },
    ],
}


@pytest.fixture(scope="session")
def issue_dict() -> Callable[[], dict]:
    """A fresh deep copy of the issue's agreement as a TOML-like dict, to mutate."""
    return lambda: copy.deepcopy(ISSUE_AGREEMENT)


@pytest.fixture
def agreement() -> Agreement:
    return Agreement.from_dict(copy.deepcopy(ISSUE_AGREEMENT))


@pytest.fixture
def settlement_lines() -> pd.DataFrame:
    """docs/methods/settlement.md's five lines."""
    return pd.DataFrame(
        {
            "party": ["Acute trust", "Acute trust", "Acute trust", "Community MSK", "CCG"],
            "pod": [
                "Outpatient first",
                "Elective inpatient",
                "Emergency",
                "Physiotherapy-led triage",
                "Independent sector",
            ],
            "planned_activity": [15_000, 1_900, 3_000, 13_000, 500],
            "actual_activity": [16_500, 1_750, 3_400, 12_000, 650],
            "price_gbp": [155.0, 4_100.0, 2_500.0, 122.0, 4_000.0],
        }
    )
