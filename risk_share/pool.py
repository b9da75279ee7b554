"""Layer 2 of a risk share: the risk/reward pool's bands, caps and residual party.

docs/methods/risk-reward-pool.md. The pooled variance V is whole pence. Bands are on |V| as a
fraction of the pool budget B: loss bands when V > 0, gain bands when V < 0;
|V| exactly on a bound belongs to the lower band. In ``corridor`` mode each
slice of |V| is shared at its own band's shares; in ``first_dollar`` mode all of
V at the shares of the band it falls in. Caps (losses) and collars (gains) move
the excess to the residual party; a cap or collar is rounded inward to whole
pence (down, toward zero), as pace of change rounds its caps, so that no
rounding can take a party past it. Rounding last: raw shares to pence by
largest remainder, adding up to V exactly, ties to the party listed first.

Two paths give the same pence: :func:`share_pence` (scenarios × parties,
vectorised) and :func:`share_pence_scalar` (one V, plain Python). Both work in
float pence with the same operations in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from capitation.rounding import (
    floor_pence,
    largest_remainder_pence,
    largest_remainder_rows,
    round_pence,
    snap_pence,
)

if TYPE_CHECKING:
    from risk_share.agreement import Agreement, Band

__all__ = [
    "PoolTerms",
    "pool_terms",
    "raw_shares_pence",
    "share_pence",
    "share_pence_scalar",
    "band_amounts_pence",
    "share_gbp",
]


@dataclass(frozen=True, eq=False)
class PoolTerms:
    """The pool as arrays, parties in agreement order (p parties).

    Attributes
    ----------
    loss_bounds, gain_bounds : numpy.ndarray
        Upper bounds of every band but the last, in pence (snapped), increasing.
    loss_shares, gain_shares : numpy.ndarray
        Shares, shape (bands, p).
    loss_caps, gain_collars : numpy.ndarray
        Largest loss share and largest gain (positive), in whole pence rounded
        inward (down); ``inf`` when none.
    residual : int
        Position of the residual party.
    corridor : bool
        True in ``corridor`` mode, False in ``first_dollar`` mode.
    """

    loss_bounds: np.ndarray
    gain_bounds: np.ndarray
    loss_shares: np.ndarray
    gain_shares: np.ndarray
    loss_caps: np.ndarray
    gain_collars: np.ndarray
    residual: int
    corridor: bool


def pool_terms(agreement: Agreement) -> PoolTerms:
    """Turn an agreement's pool into arrays.

    Parameters
    ----------
    agreement : Agreement

    Returns
    -------
    PoolTerms
    """
    names = agreement.party_names

    def side(bands: tuple[Band, ...]) -> tuple[np.ndarray, np.ndarray]:
        # Agreement validation: every band but the last has an upto.
        uptos = [cast(float, b.upto) for b in bands[:-1]]
        bounds = snap_pence(np.array([u * agreement.budget_gbp for u in uptos], float))
        shares = np.array([[b.shares.get(p, 0.0) for p in names] for b in bands], dtype=float)
        return np.atleast_1d(bounds), shares.reshape(len(bands), len(names))

    loss_bounds, loss_shares = side(agreement.loss_bands)
    gain_bounds, gain_shares = side(agreement.gain_bands)
    caps, collars = agreement.caps_gbp()
    finite_caps = np.isfinite(caps)
    finite_collars = np.isfinite(collars)
    loss_caps = np.full(len(names), np.inf)
    gain_collars = np.full(len(names), np.inf)
    # Inward to whole pence: a cap of 0.03 × £333,333.33 = £9,999.9999 is 999,999p,
    # so the largest remainder can never lift the capped party's share past it.
    loss_caps[finite_caps] = floor_pence(caps[finite_caps], "a loss cap (max_loss × budget_gbp)")
    gain_collars[finite_collars] = floor_pence(collars[finite_collars],
                                               "a gain collar (max_gain × budget_gbp)")
    return PoolTerms(
        loss_bounds=loss_bounds,
        gain_bounds=gain_bounds,
        loss_shares=loss_shares,
        gain_shares=gain_shares,
        loss_caps=loss_caps,
        gain_collars=gain_collars,
        residual=names.index(agreement.residual),
        corridor=agreement.mode == "corridor",
    )


def _band_raw(absolute: np.ndarray, bounds: np.ndarray, shares: np.ndarray,
              corridor: bool) -> np.ndarray:
    """Unsigned raw shares (n, p) of |V| (n,) in float pence, before caps."""
    if corridor:
        raw = np.zeros((absolute.shape[0], shares.shape[1]))
        lower = 0.0
        for k in range(shares.shape[0]):
            upper = bounds[k] if k < len(bounds) else np.inf
            piece = np.clip(absolute - lower, 0.0, upper - lower)
            raw += piece[:, None] * shares[k][None, :]
            lower = upper
        return raw
    band = np.searchsorted(bounds, absolute, side="left")
    return absolute[:, None] * shares[band]


def raw_shares_pence(terms: PoolTerms, variance_pence: np.ndarray) -> np.ndarray:
    """Unrounded shares after caps and collars, float pence, scenarios × parties.

    Parameters
    ----------
    terms : PoolTerms
    variance_pence : numpy.ndarray
        Pooled variance per scenario, whole pence, shape (n,).

    Returns
    -------
    numpy.ndarray
        Shape (n, p); each row adds up to V (up to float rounding).
    """
    variance = np.asarray(variance_pence, dtype=np.int64).reshape(-1)
    absolute = np.abs(variance).astype(float)
    raw = np.zeros((variance.shape[0], terms.loss_shares.shape[1]))
    for sign, bounds, shares, limits in (
        (1.0, terms.loss_bounds, terms.loss_shares, terms.loss_caps),
        (-1.0, terms.gain_bounds, terms.gain_shares, terms.gain_collars),
    ):
        rows = np.flatnonzero(variance > 0) if sign > 0 else np.flatnonzero(variance < 0)
        if rows.size == 0:
            continue
        part = _band_raw(absolute[rows], bounds, shares, terms.corridor)
        for o in np.flatnonzero(np.isfinite(limits)):  # a few capped parties, in party order
            kept = np.minimum(part[:, o], limits[o])
            part[:, terms.residual] += part[:, o] - kept
            part[:, o] = kept
        raw[rows] = sign * part
    return raw


def share_pence(agreement: Agreement | PoolTerms, variance_pence: np.ndarray) -> np.ndarray:
    """Share pooled variances, vectorised over scenarios (docs/methods/risk-reward-pool.md).

    Parameters
    ----------
    agreement : Agreement or PoolTerms
        The agreement (or its pool as arrays).
    variance_pence : numpy.ndarray
        Pooled variance per scenario in whole pence, shape (n,).

    Returns
    -------
    numpy.ndarray
        int64 pence, shape (n, p), parties in agreement order; row j adds up
        to V_j exactly.
    """
    terms = agreement if isinstance(agreement, PoolTerms) else pool_terms(agreement)
    variance = np.asarray(variance_pence, dtype=np.int64).reshape(-1)
    # docs/methods/rounding.md by row, after rounding.py's snap, so that float noise in a
    # large amount (40,000,000.4p is 40,000,000.39999999851 in float64) never
    # beats the party listed first on a tie, at any pooled variance.
    return largest_remainder_rows(raw_shares_pence(terms, variance), variance)


def share_pence_scalar(agreement: Agreement | PoolTerms, variance_pence: int) -> list[int]:
    """Share one pooled variance in plain Python: the reference for :func:`share_pence`.

    Parameters
    ----------
    agreement : Agreement or PoolTerms
    variance_pence : int
        Pooled variance in whole pence.

    Returns
    -------
    list of int
        Pence per party in agreement order, adding up to ``variance_pence``.
    """
    terms = agreement if isinstance(agreement, PoolTerms) else pool_terms(agreement)
    variance = int(variance_pence)
    n_parties = terms.loss_shares.shape[1]
    raw = [0.0] * n_parties
    if variance != 0:
        loss = variance > 0
        bounds = (terms.loss_bounds if loss else terms.gain_bounds).tolist()
        shares = (terms.loss_shares if loss else terms.gain_shares).tolist()
        limits = (terms.loss_caps if loss else terms.gain_collars).tolist()
        absolute = float(abs(variance))
        if terms.corridor:
            lower = 0.0
            for k, band in enumerate(shares):
                upper = bounds[k] if k < len(bounds) else float("inf")
                piece = min(max(absolute - lower, 0.0), upper - lower)
                for o in range(n_parties):
                    raw[o] += piece * band[o]
                lower = upper
        else:
            k = sum(1 for b in bounds if b < absolute)
            raw = [absolute * s for s in shares[k]]
        for o in range(n_parties):
            if limits[o] != float("inf"):
                kept = min(raw[o], limits[o])
                raw[terms.residual] += raw[o] - kept
                raw[o] = kept
        if not loss:
            raw = [-x for x in raw]
    # Largest remainder as in share_pence, on this one row.
    return largest_remainder_pence(np.array(raw, dtype=float), variance).tolist()


def band_amounts_pence(
    agreement: Agreement, variance_pence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How much of each V falls in each band, signed float pence (no caps, no rounding).

    In ``corridor`` mode a band holds its slice of |V|; in ``first_dollar`` mode
    the band V falls in holds all of it. Used by calibration (docs/methods/calibration.md).

    Parameters
    ----------
    agreement : Agreement
    variance_pence : numpy.ndarray
        Pooled variance per scenario, whole pence, shape (n,).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Loss bands (n, loss bands) and gain bands (n, gain bands); signed like V.
    """
    terms = pool_terms(agreement)
    variance = np.asarray(variance_pence, dtype=np.int64).reshape(-1)
    absolute = np.abs(variance).astype(float)
    out = []
    for sign, bounds, shares in (
        (1, terms.loss_bounds, terms.loss_shares),
        (-1, terms.gain_bounds, terms.gain_shares),
    ):
        amounts = _band_raw(absolute, bounds, np.eye(shares.shape[0]), terms.corridor)
        amounts[np.sign(variance) != sign] = 0.0
        out.append(sign * amounts)
    return out[0], out[1]


