"""Monte Carlo of outturns, each settled as in docs/methods/settlement.md.

Method: docs/methods/monte-carlo.md.

Planned activity varies by a multiplier with mean 1 and coefficient of
variation ``cv``; lines with ``fixed`` = true never vary. For the m varying
lines, ε holds the standard normals of ``default_rng(seed)`` in scenario
order, m to a scenario (the numbers of ``standard_normal((n, m))``), and
Z = ε Lᵀ with L L ᵀ the correlation matrix (lower Cholesky factor, or from
``eigh`` for a matrix that is only positive semi-definite). Every scenario is
settled in integer pence, vectorised: arrays are scenarios × lines or
scenarios × parties. Scenarios are numbered from 1 (index ``scenario``).

Memory is bounded. Scenarios are drawn and settled in steps of a few
thousand, so no array of all scenarios × lines is ever held; what is kept of
each scenario is its pooled variance and two numbers per party (held outside
the pool, final position). Drawing step by step takes the generator's
numbers in the same order as one call, and the product ε Lᵀ runs on whole
blocks of ``ROW_BLOCK`` rows, so the step size changes no scenario: results
depend on the seed alone. A request whose results would pass
``RESULTS_BYTES`` is refused before anything is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.rounding import ceil_whole, round_pence
from risk_share.agreement import Agreement
from risk_share.marginal_rates import line_terms
from risk_share.plan_lines_file import read_lines
from risk_share.pool import pool_terms, share_pence
from risk_share.settlement import check_budget_scale, settle_pence

if TYPE_CHECKING:
    from risk_share.sensitivity import Sensitivity

__all__ = [
    "DISTRIBUTIONS",
    "EIGENVALUE_TOLERANCE",
    "Simulation",
    "check_results_fit",
    "correlation_factor",
    "cvar",
    "multipliers",
    "simulate",
    "step_size",
    "summarise",
    "value_at_risk",
]

DISTRIBUTIONS = ("lognormal", "normal")
EIGENVALUE_TOLERANCE = 1e-10
"""A correlation matrix with an eigenvalue below minus this is refused."""
CHUNK = 50_000
"""Most scenarios settled per step (progress is reported per step)."""
CHUNK_BYTES = 16 * 2**20
"""Most bytes of one scenarios × lines array of a step (float64 or int64).

