"""Hypothesis properties of the allocation (style.md, "Tests")."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from capitation import Component, NeedsFormula, Population, allocate
from capitation.testing import assert_ties_out

FORMULA = NeedsFormula((
    Component("a", share=0.7, blend={"wp1": 1.0}, multipliers=("m",)),
    Component("b", share=0.3, blend={"wp1": 0.5, "wp2": 0.5}),
))


@st.composite
def practice_tables(draw):
    n = draw(st.integers(1, 25))
    pop = draw(st.lists(st.integers(0, 50_000), min_size=n, max_size=n))
    wp1 = draw(st.lists(st.floats(1, 90_000), min_size=n, max_size=n))
    wp2 = draw(st.lists(st.floats(1, 90_000), min_size=n, max_size=n))
    mult = draw(st.lists(st.floats(0.8, 1.3), min_size=n, max_size=n))
    icb = draw(st.lists(st.sampled_from(["I1", "I2", "I3"]), min_size=n, max_size=n))
    frame = pd.DataFrame({"code": [f"P{i:03d}" for i in range(n)], "ICB": icb, "pop": pop,
                          "wp1": wp1, "wp2": wp2, "m": mult})
    frame["REG"] = frame["ICB"].map({"I1": "R1", "I2": "R1", "I3": "R2"})
    envelope = draw(st.integers(1, 10**13)) / 100
    return frame, envelope


def run(frame, envelope):
    population = Population.from_frame(frame, id="code", population="pop",
                                       levels=["ICB", "REG"], columns=["wp1", "wp2", "m"])
    return allocate(population, FORMULA, envelope_gbp=envelope)


@given(practice_tables())
def test_every_level_sums_exactly_to_envelope(table):
    frame, envelope = table
    results = run(frame, envelope)
    assert_ties_out(results)
    envelope_pence = round(envelope * 100)
    for level in results.levels:
        t = results.table(level)
        for column in ["target_gbp", "allocation_gbp"]:
            pence = np.round(t[column].to_numpy() * 100).astype(np.int64)
            assert pence.sum() == envelope_pence
            # whole pence
            assert np.allclose(t[column] * 100, pence, atol=1e-6)


@given(practice_tables(), st.integers(2, 50))
def test_scaling_population_changes_no_share(table, k):
    frame, envelope = table
    base = run(frame, envelope).table("practice")
    scaled = frame.assign(pop=frame["pop"] * k, wp1=frame["wp1"] * k, wp2=frame["wp2"] * k)
    other = run(scaled, envelope).table("practice")
    pd.testing.assert_series_equal(base["target_gbp"], other["target_gbp"], rtol=0, atol=0.0)
    pd.testing.assert_series_equal(base["need_index"], other["need_index"], rtol=1e-9)


@given(practice_tables(), st.randoms(use_true_random=False))
def test_reordering_rows_changes_nothing(table, rnd):
    frame, envelope = table
    order = list(range(len(frame)))
    rnd.shuffle(order)
    base = run(frame, envelope)
    shuffled = run(frame.iloc[order], envelope)
    for level in base.levels:
        pd.testing.assert_frame_equal(base.table(level), shuffled.table(level), rtol=1e-12)
