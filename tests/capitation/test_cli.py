"""Tests for capitation/cli.py: what a user of the command line sees."""

import subprocess
import sys
import warnings
from pathlib import Path

from capitation.cli import warnings_on_one_line

DATA = Path(__file__).resolve().parents[1] / "bad_inputs" / "data"


def test_a_warning_is_one_line_without_python_source(capsys):
    with warnings_on_one_line("tool: "):
        warnings.warn("baselines.csv: row 4 (QZ): ICB\nnot in the model", UserWarning,
                      stacklevel=1)
    assert capsys.readouterr().err == ("tool: warning: baselines.csv: row 4 (QZ): ICB not in "
                                       "the model\n")


def test_run_prints_the_baselines_warning_as_one_line(tmp_path):
    # A baselines file naming an ICB the model does not have: the run goes on
    # and says which row was not used, in one line (Python's default adds the
    # file and line of source that warned).
    baselines = tmp_path / "baselines.csv"
    baselines.write_text("ICB,baseline_gbp\nQA,480000\nQB,470000\nQZ,1\n", encoding="utf-8")
    text = (DATA / "baselines_model.toml").read_text(encoding="utf-8")
    model = tmp_path / "model.toml"
    model.write_text(text.replace("{file}", baselines.as_posix()).replace(
        "{data}", DATA.as_posix()), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "capitation", "run", str(model), "--out",
                           str(tmp_path / "out.xlsx"), "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: baselines.csv: row 4 (QZ): ICB not in the model, not used"]
