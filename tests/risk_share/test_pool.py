"""The risk/reward pool: bands, modes, caps, collars, rounding (domain.md §8.1)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.rounding import round_pence
from risk_share import Agreement
from risk_share.pool import pool_terms, raw_shares_pence, share_pence, share_pence_scalar

PARTIES = ["CCG", "Acute trust", "Community MSK"]

# domain.md §8.1, worked examples (B = £40m, Acute trust capped and collared at £800,000).
# Derivations (pounds):
#   +1.5m corridor: CCG takes the first 1% = 400,000; the 1,100,000 above it splits
#     0.4/0.4/0.2 = 440,000 / 440,000 / 220,000; CCG 400,000 + 440,000 = 840,000.
#   +1.5m first_dollar: all 1.5m at the upper band's 0.4/0.4/0.2.
#   −1.5m corridor: CCG keeps 400,000 of the saving; 1,100,000 × 0.5/0.3/0.2 =
#     550,000 / 330,000 / 220,000; CCG 950,000.
#   +3m corridor: Acute 0.4 × 2,600,000 = 1,040,000 → cap 800,000; the 240,000 goes to CCG:
#     400,000 + 1,040,000 + 240,000 = 1,680,000; MSK 0.2 × 2.6m = 520,000.
#   −4m corridor: Acute 0.3 × 3,600,000 = 1,080,000 → collar 800,000; CCG 400,000 +
#     1,800,000 + 280,000 = 2,480,000; MSK 720,000.
#   +400,000.00 first_dollar: exactly 1% of B belongs to the lower band: all CCG.
#   +400,000.01 first_dollar: upper band; 40,000,001p × 0.4/0.4/0.2 = 16,000,000.4p,
#     16,000,000.4p, 8,000,000.2p: floors leave one penny; the tied 0.4p remainders go to CCG,
#     listed first.
SECTION_8_1 = [
    (1_500_000.00, "corridor", [840_000.00, 440_000.00, 220_000.00]),
    (1_500_000.00, "first_dollar", [600_000.00, 600_000.00, 300_000.00]),
    (-1_500_000.00, "corridor", [-950_000.00, -330_000.00, -220_000.00]),
    (3_000_000.00, "corridor", [1_680_000.00, 800_000.00, 520_000.00]),
    (-4_000_000.00, "corridor", [-2_480_000.00, -800_000.00, -720_000.00]),
    (400_000.00, "first_dollar", [400_000.00, 0.00, 0.00]),
    (400_000.01, "first_dollar", [160_000.01, 160_000.00, 80_000.00]),
]


@pytest.mark.parametrize(("variance_gbp", "mode", "expected"), SECTION_8_1)
def test_section_8_1_scalar(agreement, variance_gbp, mode, expected):
    ag = dataclasses.replace(agreement, mode=mode)
    shares = ag.share(variance_gbp)
    assert shares.index.tolist() == PARTIES
    assert shares.tolist() == expected
    assert round_pence(shares).sum() == round_pence(variance_gbp)


@pytest.mark.parametrize("mode", ["corridor", "first_dollar"])
def test_section_8_1_vectorised(agreement, mode):
    ag = dataclasses.replace(agreement, mode=mode)
    rows = [r for r in SECTION_8_1 if r[1] == mode]
    table = ag.share(np.array([r[0] for r in rows]))
    assert table.index.name == "scenario"
    assert table.columns.tolist() == PARTIES
    assert table.to_numpy().tolist() == [r[2] for r in rows]


def test_series_keeps_its_index(agreement):
    variance = pd.Series([1_500_000.0, -1_500_000.0], index=pd.Index(["m6", "m12"], name="month"))
    table = agreement.share(variance)
    assert table.index.tolist() == ["m6", "m12"]
    assert table.loc["m12"].tolist() == [-950_000.00, -330_000.00, -220_000.00]


def test_corridor_tie_goes_to_party_listed_first(agreement):
    # domain.md §8.1, corridor at +400,000.01: the 1p slice above 1% splits 0.4p / 0.4p / 0.2p;
    # CCG's raw share is 40,000,000.4p (40,000,000.3999999985p in float64) and must still win
    # the tie with Acute trust's 0.4p because CCG is listed first.
    assert agreement.share(400_000.01).tolist() == [400_000.01, 0.00, 0.00]
    assert agreement.share(np.array([400_000.01])).iloc[0].tolist() == [400_000.01, 0.0, 0.0]


def test_tie_order_follows_the_agreement_not_the_alphabet(issue_dict):
    # Same tie with Acute trust listed first: the spare penny moves to it.
    data = issue_dict()
    data["party"] = [data["party"][1], data["party"][0], data["party"][2]]
    ag = Agreement.from_dict(data)
    ag = dataclasses.replace(ag, mode="first_dollar")
    assert ag.share(400_000.01).to_dict() == {
        "Acute trust": 160_000.01,
        "CCG": 160_000.00,
        "Community MSK": 80_000.00,
    }


def two_party(loss_bands, gain_bands, mode, budget_gbp=100_000_000, **payer_caps):
    return Agreement.from_dict(
        {
            "agreement": {"name": "scheme", "year": "2018/19", "commissioner": "Payer"},
            "party": [{"name": "Payer"}, {"name": "Plan", **payer_caps}],
            "pool": {
                "budget_gbp": budget_gbp,
                "mode": mode,
                "loss_band": loss_bands,
                "gain_band": gain_bands,
            },
        }
    )


@pytest.mark.parametrize(
    ("variance_fraction", "plan", "payer"),
    [
        # ACA section 1342 risk corridors on a £100m target: the plan keeps ±3%; the payer
        # shares 50% of 3-8% and 80% beyond 8%.
        (0.02, 2_000_000.00, 0.00),  # inside ±3%: all the plan's
        (0.05, 4_000_000.00, 1_000_000.00),  # 3m + 0.5 × 2m; payer 0.5 × 2m
        (0.10, 5_900_000.00, 4_100_000.00),  # 3m + 2.5m + 0.2 × 2m; payer 2.5m + 0.8 × 2m
        (-0.10, -5_900_000.00, -4_100_000.00),  # symmetric for gains
        (-0.03, -3_000_000.00, 0.00),  # exactly 3%: the lower band
    ],
)
def test_aca_risk_corridors(variance_fraction, plan, payer):
    bands = [
        {"upto": 0.03, "shares": {"Plan": 1.0}},
        {"upto": 0.08, "shares": {"Plan": 0.5, "Payer": 0.5}},
        {"shares": {"Plan": 0.2, "Payer": 0.8}},
    ]
    ag = two_party(bands, bands, "corridor")
    shares = ag.share(variance_fraction * 100_000_000)
    assert shares.to_dict() == {"Payer": payer, "Plan": plan}


@pytest.mark.parametrize(
    ("savings_fraction", "plan"),
    [
        # Medicare Shared Savings Program: savings below the minimum savings rate (2% here)
        # are not shared; at or above it the ACO shares 50% from the first dollar, up to a
        # performance payment limit (10% of the £10m benchmark, a collar; residual Payer).
        (0.019, 0.00),
        (0.025, -125_000.00),  # 50% of all £250,000, not just the part above 2%
        (0.30, -1_000_000.00),  # 50% of £3m = £1.5m, collared at £1m
        # Exactly at the MSR, domain.md §8.1 puts |V| in the lower band (MSSP would share).
        (0.02, 0.00),
    ],
)
def test_medicare_shared_savings_minimum_savings_rate(savings_fraction, plan):
    gain = [{"upto": 0.02, "shares": {"Payer": 1.0}}, {"shares": {"Payer": 0.5, "Plan": 0.5}}]
    loss = [{"shares": {"Payer": 1.0}}]  # one-sided model: losses stay with the payer
    ag = two_party(loss, gain, "first_dollar", budget_gbp=10_000_000, max_gain=0.1)
    variance = -savings_fraction * 10_000_000
    shares = ag.share(variance)
    assert shares["Plan"] == plan
    assert shares["Payer"] == pytest.approx(variance - plan, abs=1e-6)


# ---------------------------------------------------------------------------- properties

FRACTIONS = st.floats(min_value=0.001, max_value=0.2, allow_nan=False)


@st.composite
def agreements(draw, mode=None, n_bands=None):
    """Random agreements: 2-6 parties, 1-4 bands a side, optional caps and collars."""
    n_parties = draw(st.integers(2, 6))
    names = [f"P{i}" for i in range(n_parties)]
    residual = draw(st.sampled_from(names))

    def band_list():
        k = n_bands if n_bands is not None else draw(st.integers(1, 4))
        bounds = sorted(set(draw(st.lists(FRACTIONS, min_size=k - 1, max_size=k - 1))))
        bands = []
        for upto in [*bounds, None]:
            weights = draw(
                st.lists(st.integers(0, 10), min_size=n_parties, max_size=n_parties).filter(any)
            )
            total = sum(weights)
            shares = {p: w / total for p, w in zip(names, weights, strict=True) if w}
            bands.append({"shares": shares} if upto is None else {"upto": upto, "shares": shares})
        return bands

    parties = []
    for name in names:
        party = {"name": name}
        if name != residual:
            if draw(st.booleans()):
                party["max_loss_gbp"] = draw(st.integers(0, 2_000_000))
            if draw(st.booleans()):
                party["max_gain"] = draw(st.floats(0.0, 0.05))
        parties.append(party)
    return Agreement.from_dict(
        {
            "agreement": {"name": "random", "year": "2018/19", "commissioner": names[0]},
            "party": parties,
            "pool": {
                "budget_gbp": draw(st.integers(1_000_000, 100_000_000)),
                "mode": mode or draw(st.sampled_from(["corridor", "first_dollar"])),
                "residual": residual,
                "loss_band": band_list(),
                "gain_band": band_list(),
            },
        }
    )


VARIANCES_PENCE = st.lists(
    st.integers(-2_000_000_000, 2_000_000_000) | st.sampled_from([0, 1, -1, 40_000_000]),
    min_size=1,
    max_size=30,
)
PROPERTY = settings(deadline=None, derandomize=True, max_examples=150)


@PROPERTY
@given(agreements(), VARIANCES_PENCE)
def test_shares_sum_to_the_variance_and_paths_agree(ag, variances):
    vectorised = share_pence(ag, np.array(variances, dtype=np.int64))
    assert vectorised.dtype == np.int64
    assert vectorised.sum(axis=1).tolist() == variances
    scalar = [share_pence_scalar(ag, v) for v in variances]
    assert vectorised.tolist() == scalar
    # Same sign as the variance (bands share, they never reverse a loss into a gain).
    v = np.array(variances)[:, None]
    assert ((vectorised * np.sign(v)) >= 0).all()


@PROPERTY
@given(agreements(), VARIANCES_PENCE)
def test_caps_and_collars_hold(ag, variances):
    shares = share_pence(ag, np.array(variances, dtype=np.int64))
    caps, collars = ag.caps_gbp()
    # Rounding can move a capped share by less than a penny over its (pence) cap.
    assert (shares <= np.ceil(caps * 100)[None, :] + 1).all()
    assert (-shares <= np.ceil(collars * 100)[None, :] + 1).all()


@PROPERTY
@given(agreements(mode="corridor"), st.lists(st.integers(-(10**9), 10**9), min_size=2, max_size=40))
def test_corridor_shares_are_monotone_in_the_variance(ag, variances):
    ordered = np.array(sorted(variances), dtype=np.int64)
    raw = raw_shares_pence(pool_terms(ag), ordered)
    # Unrounded: a larger overspend never leaves a party better off (float noise aside).
    assert (np.diff(raw, axis=0) >= -1e-6).all()
    # Rounded: within a penny of monotone.
    rounded = share_pence(ag, ordered)
    assert (np.diff(rounded, axis=0) >= -1).all()


@PROPERTY
@given(agreements(n_bands=1), VARIANCES_PENCE)
def test_modes_agree_with_one_band(ag, variances):
    corridor = dataclasses.replace(ag, mode="corridor")
    first_dollar = dataclasses.replace(ag, mode="first_dollar")
    v = np.array(variances, dtype=np.int64)
    assert share_pence(corridor, v).tolist() == share_pence(first_dollar, v).tolist()
