"""Results into a copy of the team's workbook, keeping every other part byte for byte.

``capitation run MODEL.xlsx --with-inputs`` writes a copy of the model
workbook with the results sheets added (or, on a second run, replaced);
``risk-share settle AGREEMENT.xlsx --with-inputs`` does the same with the
settlement sheets (:func:`write_into` serves both).
openpyxl's load-and-save would lose shapes, sparklines, comments' layout and
cached values, so this module patches the package (a zip of XML parts)
directly with :mod:`zipfile` and lxml:

1. the results workbook is written as usual (xlsxwriter) to a temporary file;
2. its worksheets (and the drawings and charts they use) are copied in as new
   parts with unused names; their shared strings become inline strings, so
   ``xl/sharedStrings.xml`` is untouched, and their cell formats are appended
   to ``xl/styles.xml`` (fonts, fills, borders, number formats, cell formats),
   with the sheets' ``s=`` indices moved past the existing ones, so every
   existing index stays valid;
3. the package's index parts are updated: ``[Content_Types].xml``,
   ``xl/workbook.xml`` (sheets; ``localSheetId`` of defined names), its
   relationships; ``xl/calcChain.xml`` is dropped (Excel rebuilds it);
4. the results' defined names (each sheet's print titles, print area and
   autofilter range) follow their sheets, and a hidden sheet (``_columns``)
   stays hidden; the team's selected sheet stays the one selected.

Every other part of the input (the team's sheets, charts, comments, images,
defined names, ``docProps``) is copied unchanged. The input is never
modified; the output is written atomically.

A results sheet replaces a sheet of the same name, letter case aside (Excel
ignores case in sheet names), except an input sheet: a level named like one
(``model``) is refused rather than overwrite the inputs in the copy. A
workbook that carries macros (a ``.xlsm`` renamed ``.xlsx``) is refused: the
copy is an ``.xlsx``, which must not carry them. So is a workbook whose
package lacks what the patch needs (its styles) or whose index parts are not
well-formed XML.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from capitation.errors import InputError
from capitation.excel.guard import check_workbook, macro_parts
from capitation.files import write_atomically

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["patch_workbook", "write_into", "write_results_into"]

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_TYPE = REL + "/worksheet"
CALC_CHAIN_TYPE = REL + "/calcChain"
STYLES_TYPE = REL + "/styles"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          remove_blank_text=False)


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, _PARSER)


def _dump(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _target(part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


def _relative(source: str, part: str) -> str:
    return posixpath.relpath(part, posixpath.dirname(source))


class _Damaged(Exception):
    """A part of the team's workbook the patch cannot use (the caller names the file)."""


def _parse(parts: dict[str, bytes], part: str) -> etree._Element:
    """Parse a part of the team's workbook; a missing or malformed one is :class:`_Damaged`."""
    if part not in parts:
        raise _Damaged(f"part {part} is missing; the workbook is damaged")
    try:
        return _xml(parts[part])
    except etree.XMLSyntaxError as exc:
        raise _Damaged(f"part {part} is not well-formed XML ({exc}); the workbook is "
                       "damaged") from None


def write_into(write_sheets: Callable[[Path], Path], workbook: str | Path,
               out: str | Path, keep: Collection[str] = ()) -> Path:
    """Write sheets into a copy of ``workbook`` saved as ``out`` (atomically).

    Parameters
    ----------
    write_sheets : callable
        Writes a workbook of the sheets to add (or replace) to the path it is
        given, inside a private temporary folder, and returns that path.
    workbook : str or Path
        The team's workbook; never modified.
    out : str or Path
        The output ``.xlsx``; must not be ``workbook``.
    keep : collection of str, optional
        The workbook's input sheets, which no results sheet may replace.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    InputError
        When ``out`` is ``workbook``, ``workbook`` is not a safe workbook or
        carries macros, or a results sheet would replace an input sheet.
    """
    workbook, out = Path(workbook), Path(out)
    if out.resolve() == workbook.resolve():
        raise InputError("the output would overwrite the input workbook", file=workbook)
    with tempfile.TemporaryDirectory(prefix="capitation-results-") as scratch:
        fresh = write_sheets(Path(scratch) / "results.xlsx")
        return patch_workbook(workbook, fresh, out, keep)


