"""The guard refuses unsafe or damaged workbooks before any Excel library opens them."""

import struct
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from capitation import InputError
from capitation.excel.guard import check_workbook, error_cells
from capitation.excel.read import hidden_rows, merged_ranges, read_sheet_rows

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol3;'
    "</workbook>")


def small_workbook(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, ["code", "value"])
    sheet.write_row(1, 0, ["A", 1.5])
    sheet.write_row(2, 0, ["B", 2.5])
    sheet.set_row(2, None, None, {"hidden": True})
    sheet.merge_range("D1:E1", "merged")
    sheet.write_formula(3, 1, "=1/0", None, "#DIV/0!")
    book.close()
    return path


def rewrite(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w",
                                                        zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, data in replace.items():
            if name not in old.namelist():
                new.writestr(name, data)
    return target


def test_sound_workbook_passes_and_facts_are_found(tmp_path):
    path = small_workbook(tmp_path / "ok.xlsx")
    check_workbook(path)
    assert error_cells(path, "data") == [("B4", "#DIV/0!")]
    assert hidden_rows(path, "data") == [3]
    assert merged_ranges(path, "data") == ["D1:E1"]


def test_error_cells_are_reported_not_read_as_blanks(tmp_path):
    path = small_workbook(tmp_path / "errors.xlsx")
    with pytest.raises(InputError, match=r"errors\.xlsx, data!B4: holds an error value "
                                         r"\(B4 #DIV/0!\)"):
        read_sheet_rows(path, "data")


def test_zip_bomb_part_is_refused(tmp_path):
    path = rewrite(small_workbook(tmp_path / "a.xlsx"), tmp_path / "bomb.xlsx",
                   {"xl/media/zeros.bin": bytes(60 * 1024 * 1024)})
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match=r"bomb\.xlsx: refused: part xl/media/zeros\.bin "
                                         r"uncompresses to 60 MB at [\d,]+:1"):
        check_workbook(path)


def test_total_size_over_500_mb_is_refused(tmp_path):
    # Claim 600 MB for one part in the central directory (offset 24: uncompressed size).
    path = rewrite(small_workbook(tmp_path / "a.xlsx"), tmp_path / "big.xlsx",
                   {"xl/media/pad.bin": b"x"})
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x01\x02")
    data[at + 24:at + 28] = struct.pack("<I", 600 * 1024 * 1024)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"uncompress to 600 MB, over the 500 MB limit"):
        check_workbook(path)


def test_xml_bomb_is_refused(tmp_path):
    path = rewrite(small_workbook(tmp_path / "a.xlsx"), tmp_path / "laughs.xlsx",
                   {"xl/workbook.xml": BILLION_LAUGHS.encode()})
    with pytest.raises(InputError, match=r"part xl/workbook\.xml declares a DTD or entities"):
        check_workbook(path)


@pytest.mark.parametrize("cut", [0, 100, 2_000])
def test_truncated_or_empty_files_are_refused(tmp_path, cut):
    whole = small_workbook(tmp_path / "a.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[:cut])
    with pytest.raises(InputError, match=r"cut\.xlsx: .*(empty|truncated|damaged)"):
        check_workbook(path)


def test_csv_renamed_xlsx_is_refused(tmp_path):
    path = tmp_path / "renamed.xlsx"
    path.write_text("code,value\nA,1\n")
    with pytest.raises(InputError, match=r"renamed\.xlsx: is not an Excel workbook"):
        check_workbook(path)