A step holds up to about 18 such arrays at once (draws, multipliers, the
rounding and the marginal payments' intermediates), so its working memory
stays under about 300 MiB whatever the number of lines; a step has at least
one scenario.
"""
ROW_BLOCK = 64
"""The correlation product ε Lᵀ runs on whole blocks of this many scenarios.

A matrix product in BLAS may round a row differently when the row falls in
a short tile or at a thread's boundary, so a scenario's normals could depend
on how many scenarios share its step. Steps are a whole number of blocks and
a short last step is padded with zero rows, so every row is computed alike.
"""
RESULTS_BYTES = 2 * 2**30
"""Most bytes the results of one simulation may take (2 GiB).

Per scenario: the pooled variance and, per party, what it holds outside the
pool and its final position, 8 bytes each, so (2 × parties + 1) × 8 bytes.
Summarising them takes about as much again for a moment.
"""
MAX_CV = 10.0
"""The largest coefficient of variation of activity: a sd ten times the plan.

A lognormal multiplier's σ² = ln(1 + cv²), so a cv far above this (1e308) makes
σ infinite and every simulated activity NaN.
"""
MAX_SEED = 2**32 - 1
"""The largest seed: seeds are whole numbers from 0 to 2**32 - 1 (4,294,967,295)."""


@dataclass(frozen=True, eq=False)
class Simulation:
    """Simulated outturns, each settled.

    Final positions follow the settlement's sign convention
    (:data:`risk_share.settlement.SIGN_CONVENTION`): positive = a loss borne
    by the party, negative = a gain.

    Attributes
    ----------
    agreement : Agreement
        The agreement the scenarios were settled under.
    pooled_variance_gbp : pandas.Series
        V per scenario (index ``scenario``), whole pence.
    kept_gbp : pandas.DataFrame
        Scenarios × parties: what each party holds outside the pool (a
        provider's own line variance less marginal payments; 0 for the
        commissioner), whole pence.
    positions : pandas.DataFrame
        Scenarios × parties: final positions, kept + pool share, whole pence.
    seed : int or None
        The seed of the random draws.
    distribution : str or None
        ``"lognormal"`` or ``"normal"``; None when built from given variances.
    cv : numpy.ndarray or None
        Coefficient of variation per plan line.
    correlation : numpy.ndarray or None
        Correlation matrix of the varying lines, as used.
    lines : pandas.DataFrame or None
        The validated plan lines.
    """

    agreement: Agreement = field(repr=False)
    pooled_variance_gbp: pd.Series = field(repr=False)
    kept_gbp: pd.DataFrame = field(repr=False)
    positions: pd.DataFrame = field(repr=False)
    seed: int | None = None
    distribution: str | None = None
    cv: np.ndarray | None = field(default=None, repr=False)
    correlation: np.ndarray | None = field(default=None, repr=False)
    lines: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of scenarios."""
        return len(self.positions)

    @classmethod
    def from_variances(
        cls,
        agreement: Agreement,
        pooled_variance_gbp: np.ndarray | pd.Series | list[float],
        kept_gbp: np.ndarray | pd.DataFrame | None = None,
    ) -> Simulation:
        """Settle given pooled variances (and holdings outside the pool).

        For scenarios drawn elsewhere, and for checking calibration by hand.

        Parameters
        ----------
        agreement : Agreement
        pooled_variance_gbp : array-like
            V per scenario in pounds (rounded to whole pence with R).
        kept_gbp : array-like, optional
            Scenarios × parties (agreement order), pounds each party holds
            outside the pool; default 0 for everyone.

        Returns
        -------
        Simulation
        """
        pooled = np.asarray(round_pence(np.asarray(pooled_variance_gbp, dtype=float),
                                        "pooled_variance_gbp"))
        pooled = pooled.astype(np.int64).reshape(-1)
        n, p = len(pooled), len(agreement.parties)
        if kept_gbp is None:
            kept = np.zeros((n, p), dtype=np.int64)
        else:
            kept_values = np.asarray(kept_gbp, dtype=float)
            if kept_values.shape != (n, p):
                raise InputError(
                    f"kept_gbp has shape {kept_values.shape}; expected {(n, p)} "
                    "(scenarios × parties)"
                )
            kept = np.asarray(round_pence(kept_values, "kept_gbp"), dtype=np.int64).reshape(n, p)
        share = share_pence(agreement, pooled)
        return cls._from_pence(agreement, pooled, kept, share)

    @classmethod
    def _from_pence(
        cls,
        agreement: Agreement,
        pooled: np.ndarray,
        kept: np.ndarray,
        share: np.ndarray,
        *,
        seed: int | None = None,
        distribution: str | None = None,
        cv: np.ndarray | None = None,
        correlation: np.ndarray | None = None,
        lines: pd.DataFrame | None = None,
    ) -> Simulation:
        return cls._from_gbp(
            agreement,
            pooled / 100.0,
            kept / 100.0,
            (kept + share) / 100.0,
            seed=seed,
            distribution=distribution,
            cv=cv,
            correlation=correlation,
            lines=lines,
        )

    @classmethod
    def _from_gbp(
        cls,
        agreement: Agreement,
        pooled_gbp: np.ndarray,
        kept_gbp: np.ndarray,
        positions_gbp: np.ndarray,
        *,
        seed: int | None = None,
        distribution: str | None = None,
        cv: np.ndarray | None = None,
        correlation: np.ndarray | None = None,
        lines: pd.DataFrame | None = None,
    ) -> Simulation:
        """Wrap arrays of whole pence in pounds; the frames take them over without a copy.

        A frame holds its columns contiguously: arrays laid out column by column
        (``order="F"``) are used as they are, others copied into that layout.
        """
        index = pd.RangeIndex(1, len(pooled_gbp) + 1, name="scenario")
        parties = pd.Index(agreement.party_names, name="party")

        def frame(values: np.ndarray) -> pd.DataFrame:
            return pd.DataFrame(
                np.asfortranarray(values), index=index, columns=parties, copy=False
            )

        return cls(
            agreement=agreement,
            pooled_variance_gbp=pd.Series(
                pooled_gbp, index=index, name="pooled_variance_gbp", copy=False
            ),
            kept_gbp=frame(kept_gbp),
            positions=frame(positions_gbp),
            seed=seed,
            distribution=distribution,
            cv=cv,
            correlation=correlation,
            lines=lines,
        )

    def summary(self) -> pd.DataFrame:
        """Spread of each party's final position (docs/methods/monte-carlo.md).

        Returns
        -------
        pandas.DataFrame
            Index ``party``; mean_gbp, sd_gbp (ddof 1), p5_gbp, p50_gbp,
            p95_gbp (linear interpolation), p_loss (share of scenarios with a
            loss), var95_gbp (the ⌈0.95n⌉-th smallest) and cvar95_gbp
            (Rockafellar-Uryasev). Unrounded pounds.
        """
        return summarise(self.positions)

    def percentiles(self, levels: tuple[float, ...] = (5, 10, 25, 50, 75, 90, 95)) -> pd.DataFrame:
        """Percentiles of each party's final position, as for a fan chart.

        Parameters
        ----------
        levels : tuple of float
            Percentiles between 0 and 100.

        Returns
        -------
        pandas.DataFrame
            Index ``party``, one column per level (named by the level), pounds
            (positive = loss), linear interpolation as in :meth:`summary`.
        """
        values = np.percentile(
            self.positions.to_numpy(dtype=float), list(levels), axis=0, method="linear"
        )
        return pd.DataFrame(
            values.T, index=pd.Index(self.positions.columns, name="party"), columns=list(levels)
        )

    def sensitivity(self, n: int = 10_000, seed: int | None = None) -> Sensitivity:
        """Find what drives each party's risk: a one-way tornado and Sobol indices over lines.

        See :mod:`risk_share.sensitivity` for the method.

        Parameters
        ----------
        n : int
            Base samples of the Sobol indices (default 10,000).
        seed : int, optional
            Seed of their samples (default: this simulation's seed).

        Returns
        -------
        risk_share.sensitivity.Sensitivity
            ``tornado`` (index (``party``, ``line``): ``low_gbp``, ``high_gbp``) and
            ``sobol`` (index (``party``, ``line``): ``first_order``, ``total``);
            ``line`` is the plan line's position in the plan, from 0.
        """
        from risk_share.sensitivity import sensitivity

        return sensitivity(self, n=n, seed=seed)

    def solvency(self) -> pd.DataFrame:
        """Check pool solvency: how often caps and collars bind; what the residual absorbs.

        Returns
        -------
        pandas.DataFrame
            Index ``party``: ``p_at_cap``, ``p_at_collar`` and, for the residual
            party, ``absorbed_p95_gbp`` (see :func:`risk_share.sensitivity.solvency`).
        """
        from risk_share.sensitivity import solvency

        return solvency(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: :meth:`summary`, money as £1,234.56."""
        from capitation.display import html_table

        caption = (
            f"{self.agreement.name}: {self.n:,} simulated outturns"
            + (f", {self.distribution}" if self.distribution else "")
            + (f", seed {self.seed}" if self.seed is not None else "")
            + "; final positions (positive = loss)"
        )
        return html_table(self.summary(), caption)


def value_at_risk(losses: np.ndarray, alpha: float = 0.95) -> np.ndarray:
    """VaR: the ⌈αn⌉-th smallest loss of each column.

    Parameters
    ----------
    losses : numpy.ndarray
        Shape (n,) or (n, p).
    alpha : float
        Confidence level.

    Returns
    -------
    numpy.ndarray
        One value per column.
    """
    values = np.asarray(losses, dtype=float)
    values = values.reshape(len(values), -1)
    n = values.shape[0]
    # The snap of the conventions before a ceiling: α n may carry float noise above an integer.
    k = int(ceil_whole(alpha * n))
    k = min(max(k, 1), n)
    return np.partition(values, k - 1, axis=0)[k - 1]


def cvar(losses: np.ndarray, alpha: float = 0.95) -> np.ndarray:
    """CVaR_α = VaR_α + Σ_j max(0, L_j − VaR_α) / ((1 − α) n), per column.

    Method: docs/methods/monte-carlo.md.

    Parameters
    ----------
    losses : numpy.ndarray
        Shape (n,) or (n, p).
    alpha : float
        Confidence level.

    Returns
    -------
    numpy.ndarray
        One value per column.
    """
    values = np.asarray(losses, dtype=float)
    values = values.reshape(len(values), -1)
    var = value_at_risk(values, alpha)
    tail = np.maximum(0.0, values - var[None, :]).sum(axis=0)
    return var + tail / ((1.0 - alpha) * values.shape[0])


def summarise(positions: pd.DataFrame) -> pd.DataFrame:
    """Summary statistics of scenarios × parties final positions (docs/methods/monte-carlo.md).

    Parameters
    ----------
    positions : pandas.DataFrame
        Scenarios × parties, pounds (positive = loss).

    Returns
    -------
    pandas.DataFrame
        See :meth:`Simulation.summary`.
    """
    values = positions.to_numpy(dtype=float)
    p5, p50, p95 = np.percentile(values, [5, 50, 95], axis=0, method="linear")
    ddof_sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.full(values.shape[1], np.nan)
    return pd.DataFrame(
        {
            "mean_gbp": values.mean(axis=0),
            "sd_gbp": ddof_sd,
            "p5_gbp": p5,
            "p50_gbp": p50,
            "p95_gbp": p95,
            "p_loss": (values > 0).mean(axis=0),
            "var95_gbp": value_at_risk(values, 0.95),
            "cvar95_gbp": cvar(values, 0.95),
        },
        index=pd.Index(positions.columns, name="party"),
    )


def correlation_factor(matrix: np.ndarray) -> np.ndarray:
    """Return a factor L with L Lᵀ = the correlation matrix (docs/methods/monte-carlo.md).

    Lower Cholesky factor; when Cholesky fails on a matrix that is positive
    semi-definite (eigenvalues ≥ −1e-10), L = V diag(sqrt(max(λ, 0))) from eigh.

    Parameters
    ----------
    matrix : numpy.ndarray
        Symmetric (m, m) correlation matrix.

    Returns
    -------
    numpy.ndarray
        Shape (m, m).

    Raises
    ------
    InputError
        When the matrix is not positive semi-definite.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape[0] == 0:
        return matrix.copy()
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        if values.min() < -EIGENVALUE_TOLERANCE:
            raise InputError(
                "correlation: the matrix is not positive semi-definite (smallest eigenvalue "
                f"{values.min():.6g}); no set of lines can be correlated like that"
            ) from None
        return vectors * np.sqrt(np.maximum(values, 0.0))[None, :]


def multipliers(z: np.ndarray, cv: np.ndarray, distribution: str) -> np.ndarray:
    """Activity multipliers with mean 1 and coefficient of variation ``cv``.

    lognormal: σ² = ln(1 + cv²), X = exp(σZ − σ²/2); normal: X = max(0, 1 + cv Z).

    Parameters
    ----------
    z : numpy.ndarray
        Correlated standard normals, shape (n, m).
    cv : numpy.ndarray
        Shape (m,).
    distribution : {"lognormal", "normal"}

    Returns
    -------
    numpy.ndarray
        Shape (n, m).
    """
    if distribution == "lognormal":
        variance = np.log1p(cv**2)
        return np.exp(np.sqrt(variance)[None, :] * z - variance[None, :] / 2.0)
    return np.maximum(0.0, 1.0 + cv[None, :] * z)


def _cv_per_line(cv: float | np.ndarray | list[float], m_all: int) -> np.ndarray:
    values = np.asarray(cv, dtype=float)
    if values.ndim == 0:
        values = np.full(m_all, float(values))
    elif values.shape != (m_all,):
        raise InputError(f"cv: give one number or one per plan line ({m_all}), not {values.size}")
    bad = np.flatnonzero(~((values >= 0) & (values <= MAX_CV)))  # NaN and ±inf fail too
    if bad.size:
        raise InputError(f"cv: coefficients of variation must be finite and at least 0, up to "
                         f"{MAX_CV:g} (found {values[bad[0]]:g})")
    return values


def _check_seed(seed: object) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
            0 <= int(seed) <= MAX_SEED):
        raise InputError(f"seed: {seed!r} is not a whole number from 0 to {MAX_SEED:,} "
                         "(2**32 - 1)")
    return int(seed)


def _correlation_matrix(correlation: float | np.ndarray, varying: np.ndarray) -> np.ndarray:
    m_all = len(varying)
    m = int(varying.sum())
    values = np.asarray(correlation, dtype=float)
    if values.ndim == 0:
        rho = float(values)
        if not -1.0 <= rho <= 1.0:
            raise InputError(f"correlation: {rho:g} is not between -1 and 1")
        # Off the diagonal ρ; on it ρ + (1 − ρ) as float64 gives it (not always exactly 1).
        matrix = np.full((m, m), rho)
        np.fill_diagonal(matrix, rho + (1.0 - rho))
        return matrix
    if values.shape != (m_all, m_all):
        raise InputError(
            f"correlation: the matrix is {values.shape[0]}×{values.shape[-1]}; it must cover "
            f"all {m_all} plan lines in plan order"
        )
    if not np.all(np.isfinite(values)):
        raise InputError("correlation: the matrix has a blank or infinite entry")
    if not np.allclose(values, values.T, atol=1e-12):
        raise InputError("correlation: the matrix is not symmetric")
    if not np.allclose(np.diag(values), 1.0, atol=1e-12) or (np.abs(values) > 1 + 1e-12).any():
        raise InputError("correlation: a correlation matrix has 1 on the diagonal and -1..1 off it")
    return values[np.ix_(varying, varying)]


def step_size(n_lines: int) -> int:
    """Scenarios per step: a scenarios × lines array of ``n_lines`` within ``CHUNK_BYTES``.

    Parameters
    ----------
    n_lines : int
        Number of plan lines (fixed ones included: a step holds them too).

    Returns
    -------
    int
        At most ``CHUNK``, at least 1; a whole number of ``ROW_BLOCK`` blocks
        when there is room for one.
    """
    rows = min(CHUNK, CHUNK_BYTES // (8 * max(n_lines, 1)))
    if rows > ROW_BLOCK:
        rows -= rows % ROW_BLOCK
    return max(1, rows)


def check_results_fit(n: int, n_parties: int) -> None:
    """Refuse, before anything is drawn, a simulation whose results pass ``RESULTS_BYTES``.

    Parameters
    ----------
    n : int
        Number of scenarios asked for.
    n_parties : int
        Number of parties.

    Raises
    ------
    InputError
        Naming ``n`` (``-n`` on the command line) and the most scenarios that fit.
    """
    per_scenario = 8 * (2 * n_parties + 1)
    if n * per_scenario > RESULTS_BYTES:
        fits = RESULTS_BYTES // per_scenario
        raise InputError(
            f"n: {n:,} scenarios of {n_parties} parties need "
            f"{n * per_scenario / 2**30:,.1f} GiB to hold their results, more than the "
            f"{RESULTS_BYTES / 2**30:g} GiB a simulation may take; at most {fits:,} scenarios fit"
        )


def _is_identity(matrix: np.ndarray) -> bool:
    """Whether the square matrix is the identity (an empty one is), without building one."""
    diagonal = np.diagonal(matrix)
    return bool((diagonal == 1.0).all()) and np.count_nonzero(matrix) == len(diagonal)


def _correlate(epsilon: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Z = ε Lᵀ on whole blocks of ``ROW_BLOCK`` rows (a short step padded with zero rows)."""
    rows = len(epsilon)
    padded = -(-rows // ROW_BLOCK) * ROW_BLOCK
    if padded == rows:
        return epsilon @ factor.T
    block = np.zeros((padded, epsilon.shape[1]))
    block[:rows] = epsilon
    return (block @ factor.T)[:rows]


def simulate(
    agreement: Agreement,
    lines: pd.DataFrame | str | Path,
    n: int,
    cv: float | np.ndarray | list[float] = 0.05,
    correlation: float | np.ndarray = 0.0,
    seed: int | None = None,
    distribution: str = "lognormal",
    progress: Callable[[int], None] | bool | None = None,
) -> Simulation:
    """Simulate and settle ``n`` outturns of the plan (docs/methods/monte-carlo.md).

    Parameters
    ----------
    agreement : Agreement
        The agreement.
    lines : pandas.DataFrame or str or Path
        Plan lines (party, pod, planned_activity, price_gbp, optional fixed);
        actual_activity is ignored.
    n : int
        Number of scenarios.
    cv : float or array-like
        Coefficient of variation of activity: one number, or one per plan line,
        each from 0 to :data:`MAX_CV`.
    correlation : float or array-like
        Correlation common to every pair of varying lines, or a matrix over
        all plan lines in plan order (fixed lines' rows and columns dropped).
    seed : int, optional
        Seed of ``numpy.random.default_rng``, a whole number from 0 to
        :data:`MAX_SEED`; a fixed seed gives the same scenarios. Without one, a
        fresh seed in that range is drawn from the operating system's entropy
        and recorded in ``Simulation.seed``, so any run can be repeated.
    distribution : {"lognormal", "normal"}
        Distribution of the activity multipliers.
    progress : callable or bool, optional
        Called with the number of scenarios settled after each step (of
        :func:`step_size` scenarios); ``True`` shows a tqdm.auto progress bar
        (a widget in Jupyter).

    Returns
    -------
    Simulation

    Raises
    ------
    InputError
        Bad lines, cv, correlation, n, seed or distribution; or n so large that the
        results would pass ``RESULTS_BYTES`` (checked before anything else is
        read or drawn; the message gives the most scenarios that fit).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n: the number of scenarios must be a whole number ≥ 1, not {n!r}")
    if distribution not in DISTRIBUTIONS:
        raise InputError(f"distribution: {distribution!r} is not one of {', '.join(DISTRIBUTIONS)}")
    n = int(n)
    seed = _check_seed(seed)
    p = len(agreement.parties)
    check_results_fit(n, p)
    clean = read_lines(lines, agreement.party_names, need_actual=False)
    terms = line_terms(agreement, clean)
    check_budget_scale(agreement, terms.planned_pence)
    varying = ~clean["fixed"].to_numpy(dtype=bool)
    cv_all = _cv_per_line(cv, len(clean))
    matrix = _correlation_matrix(correlation, varying)
    # Z = ε Lᵀ with L = I is ε itself: skip the product (and the factorisation).
    factor = None if _is_identity(matrix) else correlation_factor(matrix)

    bar = None
    step: Callable[[int], None] | None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="scenarios", unit="scenario")
        step = bar.update
    elif progress is False:
        step = None
    else:
        step = progress
    if seed is None:
        # A SeedSequence made without entropy draws from the OS; one 32-bit word of it
        # is a seed anyone can type back in (--seed).
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    rng = np.random.default_rng(seed)
    m = int(varying.sum())
    pool = pool_terms(agreement)
    planned_pence = terms.planned_pence
    # Only these outlive a step: 8 bytes per scenario and (2 × parties + 1), whole pence in £.
    # Column by column in memory, as pandas holds a frame built from an array: the sums of
    # summary() then run in the same order (pairwise down each column) as they always have.
    pooled = np.empty(n)
    kept = np.empty((n, p), order="F")
    positions = np.empty((n, p), order="F")
    rows = step_size(len(clean))
    for start in range(0, n, rows):  # a few steps of many scenarios, not one per scenario
        stop = min(n, start + rows)
        # The generator fills an array in C order, so drawing steps of whole scenarios in turn
        # takes the numbers of one standard_normal((n, m)) call, in the same places.
        epsilon = rng.standard_normal((stop - start, m))
        z = epsilon if factor is None else _correlate(epsilon, factor)
        activity = np.broadcast_to(terms.planned_activity, (stop - start, len(clean))).copy()
        activity[:, varying] *= multipliers(z, cv_all[varying], distribution)
        actual = np.broadcast_to(planned_pence, activity.shape).copy()
        actual[:, varying] = round_pence(activity[:, varying] * terms.price_gbp[varying],
                                         "the simulated actual value of a plan line")
        settled = settle_pence(terms, pool, p, actual)
        pooled[start:stop] = settled.pooled_variance / 100.0
        kept[start:stop] = settled.kept / 100.0
        positions[start:stop] = (settled.kept + settled.pool_share) / 100.0
        if step is not None:
            step(stop - start)
    if bar is not None:
        bar.close()
    return Simulation._from_gbp(
        agreement,
        pooled,
        kept,
        positions,
        seed=seed,
        distribution=distribution,
        cv=cv_all,
        correlation=matrix,
        lines=clean,
    )
