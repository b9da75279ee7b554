"""The risk/reward pool: bands, modes, caps, collars, rounding.

Method: docs/methods/risk-reward-pool.md.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.rounding import round_pence
from risk_share import Agreement
from risk_share.pool import pool_terms, raw_shares_pence, share_pence, share_pence_scalar

PARTIES = ["CCG", "Acute trust", "Community MSK"]

# docs/methods/risk-reward-pool.md, worked examples (B = £40m, Acute trust capped and collared at
# £800,000).
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
    # docs/methods/risk-reward-pool.md, corridor at +400,000.01: the 1p slice above 1% splits 0.4p /
    # 0.4p / 0.2p;
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
        # Exactly at the MSR, docs/methods/risk-reward-pool.md puts |V| in the lower band (MSSP
        # would share).
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


# -- Pooled variances of £1bn to £10bn against exact arithmetic (docs/methods (rounding, risk reward
# pool)) ------------
#
# Above about £10m of pooled variance a float64 step in pence is larger than 1e-6, so a raw share
# whose exact pence fraction is 0.4 is computed as 0.40000916 or 0.39999084: two parties whose
# exact remainders tie no longer compare equal, and float noise, not the party listed first, takes
# the spare penny. The reference below is docs/methods/risk-reward-pool.md in exact rational
# arithmetic; shares and
# bounds of up to 2 decimal places keep every exact pence fraction on a grid (0.01p) that float64
# resolves at £10bn (a step of 0.00015p), so the toolkit must match it exactly.


def exact_raw_pence(ag: Agreement, variance_pence: int) -> list[Fraction]:
    """Each party's raw share in pence, after caps and collars, in Fractions.

    Method: docs/methods/risk-reward-pool.md.
    """
    names = ag.party_names
    if variance_pence == 0:
        return [Fraction(0)] * len(names)
    loss = variance_pence > 0
    budget_pence = Fraction(repr(ag.budget_gbp)) * 100
    bands = ag.loss_bands if loss else ag.gain_bands
    shares = [[Fraction(repr(b.shares.get(n, 0.0))) for n in names] for b in bands]
    bounds = [Fraction(repr(b.upto)) * budget_pence for b in bands[:-1]]
    absolute = Fraction(abs(variance_pence))
    raw = [Fraction(0)] * len(names)
    if ag.mode == "corridor":
        lower = Fraction(0)
        for k, row in enumerate(shares):
            upper = bounds[k] if k < len(bounds) else None
            piece = max(absolute - lower, Fraction(0))
            if upper is not None:
                piece = min(piece, upper - lower)
            raw = [r + piece * s for r, s in zip(raw, row, strict=True)]
            lower = upper if upper is not None else lower
    else:
        k = sum(1 for b in bounds if b < absolute)
        raw = [absolute * s for s in shares[k]]
    residual = names.index(ag.residual)
    for o, party in enumerate(ag.parties):
        limit = party.max_loss_gbp if loss else party.max_gain_gbp
        if limit is not None and raw[o] > Fraction(limit) * 100:
            raw[residual] += raw[o] - Fraction(limit) * 100
            raw[o] = Fraction(limit) * 100
    return raw if loss else [-r for r in raw]


def exact_shares_pence(ag: Agreement, variance_pence: int) -> list[int]:
    """Largest remainder on the exact raw shares (docs/methods/rounding.md).

    Floors, then the spare pence to the largest exact remainders, ties to the
    party listed first.
    """
    raw = exact_raw_pence(ag, variance_pence)
    floors = [math.floor(r) for r in raw]
    spare = variance_pence - sum(floors)
    by_remainder = sorted(range(len(raw)), key=lambda o: (-(raw[o] - floors[o]), o))
    for o in by_remainder[:spare]:
        floors[o] += 1
    return floors


def large_pool(mode: str, shares: dict, budget_gbp: float, threshold: float | None = None,
               **caps) -> Agreement:
    """A pool of ``budget_gbp``: optionally the first party alone up to ``threshold`` of it,
    then ``shares`` (loss and gain alike); ``caps`` are max_loss_gbp/max_gain_gbp of party 2."""
    first = next(iter(shares))
    bands = [{"shares": shares}]
    if threshold is not None:
        bands.insert(0, {"upto": threshold, "shares": {first: 1.0}})
    parties = [{"name": name} for name in shares]
    parties[1].update(caps)
    return Agreement.from_dict(
        {
            "agreement": {"name": "large", "year": "2025/26", "commissioner": first},
            "party": parties,
            "pool": {"budget_gbp": budget_gbp, "mode": mode, "residual": first,
                     "loss_band": bands, "gain_band": copy.deepcopy(bands)},
        }
    )


FOUR = {"ICB": 0.35, "Acute": 0.15, "Community": 0.3, "Mental health": 0.2}


@pytest.mark.parametrize(
    ("ag", "variance_gbp", "expected_gbp"),
    [
        # £1bn + 10p at 0.35/0.15/0.3/0.2 (first dollar): exact raw pence 35,000,000,003.5 /
        # 15,000,000,001.5 / 30,000,000,003 / 20,000,000,002; floors leave one penny; ICB and
        # Acute tie on 0.5p and ICB, listed first, takes it.
        (large_pool("first_dollar", FOUR, 100e9), 1_000_000_000.10,
         [350_000_000.04, 150_000_000.01, 300_000_000.03, 200_000_000.02]),
        # The same tie with Acute listed first: the penny moves to Acute.
        (large_pool("first_dollar", dict(reversed(FOUR.items())), 100e9), 1_000_000_000.10,
         [200_000_000.02, 300_000_000.03, 150_000_000.02, 350_000_000.03]),
        # Gains tie the same way (floors go down): −£7,400,000,000.30. Raw pence
        # −259,000,000,010.5 / −111,000,000,004.5 / −222,000,000,009 / −148,000,000,006: floors
        # −…011, −…005, −…009, −…006 leave one penny; ICB and Acute tie on 0.5p; ICB takes it.
        (large_pool("first_dollar", FOUR, 100e9), -7_400_000_000.30,
         [-2_590_000_000.10, -1_110_000_000.05, -2_220_000_000.09, -1_480_000_000.06]),
        # docs/methods/risk-reward-pool.md's corridor tie at £2bn: B = £200bn, the ICB alone up to
        # 1% (£2bn), then
        # 0.4/0.4/0.2. V = £2,000,000,000.01: ICB 200,000,000,000.4p, Acute 0.4p, Community
        # 0.2p; one spare penny; the ICB and Acute tie on 0.4p and the ICB is listed first.
        (large_pool("corridor", {"ICB": 0.4, "Acute": 0.4, "Community": 0.2}, 200e9, 0.01),
         2_000_000_000.01, [2_000_000_000.01, 0.0, 0.0]),
        # The same at £9bn: B = £900bn, ICB alone to £9bn; V = £9,000,000,000.03: ICB
        # 900,000,000,001.2p, Acute 1.2p, Community 0.6p; floors 900,000,000,001 + 1 + 0 leave one
        # penny, and Community's 0.6p is the largest remainder (no tie: a control case).
        (large_pool("corridor", {"ICB": 0.4, "Acute": 0.4, "Community": 0.2}, 900e9, 0.01),
         9_000_000_000.03, [9_000_000_000.01, 0.01, 0.01]),
        # And V = £9,000,000,000.06: ICB …002.4p, Acute 2.4p, Community 1.2p: floors leave one
        # penny; ICB and Acute tie on 0.4p; the ICB takes it.
        (large_pool("corridor", {"ICB": 0.4, "Acute": 0.4, "Community": 0.2}, 900e9, 0.01),
         9_000_000_000.06, [9_000_000_000.03, 0.02, 0.01]),
    ],
)
def test_ties_above_1bn_go_to_the_party_listed_first(ag, variance_gbp, expected_gbp):
    expected_pence = [round_pence(x) for x in expected_gbp]
    v = round_pence(variance_gbp)
    assert exact_shares_pence(ag, v) == expected_pence  # the hand derivation, checked exactly
    assert share_pence(ag, np.array([v])).tolist() == [expected_pence]
    assert share_pence_scalar(ag, v) == expected_pence
    assert ag.share(variance_gbp).tolist() == expected_gbp


LARGE_POOLS = [
    large_pool("first_dollar", FOUR, 100e9),
    large_pool("first_dollar", {"A": 0.5, "B": 0.25, "C": 0.25}, 100e9),
    large_pool("corridor", {"ICB": 0.4, "Acute": 0.4, "Community": 0.2}, 400e9, 0.01),
    large_pool("corridor", {"ICB": 0.45, "Acute": 0.35, "Community": 0.2}, 500e9, 0.0025,
               max_loss_gbp=500_000_000, max_gain_gbp=300_000_000),
    large_pool("first_dollar", {"ICB": 0.1, "Acute": 0.3, "Community": 0.3, "GP": 0.3}, 300e9,
               0.02),
]


@pytest.mark.parametrize("ag", LARGE_POOLS, ids=range(len(LARGE_POOLS)))
def test_1bn_to_10bn_match_exact_arithmetic(ag):
    # Seeded sweep of V in ±£1bn..£10bn, half of it 10p, 5p or 0p past a multiple of 20p, where
    # 2-decimal shares make exact remainders tie: every share, vectorised and scalar, must equal
    # the exact reference.
    rng = np.random.default_rng(13)
    magnitude = rng.integers(10**11, 10**12 + 1, 400)
    magnitude[::2] -= magnitude[::2] % 20
    magnitude[::4] += 10
    magnitude[2::8] += 5
    variance = magnitude * rng.choice([-1, 1], 400)
    expected = [exact_shares_pence(ag, int(v)) for v in variance]
    assert share_pence(ag, variance).tolist() == expected
    assert [share_pence_scalar(ag, int(v)) for v in variance] == expected
    # The sweep does test ties: in many scenarios the last spare penny is decided between
    # parties whose exact remainders are equal.
    ties = 0
    for v in variance:
        raw = exact_raw_pence(ag, int(v))
        spare = int(v) - sum(math.floor(r) for r in raw)
        ranked = sorted((r - math.floor(r) for r in raw), reverse=True)
        ties += 0 < spare < len(raw) and ranked[spare - 1] == ranked[spare]
    assert ties >= 10


# -- caps and collars rounded inward to whole pence ----------------------------------

def _capped(max_loss: float, max_gain: float) -> Agreement:
    # Two parties, all of V at 0.5 / 0.5 (one first_dollar band a side); Acute is capped
    # and collared at a fraction of B = £333,333.33, which is not whole pence.
    return Agreement.from_dict({
        "agreement": {"name": "caps", "year": "2018/19", "commissioner": "CCG"},
        "party": [{"name": "CCG"},
                  {"name": "Acute", "max_loss": max_loss, "max_gain": max_gain}],
        "pool": {"budget_gbp": 333_333.33, "mode": "first_dollar", "residual": "CCG",
                 "loss_band": [{"shares": {"CCG": 0.5, "Acute": 0.5}}],
                 "gain_band": [{"shares": {"CCG": 0.5, "Acute": 0.5}}]},
    })


@pytest.mark.parametrize(("variance_gbp", "expected"), [
    # Cap 0.03 × £333,333.33 = £9,999.9999, rounded inward to 999,999p (£9,999.99).
    # V = £100,000.00: Acute's raw share 5,000,000p is capped at 999,999p; CCG takes
    # 5,000,000 + 4,000,001 = 9,000,001p. Both whole: no spare penny. Before, the cap was
    # 999,999.99p, CCG 9,000,000.01p, and the spare penny went to Acute's larger remainder
    # (0.99): £10,000.00, a penny past its cap.
    (100_000.00, [90_000.01, 9_999.99]),
    # Collar 0.0299 × £333,333.33 = £9,966.666567 → 996,666p (£9,966.66) inward; V =
    # −£100,000.00: Acute −996,666p, CCG −(5,000,000 + 4,003,334) = −9,003,334p. Before,
    # the collar was 996,666.6567p: Acute's −996,666.6567p floored to −996,667p
    # (remainder 0.3433), CCG's −9,003,333.3433p to −9,003,334p (remainder 0.6567), the
    # spare penny went to CCG, and Acute gained £9,966.67, a penny past its collar.
    (-100_000.00, [-90_033.34, -9_966.66]),
    # V = £20,000.01: Acute's raw share 1,000,000.5p is past the cap: 999,999p;
    # CCG 1,000,000.5 + 1.5 = 1,000,002p. Before: Acute 999,999.99p took the spare penny.
    (20_000.01, [10_000.02, 9_999.99]),
])
def test_caps_and_collars_are_rounded_inward_so_no_share_passes_them(variance_gbp, expected):
    ag = _capped(max_loss=0.03, max_gain=0.0299)
    terms = pool_terms(ag)
    assert terms.loss_caps.tolist() == [math.inf, 999_999]
    assert terms.gain_collars.tolist() == [math.inf, 996_666]
    shares = ag.share(variance_gbp)
    assert shares.tolist() == expected
    v = round_pence(variance_gbp)
    assert share_pence_scalar(ag, v) == round_pence(np.array(expected)).tolist()
    assert share_pence(ag, np.array([v])).tolist() == [round_pence(np.array(expected)).tolist()]


@settings(deadline=None, derandomize=True, max_examples=200)
@given(st.integers(-10**9, 10**9), st.integers(1, 5_000), st.integers(1, 5_000))
def test_no_share_ever_passes_its_cap_or_collar(variance_pence, loss_bp, gain_bp):
    # Caps as an agreement writes them, to 4 decimal places (basis points of B).
    ag = _capped(loss_bp / 10_000, gain_bp / 10_000)
    share = share_pence_scalar(ag, variance_pence)[1]
    # The cap in exact arithmetic (pence): max_loss × B, with B = 33,333,333p.
    assert share <= Fraction(loss_bp, 10_000) * 33_333_333
    assert -share <= Fraction(gain_bp, 10_000) * 33_333_333
    assert share_pence(ag, np.array([variance_pence]))[0, 1] == share
