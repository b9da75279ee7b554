"""Live formulas in results workbooks, recalculated by LibreOffice.

Every formula cell of each results workbook is recalculated by a real
spreadsheet engine (LibreOffice, headless, with a throwaway profile set to
recalculate on load) and compared with the value Python cached in it: money
within £0.01, every other number within 1e-9 x max(1, |value|). LibreOffice
runs once per module over every workbook (a golden file from outside: the
expected values are LibreOffice's, not ours).
"""

import math
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from capitation import Model
from tests.capitation.helpers import write_model
from tests.support.libreoffice import recalculate, soffice

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "models" / "demo.toml"
MSK = ROOT / "models" / "msk.toml"

PACE_DATA = pd.DataFrame({
    "code": [f"P{i}" for i in range(1, 9)],
    "ICB": ["I1", "I1", "I1", "I2", "I2", "I3", "I3", "I3"],
    "pop": [1_000, 2_500, 1_700, 3_000, 900, 2_200, 1_300, 0],
    "wp": [1_100.5, 2_300.25, 1_650.0, 3_400.75, 1_000.0, 1_900.0, 1_400.125, 0.0],
})

PACE_MODEL = """
[model]
name = "pace"
year = "2025/26"
envelope_gbp = [3_000_000, 3_150_000]
need_index_convention = "{convention}"

[population]
file = "data.csv"
id = "code"
population = "pop"
levels = ["ICB"]

[[component]]
name = "core"
share = 0.8
weighted_population = {{ "wp" = 1.0 }}

[[component]]
name = "other"
share = 0.2
weighted_population = {{ "pop" = 1.0 }}

[pace_of_change]
level = "{level}"
years = ["2025/26", "2026/27"]
baseline = "baseline.csv"
min_growth = 0.01
max_growth = [0.2, 0.15]
"""


