"""Similar units by need, and the benchmarks they set.

Each unit's peers are the ``similar`` other units nearest to it by
Mahalanobis distance over chosen need indicators (need index, share of
people over 65, an inequalities weighted population per head, ...). The
indicators are first standardised (mean 0, standard deviation 1), so the
distance is d(u, v)² = (z_u − z_v)ᵀ R⁻¹ (z_u − z_v), with R their correlation
matrix: correlated indicators are not counted twice. Equal distances go to
the lower code (string order).

Benchmarks per unit and service, from the standardised ratios:

- ``best_peers_ratio``: the mean ratio of the ``best`` lowest of the unit's
  peers (NHS RightCare's "best 5 of the similar 10");
- ``peer_median_ratio``: the median ratio of its peers;
- ``lowest_quartile_ratio``: the lower quartile of the ratio across all units
  (linear interpolation, as Excel's QUARTILE.INC), the same for every unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.errors import InputError

__all__ = ["BENCHMARKS", "Peers", "benchmark_sums", "find_peers", "peer_benchmarks"]

#: The benchmark columns of :func:`peer_benchmarks`, by benchmark name.
BENCHMARKS = {"best_peers": "best_peers_ratio", "peer_median": "peer_median_ratio",
              "lowest_quartile": "lowest_quartile_ratio"}
#: Cells of a block of the distance matrix (rows × units × indicators) held at once.
_BLOCK_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)
class Peers:
    """Each unit's most similar units, nearest first.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by unit (sorted by code): ``peer_1`` ... ``peer_k`` (codes,
        nearest first) and ``distance_1`` ... ``distance_k`` (Mahalanobis
        distances).
    positions : numpy.ndarray
        int64 (units × k): each peer's position in ``table.index``.
    indicators : tuple of str
        The indicators the distance is over.
    """

    table: pd.DataFrame
    positions: np.ndarray
    indicators: tuple[str, ...]

    @property
    def similar(self) -> int:
        """How many peers each unit has."""
        return int(self.positions.shape[1])


def find_peers(indicators: pd.DataFrame, similar: int = 10) -> Peers:
    """Find each unit's ``similar`` nearest units by Mahalanobis distance.

    Parameters
    ----------
    indicators : pandas.DataFrame
        One row per unit (indexed by code), one numeric column per indicator.
    similar : int
        Peers per unit, at least 1 and fewer than the units.

    Returns
    -------
    Peers

    Raises
    ------
    InputError
        A missing or non-numeric indicator value, a repeated unit, an
        indicator that is the same for every unit, indicators that are
        linearly dependent, or too few units.
    """
    if isinstance(similar, bool) or not isinstance(similar, int | np.integer) or similar < 1:
        raise InputError(f"similar must be a whole number of peers, 1 or more, got {similar!r}",
                         key="peers.similar")
    n = len(indicators)
    if n <= similar:
        raise InputError(f"{n} units cannot each have {similar} peers (expected more than "
                         f"{similar} units)", key="peers.similar")
    if indicators.index.has_duplicates:
        raise InputError(f'unit "{indicators.index[indicators.index.duplicated()][0]}" '
                         "appears twice", key="peers.indicators")
    if indicators.shape[1] == 0:
        raise InputError("no indicators (expected one column per need indicator)",
                         key="peers.indicators")
    frame = indicators.iloc[np.argsort(indicators.index.astype(str).to_numpy(), kind="stable")]
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        cell: object = frame.iloc[row, col]
        missing = cell is None or (isinstance(cell, float) and np.isnan(cell))
        shown = "has no value" if missing else f'has "{cell!s}", which is not a number'
        raise InputError(f'{frame.index.name or "unit"} "{frame.index[row]}" {shown} (expected '
                         "a number for every unit)", key="peers.indicators",
                         column=str(frame.columns[col]))
    sd = values.std(axis=0, ddof=1)
    flat = sd == 0
    if flat.any():
        raise InputError(f'indicator "{frame.columns[int(np.flatnonzero(flat)[0])]}" is the '
                         "same for every unit (it cannot tell units apart)",
                         key="peers.indicators")
    z = (values - values.mean(axis=0)) / sd
    correlation = np.atleast_2d(np.corrcoef(z, rowvar=False))
    try:
        # R = L Lᵀ; whitened rows z L⁻ᵀ have Euclidean distances equal to Mahalanobis.
        lower = np.linalg.cholesky(correlation)
    except np.linalg.LinAlgError:
        raise InputError(f"the indicators {', '.join(map(str, frame.columns))} are linearly "
                         "dependent (one is a combination of the others): drop one",
                         key="peers.indicators") from None
    if np.linalg.cond(correlation) > 1e12:
        raise InputError(f"the indicators {', '.join(map(str, frame.columns))} are linearly "
                         "dependent (one is a combination of the others): drop one",
                         key="peers.indicators")
    white = np.linalg.solve(lower, z.T).T
    positions, distances = _nearest(white, similar)
    codes = frame.index.to_numpy()
    table = pd.DataFrame(index=frame.index)
    for k in range(similar):  # a loop over the few peer ranks
        table[f"peer_{k + 1}"] = codes[positions[:, k]].astype(str)
    for k in range(similar):
        table[f"distance_{k + 1}"] = distances[:, k]
    return Peers(table=table, positions=positions, indicators=tuple(map(str, frame.columns)))


def _nearest(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Find the k nearest other rows of each row, ties to the lower position, by blocks of rows."""
    n, p = points.shape
    block = max(1, _BLOCK_CELLS // max(1, n * p))
    positions = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k))
    for start in range(0, n, block):  # blocks of rows keep memory bounded
        stop = min(n, start + block)
        diff = points[start:stop, None, :] - points[None, :, :]
        d2 = np.einsum("ijk,ijk->ij", diff, diff)
        d2[np.arange(stop - start), np.arange(start, stop)] = np.inf  # not one's own peer
        kth = np.partition(d2, k - 1, axis=1)[:, k - 1]
        rows, cols = np.nonzero(d2 <= kth[:, None])  # row-major: columns ascend within a row
        order = np.lexsort((cols, d2[rows, cols], rows))
        rows, cols = rows[order], cols[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
        take = rank < k
        positions[start:stop] = cols[take].reshape(-1, k)
        distances[start:stop] = np.sqrt(d2[rows[take], cols[take]]).reshape(-1, k)
    return positions, distances


def peer_benchmarks(ratios: pd.DataFrame, peers: Peers, best: int = 5) -> pd.DataFrame:
    """Benchmark ratios per unit and service from its peers and from all units.

    Parameters
    ----------
    ratios : pandas.DataFrame
        Standardised ratios, units × services, on the units of ``peers``.
    peers : Peers
        From :func:`find_peers`.
    best : int
        How many of the lowest-ratio peers the best-peers mean takes, 1 to
        ``peers.similar``.

    Returns
    -------
    pandas.DataFrame
        Indexed by (unit, service), sorted by unit then in the services'
        order: ``best_peers_ratio``, ``peer_median_ratio`` and
        ``lowest_quartile_ratio``.

    Raises
    ------
    InputError
        Units that differ from the peers', or ``best`` out of range.
    """
    if (isinstance(best, bool) or not isinstance(best, int | np.integer)
            or not 1 <= best <= peers.similar):
        raise InputError(f"best must be a whole number from 1 to similar ({peers.similar}), got "
                         f"{best!r}", key="peers.best")
    units = peers.table.index
    if len(ratios.index) != len(units) or not ratios.index.isin(units).all():
        raise InputError("the ratios' units differ from the peers' (expected the same units)",
                         key="peers.indicators")
    values = ratios.reindex(units).to_numpy(dtype=float)  # units × services
    peer_values = values[peers.positions]  # units × similar × services
    ordered = np.sort(peer_values, axis=1)
    best_mean = ordered[:, :best, :].mean(axis=1)
    median = np.median(peer_values, axis=1)
    quartile = np.quantile(values, 0.25, axis=0)
    n_units, n_services = values.shape
    index = pd.MultiIndex.from_arrays(
        [np.repeat(units.to_numpy(), n_services), np.tile(ratios.columns.to_numpy(), n_units)],
        names=[units.name or "unit", "service"])
    return pd.DataFrame({
        "best_peers_ratio": best_mean.reshape(-1),
        "peer_median_ratio": median.reshape(-1),
        "lowest_quartile_ratio": np.broadcast_to(quartile, values.shape).reshape(-1),
    }, index=index)


def benchmark_sums(ratios: pd.DataFrame, peers: Peers, best: int, benchmark: str,
                   quantities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sum quantities over each unit's benchmark group, per service.

    A unit's benchmark group for a service is its ``best`` lowest-ratio peers
    (``"best_peers"``; equal ratios to the nearer peer), all its peers
    (``"peer_median"``), or every unit at or below the lower quartile
    (``"lowest_quartile"``). Pooled over the group, the quantities give the
    benchmark's intensity (activity per patient) and price (cost per activity).

    Parameters
    ----------
    ratios : pandas.DataFrame
        Standardised ratios, units × services, on the units of ``peers``.
    peers : Peers
    best : int
    benchmark : {"best_peers", "peer_median", "lowest_quartile"}
    quantities : dict of str to numpy.ndarray
        Each units × services (in the order of ``peers.table.index``).

    Returns
    -------
    dict of str to numpy.ndarray
        The sums, units × services.
    """
    units = peers.table.index
    values = ratios.reindex(units).to_numpy(dtype=float)
    out: dict[str, np.ndarray] = {}
    if benchmark == "lowest_quartile":
        inside = values <= np.quantile(values, 0.25, axis=0)[None, :]
        for name, q in quantities.items():
            out[name] = np.broadcast_to(np.where(inside, q, 0.0).sum(axis=0), values.shape).copy()
        return out
    services = np.arange(values.shape[1])[None, None, :]
    group = np.broadcast_to(peers.positions[:, :, None],
                            (*peers.positions.shape, values.shape[1]))
    if benchmark == "best_peers":
        lowest = np.argsort(values[group, services], axis=1, kind="stable")[:, :best, :]
        group = np.take_along_axis(group, lowest, axis=1)
    for name, q in quantities.items():
        out[name] = q[group, services].sum(axis=1)
    return out
