"""Pace-of-change LP on 6,500 organisations: pyomo + HiGHS against raw highspy.

Printed, never asserted. Both paths solve the same two-stage LP of
docs/methods/pace-of-change.md#the-two-stage-lp (money in £ millions, the fraction rows divided by
target) on the
same seeded instance, in the same run:

- pyomo: build (capitation.pace_of_change.build) + HiGHS solve of both stages
  through pyomo's persistent interface (capitation.solver) + extract;
- raw: the LP passed to ``highspy.Highs`` as sparse CSC arrays built with
  numpy (passModel), stage 2 by changing s's bound and the costs, then the
  column values read back as an array.

Target: ratio pyomo / raw <= 25, and the pyomo path under 2 s.

Run: .venv/bin/python bench/pace_of_change.py [organisations] [repeats]
"""

from __future__ import annotations

import sys
import time
from importlib.metadata import version

import highspy
import numpy as np
import pandas as pd

from capitation.pace_of_change import set_pace
from capitation.pace_of_change.build import HOLD_ABSOLUTE, HOLD_RELATIVE, build_model, hold_stage_1
from capitation.pace_of_change.data import LpInputs, lp_inputs, prepare
from capitation.pace_of_change.extract import extract
from capitation.rounding import largest_remainder
from capitation.solver import highs, solve

SEED = 20260401


def instance(size: int, seed: int) -> tuple[pd.Series, pd.Series, int]:
    """Practices of £0.5m to £15m; targets ±20% around baseline; envelope +4%."""
    rng = np.random.default_rng(seed)
    codes = pd.Index([f"P{i:05d}" for i in range(size)], name="practice")
    baseline_gbp = pd.Series(np.round(rng.uniform(5e5, 1.5e7, size), 2), index=codes)
    envelope = int(round(baseline_gbp.sum() * 104))
    weight = baseline_gbp * rng.uniform(0.8, 1.2, size)
    target = largest_remainder(weight / weight.sum() * envelope / 100, envelope)
    return target, baseline_gbp, envelope


def pyomo_path(inputs: LpInputs, data) -> tuple[dict[str, float], float, float]:
    times = {}
    started = time.perf_counter()
    solver = highs()
    model = build_model(inputs)
    times["build"] = time.perf_counter() - started
    started = time.perf_counter()
    stage_1 = solve(model, solver, what="stage 1", load_solution=False)
    times["stage 1"] = time.perf_counter() - started
    started = time.perf_counter()
    hold_stage_1(model, stage_1.objective)
    stage_2 = solve(model, solver, what="stage 2")
    times["stage 2"] = time.perf_counter() - started
    started = time.perf_counter()
    solution = extract(model, data, stage_1, stage_2)
    times["extract"] = time.perf_counter() - started
    return times, solution.largest_shortfall, solution.total_shortfall_gbp


def _require_optimal(h: highspy.Highs) -> None:
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"raw highspy: {h.modelStatusToString(h.getModelStatus())}")