def _pace_model(folder: Path, level: str, convention: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if level == "ICB":
        baseline = pd.DataFrame({"ICB": ["I1", "I2", "I3"],
                                 "baseline_gbp": [1_000_000.0, 1_050_000.0, 800_000.0]})
    else:
        codes = PACE_DATA["code"][PACE_DATA["pop"] > 0]
        baseline = pd.DataFrame({"practice": codes,
                                 "baseline_gbp": np.linspace(300_000, 420_000, len(codes))})
        data = PACE_DATA[PACE_DATA["pop"] > 0]
    baseline.to_csv(folder / "baseline.csv", index=False)
    data = PACE_DATA if level == "ICB" else data
    return write_model(folder, PACE_MODEL.format(level=level, convention=convention), data)


def _demo_variant(folder: Path, convention: str) -> Path:
    body = DEMO.read_text().replace('"toolkit"', f'"{convention}"').replace(
        "../capitation", str(ROOT / "capitation")).replace(
        '"demo_baselines.csv"', f'"{ROOT / "models" / "demo_baselines.csv"}"')
    path = folder / f"demo_{convention}.toml"
    path.write_text(body)
    return path


def _sentinel(path: Path) -> Path:
    # A formula whose cached value is wrong: LibreOffice must replace it (proof it recalculated).
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("check")
    sheet.write_number(0, 0, 2)
    sheet.write_formula(0, 1, "=A1*21", None, 0)
    book.close()
    return path


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """Write every results workbook, recalculate all with one LibreOffice run."""
    assert soffice() is not None, "LibreOffice is needed: run .ci/ensure_libreoffice.sh"
    folder = tmp_path_factory.mktemp("recalc")
    models = {
        "demo": DEMO,
        "demo_nhs_england": _demo_variant(folder, "nhs_england"),
        "pace_icb": _pace_model(folder / "pace_icb", "ICB", "toolkit"),
        "pace_icb_nhs": _pace_model(folder / "pace_icb_nhs", "ICB", "nhs_england"),
    }
    models["msk"] = MSK
    written = {}
    for name, model in models.items():
        results = Model.from_toml(model).run()
        written[name] = (results.to_excel(folder / "in" / f"{name}.xlsx"), results)
    sentinel = _sentinel(folder / "in" / "sentinel.xlsx")
    started = time.perf_counter()
    outputs = recalculate([p for p, _ in written.values()] + [sentinel], folder / "out")
    seconds = time.perf_counter() - started
    return {name: (path, out, results) for (name, (path, results)), out
            in zip(written.items(), outputs, strict=False)}, outputs[-1], seconds


def _formula_cells(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    cells = {}
    for sheet in book.worksheets:
        found = []
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    found.append((cell.row - 1, cell.column - 1, cell.value))
        cells[sheet.title] = found
    book.close()
    return cells


def _compare(source: Path, recalculated_path: Path) -> tuple[int, list[str]]:
    cached = CalamineWorkbook.from_path(str(source))
    engine = CalamineWorkbook.from_path(str(recalculated_path))
    count, problems = 0, []
    for sheet, cells in _formula_cells(source).items():
        ours = cached.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        theirs = engine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        header = ours[0]
        for r, c, formula in cells:
            count += 1
            expected = ours[r][c]
            got = theirs[r][c] if r < len(theirs) and c < len(theirs[r]) else None
            column = str(header[c])
            if expected in ("", None):
                ok = got in ("", None)
            elif not isinstance(got, int | float) or isinstance(got, bool):
                ok = False
            else:
                tolerance = 0.01 if column.endswith("_gbp") else 1e-9 * max(1.0, abs(expected))
                ok = math.isclose(got, expected, rel_tol=0, abs_tol=tolerance)
            if not ok and len(problems) < 10:
                problems.append(f"{sheet}!{openpyxl.utils.get_column_letter(c + 1)}{r + 1} "
                                f"({column}) {formula}: Python {expected!r}, LibreOffice {got!r}")
    return count, problems


def test_libreoffice_recalculates_on_load(recalculated):
    _, sentinel, seconds = recalculated
    rows = CalamineWorkbook.from_path(str(sentinel)).get_sheet_by_name("check").to_python()
    assert rows[0][1] == 42  # the cached 0 was replaced: LibreOffice recalculated
    print(f"LibreOffice recalculated every workbook in {seconds:.1f} s")


@pytest.mark.parametrize("name", ["demo", "demo_nhs_england", "pace_icb", "pace_icb_nhs",
                                  "msk"])
def test_every_formula_matches_python(recalculated, name):
    books, _, _ = recalculated
    source, out, _ = books[name]
    count, problems = _compare(source, out)
    assert count > 0
    assert not problems, "\n".join(problems)


def test_audited_columns_are_formulas_and_lr_money_is_values(recalculated):
    books, _, _ = recalculated
    source, _, results = books["demo"]
    cells = _formula_cells(source)
    # Data rows only (zero-based 6 on, under the title block and header): the totals row
    # under them is a SUBTOTAL in every column that adds up.
    practice = {c for r, c, _ in cells["practice"] if 6 <= r < 6 + len(results.table("practice"))}
    icb = {c for r, c, _ in cells["ICB"] if 6 <= r < 6 + len(results.table("ICB"))}
    columns = ["ICB", *results.table("ICB").columns]
    formula_columns = {columns[c] for c in icb}
    pace_at_icb = results.spec.pace is not None and results.spec.pace.level == "ICB"
    # Above practice every figure but the codes and names (and the baseline, an input at
    # the pace level) is a formula; sums are SUMIFS.
    assert formula_columns == set(columns[1:]) - {"ICB", "name"} - (
        {"baseline_gbp"} if pace_at_icb else set())
    practice_columns = ["practice", *results.table("practice").columns]
    # At practice level, money rounded by largest remainder is a value: component targets,
    # and the allocation when pace of change shares it out.
    assert {practice_columns[c] for c in practice} == {
        "weighted_population", "need_index", "need_index_in_parent", "target_gbp",
        "distance_from_target", "allocation_per_head_gbp"} | (
        set() if results.spec.pace is not None else {"allocation_gbp"})
    # Each level has exactly its table's rows under the header (row 6, after the hidden key
    # row and the title block), then one totals row.
    rows = CalamineWorkbook.from_path(str(source)).get_sheet_by_name("ICB").to_python(
        skip_empty_area=False)
    assert len(rows) == 6 + len(results.table("ICB")) + 1
    assert [row[0] for row in rows[6:-1]] == list(results.table("ICB").index)
    assert rows[-1][0] == "Total"


@pytest.mark.parametrize("name", ["demo", "demo_nhs_england", "pace_icb"])
def test_totals_rows_equal_the_envelope_after_recalculation(recalculated, name):
    # The envelope is the model's (models/demo.toml: 120,000,000,000; PACE_MODEL above:
    # 3,000,000 then 3,150,000); after LibreOffice recalculates, each level's totals row of
    # target and allocation adds up to it to the penny.
    books, _, _ = recalculated
    _, out, _ = books[name]
    engine = CalamineWorkbook.from_path(str(out))
    envelopes = ({"2025/26": 3_000_000, "2026/27": 3_150_000} if name == "pace_icb"
                 else {"2025/26": 120_000_000_000})
    keys = engine.get_sheet_by_name("_columns").to_python()
    assert len(keys) > 1
    for sheet, _level, year, key_row, first, count in keys[1:]:
        envelope = envelopes[year]
        rows = engine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        names = rows[int(key_row) - 1]
        total = rows[int(first) - 1 + int(count)]
        assert total[0] == "Total"
        for column in ("target_gbp", "allocation_gbp", "population"):
            assert isinstance(total[names.index(column)], float), (sheet, column)
        for column in ("target_gbp", "allocation_gbp"):
            assert round(total[names.index(column)] * 100) == envelope * 100, (sheet, column)
        assert total[names.index("need_index")] in ("", None)  # an index does not add up


def test_sums_use_sumifs_and_parent_lookup(recalculated):
    books, _, _ = recalculated
    source, _, _ = books["pace_icb"]
    book = openpyxl.load_workbook(source)
    sheet = book["ICB_2025_26"]
    assert sheet["B7"].value.startswith("=SUMIFS('practice_2025_26'!")
    assert "!$B$7:$B$" in sheet["B7"].value  # the practices' rows, under the title block
    practice = book["practice_2025_26"]
    header = [c.value for c in practice[1]]  # the hidden row of exact column names
    in_parent = practice.cell(7, header.index("need_index_in_parent") + 1).value
    assert "MATCH(" in in_parent and "'ICB_2025_26'!" in in_parent
