"""Tests for capitation/register/synthetic.py: the seeded synthetic register and its writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.register.read import REGISTER_COLUMNS, read_register
from capitation.register.synthetic import synthetic_register, write_register_csv

HEADER = (
    "EXTRACT_DATE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,ORG_CODE,POSTCODE,"
    "SEX,AGE,NUMBER_OF_PATIENTS"
)


def test_synthetic_register_is_seeded_and_complete():
    a = synthetic_register(7, seed=3)
    pd.testing.assert_frame_equal(a, synthetic_register(7, seed=3))
    assert not a.equals(synthetic_register(7, seed=4))
    assert len(a) == 7 * 2 * 96
    assert list(a.columns) == list(REGISTER_COLUMNS)
    assert (a["patients"] >= 0).all()
    sizes = a.groupby("practice")["patients"].sum()
    assert sizes.between(1_000, 60_000).all()
    # Plausible shape: more people aged 20-59 than aged 80+.
    assert (
        a.loc[a["age"].between(20, 59), "patients"].sum()
        > 3 * a.loc[a["age"] >= 80, "patients"].sum()
    )


def test_round_trip_synthetic_write_read(tmp_path):
    frame = synthetic_register(12, seed=2026)
    path = write_register_csv(frame, tmp_path / "synthetic.csv")
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(text.columns) == HEADER.split(",")
    # 12 practices × (2 sexes × (96 ages + 1 ALL) + 1 ALL/ALL) rows.
    assert len(text) == 12 * (2 * 97 + 1)
    assert set(text["AGE"]) == {str(a) for a in range(95)} | {"95+", "ALL"}
    assert set(text["SEX"]) == {"MALE", "FEMALE", "ALL"}
    pd.testing.assert_frame_equal(read_register(path), frame)


@settings(deadline=None, derandomize=True, max_examples=15)
@given(n_practices=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_round_trip_property(tmp_path_factory, n_practices, seed):
    frame = synthetic_register(n_practices, seed)
    path = write_register_csv(frame, tmp_path_factory.mktemp("rt") / "r.csv")
    pd.testing.assert_frame_equal(read_register(path), frame)


def test_shuffled_rows_read_the_same(tmp_path):
    frame = synthetic_register(3, seed=11)
    path = write_register_csv(frame, tmp_path / "ordered.csv")
    lines = path.read_text().splitlines()
    body = lines[1:]
    np.random.default_rng(0).shuffle(body)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *body]) + "\n")
    pd.testing.assert_frame_equal(read_register(shuffled), read_register(path))
