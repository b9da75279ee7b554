"""The fairest optimal allocation, checked against the LP.

Method: docs/methods/pace-of-change.md#the-fairest-optimum.

Both LP stages often have many optima. The toolkit returns the one where
every organisation not held by its floor or cap stands at the same fraction
λ of its target::

    A_i = min(C_i, max(F_i, λ T_i)),   λ such that Σ A_i = E.

Σ A_i is continuous and non-decreasing in λ, so λ is found exactly from the
sorted breakpoints F_i / T_i and C_i / T_i (:func:`water_level`, vectorised,
no loop over organisations). Before rounding, its largest and total shortfall
must equal the LP's optimum to :data:`RELATIVE_TOLERANCE`, or the run stops
with a :class:`~capitation.errors.SolverError`. Rounding: organisations at a
floor or cap are whole pence already; the rest are rounded by largest
remainder to the rest of the envelope, which never crosses a floor or cap
because F_i ≤ λ T_i ≤ C_i with integral bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.errors import SolverError
from capitation.pace_of_change.data import LP_UNIT_PENCE, PaceData, gbp_text
from capitation.rounding import largest_remainder

__all__ = [
    "RELATIVE_TOLERANCE",
    "FairestAllocation",
    "check_against_lp",
    "fairest_allocation",
    "round_to_envelope",
    "shortfalls",
    "water_level",
]

RELATIVE_TOLERANCE = 1e-7
"""The fairest allocation's shortfalls equal the LP's to 1e-7 relative.

Method: docs/methods/pace-of-change.md#the-fairest-optimum.