def write_results_into(results: Results, workbook: str | Path, out: str | Path) -> Path:
    """Write ``results`` into a copy of ``workbook`` saved as ``out`` (atomically).

    Parameters
    ----------
    results : capitation.results.Results
        What a run produced.
    workbook : str or Path
        The team's workbook (the model workbook); never modified.
    out : str or Path
        The output ``.xlsx``; must not be ``workbook``.

    Returns
    -------
    Path
        ``out``.
    """
    return write_into(results.to_excel, workbook, out, keep=results.spec.sheets)


def patch_workbook(base: str | Path, results: str | Path, out: str | Path,
                   keep: Collection[str] = ()) -> Path:
    """Copy ``base`` to ``out`` with every sheet of ``results`` added or replaced.

    Parameters
    ----------
    base : str or Path
        The team's workbook.
    results : str or Path
        A workbook whose sheets are to be added (written by this toolkit).
    out : str or Path
        The output ``.xlsx``.
    keep : collection of str, optional
        Sheets of ``base`` that no sheet of ``results`` may replace (its inputs).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    InputError
        Naming ``base``: it carries macros, lacks its styles, has an index part
        that is not well-formed, or has an input sheet a results sheet would
        replace.
    """
    base, results, out = Path(base), Path(results), Path(out)
    check_workbook(base)
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(results) as zres:
        macros = macro_parts(zin)
        if macros:
            raise InputError(f"carries macros ({', '.join(macros[:3])}); --with-inputs writes "
                             "an .xlsx, which must not carry them: save a copy as an Excel "
                             "Workbook (.xlsx, without macros) and run with that copy",
                             file=base)
        parts = {info.filename: zin.read(info) for info in zin.infolist()}
        infos = {info.filename: info for info in zin.infolist()}
        try:
            new = _Patch(parts, {i.filename: zres.read(i) for i in zres.infolist()},
                         keep).run()
        except _Damaged as exc:
            raise InputError(str(exc), file=base) from None

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for name, data in new.items():
                info = infos.get(name)
                if info is not None and parts.get(name) == data:
                    zout.writestr(info, data, compress_type=info.compress_type)
                else:
                    zout.writestr(name, data)

    return write_atomically(out, write)


