"""What drives each party's risk: a one-way tornado, Sobol indices, and a pool solvency check.

All three work on a :class:`~risk_share.simulation.Simulation` of plan lines and
use the same activity multipliers as the simulation (docs/methods/monte-carlo.md: lognormal
or normal, mean 1, coefficient of variation ``cv`` per line, correlation
between the varying lines), settled in whole pence as every scenario is.
Fixed lines never vary and are left out; ``line`` is the plan line's position
in the plan, counting from 0.

**Tornado** (one-way sensitivity). Each varying line in turn is set to the
5th and then the 95th percentile of its own multiplier, every other line at
plan; each party's final position at each end is ``low_gbp`` (line at p5)
and ``high_gbp`` (line at p95). With every line at plan all positions are 0.

**Sobol indices** (variance-based, of each party's final position). Saltelli
sampling with the estimators of Saltelli et al. (2010, "Variance based
sensitivity analysis of model output", Comput. Phys. Commun. 181, table 2):
two independent matrices A and B of N rows of standard normals, and for line
i the matrix A_B^(i) (A with column i from B); with f the final position and
V the variance of f over A and B,

- first order  S_i  = mean(f(B) (f(A_B^(i)) − f(A))) / V      (Saltelli 2010, eq. b)
- total        S_Ti = mean((f(A) − f(A_B^(i)))²) / (2V)        (Jansen 1999, eq. f)

The normals become correlated line outturns as in the simulation, Z = ε Lᵀ.
With correlated lines the inputs are dependent, and the indices follow Mara
and Tarantola (2012, "Variance-based sensitivity indices for models with
dependent inputs", Reliab. Eng. Syst. Saf. 107): the first-order index of
line i is that of the first normal when the Cholesky factor is taken with
line i ordered first (Var(E[f | Z_i]) / V, the "full" index: what line i's
outturn explains, including through the lines it moves with), and its total
index that of the last normal with line i ordered last (E[Var(f | Z_~i)] / V,
the "independent" index: what is left to line i once every other line is
known). Without correlation both orderings are the plain indices above.

The sampling error of each index falls as 1 / sqrt(N); indices of a party
whose position never varies are NaN.

**Solvency** (:func:`solvency`): per party the share of scenarios in which its
share of the pool reaches its loss cap or its gain collar (before capping,
its bands would give it at least that much), and for the residual party the
95th percentile of what it absorbs beyond its own band shares (what capped
parties could not take; positive = extra loss).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.rounding import round_pence
from risk_share.marginal_rates import LineTerms, line_terms
from risk_share.pool import PoolTerms, pool_terms, raw_shares_pence
from risk_share.settlement import settle_pence
from risk_share.simulation import correlation_factor, multipliers, step_size

if TYPE_CHECKING:
    from risk_share.simulation import Simulation

__all__ = ["Sensitivity", "line_quantiles", "sensitivity", "solvency"]

LOW, HIGH = 0.05, 0.95
"""The percentiles of a line's multiplier at the tornado's two ends."""
MAX_SAMPLES = 1_000_000
"""The most base samples N of one Sobol analysis."""


@dataclass(frozen=True, eq=False)
class Sensitivity:
    """What drives each party's final position.

    Attributes
    ----------
    tornado : pandas.DataFrame
        Indexed by (``party``, ``line``): ``low_gbp`` and ``high_gbp``, the
        party's final position (pounds, whole pence, positive = loss) with the
        line at the 5th and at the 95th percentile of its outturn, every other
        line at plan.
    sobol : pandas.DataFrame
        Indexed by (``party``, ``line``): ``first_order`` and ``total``, the
        Sobol indices of the party's final position with respect to the line's
        outturn (fractions of its variance).
    lines : pandas.DataFrame
        The varying plan lines (index ``line``): ``party`` and ``pod``, for labels.
    n : int
        Base samples N of the Sobol indices (N × (lines + 2) settlements
        without correlation, 6 N × lines with it).
    seed : int or None
        Seed of the Sobol samples.
    """

    tornado: pd.DataFrame
    sobol: pd.DataFrame
    lines: pd.DataFrame
    n: int
    seed: int | None

    def _repr_html_(self) -> str:
        from capitation.display import html_table

        return (html_table(self.tornado, "Tornado: final position with one line at its p5 "
                                         "and p95 (positive = loss)")
                + html_table(self.sobol, f"Sobol indices ({self.n:,} base samples)"))


@dataclass(frozen=True, eq=False)
class _Setup:
    """A simulation's plan, terms and multipliers, ready to settle outturns of the varying lines."""

    terms: LineTerms
    pool: PoolTerms
    parties: list[str]
    varying: np.ndarray  # positions in the plan of the varying lines
    cv: np.ndarray  # per varying line
    correlation: np.ndarray  # over the varying lines
    distribution: str
    labels: pd.DataFrame

    def positions(self, z: np.ndarray) -> np.ndarray:
        """Return final positions (whole pence, float) for outturns z (normals per varying line)."""
        terms = self.terms
        n, p = len(z), len(self.parties)
        out = np.empty((n, p))
        rows = step_size(len(terms.planned_pence))
        cols = self.varying
        for start in range(0, n, rows):  # bounded memory, as the simulation settles
            stop = min(n, start + rows)
            activity = terms.planned_activity[cols] * multipliers(
                z[start:stop], self.cv, self.distribution)
            actual = np.broadcast_to(terms.planned_pence, (stop - start, len(terms.planned_pence)))
            actual = actual.copy()
            actual[:, cols] = round_pence(activity * terms.price_gbp[cols],
                                          "the actual value of a plan line")
            out[start:stop] = settle_pence(terms, self.pool, p, actual).final_position
        return out


