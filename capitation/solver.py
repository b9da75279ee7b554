"""Solve a pyomo linear programme with HiGHS; solver status → a clear error.

The one place that talks to a solver, for every linear programme of the
toolkit: pace of change (:mod:`capitation.pace_of_change`) and the risk-share
calibration (:mod:`risk_share.calibration`). It uses pyomo's persistent HiGHS
interface (``pyomo.contrib.solver.solvers.highs.Highs``, over ``highspy``), so
a model solved once and then changed (a bound tightened, an objective swapped)
is re-solved from HiGHS's warm start without being translated again.

A missing solver is an error, never a skip: :func:`highs` raises
:class:`~capitation.errors.SolverError` when ``highspy`` cannot be imported.
Anything other than a proven optimum raises :class:`SolverError` naming what
was being solved and what HiGHS reported; no half-solved model is returned.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from capitation.errors import SolverError

__all__ = ["SolveResult", "highs", "solve"]

logger = logging.getLogger(__name__)

_REASONS = {
    TerminationCondition.provenInfeasible: "the problem is infeasible",
    TerminationCondition.locallyInfeasible: "the problem is infeasible",
    TerminationCondition.infeasibleOrUnbounded: "the problem is infeasible or unbounded",
    TerminationCondition.unbounded: "the problem is unbounded",
    TerminationCondition.maxTimeLimit: "it ran out of time",
    TerminationCondition.iterationLimit: "it hit its iteration limit",
    TerminationCondition.objectiveLimit: "it stopped at an objective limit",
    TerminationCondition.minStepLength: "it stalled (minimum step length)",
    TerminationCondition.interrupted: "it was interrupted",
    TerminationCondition.licensingProblems: "of a licensing problem",
    TerminationCondition.error: "of an internal solver error",
    TerminationCondition.unknown: "its status is unknown",
}


@dataclass(frozen=True, eq=False)
class SolveResult:
    """What one solve returned.

    Attributes
    ----------
    status : str
        ``"optimal"`` (anything else raises instead).
    objective : float
        The optimal objective value, in the model's own units.
    seconds : float
        Wall-clock time of the solve, including pyomo's translation of any
        change to the model since the last solve.
    """

    status: str
    objective: float
    seconds: float


def highs(*, time_limit_seconds: float | None = None) -> Highs:
    """Return a persistent HiGHS interface, or raise if HiGHS is missing.

    Parameters
    ----------
    time_limit_seconds : float, optional
        HiGHS's time limit per solve; none by default.

    Returns
    -------
    pyomo.contrib.solver.solvers.highs.Highs
        A persistent solver; pass it to :func:`solve` for every solve of one model.

    Raises
    ------
    SolverError
        When ``highspy`` is not installed or HiGHS is otherwise unavailable.
    """
    solver = Highs()
    availability = solver.available()
    if not availability:
        raise SolverError(
            f"HiGHS is not available ({availability}): install highspy "
            f"(pip install highspy) to solve the pace-of-change and risk-share calibration LPs"
        )
    solver.config.load_solutions = False
    solver.config.raise_exception_on_nonoptimal_result = False
    solver.config.time_limit = time_limit_seconds
    return solver


def solve(
    model: pyo.ConcreteModel, solver: Highs, *, what: str, load_solution: bool = True
) -> SolveResult:
    """Solve ``model``'s active objective to optimality and load the solution.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        A linear model with one active objective.
    solver : pyomo.contrib.solver.solvers.highs.Highs
        From :func:`highs`; reuse it to re-solve the same model after a change.
    what : str
        What is being solved, for messages (``"pace of change, stage 1"``).
    load_solution : bool, default True
        Load the optimal values into the model's variables. Skip it when only
        the objective value is needed.

    Returns
    -------
    SolveResult
        Status ``"optimal"``, the objective value and the time taken.

    Raises
    ------
    SolverError
        When HiGHS fails or stops without a proven optimum. The message says
        what was being solved and what HiGHS reported.
    """
    started = time.perf_counter()
    try:
        results = solver.solve(model)
    except Exception as error:  # any failure inside pyomo or HiGHS becomes a SolverError
        raise SolverError(f"HiGHS failed while solving {what}: {error}") from error
    condition = results.termination_condition
    if (
        condition != TerminationCondition.convergenceCriteriaSatisfied
        or results.solution_status != SolutionStatus.optimal
        or results.incumbent_objective is None
    ):
        reason = _REASONS.get(condition, f"it stopped with status {condition}")
        raise SolverError(
            f"HiGHS did not solve {what}: {reason} "
            f"(termination condition {condition.name}, solution {results.solution_status.name})"
        )
    if load_solution:
        results.solution_loader.load_vars()
    seconds = time.perf_counter() - started
    logger.debug("solved %s in %.3f s, objective %r", what, seconds, results.incumbent_objective)
    return SolveResult(
        status="optimal", objective=float(results.incumbent_objective), seconds=seconds
    )