class _Patch:
    """One patch: the base package's parts and the results package's parts."""

    def __init__(self, base: dict[str, bytes], results: dict[str, bytes],
                 keep: Collection[str] = ()) -> None:
        self.parts = dict(base)
        self.res = results
        self.keep = {name.casefold() for name in keep}
        self.types = _parse(base, "[Content_Types].xml")
        self.book = _parse(base, "xl/workbook.xml")
        self.book_rels = _parse(base, "xl/_rels/workbook.xml.rels")

    # -- helpers ---------------------------------------------------------------

    def _sheets(self, book: etree._Element, rels: etree._Element) -> list[tuple[str, str]]:
        targets = {r.get("Id"): _target("xl/workbook.xml", r.get("Target"))
                   for r in rels.iter(f"{{{PKG}}}Relationship")}
        return [(s.get("name"), targets[s.get(f"{{{REL}}}id")])
                for s in book.iter(f"{{{MAIN}}}sheet")]

    def _free(self, pattern: str) -> str:
        n = 1
        while pattern.format(n) in self.parts:
            n += 1
        return pattern.format(n)

    def _content_type(self, part: str, content_type: str | None) -> None:
        for o in self.types.findall(f"{{{CT}}}Override"):
            if o.get("PartName") == "/" + part:
                self.types.remove(o)
        if content_type is not None:
            etree.SubElement(self.types, f"{{{CT}}}Override", PartName="/" + part,
                             ContentType=content_type)

    def _drop(self, part: str) -> None:
        """Remove a part, its relationships and the parts only they pointed to."""
        rels = _rels_name(part)
        if rels in self.parts:
            for r in _parse(self.parts, rels).iter(f"{{{PKG}}}Relationship"):
                if r.get("TargetMode") != "External":
                    target = _target(part, r.get("Target"))
                    if target in self.parts and target.startswith("xl/") and \
                            not target.startswith("xl/worksheets/"):
                        self._drop(target)
            del self.parts[rels]
        self.parts.pop(part, None)
        self._content_type(part, None)

    # -- steps -----------------------------------------------------------------

    def run(self) -> dict[str, bytes]:
        res_book = _xml(self.res["xl/workbook.xml"])
        res_rels = _xml(self.res["xl/_rels/workbook.xml.rels"])
        res_types = {o.get("PartName")[1:]: o.get("ContentType")
                     for o in _xml(self.res["[Content_Types].xml"]).findall(f"{{{CT}}}Override")}
        res_defaults = {d.get("Extension"): d.get("ContentType")
                        for d in _xml(self.res["[Content_Types].xml"]).findall(f"{{{CT}}}Default")}
        incoming = self._sheets(res_book, res_rels)
        self._check_names([name for name, _ in incoming])
        self._remove_sheets({name.casefold() for name, _ in incoming})
        self._drop_calc_chain()
        xf_offset = self._append_styles()
        strings = self._shared_strings()
        states = [s.get("state") for s in res_book.iter(f"{{{MAIN}}}sheet")]
        placed: dict[int, int] = {}
        for k, (name, part) in enumerate(incoming):
            placed[k] = self._add_sheet(name, part, xf_offset, strings, res_types,
                                        res_defaults, states[k])
        self._copy_names(res_book, placed)
        self.parts["[Content_Types].xml"] = _dump(self.types)
        self.parts["xl/workbook.xml"] = _dump(self.book)
        self.parts["xl/_rels/workbook.xml.rels"] = _dump(self.book_rels)
        return self.parts

    def _check_names(self, incoming: list[str]) -> None:
        """Refuse a results sheet that would replace an input sheet (case ignored)."""
        existing = {s.get("name", "").casefold(): s.get("name")
                    for s in self.book.iter(f"{{{MAIN}}}sheet")}
        for name in incoming:
            if name.casefold() in self.keep and name.casefold() in existing:
                raise _Damaged(f'the results sheet "{name}" would replace the input sheet '
                               f'"{existing[name.casefold()]}" (Excel ignores case in sheet '
                               "names): rename the level that gives it, or the input sheet")

    def _remove_sheets(self, names: set[str]) -> None:
        """Remove the sheets whose names, case folded, are in ``names``."""
        sheets = list(self.book.iter(f"{{{MAIN}}}sheet"))
        rels = {r.get("Id"): r for r in self.book_rels.iter(f"{{{PKG}}}Relationship")}
        keep_index: dict[int, int] = {}
        kept = 0
        for i, sheet in enumerate(sheets):
            if sheet.get("name", "").casefold() not in names:
                keep_index[i] = kept
                kept += 1
                continue
            rel = rels.get(sheet.get(f"{{{REL}}}id"))
            if rel is not None:
                self._drop(_target("xl/workbook.xml", rel.get("Target")))
                self.book_rels.remove(rel)
            sheet.getparent().remove(sheet)
        if kept == len(sheets):
            return
        for name in list(self.book.iter(f"{{{MAIN}}}definedName")):
            local = name.get("localSheetId")
            if local is None:
                continue
            if int(local) in keep_index:
                name.set("localSheetId", str(keep_index[int(local)]))
            else:
                name.getparent().remove(name)
        for view in self.book.iter(f"{{{MAIN}}}workbookView"):
            for attribute in ("activeTab", "firstSheet"):
                if view.get(attribute) is not None:
                    view.set(attribute, str(keep_index.get(int(view.get(attribute)), 0)))

    def _drop_calc_chain(self) -> None:
        for rel in list(self.book_rels.iter(f"{{{PKG}}}Relationship")):
            if rel.get("Type") == CALC_CHAIN_TYPE:
                self._drop(_target("xl/workbook.xml", rel.get("Target")))
                self.book_rels.remove(rel)

    def _shared_strings(self) -> list[str]:
        data = self.res.get("xl/sharedStrings.xml")
        if data is None:
            return []
        out = []
        for si in _xml(data).iter(f"{{{MAIN}}}si"):
            out.append("".join(t.text or "" for t in si.iter(f"{{{MAIN}}}t")))
        return out

    def _styles_part(self) -> str:
        """Return the base's styles part (``xl/styles.xml``), which the patch appends to."""
        for rel in self.book_rels.iter(f"{{{PKG}}}Relationship"):
            if rel.get("Type") == STYLES_TYPE and rel.get("TargetMode") != "External":
                part = _target("xl/workbook.xml", rel.get("Target", ""))
                if part in self.parts:
                    return part
        raise _Damaged("has no styles part (xl/styles.xml), which --with-inputs needs to add "
                       "the results sheets' formats: open the workbook in Excel and save it, "
                       "or run without --with-inputs")

    def _append_styles(self) -> int:
        """Append the results' formats to the base styles; return the cellXfs offset."""
        styles = self._styles_part()
        base = _parse(self.parts, styles)
        res = _xml(self.res["xl/styles.xml"])

        def block(root: etree._Element, tag: str) -> etree._Element | None:
            found = root.find(f"{{{MAIN}}}{tag}")
            return found

        def required(root: etree._Element, tag: str) -> etree._Element:
            found = block(root, tag)
            if found is None:
                raise _Damaged(f"part {styles} has no <{tag}>, which every styles part has; "
                               "the workbook is damaged")
            return found

        offsets = {}
        for tag, child in (("fonts", "font"), ("fills", "fill"), ("borders", "border")):
            target = required(base, tag)
            offsets[tag] = len(target.findall(f"{{{MAIN}}}{child}"))
            source = block(res, tag)
            for element in (source.findall(f"{{{MAIN}}}{child}") if source is not None else []):
                target.append(element)
            target.set("count", str(len(target.findall(f"{{{MAIN}}}{child}"))))
        fmt_map: dict[str, str] = {}
        res_fmts = block(res, "numFmts")
        if res_fmts is not None and len(res_fmts):
            base_fmts = block(base, "numFmts")
            if base_fmts is None:
                base_fmts = etree.Element(f"{{{MAIN}}}numFmts")
                base.insert(0, base_fmts)
            used = [int(f.get("numFmtId")) for f in base_fmts]
            next_id = max([163, *used]) + 1
            for f in res_fmts:
                fmt_map[f.get("numFmtId")] = str(next_id)
                f.set("numFmtId", str(next_id))
                base_fmts.append(f)
                next_id += 1
            base_fmts.set("count", str(len(base_fmts)))
        xfs = required(base, "cellXfs")
        offset = len(xfs.findall(f"{{{MAIN}}}xf"))
        for xf in required(res, "cellXfs").findall(f"{{{MAIN}}}xf"):
            xf.set("fontId", str(int(xf.get("fontId", "0")) + offsets["fonts"]))
            xf.set("fillId", str(int(xf.get("fillId", "0")) + offsets["fills"]))
            xf.set("borderId", str(int(xf.get("borderId", "0")) + offsets["borders"]))
            xf.set("numFmtId", fmt_map.get(xf.get("numFmtId", "0"), xf.get("numFmtId", "0")))
            xf.set("xfId", "0")
            xfs.append(xf)
        xfs.set("count", str(len(xfs.findall(f"{{{MAIN}}}xf"))))
        self.parts[styles] = _dump(base)
        return offset

    def _add_sheet(self, name: str, part: str, xf_offset: int, strings: list[str],
                   res_types: dict[str, str], res_defaults: dict[str, str],
                   state: str | None = None) -> int:
        """Add one results sheet (hidden if it was: ``state``); return its position."""
        new_part = self._free("xl/worksheets/sheet{}.xml")
        self.parts[new_part] = _sheet_xml(self.res[part], xf_offset, strings)
        self._content_type(new_part, res_types.get(part))
        self._copy_rels(part, new_part, res_types, res_defaults)
        used_ids = {r.get("Id") for r in self.book_rels.iter(f"{{{PKG}}}Relationship")}
        n = 1
        while f"rId{n}" in used_ids:
            n += 1
        rid = f"rId{n}"
        etree.SubElement(self.book_rels, f"{{{PKG}}}Relationship", Id=rid, Type=SHEET_TYPE,
                         Target=_relative("xl/workbook.xml", new_part))
        sheets = self.book.find(f"{{{MAIN}}}sheets")
        sheet_id = max([int(s.get("sheetId")) for s in sheets] + [0]) + 1
        element = etree.SubElement(sheets, f"{{{MAIN}}}sheet", name=name,
                                   sheetId=str(sheet_id))
        if state is not None:
            element.set("state", state)
        element.set(f"{{{REL}}}id", rid)
        return len(sheets.findall(f"{{{MAIN}}}sheet")) - 1

    def _copy_names(self, res_book: etree._Element, placed: dict[int, int]) -> None:
        """Copy the results' defined names: print titles, print areas, autofilter ranges.

        A name local to a results sheet follows it to its new position; a
        workbook-wide name the team's workbook already has is kept as the team's.
        """
        names = res_book.find(f"{{{MAIN}}}definedNames")
        if names is None or not len(names):
            return
        target = self.book.find(f"{{{MAIN}}}definedNames")
        if target is None:
            target = etree.Element(f"{{{MAIN}}}definedNames")
            # After sheets (and functionGroups, externalReferences): ECMA-376 CT_Workbook.
            anchor = None
            for tag in ("sheets", "functionGroups", "externalReferences"):
                found = self.book.find(f"{{{MAIN}}}{tag}")
                anchor = found if found is not None else anchor
            if anchor is None:
                raise _Damaged("part xl/workbook.xml has no <sheets>; the workbook is damaged")
            anchor.addnext(target)
        existing = {(n.get("name", "").casefold(), n.get("localSheetId")) for n in target}
        for name in names.findall(f"{{{MAIN}}}definedName"):
            local = name.get("localSheetId")
            if local is not None:
                if int(local) not in placed:
                    continue
                name.set("localSheetId", str(placed[int(local)]))
            if (name.get("name", "").casefold(), name.get("localSheetId")) in existing:
                continue
            target.append(name)

    def _copy_rels(self, source: str, target: str, res_types: dict[str, str],
                   res_defaults: dict[str, str]) -> None:
        """Copy the parts ``source`` points to (drawings, charts) under unused names."""
        rels_name = _rels_name(source)
        if rels_name not in self.res:
            return
        rels = _xml(self.res[rels_name])
        for r in rels.iter(f"{{{PKG}}}Relationship"):
            if r.get("TargetMode") == "External":
                continue
            old = _target(source, r.get("Target"))
            stem, ext = posixpath.splitext(old)
            pattern = re.sub(r"\d+$", "", stem) + "{}" + ext
            new = self._free(pattern)
            data = self.res[old]
            self.parts[new] = data
            if old in res_types:
                self._content_type(new, res_types[old])
            elif ext[1:] in res_defaults:
                self._default_type(ext[1:], res_defaults[ext[1:]])
            self._copy_rels(old, new, res_types, res_defaults)
            r.set("Target", _relative(target, new))
        self.parts[_rels_name(target)] = _dump(rels)

    def _default_type(self, extension: str, content_type: str) -> None:
        if not any(d.get("Extension") == extension
                   for d in self.types.findall(f"{{{CT}}}Default")):
            etree.SubElement(self.types, f"{{{CT}}}Default", Extension=extension,
                             ContentType=content_type)


def _sheet_xml(data: bytes, xf_offset: int, strings: list[str]) -> bytes:
    """Move a results sheet's style indices past the base's; make its strings inline."""
    root = _xml(data)
    for view in root.iter(f"{{{MAIN}}}sheetView"):
        # The team's workbook keeps its own selected sheet: two would open grouped.
        view.attrib.pop("tabSelected", None)
    for element in root.iter(f"{{{MAIN}}}c", f"{{{MAIN}}}row", f"{{{MAIN}}}col"):
        attribute = "style" if element.tag == f"{{{MAIN}}}col" else "s"
        if element.get(attribute) is not None:
            element.set(attribute, str(int(element.get(attribute)) + xf_offset))
        if element.tag == f"{{{MAIN}}}c" and element.get("t") == "s":
            v = element.find(f"{{{MAIN}}}v")
            text = strings[int(v.text)]
            element.remove(v)
            element.set("t", "inlineStr")
            inline = etree.SubElement(element, f"{{{MAIN}}}is")
            t = etree.SubElement(inline, f"{{{MAIN}}}t")
            t.text = text
            if text != text.strip():
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return _dump(root)