def raw_highspy_path(inputs: LpInputs) -> tuple[dict[str, float], float, float]:
    """Columns [A_0..A_n-1, u_0..u_n-1, s]; rows [fraction (n), pounds (n), envelope]."""
    times = {}
    started = time.perf_counter()
    n = len(inputs.target)
    inf = highspy.kHighsInf
    organisations = np.arange(n)
    # Column-wise (CSC): A_i in fraction row i (1/T_i), pounds row n+i (1), envelope row 2n (1);
    # u_i in pounds row n+i (1); s in every fraction row (1).
    a_rows = np.stack([organisations, n + organisations, np.full(n, 2 * n)], axis=1).ravel()
    a_values = np.stack([1.0 / inputs.target, np.ones(n), np.ones(n)], axis=1).ravel()
    index = np.concatenate([a_rows, n + organisations, organisations]).astype(np.int32)
    value = np.concatenate([a_values, np.ones(n), np.ones(n)])
    counts = np.concatenate([np.full(n, 3), np.ones(n, dtype=int), [n]])
    start = np.concatenate([[0], np.cumsum(counts)])
    lp = highspy.HighsLp()
    lp.num_col_ = 2 * n + 1
    lp.num_row_ = 2 * n + 1
    lp.col_cost_ = np.concatenate([np.zeros(2 * n), [1.0]])
    lp.col_lower_ = np.concatenate([inputs.floor, np.zeros(n + 1)])
    lp.col_upper_ = np.concatenate(
        [np.where(np.isfinite(inputs.cap), inputs.cap, inf), np.full(n + 1, inf)]
    )
    lp.row_lower_ = np.concatenate([np.ones(n), inputs.target, [inputs.envelope]])
    lp.row_upper_ = np.concatenate([np.full(2 * n, inf), [inputs.envelope]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    times["build"] = time.perf_counter() - started
    started = time.perf_counter()
    h.run()
    _require_optimal(h)
    largest = h.getInfo().objective_function_value
    times["stage 1"] = time.perf_counter() - started
    started = time.perf_counter()
    h.changeColBounds(2 * n, 0.0, largest * (1 + HOLD_RELATIVE) + HOLD_ABSOLUTE)
    cost = np.concatenate([np.zeros(n), np.ones(n), [0.0]])
    h.changeColsCost(2 * n + 1, np.arange(2 * n + 1, dtype=np.int32), cost)
    h.run()
    _require_optimal(h)
    total_m = h.getInfo().objective_function_value
    times["stage 2"] = time.perf_counter() - started
    started = time.perf_counter()
    allocation = np.asarray(h.getSolution().col_value)[:n]
    times["extract"] = time.perf_counter() - started
    if allocation.shape != (n,):
        raise RuntimeError("raw highspy: unexpected solution shape")
    times["extract"] = time.perf_counter() - started
    return times, largest, total_m * 1e6


def main(size: int = 6_500, repeats: int = 3) -> None:
    target, baseline, envelope = instance(size, SEED)
    data = prepare(target, baseline, envelope, 0.02, 0.08)
    inputs = lp_inputs(data)
    print(f"pace of change: {size:,} organisations, seed {SEED}, best of {repeats}")
    print(f"  highspy {version('highspy')}, pyomo {version('pyomo')}")
    best_pyomo: dict[str, float] = {}
    best_raw: dict[str, float] = {}
    for _ in range(repeats):
        pyomo_times, s_pyomo, u_pyomo = pyomo_path(inputs, data)
        raw_times, s_raw, u_raw = raw_highspy_path(inputs)
        if not best_pyomo or sum(pyomo_times.values()) < sum(best_pyomo.values()):
            best_pyomo = pyomo_times
        if not best_raw or sum(raw_times.values()) < sum(best_raw.values()):
            best_raw = raw_times
    print(f"  {'step':<10}{'pyomo (s)':>12}{'raw (s)':>12}")
    for step in best_pyomo:
        print(f"  {step:<10}{best_pyomo[step]:>12.3f}{best_raw[step]:>12.3f}")
    pyomo_total = sum(best_pyomo.values())
    raw_total = sum(best_raw.values())
    print(f"  {'total':<10}{pyomo_total:>12.3f}{raw_total:>12.3f}")
    print(f"  ratio pyomo / raw: {pyomo_total / raw_total:.1f} (target <= 25)")
    print(f"  pyomo path under 2 s: {'yes' if pyomo_total < 2 else 'NO'}")
    print(f"  s*: pyomo {s_pyomo:.12f}  raw {s_raw:.12f}")
    print(f"  U*: pyomo £{u_pyomo:,.2f}  raw £{u_raw:,.2f}")

    started = time.perf_counter()
    outcome = set_pace(target, baseline, envelope, 0.02, 0.08)
    whole = time.perf_counter() - started
    summary = outcome.summary
    print(
        f"  set_pace end to end (validate, LP, fairest, check, round): {whole:.3f} s "
        f"(build {summary.build_seconds:.3f} s, solve {summary.solve_seconds:.3f} s)"
    )
    started = time.perf_counter()
    set_pace(target, baseline, envelope, 0.02, 0.08, method="rule")
    print(f"  set_pace method='rule': {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    arguments = [int(argument) for argument in sys.argv[1:]]
    main(*arguments)
