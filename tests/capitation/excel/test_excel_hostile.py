"""Hostile and damaged workbooks: each is refused with one clear message, fast, in bounded memory.

Every workbook here is made by the test in tmp_path from a small export
(tests/bad_inputs/data/tiny_model.toml, about 13 KB, or the MSK agreement),
damaged in one way. Far-out cells are read in a child process with its
address space capped, so that a regression fails the test instead of
aborting the test run (calamine allocates every cell from A1 to the last
value: one value at XFD1048576 asks for 512 GiB).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from capitation import InputError, Model
from capitation.cli import main as capitation_main
from capitation.excel.guard import check_workbook
from capitation.excel.model_export import export_model
from capitation.excel.names import OWN_SHEETS
from capitation.excel.read import read_sheet_rows
from capitation.excel.sheet_scan import (
    MAX_SHEET_CELLS,
    MAX_SHEET_COLUMNS,
    MAX_SHEET_ROWS,
    column_letter,
    scan_sheet,
)
from risk_share import Agreement
from risk_share.agreement_file import export_agreement
from risk_share.cli import main as risk_share_main
from tests.support.zip_surgery import (
    BILLION_LAUGHS,
    append_to_sheet,
    damage_late,
    parts,
    rewrite,
    set_declared,
    sheet_part,
    write_parts,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "bad_inputs" / "data"
MODELS = ROOT / "models"
WORKBOOKS = ROOT / "workbooks"
#: A child may use this much address space: the toolkit's imports need well under 2 GiB;
#: a regression (calamine allocating a far-out sheet) needs far more and fails.
CHILD_ADDRESS_SPACE = 3 * 2**30


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """``capitation export tiny_model.toml``: model, population, component, pace_of_change,
    service_budget, line, population_data, baselines."""
    return export_model(DATA / "tiny_model.toml",
                        tmp_path_factory.mktemp("tiny") / "tiny.xlsx")


@pytest.fixture(scope="module")
def msk(tmp_path_factory) -> Path:
    """``risk-share export msk_agreement.toml --lines msk_outturn.csv``."""
    return export_agreement(MODELS / "msk_agreement.toml",
                            tmp_path_factory.mktemp("msk") / "msk.xlsx", MODELS / "msk_outturn.csv")


def edit(source: Path, target: Path, change) -> Path:
    book = openpyxl.load_workbook(source)
    change(book)
    book.save(target)
    return target


def refused_by_cli(main, argv: list[str], out: Path, capsys) -> str:
    """Run a command line that must refuse its input: exit 2, one message, nothing written."""
    out.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = main([*argv, "--quiet"])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    program = captured.err.split(": error: ")[0]  # PROG: error: MESSAGE, one line
    assert program in ("capitation", "risk-share") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err + captured.out
    assert list(out.iterdir()) == [], "a refused input still wrote output"
    return captured.err


def run_refused(workbook: Path, tmp_path: Path, capsys, *extra: str) -> str:
    out = tmp_path / "out"
    return refused_by_cli(capitation_main, ["run", str(workbook), "--out",
                                            str(out / "results.xlsx"), *extra], out, capsys)


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


CHILD = """
import sys, time
from capitation import InputError
from capitation.excel.read import read_sheet_rows
started = time.perf_counter()
try:
    read_sheet_rows(sys.argv[1], sys.argv[2])
except InputError as exc:
    print(f"{time.perf_counter() - started:.3f}")
    print(exc)
    sys.exit(0)
print("read without an error")
sys.exit(3)
"""


def refused_in_child(path: Path, sheet: str) -> tuple[float, str]:
    """Read a sheet in a child process with capped memory; return (seconds, message)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), sheet], capture_output=True,
                          text=True, timeout=300, preexec_fn=_cap_address_space, env=env,
                          check=False)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    seconds, message = done.stdout.split("\n", 1)
    return float(seconds), message.strip()


# ---------------------------------------------------------------- 1. far-out cells