def share_gbp(
    agreement: Agreement, variance_gbp: float | np.ndarray | pd.Series
) -> pd.Series | pd.DataFrame:
    """Share pooled variance(s) in pounds; see :meth:`risk_share.Agreement.share`.

    Parameters
    ----------
    agreement : Agreement
    variance_gbp : float or array-like
        Pooled variance(s) in pounds, rounded to whole pence first (R).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Pounds in whole pence: a Series indexed by ``party`` for a number; for
        an array, scenarios × parties (index ``scenario`` from 1, or the
        Series' own index).
    """
    parties = pd.Index(agreement.party_names, name="party")
    if np.ndim(variance_gbp) == 0:
        pence = share_pence_scalar(agreement, round_pence(float(np.asarray(variance_gbp)),
                                                          "variance_gbp"))
        return pd.Series(np.asarray(pence, dtype=np.int64) / 100.0, index=parties, name="share_gbp")
    values = np.asarray(variance_gbp, dtype=float).reshape(-1)
    if isinstance(variance_gbp, pd.Series):
        index = variance_gbp.index
    else:
        index = pd.RangeIndex(1, len(values) + 1, name="scenario")
    shares = share_pence(agreement, np.asarray(round_pence(values, "variance_gbp"),
                                               dtype=np.int64).reshape(-1))
    return pd.DataFrame(shares / 100.0, index=index, columns=parties)
