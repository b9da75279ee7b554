"""Layer 1: marginal rates per plan line, tolerance corridors, blocks.

Method: docs/methods/marginal-rates.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation.rounding import round_pence
from risk_share import Agreement, InputError
from risk_share.marginal_rates import line_terms, marginal_payments
from risk_share.plan_lines_file import read_lines


def one_line_agreement(tolerance: float, above: float = 0.2, below: float = 0.2) -> Agreement:
    return Agreement.from_dict(
        {
            "agreement": {"name": "t", "year": "2018/19", "commissioner": "CCG"},
            "party": [{"name": "CCG"}, {"name": "Trust"}],
            "pool": {
                "budget_gbp": 10_000_000,
                "mode": "corridor",
                "loss_band": [{"shares": {"CCG": 1.0}}],
                "gain_band": [{"shares": {"CCG": 1.0}}],
            },
            "marginal_rate": [
                {
                    "party": "Trust",
                    "pod": "*",
                    "above_plan": above,
                    "below_plan": below,
                    "tolerance": tolerance,
                }
            ],
        }
    )


def payment_for(ag: Agreement, planned: float, actual: float, price: float) -> tuple[int, int]:
    lines = pd.DataFrame(
        {
            "party": ["Trust"],
            "pod": ["Outpatient first"],
            "planned_activity": [planned],
            "actual_activity": [actual],
            "price_gbp": [price],
        }
    )
    clean = read_lines(lines, ag.party_names, need_actual=True)
    terms = line_terms(ag, clean)
    actual_pence = np.array([[round_pence(actual * price)]], dtype=np.int64)
    variance, payment = marginal_payments(terms, actual_pence)
    return int(variance[0, 0]), int(payment[0, 0])


@pytest.mark.parametrize(
    ("actual", "expected_payment_pence"),
    [
        # docs/methods/marginal-rates.md with a 2% tolerance on planned £100,000.00 (1,000 × £100):
        # t = £2,000.
        (1_000, 0),  # on plan
        (1_015, 0),  # +£1,500: inside the corridor, no adjustment
        (1_020, 0),  # +£2,000: exactly the tolerance, e = 0
        (1_030, 20_000),  # +£3,000: e = £1,000; 0.2 × £1,000 = £200.00
        (985, 0),  # −£1,500: inside
        (950, -60_000),  # −£5,000: e = −£3,000; 0.2 × −£3,000 = −£600.00
    ],
)
def test_tolerance_corridor(actual, expected_payment_pence):
    ag = one_line_agreement(tolerance=0.02)
    variance, payment = payment_for(ag, 1_000, actual, 100.0)
    assert variance == (actual - 1_000) * 100 * 100
    assert payment == expected_payment_pence


def test_payment_rounds_halves_away_from_zero():
    # docs/methods/marginal-rates.md: m = R(rate × e). Variance −£0.05 at rate 0.5 is −2.5p, which
    # R() takes
    # to −3p (halves away from zero), not −2p (half to even).
    ag = one_line_agreement(tolerance=0.0, above=0.5, below=0.5)
    assert payment_for(ag, 100, 99.95, 1.0) == (-5, -3)
    assert payment_for(ag, 100, 100.05, 1.0) == (5, 3)


def test_rates_exact_pod_beats_star_and_blocks(agreement, settlement_lines):
    # docs/methods/settlement.md: Acute trust "*" 0.2/0.2 with 2% tolerance; Emergency 0.3/0.3;
    # Elective
    # inpatient 0.75/0.5 (tolerance 0: the exact rate replaces "*" whole); Community MSK has
    # no rate (block, rates 0); the CCG's own line is paid at actual value (rate 1).
    clean = read_lines(settlement_lines, agreement.party_names, need_actual=True)
    terms = line_terms(agreement, clean)
    assert terms.above_plan.tolist() == [0.2, 0.75, 0.3, 0.0, 1.0]
    assert terms.below_plan.tolist() == [0.2, 0.5, 0.3, 0.0, 1.0]
    assert terms.tolerance_pence.tolist() == [4_650_000, 0, 0, 0, 0]  # 2% of £2,325,000
    assert terms.rule.tolist() == [
        "Acute trust / *",
        "Acute trust / Elective inpatient",
        "Acute trust / Emergency",
        "block",
        "own line",
    ]


def test_rate_matching_no_plan_line_is_refused(agreement, settlement_lines):
    lines = settlement_lines[settlement_lines["pod"] != "Emergency"]
    with pytest.raises(
        InputError, match=r"key marginal_rate\[2\]: matches no plan line.*Emergency"
    ):
        agreement.settle(lines)


def test_star_rate_with_no_lines_is_refused(agreement, settlement_lines):
    lines = settlement_lines[settlement_lines["party"] != "Acute trust"]
    with pytest.raises(InputError, match=r"marginal_rate\[1\]: matches no plan line"):
        agreement.settle(lines)
