"""Refuse workbooks that are not safe to open, before any Excel library sees them.

A workbook (``.xlsx``) is a zip of XML parts. Before reading one:

- the zip must open and every part's header must be sound (a truncated or
  renamed file is refused with a clear message);
- its parts must uncompress to at most :data:`MAX_TOTAL_BYTES` (500 MB) in
  all, and no part over :data:`MAX_PART_BYTES` (50 MB) may have a compression
  ratio above :data:`MAX_RATIO` (100:1): a zip bomb;
- no XML part may declare a document type (``<!DOCTYPE``): entity expansion
  (the "billion laughs" XML bomb) and external entities need one, and no
  workbook Excel or LibreOffice writes has one. Each part's prolog is parsed
  with :mod:`defusedxml`, which refuses DTDs and entities.

External links (``xl/externalLinks/``) are never followed: the readers read
the values cached in this file only. Error cells (``#DIV/0!``, ``#REF!``, ...)
are found by :func:`error_cells` so that readers can report them by sheet and
cell instead of reading them as blanks (calamine reads them as empty text).
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from capitation.errors import InputError
from capitation.inputs.files import cannot_read, check_file

__all__ = ["MAX_TOTAL_BYTES", "MAX_PART_BYTES", "MAX_RATIO", "check_workbook", "sheet_parts",
           "error_cells"]

log = logging.getLogger(__name__)

MAX_TOTAL_BYTES = 500 * 1024 * 1024
MAX_PART_BYTES = 50 * 1024 * 1024
MAX_RATIO = 100.0

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_ERROR_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?\bt=[\"']e[\"'][^>]*)>\s*(?:<(?:\w+:)?f[^>]*"
                         rb"(?:/>|>.*?</(?:\w+:)?f>)\s*)?(?:<(?:\w+:)?v>([^<]*)<)?", re.S)
_REF = re.compile(rb"\br=[\"']([A-Z]+[0-9]+)[\"']")


def check_workbook(path: str | Path) -> None:
    """Refuse a workbook that is not a sound zip, is a zip bomb or holds an XML bomb.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file.

    Raises
    ------
    InputError
        Naming the file and what is wrong with it.
    """
    path = Path(path)
    check_file(path)  # a pipe or device would block the zip reader
    if path.stat().st_size == 0:
        raise InputError("the file is empty (0 bytes); expected an Excel workbook (.xlsx)",
                         file=path)
    try:
        with zipfile.ZipFile(path) as book:
            infos = book.infolist()
            _check_sizes(path, infos)
            names = {info.filename for info in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise InputError("is a zip but not an Excel workbook (no xl/workbook.xml); "
                                 "save it from Excel as .xlsx", file=path)
            for info in infos:
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    _check_prolog(path, book, info)
            if any(n.startswith("xl/externalLinks/") for n in names):
                log.info("%s: external links ignored (only values cached here are read)",
                         path.name)
    except zipfile.BadZipFile as exc:
        raise InputError(f"is not an Excel workbook, or is truncated or damaged ({exc}); "
                         "expected an .xlsx file saved by Excel or LibreOffice",
                         file=path) from None
    except PermissionError as exc:
        raise cannot_read(path, exc) from None
    except (EOFError, OSError, zipfile.LargeZipFile) as exc:
        raise InputError(f"cannot be read: the workbook is truncated or damaged ({exc})",
                         file=path) from None


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
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
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        # zlib errors come through as zipfile.BadZipFile or OSError.
        raise InputError(f"part {info.filename} cannot be read ({exc}); the workbook is "
                         "truncated or damaged", file=path) from None
    except Exception as exc:  # zlib.error on a corrupt stream
        raise InputError(f"part {info.filename} cannot be read ({exc}); the workbook is "
                         "truncated or damaged", file=path) from None


def sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Map each sheet name to its part (``xl/worksheets/sheet1.xml``), in workbook order."""
    workbook = safe_xml.fromstring(book.read("xl/workbook.xml"), forbid_dtd=True)
    rels = safe_xml.fromstring(book.read("xl/_rels/workbook.xml.rels"), forbid_dtd=True)
    targets = {}
    for rel in rels.iter(f"{{{_NS_PKG}}}Relationship"):
        target = rel.get("Target", "")
        if target.startswith("/"):
            part = target[1:]
        else:
            part = str(PurePosixPath("xl") / target)
        targets[rel.get("Id")] = part
    out = {}
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        rid = sheet.get(f"{{{_NS_REL}}}id")
        if rid in targets:
            out[sheet.get("name")] = targets[rid]
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
        Such as ``[("C4", "#DIV/0!")]``.
    """
    with zipfile.ZipFile(path) as book:
        part = sheet_parts(book).get(sheet)
        if part is None or part not in book.namelist():
            return []
        data = book.read(part)
    if b't="e"' not in data and b"t='e'" not in data:
        return []
    found = []
    for match in _ERROR_CELL.finditer(data):
        ref = _REF.search(match.group(1))
        text = (match.group(2) or b"#ERROR").decode("utf-8", "replace")
        found.append((ref.group(1).decode() if ref else "?", text))
    return found
