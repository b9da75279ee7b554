"""With every tier weight 1, persons give the register path's practice table.

Method: docs/methods/weighted-capitation.md#from-people.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from capitation import Model
from capitation.persons.synthetic import write_synthetic_persons
from capitation.register.synthetic import write_register_csv
from tests.capitation.persons.helpers import practices_frame, write_model

WEIGHTS = Path(__file__).resolve().parents[3] / "models" / "persons_demo" / "weights_core.csv"
MONEY = ["target_gbp", "allocation_gbp", "target_core_gbp"]


def test_persons_and_register_agree_to_the_penny(tmp_path):
    # docs/methods/weighted-capitation.md#from-people: "With every tier weight 1, summing persons to
    # practices
    # gives the same X as 2.1." The register is built from the same persons
    # (ages over 95 counted as "95+") and written in NHS Digital's format.
    codes = np.array([f"P{i:02d}" for i in range(1, 41)])
    sizes = np.random.default_rng(3).integers(300, 3_000, len(codes))
    write_synthetic_persons(codes, sizes, tmp_path / "persons", seed=7, part_rows=20_000)
    persons = pd.read_parquet(tmp_path / "persons")
    shutil.copy(WEIGHTS, tmp_path / "weights.csv")
    tiers = [("top", 0.0, 0.05, 1.0), ("rest", 0.05, 1.0, 1.0)]
    components = '[[component]]\nname = "core"\nshare = 1.0\ncost_weights = "weights.csv"\n'
    person_model = write_model(tmp_path, "persons", practices_frame(codes),
                               envelope=123_456_789, tiers=tiers, components=components)

    grid = pd.MultiIndex.from_product([codes, ["M", "F"], range(96)],
                                      names=["practice", "sex", "age"])
    counts = (persons.assign(age=persons["age"].clip(upper=95), sex=persons["sex"].astype(str),
                             practice=persons["practice"].astype(str))
              .groupby(["practice", "sex", "age"]).size().reindex(grid, fill_value=0))
    register = counts.rename("patients").reset_index()
    register["sub_icb"] = "00A"
    write_register_csv(register, tmp_path / "register.csv")
    register_model = tmp_path / "register.toml"
    register_model.write_text(f"""[model]
name = "register twin"
year = "2025/26"
envelope_gbp = 123_456_789

[population]
register = "register.csv"
practices = "practices.csv"
id = "practice"
levels = ["ICB"]

{components}
""")
    by_persons = Model.from_toml(person_model).run()
    by_register = Model.from_toml(register_model).run()
    for level in ("practice", "ICB"):
        a, b = by_persons.table(level), by_register.table(level)
        assert a.index.tolist() == b.index.tolist()
        assert a["population"].tolist() == b["population"].tolist()
        for column in MONEY:
            assert (a[column] * 100).round().astype(int).tolist() == \
                (b[column] * 100).round().astype(int).tolist(), column
        np.testing.assert_allclose(a["weighted_population_core"], b["weighted_population_core"],
                                   rtol=1e-12)
