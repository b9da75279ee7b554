"""Refuse workbooks that are not safe to open, before any Excel library sees them.

A workbook (``.xlsx``) is a zip of XML parts. Before reading one:

- the zip must open and every part's header must be sound (a truncated or
  renamed file is refused with a clear message);
- its parts must uncompress to at most :data:`MAX_TOTAL_BYTES` (500 MB) in
  all, and no part over :data:`MAX_PART_BYTES` (50 MB) may have a compression
  ratio above :data:`MAX_RATIO` (100:1): a zip bomb. The sizes are checked
  twice: as the zip's headers declare them, and by uncompressing every part
  in chunks and counting the bytes, so a header that understates a part's size
  is refused the moment the part outgrows it (calamine trusts the compressed
  stream, not the header). A damaged part (a CRC error, a truncated stream) is
  found the same way, naming the part;
- no part, whatever its name, may declare a document type (``<!DOCTYPE``) or
  an entity (``<!ENTITY``): entity expansion (the "billion laughs" XML bomb)
  and external entities need one, and no workbook Excel or LibreOffice writes
  has one. Every part is searched for both, in any letter case and in UTF-16;
  the prolog of each XML part is also parsed with :mod:`defusedxml`, which
  refuses DTDs and entities;
- every sheet, and every part the workbook's relationships name, must be in
  the zip (a workbook without its shared strings or a sheet is damaged).

External links (``xl/externalLinks/``) are never followed: the readers read
the values cached in this file only. Each sheet is checked again as it is
read (:mod:`capitation.excel.sheet_scan`: its used range, formula cells with
no saved value, error cells).
"""

from __future__ import annotations

import copy
import logging
import posixpath
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from capitation.errors import InputError
from capitation.inputs.files import cannot_read, check_file

__all__ = ["MAX_TOTAL_BYTES", "MAX_PART_BYTES", "MAX_RATIO", "check_workbook", "sheet_parts",
           "error_cells", "macro_parts"]

log = logging.getLogger(__name__)

MAX_TOTAL_BYTES = 500 * 1024 * 1024
MAX_PART_BYTES = 50 * 1024 * 1024
MAX_RATIO = 100.0

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_BOOK_RELS = "xl/_rels/workbook.xml.rels"
_CHUNK = 1 << 16
#: What starts a document type declaration or an entity declaration (lower case).
_DTD_MARKS = (b"<!doctype", b"<!entity")
_XML_NAMES = (".xml", ".rels", ".vml")


def check_workbook(path: str | Path) -> None:
    """Refuse a workbook that is not a sound zip, is a zip bomb or holds an XML bomb.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file.

    Raises
    ------
    InputError
        Naming the file (and the part) and what is wrong with it.
    """
    path = Path(path)
    check_file(path)  # a pipe or device would block the zip reader
    if path.stat().st_size == 0:
        raise InputError("the file is empty (0 bytes); expected an Excel workbook (.xlsx)",
                         file=path)
    part = None
    try:
        with zipfile.ZipFile(path) as book:
            infos = [info for info in book.infolist() if not info.is_dir()]
            _check_sizes(path, infos)
            names = [info.filename for info in infos]
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise InputError("is a zip but not an Excel workbook (no xl/workbook.xml); "
                                 "save it from Excel as .xlsx", file=path)
            twice = sorted(n for n, count in Counter(names).items() if count > 1)
            if twice:
                raise InputError(f"part {twice[0]} is in the zip twice; the workbook is "
                                 "damaged", file=path)
            left = MAX_TOTAL_BYTES
            for info in infos:
                part = info.filename
                left -= _check_part(path, book, info, left)
                if info.filename.lower().endswith(_XML_NAMES):
                    _check_prolog(path, book, info)
            part = None
            _check_links(path, book, set(names))
            if any(n.startswith("xl/externalLinks/") for n in names):
                log.info("%s: external links ignored (only values cached here are read)",
                         path.name)
    except zipfile.BadZipFile as exc:
        if part is not None:
            raise InputError(f"part {part} cannot be read ({exc}); the workbook is truncated "
                             "or damaged", file=path) from None
        raise InputError(f"is not an Excel workbook, or is truncated or damaged ({exc}); "
                         "expected an .xlsx file saved by Excel or LibreOffice",
                         file=path) from None
    except PermissionError as exc:
        raise cannot_read(path, exc) from None
    except (EOFError, OSError, zipfile.LargeZipFile, zlib.error) as exc:
        where = f"part {part} " if part is not None else ""
        raise InputError(f"{where}cannot be read: the workbook is truncated or damaged ({exc})",
                         file=path) from None


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse, from the zip's headers alone, a workbook that declares a bomb."""
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise InputError(f"refused: its parts uncompress to {total / 2**20:,.0f} MB, over the "
                         f"{MAX_TOTAL_BYTES // 2**20} MB limit (a zip bomb?)", file=path)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_PART_BYTES and ratio > MAX_RATIO:
            raise InputError(f"refused: part {info.filename} uncompresses to "
                             f"{info.file_size / 2**20:,.0f} MB at {ratio:,.0f}:1 (a zip bomb?)",
                             file=path)


