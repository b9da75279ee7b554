"""Patient-specific budgets: target_c × weight_i / Σ_j weight_j, LR per practice.

Method: docs/methods/weighted-capitation.md#from-people.

A person's budget for component c is its practice's target for c shared in
proportion to the persons' weights w_c(s, a) × t_c(k), rounded to whole pence
by largest remainder within the practice so that each practice's person
budgets add up exactly to its target (docs/methods/rounding.md: ties go to the lowest
person_id in string order). ``budget_gbp`` is the sum over components.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capitation.persons.read import PartReader
from capitation.persons.tiers import TierBoundaries, assign_tiers, require_bounds
from capitation.persons.weights import PersonWeights
from capitation.rounding import largest_remainder_grouped

__all__ = ["BudgetPlan", "budget_frame", "MAX_FRAME_ROWS"]

MAX_FRAME_ROWS = 1_000_000  # above this, person budgets go to Parquet parts


@dataclass(frozen=True, eq=False)
class BudgetPlan:
    """Everything needed to compute person budgets after a run.

    Attributes
    ----------
    reader : PartReader
        Reads and validates the person parts again (Dask engine).
    parts : list of Path
        The person source's files.
    bounds : TierBoundaries or None
        Tier boundary keys (None when tiers come in a column).
    weights : PersonWeights
    factors : numpy.ndarray
        float64 (components, practices): pence per unit of weight.
    targets_pence : numpy.ndarray
        int64 (practices, components): practice targets.
    codes : numpy.ndarray
        Practice codes (text, sorted).
    tier_names : tuple of str
    engine : str
        ``pandas`` or ``dask``.
    frame : pandas.DataFrame or None
        The validated persons with their tiers (pandas engine).
    dask : dict
        ``scheduler`` and ``workers`` for Dask work after the run.
    written : list of Path
        Folders person budgets were written to (for the assumptions sheet).
    """

    reader: PartReader
    parts: list[Path]
    bounds: TierBoundaries | None
    weights: PersonWeights
    factors: np.ndarray
    targets_pence: np.ndarray
    codes: np.ndarray
    tier_names: tuple[str, ...]
    engine: str
    frame: pd.DataFrame | None = None
    dask: dict[str, Any] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    def with_tiers(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add the ``tier`` column to validated persons (from the boundary keys)."""
        if "tier" in frame.columns:
            return frame
        tier = assign_tiers(frame["u"].to_numpy(), frame["person_id"].to_numpy(),
                            require_bounds(self.bounds))
        return frame.assign(tier=tier)


def budget_frame(frame: pd.DataFrame, plan: BudgetPlan) -> pd.DataFrame:
    """Person budgets of whole practices.

    Parameters
    ----------
    frame : pandas.DataFrame
        Validated persons with ``tier``, holding every person of each practice
        it touches.
    plan : BudgetPlan

    Returns
    -------
    pandas.DataFrame
        Columns ``person_id``, ``practice`` (code), ``tier`` (name),
        ``budget_<c>_gbp`` per component and ``budget_gbp`` (pounds, whole pence).
    """
    p = frame["practice"].to_numpy(np.int64)
    s = frame["sex"].to_numpy(np.int64)
    a = frame["age"].to_numpy(np.int64)
    k = frame["tier"].to_numpy(np.int64)
    ids = pd.Index(frame["person_id"].to_numpy(), name="person_id")
    groups = pd.Series(p, index=ids)
    present = np.unique(p)
    ids_out = ids.to_numpy() if ids.dtype.kind in "iu" else ids.to_numpy().astype(str)
    out = pd.DataFrame({"person_id": ids_out,
                        "practice": pd.array(plan.codes[p].astype(str), dtype="str"),
                        "tier": pd.array(np.asarray(plan.tier_names, dtype=str)[k], dtype="str")})
    total = np.zeros(len(frame), dtype=np.int64)
    for c, name in enumerate(plan.weights.names):  # a loop over a few components
        amounts_gbp = pd.Series(plan.factors[c][p] * plan.weights.of(c, s, a, k) / 100.0,
                                index=ids)
        totals = pd.Series(plan.targets_pence[present, c], index=present)
        pence = largest_remainder_grouped(amounts_gbp, groups, totals).to_numpy(np.int64)
        out[f"budget_{name}_gbp"] = pence / 100.0
        total += pence
    out["budget_gbp"] = total / 100.0
    return out
