"""Regenerate the damaged workbooks of tests/bad_inputs/ (run from the repository root).

    .venv/bin/python tests/bad_inputs/data/make_workbooks.py

Each workbook starts as ``capitation export tests/bad_inputs/data/tiny_model.toml``
(4 practices, 2 ICBs, pace of change and a one-line service budget, about
13 KB) and is damaged in one way, with openpyxl or by rewriting the zip. The
expected messages are in tests/bad_inputs/manifest.toml. Not collected by
pytest (the name does not start with ``test_``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from capitation.excel.model_export import export_model

HERE = Path(__file__).resolve().parent
CASES = HERE.parent

BILLION_LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>\n"
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


def edit(source: Path, target: Path, change: Callable[[openpyxl.Workbook], None]) -> None:
    book = openpyxl.load_workbook(source)
    change(book)
    book.save(target)


def set_cells(**cells: object) -> Callable[[openpyxl.Workbook], None]:
    """``set_cells(component__B2="twelve")``: sheet and cell joined by a double underscore."""

    def change(book: openpyxl.Workbook) -> None:
        for where, value in cells.items():
            sheet, cell = where.split("__")
            book[sheet][cell] = value

    return change


def error_value(sheet: str, cell: str, text: str) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        book[sheet][cell] = text  # openpyxl stores "#DIV/0!" as an error cell (t="e")
        assert book[sheet][cell].data_type == "e"

    return change


def rename(sheet: str, title: str) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        book[sheet].title = "renamed"  # openpyxl adds a 1 to a name equal to another ignoring case
        book["renamed"].title = title
        assert book[title].title == title

    return change


def rezip(source: Path, target: Path, replace: dict[str, bytes], level: int = 6) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(
        target, "w", zipfile.ZIP_DEFLATED, compresslevel=level
    ) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, data in replace.items():
            if name not in old.namelist():
                new.writestr(name, data)


def sheet_part(path: Path, sheet: str) -> str:
    from capitation.excel.guard import sheet_parts

    with zipfile.ZipFile(path) as book:
        return sheet_parts(book)[sheet]


def main() -> None:
    work = Path(tempfile.mkdtemp())
    good = export_model(HERE / "tiny_model.toml", work / "tiny.xlsx")

    def out(name: str) -> Path:
        return CASES / name

    edit(good, out("wb_wrong_type.xlsx"), set_cells(component__B2="twelve"))
    edit(good, out("wb_blank_required.xlsx"), set_cells(model__B2=None))
    edit(good, out("wb_merged_cells.xlsx"), lambda b: b["component"].merge_cells("B2:B3"))
    edit(good, out("wb_missing_sheet.xlsx"), lambda b: b.remove(b["component"]))
    edit(good, out("wb_renamed_sheet.xlsx"), rename("model", "Model "))
    edit(good, out("wb_date_for_number.xlsx"), set_cells(model__B4=dt.datetime(2025, 4, 1)))
    edit(good, out("wb_percentage_as_whole.xlsx"), set_cells(pace_of_change__B4=5))
    edit(good, out("wb_duplicated_codes.xlsx"), set_cells(population_data__A4="P001"))
    edit(good, out("wb_error_cell.xlsx"), error_value("component", "B3", "#DIV/0!"))
    edit(good, out("wb_negative_population.xlsx"), set_cells(population_data__B3=-2000))
    edit(good, out("wb_text_population.xlsx"), set_cells(population_data__B5="five hundred"))
    edit(good, out("wb_duplicated_key.xlsx"), set_cells(model__A4="name"))
    edit(good, out("wb_line_cost_shares.xlsx"), set_cells(line__E2=0.5))
    edit(good, out("wb_baseline_missing_icb.xlsx"), set_cells(baselines__A3="QZ"))
    edit(good, out("wb_unknown_column.xlsx"),
         set_cells(component__C1="weighted_population:Final WPP"))

    data = good.read_bytes()
    out("wb_truncated.xlsx").write_bytes(data[: len(data) // 2])
    shutil.copyfile(HERE / "practices.csv", out("wb_csv_renamed.xlsx"))
    out("wb_empty.xlsx").write_bytes(b"")
    with zipfile.ZipFile(out("wb_zip_not_workbook.xlsx"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("notes.txt", "a zip file, but not a workbook\n")
    # Zip bomb: one 60 MB part of zeros, compressed about 1000:1 (under 100 KB on disk).
    rezip(good, out("wb_zip_bomb.xlsx"), {"xl/media/zeros.bin": bytes(60 * 2**20)}, level=9)
    # XML bomb: billion laughs in the model sheet's part (10^9 "lol"s if expanded).
    rezip(good, out("wb_xml_bomb.xlsx"), {sheet_part(good, "model"): BILLION_LAUGHS})
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
