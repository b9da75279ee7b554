"""Calibrating shared-band shares to influence and risk appetite (docs/methods/calibration.md).

Every shared band (more than one party), loss and gain alike, gets one share
vector w; single-party threshold bands stay. Over the simulated scenarios j,
party o's loss is L_oj = b_oj + w_o S_j, where b_oj is what it holds outside the
shared bands and S_j the signed part of V_j in shared bands. The linear
programme (pyomo, HiGHS) is

    minimise θ  subject to  Σ w = 1,  lo ≤ w ≤ hi,  w_o ≤ θ π_o,
    and for each party with an appetite a_o (Rockafellar-Uryasev):
    ζ_o + Σ_j u_oj / ((1 − α) n) ≤ a_o,  u_oj ≥ b_oj + w_o S_j − ζ_o,  u_oj ≥ 0.

Three steps, each testable alone: :func:`calibration_data` (plain arrays, no
pyomo), :func:`build_model` (arrays → ConcreteModel) and :func:`solve_model`
(HiGHS, through :mod:`capitation.solver` like every LP of the toolkit), then
:func:`extract_shares`. :func:`calibrate` runs them,
refuses infeasible appetites with the pounds at stake, writes the shares into a
new agreement and re-settles every scenario with caps and collars.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from capitation.errors import InputError, SolverError
from capitation.rounding import MAX_MONEY_GBP, beyond_money, ceil_whole, round_pence
from capitation.solver import highs, solve
from risk_share.agreement import Agreement, Band
from risk_share.pool import band_amounts_pence, share_pence
from risk_share.simulation import Simulation, cvar

if TYPE_CHECKING:
    from tqdm.auto import tqdm

__all__ = [
    "APPETITE_TOLERANCE_GBP",
    "CalibrationData",
    "build_model",
    "calibrate",
    "calibration_data",
    "extract_shares",
    "solve_model",
    "tail_candidates",
]

logger = logging.getLogger(__name__)

MONEY_SCALE = 1_000.0
"""Pounds per LP unit: money enters the LP in £ thousands, so HiGHS's 1e-7 is £0.0001."""
APPETITE_TOLERANCE_GBP = 0.01
"""A CVaR within a penny of the appetite is within it (rounding to pence moves it)."""


@dataclass(frozen=True, eq=False)
class CalibrationData:
    """Plain inputs of the calibration LP (p parties, n scenarios), pounds.

    Attributes
    ----------
    parties : list of str
        Party names in agreement order.
    influence : numpy.ndarray
        π, shape (p,), adding up to 1.
    lower, upper : numpy.ndarray
        Bounds on each share, shape (p,).
    appetite : numpy.ndarray
        Largest CVaR_α per party in pounds; NaN for a party without one.
    outside : numpy.ndarray
        b: what each party holds outside the shared bands, shape (n, p).
    shared : numpy.ndarray
        S: the signed part of V in shared bands, shape (n,).
    alpha : float
        CVaR confidence level.
    """

    parties: list[str]
    influence: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    appetite: np.ndarray
    outside: np.ndarray
    shared: np.ndarray
    alpha: float

    def cvar_at(self, party: int, share: float) -> float:
        """CVaR_α in pounds of party ``party``'s loss b + share × S."""
        return float(cvar(self.outside[:, party] + share * self.shared, self.alpha)[0])


def _influences(agreement: Agreement) -> np.ndarray:
    missing = [i for i, p in enumerate(agreement.parties, start=1) if p.influence is None]
    if missing:
        i = missing[0]
        raise InputError(
            f"calibration needs an influence for every party; {agreement.parties[i - 1].name!r} "
            "has none",
            file=agreement.source,
            key=f"party[{i}].influence",
        )
    influence = np.array([p.influence for p in agreement.parties], dtype=float)
    total = math.fsum(influence)
    if abs(total - 1.0) > 1e-9:
        raise InputError(
            f"influences add up to {total:.10g}, not 1 (calibration shares risk by influence)",
            file=agreement.source,
            key="party.influence",
        )
    return influence / total


