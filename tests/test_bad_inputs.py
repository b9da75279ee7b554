"""Bad inputs (style.md, "Tests": one file per case, a manifest of message fragments).

tests/bad_inputs/ holds one small malformed file per case (TOML, CSV, XLSX) and
manifest.toml, giving for each how it is loaded and the message fragments the
InputError must contain: the file, the place (TOML key, sheet!cell, row,
column) and what was expected. A file in the folder without an entry fails.
Every case is also run through the command line in-process (exit status 2, the
message on stderr, no traceback, nothing written), and a sample marked
``cli = true`` in a subprocess.
"""

import hashlib
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import openpyxl
import pytest

from capitation import InputError, Model
from capitation.cli import main as capitation_main
from capitation.excel.model_export import export_model
from risk_share import Agreement
from risk_share.agreement_file import export_agreement
from risk_share.cli import main as risk_share_main

HERE = Path(__file__).resolve().parent / "bad_inputs"
DATA = HERE / "data"
MANIFEST = HERE / "manifest.toml"

#: load kind → good model file whose "{file}" is replaced by the case file's path.
TEMPLATES = {
    "population": "population_model.toml",
    "baselines": "baselines_model.toml",
    "register": "register_model.toml",
    "register_practices": "register_practices_model.toml",
    "cost_weights": "cost_weights_model.toml",
    "persons": "persons_model.toml",
    "activity": "activity_model.toml",
    "need_index": "need_index_model.toml",
}
LOADS = {"model", "agreement", "agreement_workbook", "settle", "scenarios", *TEMPLATES}
#: load kinds read by risk_share (the rest by capitation).
RISK_SHARE_LOADS = {"agreement", "agreement_workbook", "settle"}
ENTRY_KEYS = {"file", "load", "expect", "about", "cli"}


def read_manifest() -> list[dict]:
    return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["case"]


CASES = read_manifest()


def case_files() -> set[str]:
    return {p.name for p in HERE.iterdir() if p.is_file() and p != MANIFEST}


