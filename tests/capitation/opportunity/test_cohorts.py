"""Cohorts by needs profile: ranked by activity per head, the smallest set holding half."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from capitation import InputError, Model
from capitation.opportunity.cohorts import needs_profiles, read_person_activity

#: Eight persons in practices A and B (place X) and C (place Y), with their admissions.
PERSONS = pd.DataFrame({
    "person_id": ["1", "2", "3", "4", "5", "6", "7", "8"],
    "practice": ["A", "A", "B", "B", "C", "C", "C", "C"],
    "place": ["X", "X", "X", "X", "Y", "Y", "Y", "Y"],
    "tier": ["high", "high", "rest", "rest", "rest", "rest", "rest", "high"],
    "sex": ["F", "M", "F", "M", "F", "F", "F", "M"],
    "age": [70, 80, 70, 30, 30, 40, 75, 50],
})
ADMISSIONS = [3, 2, 1, 0, 1, 1, 0, 2]
RISK = [0.9, 0.8, 0.3, 0.2, 0.25, 0.15, 0.1, 0.7]  # the three "high" persons score highest


def _activity() -> pd.DataFrame:
    rows = [(p, a) for p, a in zip(PERSONS["person_id"], ADMISSIONS, strict=True) if a > 0]
    return pd.DataFrame({"person_id": [p for p, _ in rows], "service": "emergency_admissions",
                         "activity": [float(a) for _, a in rows]})


def _profiles() -> pd.DataFrame:
    return needs_profiles(PERSONS, _activity(), levels=["place"], tiers=["high", "rest"],
                          age_bands=["0-64", "65+"])


def test_system_profiles_ranked_by_activity_per_head_by_hand():
    # Profiles (tier, band, sex): persons, admissions, per head:
    #   high 65+ F: 1, 3, 3      high 0-64 M: 1, 2, 2     high 65+ M: 1, 2, 2
    #   rest 0-64 F: 2, 2, 1     rest 65+ F: 2, 1, 0.5    rest 0-64 M: 1, 0, 0
    # Ties at 2 go by tier, then band (0-64 first). Cumulative: 3, 5, 7, 9, 10, 10 of 10;
    # the cohort is the first two profiles (2 persons of 8 hold exactly half).
    system = _profiles().query("level == 'system'")
    assert list(zip(system["tier"], system["age_band"], system["sex"], strict=True)) == [
        ("high", "65+", "F"), ("high", "0-64", "M"), ("high", "65+", "M"),
        ("rest", "0-64", "F"), ("rest", "65+", "F"), ("rest", "0-64", "M")]
    assert system["persons"].tolist() == [1, 1, 1, 2, 2, 1]
    assert system["activity_per_head"].tolist() == [3, 2, 2, 1, 0.5, 0]
    assert system["cumulative_share"].tolist() == pytest.approx([0.3, 0.5, 0.7, 0.9, 1, 1])
    assert system["in_cohort"].tolist() == [True, True, False, False, False, False]
    assert system["rank"].tolist() == [1, 2, 3, 4, 5, 6]


def test_places_and_practices_have_their_own_cohorts():
    table = _profiles()
    # Place X (A and B): 3, 2, 1 and 0 per head over 6 admissions: the first profile holds half.
    x = table.query("level == 'place' and unit == 'X'")
    assert x["in_cohort"].tolist() == [True, False, False, False]
    # Practice C: high 0-64 M holds 2 of 4; rest 0-64 F is not needed.
    c = table.query("level == 'practice' and unit == 'C'")
    assert c.loc[c["in_cohort"], ["tier", "age_band", "sex"]].values.tolist() == [
        ["high", "0-64", "M"]]
    # Every level accounts for every person and admission.
    totals = table.groupby("level")[["persons", "activity"]].sum()
    assert (totals["persons"] == 8).all() and (totals["activity"] == 10).all()


def _persons_model(folder: Path) -> Path:
    lines = ["person_id,practice_code,sex,age,risk_score"]
    lines += [f"{p},{c},{s},{a},{r}" for p, c, s, a, r in zip(
        PERSONS["person_id"], PERSONS["practice"], PERSONS["sex"], PERSONS["age"], RISK,
        strict=True)]
    (folder / "persons.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "practices.csv").write_text("practice_code,place,ICB,list_size\nA,X,I,2\n"
                                          "B,X,I,2\nC,Y,I,4\n", encoding="utf-8")
    (folder / "weights.csv").write_text("sex,age_from,age_to,weight\nM,0,64,1.0\nM,65,,3.0\n"
                                        "F,0,64,1.0\nF,65,,3.0\n", encoding="utf-8")
    (folder / "activity.csv").write_text(
        "practice,service,activity\nA,emergency_admissions,5\nB,emergency_admissions,1\n"
        "C,emergency_admissions,4\n", encoding="utf-8")
    _activity().to_csv(folder / "person_activity.csv", index=False)
    model = folder / "model.toml"
    model.write_text("""
