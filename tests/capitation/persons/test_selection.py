"""Tier boundaries and the half-of-need cohort by selection agree with a full sort.

Expected values come from the definition itself (docs/methods/weighted-capitation.md#from-people:
rank by
score, highest first, ties by person_id ascending), computed here by a full
``numpy.lexsort`` over every person: the former pandas engine's method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation.errors import InputError
from capitation.persons.read import check_unique_ids
from capitation.persons.selection import by_measure, by_rank
from capitation.persons.tiers import (
    RiskTier,
    assign_tiers,
    boundaries_by_selection,
    boundaries_by_sort,
    order_key,
)

TIERS = [RiskTier("very high", 0.0, 0.005, 18.6), RiskTier("high", 0.005, 0.05, 5.5),
         RiskTier("moderate", 0.05, 0.2, 1.7), RiskTier("low", 0.2, 1.0, 0.5)]


def _ranks_by_sort(u: np.ndarray, ids: np.ndarray) -> np.ndarray:
    order = np.lexsort((ids, u))
    ranks = np.empty(len(u), dtype=np.int64)
    ranks[order] = np.arange(len(u))
    return ranks


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("distinct", [1, 3, 40, 5_000])
def test_tiers_by_selection_are_the_tiers_by_sort(seed, distinct):
    # Few distinct scores: every boundary falls inside a run of tied persons,
    # whose order is then decided by person_id alone (shuffled, with gaps).
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30_000))
    scores = rng.choice(rng.random(distinct) * 10, size=n)
    ids = rng.permutation(np.arange(n, dtype=np.int64) * 3 + 7)
    u = order_key(scores)
    by_sort, order = boundaries_by_sort(u, ids, TIERS)
    by_select = boundaries_by_selection(u, ids, TIERS)
    assert by_select.ranks.tolist() == by_sort.ranks.tolist()
    assert by_select.present.tolist() == by_sort.present.tolist()
    assert by_select.keys_u.tolist() == by_sort.keys_u.tolist()
    assert by_select.keys_id.tolist() == by_sort.keys_id.tolist()
    ranks = _ranks_by_sort(u, ids)
    expected = np.searchsorted(by_sort.ranks[1:-1], ranks, side="right")
    assert assign_tiers(u, ids, by_select).tolist() == expected.tolist()


def test_text_ids_and_tiny_populations():
    for n in (1, 2, 3, 199, 201):
        ids = np.array([f"id{i:04d}" for i in np.random.default_rng(n).permutation(n)],
                       dtype=object)
        u = order_key(np.zeros(n))  # everyone tied: order by person_id
        by_sort, _ = boundaries_by_sort(u, ids, TIERS)
        by_select = boundaries_by_selection(u, ids, TIERS)
        assert by_select.keys_id.tolist() == by_sort.keys_id.tolist()
        assert by_select.present.tolist() == by_sort.present.tolist()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n", [1_000, 450_000])
def test_cohort_by_histogram_is_the_cohort_by_sort(seed, n):
    # 450,000 persons is past the bin size sorted outright, so the histogram
    # passes run; need in whole pence keeps every sum exact, so the cumulative
    # need of the sorted persons gives the expected rank exactly.
    rng = np.random.default_rng(seed)
    scores = rng.choice(rng.random(50) * 10, size=n)
    ids = rng.permutation(n).astype(np.int64)
    need = rng.integers(0, 5_000, size=n).astype(np.float64)
    u = order_key(scores)
    order = np.lexsort((ids, u))
    cumulative = np.cumsum(need[order])
    for share in (0.0, 0.1, 0.5, 0.999, 1.0):
        target = share * cumulative[-1]
        expected = min(int(np.searchsorted(cumulative, target, side="left")), n - 1)
        key, pid, before = by_measure(u, ids, need, target)
        assert before == expected
        assert (key, pid) == (u[order[expected]], ids[order[expected]])


def test_by_rank_with_repeated_ranks():
    u = order_key(np.array([1.0, 2.0, 2.0, 2.0, 0.5]))
    ids = np.array([5, 9, 1, 4, 2])
    keys, found = by_rank(u, ids, np.array([0, 1, 1, 3, 4]))
    # rank order: ids 1, 4, 9 (score 2), 5 (score 1), 2 (score 0.5)
    assert found.tolist() == [1, 4, 4, 5, 2]


def test_repeated_ids_across_parts_are_found_by_counting(tmp_path):
    parts = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    ids = np.array([1, 5, 9, 2, 9, 7], dtype=np.int64)
    part_starts = np.array([0, 3])
    with pytest.raises(InputError, match="person_id 9 appear more than once, in parts "
                                         "a.parquet, b.parquet"):
        check_unique_ids(ids, part_starts, parts, "person_id")
    check_unique_ids(np.array([1, 5, 9, 2, 8, 7]), part_starts, parts, "person_id")
    # a range far wider than the ids: counted on the distinct ids
    wide = np.array([1, 2**60, 3, 2**60 + 1, 3, 4], dtype=np.int64)
    with pytest.raises(InputError, match="person_id 3 appear"):
        check_unique_ids(wide, part_starts, parts, "person_id")


@pytest.mark.parametrize("ids", [
    np.arange(10, dtype=np.int64),                       # ids used as they are
    np.arange(10, dtype=np.int64) + 10**12,              # far from 0: marked from the lowest
    np.arange(10, dtype=np.int64) - 5,                   # negative ids
    np.arange(10, dtype=np.uint64) + np.uint64(2**63),   # unsigned, above int64
    np.array([f"8F3A{i}" for i in range(10)], dtype=object),  # text (pseudonyms)
])
def test_repeats_are_found_wherever_the_ids_lie(tmp_path, ids):
    parts = [tmp_path / "a.parquet"]
    check_unique_ids(ids, np.array([0]), parts, "person_id")  # all distinct: no error
    repeated = ids.copy()
    repeated[7] = repeated[2]
    with pytest.raises(InputError, match=f"person_id {repeated[2]}, {repeated[2]} appear more "
                                         "than once"):
        check_unique_ids(repeated, np.array([0]), parts, "person_id")


def test_text_ids_with_equal_hashes_are_still_told_apart(tmp_path):
    # pandas hashes the text "1" and the number 1 alike (hash_array works on
    # their text), so the hashes alone would see a repeat; the exact check
    # must find none, and must still find a real one.
    parts = [tmp_path / "a.parquet"]
    ids = np.array(["1", 1, "A2"], dtype=object)
    hashes = pd.util.hash_array(ids, categorize=False)
    assert hashes[0] == hashes[1]  # the collision this test relies on
    check_unique_ids(ids, np.array([0]), parts, "person_id")
    with pytest.raises(InputError, match="person_id A2, A2 appear more than once"):
        check_unique_ids(np.array(["1", 1, "A2", "A2"], dtype=object), np.array([0]), parts,
                         "person_id")