def _setup(simulation: Simulation) -> _Setup:
    lines = simulation.lines
    if lines is None or simulation.cv is None or simulation.distribution is None:
        raise InputError("sensitivity needs a simulation of plan lines (Agreement.simulate), "
                         "not one built from pooled variances")
    agreement = simulation.agreement
    terms = line_terms(agreement, lines)
    varying = np.flatnonzero(~lines["fixed"].to_numpy(dtype=bool))
    if varying.size == 0:
        raise InputError("sensitivity: every plan line is fixed, so nothing varies")
    correlation = (np.eye(varying.size) if simulation.correlation is None
                   else np.asarray(simulation.correlation, dtype=float))
    labels = lines.iloc[varying][["party", "pod"]].copy()
    labels.index = pd.Index(varying, name="line")
    return _Setup(terms=terms, pool=pool_terms(agreement), parties=agreement.party_names,
                  varying=varying, cv=np.asarray(simulation.cv, dtype=float)[varying],
                  correlation=correlation, distribution=simulation.distribution, labels=labels)


def line_quantiles(cv: np.ndarray, distribution: str, level: float) -> np.ndarray:
    """Return the ``level`` quantile of each line's activity multiplier (mean 1, ``cv``).

    lognormal: exp(σ Φ⁻¹(level) − σ²/2) with σ² = ln(1 + cv²); normal:
    max(0, 1 + cv Φ⁻¹(level)), the multipliers of :func:`risk_share.simulation.multipliers`
    at the normal quantile (both are increasing in the normal).

    Parameters
    ----------
    cv : numpy.ndarray
        Coefficient of variation per line.
    distribution : {"lognormal", "normal"}
    level : float
        Between 0 and 1 (0.05 for the 5th percentile).

    Returns
    -------
    numpy.ndarray
        One multiplier per line.
    """
    z = np.full((1, len(cv)), NormalDist().inv_cdf(level))
    return multipliers(z, np.asarray(cv, dtype=float), distribution)[0]


def _tornado(setup: _Setup) -> pd.DataFrame:
    # The other lines are held at plan (multiplier 1) by settling their planned values; a
    # normal of 0 would not do it (a lognormal multiplier at z = 0 is exp(-σ²/2), not 1).
    low = _one_at_a_time(setup, line_quantiles(setup.cv, setup.distribution, LOW))
    high = _one_at_a_time(setup, line_quantiles(setup.cv, setup.distribution, HIGH))
    index = pd.MultiIndex.from_product([setup.parties, setup.varying], names=["party", "line"])
    return pd.DataFrame({"low_gbp": low.T.reshape(-1) / 100.0,
                         "high_gbp": high.T.reshape(-1) / 100.0}, index=index)


def _one_at_a_time(setup: _Setup, multiplier: np.ndarray) -> np.ndarray:
    """Return final positions (pence), a row per varying line: it × multiplier, others at plan."""
    terms = setup.terms
    m = setup.varying.size
    actual = np.broadcast_to(terms.planned_pence, (m, len(terms.planned_pence))).copy()
    cols = setup.varying
    moved = round_pence(terms.planned_activity[cols] * multiplier * terms.price_gbp[cols],
                        "the actual value of a plan line")
    actual[np.arange(m), cols] = moved
    return settle_pence(terms, setup.pool, len(setup.parties), actual).final_position.astype(float)


