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

__all__ = ["by_rank", "by_measure"]

_SHIFTS = (44, 24, 0)  # bins on key bits 63..44, 43..24, 23..0
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


def by_measure(u: np.ndarray, person_id: np.ndarray, measure: np.ndarray, target: float
               ) -> tuple[Any, Any, int]:
    """First person in rank order whose inclusive cumulative measure reaches ``target``.

    As ``numpy.searchsorted(numpy.cumsum(measure[order]), target)`` over the
    rank order, clipped to the last person, but each bin's measure is summed
    before the running total (float sums may differ in the last bits).

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
    for shift in _SHIFTS:
        su, sm = u[rows], measure[rows]
        if len(su) <= _SORT_LIMIT:
            break
        bins, counts, sums = count_keys(su >> np.uint64(shift), sm)
        cum = before_m + np.cumsum(sums)
        at = min(int(np.searchsorted(cum, target, side="left")), len(cum) - 1)
        before_n += int(counts[:at].sum())
        before_m = float(cum[at - 1]) if at > 0 else before_m
        inside = np.flatnonzero((su >> np.uint64(shift)) == bins[at])
        rows = inside if isinstance(rows, slice) else rows[inside]
    su, sid, sm = u[rows], person_id[rows], measure[rows]
    order = np.lexsort((sid, su))
    cum = before_m + np.cumsum(sm[order])
    at = min(int(np.searchsorted(cum, target, side="left")), len(cum) - 1)
    pick = order[at]
    return su[pick], sid[pick], before_n + at
