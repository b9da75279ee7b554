"""Funnel plots for comparing units (Spiegelhalter 2005), with overdispersion.

Spiegelhalter DJ. Funnel plots for comparing institutional performance.
Statistics in Medicine 2005; 24:1185-1202; and "Handling over-dispersion of
performance indicators", Qual Saf Health Care 2005; 14:347-351. The log
method is NHS England's Summary Hospital-level Mortality Indicator (SHMI)
method; the square-root method is the Care Quality Commission's.

Each unit has an observed count O and an expected count E (a standardised
ratio O/E, target 1) or a denominator N (a proportion O/N, target ΣO/ΣN).
On a transformed scale y with standard error s and target θ:

=================  =====================  ==================  ===================
kind, method       y                      s                   θ
=================  =====================  ==================  ===================
ratio, ``log``     ln(O/E)                1/√E                0
ratio, ``sqrt``    √(O/E)                 1/(2√E)             1
proportion         arcsin √(O/N)          1/(2√N)             arcsin √(ΣO/ΣN)
=================  =====================  ==================  ===================

z = (y − θ)/s. The overdispersion factor φ is the mean of the squared
z-scores after trimming the extremes: for ``log``, truncation by rank (the
units whose average rank r satisfies r/(n+1) < trim or ≥ 1 − trim are left
out, so 10% at each end); for ``sqrt`` and proportions, winsorisation (z
clamped to its trim and 1 − trim quantiles, linear interpolation as R's
``quantile`` type 7). With I units kept and weights w = 1/s², the
DerSimonian-Laird between-unit variance is

    τ² = max(0, (Iφ − (I − 1)) / (Σw − Σw²/Σw)),     0 when Iφ < I − 1.

The data are overdispersed when φ > 1; then, with ``overdispersion`` on,
limits and adjusted z-scores allow for it: additively (the default, as the
SHMI), θ ± q √(s² + τ²) and z_adjusted = (y − θ)/√(s² + τ²); or
multiplicatively, θ ± q √φ s and z_adjusted = z/√φ. Limits are transformed
back to the ratio scale: exp(·) for ``log``, (·)² for ``sqrt`` (0 below a
negative root), sin²(·) for proportions (the angle clipped to [0, π/2]).
Otherwise a ratio's limits are exact Poisson: at expected E,

    lower = χ²(α/2; 2E) / (2E),    upper = χ²(1 − α/2; 2E + 2) / (2E),

and a proportion's are the arcsine limits with τ² = 0. The quantiles q are
those of the standard normal at 97.5% and 99.9% (95% and 99.8% limits). A
unit above its upper limit is ``"high"``, below its lower limit ``"low"``,
otherwise ``""``.

Agreement with FunnelPlotR (NHS-R Community, version 0.6): on the same data
its log-method and proportion limits, φ, τ² and outliers agree with these to
about 1e-8 relative (it uses the rounded quantiles 1.959964 and 3.090232,
and by default rounds SHMI expected counts to 2 decimal places). Where it
differs, this module is right and FunnelPlotR is not:

- its overdispersed square-root (CQC) limits are 1 ± q √(s² + τ²), left on
  the square-root scale (its open issue 33); here they are squared back to
  the ratio scale, (1 ± q √(s² + τ²))²;
- its ratio-of-counts limits use s = 1/(2√n) while its z-scores use the
  delta-method standard error of the log ratio (ratio of counts is not
  offered here);
- it reports φ = τ² = 0 when adjustment is switched off; here they are
  always estimated and reported, and ``adjusted`` says whether they were used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm, rankdata

from capitation.errors import InputError

__all__ = ["FUNNEL_COLUMNS", "Funnel", "funnel"]

#: Columns of :attr:`Funnel.units`, in order.
FUNNEL_COLUMNS = ("ratio", "z", "z_adjusted", "lower_95", "upper_95", "lower_998",
                  "upper_998", "flag_95", "flag_998")
#: Two-sided coverage of each pair of limits, by column suffix.
LEVELS = {"95": 0.95, "998": 0.998}
_METHODS = {"ratio": ("log", "sqrt"), "proportion": ("arcsine",)}
_OVERDISPERSION = {True: "additive", "additive": "additive", "multiplicative": "multiplicative",
                   False: "none", "none": "none"}


@dataclass(frozen=True, eq=False)
class Funnel:
    """A funnel plot's units, limits and overdispersion.

    Attributes
    ----------
    units : pandas.DataFrame
        Indexed like the inputs, columns :data:`FUNNEL_COLUMNS`: ``ratio``
        (O/E, or O/N for a proportion), ``z`` and ``z_adjusted`` (z-scores
        before and after allowing for overdispersion; on the log scale a
        zero count's are −∞), the unit's limits
        ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` (on the ratio
        scale) and ``flag_95``, ``flag_998`` (``"high"``, ``"low"`` or ``""``).
    phi : float
        The overdispersion factor φ from the trimmed z-scores.
    tau2 : float
        The DerSimonian-Laird between-unit variance τ², on the transformed scale.
    target : float
        The centre line: 1 for a ratio, ΣO/ΣN for a proportion.
    kind : str
        ``"ratio"`` or ``"proportion"``.
    method : str
        ``"log"``, ``"sqrt"`` or ``"arcsine"``.
    overdispersion : str
        ``"additive"``, ``"multiplicative"`` or ``"none"``: what was asked for.
    adjusted : bool
        Whether the limits and ``z_adjusted`` allow for overdispersion (it
        was asked for and φ > 1).
    trim : float
        The fraction trimmed at each end to estimate φ.
    trimmed : pandas.Series
        Per unit, whether its z-score was truncated or winsorised.
    denominators : pandas.Series
        Per unit, its expected count (ratio) or denominator (proportion): the
        x axis of a funnel plot (:func:`capitation.plots.funnel`).
    """

    units: pd.DataFrame
    phi: float
    tau2: float
    target: float
    kind: str
    method: str
    overdispersion: str
    adjusted: bool
    trim: float
    trimmed: pd.Series
    denominators: pd.Series

    def limits(self, denominators: np.ndarray | pd.Series | list[float]) -> pd.DataFrame:
        """Return the funnel's limits at given expected counts (or denominators), for drawing.

        Parameters
        ----------
        denominators : array-like
            Expected counts (ratio) or denominators (proportion), above 0.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``expected`` (or ``denominator``), columns ``lower_95``,
            ``upper_95``, ``lower_998``, ``upper_998`` on the ratio scale: the
            limits the units are flagged against.
        """
        values = np.asarray(denominators, dtype=float).reshape(-1)
        if not np.all(np.isfinite(values) & (values > 0)):
            raise InputError("denominators must be numbers above 0", key="denominators")
        name = "expected" if self.kind == "ratio" else "denominator"
        scale = _Scale(self.kind, self.method, self.target, self.adjusted, self.overdispersion,
                       self.phi, self.tau2)
        return pd.DataFrame(_limits(values, scale), index=pd.Index(values, name=name))


def funnel(observed: pd.Series | np.ndarray | list[float],
           expected: pd.Series | np.ndarray | list[float], kind: str = "ratio",
           method: str | None = None, overdispersion: bool | str = True,
           trim: float = 0.10) -> Funnel:
    """Compare units on a funnel plot (Spiegelhalter 2005; module docstring).

    Parameters
    ----------
    observed : pandas.Series or array-like
        Observed counts per unit, 0 or more.
    expected : pandas.Series or array-like
        Expected counts (``kind="ratio"``) or denominators
        (``kind="proportion"``), above 0; a Series must have the same index
        as ``observed``.
    kind : {"ratio", "proportion"}
        A standardised ratio O/E (target 1) or a proportion O/N.
    method : {"log", "sqrt", "arcsine"}, optional
        The scale: ``"log"`` (the default for ratios; 10% truncation, as the
        SHMI) or ``"sqrt"`` (winsorisation) for ratios; ``"arcsine"`` (the
        only scale, and the default) for proportions.
    overdispersion : bool or {"additive", "multiplicative", "none"}
        Whether to allow for overdispersion when φ > 1; True is additive (τ²).
    trim : float
        Fraction trimmed at each end to estimate φ, at least 0 and below 0.5.

    Returns
    -------
    Funnel

    Raises
    ------
    InputError
        A negative or non-numeric count, an expected count or denominator
        not above 0, a proportion above 1, unequal lengths or indexes, an
        unknown kind or method, or (log method) a zero count among the units
        kept to estimate φ.

    Examples
    --------
    >>> f = funnel([30, 12, 55], [20.0, 15.0, 50.0])          # doctest: +SKIP
    >>> f.units[["ratio", "lower_95", "upper_95", "flag_95"]]   # doctest: +SKIP
    """
    if kind not in _METHODS:
        raise InputError(f'kind must be "ratio" or "proportion", got {kind!r}', key="kind")
    method = _METHODS[kind][0] if method is None else method
    if method not in _METHODS[kind]:
        allowed = " or ".join(f'"{m}"' for m in _METHODS[kind])
        raise InputError(f"method for a {kind} must be {allowed}, got {method!r}", key="method")
    if not isinstance(overdispersion, bool | str) or overdispersion not in _OVERDISPERSION:
        raise InputError('overdispersion must be True, False, "additive", "multiplicative" or '
                         f'"none", got {overdispersion!r}', key="overdispersion")
    if isinstance(trim, bool) or not isinstance(trim, int | float) or not 0 <= trim < 0.5:
        raise InputError(f"trim must be a fraction at least 0 and below 0.5, got {trim!r}",
                         key="trim")
    index, o, e = _inputs(observed, expected, kind)
    if kind == "proportion":
        target = float(o.sum() / e.sum())
        y, s, theta = np.arcsin(np.sqrt(o / e)), 1 / (2 * np.sqrt(e)), np.arcsin(np.sqrt(target))
    elif method == "log":
        target, theta, s = 1.0, 0.0, 1 / np.sqrt(e)
        with np.errstate(divide="ignore"):
            y = np.log(o / e)
    else:
        target, theta = 1.0, 1.0
        y, s = np.sqrt(o / e), 1 / (2 * np.sqrt(e))
    z = (y - theta) / s
    if method == "log":
        kept = _truncated(z, trim)
        trimmed_z = z[kept]
        if not np.all(np.isfinite(trimmed_z)):
            zero = index[kept & ~np.isfinite(z)]
            raise InputError(f"observed is 0 at {', '.join(map(str, zero[:5]))}, among the units "
                             "kept to estimate overdispersion: the log method cannot weigh a zero "
                             'count (use method="sqrt")', key="observed")
        weights = 1 / s[kept] ** 2
    else:
        kept = np.ones(len(z), dtype=bool)
        trimmed_z = _winsorised(z, trim)
        weights = 1 / s**2
    n_kept = len(trimmed_z)
    phi = float(np.mean(trimmed_z**2))
    tau2 = _tau2(n_kept, phi, weights)
    mode = _OVERDISPERSION[overdispersion]
    adjusted = mode != "none" and phi > 1
    if not adjusted:
        z_adjusted = z
    elif mode == "additive":
        z_adjusted = (y - theta) / np.sqrt(s**2 + tau2)
    else:
        z_adjusted = z / np.sqrt(phi)
    ratio = o / e
    data: dict[str, np.ndarray] = {"ratio": ratio, "z": z, "z_adjusted": z_adjusted}
    data.update(_limits(e, _Scale(kind, method, target, adjusted, mode, phi, tau2)))
    for level in LEVELS:
        data[f"flag_{level}"] = np.where(ratio > data[f"upper_{level}"], "high",
                                         np.where(ratio < data[f"lower_{level}"], "low", ""))
    units = pd.DataFrame(data, index=index).loc[:, list(FUNNEL_COLUMNS)]
    trimmed = pd.Series(~kept if method == "log" else z != trimmed_z, index=index, name="trimmed")
    return Funnel(units=units, phi=phi, tau2=tau2, target=target, kind=kind, method=method,
                  overdispersion=mode, adjusted=adjusted, trim=float(trim), trimmed=trimmed,
                  denominators=pd.Series(e, index=index, name="expected" if kind == "ratio"
                                         else "denominator"))


def _inputs(observed: pd.Series | np.ndarray | list[float],
            expected: pd.Series | np.ndarray | list[float],
            kind: str) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Observed and expected as float arrays on one index; bad values named."""
    if isinstance(observed, pd.Series) and isinstance(expected, pd.Series):
        if not observed.index.equals(expected.index):
            raise InputError("observed and expected have different indexes (expected the same "
                             "units in the same order)", key="expected")
    index = next((x.index for x in (observed, expected) if isinstance(x, pd.Series)), None)
    o = np.asarray(pd.to_numeric(pd.Series(np.asarray(observed, dtype=object)),
                                 errors="coerce"), dtype=float)
    e = np.asarray(pd.to_numeric(pd.Series(np.asarray(expected, dtype=object)),
                                 errors="coerce"), dtype=float)
    if len(o) != len(e):
        raise InputError(f"observed has {len(o)} units and expected {len(e)} (expected the "
                         "same)", key="expected")
    if len(o) < 2:
        raise InputError(f"a funnel plot needs at least 2 units, got {len(o)}", key="observed")
    index = pd.RangeIndex(len(o)) if index is None else index
    what = "expected" if kind == "ratio" else "denominator"
    for name, values, ok, wanted in (
            ("observed", o, np.isfinite(o) & (o >= 0), "a count, 0 or more"),
            (what, e, np.isfinite(e) & (e > 0), "a number above 0")):
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InputError(f"{name} {values[i]:g} at {index[i]} is not {wanted}",
                             key="observed" if name == "observed" else "expected")
    if kind == "proportion" and (o > e).any():
        i = int(np.flatnonzero(o > e)[0])
        raise InputError(f"observed {o[i]:g} is above the denominator {e[i]:g} at {index[i]!r} "
                         "(expected a proportion, at most 1)", key="observed")
    return index, o, e


def _truncated(z: np.ndarray, trim: float) -> np.ndarray:
    """Units kept after truncation by rank: trim ≤ r/(n+1) < 1 − trim (average ranks r).

    As NHS England's SHMI and FunnelPlotR: with k = 1/trim, a unit is
    truncated when floor(r k / (n + 1)) is 0 or at least k − 1.
    """
    if trim == 0:
        return np.ones(len(z), dtype=bool)
    n = len(z)
    k = 1 / trim
    whole = float(int(k + 0.5))  # 1/0.1 is 10 within float noise: use the whole number
    if abs(k - whole) < 1e-9:
        k = whole
    rank = rankdata(z, method="average")
    spread = np.floor(rank * k / (n + 1))
    return (spread > 0) & (spread < k - 1)


def _winsorised(z: np.ndarray, trim: float) -> np.ndarray:
    """Clamp z to its trim and 1 − trim quantiles (linear interpolation, R type 7)."""
    low, high = np.quantile(z, [trim, 1 - trim])
    return np.clip(z, low, high)


def _tau2(n: int, phi: float, weights: np.ndarray) -> float:
    """DerSimonian-Laird τ² from φ over the n units kept (Spiegelhalter 2005, eq. 9)."""
    if n == 0 or n * phi < n - 1:
        return 0.0
    total = weights.sum()
    return float(max(0.0, (n * phi - (n - 1)) / (total - (weights**2).sum() / total)))


@dataclass(frozen=True)
class _Scale:
    """What the limits depend on besides the expected count."""

    kind: str
    method: str
    target: float
    adjusted: bool
    overdispersion: str
    phi: float
    tau2: float


def _limits(e: np.ndarray, fit: _Scale) -> dict[str, np.ndarray]:
    """Return the limits at expected counts (denominators) e, on the ratio scale."""
    out: dict[str, np.ndarray] = {}
    for level, coverage in LEVELS.items():
        q = float(norm.ppf(0.5 + coverage / 2))
        if fit.kind == "ratio" and not fit.adjusted:
            alpha = 1 - coverage
            lower = chi2.ppf(alpha / 2, 2 * e) / (2 * e)
            upper = chi2.ppf(1 - alpha / 2, 2 * e + 2) / (2 * e)
        else:
            if fit.method == "log":
                s, theta = 1 / np.sqrt(e), 0.0
            elif fit.method == "sqrt":
                s, theta = 1 / (2 * np.sqrt(e)), 1.0
            else:
                s, theta = 1 / (2 * np.sqrt(e)), float(np.arcsin(np.sqrt(fit.target)))
            if not fit.adjusted:
                spread = q * s
            elif fit.overdispersion == "additive":
                spread = q * np.sqrt(s**2 + fit.tau2)
            else:
                spread = q * np.sqrt(fit.phi) * s
            lower, upper = _back(theta - spread, fit.method), _back(theta + spread, fit.method)
        out[f"lower_{level}"] = lower
        out[f"upper_{level}"] = upper
    return {name: out[name] for name in FUNNEL_COLUMNS[3:7]}


def _back(y: np.ndarray, method: str) -> np.ndarray:
    """Transform back to the ratio (or proportion) scale."""
    if method == "log":
        return np.exp(y)
    if method == "sqrt":
        return np.maximum(y, 0.0) ** 2
    return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
