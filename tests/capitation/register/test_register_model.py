"""The GP register path through Model.

Method: docs/methods/weighted-capitation.md#from-the-register; README "The GP register path".
"""

import shutil
from pathlib import Path

import pytest

from capitation import InputError, Model

EXAMPLE = Path(__file__).resolve().parents[3] / "models" / "register_example"


def test_worked_example_with_need_index():
    # docs/methods/weighted-capitation.md#from-the-register: need index 1.1 for P3 only -> X3 =
    # 2,200, ΣX = 4,800,
    # P3's target = 3,000,000 × 2,200 / 4,800 = £1,375,000.00; P1 1,400/4,800 -> 875,000.
    results = Model.from_toml(EXAMPLE / "model.toml").run()
    table = results.table("practice")
    assert table["weighted_population_core"].tolist() == [1_400, 1_200, 2_200]
    assert table["target_gbp"].tolist() == [875_000.0, 750_000.0, 1_375_000.0]
    assert results.table("ICB")["target_gbp"].tolist() == [1_625_000.0, 1_375_000.0]


def test_worked_example_without_need_index(tmp_path):
    # docs/methods/weighted-capitation.md#from-the-register's table: 913,043.48 / 782,608.69 /
    # 1,304,347.83 (P2 rounds down).
    for file in EXAMPLE.iterdir():
        shutil.copy(file, tmp_path)
    model = tmp_path / "model.toml"
    model.write_text(model.read_text().replace('need_index = "need_core.csv"\n', ""))
    table = Model.from_toml(model).run().table("practice")
    assert table["target_gbp"].tolist() == [913_043.48, 782_608.69, 1_304_347.83]
    assert table["population"].tolist() == [1_000, 1_000, 1_000]


def test_register_practice_missing_from_practices_file(tmp_path):
    for file in EXAMPLE.iterdir():
        shutil.copy(file, tmp_path)
    (tmp_path / "practices.csv").write_text("practice,ICB\nP1,I1\nP2,I1\n")
    with pytest.raises(InputError, match=r"practices\.csv.*P3"):
        Model.from_toml(tmp_path / "model.toml").run()