[model]
name = "Cohorts by needs profile"
year = "2025/26"
envelope_gbp = 100_000

[population]
persons = "persons.csv"
id = "practice_code"
practices = "practices.csv"
population = "list_size"
risk_score = "risk_score"
levels = ["place", "ICB"]

[[risk_tier]]
name = "high"
from = 0.0
to = 0.375
weight = 3.0

[[risk_tier]]
name = "rest"
from = 0.375
to = 1.0
weight = 1.0

[[component]]
name = "core"
share = 1.0
cost_weights = "weights.csv"

[opportunity]
activity = "activity.csv"
peers = { indicators = ["population"], similar = 2, best = 1 }
method = "sqrt"
person_activity = "person_activity.csv"
age_bands = ["0-64", "65+"]
""", encoding="utf-8")
    return model


def test_a_person_level_model_reports_cohorts(tmp_path):
    results = Model.from_toml(_persons_model(tmp_path)).run()
    cohorts = results.needs_and_use.cohorts
    # The tiers the model gives (top 3 risk scores: high) are the hand-worked ones; its
    # levels are place and ICB, and the one ICB holds everyone, as the system does.
    assert list(pd.unique(cohorts["level"])) == ["system", "place", "ICB", "practice"]
    pd.testing.assert_frame_equal(cohorts[cohorts["level"] != "ICB"].reset_index(drop=True),
                                  _profiles().reset_index(drop=True), check_dtype=False)
    icb = cohorts[cohorts["level"] == "ICB"].drop(columns=["level", "unit"])
    system = cohorts[cohorts["level"] == "system"].drop(columns=["level", "unit"])
    pd.testing.assert_frame_equal(icb.reset_index(drop=True), system.reset_index(drop=True))
    summary = results.needs_and_use.cohort_summary()
    row = summary.loc[("system", "system", "emergency_admissions")]
    assert row["profiles"] == 2 and row["persons"] == 2
    assert row["persons_share"] == 0.25 and row["activity_share"] == 0.5


def test_person_activity_errors_name_file_row_and_column(tmp_path):
    path = tmp_path / "person_activity.csv"
    path.write_text("person_id,service,activity\n1,emergency_admissions,2\n"
                    "99,emergency_admissions,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"person_activity.csv, row 3, column person_id: "
                                         r'person "99" is not in the persons file'):
        read_person_activity(path, pd.Index(PERSONS["person_id"]))
    path.write_text("person_id,service,activity\n1,emergency_admissions,2\n"
                    "1,emergency_admissions,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column service: person \"1\", service "
                                         r'"emergency_admissions" appears again'):
        read_person_activity(path, pd.Index(PERSONS["person_id"]))


def test_person_activity_needs_person_level_rows(tmp_path):
    model = (Path(__file__).resolve().parents[3] / "models" / "opportunity_demo.toml")
    text = model.read_text(encoding="utf-8").replace(
        '"opportunity_demo/', f'"{model.parent.as_posix()}/opportunity_demo/')
    (tmp_path / "pa.csv").write_text("person_id,service,activity\n", encoding="utf-8")
    text = text.replace("realised = 0.5", f'realised = 0.5\nperson_activity = '
                                          f'"{(tmp_path / "pa.csv").as_posix()}"')
    (tmp_path / "model.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="key opportunity.person_activity: person-level "
                                         r"activity needs person-level rows"):
        Model.from_toml(tmp_path / "model.toml")