def test_a_value_at_xfd1048576_is_refused_fast_and_the_command_line_exits_2(tiny, tmp_path):
    # One cell at the last cell of a sheet: calamine would allocate 16,384 x 1,048,576 cells
    # (512 GiB) and abort the process with no message.
    far = append_to_sheet(tiny, tmp_path / "far.xlsx", "population_data",
                          b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    assert far.stat().st_size < 20_000
    seconds, message = refused_in_child(far, "population_data")
    assert seconds < 5  # a guard against hanging, not a benchmark
    assert message.startswith("far.xlsx, sheet population_data: has a value at XFD1048576; an "
                              "input sheet may use at most 200 columns (A to GR), 100,000 rows")

    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([sys.executable, "-m", "capitation", "run", str(far), "--out",
                           str(out / "results.xlsx"), "--quiet"], capture_output=True, text=True,
                          timeout=300, preexec_fn=_cap_address_space, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "far.xlsx, sheet population_data: has a value at XFD1048576" in done.stderr
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("sheet, xml, where", [
    # ZZ200000 cost 30 to 87 s and 5.6 GB before calamine gave up.
    ("model", b'<row r="200000"><c r="ZZ200000"><v>1</v></c></row>', "ZZ200000"),
    # A key/value sheet 16,384 columns wide (38 s and 4.1 GB to read before).
    ("pace_of_change", b'<row r="9">' + b"".join(
        f'<c r="{column_letter(c)}9"><v>{c}</v></c>'.encode() for c in range(16_384))
     + b"</row>", column_letter(MAX_SHEET_COLUMNS) + "9"),
    # One past the last row and column; rows x columns past the cell limit.
    ("population_data", f'<row r="{MAX_SHEET_ROWS + 1}"><c r="A{MAX_SHEET_ROWS + 1}"><v>1</v>'
     f"</c></row>".encode(), f"A{MAX_SHEET_ROWS + 1}"),
    ("population_data", b'<row r="9"><c r="GS9"><v>1</v></c></row>', "GS9"),
    ("population_data", f'<row r="{MAX_SHEET_CELLS // 200 + 1}"><c r="GR'
     f'{MAX_SHEET_CELLS // 200 + 1}"><v>1</v></c></row>'.encode(),
     f"GR{MAX_SHEET_CELLS // 200 + 1}"),
    # Cells without a reference take the next column (and a row without one the next row),
    # as calamine counts them.
    ("baselines", b'<row r="500000"><c><v>1</v></c></row>', "A500000"),
    ("baselines", b'<row r="9">' + b"<c><v>1</v></c>" * 201 + b"</row>", "GS9"),
    # A cell in another namespace is still a cell to calamine.
    ("model", b'<row r="9"><x:c xmlns:x="urn:other" r="AAA9"><x:v>1</x:v></x:c></row>', "AAA9"),
    # An inline string is a value too.
    ("model", b'<row r="9"><c r="XFD9" t="inlineStr"><is><t>far</t></is></c></row>', "XFD9"),
], ids=["ZZ200000", "16384_columns", "row_100001", "column_201", "cells_over_5M",
        "row_without_reference", "cells_without_reference", "foreign_namespace", "inline_string"])
def test_values_beyond_the_limits_are_refused_in_seconds(tiny, tmp_path, sheet, xml, where):
    far = append_to_sheet(tiny, tmp_path / "far.xlsx", sheet, xml)
    seconds, message = refused_in_child(far, sheet)
    assert seconds < 5
    assert f"far.xlsx, sheet {sheet}: has a value at {where};" in message


def test_what_is_not_a_value_does_not_count(tiny, tmp_path):
    # A declared dimension, an empty formatted cell and a row of nothing at the far end
    # cost calamine nothing: the sheet reads as it is.
    part = sheet_part(tiny, "population_data")
    xml = parts(tiny)[part]
    assert b'<dimension ref="' in xml
    wide = xml.replace(xml[xml.index(b'<dimension ref="'):xml.index(b"/>", xml.index(
        b'<dimension ref="')) + 2], b'<dimension ref="A1:XFD1048576"/>')
    wide = wide.replace(b"</sheetData>", b'<row r="1048575" hidden="1"/><row r="1048576">'
                                         b'<c r="XFD1048576" s="0"/></row></sheetData>')
    path = rewrite(tiny, tmp_path / "formatted.xlsx", {part: wide})
    before = read_sheet_rows(tiny, "population_data")
    assert read_sheet_rows(path, "population_data") == before
    scan = scan_sheet(path, "population_data")
    assert (scan.last_row, scan.last_column) == (len(before), len(before[0]))
    assert scan.hidden_rows == (1_048_575,)


def test_the_largest_allowed_corner_is_read(tiny, tmp_path):
    # A value in the last allowed row (the limit is inclusive): read, padded from A1.
    path = append_to_sheet(tiny, tmp_path / "long.xlsx", "baselines",
                           f'<row r="{MAX_SHEET_ROWS}"><c r="B{MAX_SHEET_ROWS}"><v>7</v></c>'
                           f"</row>".encode())
    rows = read_sheet_rows(path, "baselines")
    assert len(rows) == MAX_SHEET_ROWS and rows[-1] == ["", 7.0]


# ---------------------------------------------------------------- 2. damaged packages


@pytest.fixture
def damaged(tiny, tmp_path):
    """name → a workbook damaged in that way, and the fragments its message must hold."""
    model = sheet_part(tiny, "model")
    contents = parts(tiny)

    def no_shared_strings(target: Path) -> Path:
        # The part and its relationship both gone: calamine would fail on the first string.
        rels = contents["xl/_rels/workbook.xml.rels"]
        start = rels.rfind(b"<Relationship", 0, rels.index(b"sharedStrings"))
        end = rels.index(b"/>", start) + 2
        types = contents["[Content_Types].xml"]
        t_start = types.rfind(b"<Override", 0, types.index(b"/xl/sharedStrings.xml"))
        t_end = types.index(b"/>", t_start) + 2
        return rewrite(tiny, target, {"xl/sharedStrings.xml": None,
                                      "xl/_rels/workbook.xml.rels": rels[:start] + rels[end:],
                                      "[Content_Types].xml": types[:t_start] + types[t_end:]})

    def understated(target: Path) -> Path:
        path = write_parts(target, contents)
        return set_declared(path, model, size=100, crc=zlib.crc32(contents[model][:100]))

    def bomb(target: Path) -> Path:
        # 100 MB of spaces in the model sheet (some 100 KB compressed), whose headers declare
        # the sheet's old size and the CRC of that many bytes: only the stream tells.
        huge = contents[model].replace(b"<sheetData>", b"<sheetData>" + b" " * (100 * 2**20))
        path = write_parts(target, {**contents, model: huge})
        return set_declared(path, model, size=len(contents[model]),
                            crc=zlib.crc32(huge[:len(contents[model])]))

    return {
        "sheet_part_missing": (lambda t: rewrite(tiny, t, {model: None}),
                               [f"part {model}", "is missing; the workbook is damaged"]),
        "shared_strings_missing": (lambda t: rewrite(tiny, t, {"xl/sharedStrings.xml": None}),
                                   ["part xl/sharedStrings.xml", "is missing"]),
        "shared_strings_and_relationship_missing": (
            no_shared_strings, ["sheet model", f"part {model}", "damaged"]),
        "malformed_sheet": (
            lambda t: rewrite(tiny, t, {model: contents[model].replace(b"</sheetData>",
                                                                        b"<row></sheetData>")}),
            ["sheet model", f"part {model} is not well-formed XML", "damaged"]),
        "crc_error_late": (lambda t: damage_late(tiny, t, model),
                           [f"part {model}", "CRC", "truncated or damaged"]),
        "size_understated": (understated, [f"part {model}", "more than the 100 bytes its "
                                           "header declares"]),
        "bomb_behind_honest_looking_headers": (bomb, [f"part {model}", "its header declares"]),
        "truncated_stream": (
            lambda t: set_declared(write_parts(t, contents), model,
                                   size=len(contents[model]) + 1000),
            [f"part {model}", "shorter", "than its header declares"]),
    }


CASES = ["sheet_part_missing", "shared_strings_missing", "shared_strings_and_relationship_missing",
         "malformed_sheet", "crc_error_late", "size_understated",
         "bomb_behind_honest_looking_headers", "truncated_stream"]


@pytest.mark.parametrize("case", CASES)
def test_damaged_workbooks_exit_2_naming_the_file_and_part(damaged, case, tmp_path, capsys):
    make, fragments = damaged[case]
    path = make(tmp_path / f"{case}.xlsx")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = run_refused(path, tmp_path, capsys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 60  # a guard against hanging
    assert f"{case}.xlsx" in message
    missing = [f for f in fragments if f not in message]
    assert not missing, (missing, message)
    # Memory: the 100 MB part is never held whole (Python's allocations, traced).
    assert peak < 32 * 2**20, peak


@pytest.mark.parametrize("name", ["xl/drawings/vmlDrawing1.VML", "customXml/item1.dat",
                                  "xl/worksheets/_rels/sheet1.xml.RELS", "docProps/custom.XML",
                                  "xl/media/notes"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_dtd_in_any_part_whatever_its_name_is_refused(tiny, tmp_path, name, encoding,
                                                         capsys):
    text = BILLION_LAUGHS.decode().replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    bomb = rewrite(tiny, tmp_path / "laughs.xlsx", {name: text.encode(encoding)})
    with pytest.raises(InputError, match=rf"laughs\.xlsx: refused: part {name} declares a DTD "
                                         r"or entities"):
        check_workbook(bomb)
    message = run_refused(bomb, tmp_path, capsys)
    assert f"part {name} declares a DTD or entities" in message


def test_a_sheet_whose_part_has_no_xml_name_is_checked_too(tiny, tmp_path):
    # The workbook's relationship may point a sheet at any part name.
    model = sheet_part(tiny, "model")
    contents = parts(tiny)
    rels = contents["xl/_rels/workbook.xml.rels"].replace(
        model.removeprefix("xl/").encode(), b"worksheets/model.dat")
    path = rewrite(tiny, tmp_path / "renamed_part.xlsx",
                   {model: None, "xl/worksheets/model.dat": BILLION_LAUGHS,
                    "xl/_rels/workbook.xml.rels": rels})
    with pytest.raises(InputError, match=r"part xl/worksheets/model\.dat declares a DTD"):
        check_workbook(path)


def test_unusual_compression_and_encryption_are_refused(tiny, tmp_path):
    contents = parts(tiny)
    path = tmp_path / "bzip2.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in contents.items():
            book.writestr(name, data, compress_type=zipfile.ZIP_BZIP2
                          if name == "xl/styles.xml" else zipfile.ZIP_DEFLATED)
    with pytest.raises(InputError, match=r"part xl/styles\.xml uses compression method 12"):
        check_workbook(path)


# ---------------------------------------------------------------- 3. --with-inputs


def macro_workbook(tiny: Path, target: Path, vba: bool = True) -> Path:
    """An .xlsm renamed .xlsx: a VBA project and the macro-enabled workbook content type."""
    types = parts(tiny)["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    replace: dict[str, bytes | None] = {"[Content_Types].xml": types}
    if vba:
        replace["xl/vbaProject.bin"] = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    return rewrite(tiny, target, replace)


@pytest.mark.parametrize("vba", [True, False], ids=["vbaProject.bin", "content_type_only"])
def test_with_inputs_refuses_a_macro_enabled_workbook(tiny, tmp_path, capsys, vba):
    path = macro_workbook(tiny, tmp_path / "macros.xlsx", vba)
    message = run_refused(path, tmp_path, capsys, "--with-inputs")
    assert "macros.xlsx: carries macros (" in message
    assert ("xl/vbaProject.bin" in message) is vba
    assert "--with-inputs writes an .xlsx, which must not carry them" in message


def test_a_macro_enabled_workbook_is_still_read_without_with_inputs(tiny, tmp_path):
    # Only the values are read; the results workbook is written afresh, without macros.
    path = macro_workbook(tiny, tmp_path / "macros.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = Model.from_excel(path).run().to_excel(tmp_path / "results.xlsx")
    assert not any("vba" in name.lower() for name in zipfile.ZipFile(out).namelist())


def test_with_inputs_refuses_a_workbook_without_styles(tiny, tmp_path, capsys):
    # styles.xml gone, with its relationship: readable, but the results cannot add formats.
    contents = parts(tiny)
    rels = contents["xl/_rels/workbook.xml.rels"]
    start = rels.rfind(b"<Relationship", 0, rels.index(b"styles.xml"))
    end = rels.index(b"/>", start) + 2
    path = rewrite(tiny, tmp_path / "no_styles.xlsx", {
        "xl/styles.xml": None, "xl/_rels/workbook.xml.rels": rels[:start] + rels[end:]})
    message = run_refused(path, tmp_path, capsys, "--with-inputs")
    assert "no_styles.xlsx: has no styles part (xl/styles.xml)" in message
    # styles.xml gone but still named: the guard calls the workbook damaged.
    named = rewrite(tiny, tmp_path / "styles_named.xlsx", {"xl/styles.xml": None})
    message = run_refused(named, tmp_path, capsys, "--with-inputs")
    assert "part xl/styles.xml (relationship" in message and "is missing" in message


# ---------------------------------------------------------------- 4. files a workbook names


def set_value(sheet: str, key: str, value: object):
    """Set the value (column B) of a key in a key/value sheet."""

    def change(book: openpyxl.Workbook) -> None:
        rows = book[sheet]
        for row in rows.iter_rows(min_row=2, max_col=2):
            if row[0].value == key:
                row[1].value = value
                return
        raise KeyError(key)

    return change


def test_a_file_outside_the_workbooks_folder_is_refused_naming_the_cell(tiny, tmp_path,
                                                                         capsys):
    # pace_of_change!B3 (baseline) names a real, readable CSV one folder up.
    folder = tmp_path / "team"
    folder.mkdir()
    (tmp_path / "baselines.csv").write_bytes((DATA / "baselines.csv").read_bytes())
    path = edit(tiny, folder / "escape.xlsx", set_value("pace_of_change", "baseline",
                                                         "../baselines.csv"))
    message = run_refused(path, tmp_path, capsys)
    assert ('escape.xlsx, pace_of_change!B3: "../baselines.csv" names a file outside the '
            "workbook's folder; a model workbook may name only its own sheets, or files in its "
            "folder or below") in message


def test_an_absolute_path_is_refused(tiny, tmp_path):
    target = (DATA / "baselines.csv").resolve()
    path = edit(tiny, tmp_path / "absolute.xlsx",
                set_value("pace_of_change", "baseline", str(target)))
    with pytest.raises(InputError, match=r'pace_of_change!B3: ".*baselines\.csv" is an absolute '
                                         "path"):
        Model.from_excel(path)


def test_a_symbolic_link_out_of_the_folder_is_refused(tiny, tmp_path):
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "baselines.csv").symlink_to((DATA / "baselines.csv").resolve())
    path = edit(tiny, folder / "link.xlsx", set_value("pace_of_change", "baseline",
                                                       "baselines.csv"))
    with pytest.raises(InputError, match=r"link\.xlsx, pace_of_change!B3: \"baselines\.csv\" "
                                         "names a file outside the workbook's folder"):
        Model.from_excel(path)


def test_a_file_in_a_subfolder_is_read(tiny, tmp_path):
    folder = tmp_path / "team"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "baselines.csv").write_bytes((DATA / "baselines.csv").read_bytes())
    path = edit(tiny, folder / "inside.xlsx", set_value("pace_of_change", "baseline",
                                                         "data/baselines.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = Model.from_excel(path).run().table("ICB")["allocation_gbp"]
        from_sheet = Model.from_excel(tiny).run().table("ICB")["allocation_gbp"]
    assert from_file.tolist() == from_sheet.tolist()


# ---------------------------------------------------------------- 5. formulas with no saved value


def test_a_formula_without_a_saved_value_is_an_error_not_a_blank(tiny, tmp_path, capsys):
    # openpyxl saves a formula with no cached value; calamine would read a blank, and the
    # optional max_growth would silently vanish.
    def add_max_growth(book: openpyxl.Workbook) -> None:
        book["pace_of_change"]["A5"] = "max_growth"
        book["pace_of_change"]["B5"] = "=0.05+0.03"

    path = edit(tiny, tmp_path / "formula.xlsx", add_max_growth)
    message = run_refused(path, tmp_path, capsys)
    assert ("formula.xlsx, pace_of_change!B5: holds a formula with no saved value: recalculate "
            "and save in Excel, or type the value") in message


def test_an_agreement_formula_without_a_saved_value_is_an_error(msk, tmp_path, capsys):
    def cap(book: openpyxl.Workbook) -> None:
        book["party"]["C2"] = "=0.01*2"  # the CCG's max_loss

    path = edit(msk, tmp_path / "cap.xlsx", cap)
    out = tmp_path / "out"
    message = refused_by_cli(risk_share_main, ["settle", str(path), "--out",
                                               str(out / "settlement.xlsx")], out, capsys)
    assert "cap.xlsx, party!C2: holds a formula with no saved value" in message


def test_formulas_with_saved_values_are_read(tmp_path):
    path = tmp_path / "saved.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    sheet.write_formula(0, 0, "=1+1", None, 2)
    sheet.write_formula(0, 1, '="a"', None, "a")
    book.close()
    # An empty text result as Excel and LibreOffice save it (typed str) is a value too.
    path = append_to_sheet(path, tmp_path / "empty_text.xlsx", "data",
                           b'<row r="2"><c r="A2" t="str"><f>""</f><v></v></c></row>')
    assert read_sheet_rows(path, "data") == [[2.0, "a"], ["", ""]]


# ---------------------------------------------------------------- 6. sections that vanish


@pytest.mark.parametrize("sheet", ["line", "pace_of_change"])
def test_a_deleted_section_of_an_exported_model_is_an_error(tiny, tmp_path, capsys, sheet):
    path = edit(tiny, tmp_path / "cut.xlsx", lambda book: book.remove(book[sheet]))
    message = run_refused(path, tmp_path, capsys)
    assert (f'cut.xlsx, model!B5: no sheet "{sheet}", which this workbook lists in its sections: '
            f'restore the sheet (or, to drop that section on purpose, delete "{sheet}" from '
            "this cell)") in message


def test_a_deleted_marginal_rate_sheet_of_an_exported_agreement_is_an_error(msk, tmp_path):
    path = edit(msk, tmp_path / "cut.xlsx", lambda book: book.remove(book["marginal_rate"]))
    with pytest.raises(InputError, match=r'cut\.xlsx, agreement!B5: no sheet "marginal_rate", '
                                         "which this workbook lists"):
        Agreement.from_excel(path)


def test_a_section_dropped_on_purpose_is_accepted(tiny, tmp_path):
    def drop(book: openpyxl.Workbook) -> None:
        book.remove(book["pace_of_change"])
        book.remove(book["baselines"])
        set_value("model", "sections", "model, population, component, service_budget, line")(
            book)

    path = edit(tiny, tmp_path / "dropped.xlsx", drop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Model.from_excel(path).spec.pace is None


def test_a_misspelt_section_is_an_error(tiny, tmp_path):
    path = edit(tiny, tmp_path / "typo.xlsx",
                set_value("model", "sections", "model, population, componnet"))
    with pytest.raises(InputError, match=r'model!B5: sections lists "componnet", which is not a '
                                         "section of this workbook"):
        Model.from_excel(path)


def test_a_template_without_the_record_may_be_cut_down(tmp_path):
    # Templates carry no record, so a team may drop a section; only required sheets count.
    for row in read_sheet_rows(WORKBOOKS / "service_budget.xlsx", "model"):
        assert row[0] != "sections"
    path = edit(WORKBOOKS / "service_budget.xlsx", tmp_path / "cut.xlsx",
                lambda book: book.remove(book["new_service"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Model.from_excel(path).run().budget is not None


def test_an_older_export_without_the_record_reads_as_before(tiny, tmp_path):
    def older(book: openpyxl.Workbook) -> None:
        book["model"].delete_rows(5)  # the sections row
        book.remove(book["pace_of_change"])

    path = edit(tiny, tmp_path / "older.xlsx", older)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Model.from_excel(path).spec.pace is None


def test_the_record_is_not_a_key_of_the_model(tiny):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = Model.from_excel(tiny).spec
    assert "sections" not in spec.raw["model"]
    assert set(spec.sheets) >= {"model", "population", "component", "pace_of_change",
                                "service_budget", "line", "population_data", "baselines"}


# ---------------------------------------------------------------- 7. reserved sheet names


def model_with_level(folder: Path, level: str) -> Path:
    """The tiny model with its ICB column (and level) renamed ``level``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("practices.csv", "baselines.csv"):
        text = (DATA / name).read_text(encoding="utf-8")
        header, rest = text.split("\n", 1)
        (folder / name).write_text(header.replace("ICB", level) + "\n" + rest, encoding="utf-8")
    toml = (DATA / "tiny_model.toml").read_text(encoding="utf-8").replace(
        'levels = ["ICB"]', f"levels = [{level!r}]").replace('level = "ICB"',
                                                              f"level = {level!r}")
    (folder / "model.toml").write_text(toml, encoding="utf-8")
    return folder / "model.toml"


@pytest.mark.parametrize("level, owner", [("History", "Excel reserves"),
                                          ("history", "Excel reserves"),
                                          ("assumptions", "for a sheet of its own"),
                                          ("Pace_Of_Change_Path", "for a sheet of its own"),
                                          ("budget_lines", "for a sheet of its own")])
def test_a_level_named_like_a_reserved_sheet_is_refused(tmp_path, capsys, level, owner):
    model = model_with_level(tmp_path / "model", level)
    out = tmp_path / "out"
    message = refused_by_cli(capitation_main, ["run", str(model), "--out",
                                               str(out / "results.xlsx")], out, capsys)
    assert f'model.toml, key population.levels: level "{level}" gives the sheet name' in message
    assert owner in message and "rename the level" in message


def test_a_level_with_apostrophes_at_its_ends_gets_a_safe_sheet_name(tmp_path):
    model = model_with_level(tmp_path / "model", "'ICB'")
    out = Model.from_toml(model).run().to_excel(tmp_path / "results.xlsx")
    names = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert names[:3] == ["summary", "practice", "_ICB_"]


def test_the_results_sheets_are_the_reserved_ones(tiny, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = Model.from_excel(tiny).run()
    out = results.to_excel(tmp_path / "results.xlsx")
    names = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert set(names) - set(results.levels) <= set(OWN_SHEETS)


def test_with_inputs_replaces_a_results_sheet_whatever_its_case(tiny, tmp_path, capsys):
    # A sheet "Assumptions" and the results' "assumptions" are one name to Excel.
    def add(book: openpyxl.Workbook) -> None:
        book.create_sheet("Assumptions")["A1"] = "an older run"
        book.create_sheet("PRACTICE")["A1"] = "an older run"

    path = edit(tiny, tmp_path / "team.xlsx", add)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert capitation_main(["run", str(path), "--with-inputs", "--out",
                                str(tmp_path / "out.xlsx"), "--quiet"]) == 0
    capsys.readouterr()
    names = openpyxl.load_workbook(tmp_path / "out.xlsx", read_only=True).sheetnames
    folded = [name.casefold() for name in names]
    assert len(folded) == len(set(folded)), names
    assert "assumptions" in names and "practice" in names


def test_with_inputs_refuses_a_level_that_would_replace_an_input_sheet(tmp_path, capsys):
    # A level named "Model" would overwrite the model sheet in the copy.
    model = model_with_level(tmp_path / "model", "Model")
    workbook = export_model(model, tmp_path / "model" / "levels.xlsx")
    message = run_refused(workbook, tmp_path, capsys, "--with-inputs")
    assert ('levels.xlsx: the results sheet "Model" would replace the input sheet "model"'
            in message)