def digest(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def watched(case: dict) -> list[Path]:
    """The case file and every good companion file: none may change."""
    return [HERE / case["file"], *sorted(p for p in DATA.rglob("*") if p.is_file())]


def model_from_template(case: dict, folder: Path) -> Path:
    text = (DATA / TEMPLATES[case["load"]]).read_text(encoding="utf-8")
    text = text.replace("{file}", (HERE / case["file"]).as_posix()).replace(
        "{data}", DATA.as_posix())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.toml"
    path.write_text(text, encoding="utf-8")
    return path


def inputs(case: dict, folder: Path) -> tuple[str, list[Path]]:
    """Which program reads the case ("capitation" or "risk_share") and its input paths."""
    path = HERE / case["file"]
    load = case["load"]
    if load == "model":
        return "capitation", [path]
    if load in TEMPLATES:
        return "capitation", [model_from_template(case, folder)]
    if load == "scenarios":  # the case file holds [[scenario]] tables for the tiny model
        return "capitation", [DATA / "tiny_model.toml", path]
    if load == "agreement":
        return "risk_share", [path, DATA / "lines.csv"]
    if load == "agreement_workbook":
        return "risk_share", [path]  # the workbook's own plan_lines sheet
    return "risk_share", [DATA / "agreement.toml", path]


def load(case: dict, folder: Path) -> None:
    program, paths = inputs(case, folder)
    if case["load"] == "scenarios":
        from capitation.scenarios import run_scenarios, scenarios_of

        model = Model.from_toml(paths[0])
        run_scenarios(model, scenarios_of(model, paths[1]))
    elif program == "capitation":
        model = paths[0]
        if model.suffix == ".xlsx":
            Model.from_excel(model).run()
        else:
            Model.from_toml(model).run()
    elif case["load"] == "agreement_workbook":
        Agreement.from_excel(paths[0]).settle(paths[0])
    else:
        Agreement.from_toml(paths[0]).settle(paths[1])


def cli_args(case: dict, folder: Path, out: Path) -> tuple[str, list[str]]:
    program, paths = inputs(case, folder)
    if case["load"] == "scenarios":
        return program, ["scenarios", str(paths[0]), "--scenarios", str(paths[1]), "--out",
                         str(out / "scenarios.xlsx"), "--quiet"]
    if program == "capitation":
        return program, ["run", str(paths[0]), "--out", str(out / "results.xlsx"), "--quiet"]
    return program, ["settle", *map(str, paths), "--out", str(out / "settlement.xlsx"),
                     "--quiet"]


def ids(case: dict) -> str:
    return case["file"]


# ---------------------------------------------------------------- the manifest itself


def test_every_file_has_an_entry_and_every_entry_a_file():
    named = [c["file"] for c in CASES]
    assert len(named) == len(set(named)), "a file has two entries"
    missing_entry = sorted(case_files() - set(named))
    assert not missing_entry, f"files in tests/bad_inputs/ without an entry: {missing_entry}"
    missing_file = sorted(set(named) - case_files())
    assert not missing_file, f"manifest entries without a file: {missing_file}"


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_entry_is_well_formed(case):
    assert set(case) <= ENTRY_KEYS, sorted(set(case) - ENTRY_KEYS)
    assert case["load"] in LOADS
    assert case["expect"] and all(isinstance(f, str) and f for f in case["expect"])
    # The message names the file it is about (the case file or, for a model that
    # names a column the practice table lacks, that table).
    assert any(f.endswith((".toml", ".csv", ".xlsx")) for f in case["expect"])
    assert (HERE / case["file"]).stat().st_size < 100_000


def test_the_corpus_covers_every_kind_of_input():
    kinds = {(c["load"], Path(c["file"]).suffix) for c in CASES}
    assert {("model", ".toml"), ("model", ".xlsx"), ("agreement", ".toml"),
            ("agreement_workbook", ".xlsx"), ("settle", ".csv"), ("population", ".csv"),
            ("register", ".csv"), ("baselines", ".csv"), ("persons", ".csv"),
            ("activity", ".csv")} <= kinds
    assert len(CASES) >= 45


@pytest.mark.parametrize("load_kind, good", [
    ("population", "practices.csv"), ("baselines", "baselines.csv"),
    ("register", "register.csv"), ("register_practices", "register_practices.csv"),
    ("cost_weights", "weights.csv"),
    ("persons", "persons.csv"), ("activity", "activity.csv"),
    ("need_index", "need_index.csv")])
def test_each_template_runs_with_its_good_companion(load_kind, good, tmp_path):
    # The templates and companions are sound, so each case fails for its own fault only.
    text = (DATA / TEMPLATES[load_kind]).read_text(encoding="utf-8")
    assert "{file}" in text
    text = text.replace("{file}", (DATA / good).as_posix()).replace("{data}", DATA.as_posix())
    (tmp_path / "model.toml").write_text(text, encoding="utf-8")
    assert Model.from_toml(tmp_path / "model.toml").run().table("practice")["population"].sum() > 0


def test_the_good_model_and_agreement_load(tmp_path):
    Model.from_toml(DATA / "tiny_model.toml").run()
    Agreement.from_toml(DATA / "agreement.toml").settle(DATA / "lines.csv")
    # The ag_*.xlsx cases start from this export (data/make_workbooks.py), which settles.
    models = HERE.parents[1] / "models"
    good = export_agreement(models / "msk_agreement.toml", tmp_path / "msk_agreement.xlsx",
                            models / "msk_outturn.csv")
    assert len(Agreement.from_excel(good).settle(good).lines) == 9


# ---------------------------------------------------------------- each case


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_bad_input_raises_a_clear_input_error(case, tmp_path):
    before = digest(watched(case))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # notes on unusual but readable forms
        with pytest.raises(InputError) as raised:
            load(case, tmp_path / "model")
    message = str(raised.value)
    missing = [f for f in case["expect"] if f not in message]
    assert not missing, f"{case['file']}: {missing} not in the message {message!r}"
    assert "Traceback" not in message
    assert digest(watched(case)) == before, "an input file was changed"


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_command_line_refuses_bad_input_and_writes_nothing(case, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    before = digest(watched(case))
    program, argv = cli_args(case, tmp_path / "model", out)
    main = capitation_main if program == "capitation" else risk_share_main
    assert main(argv) == 2
    captured = capsys.readouterr()
    missing = [f for f in case["expect"] if f not in captured.err]
    assert not missing, f"{missing} not on stderr: {captured.err!r}"
    assert "Traceback" not in captured.err + captured.out
    assert list(out.iterdir()) == [], "the command line wrote output for a bad input"
    assert digest(watched(case)) == before


SAMPLE = [c for c in CASES if c.get("cli")]


@pytest.mark.parametrize("case", SAMPLE, ids=ids)
def test_command_line_in_a_subprocess(case, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_in = tmp_path / "cwd"
    run_in.mkdir()
    program, argv = cli_args(case, tmp_path / "model", out)
    done = subprocess.run([sys.executable, "-m", program, *argv], cwd=run_in,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0
    missing = [f for f in case["expect"] if f not in done.stderr]
    assert not missing, f"{missing} not on stderr: {done.stderr!r}"
    assert "Traceback" not in done.stderr + done.stdout
    assert list(out.iterdir()) == [] and list(run_in.iterdir()) == []


def test_sample_covers_each_program_and_format():
    kinds = {("risk_share" if c["load"] in RISK_SHARE_LOADS else "capitation",
              Path(c["file"]).suffix) for c in SAMPLE}
    assert {("capitation", ".toml"), ("capitation", ".xlsx"), ("risk_share", ".toml"),
            ("risk_share", ".csv"), ("risk_share", ".xlsx")} <= kinds


# ---------------------------------------------------------------- formula injection


HOSTILE = ['=HYPERLINK("http://example.com","click")', "+1+1", "-2+3", "@SUM(A1)"]


def test_codes_that_look_like_formulas_are_read_and_written_back_as_text(tmp_path):
    # Not a bad input: a practice code typed as text is accepted as text. It must
    # come back as text in the results workbook, never as a live formula.
    good = export_model(DATA / "tiny_model.toml", tmp_path / "tiny.xlsx")
    book = openpyxl.load_workbook(good)
    sheet = book["population_data"]
    for row, code in enumerate(HOSTILE, start=2):
        sheet.cell(row=row, column=1).value = code
        sheet.cell(row=row, column=1).data_type = "s"  # text, as Excel stores '=... typed
    book.save(tmp_path / "hostile.xlsx")
    stored = openpyxl.load_workbook(tmp_path / "hostile.xlsx")["population_data"]
    assert [c.data_type for c in stored["A"][1:]] == ["s"] * 4

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = Model.from_excel(tmp_path / "hostile.xlsx").run()
    assert sorted(results.table("practice").index) == sorted(HOSTILE)
    out = results.to_excel(tmp_path / "results.xlsx")
    written = openpyxl.load_workbook(out)["practice"]
    codes = {c.value: c.data_type for c in written["A"][6:-1]}  # under the header, above Total
    assert codes == {code: "s" for code in HOSTILE}
