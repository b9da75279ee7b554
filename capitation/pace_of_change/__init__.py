"""Pace of change: allocations moved toward target (docs/methods/pace-of-change.md).

:func:`set_pace` runs the steps in order, each testable and timed alone:

1. :mod:`~capitation.pace_of_change.data`: validate, floors and caps in whole
   pence, refuse infeasible inputs (no pyomo);
2. :mod:`~capitation.pace_of_change.build`: the two-stage LP as a pyomo model;
3. :mod:`capitation.solver`: solve with HiGHS, stage 1 then stage 2;
4. :mod:`~capitation.pace_of_change.extract`: the optimum s*, U*;
5. :mod:`~capitation.pace_of_change.fairest`: the fairest optimal allocation,
   checked against the LP, rounded to whole pence.

``method="rule"`` replaces steps 2 to 5 by the rule of section 5.4
(:mod:`~capitation.pace_of_change.rule`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.pace_of_change.build import build_model, hold_stage_1
from capitation.pace_of_change.data import METHODS, PaceData, lp_inputs, prepare
from capitation.pace_of_change.extract import LpSolution, extract
from capitation.pace_of_change.fairest import (
    check_against_lp,
    fairest_allocation,
    round_to_envelope,
    shortfalls,
)
from capitation.pace_of_change.rule import rule_allocation
from capitation.solver import highs, solve

__all__ = ["PaceOfChange", "PaceOutcome", "set_pace"]


@dataclass(frozen=True, eq=False)
class PaceOfChange:
    """Summary of one pace-of-change run.

    Attributes
    ----------
    largest_shortfall : float
        s*, stage 1's optimum: the largest fraction any organisation ends
        below target (0.05 is 5% below). For ``method="rule"``, the same
        measure of the rule's rounded allocation.
    total_shortfall_gbp : float
        U*, stage 2's optimum: total pounds below target. For
        ``method="rule"``, of the rule's rounded allocation.
    status : str
        ``"optimal"`` for the LP, ``"rule"`` for the rule.
    build_seconds : float
        Time to build the pyomo model (0.0 for the rule).
    solve_seconds : float
        Time to solve both stages with HiGHS, including pyomo's translation
        of the model to HiGHS; for the rule, the time the rule took.
    """

    largest_shortfall: float
    total_shortfall_gbp: float
    status: str
    build_seconds: float
    solve_seconds: float


@dataclass(frozen=True, eq=False)
class PaceOutcome:
    """Allocations set by pace of change, on the caller's index.

    Attributes
    ----------
    allocation_pence : pandas.Series
        Whole pence (int64), indexed like the targets; adds up exactly to the
        envelope; each between its floor and cap.
    floor_pence : pandas.Series
        F_i = ceil_pence((1 + min_growth) B_i), whole pence (int64).
    cap_pence : pandas.Series
        C_i = floor_pence((1 + max_growth) B_i), whole pence as pandas'
        nullable ``Int64``; ``<NA>`` everywhere when there is no cap.
    summary : PaceOfChange
        s*, U*, status and timings.
    """

    allocation_pence: pd.Series
    floor_pence: pd.Series
    cap_pence: pd.Series
    summary: PaceOfChange


def solve_lp(data: PaceData) -> tuple[LpSolution, float, float]:
    """Build and solve the two-stage LP of docs/methods/pace-of-change.md#the-two-stage-lp.

    Parameters
    ----------
    data : PaceData
        Validated, feasible inputs.

    Returns
    -------
    solution : LpSolution
        s*, U* (pounds) and the LP's own allocation.
    build_seconds : float
        Time to build the pyomo model.
    solve_seconds : float
        Time to solve both stages (including translation to HiGHS).

    Raises
    ------
    SolverError
        When HiGHS is missing or does not prove an optimum at either stage.
    """
    solver = highs()
    started = time.perf_counter()
    model = build_model(lp_inputs(data))
    build_seconds = time.perf_counter() - started
    stage_1 = solve(
        model, solver, what="pace of change, stage 1 (largest shortfall)", load_solution=False
    )
    hold_stage_1(model, stage_1.objective)
    stage_2 = solve(model, solver, what="pace of change, stage 2 (total shortfall)")
    return extract(model, data, stage_1, stage_2), build_seconds, stage_1.seconds + stage_2.seconds


def _outcome(data: PaceData, allocation: np.ndarray, summary: PaceOfChange) -> PaceOutcome:
    if data.max_growth is None:
        cap = pd.Series(pd.NA, index=data.index.copy(), dtype="Int64", name="cap_pence")
    else:
        cap = data.to_input_order(data.cap_pence.astype(np.int64), name="cap_pence").astype("Int64")
    return PaceOutcome(
        allocation_pence=data.to_input_order(allocation, name="allocation_pence"),
        floor_pence=data.to_input_order(data.floor_pence, name="floor_pence"),
        cap_pence=cap,
        summary=summary,
    )


def set_pace(
    target_pence: pd.Series,
    baseline_gbp: pd.Series,
    envelope_pence: int,
    min_growth: float,
    max_growth: float | None = None,
    method: str = "lp",
) -> PaceOutcome:
    """Move allocations from baseline toward target at a controlled pace.

    docs/methods/pace-of-change.md. Every organisation gets at least its floor
    (``min_growth`` on baseline) and at most its cap (``max_growth``); the
    envelope is spent to the penny. ``method="lp"`` returns the fairest
    allocation that is optimal for the two-stage LP (first the largest
    fraction below target, then total pounds below target);
    ``method="rule"`` shares money out by the rule of section 5.4.

    Parameters
    ----------
    target_pence : pandas.Series
        Target per organisation, whole pence (int64), indexed by organisation
        code (index named after the level). Normally adds up to the envelope
        (section 2); the LP does not need it to.
    baseline_gbp : pandas.Series
        Last year's allocation per organisation, pounds (float), indexed by the
        same codes (any order; the labels must match exactly).
    envelope_pence : int
        The money to allocate, whole pence.
    min_growth : float
        Minimum growth on baseline, a fraction (0.02 is 2%).
    max_growth : float, optional
        Maximum growth on baseline, a fraction; None for no cap.
    method : {"lp", "rule"}
        The two-stage LP (default) or the rule.

    Returns
    -------
    PaceOutcome
        Allocation, floor and cap in whole pence on the targets' index, and
        the summary (s*, U* in pounds, status, timings).

    Raises
    ------
    InputError
        For malformed or infeasible inputs, before any solving: floors that
        cost more than the envelope, caps that cannot spend it, a missing
        baseline, a target or baseline at or below zero, ``max_growth`` below
        ``min_growth``, an unknown method.
    SolverError
        When HiGHS is missing or fails, or its optimum disagrees with the
        fairest allocation (an internal error).

    Examples
    --------
    docs/methods/pace-of-change.md#worked-example, year 1:

    >>> target = pd.Series([12_000_000_000, 10_000_000_000, 8_000_000_000],
    ...                    index=pd.Index(["A", "B", "C"], name="ICB"))
    >>> baseline = pd.Series([125e6, 93e6, 70e6], index=target.index)
    >>> outcome = set_pace(target, baseline, 30_000_000_000, min_growth=0.02)
    >>> outcome.allocation_pence.tolist()
    [12750000000, 9583333333, 7666666667]
    """
    if method not in METHODS:
        raise InputError(
            f'method must be "lp" or "rule", got {method!r}', key="pace_of_change.method"
        )
    data = prepare(target_pence, baseline_gbp, envelope_pence, min_growth, max_growth)

    if method == "rule":
        started = time.perf_counter()
        _, allocation = rule_allocation(data)
        seconds = time.perf_counter() - started
        largest, total = shortfalls(allocation, data.target_pence)
        summary = PaceOfChange(
            largest_shortfall=largest,
            total_shortfall_gbp=total,
            status="rule",
            build_seconds=0.0,
            solve_seconds=seconds,
        )
        return _outcome(data, allocation, summary)

    solution, build_seconds, solve_seconds = solve_lp(data)
    fairest = fairest_allocation(data)
    check_against_lp(fairest, solution.largest_shortfall, solution.total_shortfall_gbp)
    allocation = round_to_envelope(data, fairest.amount_pence, fairest.at_floor | fairest.at_cap)
    summary = PaceOfChange(
        largest_shortfall=solution.largest_shortfall,
        total_shortfall_gbp=solution.total_shortfall_gbp,
        status=solution.status,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
    )
    return _outcome(data, allocation, summary)
