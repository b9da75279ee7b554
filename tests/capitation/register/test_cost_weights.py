"""Tests for capitation/register/cost_weights.py: cost weights, need indices, X_p."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation.errors import InputError
from capitation.register.cost_weights import (
    CostWeights,
    read_cost_weights,
    read_need_index,
    register_weighted_counts,
)
from capitation.register.read import read_register
from capitation.register.synthetic import synthetic_register

DATA = Path(__file__).resolve().parents[2] / "data" / "register"
EXAMPLE = Path(__file__).resolve().parents[3] / "models" / "register_example"

FOLDERS = {
    "tests": (
        DATA / "register_worked_example.csv",
        DATA / "weights_worked_example.csv",
        DATA / "need_worked_example.csv",
    ),
    "docs": (EXAMPLE / "register.csv", EXAMPLE / "weights_core.csv", EXAMPLE / "need_core.csv"),
}


# --------------------------------------------------------------------------- #
# docs/methods/weighted-capitation.md#from-the-register worked example
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("which", sorted(FOLDERS))
def test_worked_example_weighted_counts(which):
    # docs/methods/weighted-capitation.md#from-the-register: one weight table for both sexes, 1.0
    # for ages 0-64 and
    # 3.0 for 65+ (open band).  X_p = Σ n(p, s, a) × w(s, a):
    #   P1:  800 × 1 + 200 × 3 = 1,400
    #   P2:  900 × 1 + 100 × 3 = 1,200
    #   P3:  500 × 1 + 500 × 3 = 2,000        ΣX = 4,600, population 3,000
    register_path, weights_path, _ = FOLDERS[which]
    register = read_register(register_path)
    counts = register_weighted_counts(register, read_cost_weights(weights_path), None)
    assert counts.index.name == "practice"
    assert counts.index.tolist() == ["P1", "P2", "P3"]
    assert counts["population"].tolist() == [1_000, 1_000, 1_000]
    assert counts["population"].dtype == np.int64
    assert counts["weighted"].tolist() == [1_400.0, 1_200.0, 2_000.0]
    assert counts["weighted"].sum() == 4_600.0


@pytest.mark.parametrize("which", sorted(FOLDERS))
def test_worked_example_with_need_index(which):
    # docs/methods/weighted-capitation.md#from-the-register: a need index of 1.1 for P3 only: X3 =
    # 1.1 × 2,000 = 2,200,
    # ΣX = 1,400 + 1,200 + 2,200 = 4,800.  P1 and P2 have 1.0 in the file.
    register_path, weights_path, need_path = FOLDERS[which]
    register = read_register(register_path)
    need = read_need_index(need_path, pd.Index(["P1", "P2", "P3"]))
    counts = register_weighted_counts(register, read_cost_weights(weights_path), need)
    assert counts["weighted"].to_numpy() == pytest.approx([1_400.0, 1_200.0, 2_200.0], abs=1e-9)
    assert counts["weighted"].sum() == pytest.approx(4_800.0, abs=1e-9)
    assert counts["population"].tolist() == [1_000, 1_000, 1_000]


def test_no_weights_counts_heads():
    # weights None means every w(s, a) = 1, so X_p is the population.
    register = read_register(DATA / "register_worked_example.csv")
    counts = register_weighted_counts(register, None, None)
    assert counts["weighted"].tolist() == [1_000.0, 1_000.0, 1_000.0]


def test_95_plus_takes_the_weight_of_the_band_holding_95():
    # register_small.csv with weights 1.0 for 0-89 and, for 90-95, 2.5 (M) / 4.0 (F):
    #   A00001  M: 10 + 12 + 3 × 2.5 (95+) = 29.5;  F: 9 + 11 + 7 × 4.0 (95+) = 48.0  → 77.5
    #   A00002  M: 5 + 2 × 2.5 (94) = 10.0;          F: 4 + 6 × 4.0 (94) = 28.0       → 38.0
    register = read_register(DATA / "register_small.csv")
    weights = read_cost_weights(DATA / "weights_closed_top.csv")
    counts = register_weighted_counts(register, weights, None)
    assert counts["weighted"].to_dict() == {"A00001": 77.5, "A00002": 38.0}
    assert counts["population"].to_dict() == {"A00001": 52, "A00002": 17}


def test_by_age_table():
    weights = read_cost_weights(DATA / "weights_closed_top.csv")
    table = weights.by_age()
    assert table.shape == (2, 96)
    assert table[0, :90].tolist() == [1.0] * 90
    assert table[0, 90:].tolist() == [2.5] * 6  # row 0 is M
    assert table[1, 90:].tolist() == [4.0] * 6  # row 1 is F
    bands = weights.bands
    assert list(bands.columns) == ["sex", "age_from", "age_to", "weight"]
    open_top = read_cost_weights(DATA / "weights_worked_example.csv").bands
    assert open_top["age_to"].isna().sum() == 2  # the two open 65+ bands


def test_cost_weights_copies_its_frame():
    frame = pd.DataFrame(
        {"sex": ["M", "F"], "age_from": [0, 0], "age_to": [np.nan, np.nan], "weight": [1.0, 2.0]}
    )
    weights = CostWeights(frame)
    frame.loc[0, "weight"] = 99.0
    assert weights.by_age()[0, 0] == 1.0


def test_vectorised_matches_direct_sum_on_a_synthetic_register():
    # Independent check of X_p = Σ n × w: a plain per-row lookup on 5 practices.
    register = synthetic_register(5, seed=7)
    weights = read_cost_weights(DATA / "weights_closed_top.csv")
    table = {"M": [1.0] * 90 + [2.5] * 6, "F": [1.0] * 90 + [4.0] * 6}
    expected: dict[str, float] = {}
    for practice, sex, age, n in register[["practice", "sex", "age", "patients"]].itertuples(
        index=False
    ):
        expected[practice] = expected.get(practice, 0.0) + n * table[sex][age]
    counts = register_weighted_counts(register, weights, None)
    assert counts["weighted"].to_dict() == pytest.approx(expected)


# --------------------------------------------------------------------------- #
# Bad inputs
# --------------------------------------------------------------------------- #

BAD_WEIGHTS = {
    "weights_bad_gap.csv": "row 5, column age_from: ages 65 to 69 are not covered for sex F",
    "weights_bad_top_gap.csv": "row 5, column age_from: age 95 is not covered for sex F",
    "weights_bad_overlap.csv": (
        "row 3, column age_from: ages 60 to 64 are covered by more than one band for sex M"
    ),
    "weights_bad_missing_sex.csv": "column sex: there are no bands for sex F",
    "weights_bad_negative_weight.csv": (
        "row 4, column weight: -0.5 is negative (expected a weight from 0 to 100000)"
    ),
    "weights_bad_sex.csv": 'row 4, column sex: "X" is not a sex code (expected M or F)',
    "weights_bad_missing_column.csv": (
        'column age_to: no column "age_to" (the columns are: sex, age_from, weight)'
    ),
    "weights_bad_age.csv": 'row 2, column age_to: "sixty" is not a number',
}

BAD_NEED = {
    "need_bad_missing_practice.csv": "column practice: 1 practice of the register is missing: P2",
    "need_bad_duplicate.csv": (
        'row 3, column practice: practice "P2" appears again in row 5 (expected one row per '
        "practice)"
    ),
    "need_bad_zero.csv": (
        "row 3, column need_index: 0 is not above 0 (expected a need index greater than 0)"
    ),
}


def test_every_bad_file_has_an_entry():
    assert {p.name for p in DATA.glob("weights_bad_*.csv")} == set(BAD_WEIGHTS)
    assert {p.name for p in DATA.glob("need_bad_*.csv")} == set(BAD_NEED)


@pytest.mark.parametrize("name", sorted(BAD_WEIGHTS))
def test_bad_cost_weights(name):
    with pytest.raises(InputError) as caught:
        read_cost_weights(DATA / name)
    assert str(caught.value).startswith(f"{name}, ")
    assert BAD_WEIGHTS[name] in str(caught.value)


@pytest.mark.parametrize("name", sorted(BAD_NEED))
def test_bad_need_index(name):
    with pytest.raises(InputError) as caught:
        read_need_index(DATA / name, pd.Index(["P1", "P2", "P3"]))
    assert str(caught.value).startswith(f"{name}, ")
    assert BAD_NEED[name] in str(caught.value)


def test_missing_practices_are_named_up_to_five():
    practices = pd.Index(["P1", "P2", "P3"] + [f"Z{i}" for i in range(7)])
    with pytest.raises(InputError) as caught:
        read_need_index(DATA / "need_worked_example.csv", practices)
    assert "7 practices of the register are missing: Z0, Z1, Z2, Z3, Z4 and 2 more" in str(
        caught.value
    )


def test_extra_practices_in_the_need_file_are_ignored():
    need = read_need_index(DATA / "need_extra_practices.csv", pd.Index(["P3", "P1", "P2"]))
    assert need.index.tolist() == ["P3", "P1", "P2"]
    assert need.index.name == "practice"
    assert need.name == "need_index"
    assert need.tolist() == [1.1, 1.0, 1.0]


def test_need_series_missing_a_register_practice_is_an_error():
    register = read_register(DATA / "register_worked_example.csv")
    need = pd.Series([1.0, 1.0], index=["P1", "P2"])
    with pytest.raises(InputError, match="P3"):
        register_weighted_counts(register, None, need)
