"""Settlement of an outturn (docs/methods/settlement.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.rounding import round_pence
from risk_share import Agreement, Settlement


def test_section_8_2_lines(agreement, settlement_lines):
    # docs/methods/settlement.md, worked settlement (corridor). Per line:
    #   OP first: 15,000 × £155 = 2,325,000; 16,500 × £155 = 2,557,500; v = 232,500;
    #     tolerance 2% × 2,325,000 = 46,500; e = 186,000; m = 0.2 × 186,000 = 37,200.
    #   Elective inpatient: 7,790,000 → 7,175,000; v = −615,000; m = 0.5 × −615,000 = −307,500.
    #   Emergency: 7,500,000 → 8,500,000; v = 1,000,000; m = 0.3 × 1,000,000 = 300,000.
    #   Physiotherapy-led triage (block): 1,586,000 → 1,464,000; v = −122,000; m = 0.
    #   Independent sector (CCG's own line, rate 1): 2,000,000 → 2,600,000; m = v = 600,000.
    settlement = agreement.settle(settlement_lines)
    assert isinstance(settlement, Settlement)
    lines = settlement.lines
    assert lines["planned_gbp"].tolist() == [
        2_325_000.0,
        7_790_000.0,
        7_500_000.0,
        1_586_000.0,
        2_000_000.0,
    ]
    assert lines["actual_gbp"].tolist() == [
        2_557_500.0,
        7_175_000.0,
        8_500_000.0,
        1_464_000.0,
        2_600_000.0,
    ]
    assert lines["variance_gbp"].tolist() == [
        232_500.0,
        -615_000.0,
        1_000_000.0,
        -122_000.0,
        600_000.0,
    ]
    assert lines["marginal_rate"].tolist() == [0.2, 0.5, 0.3, 0.0, 1.0]
    assert lines["tolerance_gbp"].tolist() == [46_500.0, 0.0, 0.0, 0.0, 0.0]
    assert lines["marginal_payment_gbp"].tolist() == [
        37_200.0,
        -307_500.0,
        300_000.0,
        0.0,
        600_000.0,
    ]
    # V = 37,200 − 307,500 + 300,000 + 600,000 = 629,700 (1.57% of B).
    assert settlement.pooled_variance_gbp == 629_700.00


def test_section_8_2_parties(agreement, settlement_lines):
    # docs/methods/settlement.md. Before the pool: Acute trust keeps Σ (v − m) = (232,500 − 37,200)
    # +
    # (−615,000 + 307,500) + (1,000,000 − 300,000) = 587,800; Community MSK −122,000; the CCG
    # holds V = 629,700. Pool (corridor): CCG 400,000 + 0.4 × 229,700 = 491,880; Acute trust
    # 0.4 × 229,700 = 91,880; Community MSK 0.2 × 229,700 = 45,940.
    parties = agreement.settle(settlement_lines).parties
    assert parties.index.tolist() == ["CCG", "Acute trust", "Community MSK"]
    assert parties.index.name == "party"
    expected = pd.DataFrame(
        {
            "variance_before_pool_gbp": [629_700.00, 587_800.00, -122_000.00],
            "pool_share_gbp": [491_880.00, 91_880.00, 45_940.00],
            "final_position_gbp": [491_880.00, 679_680.00, -76_060.00],
            "pool_transfer_gbp": [-137_820.00, 91_880.00, 45_940.00],
        },
        index=pd.Index(["CCG", "Acute trust", "Community MSK"], name="party"),
    )
    pd.testing.assert_frame_equal(parties, expected)
    # Finals add up to £1,095,500.00, the system's total variance; transfers to zero.
    assert parties["final_position_gbp"].sum() == 1_095_500.00
    assert parties["pool_transfer_gbp"].sum() == 0.0


def test_settle_reads_a_csv(agreement, settlement_lines, tmp_path):
    path = tmp_path / "outturn.csv"
    settlement_lines.to_csv(path, index=False)
    assert agreement.settle(path).pooled_variance_gbp == 629_700.00


def test_settle_does_not_change_its_input(agreement, settlement_lines):
    before = settlement_lines.copy()
    agreement.settle(settlement_lines)
    pd.testing.assert_frame_equal(settlement_lines, before)


def test_the_example_files_settle():
    settlement = Agreement.from_toml("models/msk_agreement.toml").settle("models/msk_outturn.csv")
    assert settlement.parties["pool_transfer_gbp"].sum() == 0.0
    assert "Independent sector" in settlement.lines["pod"].tolist()


LINE = st.tuples(
    st.integers(0, 50_000),  # planned activity
    st.integers(0, 50_000),  # actual activity
    st.sampled_from([85.0, 122.0, 155.0, 1_200.55, 4_100.0, 0.37]),
)


@settings(deadline=None, derandomize=True, max_examples=200)
@given(
    st.lists(LINE, min_size=6, max_size=6),
    st.sampled_from(["corridor", "first_dollar"]),
    st.integers(0, 3_000_000),
)
def test_transfers_sum_to_zero_and_finals_to_total_variance(issue_dict, lines, mode, cap):
    data = issue_dict()
    data["pool"]["mode"] = mode
    data["party"][2]["max_loss_gbp"] = cap
    ag = Agreement.from_dict(data)
    pods = ["Outpatient first", "Emergency", "Elective inpatient", "Day case", "Triage", "IS"]
    parties = ["Acute trust"] * 4 + ["Community MSK", "CCG"]
    frame = pd.DataFrame(
        {
            "party": parties,
            "pod": pods,
            "planned_activity": [x[0] for x in lines],
            "actual_activity": [x[1] for x in lines],
            "price_gbp": [x[2] for x in lines],
        }
    )
    settlement = ag.settle(frame)
    pence = (settlement.parties * 100).round().astype(np.int64)
    assert pence["pool_transfer_gbp"].sum() == 0
    total = int((settlement.lines["variance_gbp"] * 100).round().astype(np.int64).sum())
    assert pence["final_position_gbp"].sum() == total
    assert pence["pool_share_gbp"].sum() == round_pence(settlement.pooled_variance_gbp)


def test_holdings_are_summed_by_party_as_by_a_membership_product():
    # The membership product Σ_lines values × [line's party = p] is the definition; a party
    # without lines (3 here) holds 0.
    from risk_share.settlement import _sum_by_party

    rng = np.random.default_rng(1)
    party_index = np.array([2, 0, 2, 4, 0, 0, 1])
    values = rng.integers(-10**12, 10**12, (30, 7))
    membership = np.zeros((7, 5), dtype=np.int64)
    membership[np.arange(7), party_index] = 1
    summed = _sum_by_party(values, party_index, 5)
    np.testing.assert_array_equal(summed, values @ membership)
    assert summed.dtype == np.int64
    assert (summed[:, 3] == 0).all()