def _check_part(path: Path, book: zipfile.ZipFile, info: zipfile.ZipInfo, left: int) -> int:
    """Uncompress one part in chunks; return its size, refusing what the headers hid.

    The part is read past the size its header declares (a copy of its header
    declares ``left + 1`` bytes), so the bytes counted are the stream's own:
    a part larger than its header says, or than the bytes ``left`` of the
    total, is refused as soon as it grows past them. Every chunk is searched
    for a DTD or entity declaration.
    """
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputError(f"part {name} uses compression method {info.compress_type}, which "
                         "Excel never writes; save the workbook again from Excel", file=path)
    if info.flag_bits & 0x1:
        raise InputError(f"part {name} is encrypted; save the workbook without a password",
                         file=path)
    probe = copy.copy(info)
    probe.file_size = left + 1
    del probe.CRC  # checked here, after the sizes: zipfile would check it first
    size = 0
    crc = 0
    tail = b""
    with book.open(probe) as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise InputError(f"refused: part {name} uncompresses to more than the "
                                 f"{info.file_size:,} bytes its header declares (a zip bomb, "
                                 "or a damaged file)", file=path)
            if size > left:
                raise InputError(f"refused: its parts uncompress to more than "
                                 f"{MAX_TOTAL_BYTES // 2**20} MB, the limit (a zip bomb?)",
                                 file=path)
            crc = zlib.crc32(chunk, crc)
            text = tail + chunk.replace(b"\x00", b"").lower()  # UTF-16 without its zeros
            if any(mark in text for mark in _DTD_MARKS):
                raise InputError(f"refused: part {name} declares a DTD or entities (an XML "
                                 "bomb?)", file=path)
            tail = text[-16:]
    if size < info.file_size:
        raise InputError(f"part {name} is shorter ({size:,} bytes) than its header declares "
                         f"({info.file_size:,}); the workbook is truncated or damaged",
                         file=path)
    if crc != info.CRC:
        raise InputError(f"part {name} cannot be read (Bad CRC-32: its bytes do not match the "
                         "checksum in its header); the workbook is truncated or damaged",
                         file=path)
    return size


