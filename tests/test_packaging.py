"""The toolkit installs without make: sdist and wheel, a fresh venv, runs outside the repository.

Builds the sdist and the wheel from a copy of the source (``python -m build``,
so the repository gets no build folders), checks them with ``twine check``,
installs the wheel with its dependencies into a new virtual environment in a
temporary folder, and from a folder outside the repository runs
``capitation demo`` and ``risk-share settle`` on the shipped MSK example, as
the Windows route of the getting-started page does. Needs the package index
(or pip's cache) for the dependencies. Slow: a few minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pytest

from capitation import read_results
from capitation.rounding import round_pence

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("pyproject.toml", "README.md", "LICENSE", "capitation", "risk_share")
DEMO_ENVELOPE_PENCE = 12_000_000_000_000  # models/demo.toml: envelope_gbp = 120_000_000_000


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: the installed package must run, never this source tree.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1_200)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and wheel, built from a copy of the source."""
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = base / "dist"
    _run(sys.executable, "-m", "build", "--outdir", out, source, cwd=base)
    return out


@pytest.mark.slow
def test_sdist_and_wheel_pass_twine_check(dist):
    files = sorted(dist.iterdir())
    assert [f.name for f in files] == [f"ics_capitation-{_version()}-py3-none-any.whl",
                                       f"ics_capitation-{_version()}.tar.gz"]
    _run(sys.executable, "-m", "twine", "check", "--strict", *files, cwd=dist)


@pytest.mark.slow
def test_wheel_carries_the_demo_and_its_data(dist):
    wheel = next(dist.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("capitation/data/demo.toml", "capitation/data/demo_baselines.csv",
                 "capitation/data/gp_practice_weighted_populations_2025_26.csv",
                 "capitation/data/README.md", "capitation/__main__.py",
                 "risk_share/__main__.py"):
        assert name in names, name


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_demo_and_a_settlement(dist, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / "python"
    _run(python, "-m", "pip", "install", "--quiet", next(dist.glob("*.whl")), cwd=tmp_path)
    work = tmp_path / "work"  # outside the repository: no models/, no source tree
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)

    # python -m works where the scripts folder is not on PATH.
    for command, prog in (("capitation", "capitation"), ("risk_share", "risk-share")):
        shown = _run(python, "-m", command, "--version", cwd=work).stdout.strip()
        assert shown == f"{prog} {_version()}"

    demo = _run(scripts / "capitation", "demo", "--out", "demo.xlsx", cwd=work)
    assert "England 2025/26 (illustrative envelope)" in demo.stdout
    book = openpyxl.load_workbook(work / "demo.xlsx", read_only=True, data_only=True)
    for level in ("ICB", "ICB/LAD", "practice"):
        table = read_results(work / "demo.xlsx", level)  # the cached values, by machine keys
        for name in ("target_gbp", "allocation_gbp"):
            total = int(round_pence(table[name].to_numpy(dtype=float)).sum())
            assert total == DEMO_ENVELOPE_PENCE, (level, name, total)
    items = {row[0]: row[1] for row in book["assumptions"].iter_rows(values_only=True)}
    assert items["package version"] == _version()
    book.close()

    for name in ("msk_agreement.toml", "msk_outturn.csv"):
        shutil.copy2(ROOT / "models" / name, work / name)
    settled = _run(scripts / "risk-share", "settle", "msk_agreement.toml", "msk_outturn.csv",
                   "--out", "settled.xlsx", cwd=work)
    assert "Pooled variance: £" in settled.stdout
    assert (work / "settled.xlsx").is_file()
