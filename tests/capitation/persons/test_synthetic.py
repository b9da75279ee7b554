"""SYNTHETIC persons matching a model's practice populations (capitation synth-persons)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from capitation import Model
from capitation.cli import main
from capitation.persons.synthetic import ILLUSTRATIVE_PROFILE_NOTE

DEMO = Path(__file__).resolve().parents[3] / "models" / "persons_demo.toml"


def test_synth_persons_matches_list_sizes(tmp_path, capsys):
    out = tmp_path / "persons"
    assert main(["synth-persons", str(DEMO), "--out", str(out), "--fraction", "0.05",
                 "--seed", "9"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    persons = pd.read_parquet(out)
    sizes = pd.read_csv(DEMO.parent / "persons_demo" / "practices.csv",
                        index_col="practice_code")["list_size"]
    counts = persons["practice_code"].astype(str).value_counts().reindex(sizes.index)
    assert counts.tolist() == np.floor(sizes * 0.05 + 0.5).astype(int).tolist()
    assert persons["person_id"].is_unique and persons["age"].between(0, 120).all()
    assert set(persons["sex"].astype(str)) == {"M", "F"} and (persons["risk_score"] >= 0).all()
    metadata = pq.read_schema(next(out.glob("*.parquet"))).metadata
    assert metadata[b"synthetic"].decode() == ILLUSTRATIVE_PROFILE_NOTE
    # Risk rises with age: the over-75s' median score is well above the under-40s'.
    old = persons.loc[persons["age"] >= 75, "risk_score"].median()
    young = persons.loc[persons["age"] < 40, "risk_score"].median()
    assert old > 3 * young
    # The same seed gives the same persons.
    again = tmp_path / "again"
    assert main(["synth-persons", str(DEMO), "--out", str(again), "--fraction", "0.05",
                 "--seed", "9"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again), persons)


def test_persons_demo_runs():
    results = Model.from_toml(DEMO).run()
    assert results.tiers["persons"].sum() == results.table("practice")["population"].sum()
    assert results.table("ICB")["target_gbp"].sum() == 380_000_000
