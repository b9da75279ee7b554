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
        "capitation: warning: baselines.csv: row 4 (QZ): ICB not in the model, not used"]


def test_both_commands_print_errors_in_argparse_form(tmp_path, capsys):
    # One style for every message on stderr: argparse's own "PROG: error: MESSAGE" (its
    # usage errors), the same for bad input, an unusable output and a solver failure.
    import pytest

    from capitation.cli import main as capitation_main
    from risk_share.cli import main as risk_share_main

    absent = str(tmp_path / "absent.toml")
    for program, main in (("capitation", capitation_main), ("risk-share", risk_share_main)):
        with pytest.raises(SystemExit) as usage:
            main(["--no-such-option"])
        assert usage.value.code == 2
        argparse_line = capsys.readouterr().err.splitlines()[-1]
        assert argparse_line.startswith(f"{program}: error: "), argparse_line
        argv = (["run", absent] if program == "capitation"
                else ["settle", absent, str(tmp_path / "absent.csv")])
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{program}: error: ") and err.count("\n") == 1, err
        assert "absent" in err
