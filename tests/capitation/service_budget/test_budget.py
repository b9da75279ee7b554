"""Capitated service budget: docs/methods/service-budget.md, the worked example and invariants."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitation.rounding import round_pence
from capitation.service_budget.budget import (
    BRIDGE_COLUMNS,
    BUDGET_LINE_COLUMNS,
    ServiceBudgetInputs,
    build_budget,
)
from capitation.service_budget.budget_file import read_service_budget

REPO = Path(__file__).resolve().parents[3]
CI = settings(deadline=None, derandomize=True, max_examples=60)

YEARS = ("2017/18", "2018/19", "2019/20")


def worked_example_table() -> dict:
    """The worked example's inputs, as a parsed [service_budget] table.

    Source: docs/methods/service-budget.md#worked-example.
    """
    return {
        "name": "MSK",
        "baseline_year": "2016/17",
        "years": list(YEARS),
        "growth": 0.01,
        "price_uplift": [0.02, 0.015, 0.015],
        "stranded_support": [1.0, 0.5, 0.0],
        "line": [
            {
                "provider": "Acute trust", "pod": "Outpatient first",
                "activity": 20000, "price_gbp": 150.0,
                "fixed": 0.3, "semi_fixed": 0.2, "variable": 0.5,
                "fixed_release_years": 3, "semi_fixed_release_years": 1,
                "activity_change": [-0.25, -0.25, -0.25],
            },
            {
                "provider": "Acute trust", "pod": "Elective inpatient",
                "activity": 2000, "price_gbp": 4000.0,
                "fixed": 0.4, "semi_fixed": 0.3, "variable": 0.3,
                "fixed_release_years": 3, "semi_fixed_release_years": 2,
                "activity_change": [-0.05, -0.10, -0.15],
            },
        ],
        "new_service": [
            {
                "provider": "Community MSK", "name": "Physiotherapy-led triage",
                "patients": [13000, 13000, 13000],
                "cost_per_patient_gbp": [120.0, 122.0, 124.0],
            }
        ],
    }


@pytest.fixture(scope="module")
def example():
    table = worked_example_table()
    return build_budget(read_service_budget(table, REPO, REPO / "example.toml"))


# -- docs/methods/service-budget.md#worked-example, the worked example
# ------------------------------------------

# docs/methods/service-budget.md#worked-example's lines table. Derivation, for 2018/19 Outpatient
# first:
#   grown    = 20,000 × 1.01² = 20,402;  planned = 20,402 × (1 − 0.25) = 15,301.5
#   price    = 150 × 1.02 × 1.015 = 155.295
#   repriced = R(20,402 × 155.295) = R(3,168,328.59)  = 3,168,328.59
#   planned  = R(15,301.5 × 155.295) = R(2,376,246.4425) = 2,376,246.44
#   removed  = 3,168,328.59 − 2,376,246.44 = 792,082.15
#   release  = 0.5 + 0.2 × min(1, 2/1) + 0.3 × min(1, 2/3) = 0.9
#   released = R(792,082.15 × 0.9) = R(712,873.935) = 712,873.94  (needs the 6-decimal snap: in
#              float64 the fraction is 0.8999999999999999 and the product 712,873.9349999999,
#              which Python's round(x, 2) takes to .93)
#   stranded = 792,082.15 − 712,873.94 = 79,208.21; support = R(79,208.21 × 0.5) = 39,604.11 (a half
#              penny, away from zero); budget = 2,376,246.44 + 39,604.11 = 2,415,850.55
EXPECTED_LINES = pd.DataFrame(
    [
        # year, pod, grown, planned, price, planned_value, removed, release, released, stranded,
        # support, budget
        ("2017/18", "Outpatient first", 20200, 15150, 153.00, 2317950.00, 772650.00, 0.8,
         618120.00, 154530.00, 154530.00, 2472480.00),
        ("2017/18", "Elective inpatient", 2020, 1919, 4080.00, 7829520.00, 412080.00,
         0.3 + 0.15 + 0.4 / 3, 240380.00, 171700.00, 171700.00, 8001220.00),
        ("2018/19", "Outpatient first", 20402, 15301.5, 155.295, 2376246.44, 792082.15, 0.9,
         712873.94, 79208.21, 39604.11, 2415850.55),
        ("2018/19", "Elective inpatient", 2040.2, 1836.18, 4141.20, 7603988.62, 844887.62,
         0.3 + 0.3 + 0.8 / 3, 732235.94, 112651.68, 56325.84, 7660314.46),
        ("2019/20", "Outpatient first", 20606.02, 15454.515, 157.624425, 2436009.04, 812003.01, 1.0,
         812003.01, 0.00, 0.00, 2436009.04),
        ("2019/20", "Elective inpatient", 2060.602, 1751.5117, 4203.318, 7362160.66, 1299204.82,
         1.0, 1299204.82, 0.00, 0.00, 7362160.66),
    ],
    columns=["year", "pod", "grown_activity", "planned_activity", "price_gbp",
             "planned_value_gbp", "removed_value_gbp", "release_fraction", "released_cost_gbp",
             "stranded_cost_gbp", "support_gbp", "budget_gbp"],
)

MONEY = ["planned_value_gbp", "removed_value_gbp", "released_cost_gbp", "stranded_cost_gbp",
         "support_gbp", "budget_gbp"]


def test_budget_lines_columns_are_the_contract(example):
    # The budget_lines contract: the twelve named columns first, in order; extras after them.
    assert list(example.budget_lines.columns[:12]) == [
        "provider", "pod", "year", "grown_activity", "planned_activity", "price_gbp",
        "planned_value_gbp", "removed_value_gbp", "released_cost_gbp", "stranded_cost_gbp",
        "support_gbp", "budget_gbp",
    ]
    assert list(example.budget_lines.columns) == list(BUDGET_LINE_COLUMNS)
    assert len(example.budget_lines) == 3 * 3  # two lines and one new service, three years
    assert list(example.budget_bridge.columns) == list(BRIDGE_COLUMNS)
    assert example.budget_bridge.index.name == "year"
    assert example.years == YEARS and example.baseline_year == "2016/17" and example.name == "MSK"


def test_worked_example_lines_every_column(example):
    # docs/methods/service-budget.md#worked-example, lines table (derivation above EXPECTED_LINES).
    lines = example.budget_lines
    got = lines[lines["kind"] == "line"].reset_index(drop=True)
    assert got["provider"].tolist() == ["Acute trust"] * 6
    for column in ("year", "pod"):
        assert got[column].tolist() == EXPECTED_LINES[column].tolist()
    for column in ("grown_activity", "planned_activity", "price_gbp", "release_fraction"):
        np.testing.assert_allclose(got[column], EXPECTED_LINES[column], rtol=1e-12, err_msg=column)
    for column in MONEY:
        # to the penny: compare whole pence exactly
        want = round_pence(EXPECTED_LINES[column]).tolist()
        assert round_pence(got[column]).tolist() == want, column


def test_worked_example_intermediate_values(example):
    # docs/methods/service-budget.md#definitions: baseline_value = R(a × p); grown_value = R(grown ×
    # p);
    # repriced = R(grown × price). Outpatient first 2017/18: 20,000 × 150 = 3,000,000;
    # 20,200 × 150 = 3,030,000; 20,200 × 153 = 3,090,600.
    # Elective inpatient 2018/19: 2,040.2 × 4,000 = 8,160,800; 2,040.2 × 4,141.2 = 8,448,876.24.
    lines = example.budget_lines.set_index(["year", "pod"])
    op = lines.loc[("2017/18", "Outpatient first")]
    assert (op["baseline_value_gbp"], op["grown_value_gbp"], op["repriced_value_gbp"]) == (
        3_000_000.00, 3_030_000.00, 3_090_600.00)
    ip = lines.loc[("2018/19", "Elective inpatient")]
    assert (ip["baseline_value_gbp"], ip["grown_value_gbp"], ip["repriced_value_gbp"]) == (
        8_000_000.00, 8_160_800.00, 8_448_876.24)
    # removed = repriced − planned = 8,448,876.24 − 7,603,988.62 = 844,887.62
    assert round_pence(ip["repriced_value_gbp"] - ip["planned_value_gbp"]) == 84_488_762


def test_worked_example_new_service(example):
    # docs/methods/service-budget.md#worked-example: 13,000 × £120, £122, £124 = £1,560,000,
    # £1,586,000, £1,612,000;
    # nothing is removed or stranded.
    new = example.budget_lines[example.budget_lines["kind"] == "new_service"]
    assert new["pod"].tolist() == ["Physiotherapy-led triage"] * 3
    assert new["provider"].tolist() == ["Community MSK"] * 3
    assert new["planned_activity"].tolist() == [13000.0] * 3
    assert new["price_gbp"].tolist() == [120.0, 122.0, 124.0]
    assert new["budget_gbp"].tolist() == [1_560_000.00, 1_586_000.00, 1_612_000.00]
    for column in ("removed_value_gbp", "released_cost_gbp", "stranded_cost_gbp", "support_gbp"):
        assert new[column].tolist() == [0.0] * 3


# docs/methods/service-budget.md#worked-example, bridge table. 2018/19: baseline 3,000,000 +
# 8,000,000;
# growth = (3,060,300 + 8,160,800) − 11,000,000 = 221,100;
# price = (3,168,328.59 + 8,448,876.24) − 11,221,100 = 396,104.83;
# activity = (2,376,246.44 + 7,603,988.62) − 11,617,204.83 = −1,636,969.77;
# new services 1,586,000; support = 39,604.11 + 56,325.84 = 95,929.95;
# budget = the sum = 11,662,165.01; do nothing = 11,617,204.83; net saving = −44,960.18.
EXPECTED_BRIDGE = pd.DataFrame(
    [
        (11_000_000.00, 110_000.00, 222_200.00, -1_184_730.00, 1_560_000.00, 326_230.00,
         12_033_700.00, 11_332_200.00, -701_500.00),
        (11_000_000.00, 221_100.00, 396_104.83, -1_636_969.77, 1_586_000.00, 95_929.95,
         11_662_165.01, 11_617_204.83, -44_960.18),
        (11_000_000.00, 333_311.00, 576_066.53, -2_111_207.83, 1_612_000.00, 0.00,
         11_410_169.70, 11_909_377.53, 499_207.83),
    ],
    columns=list(BRIDGE_COLUMNS),
    index=pd.Index(list(YEARS), name="year"),
)


def test_worked_example_bridge_to_the_penny(example):
    got = example.budget_bridge
    assert got.index.tolist() == list(YEARS)
    for column in BRIDGE_COLUMNS:
        want = round_pence(EXPECTED_BRIDGE[column]).tolist()
        assert round_pence(got[column]).tolist() == want, column


def test_worked_example_budget_by_provider(example):
    # Acute trust 2017/18: 2,472,480.00 + 8,001,220.00 = 10,473,700.00; Community MSK 1,560,000.00.
    by = example.budget_by_provider
    assert by.index.name == "provider" and by.index.tolist() == ["Acute trust", "Community MSK"]
    assert by.columns.tolist() == list(YEARS)
    assert by.loc["Acute trust", "2017/18"] == 10_473_700.00
    assert by.loc["Acute trust", "2018/19"] == 10_076_165.01  # 2,415,850.55 + 7,660,314.46
    assert by.loc["Community MSK"].tolist() == [1_560_000.00, 1_586_000.00, 1_612_000.00]


def test_inputs_are_copied_not_shared():
    table = worked_example_table()
    inputs = read_service_budget(table, REPO, REPO / "example.toml")
    before = inputs.lines.copy()
    budget = build_budget(inputs)
    budget.budget_lines.loc[0, "budget_gbp"] = -1.0
    pd.testing.assert_frame_equal(inputs.lines, before)


# -- the worked MSK model ------------------------------------------------------


def test_msk_model_reads_and_reports_net_saving():
    # models/msk.toml is illustrative, tuned near the seed's £2m saving in 2017/18 and a further
    # £2.5m in 2018/19 (docs/methods/service-budget.md). Report the saving by year; check it ties
    # out and is near.
    path = REPO / "models" / "msk.toml"
    document = tomllib.loads(path.read_text())
    assert document["model"]["year"] == "2017/18"
    budget = build_budget(read_service_budget(document["service_budget"], path.parent, path))
    bridge = budget.budget_bridge
    saving = bridge["net_saving_gbp"]
    print("MSK net saving by year (£):", saving.to_dict())
    assert budget.years == YEARS and budget.baseline_year == "2016/17"
    pods = set(budget.budget_lines.loc[budget.budget_lines["provider"] == "Acute trust", "pod"])
    assert {"Outpatient first", "Outpatient follow-up", "Elective inpatient", "Day case"} <= pods
    assert set(budget.budget_by_provider.index) == {"Acute trust", "Community MSK"}
    triage = budget.budget_lines[budget.budget_lines["kind"] == "new_service"]
    assert triage["planned_activity"].tolist() == [13000.0] * 3
    assert 1_500_000 < saving["2017/18"] < 2_500_000
    assert 3_500_000 < saving["2018/19"] < 5_500_000
    pence = {c: round_pence(bridge[c]) for c in BRIDGE_COLUMNS}
    assert (pence["do_nothing_gbp"] - pence["budget_gbp"] == pence["net_saving_gbp"]).all()


# -- properties -------------------------------------------------------------------


@st.composite
def budget_inputs(draw, *, change=None, variable_only=False, flat=False, constant_change=False):
    n_years = draw(st.integers(1, 5))
    n_lines = draw(st.integers(1, 6))
    n_new = draw(st.integers(0, 2))
    years = tuple(f"{2017 + k}/{(18 + k) % 100:02d}" for k in range(n_years))
    money = st.integers(0, 2_000_000).map(lambda p: p / 100)  # whole pence, in pounds
    rows = []
    for i in range(n_lines):
        if variable_only:
            fixed, semi = 0.0, 0.0
        else:
            fixed_percent = draw(st.integers(0, 100))
            fixed = fixed_percent / 100
            semi = draw(st.integers(0, 100 - fixed_percent)) / 100
        rows.append({
            "provider": draw(st.sampled_from(["Acute trust", "Community MSK", "GP federation"])),
            "pod": f"pod {i}",
            "activity": draw(st.floats(0, 100_000, allow_nan=False)),
            "price_gbp": draw(money),
            "fixed": fixed,
            "semi_fixed": semi,
            "variable": max(0.0, 1.0 - fixed - semi),
            "fixed_release_years": draw(st.integers(0, 6)),
            "semi_fixed_release_years": draw(st.integers(0, 4)),
        })
    lines = pd.DataFrame(rows)
    if change is not None:
        changes = np.full((n_lines, n_years), change)
    elif constant_change:
        changes = np.repeat(np.array(draw(st.lists(
            st.floats(-1, 0.5), min_size=n_lines, max_size=n_lines)))[:, None], n_years, axis=1)
    else:
        changes = np.array(draw(st.lists(st.floats(-1, 0.5), min_size=n_lines * n_years,
                                         max_size=n_lines * n_years))).reshape(n_lines, n_years)
    new = pd.DataFrame({"provider": ["Community MSK"] * n_new,
                        "name": [f"new {k}" for k in range(n_new)]})
    per_year = st.lists(st.floats(0, 20_000), min_size=n_new * n_years, max_size=n_new * n_years)
    patients = np.array(draw(per_year)).reshape(n_new, n_years)
    cost = np.array(draw(per_year)).reshape(n_new, n_years)
    return ServiceBudgetInputs(
        name="prop",
        baseline_year="2016/17",
        years=years,
        growth=0.0 if flat else draw(st.floats(-0.05, 0.1)),
        price_uplift=np.zeros(n_years) if flat else np.array(
            draw(st.lists(st.floats(-0.05, 0.1), min_size=n_years, max_size=n_years))),
        stranded_support=np.array(draw(st.lists(st.floats(0, 1), min_size=n_years,
                                                 max_size=n_years))),
        lines=lines,
        activity_change=pd.DataFrame(changes, columns=list(years)),
        new_services=new,
        patients=pd.DataFrame(patients, columns=list(years)),
        cost_per_patient_gbp=pd.DataFrame(cost, columns=list(years)),
    )


def pence(frame: pd.DataFrame, column: str) -> np.ndarray:
    return np.asarray(round_pence(frame[column].to_numpy()))


@CI
@given(budget_inputs(change=0.0))
def test_no_activity_change_strands_nothing(inputs):
    # docs/methods/service-budget.md#definitions: c = 0 → planned = repriced, removed 0, stranded 0,
    # budget = repriced value.
    budget = build_budget(inputs)
    lines = budget.budget_lines[budget.budget_lines["kind"] == "line"]
    assert (pence(lines, "stranded_cost_gbp") == 0).all()
    assert (pence(lines, "budget_gbp") == pence(lines, "repriced_value_gbp")).all()
    bridge = budget.budget_bridge
    expected = pence(bridge, "do_nothing_gbp") + pence(bridge, "new_services_gbp")
    assert (pence(bridge, "budget_gbp") == expected).all()


@CI
@given(budget_inputs(variable_only=True))
def test_all_variable_cost_strands_nothing(inputs):
    # v = 1 → release fraction 1 → released = removed (docs/methods/service-budget.md#definitions).
    budget = build_budget(inputs)
    assert (pence(budget.budget_lines, "stranded_cost_gbp") == 0).all()
    assert (pence(budget.budget_lines, "support_gbp") == 0).all()


@CI
@given(budget_inputs())
def test_stranded_between_zero_and_removed(inputs):
    lines = build_budget(inputs).budget_lines
    stranded, removed = pence(lines, "stranded_cost_gbp"), pence(lines, "removed_value_gbp")
    assert (stranded >= 0).all() and (stranded <= removed).all()
    assert (pence(lines, "support_gbp") <= stranded).all()


@CI
@given(budget_inputs(flat=True, constant_change=True))
def test_constant_change_stranded_never_rises(inputs):
    # growth 0, uplift 0, constant c: removed is the same every year and the release fraction never
    # falls, so stranded cost never rises from one year to the next.
    budget = build_budget(inputs)
    lines = budget.budget_lines[budget.budget_lines["kind"] == "line"]
    n_years = len(budget.years)
    stranded = pence(lines, "stranded_cost_gbp").reshape(n_years, -1)  # years × lines
    assert (np.diff(stranded, axis=0) <= 0).all()


@CI
@given(budget_inputs())
def test_budget_total_is_sum_of_lines_and_bridge_ties_out(inputs):
    budget = build_budget(inputs)
    lines = budget.budget_lines
    by_year = pd.Series(pence(lines, "budget_gbp")).groupby(lines["year"].to_numpy()).sum()
    bridge = budget.budget_bridge
    assert by_year.reindex(list(budget.years)).tolist() == pence(bridge, "budget_gbp").tolist()
    parts = sum(pence(bridge, c) for c in BRIDGE_COLUMNS[:6])
    assert (parts == pence(bridge, "budget_gbp")).all()
    assert (pence(bridge, "do_nothing_gbp") - pence(bridge, "budget_gbp")
            == pence(bridge, "net_saving_gbp")).all()
    by_provider = np.asarray(round_pence(budget.budget_by_provider.to_numpy())).sum(axis=0)
    assert by_provider.tolist() == pence(bridge, "budget_gbp").tolist()
    # each line's budget is planned value plus support, exactly
    assert (pence(lines, "budget_gbp")
            == pence(lines, "planned_value_gbp") + pence(lines, "support_gbp")).all()


def test_budget_with_new_services_only():
    table = worked_example_table()
    del table["line"]
    budget = build_budget(read_service_budget(table, REPO, REPO / "x.toml"))
    assert budget.budget_bridge["budget_gbp"].tolist() == [1_560_000.0, 1_586_000.0, 1_612_000.0]
    assert budget.budget_bridge["baseline_gbp"].tolist() == [0.0, 0.0, 0.0]
