"""Solved pace-of-change LP → shortfalls and status on the input index.

The optimum values come from the solves (s* from stage 1, U* from stage 2,
converted from £ millions to pounds). The LP's own allocation is one of
possibly many optima: it is returned for inspection, while the allocation the
toolkit reports is the fairest one (:mod:`capitation.pace_of_change.fairest`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from capitation.pace_of_change.data import LP_UNIT_PENCE, PaceData
from capitation.solver import SolveResult

__all__ = ["LpSolution", "extract"]


@dataclass(frozen=True, eq=False)
class LpSolution:
    """The two-stage LP's optimum.

    Attributes
    ----------
    largest_shortfall : float
        s*, stage 1's optimum: the largest fraction any organisation is below target.
    total_shortfall_gbp : float
        U*, stage 2's optimum: total pounds below target, holding s*.
    allocation_gbp : pandas.Series
        The LP's own stage 2 allocation in pounds (float, unrounded), indexed
        like the caller's targets. One optimum among possibly many.
    status : str
        ``"optimal"``.
    """

    largest_shortfall: float
    total_shortfall_gbp: float
    allocation_gbp: pd.Series
    status: str


def extract(
    model: pyo.ConcreteModel, data: PaceData, stage_1: SolveResult, stage_2: SolveResult
) -> LpSolution:
    """Read the optimum out of a model solved at both stages.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        From :func:`~capitation.pace_of_change.build.build_model`, solved at
        stage 1 and then (after ``hold_stage_1``) at stage 2, its values loaded.
    data : PaceData
        The inputs the model was built from (for the index).
    stage_1, stage_2 : SolveResult
        The two solves.

    Returns
    -------
    LpSolution
        s*, U* in pounds, the LP's allocation on the input index, and the status.
    """
    unit_gbp = LP_UNIT_PENCE / 100.0
    values = model.allocation.extract_values()
    allocation = np.fromiter((values[i] for i in range(data.size)), dtype=float, count=data.size)
    status = "optimal" if stage_1.status == stage_2.status == "optimal" else stage_2.status
    return LpSolution(
        largest_shortfall=stage_1.objective,
        total_shortfall_gbp=stage_2.objective * unit_gbp,
        allocation_gbp=data.to_input_order(allocation * unit_gbp, name="allocation_gbp"),
        status=status,
    )