def calibration_data(
    agreement: Agreement,
    simulation: Simulation,
    appetite: Mapping[str, float],
    alpha: float = 0.95,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> CalibrationData:
    """Gather the LP's inputs from an agreement and its simulation (no pyomo).

    Parameters
    ----------
    agreement : Agreement
    simulation : Simulation
    appetite : mapping of str to float
        Party name to largest CVaR_α of its final loss, pounds.
    alpha : float
        CVaR confidence level, between 0 and 1.
    bounds : mapping of str to (float, float), optional
        Party name to (lowest, highest) share; default (0, 1).
    progress : bool
        Show a tqdm.auto bar over the steps (data, build, solve, re-settle).

    Returns
    -------
    CalibrationData

    Raises
    ------
    InputError
        Influences missing or not adding up to 1, an unknown party, a bad
        appetite, bound or alpha, or no shared band.
    """
    names = agreement.party_names
    if simulation.agreement.party_names != names:
        raise InputError(
            f"the simulation's parties {simulation.agreement.party_names} are not the "
            f"agreement's {names}"
        )
    influence = _influences(agreement)
    if not 0.0 < float(alpha) < 1.0:
        raise InputError(f"alpha: {alpha!r} is not between 0 and 1")
    appetites = np.full(len(names), np.nan)
    for party, value in appetite.items():
        if party not in names:
            raise InputError(f"appetite: {party!r} is not a party (parties: {', '.join(names)})")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InputError(f"appetite: {party!r} has {value!r}, not an amount in pounds")
        if not math.isfinite(float(value)):
            raise InputError(f"appetite: {party!r} has {value!r}, not a finite amount")
        if abs(float(value)) > MAX_MONEY_GBP:
            raise InputError(f"appetite: {party!r} has {beyond_money(float(value))}")
        appetites[names.index(party)] = float(value)
    lower = np.zeros(len(names))
    upper = np.ones(len(names))
    for party, pair in (bounds or {}).items():
        if party not in names:
            raise InputError(f"bounds: {party!r} is not a party (parties: {', '.join(names)})")
        try:
            lo, hi = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise InputError(f"bounds: {party!r} needs (lowest, highest), not {pair!r}") from None
        if not 0.0 <= lo <= hi <= 1.0:
            raise InputError(f"bounds: {party!r} needs 0 ≤ lowest ≤ highest ≤ 1, not {pair!r}")
        lower[names.index(party)] = lo
        upper[names.index(party)] = hi

    bands = list(agreement.loss_bands) + list(agreement.gain_bands)
    if not any(b.shared for b in bands):
        raise InputError(
            "no band is shared by more than one party: there are no shares to calibrate",
            file=agreement.source,
            key="pool",
        )
    pooled = np.asarray(round_pence(simulation.pooled_variance_gbp.to_numpy(),
                                    "the simulation's pooled variance"), dtype=np.int64)
    loss, gain = band_amounts_pence(agreement, pooled)
    amounts = np.concatenate([loss, gain], axis=1) / 100.0  # pounds, n × bands
    is_shared = np.array([b.shared for b in bands])
    single = np.array([[b.shares.get(p, 0.0) for p in names] for b in bands]) * ~is_shared[:, None]
    outside = simulation.kept_gbp.to_numpy(dtype=float) + amounts @ single
    return CalibrationData(
        parties=names,
        influence=influence,
        lower=lower,
        upper=upper,
        appetite=appetites,
        outside=outside,
        shared=amounts[:, is_shared].sum(axis=1),
        alpha=float(alpha),
    )


TAIL_PIECES = 32
"""Pieces of the share range searched for scenarios that can reach a party's tail."""


def tail_candidates(data: CalibrationData, party: int) -> np.ndarray:
    """Scenarios that can be in party ``party``'s worst (1 − α) tail at some allowed share.

    Losses are linear in the share w, so on a piece [g, g'] of the range
    [lo, hi] each lies between its values at g and g'. With K = n − ⌈αn⌉ + 1 and
    t the K-th largest of the smaller ends, at every w in the piece at least K
    scenarios lose t or more, so VaR ≥ t. A scenario whose larger end is below t
    on every piece is always below VaR: its tail variable is 0, and leaving it
    out keeps the Rockafellar-Uryasev minimum (the CVaR) unchanged for every w.

    Parameters
    ----------
    data : CalibrationData
    party : int
        Position of the party.

    Returns
    -------
    numpy.ndarray
        Boolean mask over scenarios, shape (n,).
    """
    grid = np.linspace(data.lower[party], data.upper[party], TAIL_PIECES + 1)
    losses = data.outside[:, party][None, :] + grid[:, None] * data.shared[None, :]
    n = losses.shape[1]
    k = n - int(ceil_whole(data.alpha * n)) + 1
    low = np.minimum(losses[:-1], losses[1:])
    high = np.maximum(losses[:-1], losses[1:])
    thresholds = np.partition(low, n - k, axis=1)[:, n - k]
    return (high >= thresholds[:, None]).any(axis=0)


def build_model(data: CalibrationData, prune: bool = True) -> pyo.ConcreteModel:
    """Build the Rockafellar-Uryasev LP as a pyomo model (no solving); money in £ thousands.

    Parameters
    ----------
    data : CalibrationData
    prune : bool
        Leave out the tail variables of scenarios that can never be in a
        party's tail (:func:`tail_candidates`); the optimum is the same.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Variables ``share`` (w), ``theta``, ``zeta`` and ``tail`` (u); named
        expressions ``cvar`` (per party with an appetite, £ thousands).
    """
    n, p = data.outside.shape
    appetite_parties = [o for o in range(p) if not np.isnan(data.appetite[o])]
    scenarios = {
        o: (np.flatnonzero(tail_candidates(data, o)) if prune else np.arange(n)).tolist()
        for o in appetite_parties
    }
    outside = (data.outside / MONEY_SCALE).tolist()
    shared = (data.shared / MONEY_SCALE).tolist()
    weight = 1.0 / ((1.0 - data.alpha) * n)

    model = pyo.ConcreteModel(name="risk share calibration")
    model.parties = pyo.Set(initialize=range(p), ordered=True)
    model.held = pyo.Set(initialize=appetite_parties, ordered=True)
    model.tail_index = pyo.Set(
        initialize=[(o, j) for o in appetite_parties for j in scenarios[o]], dimen=2, ordered=True
    )
    model.share = pyo.Var(
        model.parties, bounds=lambda m, o: (float(data.lower[o]), float(data.upper[o]))
    )
    model.theta = pyo.Var(within=pyo.NonNegativeReals)
    model.zeta = pyo.Var(model.held)
    model.tail = pyo.Var(model.tail_index, within=pyo.NonNegativeReals)

    model.whole_pool = pyo.Constraint(expr=sum(model.share[o] for o in model.parties) == 1)
    model.by_influence = pyo.Constraint(
        model.parties, rule=lambda m, o: m.share[o] <= m.theta * float(data.influence[o])
    )
    model.cvar = pyo.Expression(
        model.held,
        rule=lambda m, o: m.zeta[o] + weight * sum(m.tail[o, j] for j in scenarios[o]),
    )
    model.appetite = pyo.Constraint(
        model.held, rule=lambda m, o: m.cvar[o] <= float(data.appetite[o]) / MONEY_SCALE
    )
    model.tail_loss = pyo.Constraint(
        model.tail_index,
        rule=lambda m, o, j: m.tail[o, j] - shared[j] * m.share[o] + m.zeta[o] >= outside[j][o],
    )
    model.objective = pyo.Objective(expr=model.theta, sense=pyo.minimize)
    return model


def solve_model(model: pyo.ConcreteModel) -> str:
    """Solve with HiGHS through :mod:`capitation.solver` and load the optimal solution.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        From :func:`build_model`.

    Returns
    -------
    str
        ``"optimal"`` (anything else raises).

    Raises
    ------
    SolverError
        When HiGHS is not available or stops without a proven optimum, naming
        what HiGHS reported.
    """
    return solve(model, highs(), what="the risk-share calibration LP").status


def extract_shares(model: pyo.ConcreteModel, data: CalibrationData) -> tuple[np.ndarray, float]:
    """Shares w (clipped to their bounds, adding up to 1) and θ from a solved model.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
    data : CalibrationData

    Returns
    -------
    (numpy.ndarray, float)
        w per party (agreement order) and θ*.
    """
    shares = np.array([pyo.value(model.share[o]) for o in model.parties], dtype=float)
    shares = np.clip(shares, data.lower, data.upper)
    shares = np.where(shares < 1e-12, 0.0, shares)
    return shares / shares.sum(), float(pyo.value(model.theta))


def _lowest_cvar(data: CalibrationData, o: int) -> tuple[float, float]:
    """Smallest CVaR of party o over its share bounds (convex in w): (share, CVaR)."""
    lo, hi = float(data.lower[o]), float(data.upper[o])
    f: Callable[[float], float] = lambda w: data.cvar_at(o, w)  # noqa: E731
    for _ in range(100):  # ternary search on a convex function
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        if f(a) <= f(b):
            hi = b
        else:
            lo = a
    best = (lo + hi) / 2
    for edge in (float(data.lower[o]), float(data.upper[o])):
        if f(edge) <= f(best):
            best = edge
    return best, f(best)


def _feasible_range(data: CalibrationData, o: int, best: float) -> tuple[float, float]:
    """Shares of party o whose CVaR is within appetite (an interval containing ``best``)."""
    a = data.appetite[o]

    def edge(inside: float, outside: float) -> float:
        if data.cvar_at(o, outside) <= a:
            return outside
        for _ in range(100):
            middle = (inside + outside) / 2
            if data.cvar_at(o, middle) <= a:
                inside = middle
            else:
                outside = middle
        return inside

    return edge(best, float(data.lower[o])), edge(best, float(data.upper[o]))


def _check_appetites(data: CalibrationData) -> None:
    """Refuse appetites no shares can meet, with the pounds at stake.

    Method: docs/methods/calibration.md.
    """
    p = len(data.parties)
    low = data.lower.copy()
    high = np.where(data.influence > 0, data.upper, np.minimum(data.upper, 0.0))
    for o in range(p):
        if np.isnan(data.appetite[o]):
            continue
        best, lowest = _lowest_cvar(data, o)
        if lowest > data.appetite[o] + APPETITE_TOLERANCE_GBP:
            lo = float(data.lower[o])
            over = data.cvar_at(o, lo) - data.appetite[o]
            detail = (
                ""
                if best == lo
                else f"; £{lowest - data.appetite[o]:,.2f} over even at its best share {best:.4g}"
            )
            raise InputError(
                f"appetite: {data.parties[o]} cannot be satisfied: £{over:,.2f} over appetite at "
                f"share {lo:g} (CVaR{data.alpha * 100:g} £{data.cvar_at(o, lo):,.2f} against "
                f"£{data.appetite[o]:,.2f}){detail}. What it holds outside the shared bands is "
                "already too risky"
            )
        lo_o, hi_o = _feasible_range(data, o, best)
        low[o] = max(low[o], lo_o)
        high[o] = min(high[o], hi_o)
    if high.sum() < 1.0 - 1e-9:
        pool_cvar = float(cvar(data.shared, data.alpha)[0])
        uncovered = (1.0 - high.sum()) * max(pool_cvar, 0.0)
        raise InputError(
            "appetite: the parties together cannot take the whole pool: their appetites, "
            f"bounds and influences allow shares adding up to {high.sum():.4g} at most, leaving "
            f"{1.0 - high.sum():.4g} of the shared bands, £{uncovered:,.2f} of their "
            f"CVaR{data.alpha * 100:g} of £{pool_cvar:,.2f}, uncovered"
        )
    if low.sum() > 1.0 + 1e-9:
        raise InputError(
            f"bounds: the lowest shares the bounds and appetites allow add up to {low.sum():.4g}, "
            "more than the whole pool"
        )


def _step(bar: tqdm | None, name: str) -> None:
    """Advance a progress bar (if any) past one calibration step."""
    if bar is not None:
        bar.set_postfix_str(name)
        bar.update(1)


def calibrate(
    agreement: Agreement,
    simulation: Simulation,
    appetite: Mapping[str, float],
    alpha: float = 0.95,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    progress: bool = False,
) -> Agreement:
    """Shares for the shared bands by influence, within each party's risk appetite.

    docs/methods/calibration.md: w_o = min(h_o, θ* π_o), with θ* ≥ 1 the smallest common
    factor on influence that places the whole pool, and h_o the largest share
    whose CVaR_α meets party o's appetite.

    Parameters
    ----------
    agreement : Agreement
        Every party needs an influence, adding up to 1.
    simulation : Simulation
        Scenarios settled under ``agreement`` (``agreement.simulate`` or
        :meth:`Simulation.from_variances`).
    appetite : mapping of str to float
        Party name to the largest CVaR_α of its final loss it can carry, pounds.
    alpha : float
        CVaR confidence level.
    bounds : mapping of str to (float, float), optional
        Party name to (lowest, highest) share; default (0, 1).

    Returns
    -------
    Agreement
        A new agreement whose shared bands (loss and gain) all have the
        calibrated shares, with ``calibration``: index ``party``; influence,
        share, appetite_gbp (NaN for none), cvar_before_gbp (as simulated) and
        cvar_after_gbp (every scenario re-settled with the new shares, caps
        and collars). A party whose cvar_after exceeds its appetite (caps are
        outside the LP) is named in a warning.

    Raises
    ------
    InputError
        Missing influences, bad arguments, or appetites no shares can meet
        (naming the party and the pounds over appetite at its lowest share, or
        the pounds left uncovered when they fail only together).
    SolverError
        When HiGHS does not find an optimum for a feasible problem.
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=4, desc="calibration", unit="step")
    data = calibration_data(agreement, simulation, appetite, alpha, bounds)
    _check_appetites(data)
    _step(bar, "build")
    started = time.perf_counter()
    model = build_model(data)
    built = time.perf_counter()
    _step(bar, "solve")
    try:
        condition = solve_model(model)
    except SolverError as error:
        raise SolverError(
            f"{error}; each appetite can be met alone, so check the bounds and influences"
        ) from error
    _step(bar, "re-settle")
    logger.info(
        "calibration LP: %d scenarios, build %.2f s, solve %.2f s, %s",
        len(data.shared),
        built - started,
        time.perf_counter() - built,
        condition,
    )
    shares, theta = extract_shares(model, data)
    logger.info("calibration: theta* = %.6g", theta)

    new_shares = {p: float(w) for p, w in zip(data.parties, shares, strict=True) if w > 0}
    loss_bands = tuple(Band(b.upto, new_shares) if b.shared else b for b in agreement.loss_bands)
    gain_bands = tuple(Band(b.upto, new_shares) if b.shared else b for b in agreement.gain_bands)
    calibrated = dataclasses.replace(agreement, loss_bands=loss_bands, gain_bands=gain_bands)

    pooled = np.asarray(round_pence(simulation.pooled_variance_gbp.to_numpy(),
                                    "the simulation's pooled variance"), dtype=np.int64)
    kept = np.asarray(round_pence(simulation.kept_gbp.to_numpy(),
                                  "the simulation's holdings outside the pool"), dtype=np.int64)
    after = (kept + share_pence(calibrated, pooled)) / 100.0
    _step(bar, "done")
    if bar is not None:
        bar.close()
    table = pd.DataFrame(
        {
            "influence": data.influence,
            "share": shares,
            "appetite_gbp": data.appetite,
            "cvar_before_gbp": cvar(simulation.positions.to_numpy(), data.alpha),
            "cvar_after_gbp": cvar(after, data.alpha),
        },
        index=pd.Index(data.parties, name="party"),
    )
    over = table.index[table["cvar_after_gbp"] > table["appetite_gbp"] + APPETITE_TOLERANCE_GBP]
    for party in over:
        row = table.loc[party]
        warnings.warn(
            f"{party} is over its appetite after caps and collars: CVaR "
            f"£{row['cvar_after_gbp']:,.2f} against £{row['appetite_gbp']:,.2f}",
            stacklevel=2,
        )
    return dataclasses.replace(calibrated, calibration=table)
