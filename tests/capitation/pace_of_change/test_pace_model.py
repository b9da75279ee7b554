"""Pace of change through the model file, end to end.

The worked example of docs/methods/pace-of-change.md#worked-example.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation import InputError, Model
from capitation.testing import assert_ties_out

Y1 = pd.DataFrame({"code": ["A1", "A2", "B1", "C1"], "ICB": ["A", "A", "B", "C"],
                   "pop": [60, 60, 100, 80], "wp": [60, 60, 100, 80]})
# Year 2 targets of §5.3: A 124,000,000, B 106,000,000, C 85,000,000 of 315,000,000.
Y2 = Y1.assign(pop=[62, 62, 106, 85], wp=[62, 62, 106, 85])


def write(folder: Path, pace: str, envelope: str = "[300_000_000, 315_000_000]",
          years: str = '["2025/26", "2026/27"]') -> Path:
    Y1.to_csv(folder / "y1.csv", index=False)
    Y2.to_csv(folder / "y2.csv", index=False)
    (folder / "baselines.csv").write_text(
        "ICB,baseline_gbp\nA,125000000\nB,93000000\nC,70000000\n")
    files = ('{ "2025/26" = "y1.csv", "2026/27" = "y2.csv" }' if "2026/27" in years
             else '"y1.csv"')
    body = f"""
[model]
name = "three organisations"
year = "2025/26"
envelope_gbp = {envelope}
[population]
file = {files}
id = "code"
population = "pop"
levels = ["ICB"]
[[component]]
name = "core"
share = 1.0
weighted_population = {{ "wp" = 1.0 }}
[pace_of_change]
level = "ICB"
baseline = "baselines.csv"
years = {years}
{pace}
"""
    (folder / "model.toml").write_text(body)
    return folder / "model.toml"


def test_three_organisations_two_years(tmp_path):
    results = Model.from_toml(write(tmp_path, "min_growth = 0.02")).run()
    assert_ties_out(results)
    y1 = results.table("ICB", "2025/26")
    # §5.3 year 1: A held at its floor; B and C at λ = 172.5/180 of target; C takes the penny.
    assert y1["allocation_gbp"].tolist() == [127_500_000.00, 95_833_333.33, 76_666_666.67]
    assert y1["baseline_gbp"].tolist() == [125_000_000.0, 93_000_000.0, 70_000_000.0]
    assert y1.loc["B", "growth"] == pytest.approx(95_833_333.33 / 93_000_000 - 1, rel=1e-12)
    assert y1.loc["B", "distance_from_target"] == pytest.approx(-0.0416667, abs=1e-7)
    y2 = results.table("ICB", "2026/27")
    # §5.3 year 2: baselines are year 1's rounded allocations; B takes the missing penny.
    assert y2["baseline_gbp"].tolist() == [127_500_000.00, 95_833_333.33, 76_666_666.67]
    assert y2["allocation_gbp"].tolist() == [130_050_000.00, 102_642_408.38, 82_307_591.62]
    pace = results.pace_of_change
    assert list(pace.index) == ["2025/26", "2026/27"]
    assert pace.loc["2025/26", "largest_shortfall"] == pytest.approx(0.0416667, abs=1e-7)
    assert pace.loc["2025/26", "total_shortfall_gbp"] == pytest.approx(7_500_000, abs=0.01)
    assert pace.loc["2026/27", "largest_shortfall"] == pytest.approx(0.0316754, abs=1e-7)
    assert pace.loc["2026/27", "total_shortfall_gbp"] == pytest.approx(6_050_000, abs=0.01)
    # practices share their ICB's allocation in proportion to target, by LR within the ICB
    practice = results.table("practice", "2026/27")
    assert practice.loc[["A1", "A2"], "allocation_gbp"].tolist() == [65_025_000.0] * 2
    assert "baseline_gbp" not in practice.columns
    path = results.pace_of_change_path
    assert path.index.names == ["ICB", "year"]
    assert path.loc[("C", "2026/27"), "allocation_gbp"] == 82_307_591.62


def test_cap_and_rule_in_model(tmp_path):
    capped = Model.from_toml(write(tmp_path, "min_growth = 0.02\nmax_growth = 0.08",
                                   envelope="300_000_000", years='["2025/26"]')).run()
    # §5.3 capped: C at its cap 75,600,000; B gets the rest (λ = 0.969).
    assert capped.table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.0, 96_900_000.0, 75_600_000.0]
    assert capped.pace_of_change.loc["2025/26", "largest_shortfall"] == pytest.approx(0.055,
                                                                         abs=1e-9)
    rule = Model.from_toml(write(tmp_path, 'min_growth = 0.02\nmethod = "rule"',
                                 envelope="300_000_000", years='["2025/26"]')).run()
    # §5.4: B 97,194,323.14, C 75,305,676.86.
    assert rule.table("ICB")["allocation_gbp"].tolist() == [
        127_500_000.0, 97_194_323.14, 75_305_676.86]


def test_infeasible_floors_named_in_pounds(tmp_path):
    model = write(tmp_path, "min_growth = 0.10", envelope="300_000_000", years='["2025/26"]')
    # floors 137.5m + 102.3m + 77m = 316.8m: £16,800,000.00 more than the envelope
    with pytest.raises(InputError, match=r"16,800,000\.00"):
        Model.from_toml(model).run()


def test_missing_baseline_named(tmp_path):
    model = write(tmp_path, "min_growth = 0.02", envelope="300_000_000", years='["2025/26"]')
    (tmp_path / "baselines.csv").write_text("ICB,baseline_gbp\nA,125000000\nB,93000000\n")
    with pytest.raises(InputError, match=r"baselines\.csv.*C"):
        Model.from_toml(model).run()


def test_demo_pace_of_change_ties_out():
    demo = Model.from_toml(Path(__file__).resolve().parents[3] / "models" / "demo.toml").run()
    icb = demo.table("ICB")
    pence = np.round(icb["allocation_gbp"] * 100).astype(np.int64)
    assert pence.sum() == 12_000_000_000_000
    floors = np.ceil(np.round(icb["baseline_gbp"] * 100 * 1.025, 4))
    assert (pence >= floors - 0).all()
    assert demo.pace_of_change["status"].tolist() == ["optimal"]
    # places and practices still add up to the ICB allocations
    for level in ["ICB/LAD", "practice"]:
        sums = demo.table(level).groupby("ICB")["allocation_gbp"].sum()
        assert np.allclose(sums.reindex(icb.index), icb["allocation_gbp"], atol=1e-3)


def test_pace_at_practice_level_sums_baselines_up(tmp_path):
    model = write(tmp_path, "min_growth = 0.02", envelope="300_000_000", years='["2025/26"]')
    (tmp_path / "baselines.csv").write_text(
        "practice,baseline_gbp\nA1,62000000\nA2,63000000\nB1,93000000\nC1,70000000\n")
    model.write_text(model.read_text().replace('level = "ICB"', 'level = "practice"'))
    results = Model.from_toml(model).run()
    practice = results.table("practice")
    # A1 and A2 above target are held at their floors: 1.02 × 62m and 1.02 × 63m;
    # B1 and C1 share the rest at a common fraction of target, as in §5.3.
    assert practice["allocation_gbp"].tolist() == [63_240_000.0, 64_260_000.0,
                                                   95_833_333.33, 76_666_666.67]
    icb = results.table("ICB")
    assert icb.loc["A", "baseline_gbp"] == 125_000_000.0
    assert icb.loc["A", "growth"] == pytest.approx(0.02, abs=1e-12)
