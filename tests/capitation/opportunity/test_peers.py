"""Peers by Mahalanobis distance, and the benchmarks they set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from capitation import InputError
from capitation.opportunity import find_peers, peer_benchmarks

# One unit at the origin, ten near it (within 2.3 of it) and twenty far away
# (at least 30 from it), in two indicators. However the correlation of the set
# stretches the space, the condition number of the metric is below (30/2.3)², so
# the ten near units are the origin's ten nearest.
NEAR = {"N01": (1, 0), "N02": (0, 1), "N03": (-1, 0), "N04": (0, -1), "N05": (1, 1),
        "N06": (-1, 1), "N07": (1, -1), "N08": (-1, -1), "N09": (2, 1), "N10": (1, 2)}
FAR = {f"F{i:02d}": (30 * np.cos(i * np.pi / 10), 30 * np.sin(i * np.pi / 10))
       for i in range(20)}
# Ratios of the near units for one service; far units 2.0 (never among the best).
RATIOS = {"N01": 1.30, "N02": 0.95, "N03": 1.10, "N04": 0.85, "N05": 1.02,
          "N06": 0.90, "N07": 1.25, "N08": 0.80, "N09": 1.15, "N10": 0.99}


def _set() -> tuple[pd.DataFrame, pd.DataFrame]:
    points = {"O": (0.0, 0.0), **NEAR, **FAR}
    indicators = pd.DataFrame(points, index=["need_index", "share_over_65"]).T
    indicators.index.name = "practice"
    ratios = pd.DataFrame({"a_and_e": {code: RATIOS.get(code, 2.0) for code in points}})
    ratios.loc["O", "a_and_e"] = 1.2
    return indicators, ratios


def test_the_ten_nearest_are_the_constructed_ones():
    indicators, _ = _set()
    metric = np.linalg.inv(np.cov(indicators.to_numpy(dtype=float), rowvar=False))
    eigen = np.linalg.eigvalsh(metric)
    assert eigen.max() / eigen.min() < (30 / 2.3) ** 2  # the construction's premise
    peers = find_peers(indicators, similar=10)
    row = peers.table.loc["O"]
    assert sorted(row[[f"peer_{k}" for k in range(1, 11)]]) == sorted(NEAR)
    distances = row[[f"distance_{k}" for k in range(1, 11)]].to_numpy(dtype=float)
    assert (np.diff(distances) >= 0).all()


def test_best_five_of_similar_ten_by_hand():
    # The origin's peers have ratios 1.30, 0.95, 1.10, 0.85, 1.02, 0.90, 1.25, 0.80,
    # 1.15, 0.99. The five lowest: 0.80, 0.85, 0.90, 0.95, 0.99, mean 4.49/5 = 0.898.
    # Median of the ten: (0.99 + 1.02)/2 = 1.005. Lower quartile of all 31 units
    # (linear, position 30 × 0.25 = 7.5 in sorted order 0.80, 0.85, 0.90, 0.95, 0.99,
    # 1.02, 1.10, 1.15, 1.20, ...): (1.15 + 1.20)/2 = 1.175.
    indicators, ratios = _set()
    peers = find_peers(indicators, similar=10)
    benchmarks = peer_benchmarks(ratios, peers, best=5).loc[("O", "a_and_e")]
    assert benchmarks["best_peers_ratio"] == pytest.approx(0.898, rel=1e-12)
    assert benchmarks["peer_median_ratio"] == pytest.approx(1.005, rel=1e-12)
    assert benchmarks["lowest_quartile_ratio"] == pytest.approx(1.175, rel=1e-12)


def test_equal_distances_go_to_the_lower_code():
    # One indicator with mean exactly 0: A's neighbours B and C are both 1 away,
    # D and E both 2 away. With three peers, B and C come first (B before C), then
    # D beats E on code.
    indicators = pd.DataFrame({"need_index": [0, 1, -1, 2, -2, 3, -3]},
                              index=pd.Index(list("ABCDEFG"), name="practice"))
    peers = find_peers(indicators, similar=3)
    assert peers.table.loc["A", ["peer_1", "peer_2", "peer_3"]].tolist() == ["B", "C", "D"]
    # Reversing the rows changes nothing.
    again = find_peers(indicators.iloc[::-1], similar=3)
    pd.testing.assert_frame_equal(peers.table, again.table)


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(12, 60), st.integers(1, 3))
def test_peers_match_a_brute_force_mahalanobis(seed, n, p):
    # Brute force: scipy's Mahalanobis distance with the inverse covariance of the
    # raw indicators (the distance is the same after standardising), sorted stably
    # so that equal distances keep code order.
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + rng.normal(size=p)
    indicators = pd.DataFrame(raw, index=pd.Index([f"U{i:03d}" for i in range(n)]))
    similar = min(5, n - 1)
    peers = find_peers(indicators, similar=similar)
    metric = np.linalg.inv(np.atleast_2d(np.cov(raw, rowvar=False)))
    distance = cdist(raw, raw, metric="mahalanobis", VI=metric)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :similar]
    np.testing.assert_array_equal(peers.positions, nearest)
    np.testing.assert_allclose(peers.table[[f"distance_{k + 1}" for k in range(similar)]],
                               np.take_along_axis(distance, nearest, axis=1), rtol=1e-9)


def test_bad_indicators_are_named():
    indicators, _ = _set()
    with pytest.raises(InputError, match='indicator "flat" is the same for every unit'):
        find_peers(indicators.assign(flat=1.0))
    with pytest.raises(InputError, match="linearly dependent"):
        find_peers(indicators.assign(twice=indicators["need_index"] * 2))
    with pytest.raises(InputError, match='practice "N03" has no value'):
        find_peers(indicators.assign(need_index=indicators["need_index"].where(
            indicators.index != "N03")))
    with pytest.raises(InputError, match="31 units cannot each have 31 peers"):
        find_peers(indicators, similar=31)
    with pytest.raises(InputError, match="best must be a whole number from 1 to similar"):
        peer_benchmarks(_set()[1], find_peers(indicators, similar=4), best=5)
