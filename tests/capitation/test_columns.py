"""The column schema covers every output column, and the README's column tables follow it."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import risk_share
from capitation import Model, compare
from capitation.columns import (
    SCHEMA,
    TABLES,
    UNITS,
    column,
    columns_of,
    find,
    format_value,
    label,
    number_format,
    readme_blocks,
    render_markdown,
    unit,
    unit_of,
)
from capitation.excel.budget_sheets import _WATERFALL_HEADER
from capitation.opportunity import funnel, read_activity, value_opportunity
from risk_share.excel.settlement_workbook import settlement_sheets

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def outputs() -> list[tuple[str, pd.DataFrame]]:
    """Every table the toolkit hands out or writes, with its table in the schema."""
    demo = Model.from_toml(MODELS / "demo.toml").run()
    msk = Model.from_toml(MODELS / "msk.toml").run()
    persons = Model.from_toml(MODELS / "persons_demo.toml").run()
    agreement = risk_share.Agreement.from_toml(MODELS / "msk_agreement.toml")
    settlement = agreement.settle(MODELS / "msk_outturn.csv")
    simulation = agreement.simulate(MODELS / "msk_outturn.csv", n=200, cv=0.05, seed=1)
    calibrated = risk_share.calibrate(agreement, simulation, appetite={"Acute trust": 1_000_000})
    sheets = settlement_sheets(settlement)
    opportunity = persons.opportunity(0.10)
    needs = _needs_and_use()
    opportunity_demo = Model.from_toml(MODELS / "opportunity_demo.toml").run()
    cohorts = _cohorts()
    found = []
    for results in (demo, persons):
        found += [("level", results.table(level)) for level in results.levels]
        found.append(("level", results.summary()))
    found += [
        ("pace_of_change", demo.pace_of_change),
        ("pace_of_change_path", demo.pace_of_change_path),
        ("budget_lines", msk.budget_lines),
        ("budget_bridge", msk.budget_bridge.assign(lines_budget_gbp=0.0)),
        ("budget_waterfall", pd.DataFrame({h: [0.0] for h in _WATERFALL_HEADER})
         .astype({"step": "str"})),
        ("budget_by_provider", msk.budget_by_provider),
        ("tiers", persons.tiers),
        ("opportunity", opportunity.tiers.assign(reduction=opportunity.reduction,
                                                 cohort_50_share=opportunity.cohort_50_share)),
        ("person_budgets", persons.person_budgets()),
        ("needs_and_use", needs.units),
        ("needs_and_use_summary", needs.summary()),
        ("opportunity_table", opportunity_demo.opportunity_table("a_and_e")),
        ("cohorts", cohorts.cohorts),
        ("cohort_summary", cohorts.cohort_summary()),
        ("spend_decomposition", needs.decomposition()),
        ("activity_changes", needs.activity_changes(0.5, 2)),
        ("peers", needs.peers.table),
        ("funnel", needs.funnels["a_and_e"].units),
        ("funnel_limits", needs.funnels["a_and_e"].limits([10.0, 100.0])),
        ("funnel_limits", funnel([3, 5, 9], [10.0, 20.0, 30.0], kind="proportion")
         .limits([10.0])),
        ("agreement_summary", agreement.summary()),
        ("agreement_share", agreement.share(2_000_000).to_frame()),
        ("settled_lines", settlement.lines),
        ("settled_lines", sheets.lines),
        ("parties", settlement.parties),
        ("parties", sheets.parties),
        ("agreement_terms", pd.DataFrame([sheets.terms])),
        ("agreement_terms", sheets.bands),
        ("agreement_terms", sheets.caps),
        ("simulation_summary", simulation.summary()),
        ("positions", simulation.positions),
        ("calibration", calibrated.calibration),
        ("assumptions", pd.DataFrame({"value": ["x"]}, index=pd.Index(["seed"], name="item"))),
    ]
    sensitivity = simulation.sensitivity(n=20, seed=1)
    capped = Model.from_toml(MODELS / "demo.toml").with_values(
        {"pace_of_change.max_growth": 0.06}).run()
    comparison = compare({"base": demo, "capped": capped}, level="ICB")
    option = agreement.with_values({"pool.loss_band.2.shares.CCG": 0.5,
                                    "pool.loss_band.2.shares.Acute trust": 0.3})
    found += [
        ("comparison", comparison),
        ("headlines", comparison.headlines),
        ("settlement_comparison", risk_share.compare(
            {"base": settlement, "option": option.settle(MODELS / "msk_outturn.csv")})),
        ("tornado", sensitivity.tornado),
        ("sobol", sensitivity.sobol),
        ("solvency", simulation.solvency()),
        ("sweep", Model.from_toml(MODELS / "demo.toml").sweep("pace_of_change.min_growth",
                                                               [0.02])),
        ("agreement_sweep", agreement.sweep("party.Acute trust.max_loss", [0.01],
                                            MODELS / "msk_outturn.csv")),
        ("agreement_sweep", agreement.sweep("party.Acute trust.max_loss", [0.01],
                                            MODELS / "msk_outturn.csv", n=50, seed=1)),
        ("simulation_comparison", risk_share.compare(
            {"base": simulation,
             "option": option.simulate(MODELS / "msk_outturn.csv", n=200, cv=0.05, seed=1)})),
    ]
    return found


def _needs_and_use():
    """A small needs-versus-use analysis: 12 practices, 2 services, 2 providers (illustrative)."""
    rng = np.random.default_rng(17)
    codes = [f"P{i:02d}" for i in range(12)]
    frame = pd.DataFrame([
        {"practice": code, "service": service, "provider": provider,
         "activity": activity, "patients": max(1, activity // 2), "cost_gbp": activity * 150.0}
        for code in codes for service in ("a_and_e", "emergency_admissions")
        for provider in ("Trust A", "Trust B")
        for activity in [int(rng.integers(20, 200))]])
    activity = read_activity(frame)
    units = pd.Index(codes, name="practice")
    expected = activity.table("activity", units).mean().to_frame().T.reindex(
        [0] * len(codes)).set_axis(units)
    indicators = pd.DataFrame(rng.normal(size=(12, 2)), index=units, columns=["a", "b"])
    return value_opportunity(activity, expected, indicators, similar=5, best=3)


def _cohorts():
    """Cohorts by needs profile of four persons (illustrative), on a needs-and-use result."""
    from dataclasses import replace

    from capitation.opportunity.cohorts import needs_profiles

    persons = pd.DataFrame({"person_id": ["1", "2", "3", "4"], "practice": ["A", "A", "B", "B"],
                            "place": ["X", "X", "Y", "Y"], "tier": ["high", "rest"] * 2,
                            "sex": ["F", "M", "M", "F"], "age": [80, 30, 70, 5]})
    activity = pd.DataFrame({"person_id": ["1", "3"], "service": "a_and_e",
                             "activity": [2.0, 1.0]})
    table = needs_profiles(persons, activity, levels=["place"], tiers=["high", "rest"])
    demo = Model.from_toml(MODELS / "opportunity_demo.toml").run().needs_and_use
    return replace(demo, cohorts=table)


def _names(frame: pd.DataFrame) -> list[str]:
    index = [n for n in frame.index.names if n is not None]
    return [str(n) for n in (*index, *frame.columns)]


def _dtype_kind(frame: pd.DataFrame, name: str) -> str:
    if name in frame.columns:
        return frame[name].dtype.kind
    return frame.index.get_level_values(name).dtype.kind


_KINDS = {"float64": "f", "int64": "iu", "bool": "b", "str": "OUT"}


def test_every_output_column_is_in_the_schema_with_its_dtype(outputs):
    missing, wrong = [], []
    for table, frame in outputs:
        for name in _names(frame):
            try:
                entry = column(name, table)
            except KeyError:
                missing.append(f"{table}: {name}")
                continue
            if _dtype_kind(frame, name) not in _KINDS[entry.dtype]:
                wrong.append(f"{table}: {name} is {entry.dtype} in the schema")
    assert not missing, f"add these to capitation.columns.SCHEMA: {missing}"
    assert not wrong, wrong


def test_every_schema_entry_is_produced(outputs):
    used = {(column(name, table).pattern or column(name, table).name, table)
            for table, frame in outputs for name in _names(frame)}
    unused = [(c.name, t) for c in SCHEMA for t in c.tables if (c.name, t) not in used]
    assert not unused, f"no output has these schema columns: {unused}"


def test_labels_are_unique_within_each_output(outputs):
    for table, frame in outputs:
        labels = [label(name, table) for name in _names(frame)]
        assert len(labels) == len(set(labels)), (table, labels)
    for table in TABLES:
        labels = [c.label for c in columns_of(table)]
        assert len(labels) == len(set(labels)), (table, labels)


def test_units_and_dtypes_are_from_the_documented_sets():
    assert {c.unit for c in SCHEMA} <= set(UNITS)
    assert {c.dtype for c in SCHEMA} <= set(_KINDS)
    assert {t for c in SCHEMA for t in c.tables} <= set(TABLES)
    assert all(c.description and c.title for c in SCHEMA)


# An Excel number format: General, or sections of digit placeholders, separators,
# a decimal point and a percent sign, with an optional minus or pound sign.
_SECTION = r"-?£?[#0,]*0(\.[0#]+)?%?"


@pytest.mark.parametrize("code", sorted({c.number_format for c in SCHEMA}))
def test_number_formats_are_excel_formats(code):
    from openpyxl.styles.numbers import is_builtin

    assert is_builtin(code) or all(re.fullmatch(_SECTION, s) for s in code.split(";")), code


def test_lookups_fill_patterns_and_name_the_unknown():
    assert column("allocation_gbp").label == "Allocation (£)"
    assert label("target_core_gbp") == "Target: core (£)"
    assert label("weighted_population_primary_medical_care") == (
        "Weighted population: primary_medical_care")
    assert label("target_per_head_gbp") == "Target per head (£)"  # exact beats the pattern
    assert column("target_core_gbp").pattern == "target_<component>_gbp"
    assert label("ICB/LAD", table="level") == "ICB/LAD"
    assert number_format("distance_from_target") == "0.00%"
    assert unit("need_index") == "index"
    assert number_format("CCG", table="positions") == "£#,##0.00;-£#,##0.00"
    assert number_format("p_loss") == "0.00%"
    with pytest.raises(KeyError, match="'nonsense_gbp' is not a column"):
        column("nonsense_gbp")
    with pytest.raises(KeyError, match="'CCG' is not a column"):
        column("CCG")  # a bare party name needs its table
    with pytest.raises(KeyError, match="'fixed' means different things"):
        column("fixed")
    assert column("fixed", "settled_lines").unit == "flag"
    assert find("fixed") is None and find("nonsense") is None
    assert unit_of("change_gbp") == "gbp" and unit_of("note") is None


@pytest.mark.parametrize(
    ("value", "unit_name", "shown"),
    [
        (1_234.5, "gbp", "£1,234.50"),
        (-1_234.5, "gbp", "-£1,234.50"),
        (-0.0137782, "fraction", "-1.38%"),
        (0.02, "fraction", "+2.00%"),
        (1.1073271, "index", "1.1073"),
        (1_870_895.3, "persons", "1,870,895"),
        (float("nan"), "gbp", ""),
        ("QWO", "text", "QWO"),
    ],
)
def test_format_value_by_unit(value, unit_name, shown):
    assert format_value(value, unit_name) == shown


def test_readme_column_tables_are_the_schema():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = readme_blocks(text)
    assert sorted(t for t, _, _ in blocks) == sorted(TABLES), "one README block per table"
    for table, held, rendered in blocks:
        assert held == rendered, (
            f"README.md's column table {table!r} differs from capitation/columns.py; "
            "regenerate it with: python -m capitation.columns README.md")


def test_render_markdown_shows_placeholders_in_italics():
    assert "| `target_<component>_gbp` | Target: *component* (£) | gbp |" in (
        render_markdown("level"))
