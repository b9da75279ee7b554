"""--with-inputs: results into a copy of the team's workbook, other parts kept byte for byte."""

import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from lxml import etree
from python_calamine import CalamineWorkbook

from capitation import Model, read_results
from capitation.cli import main
from capitation.excel.patch import write_results_into
from tests.capitation.excel.test_formulas import _compare
from tests.support.libreoffice import recalculate

INDEX_PARTS = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
               "docProps/app.xml", "docProps/core.xml", "xl/calcChain.xml"}
APPEND_ONLY = {"xl/styles.xml", "xl/sharedStrings.xml"}
# A 1x1 PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


def add_team_sheet(book: xlsxwriter.Workbook, folder: Path, comment: str) -> None:
    """A finance team's own sheet: formats, comment, sparkline, image, chart, names."""
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    notes = book.add_worksheet("Our notes")
    notes.write_string(0, 0, "Board paper March", bold)
    notes.write_column(1, 0, [10, 20, 30, 25])
    notes.write_comment(0, 0, comment)
    notes.add_sparkline(0, 2, {"range": "'Our notes'!A2:A5"})
    notes.insert_image(6, 3, str(folder / "logo.png"))
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": "='Our notes'!$A$2:$A$5"})
    notes.insert_chart(6, 6, chart)
    notes.write_formula(5, 0, "=SUM(A2:A5)", None, 85)
    book.define_name("board_total", "='Our notes'!$A$6")
    book.define_name("'Our notes'!local_name", "='Our notes'!$A$2")


def team_workbook(path: Path, folder: Path) -> Path:
    """A model workbook a team has worked on: its own sheets, a chart, comments, names."""
    (folder / "logo.png").write_bytes(PNG)
    book = xlsxwriter.Workbook(str(path))
    add_team_sheet(book, folder, "Check with the CFO")
    model = book.add_worksheet("model")
    for r, (key, value) in enumerate([("key", "value"), ("name", "team model"),
                                      ("year", "2025/26"), ("envelope_gbp", 3_000_000)]):
        model.write(r, 0, key)
        model.write(r, 1, value)
    population = book.add_worksheet("population")
    for r, (key, value) in enumerate([("key", "value"), ("file", "population_data"),
                                      ("id", "code"), ("population", "pop"),
                                      ("levels_1", "ICB")]):
        population.write(r, 0, key)
        population.write(r, 1, value)
    component = book.add_worksheet("component")
    component.write_row(0, 0, ["name", "share", "weighted_population:wp"])
    component.write_row(1, 0, ["core", 1.0, 1.0])
    data = book.add_worksheet("population_data")
    data.write_row(0, 0, ["code", "ICB", "pop", "wp"])
    for r, row in enumerate([["P1", "I1", 1000, 1400], ["P2", "I1", 1000, 1200],
                             ["P3", "I2", 1000, 2000]], start=1):
        data.write_row(r, 0, row)
    book.close()
    return path


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def assert_kept(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    for name, data in before.items():
        if name in INDEX_PARTS:
            continue
        assert name in after, f"{name} was dropped"
        if name in APPEND_ONLY and after[name] != data:
            old, new = etree.fromstring(data), etree.fromstring(after[name])
            blocks = [(old, new)] if name.endswith("sharedStrings.xml") else [
                (b, new.find(b.tag)) for b in old]
            for block_old, block_new in blocks:
                assert block_new is not None, (name, block_old.tag)
                assert len(block_new) >= len(block_old), (name, block_old.tag)
                for a, b in zip(block_old, block_new, strict=False):
                    assert etree.tostring(a) == etree.tostring(b), (name, block_old.tag)
            continue
        assert after[name] == data, f"{name} changed"


@pytest.fixture
def team(tmp_path):
    return team_workbook(tmp_path / "team.xlsx", tmp_path)


def test_team_parts_are_kept_byte_for_byte(team, tmp_path):
    before = parts(team)
    assert any(n.startswith("xl/charts/") for n in before)
    assert any("comments" in n for n in before)
    results = Model.from_excel(team).run()
    out = write_results_into(results, team, tmp_path / "out.xlsx")
    assert parts(team) == before  # the input is never modified
    after = parts(out)
    assert_kept(before, after)
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names[:5] == ["Our notes", "model", "population", "component",
                                    "population_data"]
    assert {"practice", "ICB", "assumptions"} <= set(book.sheet_names)
    # The results read back by their machine keys, as from a results workbook.
    for level in results.levels:
        pd.testing.assert_frame_equal(read_results(out, level), results.table(level),
                                      check_exact=False, rtol=1e-14, atol=0)
    # The patched workbook still reads as the same model.
    again = Model.from_excel(out).run()
    assert again.table("practice").equals(results.table("practice"))

    # A second run replaces the results sheets: no duplicates, team parts still intact.
    second = write_results_into(again, out, tmp_path / "out2.xlsx")
    names = CalamineWorkbook.from_path(str(second)).sheet_names
    assert names.count("practice") == 1 and len(names) == len(book.sheet_names)
    assert_kept(before, parts(second))

    # LibreOffice opens the patched file and its formulas recalculate to Python's values.
    [recalculated] = recalculate([second], tmp_path / "lo")
    count, problems = _compare(second, recalculated)
    assert count > 0 and not problems, problems


def test_cli_with_inputs(team, tmp_path, capsys):
    out = tmp_path / "with_inputs.xlsx"
    assert main(["run", str(team), "--with-inputs", "--out", str(out), "--quiet"]) == 0
    assert "Our notes" in CalamineWorkbook.from_path(str(out)).sheet_names
    assert main(["run", str(team), "--with-inputs", "--out", str(team)]) == 2
    assert "would overwrite" in capsys.readouterr().err
