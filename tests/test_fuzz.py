"""Fuzz: seeded mutations of the shipped models, agreements and exported workbooks.

Each case copies a good set of inputs into its own folder, damages one of them
with a mutation drawn from a seeded generator (a value replaced by a hostile
one, a key or row deleted or repeated, a header changed, bytes cut or added, a
workbook cell overwritten or a sheet removed), and runs the command line on it
in-process. Whatever the mutation, the run must end in one of two ways:

- exit 0, with the output written and the money tying out to the penny
  (``capitation.testing.assert_ties_out`` on the same model run from Python);
- exit 2, with a message on stderr of one line (warnings aside) and no
  traceback, nothing written.

Either way no input file changes. The cases are deterministic (the seed is
the case number), so a failure names a case that can be re-run alone.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import warnings
from pathlib import Path

import openpyxl
import pytest

from capitation import InputError, Model
from capitation.cli import main as capitation_main
from capitation.testing import assert_ties_out
from risk_share import Agreement
from risk_share.cli import main as risk_share_main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "bad_inputs" / "data"
MODELS = ROOT / "models"

#: TOML values a mutation puts in place of a good one.
HOSTILE_TOML = [
    "0", "-1", "1", "0.5", "-0.5", "2", "100", "1e30", "-1e30", "1e-300", "5e-324",
    "9.3e16", "nan", "inf", "-inf", "true", '""', '"x"', '"2024/25"', '"  "', "[]",
    "[1, 2]", '["a"]', "{}", '{ a = 1 }', "1979-05-27", '"\\u0000"', '"' + "x" * 2000 + '"',
]
#: CSV cells a mutation puts in place of a good one.
HOSTILE_CELLS = [
    "", " ", "0", "-1", "-5", "1e400", "1e30", "abc", "NaN", "inf", " 12 ", "1,000",
    "£5", "50%", "TRUE", "\x00", "=1+1", "P001", "QA", "2024/25", "x" * 500, '"',
]
#: Workbook cell values a mutation writes.
HOSTILE_XLSX = [None, 0, -1, 1e30, -1e30, "abc", "", " ", "=1+1", True, 0.5, 150, "50%",
                "2024/25", "x" * 300]

N_CASES = 300


def _model_files(kind: str, folder: Path) -> tuple[str, list[Path], list[str]]:
    """Copy one good set of inputs into ``folder``; return (program, files, argv head)."""
    if kind in ("tiny_toml", "tiny_csv"):
        for name in ("tiny_model.toml", "practices.csv", "baselines.csv"):
            shutil.copy(DATA / name, folder / name)
        files = [folder / "tiny_model.toml", folder / "practices.csv", folder / "baselines.csv"]
        return "capitation", files, ["run", str(files[0])]
    if kind in ("msk_toml", "msk_csv"):
        for name in ("msk_agreement.toml", "msk_outturn.csv"):
            shutil.copy(MODELS / name, folder / name)
        files = [folder / "msk_agreement.toml", folder / "msk_outturn.csv"]
        return "risk_share", files, ["settle", str(files[0]), str(files[1])]
    raise AssertionError(kind)


def _mutate_toml(path: Path, rng: random.Random) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    keyed = [i for i, line in enumerate(lines)
             if re.match(r"\s*[\w\"' .-]+\s*=", line) and not line.lstrip().startswith("#")]
    how = rng.choice(["value", "value", "value", "delete", "repeat", "cut", "byte", "table"])
    if how == "value":
        i = rng.choice(keyed)
        key = lines[i].split("=", 1)[0]
        value = rng.choice(HOSTILE_TOML)
        lines[i] = f"{key}= {value}"
        done = f"{key.strip()} = {value[:40]}"
    elif how == "delete":
        i = rng.choice(keyed)
        done = f"deleted {lines[i][:40]!r}"
        del lines[i]
    elif how == "repeat":
        i = rng.choice(keyed)
        lines.insert(i + 1, lines[i])
        done = f"repeated {lines[i][:40]!r}"
    elif how == "table":
        tables = [i for i, line in enumerate(lines) if line.startswith("[")]
        i = rng.choice(tables)
        done = f"deleted table header {lines[i]!r}"
        del lines[i]
    else:
        text = "\n".join(lines)
        at = rng.randrange(len(text))
        if how == "cut":
            path.write_text(text[:at], encoding="utf-8")
            return f"cut at {at}"
        char = rng.choice(["\x00", "\ufeff", "]", "[", '"', "=", "\n", "é"])
        path.write_text(text[:at] + char + text[at:], encoding="utf-8")
        return f"inserted {char!r} at {at}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return done


def _mutate_csv(path: Path, rng: random.Random) -> str:
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    how = rng.choice(["cell", "cell", "cell", "header", "delete", "repeat", "column", "cut"])
    if how == "cell":
        r, c = rng.randrange(1, len(rows)), rng.randrange(len(rows[0]))
        value = rng.choice(HOSTILE_CELLS)
        rows[r][c] = f'"{value}"' if "," in value else value
        done = f"row {r + 1} column {rows[0][c]!r} = {value[:40]!r}"
    elif how == "header":
        c = rng.randrange(len(rows[0]))
        rows[0][c] = rng.choice(["", rows[0][c].lower(), rows[0][c] + " ", "x", rows[0][0]])
        done = f"header {c} = {rows[0][c]!r}"
    elif how == "delete":
        r = rng.randrange(len(rows))
        del rows[r]
        done = f"deleted row {r + 1}"
    elif how == "repeat":
        r = rng.randrange(len(rows))
        rows.insert(rng.randrange(1, len(rows) + 1), list(rows[r]))
        done = f"repeated row {r + 1}"
    elif how == "column":
        c = rng.randrange(len(rows[0]))
        for row in rows:
            if c < len(row):
                del row[c]
        done = f"deleted column {c}"
    else:
        text = path.read_text(encoding="utf-8")
        at = rng.randrange(len(text))
        path.write_text(text[:at], encoding="utf-8")
        return f"cut at {at}"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    return done


@pytest.fixture(scope="module")
def tiny_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported as a model workbook (as a finance team receives it)."""
    folder = tmp_path_factory.mktemp("workbook")
    for name in ("tiny_model.toml", "practices.csv", "baselines.csv"):
        shutil.copy(DATA / name, folder / name)
    assert capitation_main(["export", str(folder / "tiny_model.toml"),
                            "--out", str(folder / "tiny_model.xlsx")]) == 0
    return folder / "tiny_model.xlsx"


