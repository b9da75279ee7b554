"""The [opportunity] section of a model file: Model.run computes it; its table ties out by hand."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import InputError, Model
from capitation.excel.model_export import export_model
from capitation.opportunity import (
    expected_by_weighted_population,
    read_activity,
    synthetic_activity,
    value_opportunity,
)
from capitation.population import read_table

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "models" / "opportunity_demo.toml"
SERVICES = ["emergency_admissions", "elective_inpatient", "outpatient_first", "a_and_e"]


@pytest.fixture(scope="module")
def demo():
    return Model.from_toml(DEMO).run()


def test_the_demo_activity_is_the_documented_synthetic_table(demo):
    # models/opportunity_demo.toml says activity.csv is synthetic_activity(weighted
    # population, seed=2026): regenerate it and compare every cell.
    made = synthetic_activity(demo.table("practice")["weighted_population"], seed=2026)
    shipped = pd.read_csv(ROOT / "models" / "opportunity_demo" / "activity.csv")
    pd.testing.assert_frame_equal(made, shipped, check_dtype=False)


def test_demo_table_agrees_with_the_public_api_step_by_step(demo):
    # An independent path to the same numbers: the activity read by read_activity, the
    # expected activity from the run's weighted populations, and the indicators built
    # here from the practice table (Health Ineq WP and MH WP per registered person).
    practices = demo.table("practice")
    activity = read_activity(ROOT / "models" / "opportunity_demo" / "activity.csv")
    observed = activity.table("activity", practices.index)
    expected = expected_by_weighted_population(observed, practices["weighted_population"])
    raw = read_table(ROOT / "models" / "opportunity_demo" / "practices.csv").set_index(
        "Practice_Code")
    population = raw["Population"].astype(float)
    indicators = pd.DataFrame({
        "need_index": practices["need_index"],
        "Health Ineq WP": raw["Health Ineq WP"].astype(float) / population,
        "MH WP": raw["MH WP"].astype(float) / population}).reindex(practices.index)
    direct = value_opportunity(activity, expected, indicators, similar=10, best=5)
    for service in SERVICES:
        table = demo.opportunity_table(service, "practice")
        mine = direct.units.xs(service, level="service")
        for column in ("observed", "expected", "ratio", "lower_998", "benchmark_ratio",
                       "opportunity_activity", "opportunity_gbp"):
            np.testing.assert_allclose(table[column].to_numpy(), mine[column].to_numpy(),
                                       rtol=1e-12, err_msg=f"{service} {column}")
        assert table["name"].loc["C84001"] == raw.loc["C84001", "GP_Practice_Name"]
        # Expected activity shares the observed total out: the sums agree.
        assert table["expected"].sum() == pytest.approx(table["observed"].sum(), rel=1e-12)


def test_opportunity_ties_out_in_pounds(demo):
    # Σ opportunity £ = Σ over units above benchmark of R((O − b × E) × cost / O).
    for service in SERVICES:
        t = demo.opportunity_table(service)
        above = t["observed"] > t["benchmark_ratio"] * t["expected"]
        gap = (t["observed"] - t["benchmark_ratio"] * t["expected"]) * t["cost_gbp"] / t[
            "observed"]
        pence = np.floor(gap[above].to_numpy() * 100 + 0.5)
        assert round(t["opportunity_gbp"].sum() * 100) == pence.sum()
        assert round(demo.needs_and_use.totals(service)["opportunity_gbp"] * 100) == pence.sum()


def test_activity_changes_follow_the_section(demo):
    # realised = 0.5 over 2026/27-2028/29: by the last year half the opportunity is out.
    changes = demo.needs_and_use.activity_changes()
    assert list(changes.columns[-3:]) == ["activity_change_2026_27", "activity_change_2027_28",
                                          "activity_change_2028_29"]
    last = changes["activity_change_2028_29"] * changes["activity"]
    np.testing.assert_allclose(-last, 0.5 * changes["opportunity_activity"], rtol=1e-12)


def test_opportunity_table_refuses_what_was_not_run(demo):
    with pytest.raises(KeyError, match='run at level "practice"'):
        demo.opportunity_table("a_and_e", "ICB")
    with pytest.raises(KeyError, match='no service "dentistry"'):
        demo.opportunity_table("dentistry")
    plain = Model.from_toml(ROOT / "models" / "demo.toml")
    assert plain.spec.opportunity is None


def _model_text(**replace: str) -> str:
    text = DEMO.read_text(encoding="utf-8").replace(
        '"opportunity_demo/', f'"{(ROOT / "models" / "opportunity_demo").as_posix()}/')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_a_level_above_practice_sums_practices(tmp_path):
    # At ICB/LAD (11 places) observed activity is the sum of the places' practices.
    path = tmp_path / "model.toml"
    path.write_text(_model_text(**{'level = "practice"': 'level = "ICB/LAD"',
                                   "similar = 10, best = 5": "similar = 5, best = 2",
                                   'names = "GP_Practice_Name"\n': ""}), encoding="utf-8")
    results = Model.from_toml(path).run()
    table = results.opportunity_table("a_and_e", "ICB/LAD")
    assert table.index.name == "ICB/LAD" and len(table) == 11
    practices = results.table("practice")
    activity = pd.read_csv(ROOT / "models" / "opportunity_demo" / "activity.csv")
    used = activity[activity["service"] == "a_and_e"].groupby("practice")["activity"].sum()
    by_place = used.groupby(practices["ICB/LAD"].reindex(used.index).to_numpy()).sum()
    np.testing.assert_array_equal(table["observed"].to_numpy(), by_place.sort_index().to_numpy())
    # Expected: the place's share of the weighted population times all a_and_e activity.
    places = results.table("ICB/LAD")
    share = places["weighted_population"] / places["weighted_population"].sum()
    np.testing.assert_allclose(table["expected"], share * used.sum(), rtol=1e-12)


def test_components_choose_each_services_weighted_population(tmp_path):
    path = tmp_path / "model.toml"
    components = ('components = { emergency_admissions = "core", elective_inpatient = "core", '
                  'outpatient_first = "core", a_and_e = "primary_medical_care" }\n')
    path.write_text(_model_text(**{"realised = 0.5\n": "realised = 0.5\n" + components}),
                    encoding="utf-8")
    results = Model.from_toml(path).run()
    practices = results.table("practice")
    table = results.opportunity_table("a_and_e")
    weights = practices["weighted_population_primary_medical_care"]
    np.testing.assert_allclose(table["expected"], weights / weights.sum()
                               * table["observed"].sum(), rtol=1e-12)


def test_model_workbook_round_trip_gives_the_same_tables(demo, tmp_path):
    workbook = export_model(DEMO, tmp_path / "demo.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing unusual in an exported workbook
        again = Model.from_excel(workbook).run()
    for service in SERVICES:
        pd.testing.assert_frame_equal(again.opportunity_table(service),
                                      demo.opportunity_table(service))


# ------------------------------------------------------- the register path: age and sex

REGISTER_HEADER = ("EXTRACT_DATE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,ORG_CODE,"
                   "POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS")
#: Six practices' people: (males 40, females 40, males 70, females 70), illustrative.
PEOPLE = {"P1": (400, 420, 100, 130), "P2": (300, 310, 200, 260), "P3": (500, 480, 50, 60),
          "P4": (250, 260, 150, 170), "P5": (350, 330, 120, 110), "P6": (450, 470, 80, 90)}
#: Emergency admissions per practice by (M 0-64, F 0-64, M 65+, F 65+).
ADMISSIONS = {"P1": (20, 25, 30, 35), "P2": (15, 20, 55, 70), "P3": (25, 24, 12, 16),
              "P4": (14, 12, 45, 40), "P5": (18, 20, 30, 33), "P6": (22, 26, 20, 21)}


def _register_model(folder: Path, expected: str = "age_sex") -> Path:
    rows = [REGISTER_HEADER]
    for code, counts in PEOPLE.items():
        for (sex, age), n in zip([("MALE", 40), ("FEMALE", 40), ("MALE", 70), ("FEMALE", 70)],
                                 counts, strict=True):
            rows.append(f"01APR2025,00A,E38000901,{code},ZZ99 9ZZ,{sex},{age},{n}")
    (folder / "register.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "practices.csv").write_text(
        "practice,ICB\n" + "".join(f"{c},I{1 + i % 2}\n" for i, c in enumerate(PEOPLE)),
        encoding="utf-8")
    (folder / "weights.csv").write_text("sex,age_from,age_to,weight\nM,0,64,1.0\nM,65,,3.0\n"
                                        "F,0,64,1.0\nF,65,,3.0\n", encoding="utf-8")
    lines = ["practice,service,sex,age_band,activity"]
    for code, counts in ADMISSIONS.items():
        for (sex, band), n in zip([("M", "0-64"), ("F", "0-64"), ("M", "65+"), ("F", "65+")],
                                  counts, strict=True):
            lines.append(f"{code},emergency_admissions,{sex},{band},{n}")
    (folder / "activity.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = folder / "model.toml"
    model.write_text(f"""
