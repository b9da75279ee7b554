"""Both command lines never replace an input, refuse unusable outputs, and stop cleanly.

Each refused run must exit 2 with one line on stderr naming the input (or the
problem), no traceback, every input byte for byte as it was, and nothing new
in the folder. The reproducers are the black-box cases that used to replace
the agreement, the lines, the baselines and so on with a workbook and exit 0.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import openpyxl
import pytest

from capitation import Model
from capitation import files as capitation_files
from capitation.cli import main as capitation
from capitation.excel.model_export import export_model
from capitation.interrupts import Terminated
from risk_share import Agreement
from risk_share.cli import main as risk_share
from tests.capitation.excel.test_formulas import _pace_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) → SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(run, argv, folder: Path, capsys, *fragments: str) -> str:
    """Run a command line that must refuse: exit 2, one line naming ``fragments``, no change."""
    before = snapshot(folder)
    assert run(argv) == 2, argv
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert snapshot(folder) == before, "a refused run changed or wrote a file"
    return err


# ------------------------------------------------------------------ risk-share


@pytest.fixture
def agreement(tmp_path, monkeypatch):
    """A.toml and L.csv (the MSK agreement and outturn) in a folder of their own, as cwd."""
    shutil.copy(MODELS / "msk_agreement.toml", tmp_path / "A.toml")
    shutil.copy(MODELS / "msk_outturn.csv", tmp_path / "L.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv, named", [
    (["simulate", "A.toml", "L.csv", "-n", "10", "--cv", "0.05", "--out", "A.toml"],
     "would overwrite the agreement file A.toml"),
    (["simulate", "A.toml", "L.csv", "-n", "10", "--cv", "0.05", "--out", "L.csv"],
     "would overwrite the lines file L.csv"),
    (["settle", "A.toml", "L.csv", "--out", "L.csv"], "would overwrite the lines file L.csv"),
    (["settle", "A.toml", "L.csv", "--out", "A.toml"],
     "would overwrite the agreement file A.toml"),
    (["export", "A.toml", "--out", "A.toml"], "would overwrite the agreement file A.toml"),
    (["export", "A.toml", "L.csv", "--out", "L.csv"], "would overwrite the lines file L.csv"),
])
def test_risk_share_out_never_replaces_an_input(agreement, capsys, argv, named):
    err = refused(risk_share, argv, agreement, capsys, named, "inputs are never modified")
    assert err.startswith(f"risk-share: error: --out {argv[-1]} would overwrite")


def test_risk_share_out_through_a_link_is_refused(agreement, capsys):
    os.symlink("A.toml", "link.xlsx")
    os.link("L.csv", "hard.xlsx")
    refused(risk_share, ["settle", "A.toml", "L.csv", "--out", "link.xlsx"], agreement, capsys,
            "--out link.xlsx would overwrite the agreement file A.toml")
    refused(risk_share, ["simulate", "A.toml", "L.csv", "-n", "10", "--cv", "0.05",
                         "--out", "hard.xlsx"], agreement, capsys,
            "--out hard.xlsx would overwrite the lines file L.csv")


def test_risk_share_agreement_workbook_is_an_input(agreement, capsys):
    assert risk_share(["export", "A.toml", "L.csv", "--out", "A.xlsx", "--quiet"]) == 0
    refused(risk_share, ["simulate", "A.xlsx", "-n", "10", "--cv", "0.05", "--out", "A.xlsx"],
            agreement, capsys, "would overwrite the agreement file A.xlsx")


@pytest.mark.parametrize("command", [
    ["settle", "A.toml", "L.csv"],
    ["simulate", "A.toml", "L.csv", "-n", "10", "--cv", "0.05"],
    ["export", "A.toml"],
])
def test_risk_share_unusable_out_is_refused(agreement, capsys, command):
    (agreement / "folder").mkdir()
    (agreement / "ro.xlsx").write_text("kept")
    (agreement / "ro.xlsx").chmod(0o444)
    for out, message in [("ro.xlsx", "--out ro.xlsx is read-only"),
                         ("absent/out.xlsx", "--out absent/out.xlsx: the folder absent does "
                                             "not exist"),
                         ("folder", "--out folder is a folder")]:
        refused(risk_share, [*command, "--out", out], agreement, capsys, message)
    assert not (agreement / "absent").exists()


def test_risk_share_charts_parent_must_exist(agreement, capsys):
    refused(risk_share, ["settle", "A.toml", "L.csv", "--charts", "absent/charts"], agreement,
            capsys, "--charts absent/charts: the folder absent does not exist")
    # --charts DIR itself is still made when missing: tests/risk_share/test_plots.py.


def test_agreement_input_files(agreement):
    toml = Agreement.from_toml("A.toml")
    assert toml.input_files() == {"agreement": Path("A.toml")}
    assert toml.input_files("L.csv") == {"agreement": Path("A.toml"), "lines": Path("L.csv")}
    assert Agreement.from_dict(tomllib.loads(Path("A.toml").read_text())).input_files() == {}


# ------------------------------------------------------------------ capitation


@pytest.fixture
def register_model(tmp_path):
    """models/register_example copied: register, practices, cost weights, need index."""
    folder = tmp_path / "register"
    shutil.copytree(MODELS / "register_example", folder)
    return folder


@pytest.mark.parametrize("name, label", [
    ("model.toml", "model"),
    ("register.csv", "register"),
    ("practices.csv", "practices"),
    ("weights_core.csv", "component core cost weights"),
    ("need_core.csv", "component core need index"),
])
def test_capitation_out_never_replaces_an_input(register_model, capsys, name, label):
    refused(capitation, ["run", str(register_model / "model.toml"), "--out",
                         str(register_model / name)], register_model, capsys,
            f"--out {register_model / name} would overwrite the {label} file",
            "inputs are never modified")
    refused(capitation, ["export", str(register_model / "model.toml"), "--out",
                         str(register_model / name)], register_model, capsys,
            f"would overwrite the {label} file")


def test_capitation_baselines_and_population_are_inputs(tmp_path, capsys, monkeypatch):
    # The reproducer: capitation run demo.toml --out demo_baselines.csv replaced the baselines.
    model = _pace_model(tmp_path / "m", "ICB", "toolkit")
    monkeypatch.chdir(tmp_path / "m")
    refused(capitation, ["run", "model.toml", "--out", "baseline.csv"], tmp_path, capsys,
            "--out baseline.csv would overwrite the baseline file",
            str(tmp_path / "m" / "baseline.csv"))
    refused(capitation, ["run", str(model), "--out", "data.csv", "--quiet"], tmp_path, capsys,
            "--out data.csv would overwrite the population 2025/26 file")
    os.link("baseline.csv", "hard.xlsx")
    refused(capitation, ["run", "model.toml", "--out", "hard.xlsx"], tmp_path, capsys,
            "--out hard.xlsx would overwrite the baseline file")


def test_capitation_file_a_model_workbook_names_is_an_input(tmp_path, capsys):
    model = _pace_model(tmp_path / "m", "ICB", "toolkit")
    workbook = export_model(model, tmp_path / "pace.xlsx")
    book = openpyxl.load_workbook(workbook)
    assert book["pace_of_change"]["A5"].value == "baseline"
    book["pace_of_change"]["B5"] = "m/baseline.csv"  # a file beside the workbook, not a sheet
    book.save(workbook)
    assert Model.from_excel(workbook).input_files()["baseline"] == tmp_path / "m" / "baseline.csv"
    refused(capitation, ["run", str(workbook), "--out", str(tmp_path / "m" / "baseline.csv")],
            tmp_path, capsys, "would overwrite the baseline file")
    refused(capitation, ["run", str(workbook), "--with-inputs", "--out", str(workbook)],
            tmp_path, capsys, "would overwrite the model file")


def test_capitation_persons_folder_is_an_input(tmp_path, capsys):
    shutil.copy(MODELS / "persons_demo.toml", tmp_path)
    shutil.copytree(MODELS / "persons_demo", tmp_path / "persons_demo")
    model, persons = tmp_path / "persons_demo.toml", tmp_path / "persons_demo" / "persons"
    refused(capitation, ["run", str(model), "--out", str(persons)], tmp_path, capsys,
            "would overwrite the persons folder")
    for out in [persons / "part-00000.parquet", persons / "results.xlsx"]:
        refused(capitation, ["run", str(model), "--out", str(out)], tmp_path, capsys,
                f"--out {out} would write inside the persons folder")
    refused(capitation, ["run", str(model), "--out", str(tmp_path / "r.xlsx"), "--charts",
                         str(persons / "charts")], tmp_path, capsys,
            "would write inside the persons folder")


def test_capitation_service_budget_lines_file_is_an_input(tmp_path, capsys):
    (tmp_path / "lines.csv").write_text("provider,pod\n")
    (tmp_path / "new.csv").write_text("provider,name\n")
    (tmp_path / "sb.toml").write_text(
        '[model]\nname = "sb"\nyear = "2017/18"\n\n[service_budget]\nname = "MSK"\n'
        'baseline_year = "2016/17"\nyears = ["2017/18"]\ngrowth = 0.01\nprice_uplift = 0.02\n'
        'stranded_support = 1.0\nlines = "lines.csv"\nnew_services = "new.csv"\n')
    assert Model.from_toml(tmp_path / "sb.toml").input_files() == {
        "model": tmp_path / "sb.toml", "service budget lines": tmp_path / "lines.csv",
        "service budget new services": tmp_path / "new.csv"}
    for name, label in [("lines.csv", "service budget lines"),
                        ("new.csv", "service budget new services")]:
        refused(capitation, ["run", str(tmp_path / "sb.toml"), "--out", str(tmp_path / name)],
                tmp_path, capsys, f"would overwrite the {label} file")


def test_model_input_files_are_what_a_run_records(register_model):
    # Model.input_files is the one list: the run's provenance (assumptions sheet) uses it.
    model = Model.from_toml(register_model / "model.toml")
    expected = {"model": register_model / "model.toml",
                "register": register_model / "register.csv",
                "practices": register_model / "practices.csv",
                "component core cost weights": register_model / "weights_core.csv",
                "component core need index": register_model / "need_core.csv"}
    assert model.input_files() == expected
    assert model.run().inputs == expected


@pytest.mark.parametrize("command", [["run"], ["export"]])
def test_capitation_unusable_out_is_refused(register_model, capsys, monkeypatch, command):
    monkeypatch.chdir(register_model)
    (register_model / "folder").mkdir()
    (register_model / "ro.xlsx").write_text("kept")
    (register_model / "ro.xlsx").chmod(0o444)
    for out, message in [("ro.xlsx", "capitation: error: --out ro.xlsx is read-only"),
                         ("absent/out.xlsx", "capitation: error: --out absent/out.xlsx: the "
                                             "folder absent does not exist"),
                         ("folder", "capitation: error: --out folder is a folder")]:
        refused(capitation, [*command, "model.toml", "--out", out], register_model, capsys,
                message)
    refused(capitation, ["run", "model.toml", "--charts", "absent/charts"], register_model,
            capsys, "--charts absent/charts: the folder absent does not exist")


def test_capitation_default_output_is_checked_too(register_model, capsys, monkeypatch):
    monkeypatch.chdir(register_model)
    (register_model / "model_results.xlsx").write_text("kept")
    (register_model / "model_results.xlsx").chmod(0o444)
    refused(capitation, ["run", "model.toml"], register_model, capsys,
            f"the output {register_model / 'model_results.xlsx'} is read-only")


# ------------------------------------------------------------------ writing


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_follow_the_umask(register_model, agreement, capsys, mask, mode):
    old = os.umask(mask)
    try:
        assert risk_share(["settle", "A.toml", "L.csv", "--out", "s.xlsx", "--quiet"]) == 0
        assert risk_share(["simulate", "A.toml", "L.csv", "-n", "10", "--cv", "0.05",
                           "--out", "m.xlsx", "--quiet"]) == 0
        assert capitation(["run", str(register_model / "model.toml"), "--out", "r.xlsx",
                           "--quiet"]) == 0
    finally:
        os.umask(old)
    for name in ["s.xlsx", "m.xlsx", "r.xlsx"]:
        assert stat.S_IMODE((agreement / name).stat().st_mode) == mode, name
    capsys.readouterr()


def test_a_folder_that_cannot_be_written_is_named_by_out(agreement, capsys, monkeypatch):
    # Root writes anywhere, so the folder is made to refuse: first the check before the run,
    # then (the check passing) making the file itself. Neither message names the temporary file.
    real_access = os.access
    monkeypatch.setattr(capitation_files.os, "access", lambda path, mode: (
        Path(path) != agreement and real_access(path, mode)))
    err = refused(risk_share, ["settle", "A.toml", "L.csv", "--out", "s.xlsx"], agreement,
                  capsys, f"--out s.xlsx: the folder {agreement} cannot be written")
    assert ".s." not in err
    monkeypatch.setattr(capitation_files.os, "access", real_access)

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(capitation_files, "_create_new", denied)
    err = refused(risk_share, ["settle", "A.toml", "L.csv", "--out", "s.xlsx", "--quiet"],
                  agreement, capsys, "risk-share: error: s.xlsx: Permission denied")
    assert ".s." not in err
    err = refused(capitation, ["export", str(MODELS / "register_example" / "model.toml"),
                               "--out", "m.xlsx"], agreement, capsys,
                  "capitation: error: m.xlsx: Permission denied")
    assert ".m." not in err


@pytest.mark.parametrize("stop, line, status", [
    (KeyboardInterrupt, "interrupted: nothing written", 130),
    (Terminated, "terminated: nothing written", 143),
])
def test_stopped_mid_write_leaves_no_temporary_file(agreement, capsys, monkeypatch, stop, line,
                                                    status):
    def fsync(fd):  # the output is complete in its temporary file, not yet renamed
        raise stop()

    monkeypatch.setattr(capitation_files.os, "fsync", fsync)
    before = snapshot(agreement)
    previous = signal.getsignal(signal.SIGTERM)
    assert risk_share(["settle", "A.toml", "L.csv", "--out", "s.xlsx"]) == status
    assert capsys.readouterr().err == f"risk-share: {line}\n"
    assert capitation(["export", str(MODELS / "register_example" / "model.toml"),
                       "--out", "m.xlsx"]) == status
    assert capsys.readouterr().err == f"capitation: {line}\n"
    assert snapshot(agreement) == before
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back


def test_stopped_after_the_workbook_says_so(agreement, capsys, monkeypatch):
    def charts(*args, **kwargs):
        raise KeyboardInterrupt()

    monkeypatch.setattr("risk_share.plots.write_charts", charts)
    assert risk_share(["settle", "A.toml", "L.csv", "--out", "s.xlsx", "--charts", "c"]) == 130
    assert capsys.readouterr().err == "risk-share: interrupted: only s.xlsx written\n"


# ------------------------------------------------------------------ real signals


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path):
    # Each command line is started in a folder of its own and sent the signal as soon as its
    # hidden temporary file (.<stem>.*) appears: risk-share simulate writing 20,000 scenarios
    # × 3 parties, capitation export writing the demo model's 6,348 practices, each a second
    # or more on the temporary file. The four run at once to keep the test short.
    simulate = ["risk_share", "simulate", str(MODELS / "msk_agreement.toml"),
                str(MODELS / "msk_outturn.csv"), "-n", "20000", "--cv", "0.05", "--seed", "1",
                "--out", "out.xlsx", "--quiet"]
    export = ["capitation", "export", str(MODELS / "demo.toml"), "--out", "out.xlsx"]
    runs = [(simulate, signal.SIGTERM, 143, "risk-share: terminated: nothing written\n"),
            (simulate, signal.SIGINT, 130, "risk-share: interrupted: nothing written\n"),
            (export, signal.SIGTERM, 143, "capitation: terminated: nothing written\n"),
            (export, signal.SIGINT, 130, "capitation: interrupted: nothing written\n")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = {}
    for i, (argv, *_) in enumerate(runs):
        folder = tmp_path / str(i)
        folder.mkdir()
        started[i] = (folder, subprocess.Popen(
            [sys.executable, "-m", *argv], cwd=folder, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True))
    waiting = set(started)
    deadline = time.monotonic() + 120
    while waiting:
        for i in sorted(waiting):
            folder, process = started[i]
            if any(folder.glob(".out.*")):
                process.send_signal(runs[i][1])
                waiting.discard(i)
            else:
                assert process.poll() is None, f"{runs[i][0][0]} ended before writing"
        assert time.monotonic() < deadline, "no temporary file within 120 s"
        time.sleep(0.005)
    interrupted = 0
    for i, (argv, sig, status, line) in enumerate(runs):
        folder, process = started[i]
        _, err = process.communicate(timeout=60)
        if process.returncode == 0 and err == "":
            # The signal came as the finished file was being renamed into place (a race a
            # loaded machine sometimes loses): then the whole output is there, and nothing else.
            assert [p.name for p in folder.iterdir()] == ["out.xlsx"], argv[0]
            continue
        interrupted += 1
        assert (process.returncode, err) == (status, line), (argv[0], sig)
        assert list(folder.iterdir()) == [], f"{argv[0]} left a file after {sig!r}"
    assert interrupted >= 2, "no run was interrupted mid-write"