def _mutate_workbook(path: Path, rng: random.Random) -> str:
    book = openpyxl.load_workbook(path)
    sheet = book[rng.choice(book.sheetnames)]
    how = rng.choice(["cell", "cell", "cell", "cell", "row", "sheet"])
    if how == "sheet" and len(book.sheetnames) > 1:
        done = f"deleted sheet {sheet.title!r}"
        book.remove(sheet)
    elif how == "row":
        r = rng.randrange(1, max(sheet.max_row, 1) + 1)
        sheet.delete_rows(r)
        done = f"deleted row {r} of {sheet.title!r}"
    else:
        r = rng.randrange(1, max(sheet.max_row, 1) + 1)
        c = rng.randrange(1, max(sheet.max_column, 1) + 1)
        value = rng.choice(HOSTILE_XLSX)
        sheet.cell(r, c).value = value
        done = f"{sheet.title}!{sheet.cell(r, c).coordinate} = {str(value)[:40]!r}"
    book.save(path)
    return done


KINDS = ["tiny_toml", "tiny_csv", "msk_toml", "msk_csv", "workbook"]


def _digest(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.mark.parametrize("case", range(N_CASES))
def test_a_mutated_input_runs_and_ties_out_or_is_refused_in_one_line(
        case: int, tmp_path: Path, tiny_workbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(case)
    kind = KINDS[case % len(KINDS)]
    folder = tmp_path / "in"
    folder.mkdir()
    if kind == "workbook":
        shutil.copy(tiny_workbook, folder / "tiny_model.xlsx")
        for name in ("practices.csv", "baselines.csv"):
            shutil.copy(tiny_workbook.parent / name, folder / name)
        program, files = "capitation", sorted(folder.iterdir())
        argv = ["run", str(folder / "tiny_model.xlsx")]
        mutation = _mutate_workbook(folder / "tiny_model.xlsx", rng)
    else:
        program, files, argv = _model_files(kind, folder)
        target = files[0] if kind.endswith("toml") else rng.choice(files[1:])
        mutate = _mutate_toml if kind.endswith("toml") else _mutate_csv
        mutation = f"{target.name}: {mutate(target, rng)}"
    before = _digest(files)
    out = tmp_path / "out"
    out.mkdir()
    main = capitation_main if program == "capitation" else risk_share_main
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([*argv, "--out", str(out / "result.xlsx"), "--quiet"])
    captured = capsys.readouterr()
    where = f"case {case} ({kind}; {mutation})"
    assert "Traceback" not in captured.err + captured.out, f"{where}: {captured.err}"
    assert code in (0, 2), f"{where}: exit {code}: {captured.err}"
    assert _digest(files) == before, f"{where}: an input file changed"
    if code == 2:
        lines = [line for line in captured.err.strip().splitlines()
                 if not line.lower().startswith(("warning", "note"))]
        assert len(lines) == 1, f"{where}: not one line: {captured.err!r}"
        assert list(out.iterdir()) == [], f"{where}: wrote output for a refused input"
        return
    assert (out / "result.xlsx").is_file(), f"{where}: exit 0 without output"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if program == "risk_share":
                settlement = Agreement.from_toml(files[0]).settle(files[1])
                pence = (settlement.parties["pool_transfer_gbp"] * 100).round().astype("int64")
                assert pence.sum() == 0, f"{where}: transfers do not sum to zero"
            elif kind == "workbook":
                assert_ties_out(Model.from_excel(files[-1]).run())
            else:
                assert_ties_out(Model.from_toml(files[0]).run())
        except InputError as error:  # the command line ran it, so Python must too
            pytest.fail(f"{where}: the command line ran but Python refused: {error}")
