"""Opportunity analysis: where a cut in need can come from.

Method: docs/methods/weighted-capitation.md#from-people.

To cut the system total by R through tier k alone, tier k must cut its own
by R / share_k; above 1 it is impossible through that tier alone. The
smallest top-ranked cohort whose need reaches half of the total is reported
as a fraction of the population (``cohort_50_share``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Opportunity", "opportunity"]


@dataclass(frozen=True, eq=False)
class Opportunity:
    """The opportunity analysis for one reduction.

    Attributes
    ----------
    reduction : float
        The cut in total need to find (0.10 means 10%).
    tiers : pandas.DataFrame
        Indexed by tier (rank order): ``need_share`` (fraction of need),
        ``required_reduction_in_tier`` (reduction / need_share: the fraction
        of its own need the tier must shed), ``possible`` (True when that is
        at most 1).
    cohort_50_share : float
        Smallest top-ranked fraction of the population whose need reaches
        half of the total.
    """

    reduction: float
    tiers: pd.DataFrame
    cohort_50_share: float

    def table(self) -> pd.DataFrame:
        """Return the tier table with ``cohort_50_share`` and ``reduction`` as extra columns."""
        out = self.tiers.copy()
        out["reduction"] = self.reduction
        out["cohort_50_share"] = self.cohort_50_share
        return out


def opportunity(tier_table: pd.DataFrame, reduction: float, cohort_50_share: float) -> Opportunity:
    """Build the opportunity analysis from the tier table.

    Parameters
    ----------
    tier_table : pandas.DataFrame
        ``results.tiers``: indexed by tier with a ``need_share`` column.
    reduction : float
        Fraction of total need to cut, greater than 0.
    cohort_50_share : float
        From the run.

    Returns
    -------
    Opportunity
    """
    if not (isinstance(reduction, int | float) and 0 < reduction <= 1):
        raise ValueError(f"reduction is {reduction!r}; expected a fraction above 0, at most 1")
    share = tier_table["need_share"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        required = np.where(share > 0, reduction / share, np.inf)
    tiers = pd.DataFrame({"need_share": share, "required_reduction_in_tier": required,
                          "possible": required <= 1.0}, index=tier_table.index)
    return Opportunity(reduction=float(reduction), tiers=tiers,
                       cohort_50_share=float(cohort_50_share))
