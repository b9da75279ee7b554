"""The embedded default model (models/demo.toml) and the command line."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from capitation import Model
from capitation.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "demo.toml"
ENVELOPE_PENCE = 12_000_000_000_000


@pytest.fixture(scope="module")
def demo():
    return Model.from_toml(DEMO).run()


def test_every_level_sums_to_envelope_in_pence(demo):
    assert demo.levels == ["practice", "ICB/LAD", "ICB"]
    for level in demo.levels:
        table = demo.table(level)
        for column in ["target_gbp", "allocation_gbp", "target_core_gbp"]:
            pence = np.round(table[column].to_numpy() * 100).astype(np.int64)
            expected = ENVELOPE_PENCE * (9 if column == "target_core_gbp" else 10) // 10
            assert pence.sum() == expected, (level, column)
    assert len(demo.table("practice")) == 6_348
    assert len(demo.table("ICB")) == 42


def test_icb_codes_for_places_join_icb_and_lad(demo):
    places = demo.table("ICB/LAD")
    assert "QWO/E08000032" in places.index
    assert places.index.name == "ICB/LAD"
    assert (places["ICB"] == places.index.str.split("/").str[0]).all()


def test_core_blend_is_final_wp_and_need_index_consistent(demo):
    # With one blend column of normalised WP, the component's X is Final WP itself,
    # and need index × population gives the weighted population (section 2.4/3).
    icb = demo.table("ICB")
    assert (icb["need_index"] * icb["population"]).sum() == pytest.approx(
        icb["population"].sum(), rel=1e-12)
    assert icb["weighted_population"].sum() == pytest.approx(icb["population"].sum(), rel=1e-12)
    assert icb["weighted_population_core"].sum() == pytest.approx(63_849_324, abs=0.5)


def test_columns_of_the_contract(demo):
    table = demo.table("ICB/LAD")
    for column in ["population", "weighted_population", "need_index", "need_index_in_parent",
                   "target_gbp", "allocation_gbp", "distance_from_target",
                   "allocation_per_head_gbp", "weighted_population_core", "target_core_gbp",
                   "weighted_population_primary_medical_care",
                   "target_primary_medical_care_gbp"]:
        assert column in table.columns


def test_need_index_in_parent_of_top_level_is_need_index(demo):
    icb = demo.table("ICB")
    assert np.allclose(icb["need_index_in_parent"], icb["need_index"], rtol=1e-12)


def test_nhs_england_convention_check_figures(tmp_path):
    # docs/methods/need-index.md check figure: West Yorkshire ICB (QWO) population 2,707,693 and WP
    # 2,752,628 after rounding -> index 1.017 against England (2,752,628/2,707,693=1.01660).
    body = DEMO.read_text().replace('"toolkit"', '"nhs_england"').replace(
        "../capitation", str(ROOT / "capitation"))
    body = body.replace("share = 0.9", "share = 1.0").split("[[component]]\nname = \"primary")[0]
    model = tmp_path / "ne.toml"
    model.write_text(body)
    results = Model.from_toml(model).run()
    qwo = results.table("ICB").loc["QWO"]
    assert round(qwo["population"]) == 2_707_693
    assert round(qwo["weighted_population"]) == 2_752_628
    assert qwo["need_index"] == 1.017
    # practices keep full precision
    practice = results.table("practice")
    assert (practice["need_index"].round(3) != practice["need_index"]).any()


def test_nhs_england_group_index_in_parent_from_rounded_sums():
    # docs/methods/need-index.md: four practices with population 32,415 and WP 31,188 inside QWO's
    # 2,707,693 and 2,752,628 -> (31,188/32,415)/(2,752,628/2,707,693) = 0.94645 -> 0.946.
    from capitation.level_tables import _nhs_england_indices

    need, in_parent = _nhs_england_indices(
        __import__("pandas").Index(["G"]), np.array([31_187.6]), np.array([32_414.8]),
        np.array([2_752_628.4]), np.array([2_707_692.9]), "group")
    assert in_parent[0] == 0.946
    assert need[0] == 0.962  # 31,188 / 32,415 = 0.96215


def test_results_workbook_layout(demo, tmp_path):
    out = demo.to_excel(tmp_path / "demo.xlsx")
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames[:4] == ["summary", "practice", "ICB_LAD", "ICB"]
    assert "assumptions" in book.sheetnames
    keys = [c.value for c in next(book["ICB_LAD"].iter_rows(max_row=1))]  # hidden
    assert keys[0] == "ICB/LAD"
    assert keys[1:] == list(demo.table("ICB/LAD").columns)
    # The key row, the title block, the header, 42 ICBs and the totals row.
    assert book["ICB"].max_row == 6 + 42 + 1
    items = {row[0]: row[1] for row in book["assumptions"].iter_rows(values_only=True)}
    assert len(items["population sha256"]) == 64
    assert items["parameter model.envelope_gbp"] == "120000000000"


def test_cli_run_writes_workbook_and_summary(tmp_path, capsys):
    out = tmp_path / "r.xlsx"
    assert main(["run", str(DEMO), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "results workbook:" in printed and str(out) in printed
    assert out.exists()


def test_cli_default_output_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([sys.executable, "-m", "capitation", "run", str(DEMO)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo_results.xlsx").exists()
