"""Pace of change (docs/methods/pace-of-change.md): invariants that hold for any feasible input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.pace_of_change import PaceOutcome, set_pace
from capitation.pace_of_change.data import prepare
from capitation.pace_of_change.fairest import fairest_allocation
from capitation.rounding import ceil_pence, floor_pence, largest_remainder

# The CI profile of style.md: deadline=None, derandomize=True.
PROFILE = settings(deadline=None, derandomize=True, max_examples=60)


@dataclass(frozen=True)
class Instance:
    target_pence: pd.Series
    baseline_gbp: pd.Series
    envelope_pence: int
    min_growth: float
    max_growth: float | None
    floor_total: int
    cap_total: int | None


@st.composite
def instances(draw: st.DrawFn, fixed_targets: bool = False) -> Instance:
    """A feasible instance: Σ floors <= envelope <= Σ caps, targets adding up to the envelope.

    With ``fixed_targets`` the targets do not depend on the envelope (and need not
    add up to it), so that the envelope alone can be varied.
    """
    size = draw(st.integers(1, 8))
    codes = pd.Index([f"ORG{i}" for i in range(size)], name="place")
    baseline_pence = draw(
        st.lists(st.integers(100_000, 100_000_000_000), min_size=size, max_size=size)
    )
    odd_decimals = draw(st.booleans())  # baselines with sub-penny digits as well as whole pence
    baseline = np.array(baseline_pence, dtype=float) / 100 * (1.0 + 1e-7 * odd_decimals)
    min_growth = draw(st.sampled_from([-0.02, 0.0, 0.01, 0.02, 0.025, 0.035, 0.1]))
    capped = draw(st.booleans())
    headroom = draw(st.sampled_from([0.001, 0.005, 0.01, 0.03, 0.06, 0.2]))
    max_growth = min_growth + headroom if capped else None
    floor_total = int(np.asarray(ceil_pence((1 + min_growth) * baseline)).sum())
    cap_total = int(np.asarray(floor_pence((1 + max_growth) * baseline)).sum()) if capped else None
    weights = np.array(draw(st.lists(st.integers(1, 1_000), min_size=size, max_size=size)))
    if fixed_targets:
        scale = draw(st.floats(0.7, 1.4))
        envelope_for_targets = int(floor_total * scale) + 1
    else:
        envelope_for_targets = None
    position = draw(st.floats(0.0, 1.0))
    room = (cap_total - floor_total) if capped else floor_total // 3
    envelope = floor_total + int(position * room)
    total_for_targets = envelope_for_targets or envelope
    target = largest_remainder(
        pd.Series(weights / weights.sum() * total_for_targets / 100, index=codes),
        total_for_targets,
    )
    return Instance(
        target_pence=target.clip(lower=1),
        baseline_gbp=pd.Series(baseline, index=codes),
        envelope_pence=envelope,
        min_growth=min_growth,
        max_growth=max_growth,
        floor_total=floor_total,
        cap_total=cap_total,
    )


def run(instance: Instance, method: str = "lp", envelope: int | None = None) -> PaceOutcome:
    return set_pace(
        instance.target_pence,
        instance.baseline_gbp,
        instance.envelope_pence if envelope is None else envelope,
        instance.min_growth,
        instance.max_growth,
        method=method,
    )


def check_every_constraint(instance: Instance, outcome: PaceOutcome, envelope: int) -> None:
    allocation = outcome.allocation_pence
    assert allocation.dtype == np.int64
    assert allocation.index.equals(instance.target_pence.index)
    # Envelope met to the penny (docs/methods/pace-of-change.md#the-fairest-optimum).
    assert int(allocation.sum()) == envelope
    # Floors and caps hold after rounding (docs/methods/pace-of-change.md#the-fairest-optimum).
    assert (allocation >= outcome.floor_pence).all()
    if instance.max_growth is not None:
        assert (allocation <= outcome.cap_pence.astype(np.int64)).all()
    # Floors and caps are the inward-rounded growth on baseline (docs/methods/pace-of-change.md).
    expected_floor = ceil_pence((1 + instance.min_growth) * instance.baseline_gbp.to_numpy())
    assert outcome.floor_pence.tolist() == list(expected_floor)


@PROFILE
@given(instances(), st.sampled_from(["lp", "rule"]))
def test_floors_caps_and_envelope_hold_after_rounding(instance, method):
    outcome = run(instance, method)
    check_every_constraint(instance, outcome, instance.envelope_pence)


@PROFILE
@given(instances())
def test_rounded_allocation_is_within_a_penny_of_the_fairest(instance):
    # docs/methods/pace-of-change.md#the-fairest-optimum: only organisations not at a floor or cap
    # are rounded, by LR.
    outcome = run(instance)
    data = prepare(
        instance.target_pence,
        instance.baseline_gbp,
        instance.envelope_pence,
        instance.min_growth,
        instance.max_growth,
    )
    fairest = fairest_allocation(data)
    unrounded = data.to_input_order(fairest.amount_pence, name="unrounded")
    assert ((outcome.allocation_pence - unrounded).abs() < 1.0 + 1e-6).all()


@PROFILE
@given(instances(fixed_targets=True), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_largest_shortfall_never_rises_as_the_envelope_grows(instance, first, second):
    # docs/methods/pace-of-change.md#the-two-stage-lp: stage 1's optimum is non-increasing in the
    # envelope (targets held fixed).
    room = instance.cap_total if instance.cap_total is not None else 2 * instance.floor_total
    room -= instance.floor_total
    smaller, larger = sorted(instance.floor_total + int(x * room) for x in (first, second))
    s_smaller = run(instance, envelope=smaller).summary.largest_shortfall
    s_larger = run(instance, envelope=larger).summary.largest_shortfall
    assert s_larger <= s_smaller + 1e-9


@PROFILE
@given(instances())
def test_organisation_at_or_above_target_gets_only_its_floor_unless_forced(instance):
    # docs/methods/pace-of-change.md#the-two-stage-lp: an organisation whose floor is at or above
    # its target gets no more
    # than its floor, unless the envelope is more than bringing everyone else to
    # target (or cap) costs: E > Σ max(F_i, min(T_i, C_i)).
    outcome = run(instance)
    target = instance.target_pence
    floor = outcome.floor_pence
    cap = outcome.cap_pence.astype("float64").fillna(np.inf)  # <NA> means no cap
    needed = np.maximum(floor, np.minimum(target, cap)).sum()
    at_or_above = floor >= target
    if instance.envelope_pence <= needed:
        assert (outcome.allocation_pence[at_or_above] == floor[at_or_above]).all()
    else:
        # Forced: then nobody free is below target, so s* is only from caps.
        below = outcome.allocation_pence < target
        assert (outcome.allocation_pence[below] == cap[below]).all()


@PROFILE
@given(instances())
def test_lp_is_at_least_as_fair_as_the_rule(instance):
    # The LP minimises the largest shortfall, so no rule can beat it (up to the
    # penny rounding of the rule's allocation, at most 1p / T_i).
    lp = run(instance, "lp").summary.largest_shortfall
    rule = run(instance, "rule").summary.largest_shortfall
    assert lp <= rule + 1.0 / instance.target_pence.min() + 1e-9