def _check_prolog(path: Path, book: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Parse up to the root element with DTDs and entities forbidden."""
    try:
        with book.open(info) as handle:
            for _event, _element in safe_xml.iterparse(handle, events=("start",),
                                                       forbid_dtd=True):
                break
    except DefusedXmlException as exc:
        raise InputError(f"refused: part {info.filename} declares a DTD or entities "
                         f"({type(exc).__name__}; an XML bomb?)", file=path) from None
    except safe_xml.ParseError as exc:
        raise InputError(f"part {info.filename} is not well-formed XML ({exc}); the workbook "
                         "is damaged", file=path) from None


def _check_links(path: Path, book: zipfile.ZipFile, names: set[str]) -> None:
    """Refuse a workbook whose sheets or related parts are missing from the zip."""
    if _BOOK_RELS not in names:
        raise InputError(f"part {_BOOK_RELS} is missing; the workbook is damaged", file=path)
    workbook, targets = _book_index(path, book)
    for rid, (target, external) in targets.items():
        if not external and target not in names:
            raise InputError(f"part {target} (relationship {rid} of xl/workbook.xml) is "
                             "missing; the workbook is damaged", file=path)
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        rid = sheet.get(f"{{{_NS_REL}}}id")
        if rid not in targets:
            raise InputError(f'sheet "{sheet.get("name")}" has no part (relationship {rid} is '
                             f"not in {_BOOK_RELS}); the workbook is damaged", file=path)


def _book_index(path: Path | None, book: zipfile.ZipFile
                ) -> tuple[safe_xml.Element, dict[str, tuple[str, bool]]]:
    """Parse xl/workbook.xml and its relationships: (workbook, rId → (part, external))."""
    try:
        workbook = safe_xml.fromstring(book.read("xl/workbook.xml"), forbid_dtd=True)
        rels = safe_xml.fromstring(book.read(_BOOK_RELS), forbid_dtd=True)
    except KeyError as exc:
        raise InputError(f"part {exc.args[0]} is missing; the workbook is damaged",
                         file=path) from None
    except (safe_xml.ParseError, DefusedXmlException) as exc:
        raise InputError(f"xl/workbook.xml or {_BOOK_RELS} is not well-formed XML ({exc}); "
                         "the workbook is damaged", file=path) from None
    targets = {}
    for rel in rels.iter(f"{{{_NS_PKG}}}Relationship"):
        target = rel.get("Target", "")
        external = rel.get("TargetMode") == "External"
        part = target[1:] if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
        targets[rel.get("Id", "")] = (target if external else part, external)
    return workbook, targets


def macro_parts(book: zipfile.ZipFile) -> list[str]:
    """Return the parts of a package that carry macros (VBA projects, macro sheets).

    A macro-enabled workbook (``.xlsm``) renamed ``.xlsx`` still carries them:
    a VBA project (``xl/vbaProject.bin``), Excel 4 macro sheets or dialog
    sheets, or a macro-enabled content type.
    """
    found = [name for name in book.namelist()
             if posixpath.basename(name).lower().startswith("vbaproject")
             or name.lower().startswith(("xl/macrosheets/", "xl/dialogsheets/"))]
    try:
        types = safe_xml.fromstring(book.read("[Content_Types].xml"), forbid_dtd=True)
    except (KeyError, safe_xml.ParseError, DefusedXmlException):
        return found
    for element in types:
        kind = (element.get("ContentType") or "").lower()
        if "macroenabled" in kind or "vbaproject" in kind or "macrosheet" in kind:
            where = element.get("PartName") or f"*.{element.get('Extension')}"
            found.append(f"{where.lstrip('/')} (macro-enabled)")
    return sorted(set(found))


def sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Map each sheet name to its part (``xl/worksheets/sheet1.xml``), in workbook order."""
    workbook, targets = _book_index(None, book)
    out = {}
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        rid = sheet.get(f"{{{_NS_REL}}}id")
        if rid in targets and not targets[rid][1]:
            out[sheet.get("name", "")] = targets[rid][0]
    return out


def error_cells(path: str | Path, sheet: str) -> list[tuple[str, str]]:
    """Return the error cells of one sheet as (cell reference, error text), in file order.

    Parameters
    ----------
    path : str or Path
        A workbook that passed :func:`check_workbook`.
    sheet : str
        Sheet name.

    Returns
    -------
    list of (str, str)
        Such as ``[("C4", "#DIV/0!")]`` (the first
        :data:`~capitation.excel.sheet_scan.MAX_LISTED`).
    """
    from capitation.excel.sheet_scan import scan_sheet  # it reads sheet_parts from here

    return list(scan_sheet(path, sheet).errors)
