"""Counting persons by integer key without sorting them.

Cells (practice × sex × age × tier) and risk-rank histogram bins are integer
keys in a range not much wider than the number of persons, so counting them
is one :func:`numpy.bincount` over ``key - min(key)`` (one pass, no sort). A
key range far wider than the keys falls back to :func:`numpy.unique`. Both
ways give the same keys, in ascending order, and the same sums: each key's
weights are added in input order.
"""

from __future__ import annotations

from typing import overload

import numpy as np

__all__ = ["count_keys", "DENSE_FACTOR"]

DENSE_FACTOR = 8  # bincount while the key range is at most this many times the keys (+ 2**20)


@overload
def count_keys(keys: np.ndarray, weights: None = None) -> tuple[np.ndarray, np.ndarray, None]: ...
@overload
def count_keys(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ...
@overload
def count_keys(keys: np.ndarray, weights: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]: ...


def count_keys(keys: np.ndarray, weights: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distinct keys in ascending order, how often each occurs and the sum of its weights.

    Parameters
    ----------
    keys : numpy.ndarray
        Non-negative integers (int64 or uint64).
    weights : numpy.ndarray, optional
        float64, one per key.

    Returns
    -------
    numpy.ndarray
        The distinct keys, ascending, in the dtype of ``keys``.
    numpy.ndarray
        int64 count of each.
    numpy.ndarray or None
        float64 sum of the weights of each (None without weights).
    """
    keys = np.asarray(keys)
    if len(keys) == 0:
        return keys[:0], np.zeros(0, dtype=np.int64), None if weights is None else np.zeros(0)
    low, high = keys.min(), keys.max()
    if int(high) - int(low) <= DENSE_FACTOR * len(keys) + (1 << 20):
        if keys.dtype == np.intp and 0 <= low and high < 2 * (high - low) + (1 << 20):
            low = keys.dtype.type(0)  # cell codes: counted as they are, no shifted copy
        offset = keys - low if low else keys
        if offset.dtype == np.uint64 and np.dtype(np.intp) == np.int64:
            offset = offset.view(np.int64)  # all below 2**63 here: the same numbers, no copy
        offset = offset.astype(np.intp, copy=False)
        counts = np.bincount(offset)
        present = np.flatnonzero(counts)
        sums = None if weights is None else np.bincount(offset, weights=weights)[present]
        return present.astype(keys.dtype) + low, counts[present].astype(np.int64), sums
    distinct, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sums = None if weights is None else np.bincount(inverse, weights=weights,
                                                    minlength=len(distinct))
    return distinct, counts.astype(np.int64), sums
