"""Persons at given risk ranks, found without sorting everyone.

Method: docs/methods/weighted-capitation.md#from-people.

Rank order is ascending order key ``u`` (:func:`capitation.persons.tiers.order_key`),
ties by ``person_id`` ascending. Two ways to find a person by rank on one
process, both exact:

- by count (tier boundaries): :func:`numpy.partition` puts the key of rank r
  in place; the persons ranked before it are those with a smaller key plus,
  among the persons tied on that key (sorted by person_id, usually few), the
  ones before it.
- by a cumulative measure (the cohort reaching half of need): a histogram
  over the top bits of the key finds the bin where the measure reaches the
  target; finer bits narrow the bin, and the persons left in it are sorted by
  key and person_id. This is the Dask engine's selection on one array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from capitation.persons.counting import count_keys

__all__ = ["by_rank", "by_measure", "in_group", "bin_counts", "narrow", "pick",
           "SHIFTS"]

SHIFTS = (44, 24, 0)  # bins on key bits 63..44, 43..24, 23..0
_SORT_LIMIT = 200_000  # persons left in a bin sorted outright


def by_rank(u: np.ndarray, person_id: np.ndarray, ranks: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Key and person_id of the person at each rank.

    Parameters
    ----------
    u : numpy.ndarray
        uint64 order keys.
    person_id : numpy.ndarray
        Unique person ids (integers or text).
    ranks : numpy.ndarray
        Ranks, each 0 <= r < len(u).

    Returns
    -------
    numpy.ndarray
        uint64 key of each rank's person.
    numpy.ndarray
        Its person_id.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    if len(ranks) == 0:
        return np.zeros(0, dtype=np.uint64), person_id[:0]
    wanted = np.unique(ranks)
    placed = np.partition(u, wanted)
    keys = placed[ranks]
    del placed
    ids = np.empty(len(ranks), dtype=person_id.dtype)
    for key in np.unique(keys):  # a loop over a few tier boundaries
        before = int(np.count_nonzero(u < key))
        tied = np.sort(person_id[u == key])
        for j in np.flatnonzero(keys == key):
            ids[j] = tied[int(ranks[j]) - before]
    return keys, ids


def in_group(u: np.ndarray, shift: int, prefix: int) -> np.ndarray | slice:
    """Rows whose key starts with ``prefix`` (the key's bits above ``shift``); all at 64."""
    if shift >= 64:
        return slice(None)
    return np.flatnonzero((u >> np.uint64(shift)) == np.uint64(prefix))


def bin_counts(u: np.ndarray, measure: np.ndarray | None, shift: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Persons and their measure per bin of key bits above ``shift`` (bins ascending).

    ``measure`` None counts persons (the measure of each is 1).
    """
    keys = u >> np.uint64(shift)
    low = keys.min() if len(keys) else np.uint64(0)
    keys -= low  # in place (the keys are a new array), so counting takes no second copy
    bins, counts, sums = count_keys(keys, measure)
    bins += low
    return bins, counts, counts.astype(float) if sums is None else sums


def narrow(counts: np.ndarray, measures: np.ndarray, before_n: int, before_m: float,
           target: float) -> tuple[int, int, float]:
    """Find the bin (in ascending order) where the running measure reaches ``target``.

    Parameters
    ----------
    counts, measures : numpy.ndarray
        Persons and measure of each bin, bins in rank order (their sums over
        every part when the persons are in several).
    before_n, before_m : int, float
        Persons and measure ranked before the first bin.
    target : float

    Returns
    -------
    tuple
        (the bin's position, clipped to the last; persons and measure ranked before it).
    """
    cum = before_m + np.cumsum(measures)
    at = min(int(np.searchsorted(cum, target, side="left")), len(cum) - 1)
    return (at, before_n + int(counts[:at].sum()),
            float(cum[at - 1]) if at > 0 else before_m)


def pick(u: np.ndarray, person_id: np.ndarray, measure: np.ndarray, before_n: int,
         before_m: float, target: float) -> tuple[Any, Any, int]:
    """Among the persons left in a bin, sorted by key and person_id, the one reaching ``target``.

    Returns
    -------
    tuple
        (key u, person_id, persons ranked before it).
    """
    order = np.lexsort((person_id, u))
    cum = before_m + np.cumsum(measure[order])
    at = min(int(np.searchsorted(cum, target, side="left")), len(cum) - 1)
    chosen = order[at]
    return u[chosen], person_id[chosen], before_n + at


def by_measure(u: np.ndarray, person_id: np.ndarray, measure: np.ndarray, target: float
               ) -> tuple[Any, Any, int]:
    """First person in rank order whose inclusive cumulative measure reaches ``target``.

    As ``numpy.searchsorted(numpy.cumsum(measure[order]), target)`` over the
    rank order, clipped to the last person, but each bin's measure is summed
    before the running total (float sums may differ in the last bits). The
    steps (:func:`bin_counts`, :func:`narrow`, :func:`pick`) are the Dask
    engine's, there run per part and added up on the driver.

    Parameters
    ----------
    u : numpy.ndarray
        uint64 order keys.
    person_id : numpy.ndarray
        Unique person ids.
    measure : numpy.ndarray
        float64, 0 or more, one per person.
    target : float

    Returns
    -------
    tuple
        (key u, person_id, persons ranked before it).
    """
    rows: np.ndarray | slice = slice(None)
    before_n, before_m = 0, 0.0
    for shift in SHIFTS:
        su, sm = u[rows], measure[rows]
        if len(su) <= _SORT_LIMIT:
            break
        bins, counts, sums = bin_counts(su, sm, shift)
        at, before_n, before_m = narrow(counts, sums, before_n, before_m, target)
        inside = in_group(su, shift, int(bins[at]))
        rows = inside if isinstance(rows, slice) else rows[inside]
    return pick(u[rows], person_id[rows], measure[rows], before_n, before_m, target)
