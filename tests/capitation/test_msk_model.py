"""models/msk.toml through Model and the command line."""

from pathlib import Path

import numpy as np
import openpyxl

from capitation import Model
from capitation.cli import main

MSK = Path(__file__).resolve().parents[2] / "models" / "msk.toml"


def test_msk_model_runs_and_reports_saving_by_year():
    results = Model.from_toml(MSK).run()
    bridge = results.budget_bridge
    assert list(bridge.index) == ["2017/18", "2018/19", "2019/20"]
    # net saving = do nothing - budget, to the penny, and the budget ties to the lines
    pence = np.round(bridge * 100).astype(np.int64)
    assert (pence["net_saving_gbp"] == pence["do_nothing_gbp"] - pence["budget_gbp"]).all()
    lines = results.budget_lines
    by_year = np.round(lines.groupby("year")["budget_gbp"].sum() * 100).astype(np.int64)
    assert (by_year == pence["budget_gbp"]).all()
    # the seed's shape: savings grow as stranded support tapers out
    assert bridge["net_saving_gbp"].is_monotonic_increasing
    assert set(results.budget_by_provider.index) >= {"Acute trust", "Community MSK"}
    assert results.tables == {}


def test_msk_cli_writes_budget_sheets(tmp_path, capsys):
    out = tmp_path / "msk.xlsx"
    assert main(["run", str(MSK), "--out", str(out)]) == 0
    assert "net_saving_gbp" in capsys.readouterr().out
    book = openpyxl.load_workbook(out, read_only=True)
    assert {"budget_lines", "budget_bridge", "assumptions"} <= set(book.sheetnames)