Relative to ``max(|a|, |b|, 1)`` in LP units (a fraction for the largest
shortfall, £ millions for the total), the scale HiGHS's own tolerances work in.
"""


@dataclass(frozen=True, eq=False)
class FairestAllocation:
    """The fairest optimal allocation before rounding, canonical code order.

    Attributes
    ----------
    level : float
        λ, the common fraction of target of every organisation not at a floor or cap.
    amount_pence : numpy.ndarray
        A_i in (fractional) pence, float64.
    at_floor : numpy.ndarray
        True where A_i = F_i.
    at_cap : numpy.ndarray
        True where A_i = C_i (and not at its floor).
    largest_shortfall : float
        max(0, max_i (T_i - A_i) / T_i), a fraction.
    total_shortfall_gbp : float
        Σ max(0, T_i - A_i), pounds.
    """

    level: float
    amount_pence: np.ndarray
    at_floor: np.ndarray
    at_cap: np.ndarray
    largest_shortfall: float
    total_shortfall_gbp: float


def water_level(
    weight: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float
) -> tuple[float, np.ndarray]:
    """Solve Σ_i clip(level × weight_i, lower_i, upper_i) = total for level.

    The sum is continuous and non-decreasing in ``level``, linear between the
    breakpoints ``lower_i / weight_i`` and ``upper_i / weight_i``. The sum is
    evaluated at every breakpoint with cumulative sums, the bracketing interval
    found by binary search, and the level inside it computed directly as
    (total − Σ held at lower − Σ held at upper) / Σ free weights.

    Parameters
    ----------
    weight : numpy.ndarray
        Positive weights (float64 or int64).
    lower, upper : numpy.ndarray
        Bounds with ``lower <= upper``; ``upper`` may be ``inf``.
    total : float
        The required sum, with ``Σ lower <= total <= Σ upper``.

    Returns
    -------
    level : float
        The level (the smallest one when a whole range of levels gives ``total``).
    amounts : numpy.ndarray
        clip(level × weight, lower, upper), float64.
    """
    weight = np.asarray(weight, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if len(weight) == 0:
        return 0.0, np.zeros(0)
    starts = lower / weight  # at or below: held at lower
    ends = upper / weight  # at or above: held at upper (inf when unbounded)
    points = np.unique(np.concatenate([starts, ends[np.isfinite(ends)]]))

    start_order = np.argsort(starts, kind="stable")
    start_sorted = starts[start_order]
    start_weight = np.concatenate([[0.0], np.cumsum(weight[start_order])])
    start_lower = np.concatenate([[0.0], np.cumsum(lower[start_order])])
    end_order = np.argsort(ends, kind="stable")
    end_sorted = ends[end_order]
    end_weight = np.concatenate([[0.0], np.cumsum(weight[end_order])])
    finite_upper = np.where(np.isfinite(upper), upper, 0.0)  # an infinite end is never < p
    end_upper = np.concatenate([[0.0], np.cumsum(finite_upper[end_order])])

    # S(p) = Σ lower + Σ_{start < p} (p w − lower) − Σ_{end < p} (p w − upper)
    below = np.searchsorted(start_sorted, points, side="left")
    above = np.searchsorted(end_sorted, points, side="left")
    sums = (
        lower.sum()
        + (points * start_weight[below] - start_lower[below])
        - (points * end_weight[above] - end_upper[above])
    )
    k = max(int(np.searchsorted(sums, total, side="right")) - 1, 0)
    point = points[k]

    # On (points[k], points[k + 1]): held at lower where start > point, at upper
    # where end <= point, free otherwise.
    held_lower = starts > point
    held_upper = ends <= point
    free = ~held_lower & ~held_upper
    free_weight = weight[free].sum()
    if free_weight > 0:
        fixed = lower[held_lower].sum() + upper[held_upper].sum()
        level = (total - fixed) / free_weight
        next_point = points[k + 1] if k + 1 < len(points) else np.inf
        level = float(min(max(level, point), next_point))
    else:
        level = float(point)
    return level, np.clip(level * weight, lower, upper)


def shortfalls(amount_pence: np.ndarray, target_pence: np.ndarray) -> tuple[float, float]:
    """Largest fraction and total pounds below target.

    Parameters
    ----------
    amount_pence : numpy.ndarray
        Allocations in pence (float or int).
    target_pence : numpy.ndarray
        Targets in pence, same order.

    Returns
    -------
    largest_shortfall : float
        max(0, max_i (T_i − A_i) / T_i), a fraction.
    total_shortfall_gbp : float
        Σ max(0, T_i − A_i), pounds.
    """
    gap = np.asarray(target_pence, dtype=float) - np.asarray(amount_pence, dtype=float)
    largest = max(0.0, float(np.max(gap / target_pence))) if len(gap) else 0.0
    total = float(np.maximum(gap, 0.0).sum()) / 100.0
    return largest, total


def fairest_allocation(data: PaceData) -> FairestAllocation:
    """Find the fairest allocation A_i = min(C_i, max(F_i, λ T_i)) with Σ A_i = E.

    Parameters
    ----------
    data : PaceData
        Validated inputs (feasible: Σ F_i ≤ E ≤ Σ C_i).

    Returns
    -------
    FairestAllocation
        λ, the unrounded allocation in pence and which organisations are held.
    """
    target = data.target_pence.astype(float)
    floor = data.floor_pence.astype(float)
    level, amount = water_level(target, floor, data.cap_pence, float(data.envelope_pence))
    wanted = level * target
    at_floor = wanted <= floor
    at_cap = ~at_floor & (wanted >= data.cap_pence)
    largest, total = shortfalls(amount, data.target_pence)
    return FairestAllocation(
        level=level,
        amount_pence=amount,
        at_floor=at_floor,
        at_cap=at_cap,
        largest_shortfall=largest,
        total_shortfall_gbp=total,
    )


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b), 1.0)


def check_against_lp(
    fairest: FairestAllocation, largest_shortfall: float, total_shortfall_gbp: float
) -> None:
    """Raise unless the fairest allocation attains the LP's optimum.

    Method: docs/methods/pace-of-change.md#the-fairest-optimum.

    Parameters
    ----------
    fairest : FairestAllocation
        The unrounded fairest allocation.
    largest_shortfall : float
        s*, stage 1's optimum (a fraction).
    total_shortfall_gbp : float
        U*, stage 2's optimum (pounds).

    Raises
    ------
    SolverError
        When either shortfall differs by more than :data:`RELATIVE_TOLERANCE`
        (relative to max(|a|, |b|, 1) in LP units). This is an internal error:
        the LP or the breakpoint search cannot be trusted.
    """
    if not _agree(fairest.largest_shortfall, largest_shortfall):
        raise SolverError(
            f"internal error: the fairest allocation's largest shortfall "
            f"{fairest.largest_shortfall:.10f} differs from the LP's stage 1 optimum "
            f"{largest_shortfall:.10f} by more than {RELATIVE_TOLERANCE:g} relative"
        )
    unit_gbp = LP_UNIT_PENCE / 100.0
    if not _agree(fairest.total_shortfall_gbp / unit_gbp, total_shortfall_gbp / unit_gbp):
        raise SolverError(
            f"internal error: the fairest allocation's total shortfall "
            f"£{fairest.total_shortfall_gbp:,.2f} differs from the LP's stage 2 optimum "
            f"£{total_shortfall_gbp:,.2f} by more than {RELATIVE_TOLERANCE:g} relative "
            f"(in £ millions)"
        )


def round_to_envelope(data: PaceData, amount_pence: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Round an allocation to whole pence that add up exactly to the envelope.

    Organisations ``held`` at their floor or cap keep that whole-pence amount;
    the others are rounded by largest remainder (docs/methods/rounding.md, ties to
    the lowest code) to the rest of the envelope.

    Parameters
    ----------
    data : PaceData
        Validated inputs, canonical order.
    amount_pence : numpy.ndarray
        Unrounded allocation in pence, between floor and cap, adding up to E.
    held : numpy.ndarray
        True where the amount is a floor or cap (already whole pence).

    Returns
    -------
    numpy.ndarray
        Whole pence (int64), canonical order, adding up to ``data.envelope_pence``.

    Raises
    ------
    SolverError
        If a held amount is not whole pence, or the rest cannot round to the
        rest of the envelope (an internal error).
    """
    held_pence = np.rint(amount_pence[held])
    if np.any(np.abs(held_pence - amount_pence[held]) > 1e-6):
        raise SolverError("internal error: an amount held at a floor or cap is not whole pence")
    out = np.zeros(data.size, dtype=np.int64)
    out[held] = held_pence.astype(np.int64)
    rest_pence = data.envelope_pence - int(out[held].sum())
    free = ~held
    free_gbp = pd.Series(amount_pence[free] / 100.0, index=pd.Index(data.codes[free]))
    try:
        out[free] = largest_remainder(free_gbp, rest_pence).to_numpy(dtype=np.int64)
    except ValueError as error:
        raise SolverError(
            f"internal error: the allocation cannot round to the rest of the envelope "
            f"({gbp_text(rest_pence)}): {error}"
        ) from error
    return out
