"""The pace-of-change rule, ``method = "rule"`` (docs/methods/pace-of-change.md#the-rule).

For teams that want a rule rather than an optimum:

1. everyone gets the floor F_i;
2. then, repeatedly, what is left goes to organisations below target (and
   below cap) in proportion to their pound gap to target, none passing target
   or cap;
3. once all are at target or cap, any remainder goes in proportion to target
   among those below cap, again repeatedly, none passing its cap.

Each "repeatedly" is a water-filling: after a round, everyone not stopped by
a cap has received the same fraction of its gap (step 2) or the same multiple
of its target (step 3), so the rounds add up to one common level, found
exactly by :func:`~capitation.pace_of_change.fairest.water_level` without a
loop over rounds or organisations. Rounding is as in section 5.2.
"""

from __future__ import annotations

import numpy as np

from capitation.pace_of_change.data import PaceData
from capitation.pace_of_change.fairest import round_to_envelope, water_level

__all__ = ["rule_allocation"]


def _share_out(weight: np.ndarray, room: np.ndarray, money: float) -> np.ndarray:
    """Share ``money`` in proportion to ``weight``, none getting more than its ``room``."""
    out = np.zeros(len(weight))
    eligible = (weight > 0) & (room > 0)
    if money <= 0 or not eligible.any():
        return out
    _, out[eligible] = water_level(
        weight[eligible], np.zeros(int(eligible.sum())), room[eligible], money
    )
    return out


def rule_allocation(data: PaceData) -> tuple[np.ndarray, np.ndarray]:
    """Allocate by the rule of docs/methods/pace-of-change.md#the-rule, unrounded and rounded.

    Parameters
    ----------
    data : PaceData
        Validated, feasible inputs (canonical code order).

    Returns
    -------
    amount_pence : numpy.ndarray
        The rule's allocation before rounding, pence (float64).
    allocation_pence : numpy.ndarray
        Whole pence (int64) adding up exactly to the envelope: organisations at
        a floor or cap keep it, the rest are rounded by largest remainder.
    """
    target = data.target_pence.astype(float)
    floor = data.floor_pence.astype(float)
    cap = data.cap_pence
    left = float(data.envelope_pence - int(data.floor_pence.sum()))

    # Step 2: towards target, in proportion to the gap, stopping at target or cap.
    gap = np.maximum(target - floor, 0.0)
    room_to_target = np.maximum(np.minimum(target, cap) - floor, 0.0)
    if left >= room_to_target.sum():
        amount = floor + room_to_target
    else:
        amount = floor + _share_out(gap, room_to_target, left)
    left = float(data.envelope_pence) - amount.sum()

    # Step 3: any remainder in proportion to target, stopping at cap.
    if left > 0:
        amount = amount + _share_out(target, cap - amount, left)

    held = (amount <= floor) | (amount >= cap)
    amount = np.where(amount <= floor, floor, np.where(amount >= cap, cap, amount))
    return amount, round_to_envelope(data, amount, held)