def _ordered(epsilon: np.ndarray, correlation: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Return correlated normals in plan order from independent ones, factored in ``order``."""
    factor = correlation_factor(correlation[np.ix_(order, order)])
    z = np.empty_like(epsilon)
    z[:, order] = epsilon @ factor.T
    return z


def _indices(fa: np.ndarray, fb: np.ndarray, fab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return first-order (Saltelli 2010) and total (Jansen 1999) indices per party."""
    variance = np.var(np.concatenate([fa, fb]), axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(variance > 0, np.mean(fb * (fab - fa), axis=0) / variance, np.nan)
        total = np.where(variance > 0, np.mean((fa - fab) ** 2, axis=0) / (2 * variance), np.nan)
    return first, total


def _sobol(setup: _Setup, n: int, seed: int | None) -> pd.DataFrame:
    m = setup.varying.size
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, m))
    b = rng.standard_normal((n, m))
    first = np.empty((m, len(setup.parties)))
    total = np.empty((m, len(setup.parties)))
    independent = np.array_equal(setup.correlation, np.eye(m))
    if independent:
        fa, fb = setup.positions(a), setup.positions(b)
        for i in range(m):  # one settlement of N scenarios per line
            ab = a.copy()
            ab[:, i] = b[:, i]
            first[i], total[i] = _indices(fa, fb, setup.positions(ab))
    else:
        for i in range(m):
            others = np.array([j for j in range(m) if j != i], dtype=int)
            for place, out in ((0, first), (m - 1, total)):
                order = np.insert(others, place, i)  # line i first, or last
                ab = a.copy()
                ab[:, place] = b[:, place]
                fa = setup.positions(_ordered(a, setup.correlation, order))
                fb = setup.positions(_ordered(b, setup.correlation, order))
                fab = setup.positions(_ordered(ab, setup.correlation, order))
                s_first, s_total = _indices(fa, fb, fab)
                out[i] = s_first if place == 0 else s_total
    index = pd.MultiIndex.from_product([setup.parties, setup.varying], names=["party", "line"])
    return pd.DataFrame({"first_order": first.T.reshape(-1), "total": total.T.reshape(-1)},
                        index=index)


def sensitivity(simulation: Simulation, n: int = 10_000, seed: int | None = None) -> Sensitivity:
    """Compute the tornado and Sobol indices of each party's final position (module docstring).

    Parameters
    ----------
    simulation : Simulation
        A simulation of plan lines (:meth:`risk_share.Agreement.simulate`):
        its agreement, lines, cv, correlation and distribution are used.
    n : int
        Base samples N of the Sobol indices (default 10,000).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the Sobol samples (default:
        the simulation's seed).

    Returns
    -------
    Sensitivity

    Raises
    ------
    InputError
        A simulation without plan lines, every line fixed, or ``n`` not a
        whole number from 2 to ``MAX_SAMPLES``.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= MAX_SAMPLES:
        raise InputError(f"n: the number of base samples must be a whole number from 2 to "
                         f"{MAX_SAMPLES:,}, not {n!r}")
    setup = _setup(simulation)
    seed = simulation.seed if seed is None else seed
    return Sensitivity(tornado=_tornado(setup), sobol=_sobol(setup, int(n), seed),
                       lines=setup.labels, n=int(n), seed=seed)


def solvency(simulation: Simulation) -> pd.DataFrame:
    """Check pool solvency: how often caps and collars bind, what the residual party absorbs.

    Parameters
    ----------
    simulation : Simulation
        Any simulation (its pooled variances are shared again, without caps,
        to find each party's own band shares).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``party``: ``p_at_cap`` (share of scenarios in which the
        party's band shares of a loss reach its cap; NaN without a cap),
        ``p_at_collar`` (the same for a gain and its collar) and
        ``absorbed_p95_gbp`` (residual party only: the 95th percentile of
        its pool share less its own band shares, pounds, positive = extra
        loss; NaN for the others).
    """
    agreement = simulation.agreement
    terms = pool_terms(agreement)
    pooled = np.asarray(round_pence(simulation.pooled_variance_gbp.to_numpy(dtype=float),
                                    "a pooled variance"), dtype=np.int64)
    p = len(agreement.parties)
    uncapped = dataclasses.replace(terms, loss_caps=np.full(p, np.inf),
                                   gain_collars=np.full(p, np.inf))
    own = raw_shares_pence(uncapped, pooled)  # each party's band shares, before caps
    capped = raw_shares_pence(terms, pooled)
    with np.errstate(invalid="ignore"):
        at_cap = np.where(np.isfinite(terms.loss_caps),
                          (own >= terms.loss_caps[None, :]).mean(axis=0), np.nan)
        at_collar = np.where(np.isfinite(terms.gain_collars),
                             (-own >= terms.gain_collars[None, :]).mean(axis=0), np.nan)
    absorbed = np.full(p, np.nan)
    residual = terms.residual
    absorbed[residual] = np.percentile((capped[:, residual] - own[:, residual]) / 100.0, 95,
                                       method="linear")
    return pd.DataFrame({"p_at_cap": at_cap, "p_at_collar": at_collar,
                         "absorbed_p95_gbp": absorbed},
                        index=pd.Index(agreement.party_names, name="party"))
