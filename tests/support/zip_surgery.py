"""Damage a workbook's zip package on purpose: the hostile-input tests and corpus use these.

A workbook is a zip of parts; each helper writes a new file and never
changes its source.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

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


def parts(path: Path) -> dict[str, bytes]:
    """Every part of a workbook, by name, in zip order."""
    with zipfile.ZipFile(path) as book:
        return {info.filename: book.read(info) for info in book.infolist()}


def write_parts(target: Path, contents: dict[str, bytes], stored: tuple[str, ...] = ()) -> Path:
    """Write parts as a zip (deflated, except the ``stored`` ones)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in contents.items():
            kind = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            book.writestr(name, data, compress_type=kind)
    return target


def sheet_part(path: Path, sheet: str) -> str:
    """The part holding a sheet (``xl/worksheets/sheet2.xml``)."""
    from capitation.excel.guard import sheet_parts

    with zipfile.ZipFile(path) as book:
        return sheet_parts(book)[sheet]


def rewrite(source: Path, target: Path, replace: dict[str, bytes | None]) -> Path:
    """Copy a workbook, replacing parts (None drops a part; a new name adds one)."""
    contents = parts(source)
    for name, data in replace.items():
        if data is None:
            contents.pop(name, None)
        else:
            contents[name] = data
    return write_parts(target, contents)


def append_to_sheet(source: Path, target: Path, sheet: str, xml: bytes) -> Path:
    """Copy a workbook with ``xml`` (rows or cells) added at the end of a sheet's data."""
    part = sheet_part(source, sheet)
    data = parts(source)[part]
    assert b"</sheetData>" in data
    return rewrite(source, target, {part: data.replace(b"</sheetData>", xml + b"</sheetData>")})


def _entries(data: bytes, name: bytes) -> tuple[int, int]:
    """Offsets of a member's local header and central directory entry."""
    central = -1
    at = 0
    while True:
        at = data.find(b"PK\x01\x02", at)
        if at < 0:
            raise KeyError(name)
        length = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + length] == name:
            central = at
            break
        at += 4
    local = struct.unpack("<I", data[central + 42:central + 46])[0]
    return local, central


def set_declared(path: Path, part: str, size: int | None = None, crc: int | None = None) -> Path:
    """Change the size (and CRC) a member's headers declare, in place; its data is untouched."""
    data = bytearray(path.read_bytes())
    local, central = _entries(bytes(data), part.encode())
    if size is not None:
        data[local + 22:local + 26] = struct.pack("<I", size)
        data[central + 24:central + 28] = struct.pack("<I", size)
    if crc is not None:
        data[local + 14:local + 18] = struct.pack("<I", crc)
        data[central + 16:central + 20] = struct.pack("<I", crc)
    path.write_bytes(bytes(data))
    return path


def damage_late(source: Path, target: Path, part: str) -> Path:
    """Copy a workbook with one byte changed near the end of a part (stored, so only its CRC
    tells): a CRC error found only when the part is read to its end."""
    data = parts(source)
    original = data[part]
    write_parts(target, data, stored=(part,))
    raw = bytearray(target.read_bytes())
    local, _ = _entries(bytes(raw), part.encode())
    name_length, extra_length = struct.unpack("<HH", raw[local + 26:local + 30])
    start = local + 30 + name_length + extra_length
    at = start + len(original) - 20  # inside the closing tags
    raw[at] = ord("Q") if raw[at] != ord("Q") else ord("R")
    target.write_bytes(bytes(raw))
    assert zlib.crc32(raw[start:start + len(original)]) != zlib.crc32(original)
    return target
