"""The two-stage pace-of-change LP as a pyomo model.

Method: docs/methods/pace-of-change.md#the-two-stage-lp.

No I/O and no solving: plain arrays in £ millions
(:class:`~capitation.pace_of_change.data.LpInputs`) in, a ``ConcreteModel``
holding both stages out. This is the one place with per-organisation Python
work (pyomo builds one constraint object per row); ``bench/pace_of_change.py``
times it.

Stage 1 (objective ``stage_1``, active after :func:`build_model`)::

    minimise s
    subject to  A_i + s T_i >= T_i,   F_i <= A_i <= C_i,   Σ A_i = E,   s >= 0

Stage 2 (objective ``stage_2``, switched on by :func:`hold_stage_1`, which
also bounds s <= s* (1 + 1e-9) + 1e-12)::

    minimise Σ u_i   subject to  u_i >= T_i − A_i,   u_i >= 0,   and stage 1's constraints

The ``u_i`` rows are present during stage 1 too; there they never bind
(``u_i`` is free upwards and not in the objective).

Each row ``A_i + s T_i >= T_i`` is entered divided by T_i, as
``A_i / T_i + s >= 1``: the same constraint, measured as a fraction of target,
so that HiGHS's feasibility tolerance (1e-7) means a fraction of 1e-7 for
every organisation, however small its target is in £ millions.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from capitation.pace_of_change.data import LpInputs

__all__ = ["HOLD_ABSOLUTE", "HOLD_RELATIVE", "build_model", "hold_stage_1"]

HOLD_RELATIVE = 1e-9
"""Stage 2 holds s <= s* (1 + HOLD_RELATIVE) + HOLD_ABSOLUTE.

Method: docs/methods/pace-of-change.md#the-two-stage-lp.
"""
HOLD_ABSOLUTE = 1e-12


def build_model(inputs: LpInputs) -> pyo.ConcreteModel:
    """Build both stages of the pace-of-change LP, stage 1's objective active.

    Parameters
    ----------
    inputs : LpInputs
        Targets, floors, caps (``inf`` for none) and the envelope, in £ millions,
        one entry per organisation in canonical order.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Components (money in £ millions):

        - ``organisations``: positions 0 .. n-1 in canonical order;
        - ``allocation[i]`` (A_i, bounded by floor and cap), ``shortfall[i]``
          (u_i >= 0), ``largest_shortfall`` (s >= 0, a fraction);
        - constraints ``fraction_below_target[i]``, ``pounds_below_target[i]``,
          ``envelope``;
        - expression ``total_shortfall`` (Σ u_i);
        - objectives ``stage_1`` (active) and ``stage_2`` (inactive).
    """
    target = np.asarray(inputs.target, dtype=float).tolist()
    per_target = (1.0 / np.asarray(inputs.target, dtype=float)).tolist()
    floor = np.asarray(inputs.floor, dtype=float).tolist()
    cap = [None if not np.isfinite(c) else c for c in np.asarray(inputs.cap, dtype=float).tolist()]
    size = len(target)

    model = pyo.ConcreteModel(name="pace_of_change")
    model.organisations = pyo.RangeSet(0, size - 1)
    model.allocation = pyo.Var(model.organisations, bounds=lambda _model, i: (floor[i], cap[i]))
    model.shortfall = pyo.Var(model.organisations, within=pyo.NonNegativeReals)
    model.largest_shortfall = pyo.Var(within=pyo.NonNegativeReals)

    allocation = model.allocation
    shortfall = model.shortfall
    largest = model.largest_shortfall

    # A_i + s T_i >= T_i, divided by T_i: nobody more than s below target, as a fraction.
    model.fraction_below_target = pyo.Constraint(
        model.organisations,
        rule=lambda _model, i: (
            LinearExpression(
                constant=0.0,
                linear_coefs=[per_target[i], 1.0],
                linear_vars=[allocation[i], largest],
            )
            >= 1.0
        ),
    )
    # u_i + A_i >= T_i: u_i is at least the pounds below target.
    model.pounds_below_target = pyo.Constraint(
        model.organisations,
        rule=lambda _model, i: (
            LinearExpression(
                constant=0.0, linear_coefs=[1.0, 1.0], linear_vars=[shortfall[i], allocation[i]]
            )
            >= target[i]
        ),
    )
    allocations = [allocation[i] for i in range(size)]
    model.envelope = pyo.Constraint(
        expr=LinearExpression(constant=0.0, linear_coefs=[1.0] * size, linear_vars=allocations)
        == inputs.envelope
    )
    model.total_shortfall = pyo.Expression(
        expr=LinearExpression(
            constant=0.0,
            linear_coefs=[1.0] * size,
            linear_vars=[shortfall[i] for i in range(size)],
        )
    )
    model.stage_1 = pyo.Objective(expr=largest, sense=pyo.minimize)
    model.stage_2 = pyo.Objective(expr=model.total_shortfall, sense=pyo.minimize)
    model.stage_2.deactivate()
    return model


def hold_stage_1(model: pyo.ConcreteModel, largest_shortfall: float) -> None:
    """Switch ``model`` to stage 2, holding stage 1's optimum.

    Bounds s <= s* (1 + 1e-9) + 1e-12, deactivates ``stage_1`` and activates
    ``stage_2``. The model is changed in place, so a persistent solver
    re-solves it from its warm start.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        From :func:`build_model`, solved at stage 1.
    largest_shortfall : float
        s*, stage 1's optimum (a fraction).
    """
    model.largest_shortfall.setub(largest_shortfall * (1.0 + HOLD_RELATIVE) + HOLD_ABSOLUTE)
    model.stage_1.deactivate()
    model.stage_2.activate()
