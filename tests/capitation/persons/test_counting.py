"""Counting by bincount gives what sorting gives (capitation.persons.counting)."""

from __future__ import annotations

import numpy as np
import pytest

from capitation.persons.counting import count_keys
from capitation.persons.weights import combine_cells, count_cells


@pytest.mark.parametrize("spread", [50, 10**6, 2**40])
@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_count_keys_matches_unique(spread, dtype):
    rng = np.random.default_rng(spread)
    keys = (rng.integers(0, spread, 20_000) + (2**62 if dtype is np.uint64 else 7)).astype(dtype)
    weights = rng.random(len(keys))
    distinct, counts, sums = count_keys(keys, weights)
    expected, inverse, expected_counts = np.unique(keys, return_inverse=True, return_counts=True)
    assert distinct.dtype == keys.dtype
    np.testing.assert_array_equal(distinct, expected)
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(sums, np.bincount(inverse, weights=weights))  # same order


def test_count_keys_of_nothing():
    distinct, counts, sums = count_keys(np.zeros(0, dtype=np.uint64), np.zeros(0))
    assert len(distinct) == len(counts) == len(sums) == 0


def test_cells_combined_from_parts_equal_cells_of_the_whole():
    rng = np.random.default_rng(3)
    n = 50_000
    p, s = rng.integers(0, 300, n), rng.integers(0, 2, n)
    a, k = rng.integers(0, 96, n), rng.integers(0, 4, n)
    whole = combine_cells([count_cells(p, s, a, k, 4)], 4)
    cuts = [0, 10_000, 10_001, 37_000, n]
    parts = [count_cells(p[i:j], s[i:j], a[i:j], k[i:j], 4)
             for i, j in zip(cuts[:-1], cuts[1:], strict=True)]
    combined = combine_cells(parts, 4)
    assert combined["n"].sum() == n
    assert combined.equals(whole)
    code = ((p * 2 + s) * 96 + a) * 4 + k
    assert len(whole) == len(np.unique(code))


def test_parts_of_whole_practices_are_put_side_by_side():
    """Parts sharing no cell (whole practices) combine without adding up; any order works."""
    first = count_cells(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([5, 5, 7]),
                        np.array([0, 0, 2]), 4)
    second = count_cells(np.array([2, 2]), np.array([1, 1]), np.array([95, 95]),
                         np.array([3, 3]), 4)
    forward = combine_cells([first, second], 4)
    assert forward["n"].tolist() == [1, 1, 1, 2]
    assert forward["practice"].tolist() == [0, 0, 1, 2]
    assert combine_cells([second, first], 4).equals(forward)
    assert combine_cells([], 4).empty