[model]
name = "Register path: needs versus use by age and sex"
year = "2025/26"
envelope_gbp = 1_000_000

[population]
register = "register.csv"
practices = "practices.csv"
id = "practice"
levels = ["ICB"]

[[component]]
name = "core"
share = 1.0
cost_weights = "weights.csv"

[opportunity]
activity = "activity.csv"
expected = "{expected}"
peers = {{ indicators = ["share_over_65", "population"], similar = 3, best = 2 }}
method = "sqrt"
""", encoding="utf-8")
    return model


def test_indirect_standardisation_on_the_register_path(tmp_path):
    # Reference rates from the six practices' totals, by sex and band; expected =
    # Σ rate × people (worked here with plain sums, not the package's functions).
    results = Model.from_toml(_register_model(tmp_path)).run()
    table = results.opportunity_table("emergency_admissions")
    people = np.array(list(PEOPLE.values()), dtype=float)
    used = np.array(list(ADMISSIONS.values()), dtype=float)
    rates = used.sum(axis=0) / people.sum(axis=0)
    expected = people @ rates
    np.testing.assert_allclose(table["expected"].to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(table["ratio"].to_numpy(), used.sum(axis=1) / expected,
                               rtol=1e-12)
    assert table["expected"].sum() == pytest.approx(used.sum(), rel=1e-12)
    # share_over_65 is the share of each practice's people aged 70 in this register.
    indicators = results.needs_and_use.indicators
    np.testing.assert_allclose(indicators["share_over_65"].to_numpy(),
                               people[:, 2:].sum(axis=1) / people.sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(indicators["population"].to_numpy(), people.sum(axis=1))


def test_a_reference_rates_file_gives_expected_by_hand(tmp_path):
    (tmp_path / "rates.csv").write_text(
        "service,sex,age_band,rate\nemergency_admissions,M,0-64,0.05\n"
        "emergency_admissions,F,0-64,0.06\nemergency_admissions,M,65+,0.25\n"
        "emergency_admissions,F,65+,0.27\n", encoding="utf-8")
    results = Model.from_toml(_register_model(tmp_path, expected="rates.csv")).run()
    table = results.opportunity_table("emergency_admissions")
    # P1: 400 × 0.05 + 420 × 0.06 + 100 × 0.25 + 130 × 0.27 = 20 + 25.2 + 25 + 35.1 = 105.3
    assert table.loc["P1", "expected"] == pytest.approx(105.3, rel=1e-12)
    assert "rates.csv" in {p.name for p in results.inputs.values()}


def test_age_sex_on_a_practice_table_is_refused(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text(_model_text(**{'expected = "weighted_population"': 'expected = "age_sex"'}),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"key opportunity.expected: age_sex needs the "
                                         r"population by sex and age"):
        Model.from_toml(path)


def test_share_over_65_needs_ages(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text(_model_text(**{'"need_index", "Health Ineq WP"': '"share_over_65", '
                                                                      '"Health Ineq WP"'}),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"model.toml, key opportunity.peers.indicators: "
                                         r'indicator "share_over_65" needs the population'):
        Model.from_toml(path).run()


@pytest.mark.parametrize("replace, message", [
    ({"realised = 0.5": "realised = 50"}, "key opportunity.realised: 50 looks like a percentage"),
    ({'level = "practice"': 'level = "PCN"'}, 'key opportunity.level: "PCN" is not a level'),
    ({"similar = 10": "similar = 2.5"}, "key opportunity.peers.similar: 2.5 is not a whole"),
    ({"similar = 10": "simlar = 10"}, 'key opportunity.peers.simlar: unknown key (did you '
                                      'mean "similar"?'),
    ({'names = "GP_Practice_Name"': 'names = "Practice_Name"'},
     'key opportunity.names: no column "Practice_Name"'),
])
def test_section_mistakes_name_the_key(tmp_path, replace, message):
    path = tmp_path / "model.toml"
    path.write_text(_model_text(**replace), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        Model.from_toml(path).run()
    assert message in str(raised.value)


def test_results_added_to_the_model_workbook_read_back_without_notes(demo, tmp_path):
    from capitation.excel.patch import write_results_into

    workbook = export_model(DEMO, tmp_path / "demo.xlsx")
    out = write_results_into(Model.from_excel(workbook).run(), workbook, tmp_path / "team.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the opportunity_<service> sheets are results, not notes
        again = Model.from_excel(out).run()
    pd.testing.assert_frame_equal(again.opportunity_table("a_and_e"),
                                  demo.opportunity_table("a_and_e"))


def test_command_line_prints_each_service_and_writes_its_charts(demo, tmp_path, capsys):
    from capitation.cli import main

    above = int(demo.needs_and_use.summary().loc["emergency_admissions",
                                                 "units_above_benchmark"])

    # Without --quiet: --quiet prints nothing on stdout.
    assert main(["run", str(DEMO), "--out", str(tmp_path / "r.xlsx"),
                 "--charts", str(tmp_path / "charts")]) == 0
    printed = capsys.readouterr().out
    assert f"needs versus use, emergency_admissions: {above} of 131 (practice) above " \
           "benchmark" in printed
    charts = {p.name for p in (tmp_path / "charts").iterdir()}
    assert {"funnel_a_and_e.png", "opportunity_a_and_e.png"} <= charts
