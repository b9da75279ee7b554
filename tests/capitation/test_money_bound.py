"""One bound for every amount of money (capitation.rounding.MAX_MONEY_GBP), on every route.

Found by a black-box test: above about £9.2e16, pence overflow int64 and the run
went on with garbage and exit status 0 (a baseline of -£92,233,720,332,577,760.00).
Inputs beyond £10 trillion are refused at the edge, naming the key, cell or row;
every conversion to pence refuses one too, naming what it was converting. The
file cases are in tests/bad_inputs/ (money_*, min_growth_*, sb_*_too_large).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import Component, InputError, Model, NeedsFormula, Population, allocate
from capitation.allocation import Pace
from capitation.excel.model_schema import MODEL_SCHEMA
from capitation.inputs import TomlKeys, number_column
from capitation.rounding import (
    MAX_MONEY_GBP,
    MAX_MONEY_PENCE,
    ceil_pence,
    floor_pence,
    grown_pence,
    largest_remainder,
    largest_remainder_rows,
    round_pence,
)
from risk_share import Agreement
from risk_share.excel.agreement_schema import AGREEMENT_SCHEMA

BAD_INPUTS = Path(__file__).resolve().parents[1] / "bad_inputs"
BOUND = "is above the largest amount the toolkit accepts (£10,000,000,000,000)"


# ---------------------------------------------------------------- the bound itself


def test_the_bound_keeps_whole_pence_exact_in_float64_and_sums_in_int64():
    # £10 trillion is 10**15 pence: below 2**53, so every whole-pence amount up to it
    # is exact in float64, and 9,000 of them add up within int64 (2**63 - 1 ≈ 9.2e18).
    assert MAX_MONEY_GBP == 1e13 and MAX_MONEY_PENCE == 10**15
    assert MAX_MONEY_PENCE < 2**53
    assert 9_000 * MAX_MONEY_PENCE < 2**63 - 1
    assert round_pence(MAX_MONEY_GBP) == MAX_MONEY_PENCE
    assert round_pence(-MAX_MONEY_GBP) == -MAX_MONEY_PENCE


@pytest.mark.parametrize("convert", [round_pence, ceil_pence, floor_pence])
def test_conversions_to_pence_refuse_an_amount_beyond_the_bound_naming_it(convert):
    # Before: round_pence(1e17) cast 1e19 pence to int64 and returned a large negative number.
    with pytest.raises(InputError) as caught:
        convert(np.array([1.0, 1e17]), "the planned value of a plan line")
    assert str(caught.value) == f"the planned value of a plan line: 1e+17 {BOUND}"
    with pytest.raises(InputError, match=re.escape(
            "an amount: -2e+13 is below the smallest amount the toolkit accepts "
            "(-£10,000,000,000,000)")):
        convert(-2e13)
    with pytest.raises(InputError, match="an amount: nan is not a finite amount"):
        convert(float("nan"))


def test_grown_amounts_and_largest_remainder_refuse_beyond_the_bound():
    # A baseline within the bound, grown past it: (1 + 1) × £6e12 = £1.2e13.
    with pytest.raises(InputError, match=re.escape(f"a floor: 1.2e+13 {BOUND}")):
        grown_pence(np.array([6e12]), 1.0, "ceil", "a floor")
    with pytest.raises(InputError, match=re.escape(f"a floor: 1e+16 {BOUND}")):
        grown_pence(np.array([1e16]), 0.0, "ceil", "a floor")
    with pytest.raises(InputError, match=re.escape("a floor: 1e+29")):
        grown_pence(np.array([1e13]), 1e16, "ceil", "a floor")  # min_growth = 1e16
    with pytest.raises(InputError, match="shared out to whole pence: 1e\\+17"):
        largest_remainder(pd.Series([1e17, 1.0], index=["a", "b"]), 10**19)
    with pytest.raises(InputError, match="shared out to whole pence: 1e\\+17"):
        largest_remainder_rows(np.array([[1e19, 0.0]]), np.array([0]))


# ---------------------------------------------------------------- the input edge


def test_toml_keys_refuse_money_beyond_the_bound():
    keys = TomlKeys("m.toml")
    assert keys.number(1e13, "model.envelope_gbp", low=0.0, money=True) == 1e13
    with pytest.raises(InputError) as caught:
        keys.number(5e17, "model.envelope_gbp", low=0.0, money=True)
    assert str(caught.value) == f"m.toml, key model.envelope_gbp: 5e+17 {BOUND}"
    assert keys.number(5e17, "k") == 5e17  # not money: no bound


def test_csv_money_columns_refuse_beyond_the_bound_naming_the_row():
    cells = pd.Series(["12.50", "1e17", "2e17"])
    with pytest.raises(InputError) as caught:
        number_column(cells, file="lines.csv", column="price_gbp", rows=np.array([2, 3, 4]),
                      money=True)
    assert str(caught.value) == f"lines.csv, row 3, column price_gbp: 1e+17 {BOUND} (also row 4)"
    assert number_column(cells, money=False).tolist() == [12.5, 1e17, 2e17]


def test_the_api_refuses_an_envelope_beyond_the_bound():
    frame = pd.DataFrame({"code": ["P1", "P2"], "ICB": ["I1", "I1"], "pop": [10, 20],
                          "wp": [10.0, 20.0]})
    population = Population.from_frame(frame, id="code", population="pop", levels=["ICB"],
                                       columns=["wp"])
    formula = NeedsFormula((Component("core", share=1.0, blend={"wp": 1.0}),))
    with pytest.raises(InputError) as caught:
        allocate(population, formula, envelope_gbp=5e17)
    assert caught.value.key == "envelope_gbp" and BOUND in str(caught.value)
    # Floors and caps: min_growth far above 1 (found: 1e16) is refused with the range.
    pace = Pace(level="ICB", baseline_gbp=pd.Series([100.0], index=["I1"]), min_growth=1e16)
    with pytest.raises(InputError) as caught:
        allocate(population, formula, envelope_gbp=300.0, pace=pace)
    assert caught.value.key == "pace_of_change.min_growth"
    assert "above -1 and at most 1" in str(caught.value)


def test_a_baseline_column_summed_past_the_bound_is_refused(tmp_path):
    # Each practice's baseline is within the bound; their sum at the ICB is not.
    (tmp_path / "practices.csv").write_text(
        "code,ICB,pop,wp,base\nP1,I1,10,10,6e12\nP2,I1,20,20,6e12\n", encoding="utf-8")
    (tmp_path / "model.toml").write_text(
        '[model]\nname = "m"\nyear = "2025/26"\nenvelope_gbp = 1_000_000\n\n'
        '[population]\nfile = "practices.csv"\nid = "code"\npopulation = "pop"\n'
        'levels = ["ICB"]\n\n[[component]]\nname = "core"\nshare = 1.0\n'
        'weighted_population = { wp = 1.0 }\n\n[pace_of_change]\nlevel = "ICB"\n'
        'baseline_column = "base"\nmin_growth = 0.0\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Model.from_toml(tmp_path / "model.toml").run()
    assert caught.value.key == "pace_of_change.baseline"
    assert f"baseline 1.2e+13 {BOUND}" in str(caught.value) and ": I1" in str(caught.value)


# ---------------------------------------------------------------- one percentage rule


AGREEMENT_TOML = (BAD_INPUTS / "data" / "agreement.toml").read_text(encoding="utf-8")
MODEL_TOML = (BAD_INPUTS / "data" / "tiny_model.toml").read_text(encoding="utf-8")
PERCENTAGE = "20 looks like a percentage; expected a fraction such as 0.2"

# Every fraction key of the agreement workbook (risk_share.excel.agreement_schema), and
# where the same key sits in an agreement TOML file: (section, key) → (TOML line to
# replace, its replacement with the value 20).
AGREEMENT_FRACTIONS = {
    ("party", "influence"): ('name = "CCG"\n', 'name = "CCG"\ninfluence = 20\n'),
    ("party", "max_loss"): ("max_loss = 0.02", "max_loss = 20"),
    ("party", "max_gain"): ("max_gain = 0.02", "max_gain = 20"),
    ("loss_band", "upto"): ("[[pool.loss_band]]\nupto = 0.01", "[[pool.loss_band]]\nupto = 20"),
    ("loss_band", "shares"): ("shares = { CCG = 0.4,", "shares = { CCG = 20,"),
    ("gain_band", "upto"): ("[[pool.gain_band]]\nupto = 0.01", "[[pool.gain_band]]\nupto = 20"),
    ("gain_band", "shares"): ("shares = { CCG = 0.5,", "shares = { CCG = 20,"),
    ("marginal_rate", "above_plan"): ("above_plan = 0.2", "above_plan = 20"),
    ("marginal_rate", "below_plan"): ("below_plan = 0.2", "below_plan = 20"),
    ("marginal_rate", "tolerance"): ("tolerance = 0.02", "tolerance = 20"),
}
# The same for the model workbook (capitation.excel.model_schema) and a model file.
MODEL_FRACTIONS = {
    ("component", "share"): ("share = 0.9", "share = 20"),
    ("pace_of_change", "min_growth"): ("min_growth = 0.02", "min_growth = 20"),
    ("pace_of_change", "max_growth"): ("min_growth = 0.02", "min_growth = 0.02\nmax_growth = 20"),
    ("service_budget", "growth"): ("growth = 0.01", "growth = 20"),
    ("service_budget", "price_uplift"): ("price_uplift = [0.02, 0.015]",
                                         "price_uplift = [20, 0.015]"),
    ("service_budget", "stranded_support"): ("stranded_support = [1.0, 0.5]",
                                             "stranded_support = [1.0, 20]"),
    ("line", "fixed"): ("fixed = 0.3", "fixed = 20"),
    ("line", "semi_fixed"): ("semi_fixed = 0.2", "semi_fixed = 20"),
    ("line", "variable"): ("variable = 0.5", "variable = 20"),
    ("line", "activity_change"): ("activity_change = [-0.1, -0.2]", "activity_change = [20, -0.2]"),
}


#: Fraction keys of the [opportunity] section: (old, new) in data/activity_model.toml.
OPPORTUNITY_FRACTIONS = {
    ("opportunity", "realised"): ('level = "practice"', 'level = "practice"\nrealised = 20'),
    ("opportunity", "trim"): ('level = "practice"', 'level = "practice"\ntrim = 20'),
}


def _schema_fractions(schema) -> set[tuple[str, str]]:
    return {(section, key) for section, keys in schema.fractions.items() for key in keys}


def test_every_fraction_key_of_a_workbook_is_checked_on_the_toml_route():
    # A fraction key added to a workbook schema must be added here, so the rule stays one.
    assert set(AGREEMENT_FRACTIONS) == _schema_fractions(AGREEMENT_SCHEMA)
    assert set(MODEL_FRACTIONS) | set(OPPORTUNITY_FRACTIONS) == _schema_fractions(MODEL_SCHEMA)


@pytest.mark.parametrize("where", sorted(OPPORTUNITY_FRACTIONS), ids="{0[0]}.{0[1]}".format)
def test_an_opportunity_section_refuses_a_percentage_as_its_workbook_does(where, tmp_path):
    old, new = OPPORTUNITY_FRACTIONS[where]
    data = BAD_INPUTS / "data"
    text = (data / "activity_model.toml").read_text(encoding="utf-8")
    assert old in text
    text = (text.replace(old, new, 1).replace("{data}", data.as_posix())
            .replace("{file}", (data / "activity.csv").as_posix()))
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Model.from_toml(path).run()
    assert PERCENTAGE in str(caught.value)
    assert caught.value.key is not None and where[1] in caught.value.key


@pytest.mark.parametrize("where", sorted(AGREEMENT_FRACTIONS), ids="{0[0]}.{0[1]}".format)
def test_an_agreement_file_refuses_a_percentage_as_its_workbook_does(where, tmp_path):
    # Found: above_plan = 20 and tolerance = 2 were accepted from TOML, refused from a workbook.
    old, new = AGREEMENT_FRACTIONS[where]
    assert old in AGREEMENT_TOML
    path = tmp_path / "agreement.toml"
    path.write_text(AGREEMENT_TOML.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Agreement.from_toml(path)
    assert PERCENTAGE in str(caught.value)
    assert caught.value.key is not None and where[1] in caught.value.key


@pytest.mark.parametrize("where", sorted(MODEL_FRACTIONS), ids="{0[0]}.{0[1]}".format)
def test_a_model_file_refuses_a_percentage_as_its_workbook_does(where, tmp_path):
    old, new = MODEL_FRACTIONS[where]
    assert old in MODEL_TOML
    data = BAD_INPUTS / "data"
    text = (MODEL_TOML.replace(old, new, 1)
            .replace('"practices.csv"', f'"{(data / "practices.csv").as_posix()}"')
            .replace('"baselines.csv"', f'"{(data / "baselines.csv").as_posix()}"'))
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Model.from_toml(path).run()
    assert PERCENTAGE in str(caught.value)
    assert caught.value.key is not None and where[1] in caught.value.key
