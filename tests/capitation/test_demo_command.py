"""``capitation demo`` (the demo model shipped inside the package) and ``--version``."""

from __future__ import annotations

import filecmp
import tomllib
from importlib.metadata import version
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from capitation.cli import main
from capitation.demo import demo_model_file
from capitation.rounding import round_pence
from risk_share.cli import main as risk_share_main

ROOT = Path(__file__).resolve().parents[2]


def _files_named(model: Path) -> tuple[Path, Path]:
    data = tomllib.loads(model.read_text(encoding="utf-8"))
    return (model.parent / data["population"]["file"],
            model.parent / data["pace_of_change"]["baseline"])


def test_shipped_demo_is_the_repository_demo():
    # The package carries its own copy of models/demo.toml (an installed package has no
    # models/ folder). Only the paths to its inputs may differ, and they must name the
    # same bytes; everything else (envelope, components, pace of change) is equal.
    shipped, repository = demo_model_file(), ROOT / "models" / "demo.toml"
    assert shipped.parent == ROOT / "capitation" / "data"
    a = tomllib.loads(shipped.read_text(encoding="utf-8"))
    b = tomllib.loads(repository.read_text(encoding="utf-8"))
    for data in (a, b):
        data["population"].pop("file")
        data["pace_of_change"].pop("baseline")
    assert a == b
    for mine, theirs in zip(_files_named(shipped), _files_named(repository), strict=True):
        assert filecmp.cmp(mine, theirs, shallow=False), (mine, theirs)


def test_shipped_demo_files_are_package_data():
    # pyproject's package-data must carry every file the shipped demo names.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["capitation"]
    data = ROOT / "capitation"
    for path in (demo_model_file(), *_files_named(demo_model_file())):
        relative = path.resolve().relative_to(data)
        assert any(relative.match(p) for p in patterns), (relative, patterns)


def test_quiet_prints_nothing_on_stdout_in_both_commands(tmp_path, monkeypatch, capsys):
    # --quiet means the same in capitation and risk-share: no progress bars, no summary and
    # no "... workbook: PATH" line; errors still go to stderr.
    risk_share = risk_share_main
    monkeypatch.chdir(tmp_path)
    models = ROOT / "models"
    assert main(["run", str(models / "msk.toml"), "--out", "msk.xlsx", "--quiet"]) == 0
    assert main(["export", str(models / "msk.toml"), "--out", "msk_model.xlsx", "--quiet"]) == 0
    assert risk_share(["settle", str(models / "msk_agreement.toml"),
                       str(models / "msk_outturn.csv"), "--out", "s.xlsx", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "msk.xlsx").is_file() and (tmp_path / "s.xlsx").is_file()
    assert main(["run", "absent.toml", "--quiet"]) == 2
    assert risk_share(["settle", "absent.toml", "absent.csv", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 2 and "absent.toml" in err


def test_demo_command_writes_the_demo_workbook(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "England 2025/26 (illustrative envelope): 6,348 practices, 42 ICBs," in out
    assert "highest need index first (10 of 42 ICBs):" in out
    assert "... 32 more ICBs in the workbook" in out
    written = tmp_path / "demo_results.xlsx"
    assert f"results workbook: {written.resolve()}" in out
    book = openpyxl.load_workbook(written, read_only=True, data_only=True)
    items = {row[0]: row[1] for row in book["assumptions"].iter_rows(values_only=True)}
    assert items["model file"] == "demo.toml"
    assert items["package version"] == version("ics-capitation")
    # The ICB sheet's allocations (the values cached with its formulas, rows 7 to 48 under
    # the title block and header) add up to the £120bn envelope of the demo model to the penny.
    column = _column(book["ICB"], "allocation_gbp")
    cached = [row[0] for row in book["ICB"].iter_rows(min_row=7, max_row=48, min_col=column,
                                                       max_col=column, values_only=True)]
    assert len(cached) == 42
    assert int(round_pence(np.array(cached, dtype=float)).sum()) == 12_000_000_000_000
    book.close()


def _column(sheet, name: str) -> int:
    header = next(sheet.iter_rows(max_row=1, values_only=True))  # the hidden row of names
    return header.index(name) + 1


@pytest.mark.parametrize(("command", "prog"), [(main, "capitation"),
                                              (risk_share_main, "risk-share")])
def test_version_is_the_installed_version(command, prog, capsys):
    with pytest.raises(SystemExit) as stop:
        command(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"{prog} {version('ics-capitation')}"


def test_demo_missing_from_the_installation(tmp_path, monkeypatch, capsys):
    # A package built without its data files: one message, status 2, nothing written.
    monkeypatch.setattr("capitation.demo.files", lambda package: tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "the demo model is missing from this installation" in captured.err
    assert list(tmp_path.iterdir()) == []
